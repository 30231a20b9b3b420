"""Benchmark: a spoken-code issue + check round trip through the whole bot, on the stand-in.

One iteration: the official sends /code and presses "any of my enterprises", reads the code
from the edited message; the entrepreneur sends /verify and the code and gets the verdict; the
official gets the "code checked" notice. Every step goes over HTTP through the stand-in and
the real Application (handlers, SQLite with synchronous=FULL, rate limiter), as in production.

Baseline, measured in the same run on the same stand-in: a bare python-telegram-bot
Application with one echo handler (one message in, one reply out).

A second part times `Verifier.check` alone (domain + SQLite, no Telegram) for each failure
kind -- unknown, expired, used, foreign (another enterprise's code), outside (another
official's code for "any of my enterprises", none of them the user's) -- and a valid code, each
check by a fresh user so throttling never kicks in: medians and p95 per kind.

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
from datetime import timedelta
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.config import Settings
from bot.roles import Actor
from bot.services import Services
from bot.verification import Verdict
from runtime.application import build_application, running
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin

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


KINDS = ("valid", "unknown", "expired", "used", "foreign", "outside")


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def bench_check_kinds(db_dir: Path, n: int) -> dict[str, list[float]]:
    """Time Verifier.check per outcome kind, interleaved so drift hits every kind alike."""
    settings = Settings.model_validate(
        {
            "telegram": {"token": TOKEN},
            "storage": {"path": str(db_dir / "kinds.sqlite3")},
            "admins": {"telegram_ids": [ADMIN_ID]},
            "security": {"hash_key": "bench-hash-key-0123456789"},
        }
    )
    services = await Services.open(settings)
    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        cast = await make_cast(services)
        verifier = services.verifier
        now = services.clock.now()
        alice = Actor(ALICE_ID, enterprises=(cast.alice_enterprise,))
        for i in range(n):
            codes = {
                "valid": await verifier.issue(cast.official, cast.alice_enterprise.id, now),
                "expired": await verifier.issue(cast.official, None, now - timedelta(days=1)),
                "used": await verifier.issue(cast.official, None, now),
                "foreign": await verifier.issue(cast.official, cast.bob_enterprise.id, now),
                # Another official's code for "any of my enterprises": not Alice's firm.
                "outside": await verifier.issue(cast.other_official, None, now),
            }
            used = await verifier.check(alice, codes["used"].code, now)
            assert used.verdict is Verdict.VERIFIED
            for kind in KINDS:
                code = "00000000" if kind == "unknown" else codes[kind].code
                actor = Actor(
                    7_000_000_000 + i * 10 + KINDS.index(kind),
                    enterprises=(cast.alice_enterprise,),
                )
                t0 = time.perf_counter()
                result = await verifier.check(actor, code, now)
                samples[kind].append(time.perf_counter() - t0)
                assert (result.verdict is Verdict.VERIFIED) == (kind == "valid"), kind
    finally:
        await services.close()
    return samples


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
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
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
            kinds = await bench_check_kinds(Path(tmp), n)
    print(f"python {sys.version.split()[0]}, {n} iterations each, stand-in on loopback")
    print(summary("echo (bare PTB, 1 message)", echo_samples, echo_wall))
    print(summary("echo + AIORateLimiter", limited_samples, limited_wall))
    print(summary("code issue + check", check_samples, check_wall))
    ratio = statistics.median(check_samples) / statistics.median(echo_samples)
    print(
        f"median ratio issue+check / echo: {ratio:.1f}x  (one issue+check is 4 user actions"
        " and 6 bot calls: 3 messages, 1 edit, 1 callback answer, 1 notice)"
    )
    print("Verifier.check alone, per outcome (fresh user each check, no throttling):")
    for kind, values in kinds.items():
        print(
            f"  {kind:<8} median {statistics.median(values) * 1000:6.2f} ms"
            f"   p95 {p95(values) * 1000:6.2f} ms"
        )
    base = statistics.median(kinds["unknown"])
    ratios = ", ".join(f"{k} {statistics.median(v) / base:.2f}x" for k, v in kinds.items())
    print(f"median ratio to unknown: {ratios}")
    print(f"reproduce: python -m bench.verification --iterations {n}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    asyncio.run(main(parser.parse_args().iterations))
