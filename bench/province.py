"""Benchmark: the whole province at the cities' round's size, both rounds in one database.

4,866 officials (33 provincial leaders, 4,833 city and county officials across the 14 cities
and 沈抚示范区), 10,000 enterprises with 20,000 contacts (two each, with phones), 10,660
assignments (each provincial leader's 20 enterprises also have a city official), 30,000
requests with their history (the transitions each went through) and 5,000 site visits.

Figures, each printed with its target (issue #18, point 6):
- importing the whole roster (officials, enterprises with contacts, assignments) from the
  three CSV files an office would send, through the same import as ``python -m bot import``,
  into a fresh database (< 60 s);
- the province's /stats (the whole programme, the rounds side by side and the cities ranked,
  rendered; < 0.5 s) and one city's (< 0.2 s), medians of five runs;
- the full ledger export, every request, as .xlsx (< 10 s) and as .csv;
- the bot's RSS: the bot runs as a real process (``python -m bot run``) against the stand-in on
  this database, and an admin asks for /stats, one city's /stats, /charts and the full /ledger;
  its peak RSS (VmHWM) must stay under 300 MB. The answer times through the stand-in are
  printed beside it.

    python -m bench.province [--runs 5] [--skip-bot]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.broadcasts import ADMIN_ID, peak_rss_mb, start_bot, write_config
from bot.channels import ChannelHasher
from bot.cities import CITIES
from bot.clock import to_epoch
from bot.credit_code import make_credit_code
from bot.i18n import Translator
from bot.ledger import write_ledger
from bot.rosters import RosterKind, import_roster
from bot.stats import compute_stats, render_rounds, render_stats
from bot.tables import write_table
from standin import RateLimits, TelegramStandin
from storage.bulk import RequestRow, insert_requests, insert_visits, record_history
from storage.db import Database, open_database
from storage.ledger import LedgerFilter, LedgerRepository
from storage.rosters import RosterRepository
from storage.stats import WHOLE, Cut, StatsRepository

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
DAY = 86400
SPAN_DAYS = 365
LEADERS = 33
PER_LEADER = 20
CITY_OFFICIALS = 4833
ENTERPRISES = 10_000
REQUESTS = 30_000
VISITS = 5_000
CATEGORIES = ("policy", "factors", "approval", "payments", "ip", "chain")
STAGES = ("初创型", "成长期", "成熟期")
HASH_KEY = b"bench-hash-key-0123456789"  # the key write_config gives the bot
CITY = "dalian"

TARGETS = {"import": 60.0, "province": 0.5, "city": 0.2, "xlsx": 10.0, "rss": 300.0}


def credit_code(n: int) -> str:
    return make_credit_code(f"91210100MC{n:07d}")


def city_of(n: int) -> str:
    return CITIES[n % len(CITIES)].zh


def holder(n: int) -> str:
    """Enterprise n's primary official: a provincial leader's for the first 660, else the
    city official n mod 4,833 (every enterprise in its official's city)."""
    return f"P-{n // PER_LEADER:02d}" if n < LEADERS * PER_LEADER else f"C-{n % CITY_OFFICIALS:04d}"


def rosters() -> dict[RosterKind, tuple[list[str], Iterator[list[str]]]]:
    """The three roster files as an office writes them: Chinese titles and names."""
    leaders = (
        [f"P-{i:02d}", f"省领导{i:02d}", "副省长", "辽宁省人民政府", "省级", "", ""]
        for i in range(LEADERS)
    )
    officials = (
        [f"C-{j:04d}", f"市官员{j:04d}", "局长", f"{city_of(j)}人民政府",
         "县级" if j % 7 == 0 else "市级", city_of(j), f"139{j:08d}"]
        for j in range(CITY_OFFICIALS)
    )  # fmt: skip
    enterprises = (
        [credit_code(n), f"企业{n:05d}", city_of(n % CITY_OFFICIALS), STAGES[n % 3], "制造",
         f"张总 137{n:08d}; 李经理 138{n:08d}"]
        for n in range(ENTERPRISES)
    )  # fmt: skip
    primary = ([holder(n), credit_code(n), "是"] for n in range(ENTERPRISES))
    helping = (
        [f"C-{n % CITY_OFFICIALS:04d}", credit_code(n), "否"] for n in range(LEADERS * PER_LEADER)
    )
    return {
        RosterKind.OFFICIALS: (
            ["编号", "姓名", "职务", "单位", "层级", "城市", "电话"],
            iter([*leaders, *officials]),
        ),
        RosterKind.ENTERPRISES: (
            ["统一社会信用代码", "企业名称", "城市", "发展阶段", "行业", "联系人"],
            enterprises,
        ),
        RosterKind.ASSIGNMENTS: (
            ["官员编号", "统一社会信用代码", "主责"],
            iter([*primary, *helping]),
        ),
    }


async def import_rosters(db: Database, folder: Path) -> float:
    """Write the three CSV files, then import them as ``python -m bot import`` does."""
    files = []
    for kind, (header, rows) in rosters().items():
        path = folder / f"{kind}.csv"
        write_table(path, header, rows)
        files.append((kind, path))
    began = time.perf_counter()
    for kind, path in files:
        report = await import_roster(
            db, RosterRepository(db), kind, path.read_bytes(), path.name,
            hasher=ChannelHasher(HASH_KEY), now=NOW,
        )  # fmt: skip
        if report.problems:
            raise SystemExit(f"{kind} refused: {report.problems[:3]}")
    return time.perf_counter() - began


# The transitions a request went through, by its status now.
PATHS = {
    "submitted": ("submitted",),
    "assigned": ("submitted", "assigned"),
    "acknowledged": ("submitted", "assigned", "acknowledged"),
    "in_progress": ("submitted", "assigned", "acknowledged", "in_progress"),
    "closed": ("submitted", "assigned", "acknowledged", "in_progress", "resolved", "closed"),
}
STATUSES = ("closed", "in_progress", "closed", "acknowledged", "assigned", "submitted")


def request_row(i: int, enterprise_ids: list[int], official_ids: dict[str, int]) -> RequestRow:
    n = (i * 7919) % ENTERPRISES
    created = to_epoch(NOW) - SPAN_DAYS * DAY + i * (SPAN_DAYS * DAY // REQUESTS)
    status = STATUSES[i % len(STATUSES)]
    closed = status == "closed"
    acknowledged = status not in ("submitted", "assigned")
    return RequestRow(
        number=f"LN-P-{i:06d}",
        enterprise_id=enterprise_ids[n],
        submitted_by=1,
        category=CATEGORIES[i % 6],
        summary=f"诉求 {i}",
        status=status,
        official_id=None if status == "submitted" else official_ids[holder(n)],
        created_at=created,
        acknowledged_at=created + (DAY // 2 if i % 10 else 2 * DAY) if acknowledged else None,
        resolved_at=created + 10 * DAY if closed else None,
        closed_at=created + 12 * DAY if closed else None,
        acknowledge_due_at=created + DAY,
        resolve_due_at=created + 21 * DAY,
        outcome="solved" if closed and i % 5 else ("not_solved" if closed else None),
        rating=(5 if i % 4 else 3) if closed else None,
    )


def history(request_id: int, row: RequestRow) -> Iterator[tuple[int, int, int | None, str | None,
                                                                 str, str]]:  # fmt: skip
    previous = None
    for step, status in enumerate(PATHS[row.status]):
        yield (request_id, row.created_at + step * DAY, row.official_id, previous, status, "")
        previous = status


async def load_requests(db: Database) -> None:
    """30,000 requests with their history, and 5,000 visits, in bulk."""
    enterprise_ids = [
        r[0] for r in await db.fetch_all("SELECT id FROM enterprises ORDER BY credit_code")
    ]
    official_ids = {r[0]: r[1] for r in await db.fetch_all("SELECT external_id, id FROM officials")}
    rows = [request_row(i, enterprise_ids, official_ids) for i in range(REQUESTS)]
    await insert_requests(db, rows)
    ids = {r[0]: r[1] for r in await db.fetch_all("SELECT number, id FROM requests")}
    await record_history(db, (e for row in rows for e in history(ids[row.number], row)))
    await insert_visits(
        db,
        (
            (official_ids[holder(n)], enterprise_ids[n], "2026-01-10", to_epoch(NOW))
            for n in range(0, ENTERPRISES, ENTERPRISES // VISITS)
        ),
    )


async def median_of(runs: int, work: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await work()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def time_stats(db: Database, cut: Cut, runs: int) -> float:
    """What an admin's /stats does: compute, and render every message it sends."""
    repo, texts = StatsRepository(db), Translator("zh")

    async def once() -> None:
        stats = await compute_stats(repo, now=NOW, cut=cut)
        render_stats(stats, texts, for_official=False)
        if stats.rounds is not None:
            render_rounds(stats, texts)

    return await median_of(runs, once)


async def time_export(db: Database, out: Path) -> tuple[float, int]:
    began = time.perf_counter()
    rows = await write_ledger(
        LedgerRepository(db), out, LedgerFilter(), Translator("zh"), tz=TZ, now=NOW
    )
    return time.perf_counter() - began, rows


async def bot_rss(db_path: Path, folder: Path) -> tuple[float, float, dict[str, float]]:
    """The bot as a process on this database: (idle RSS, peak RSS, answer times) while an admin
    asks for /stats, one city's, /charts and the full /ledger."""
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    admin = standin.user(ADMIN_ID, started=True, language_code="zh-hans")
    bot = start_bot(write_config(folder, standin, db_path), folder / "bot.log")
    answers: dict[str, float] = {}
    try:
        await admin.send("/help")
        await admin.expect_message(timeout=60)
        idle = peak_rss_mb(bot.pid)[0]
        for command, replies in (("/stats", 2), ("/stats 大连", 1), ("/charts", 3),
                                 ("/ledger", 2)):  # fmt: skip
            began = time.perf_counter()
            await admin.send(command)
            for _ in range(replies):
                await admin.expect_message(timeout=120)
            answers[command] = time.perf_counter() - began
        peak = peak_rss_mb(bot.pid)[1]
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    return idle, peak, answers


def verdict(value: float, key: str) -> str:
    return f"[target < {TARGETS[key]:g}: {'met' if value < TARGETS[key] else 'MISSED'}]"


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-province-") as tmp:
        folder = Path(tmp)
        db_path = folder / "province.sqlite3"
        db = await open_database(db_path)
        try:
            imported = await import_rosters(db, folder)
            began = time.perf_counter()
            await load_requests(db)
            loaded = time.perf_counter() - began
            contacts = await db.fetch_value("SELECT COUNT(*) FROM enterprise_contacts")
            history_rows = await db.fetch_value("SELECT COUNT(*) FROM request_history")
            province = await time_stats(db, WHOLE, args.runs)
            city = await time_stats(db, Cut(city=CITY), args.runs)
            xlsx, rows = await time_export(db, folder / "ledger.xlsx")
            csv, _ = await time_export(db, folder / "ledger.csv")
        finally:
            await db.close()
        print(
            f"province: {LEADERS + CITY_OFFICIALS:,} officials, {ENTERPRISES:,} enterprises,"
            f" {contacts:,} contacts, {REQUESTS:,} requests, {history_rows:,} history rows"
            f" (requests, history and visits loaded in {loaded:.1f} s)"
        )
        print(f"roster import, the three CSV files: {imported:.1f} s {verdict(imported, 'import')}")
        print(
            f"/stats, the province (rounds, cities ranked; median of {args.runs}):"
            f" {province * 1000:.0f} ms {verdict(province, 'province')}"
        )
        print(f"/stats, one city ({CITY}): {city * 1000:.0f} ms {verdict(city, 'city')}")
        print(f"ledger export, all {rows:,} requests: .xlsx {xlsx:.1f} s {verdict(xlsx, 'xlsx')},")
        print(f"  .csv {csv:.1f} s")
        if not args.skip_bot:
            idle, peak, answers = await bot_rss(db_path, folder)
            print(f"bot RSS: idle {idle:.0f} MB, peak {peak:.0f} MB {verdict(peak, 'rss')}")
            print(
                "answers through the stand-in: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in answers.items())
            )
    print(f"reproduce: python -m bench.province --runs {args.runs}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each /stats, median")
    parser.add_argument("--skip-bot", action="store_true", help="no bot process (no RSS)")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
