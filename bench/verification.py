"""Benchmark: a spoken-code issue + check round trip through the whole bot, on the stand-in.

One iteration: the official sends /code and presses "any of my enterprises", reads the code
from the edited message; the entrepreneur sends /verify and the code and gets the verdict; the
official gets the "code checked" notice. Every step goes over HTTP through the stand-in and
the real Application (handlers, SQLite with synchronous=FULL, rate limiter), as in production.

Baseline, measured in the same run on the same stand-in: a bare python-telegram-bot
Application with one echo handler (one message in, one reply out).

    python -m bench.verification [--iterations 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import build_application, running
from bot.config import Settings
from standin import TelegramStandin
from tests.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
TOKEN = "123456789:BENCH-token"
CODE = re.compile(r"(\d{4} \d{4})")


def summary(name: str, samples: list[float], wall: float) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<28} median {statistics.median(samples) * 1000:7.2f} ms"
        f"   p99 {p99 * 1000:7.2f} ms   {len(samples) / wall:7.1f} per second"
    )


async def bench_verification(
    standin: TelegramStandin, db_dir: Path, n: int
) -> tuple[list[float], float]:
    settings = Settings.model_validate(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": standin.api_base_url,
                "base_file_url": standin.file_base_url,
                "poll_timeout": 1,
            },
            "storage": {"path": str(db_dir / "bench.sqlite3")},
            "admins": {"telegram_ids": [ADMIN_ID]},
            "security": {"hash_key": "bench-hash-key-0123456789"},
        }
    )
    app = build_application(settings)
    samples: list[float] = []
    async with running(app, poll_timeout=1):
        await make_cast(app.bot_data.services)
        official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
        alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
        start = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter()
            await official.send("/code")
            ask = await official.expect_message()
            await official.press(ask, "任一对接企业")
            shown = await official.expect_edit(ask)
            found = CODE.search(shown.text or "")
            assert found is not None, shown.text
            await alice.send("/verify")
            await alice.expect_message()
            await alice.send(found.group(1))
            verdict = await alice.expect_message()
            assert "核验通过" in (verdict.text or ""), verdict.text
            await official.expect_message()
            samples.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
    return samples, wall


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None and update.effective_message.text is not None
    await update.effective_message.reply_text(update.effective_message.text)


async def bench_echo(
    standin: TelegramStandin, n: int, *, rate_limited: bool
) -> tuple[list[float], float]:
    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(standin.api_base_url)
        .base_file_url(standin.file_base_url)
    )
    if rate_limited:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    samples: list[float] = []
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    await app.start()
    try:
        user = standin.user(500001 + int(rate_limited), first_name="Echo", language_code="en")
        start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            await user.send(f"ping {i}")
            await user.expect_message()
            samples.append(time.perf_counter() - t0)
        wall = time.perf_counter() - start
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    return samples, wall


async def main(n: int) -> None:
    async with TelegramStandin(bot_username="liaison_bot") as standin:
        echo_samples, echo_wall = await bench_echo(standin, n, rate_limited=False)
        limited_samples, limited_wall = await bench_echo(standin, n, rate_limited=True)
        with tempfile.TemporaryDirectory() as tmp:
            check_samples, check_wall = await bench_verification(standin, Path(tmp), n)
    print(f"python {sys.version.split()[0]}, {n} iterations each, stand-in on loopback")
    print(summary("echo (bare PTB, 1 message)", echo_samples, echo_wall))
    print(summary("echo + AIORateLimiter", limited_samples, limited_wall))
    print(summary("code issue + check", check_samples, check_wall))
    ratio = statistics.median(check_samples) / statistics.median(echo_samples)
    print(
        f"median ratio issue+check / echo: {ratio:.1f}x  (one issue+check is 4 user actions"
        " and 6 bot calls: 3 messages, 1 edit, 1 callback answer, 1 notice)"
    )
    print(f"reproduce: python -m bench.verification --iterations {n}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    asyncio.run(main(parser.parse_args().iterations))
