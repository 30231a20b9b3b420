"""Benchmark: loading next year's holiday schedule with many open requests (issue #20).

The database is seeded with ``--requests`` open requests submitted in the weeks before the
Spring Festival of 2027 (15 working days to resolve, their deadlines counted on the computed
2027 holidays, their reminders planned), one official per hundred requests and one contact
per enterprise of ten. Then an official 2027 schedule with 调休 weekends is loaded, as an
admin would: the figures are how long the load takes (its one write transaction, during which
no other write can happen), how many deadlines it moves and how many notices it queues. Also
measured: what the running bot pays on each wake-up to notice a load made by another process
(one read), and the first question about a computed year in a fresh calendar (importing the
holidays package and computing the year).

    python -m bench.holidays [--requests 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import FakeClock, to_epoch
from bot.config import Settings
from bot.holiday_schedule import parse_schedule
from bot.services import Services
from scenarios.holidays import OFFICIAL_2027

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 1, 25, 10, tzinfo=SHANGHAI)
PER_OFFICIAL = 100
PER_ENTERPRISE = 10
SCHEDULE = OFFICIAL_2027


FIRST_QUESTION = """
import time
from datetime import date
from bot.workdays import WorkCalendar
calendar = WorkCalendar()
began = time.perf_counter()
calendar.is_workday(date(2027, 3, 1))
print(time.perf_counter() - began)
"""


def settings_for(path: Path) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"path": str(path)},
            "security": {"hash_key": "bench-hash-key-0123456789abcdef"},
            "admins": {"telegram_ids": [900001]},
        }
    )


async def seed(services: Services, requests: int) -> None:
    """Officials, enterprises with a contact, open requests with their reminders planned."""
    db, calendar = services.db, services.calendar
    at = to_epoch(NOW)
    officials = max(1, requests // PER_OFFICIAL)
    enterprises = max(1, requests // PER_ENTERPRISE)
    people = [810000 + i for i in range(1, officials + 1)]
    people += [700000 + i for i in range(1, enterprises + 1)]
    await db.execute_many(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'b', ?, ?)",
        [(person, at, at) for person in people],
    )
    await db.execute_many(
        "INSERT INTO officials (id, external_id, name, telegram_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [(i, f"B-{i:05d}", f"官员{i}", 810000 + i, at) for i in range(1, officials + 1)],
    )
    await db.execute_many(
        "INSERT INTO enterprises (id, name, credit_code, city, stage, created_at)"
        " VALUES (?, ?, ?, 'shenyang', 'growth', ?)",
        [(i, f"企业{i}", f"91210100MA{i:08d}", at) for i in range(1, enterprises + 1)],
    )
    await db.execute_many(
        "INSERT INTO enterprise_contacts (enterprise_id, name, telegram_id, created_at)"
        " VALUES (?, 'c', ?, ?)",
        [(i, 700000 + i, at) for i in range(1, enterprises + 1)],
    )
    rows = []
    first = NOW - timedelta(days=21)
    for i in range(1, requests + 1):
        created = first + timedelta(seconds=(21 * 86400 - 3600) * i / requests)
        rows.append(
            (
                i,
                f"LN-{created:%Y%m%d}-{i:06d}",
                1 + i % enterprises,
                700000 + 1 + i % enterprises,
                "policy",
                "摘要",
                "acknowledged",
                1 + i % officials,
                to_epoch(created),
                to_epoch(created),
                to_epoch(calendar.add_workdays(created, 1)),
                to_epoch(calendar.add_workdays(created, 15)),
            )
        )
    await db.execute_many(
        "INSERT INTO requests (id, number, enterprise_id, submitted_by, category, summary,"
        " status, official_id, created_at, acknowledged_at, acknowledge_due_at,"
        " resolve_due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    for start in range(1, requests + 1, 500):
        async with db.transaction() as tx:
            for request_id in range(start, min(start + 500, requests + 1)):
                await services.planner.replan(tx, request_id)


async def main(requests: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        services = await Services.open(settings_for(path), clock=FakeClock(NOW))
        try:
            began = time.perf_counter()
            await seed(services, requests)
            seeding = time.perf_counter() - began
            pending = await services.db.fetch_value(
                "SELECT COUNT(*) FROM reminders WHERE status = 'pending'"
            )
            schedule = parse_schedule(SCHEDULE.encode())
            began = time.perf_counter()
            loaded = await services.holidays.load(
                schedule, file_name="2027.toml", file_text=SCHEDULE, actor_id=900001
            )
            load = time.perf_counter() - began
            queued = await services.db.fetch_value(
                "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'deadline:%'"
            )
            checks = []
            for _ in range(1000):
                began = time.perf_counter()
                await services.holidays.sync()
                checks.append(time.perf_counter() - began)
        finally:
            await services.close()
    print(f"seeded {requests} open requests, {pending} pending reminders in {seeding:.1f} s")
    print(
        f"load of the 2027 schedule: {load:.2f} s (one transaction), "
        f"{len(loaded.moved)} requests' deadlines moved, {queued} notices queued"
    )
    print(
        f"per wake-up, noticing a load by another process: median "
        f"{statistics.median(checks) * 1e6:.0f} µs, max {max(checks) * 1e6:.0f} µs"
    )
    print(f"reproduce: python -m bench.holidays --requests {requests}")


def first_question() -> float:
    """Seconds the first question about a computed year takes in a fresh process (the
    holidays package imported, the year computed)."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_QUESTION], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.requests))
    took = first_question() * 1e3
    print(f"first question about a computed year (import + compute): {took:.0f} ms")
