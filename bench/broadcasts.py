"""Benchmark: one announcement to N pre-started users through the stand-in with flood control on.

The bot runs as a real subprocess (``python -m bot run``, long polling, SQLite with
synchronous=FULL, AIORateLimiter) against the stand-in in this process, which enforces
Telegram's limits (30 messages a second overall, 1 a second per chat) and counts 429s.
The broadcast is stored as scheduled for "now", so the bot's first tick starts it, as it
would start any scheduled announcement.

Figures:
- achieved messages per second (first to last delivery) as a ratio to the configured
  ``broadcast.messages_per_second`` (target >= 0.9), and 429 answers (target 0);
- the bot process's peak RSS (VmHWM) against its RSS when idle before the broadcast;
- p95 answer time of a normal user's /help sent once a second during the broadcast (< 1 s);
- kill-and-resume: SIGKILL the bot mid-broadcast, start a new one on the same database, and
  count recipients who got the announcement twice (bound: ``duplicate_bound``, recipients in
  ``sending`` at most: a claimed batch, a window in flight, a window of unrecorded outcomes).

    python -m bench.broadcasts [--recipients 10000] [--kill-recipients 2000]

Paid mode (``--paid``): the announcement is sent at Telegram's paid speed
(``allow_paid_broadcast``, ``[broadcast] paid_messages_per_second``, default 900/s); the
stand-in counts paid messages in their own window of 1000 a second and charges 0.1 Star each
from a balance set to cover them. The ratio is then to the paid rate.

    python -m bench.broadcasts --paid --recipients 100000 --skip-kill
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

from bot.broadcast_delivery import duplicate_bound
from bot.broadcasts import Audience, AudienceKind, BroadcastStatus
from bot.clock import to_epoch
from bot.config import BroadcastSettings
from standin import RateLimits, TelegramStandin
from storage.broadcasts import BroadcastStore
from storage.db import open_database

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:BENCH-token"
ADMIN_ID = 900001
HELPER_ID = 600001  # a normal user asking for /help during the broadcast
FIRST_RECIPIENT = 10_000_000
FOOTER = "政府工作人员绝不会"


async def seed(
    path: Path | str, recipients: int, *, scheduled: bool = True, paid: bool = False
) -> int:
    """N contacts of one enterprise, and one announcement (scheduled for now unless told
    otherwise); its id.

    Seeded with bulk statements: one commit per row would take minutes for 10,000 rows.
    """
    db = await open_database(path)
    now = to_epoch(datetime.now(UTC))
    ids = range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)
    await db.execute_many(
        "INSERT INTO users (telegram_id, first_name, telegram_language, created_at, seen_at)"
        " VALUES (?, 'bench', 'zh-hans', ?, ?)",
        [(i, now, now) for i in [*ids, ADMIN_ID, HELPER_ID]],
    )
    await db.execute_many(
        "INSERT INTO enterprises (id, name, credit_code, city, stage, created_at)"
        " VALUES (?, 'bench', ?, 'shenyang', 'growth', ?)",
        [(1, "91210100MA0BENCH01", now)],
    )
    await db.execute_many(
        "INSERT INTO enterprise_contacts (enterprise_id, telegram_id, created_at) VALUES (1, ?, ?)",
        [(i, now) for i in ids],
    )
    store = BroadcastStore(db)
    async with db.transaction() as tx:
        broadcast = await store.create(
            tx,
            created_by=ADMIN_ID,
            text_html="<b>基准测试</b>：一条公告",
            media_kind=None,
            media_file_id=None,
            audience=Audience(AudienceKind.ENTREPRENEURS),
            now=datetime.now(UTC),
            paid=paid,
        )
        if scheduled:
            await store.set_schedule(tx, broadcast.id, datetime.now(UTC))
            await store.schedule(tx, broadcast.id)
    await db.close()
    return broadcast.id


def start_bot(
    config: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """``python -m bot run`` on ``config``, its output appended to ``log``; ``env``: more
    variables (``BOT_<SECTION>__<KEY>`` settings of this process only)."""
    env = {**os.environ, "PTB_TIMEDELTA": "1", "BOT_CONFIG": str(config), **(env or {})}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def write_config(
    directory: Path,
    standin: TelegramStandin,
    db: Path,
    paid_rate: float | None = None,
    url: str | None = None,
) -> Path:
    """The bot's config for a bench: the stand-in, the SQLite file ``db`` or, with ``url``, a
    PostgreSQL database."""
    config = directory / "config.toml"
    server = "" if url is None else f'url = "{url}"\n'
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{standin.api_base_url}"\n'
        f'base_file_url = "{standin.file_base_url}"\npoll_timeout = 1\n'
        f'[storage]\npath = "{db}"\n{server}[admins]\ntelegram_ids = [{ADMIN_ID}]\n'
        '[security]\nhash_key = "bench-hash-key-0123456789"\n'
        # Quiet hours off: the benches and kill tests must behave the same at any hour.
        "[quiet_hours]\nstart = 00:00:00\nend = 00:00:00\n"
        + (
            f"[broadcast]\npaid = true\npaid_messages_per_second = {paid_rate}\n"
            if paid_rate is not None
            else ""
        ),
        encoding="utf-8",
    )
    return config


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def delivered(standin: TelegramStandin, ids: range) -> list[int]:
    """How many copies of the announcement each recipient has."""
    counts = []
    for user_id in ids:
        chat = standin.world.chats[user_id]
        counts.append(
            sum(1 for m in chat.messages.values() if m.from_bot and FOOTER in (m.text or ""))
        )
    return counts


def resumed_within_bound(counts: list[int]) -> bool:
    """Whether a broadcast resumed after a kill kept its promise: nobody missing, nobody more
    than twice, at most the documented bound (``duplicate_bound``) twice."""
    settings = BroadcastSettings()
    bound = duplicate_bound(settings.messages_per_second, settings)
    return counts.count(0) == 0 and max(counts) <= 2 and counts.count(2) <= bound


async def status_of(db_path: Path | str, broadcast_id: int) -> BroadcastStatus | None:
    db = await open_database(db_path)
    try:
        return await BroadcastStore(db).status(broadcast_id)
    finally:
        await db.close()


async def ask_help(standin: TelegramStandin, stop: asyncio.Event) -> list[float]:
    """A normal user sends /help once a second; how long each answer takes."""
    user = standin.user(HELPER_ID, first_name="访客", language_code="zh-hans", started=True)
    times = []
    while not stop.is_set():
        started = time.perf_counter()
        await user.send("/help")
        await user.expect_message(timeout=30)
        times.append(time.perf_counter() - started)
        await asyncio.sleep(1.0)
    return times


async def full_run(recipients: int, directory: Path, paid_rate: float | None = None) -> None:
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    db_path = directory / "full.sqlite3"
    started = time.perf_counter()
    broadcast_id = await seed(db_path, recipients, paid=paid_rate is not None)
    print(f"seeded {recipients} recipients in {time.perf_counter() - started:.1f} s")
    standin.set_star_balance(recipients / 10 + 1)
    ids = range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)
    for user_id in [*ids, ADMIN_ID]:
        standin.user(user_id, started=True, language_code="zh-hans")
    config = write_config(directory, standin, db_path, paid_rate)
    bot = start_bot(config, directory / "full.log")
    first = last = 0.0
    idle_rss = peak = 0.0
    stop = asyncio.Event()
    helper: asyncio.Task[list[float]] | None = None
    try:
        while True:
            await asyncio.sleep(0.2)
            if bot.poll() is not None:
                raise SystemExit(f"the bot exited with {bot.returncode}; see {directory}")
            sent = sum(delivered(standin, ids[:1])) if not first else 0
            if not first and sent:
                first = time.perf_counter()
                helper = asyncio.create_task(ask_help(standin, stop))
            if not first:
                idle_rss = peak_rss_mb(bot.pid)[0]
            peak = max(peak, peak_rss_mb(bot.pid)[1])
            if first and await status_of(db_path, broadcast_id) is BroadcastStatus.DONE:
                last = time.perf_counter()
                break
        stop.set()
        helps = await helper if helper else []
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    counts = delivered(standin, ids)
    configured = paid_rate or BroadcastSettings().messages_per_second
    rate = sum(counts) / (last - first)
    p95 = statistics.quantiles(helps, n=20)[-1] if len(helps) >= 2 else float("nan")
    print(f"recipients: {recipients}, delivered once: {counts.count(1)}, twice: {counts.count(2)}")
    print(
        f"achieved: {rate:.1f} msg/s over {last - first:.0f} s; ratio to the configured "
        f"{configured:g}/s: {rate / configured:.2f} (target >= 0.9)"
    )
    print(f"429 answers: {standin.rate_limited} (target 0){refusals(standin)}")
    if paid_rate is not None:
        print(
            f"paid messages: {standin.paid_messages}, Stars spent:"
            f" {standin.paid_messages / 10:.1f}, left {standin.star_balance:.1f}"
        )
    print(f"bot RSS: idle {idle_rss:.0f} MB, peak {peak:.0f} MB")
    print(
        f"/help during the broadcast: n={len(helps)}, median {statistics.median(helps):.3f} s,"
        f" p95 {p95:.3f} s (target < 1 s)"
    )


def refusals(standin: TelegramStandin) -> str:
    """Which calls the 429s met: paid or free sends, to the recipients or the /help user."""
    kinds = Counter(
        f"{call.method}{' paid' if call.params.get('allow_paid_broadcast') else ''}"
        f"{' to the /help user' if str(call.params.get('chat_id')) == str(HELPER_ID) else ''}"
        for call in standin.errors
        if call.status == HTTPStatus.TOO_MANY_REQUESTS
    )
    return "".join(f"; {kind}: {n}" for kind, n in sorted(kinds.items()))


async def kill_run(recipients: int, directory: Path) -> None:
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    db_path = directory / "kill.sqlite3"
    broadcast_id = await seed(db_path, recipients)
    ids = range(FIRST_RECIPIENT, FIRST_RECIPIENT + recipients)
    for user_id in [*ids, ADMIN_ID]:
        standin.user(user_id, started=True, language_code="zh-hans")
    config = write_config(directory, standin, db_path)
    bot = start_bot(config, directory / "kill.log")
    try:
        while sum(delivered(standin, ids)) < recipients * 0.4:  # noqa: ASYNC110 (polls)
            await asyncio.sleep(0.05)
        bot.send_signal(signal.SIGKILL)
        bot.wait()
        before = sum(delivered(standin, ids))
        bot = start_bot(config, directory / "kill.log")
        while await status_of(db_path, broadcast_id) is not BroadcastStatus.DONE:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    counts = delivered(standin, ids)
    settings = BroadcastSettings()
    bound = duplicate_bound(settings.messages_per_second, settings)
    print(
        f"kill-and-resume: SIGKILL after {before} of {recipients}; afterwards delivered once:"
        f" {counts.count(1)}, twice: {counts.count(2)}, never: {counts.count(0)}"
        f" (bound: at most {bound} twice, duplicate_bound)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--kill-recipients", type=int, default=2_000)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-kill", action="store_true")
    parser.add_argument("--paid", action="store_true", help="at Telegram's paid speed")
    parser.add_argument(
        "--paid-rate", type=float, default=BroadcastSettings().paid_messages_per_second
    )
    args = parser.parse_args()
    paid_rate = args.paid_rate if args.paid else None
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_full:
            asyncio.run(full_run(args.recipients, Path(tmp), paid_rate))
        if not args.skip_kill:
            asyncio.run(kill_run(args.kill_recipients, Path(tmp)))
    paid = f" --paid --paid-rate {args.paid_rate:g}" if args.paid else ""
    print(
        f"reproduce: python -m bench.broadcasts --recipients {args.recipients}"
        f" --kill-recipients {args.kill_recipients}{paid}"
        + (" --skip-kill" if args.skip_kill else "")
    )


if __name__ == "__main__":
    main()
