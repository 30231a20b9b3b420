"""Benchmark: a province-scale ledger: /stats answer time, ledger export, roster import.

The database holds ``--enterprises`` enterprises (default 100,000) linked to officials 30 each,
and ``--requests`` requests (default 1,000,000) spread over two years, half of them closed.
It is built once with ``executemany`` and cached under the system temp directory, keyed by size.

Figures, each printed with its target:
- ``compute_stats`` for the whole program (what an admin's /stats computes) and for one
  official (their own /stats), medians of runs, against the whole program's on the
  681-request provincial round (the baseline, same run);
- the ledger export of the most recent ``--export`` requests (default 100,000) as .xlsx and
  .csv, each in a fresh process so that its peak RSS (ru_maxrss) is the export's own; the
  export's CPU seconds are printed beside its wall time, since the machine may be shared;
- the import of a ``--roster``-row (default 10,000) enterprise roster from CSV into a fresh DB.

Targets (issue #7): stats under 0.5 s, export under 15 s, memory under 500 MB.

    python -m bench.ledger [--enterprises 100000] [--requests 1000000] [--export 100000]
                           [--storage sqlite|postgresql|both] [--keep-postgres]

On PostgreSQL (``--storage postgresql``, bench/backends.py) the databases are built on the
server the same way (then ``VACUUM ANALYZE``d, as autovacuum would soon do) in throwaway databases
dropped at the end; ``--keep-postgres`` keeps the two ledger databases instead, named by size,
and reuses them the next time like the SQLite files. ``--storage both`` prints the figures of
each backend and then side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg

from bench.backends import (
    LABELS,
    POSTGRESQL,
    PREFIX,
    add_arguments,
    chosen,
    create_database,
    drop_database,
    side_by_side,
    throwaway_database,
    url_of,
)
from bot.channels import ChannelHasher
from bot.cities import CITIES
from bot.clock import to_epoch
from bot.credit_code import make_credit_code
from bot.i18n import Translator
from bot.ledger import write_ledger
from bot.rosters import RosterKind, import_roster
from bot.stats import compute_stats
from bot.tables import write_table
from storage.bulk import RequestRow, insert_requests
from storage.database import is_postgres_url
from storage.db import Transaction, open_database
from storage.ledger import LedgerFilter, LedgerRepository
from storage.models import Stage
from storage.rosters import AssignmentRecord, EnterpriseRecord, OfficialRecord, RosterRepository
from storage.stats import StatsRepository

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
DAY = 86400
SPAN_DAYS = 730
PER_OFFICIAL = 30
BATCH = 50_000
STATS_RUNS = 5
CATEGORIES = ("policy", "factors", "approval", "payments", "ip", "chain")
STAGES = tuple(Stage)
HASH_KEY = b"bench-ledger-key"
# A database: a SQLite file or a PostgreSQL URL.
Target = Path | str


def credit_code(n: int) -> str:
    return make_credit_code(f"91210100M{n:08d}")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _seed_roster(tx: Transaction, repo: RosterRepository, enterprises: int) -> None:
    """Officials, enterprises and their assignments, one transaction."""
    officials = (enterprises + PER_OFFICIAL - 1) // PER_OFFICIAL
    await repo.import_officials(
        tx,
        [
            OfficialRecord(
                f"B-{i:05d}",
                f"官员{i:05d}",
                "局长",
                "辽宁省",
                "city",
                CITIES[i % len(CITIES)].code,
                "",
            )
            for i in range(officials)
        ],
        now=NOW,
    )
    await repo.import_enterprises(
        tx,
        [
            EnterpriseRecord(
                credit_code(n),
                f"企业{n:06d}",
                CITIES[n % len(CITIES)].code,
                STAGES[n % 3].value,
                "制造",
            )
            for n in range(enterprises)
        ],
        now=NOW,
    )
    await repo.import_assignments(
        tx,
        [
            AssignmentRecord(f"B-{n // PER_OFFICIAL:05d}", credit_code(n), True)
            for n in range(enterprises)
        ],
        now=NOW,
    )


async def build(target: Target, enterprises: int, requests: int) -> None:
    db = await open_database(target)
    try:
        repo = RosterRepository(db)
        async with db.transaction() as tx:
            await _seed_roster(tx, repo, enterprises)
        enterprise_ids = [row[0] for row in await db.fetch_all("SELECT id FROM enterprises")]
        official_ids = [row[0] for row in await db.fetch_all("SELECT id FROM officials")]
        start = to_epoch(NOW) - SPAN_DAYS * DAY
        for first in range(0, requests, BATCH):
            await insert_requests(
                db,
                (
                    _request(i, start, requests, enterprise_ids, official_ids)
                    for i in range(first, min(first + BATCH, requests))
                ),
            )
    finally:
        await db.close()
    if isinstance(target, str):
        # What autovacuum would soon do after a load this size: the planner's statistics, and
        # the visibility map that lets index-only scans skip the table.
        with psycopg.connect(target, autocommit=True) as server:
            server.execute("VACUUM ANALYZE")


def _request(
    i: int, start: int, total: int, enterprise_ids: list[int], official_ids: list[int]
) -> RequestRow:
    n = (i * 7919) % len(enterprise_ids)
    created = start + i * (SPAN_DAYS * DAY // total)
    solved = i % 2 == 0
    return RequestRow(
        number=f"LN-B-{i:08d}",
        enterprise_id=enterprise_ids[n],
        submitted_by=1,
        category=CATEGORIES[i % 6],
        summary=f"诉求 {i}",
        status="closed" if solved else ("in_progress" if i % 3 else "acknowledged"),
        official_id=official_ids[min(n // PER_OFFICIAL, len(official_ids) - 1)],
        created_at=created,
        acknowledged_at=created + DAY // 2,
        resolved_at=created + 10 * DAY if solved else None,
        closed_at=created + 12 * DAY if solved else None,
        acknowledge_due_at=created + DAY,
        resolve_due_at=created + 21 * DAY,
        outcome="solved" if solved else None,
        rating=(5 if i % 4 else 3) if solved else None,
    )


async def cached_db(enterprises: int, requests: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"bench-ledger-{enterprises}-{requests}.sqlite3"
    if not path.exists():
        began = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        await build(partial, enterprises, requests)
        partial.rename(path)
        print(f"built {path} in {time.perf_counter() - began:.1f} s")
    return path


async def cached_server_db(
    admin_url: str, enterprises: int, requests: int, made: list[str], keep: bool
) -> str:
    """The PostgreSQL twin of :func:`cached_db`: a database on the server, built here unless
    ``keep`` and a complete one of that size is there from an earlier run. Those built and not
    to be kept are added to ``made``, to be dropped at the end."""
    name = f"{PREFIX}ledger_{enterprises}_{requests}"
    if keep:
        url = url_of(admin_url, name)
        if _complete(admin_url, name):
            return url
        drop_database(admin_url, url)
        create_database_named(admin_url, name)
    else:
        url = create_database(admin_url, "ledger")
        made.append(url)
    began = time.perf_counter()
    await build(url, enterprises, requests)
    print(f"built {url.partition('?')[0]} in {time.perf_counter() - began:.1f} s")
    if keep:
        _mark_complete(url)
    return url


# A kept database is complete once this table exists (a build cut short leaves none).
_COMPLETE = "bench_built"


def _complete(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    if found is None:
        return False
    with psycopg.connect(url_of(admin_url, name), autocommit=True) as db:
        row = db.execute("SELECT to_regclass(%s) IS NOT NULL", (_COMPLETE,)).fetchone()
        return bool(row and row[0])


def _mark_complete(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {_COMPLETE} (at TIMESTAMPTZ DEFAULT now())")


def create_database_named(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())


async def time_stats(target: Target, official_id: int | None = None) -> float:
    """The median time of ``compute_stats``, for the whole program or for one official."""
    db = await open_database(target)
    try:
        repo = StatsRepository(db)
        times = []
        for _ in range(STATS_RUNS):
            began = time.perf_counter()
            await compute_stats(repo, now=NOW, official_id=official_id)
            times.append(time.perf_counter() - began)
        return statistics.median(times)
    finally:
        await db.close()


async def export(target: Target, out: Path, since_days: int) -> dict[str, float]:
    """One export in this process; its time, rows and the process's peak RSS."""
    db = await open_database(target)
    try:
        since = NOW - timedelta(days=since_days)
        began, cpu = time.perf_counter(), time.process_time()
        rows = await write_ledger(
            LedgerRepository(db), out, LedgerFilter(since=since), Translator("zh"), tz=TZ, now=NOW
        )
        return {
            "seconds": time.perf_counter() - began,
            "cpu": time.process_time() - cpu,
            "rows": rows,
            "rss_mb": rss_mb(),
        }
    finally:
        await db.close()


