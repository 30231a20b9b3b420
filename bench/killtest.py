"""Kill test: SIGKILL the whole bot at random moments under a load of entrepreneurs filing requests.

The bot runs as a subprocess (``python -m bot run``) against the stand-in in this process, on
one SQLite database kept across restarts. Simulated entrepreneurs go through the intake
conversation (tests/test_requests_flow.py); whoever gets no answer in time starts again with
/new, as a real user would. Every request number any user was shown ("received") must exist in
the database with its history rows and an assigned state; ``PRAGMA integrity_check`` must be ok.

    python -m bench.killtest [--kills 200] [--users 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import signal
import statistics
import tempfile
import time
from pathlib import Path

from bench.broadcasts import start_bot, write_config
from bot.clock import SystemClock
from bot.config import load_settings
from bot.credit_code import make_credit_code
from bot.services import Services
from standin import TelegramStandin, TestUser
from storage.db import Database
from storage.models import Stage
from tests.roster import add_contact, bind_official

FIRST_USER = 20_000_000
OFFICIAL_TG = 700_001
NUMBER = re.compile(r"LN-\d{8}-\d{4}")


async def seed(config: Path, users: int) -> None:
    services = await Services.open(load_settings(config), SystemClock())
    try:
        now = services.clock.now()
        official = await services.officials.add(
            external_id="LN-K01", name="王建国", title="副省长", body="辽宁省人民政府",
            level="province", city="shenyang", responsibilities="营商环境", now=now,
        )  # fmt: skip
        await bind_official(services, official, OFFICIAL_TG)
        for i in range(users):
            firm = await services.enterprises.add(
                name=f"压测企业{i}", credit_code=make_credit_code(f"9121010000{i:07d}"),
                city="shenyang", stage=Stage.GROWTH, industry="装备制造", now=now,
            )  # fmt: skip
            await services.officials.assign(official.id, firm.id, now=now)
            await add_contact(services, firm, FIRST_USER + i)
    finally:
        await services.close()


async def intake(user: TestUser, timeout: float) -> str:  # noqa: ASYNC109 (the test API's name)
    """One pass of the intake conversation; the "received" text (raises on a missing answer)."""
    await user.send("/new")
    ask = await user.expect_message(timeout=timeout)
    await user.press(ask, "拖欠账款")
    for text in ("沈阳某国企", "120万元", "2025年6月", "货款至今未付"):
        await user.expect_message(timeout=timeout)
        await user.send(text)
    added = await user.expect_message(timeout=timeout)
    await user.press(added, "✅ 写完了")
    urgency = await user.expect_message(timeout=timeout)
    await user.press(urgency, "紧急")
    summary = await user.expect_message(timeout=timeout)
    await user.press(summary, "✅ 提交")
    return (await user.expect_message(timeout=timeout)).text or ""


async def entrepreneur(user: TestUser, shown: list[str], stop: asyncio.Event) -> int:
    """Files requests until stopped; re-sends whatever was not acknowledged. Attempts made."""
    attempts = 0
    while not stop.is_set():
        attempts += 1
        try:
            received = await intake(user, timeout=3.0)
        except Exception:  # no answer in time: the bot was killed; start again
            await asyncio.sleep(0.2)
            continue
        shown.extend(NUMBER.findall(received))
    return attempts


async def run(kills: int, users: int, rng: random.Random, directory: Path) -> tuple[int, int, str]:
    """Prints the figures; (receipts seen, lost, integrity_check)."""
    standin = TelegramStandin()
    await standin.start()
    db_path = directory / "kill.sqlite3"
    config = write_config(directory, standin, db_path)
    await seed(config, users)
    log = directory / "bot.log"
    people = [
        standin.user(FIRST_USER + i, first_name=f"用户{i}", language_code="zh-hans", started=True)
        for i in range(users)
    ]
    standin.user(OFFICIAL_TG, first_name="王建国", language_code="zh-hans", started=True)
    shown: list[str] = []
    stop = asyncio.Event()
    restarts: list[float] = []
    bot = start_bot(config, log)
    tasks = [asyncio.create_task(entrepreneur(p, shown, stop)) for p in people]
    try:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(0.5, 3.0))
            bot.send_signal(signal.SIGKILL)
            await asyncio.to_thread(bot.wait)
            started = time.perf_counter()
            bot = start_bot(config, log)
            before = len(standin.calls)
            while len(standin.calls) == before:  # noqa: ASYNC110 (first call: the bot is up)
                await asyncio.sleep(0.01)
            restarts.append(time.perf_counter() - started)
        await asyncio.sleep(5)
        stop.set()
        attempts = sum(await asyncio.gather(*tasks))
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    db = await Database.open(db_path)
    try:
        integrity = await db.fetch_value("PRAGMA integrity_check")
        lost = []
        for number in set(shown):
            row = await db.fetch_one("SELECT id, status FROM requests WHERE number = ?", (number,))
            if row is None:
                lost.append(number)
                continue
            history = await db.fetch_value(
                "SELECT count(*) FROM request_history WHERE request_id = ?", (row[0],)
            )
            if not history:
                lost.append(number)
        stored = await db.fetch_value("SELECT count(*) FROM requests")
    finally:
        await db.close()
    print(f"kills: {kills}, users: {users}, intake attempts: {attempts}")
    print(f"updates sent: {sum(1 for c in standin.calls if c.method == 'getUpdates')} polls")
    print(f"receipts seen: {len(shown)} ({len(set(shown))} distinct), requests stored: {stored}")
    print(f"duplicate receipts (same number shown twice): {len(shown) - len(set(shown))}")
    print(f"lost: {len(lost)} {lost[:5]} (target 0); integrity_check: {integrity}")
    print(f"restart to first poll: median {statistics.median(restarts):.3f} s")
    return len(shown), len(lost), str(integrity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.kills, args.users, random.Random(args.seed), Path(tmp)))
    print(
        f"reproduce: python -m bench.killtest --kills {args.kills} --users {args.users}"
        f" --seed {args.seed}"
    )


if __name__ == "__main__":
    main()
