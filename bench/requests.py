"""Benchmark: many enterprises file a request and an official replies, all at once, through the
whole application and the local Telegram stand-in, against a bare python-telegram-bot echo
handler measured in the same run.

Each enterprise sends 6 updates (/new, category, description, done, urgency, submit) and its
official 2 (reply button, reply text): 8 updates per enterprise. The echo users send 8 texts
each. Latency is from a user's update to the bot's answer to it (as the user sees it).

    python -m bench.requests [--enterprises 40] [--rounds 3]

The application is measured twice: as deployed (with PTB's AIORateLimiter, which holds all
sending to about 30 messages a second, Telegram's own global limit) and with the rate limiter
taken out, which is the cost of our handling alone and the figure compared with the echo bot.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import build_application, running
from bot.config import Settings
from bot.credit_code import make_credit_code
from bot.services import Services
from standin import TelegramStandin, TestUser
from storage.models import Stage
from tests.roster import bind_official

TOKEN = "123456789:BENCH-token"
UPDATES_PER_ENTERPRISE = 8
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@dataclass
class Run:
    name: str
    updates: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Timer:
    def __init__(self) -> None:
        self.latencies: list[float] = []

    async def __call__(self, action: Awaitable[Any], answer: Callable[[], Awaitable[Any]]) -> Any:
        start = time.perf_counter()
        await action
        result = await answer()
        self.latencies.append(time.perf_counter() - start)
        return result


# -- the application ------------------------------------------------------------------------


def settings_for(standin: TelegramStandin, folder: Path) -> Settings:
    return Settings.model_validate(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": standin.api_base_url,
                "base_file_url": standin.file_base_url,
                "poll_timeout": 1,
            },
            "storage": {"path": str(folder / "bench.sqlite3")},
            "admins": {"telegram_ids": [1]},
        }
    )


async def make_enterprises(services: Services, count: int) -> list[tuple[int, int]]:
    """``count`` enterprises with a contact each; one official per 10 enterprises.
    Returns (contact id, official's Telegram id) pairs."""
    now = services.clock.now()
    pairs = []
    for n in range(count):
        group, official_tid = n // 10, 500_000 + n // 10
        if n % 10 == 0:
            official = await services.officials.add(
                external_id=f"B-{group}", name=f"官员{group}", title="处长", now=now
            )
            await bind_official(services, official, official_tid)
        enterprise = await services.enterprises.add(
            name=f"基准企业{n}",
            credit_code=make_credit_code(f"9121010{n:06d}0000"),
            city="shenyang",
            stage=Stage.GROWTH,
            now=now,
        )
        contact = 600_000 + n
        await services.accounts.seen(
            contact, first_name="c", username=None, telegram_language="zh-hans", now=now
        )
        await services.enterprises.add_contact(enterprise.id, telegram_id=contact, now=now)
        await services.officials.assign(official.id, enterprise.id, now=now)
        pairs.append((contact, official_tid))
    return pairs


async def one_enterprise(
    standin: TelegramStandin, contact_id: int, official_id: int, timer: Timer, lock: asyncio.Lock
) -> None:
    """The whole journey: intake, then the official's reply reaching the enterprise."""
    user = standin.user(contact_id, first_name="企业", language_code="zh-hans", started=True)
    ask = await timer(user.send("/new"), user.expect_message)
    await timer(user.press(ask, "政策落实"), user.expect_message)
    added = await timer(user.send("补贴迟迟没有兑现，影响资金周转。"), user.expect_message)
    urgency = await timer(user.press(added, "✅ 写完了"), user.expect_message)
    summary = await timer(user.press(urgency, "一般"), user.expect_message)
    received = await timer(user.press(summary, "✅ 提交"), user.expect_message)
    number = received.text.split("编号 ")[1].split("。")[0]
    official = standin.user(official_id, first_name="官员", language_code="zh-hans", started=True)
    # Officials serve ten enterprises each: one writes at a time, like a person would.
    async with lock:
        card = await _seen(standin, official, number, "新诉求")
        await timer(
            official.press(card, "💬 回复"), lambda: _seen(standin, official, number, "请发送")
        )
        answer = f"{number} 已收到，正在协调。"
        await timer(official.send(answer), lambda: _seen(standin, official, number, "已发送"))
    await _seen(standin, user, number, "正在协调")


async def _seen(standin: TelegramStandin, user: TestUser, number: str, words: str) -> Any:
    """The bot message to ``user`` about ``number`` that says ``words`` (other enterprises'
    messages arrive in between, so "the next message" is not enough)."""

    def find() -> Any:
        # The chat's own records, not ``user.messages``: its copies would cost more than the bot.
        for message in reversed(user.chat.messages.values()):
            text = message.text or ""
            if message.from_bot and number in text and words in text:
                return message
        return None

    await standin.wait_for(lambda: find() is not None, timeout=30)
    return find()


async def bench_application(count: int, *, rate_limited: bool) -> Run:
    standin = TelegramStandin(bot_username="liaison_bot")
    await standin.start(host="127.0.0.1", port=0)
    try:
        with tempfile.TemporaryDirectory() as folder:
            app = build_application(settings_for(standin, Path(folder)))
            if not rate_limited:
                app.bot._rate_limiter = None  # the handling alone, without Telegram's pacing
            async with running(app, poll_timeout=1):
                pairs = await make_enterprises(app.bot_data.services, count)
                timer = Timer()
                locks = {official: asyncio.Lock() for _, official in pairs}
                start = time.perf_counter()
                await asyncio.gather(
                    *(one_enterprise(standin, c, o, timer, locks[o]) for c, o in pairs)
                )
                seconds = time.perf_counter() - start
    finally:
        await standin.stop()
    name = "application (rate limiter)" if rate_limited else "application"
    return Run(name, count * UPDATES_PER_ENTERPRISE, seconds, timer.latencies)


# -- the baseline -----------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def one_echo_user(standin: TelegramStandin, user_id: int, timer: Timer) -> None:
    user = standin.user(user_id, first_name="echo", started=True)
    for n in range(UPDATES_PER_ENTERPRISE):
        await timer(user.send(f"message {n}"), user.expect_message)


async def bench_echo(count: int) -> Run:
    standin = TelegramStandin(bot_username="liaison_bot")
    await standin.start(host="127.0.0.1", port=0)
    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(standin.api_base_url)
        .base_file_url(standin.file_base_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    try:
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        timer = Timer()
        start = time.perf_counter()
        await asyncio.gather(*(one_echo_user(standin, 900_000 + n, timer) for n in range(count)))
        seconds = time.perf_counter() - start
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    finally:
        await standin.stop()
    return Run("bare PTB echo", count * UPDATES_PER_ENTERPRISE, seconds, timer.latencies)


async def main(count: int, rounds: int, limited: bool) -> None:
    runs: dict[str, list[Run]] = {}
    for _ in range(rounds):
        for run in (
            await bench_echo(count),
            await bench_application(count, rate_limited=False),
            *([await bench_application(count, rate_limited=True)] if limited else []),
        ):
            runs.setdefault(run.name, []).append(run)
    print(f"{count} enterprises x {UPDATES_PER_ENTERPRISE} updates, {rounds} rounds (medians)")
    print(f"{'':28} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    medians = {}
    for name, done in runs.items():
        rate = statistics.median(r.rate for r in done)
        p50 = statistics.median(r.p50 for r in done) * 1000
        p99 = statistics.median(r.p99 for r in done) * 1000
        medians[name] = rate
        print(f"{name:28} {rate:10.1f} {p50:8.1f} {p99:8.1f}")
    ratio = medians["application"] / medians["bare PTB echo"]
    print(f"throughput ratio application / echo: {ratio:.2f} (target >= 0.5)")
    print(f"reproduce: python -m bench.requests --enterprises {count} --rounds {rounds}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-limited", action="store_true", help="skip the rate-limited run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(main(args.enterprises, args.rounds, not args.no_limited))
