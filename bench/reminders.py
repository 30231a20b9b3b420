"""Benchmark: 100,000 pending reminders across 10,000 requests; start time, memory, lateness.

The database is seeded with 10,000 requests and 100,000 pending reminders. A few hundred of
the requests (``--due``) miss their deadline to acknowledge during the measurement, spread
over ``--window`` seconds after the start; their overdue reminders are what gets sent (to the
request's official, through the local Telegram stand-in with its flood limits on: 30 messages
a second overall, 1 a second per chat with a burst of 3). The others are due in years.

Figures: time from building the application to the end of its first wake-up (which is when
everything that fell due while it was down has been handled), against the same start on an
empty database (the baseline, measured in the same run); RSS after start; and how late each
due reminder is handed to Telegram (median, max).

    python -m bench.reminders [--requests 10000] [--per-request 10] [--due 300] [--window 30]
                              [--storage sqlite|postgresql|both]

``--storage postgresql`` runs on two throwaway PostgreSQL databases (the empty one and the
seeded one, bench/backends.py); ``--storage both`` runs on each and prints them side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import statistics
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.backends import (
    BOTH,
    LABELS,
    POSTGRESQL,
    add_arguments,
    chosen,
    side_by_side,
    throwaway_database,
)
from bot.clock import to_epoch
from bot.config import Settings
from bot.delivery import Outgoing, Sender
from bot.services import Services
from runtime.application import build_application, running
from standin import TelegramStandin
from standin.limits import RateLimits
from storage.db import Database, open_database

TOKEN = "123456789:BENCH-token"
OFFICIALS = 100
FAR = datetime(2031, 1, 1, tzinfo=UTC)
NUMBER = re.compile(r"LN-\d{8}-\d{6}")
# A database: a SQLite file or a PostgreSQL URL.
Target = Path | str
# The tables seeded with explicit ids: on PostgreSQL their identity goes on after the largest.
SEEDED_IDS = ("officials", "enterprises", "requests")
# Seconds from the end of the seeding to the first due reminder (the bot starts meanwhile).
START_MARGIN = 8


class TimingSender:
    """Wraps the real sender and notes when each message was handed over."""

    def __init__(self, inner: Sender | None) -> None:
        assert inner is not None
        self.inner = inner
        self.sent: list[tuple[float, str]] = []

    async def send(self, message: Outgoing) -> None:
        await self.inner.send(message)
        self.sent.append((time.time(), message.text))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settings_for(target: Target, standin: TelegramStandin) -> Settings:
    storage = {"url": target} if isinstance(target, str) else {"path": str(target)}
    return Settings.model_validate(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": standin.api_base_url,
                "base_file_url": standin.file_base_url,
                "poll_timeout": 1,
            },
            "storage": storage,
            "security": {"hash_key": "bench-hash-key-0123456789abcdef"},
            # Quiet hours off, so that lateness is measured whatever the time of day.
            "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
            "reminders": {"tick_seconds": 0.5},
        }
    )


async def seed(target: Target, requests: int, per_request: int, due: int, window: float) -> float:
    """Fill the database (bulk statements: this is set-up, not what is measured)."""
    db = await open_database(target)
    now = datetime.now(UTC)
    at = to_epoch(now)
    official_rows = [(i, f"B-{i:04d}", f"官员{i}", 810000 + i, at) for i in range(1, OFFICIALS + 1)]
    await db.execute_many(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'b', ?, ?)",
        [(r[3], at, at) for r in official_rows],
    )
    await db.execute_many(
        "INSERT INTO officials (id, external_id, name, telegram_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        official_rows,
    )
    await db.execute_many(
        "INSERT INTO enterprises (id, name, credit_code, city, stage, created_at)"
        " VALUES (1, '基准企业', '91210100MA0QC0QX3P', 'shenyang', 'growth', ?)",
        [(at,)],
    )
    start = now + timedelta(seconds=START_MARGIN)
    rows = []
    for i in range(1, requests + 1):
        ack_due = start + timedelta(seconds=window * i / due) if i <= due else FAR
        rows.append(
            (
                i,
                f"LN-{now:%Y%m%d}-{i:06d}",
                1,
                700001,
                "policy",
                "摘要",
                "assigned",
                1 + i % OFFICIALS,
                at,
                to_epoch(ack_due),
                to_epoch(FAR + timedelta(days=30)),
            )
        )
    await db.execute_many(
        "INSERT INTO requests (id, number, enterprise_id, submitted_by, category, summary,"
        " status, official_id, created_at, acknowledge_due_at, resolve_due_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    reminders: list[tuple[object, ...]] = []
    for request_id, *_rest, ack_due_at, _resolve in rows:
        reminders.append((request_id, "ack_overdue", None, ack_due_at))
        for k in range(per_request - 1):
            reminders.append((request_id, f"bench_{k}", None, to_epoch(FAR) + k))
    await db.execute_many(
        "INSERT INTO reminders (request_id, kind, recipient_id, due_at) VALUES (?, ?, ?, ?)",
        reminders,
    )
    # Today's digests are out already: the figures are about reminders.
    await db.execute_many(
        "INSERT INTO digests (official_id, day, sent_at) VALUES (?, ?, ?)",
        [
            (i, now.astimezone(Settings().locale.tz).date().isoformat(), at)
            for i in range(1, OFFICIALS + 1)
        ],
    )
    await _identities_past_seeded(db)
    # The due moments count from the end of the seeding, however long it took (PostgreSQL's
    # executemany takes tens of seconds where SQLite's takes one: counted from its start, the
    # whole window would be past before the bot starts).
    start = datetime.now(UTC) + timedelta(seconds=START_MARGIN)
    due_at = [(to_epoch(start + timedelta(seconds=window * i / due)), i) for i in range(1, due + 1)]
    await db.execute_many("UPDATE requests SET acknowledge_due_at = ? WHERE id = ?", due_at)
    await db.execute_many(
        "UPDATE reminders SET due_at = ? WHERE request_id = ? AND kind = 'ack_overdue'", due_at
    )
    await db.close()
    return start.timestamp()


async def _identities_past_seeded(db: Database) -> None:
    """On PostgreSQL, rows inserted with their own ids leave the identity behind: move it on
    (SQLite's next rowid follows the largest by itself)."""
    if db.dialect != POSTGRESQL:
        return
    for table in SEEDED_IDS:
        await db.fetch_all(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
        )


async def measure_start(settings: Settings) -> tuple[float, object, Services]:
    """Build and start the application; seconds until its first wake-up is done."""
    begin = time.perf_counter()
    app = build_application(settings)
    context = running(app, poll_timeout=1)
    await context.__aenter__()
    services: Services = app.bot_data.services
    await services.alarm.tick()
    return time.perf_counter() - begin, context, services


async def measure(
    requests: int, per_request: int, due: int, window: float, backend: str, admin_url: str
) -> dict[str, float]:
    """One run on ``backend``, printed; its figures, to compare."""
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        targets: list[Target] = [Path(tmp) / "empty.sqlite3", Path(tmp) / "bench.sqlite3"]
        if backend == POSTGRESQL:
            targets = [
                stack.enter_context(throwaway_database(admin_url, "reminders")) for _ in targets
            ]
        standin = TelegramStandin(bot_username="liaison_bot", limits=RateLimits())
        await standin.start()
        for i in range(1, OFFICIALS + 1):
            standin.user(810000 + i, first_name=f"官员{i}", started=True)
        empty = settings_for(targets[0], standin)
        baseline, context, _ = await measure_start(empty)
        await context.__aexit__(None, None, None)  # type: ignore[attr-defined]

        seeded_at = time.perf_counter()
        first_due = await seed(targets[1], requests, per_request, due, window)
        seeding = time.perf_counter() - seeded_at
        settings = settings_for(targets[1], standin)
        started, context, services = await measure_start(settings)
        rss = rss_mb()
        pending = await services.reminders.count_pending()
        timing = TimingSender(services.sender)
        services.sender = timing
        deadline = first_due + window + 60
        while len(timing.sent) < due and time.time() < deadline:  # noqa: ASYNC110 (a poll)
            await asyncio.sleep(0.2)
        await context.__aexit__(None, None, None)  # type: ignore[attr-defined]
        await standin.stop()

    # Due moments as stored: whole Unix seconds.
    dues = {
        f"LN-{datetime.fromtimestamp(first_due, UTC):%Y%m%d}-{i:06d}": float(
            int(first_due + window * i / due)
        )
        for i in range(1, due + 1)
    }
    late = sorted(
        sent - dues[m.group(0)]
        for sent, text in timing.sent
        if (m := NUMBER.search(text)) and m.group(0) in dues
    )
    print(f"on {LABELS[backend]}:")
    print(f"seeded {requests} requests, {pending} pending reminders in {seeding:.1f} s")
    print(
        f"start (build, migrate, open, first wake-up): {started:.2f} s"
        f"  (empty database: {baseline:.2f} s, ratio {started / baseline:.2f})"
    )
    print(f"RSS after start: {rss:.0f} MB")
    figures = {
        "start, s": started,
        "start on an empty database, s": baseline,
        "RSS after start, MB": rss,
        "due reminders sent": float(len(late)),
    }
    if late:
        print(
            f"due reminders sent: {len(late)}/{due} over {window:.0f} s;"
            f" lateness median {statistics.median(late):.2f} s, max {max(late):.2f} s"
        )
        figures["lateness median, s"] = statistics.median(late)
        figures["lateness max, s"] = max(late)
    print(f"standin refused (429): {standin.rate_limited}")
    figures["429s from the stand-in"] = float(standin.rate_limited)
    return figures


async def main(args: argparse.Namespace) -> None:
    table: dict[str, dict[str, float]] = {}
    for backend in chosen(args.storage):
        figures = await measure(
            args.requests, args.per_request, args.due, args.window, backend, args.postgres_url
        )
        for name, value in figures.items():
            table.setdefault(name, {})[backend] = value
    if args.storage == BOTH:
        print("\n".join(side_by_side(table)))
    storage = "" if args.storage == "sqlite" else f" --storage {args.storage}"
    print(
        "reproduce: python -m bench.reminders"
        f" --requests {args.requests} --per-request {args.per_request} --due {args.due}"
        f" --window {args.window:.0f}{storage}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--due", type=int, default=300)
    parser.add_argument("--window", type=float, default=30.0)
    add_arguments(parser)
    asyncio.run(main(parser.parse_args()))