def export_in_child(target: Target, suffix: str, since_days: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"ledger{suffix}"
        result = subprocess.run(
            [sys.executable, "-m", "bench.ledger", "--export-child", str(target), str(out),
             str(since_days)],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
        figures["size_mb"] = out.stat().st_size / 2**20
        return figures


async def time_import(rows: int, backend: str, admin_url: str) -> float:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        target: Target = Path(tmp) / "import.sqlite3"
        if backend == POSTGRESQL:
            target = stack.enter_context(throwaway_database(admin_url, "import"))
        csv_path = Path(tmp) / "enterprises.csv"
        write_table(
            csv_path,
            ["credit_code", "name", "city", "stage", "industry"],
            (
                [credit_code(n), f"导入企业{n:05d}", CITIES[n % len(CITIES)].code,
                 STAGES[n % 3].value, "制造"]
                for n in range(rows)
            ),
        )  # fmt: skip
        db = await open_database(target)
        try:
            began = time.perf_counter()
            report = await import_roster(
                db, RosterRepository(db), RosterKind.ENTERPRISES, csv_path.read_bytes(),
                csv_path.name, hasher=ChannelHasher(HASH_KEY), now=NOW,
            )  # fmt: skip
            elapsed = time.perf_counter() - began
        finally:
            await db.close()
        if report.problems:
            raise SystemExit(f"import refused: {report.problems[:3]}")
        return elapsed


def days_for(export_rows: int, requests: int) -> int:
    return max(1, round(SPAN_DAYS * export_rows / requests))


def verdict(value: float, target: float) -> str:
    return "met" if value < target else "MISSED"


async def measure(args: argparse.Namespace, backend: str, made: list[str]) -> dict[str, float]:
    """Every figure on one backend, printed as it is measured; the numbers, to compare."""
    if backend == POSTGRESQL:
        baseline: Target = await cached_server_db(
            args.postgres_url, 660, 681, made, args.keep_postgres
        )
        big: Target = await cached_server_db(
            args.postgres_url, args.enterprises, args.requests, made, args.keep_postgres
        )
    else:
        baseline = await cached_db(660, 681)
        big = await cached_db(args.enterprises, args.requests)
    small_stats = await time_stats(baseline)
    big_stats = await time_stats(big)
    own_stats = await time_stats(big, official_id=1)
    since_days = days_for(args.export, args.requests)
    figures = {
        "/stats, whole program, ms": big_stats * 1000,
        "/stats, one official's own, ms": own_stats * 1000,
        "/stats, 681-request baseline, ms": small_stats * 1000,
    }
    print(
        f"ledger benchmark on {LABELS[backend]}: {args.enterprises:,} enterprises,"
        f" {args.requests:,} requests"
    )
    print(
        f"/stats, whole program (compute_stats, median of {STATS_RUNS}):"
        f" {big_stats * 1000:.0f} ms [target < 500 ms: {verdict(big_stats, 0.5)}]"
        f" (681-request baseline: {small_stats * 1000:.1f} ms)"
    )
    print(
        f"/stats, one official's own (median of {STATS_RUNS}): {own_stats * 1000:.0f} ms"
        f" [target < 500 ms: {verdict(own_stats, 0.5)}]"
    )
    for suffix in (".xlsx", ".csv"):
        fig = export_in_child(big, suffix, since_days)
        print(
            f"ledger export {suffix}: {fig['rows']:,.0f} rows in {fig['seconds']:.1f} s"
            f" ({fig['cpu']:.1f} s CPU) [target < 15 s: {verdict(fig['seconds'], 15)}],"
            f" peak RSS {fig['rss_mb']:.0f} MB [target < 500 MB:"
            f" {verdict(fig['rss_mb'], 500)}], file {fig['size_mb']:.1f} MB"
        )
        figures[f"ledger export {suffix}, s"] = fig["seconds"]
        figures[f"ledger export {suffix}, CPU s"] = fig["cpu"]
        figures[f"ledger export {suffix}, peak RSS MB"] = fig["rss_mb"]
    imported = await time_import(args.roster, backend, args.postgres_url)
    print(f"roster import, {args.roster:,} enterprises from CSV: {imported:.2f} s [no target]")
    figures["roster import, s"] = imported
    return figures


async def main(args: argparse.Namespace) -> None:
    storage = "" if args.storage == "sqlite" else f" --storage {args.storage}"
    reproduce = (
        "python -m bench.ledger"
        f" --enterprises {args.enterprises} --requests {args.requests}"
        f" --export {args.export} --roster {args.roster}{storage}"
    )
    made: list[str] = []
    table: dict[str, dict[str, float]] = {}
    try:
        for backend in chosen(args.storage):
            for name, value in (await measure(args, backend, made)).items():
                table.setdefault(name, {})[backend] = value
    finally:
        for url in made:
            drop_database(args.postgres_url, url)
    if args.storage == "both":
        print("\n".join(side_by_side(table)))
    print(f"reproduce: {reproduce}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--export", type=int, default=100_000)
    parser.add_argument("--roster", type=int, default=10_000)
    parser.add_argument("--export-child", nargs=3, metavar=("DB", "OUT", "DAYS"))
    parser.add_argument(
        "--keep-postgres",
        action="store_true",
        help="keep the PostgreSQL ledger databases (named by size) and reuse them next time",
    )
    add_arguments(parser)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.export_child:
        db_path, out_path, days = arguments.export_child
        target: Target = db_path if is_postgres_url(db_path) else Path(db_path)
        print(json.dumps(asyncio.run(export(target, Path(out_path), int(days)))))
    else:
        asyncio.run(main(arguments))
