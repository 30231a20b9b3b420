"""``migrate-to URL``: a SQLite installation moved into an empty PostgreSQL database (issue 21).

A bot on a SQLite file is given a provincial round through its own flows (rosters imported,
visits recorded, requests submitted, assigned, acknowledged, resolved, confirmed and rated, and
an admin asking for /stats over the stand-in); ``python -m bot migrate-to URL`` copies it; a bot
started on the PostgreSQL copy shows the admin the same /stats and holds the same requests, and
the next row gets a fresh id. A target that holds anything is refused with one line.

These tests need a PostgreSQL server whichever backend the suite runs on (the source is always
SQLite): without one they are skipped, saying why.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.pacing import ScaledClock
from bot.services import Services
from runtime.application import BotApplication, build_application, running
from runtime.cli import EXIT_USAGE, main
from scenarios.roster import ADMIN_ID, make_cast
from storage.transfer import DERIVED, TargetNotEmpty, migrate_to
from tests import postgres
from tests.ledger_data import import_rosters, provincial_rosters
from tests.round_flows import Cast, provincial_plan, record_visits, run_requests

if TYPE_CHECKING:
    from standin import TelegramStandin

# Of the provincial round's plan, from the 301st: 25 resolved and rated, the others open.
FIRST, REQUESTS = 300, 90
SNAPSHOT = (
    "SELECT number, status, official_id, overdue_at, rating, version FROM requests ORDER BY id"
)


@pytest.fixture
def target() -> Iterator[str]:
    reason = postgres.unreachable()
    if reason is not None:
        pytest.skip(reason)
    with postgres.scratch_database() as url:
        yield url


def on(settings: Settings, storage: dict[str, str]) -> Settings:
    """``settings`` with another ``[storage]`` section (no scheduled backups)."""
    section = settings.storage.model_validate(storage | {"backup_interval_hours": 0})
    return settings.model_copy(update={"storage": section})


@pytest.fixture
def sqlite_settings(settings: Settings, tmp_path: Path) -> Settings:
    return on(settings, {"path": str(tmp_path / "installation.sqlite3")})


@asynccontextmanager
async def started(
    settings: Settings, clock: FakeClock, pacing_clock: ScaledClock
) -> AsyncIterator[BotApplication]:
    app = build_application(settings, clock=clock, pacing_clock=pacing_clock)
    async with running(app, poll_timeout=1):
        yield app


async def stats_seen_by_admin(standin: TelegramStandin) -> str:
    """The admin's /stats (the reports of receipts to the flows' made-up chats aside)."""
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send("/stats")
    while True:
        text = (await admin.expect_message()).text
        assert text is not None
        if text.startswith("📊"):
            return text


async def cli(*argv: str) -> int:
    """``python -m bot ARGV`` in this process (in a thread: the command runs its own loop)."""
    return await asyncio.to_thread(main, list(argv))


def config_file(tmp_path: Path, source: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\npath = "{source}"\n', encoding="utf-8")
    return config


async def test_an_installation_moved_to_postgresql_shows_the_same_requests(
    sqlite_settings: Settings,
    standin: TelegramStandin,
    clock: FakeClock,
    pacing_clock: ScaledClock,
    target: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with started(sqlite_settings, clock, pacing_clock) as app:
        services = app.bot_data.services
        await make_cast(services)
        await import_rosters(services, provincial_rosters(), now=clock.now())
        officials = {o.external_id: o for o in await services.officials.all_active()}
        cast = Cast(services, officials)
        await record_visits(services, cast, clock)
        await run_requests(services, cast, clock, provincial_plan()[FIRST : FIRST + REQUESTS])
        before = await stats_seen_by_admin(standin)
        requests = await services.db.fetch_all(SNAPSHOT)
        largest = await services.db.fetch_value("SELECT MAX(id) FROM request_history")
    assert len(requests) == REQUESTS and "Requests received 90 · resolved 25" in before, before

    capsys.readouterr()
    source = sqlite_settings.storage.path
    assert await cli("--config", str(config_file(tmp_path, source)), "migrate-to", target) == 0
    printed = capsys.readouterr().out.splitlines()
    tables = {line.split()[0]: line.split()[1] for line in printed if " rows  same" in line}
    assert tables["requests"] == str(REQUESTS)
    assert tables["site_visits"] == "291" and tables["officials"] == "35"
    assert int(tables["request_tallies"]) > 0 and int(tables["request_history"]) > REQUESTS
    assert "checked row by row" in printed[-1]

    async with started(
        on(sqlite_settings, {"path": str(source), "url": target}), clock, pacing_clock
    ) as app:
        db = app.bot_data.services.db
        assert db.dialect == "postgresql"
        assert [tuple(row) for row in await db.fetch_all(SNAPSHOT)] == [
            tuple(row) for row in requests
        ]
        assert await stats_seen_by_admin(standin) == before
        # The identities continue after the largest id copied.
        inserted = await db.execute(
            "INSERT INTO request_history (request_id, at, to_status)"
            " VALUES (1, 0, 'submitted') RETURNING id"
        )
        assert inserted[0][0] == largest + 1

    # Now the target holds the installation: a second copy into it is refused with one line.
    capsys.readouterr()
    assert await cli("--config", str(config_file(tmp_path, source)), "migrate-to", target) == (
        EXIT_USAGE
    )
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 1, captured
    assert "is not empty" in lines[0] and "migrate-to copies into an empty database" in lines[0]
    assert postgres.name_of(target) in lines[0]


async def test_a_target_with_rows_is_refused_before_anything_is_written(
    tmp_path: Path, target: str
) -> None:
    source = tmp_path / "small.sqlite3"
    with psycopg.connect(target, autocommit=True) as connection:
        connection.execute("CREATE TABLE notes (id BIGINT PRIMARY KEY)")
        connection.execute("INSERT INTO notes VALUES (1)")
    source.touch()
    with pytest.raises(TargetNotEmpty, match="table notes has rows"):
        await asyncio.to_thread(migrate_to, source, target)
    with psycopg.connect(target, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    assert tables == [("notes",)]  # not migrated, not touched


async def test_a_server_that_does_not_answer_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "small.sqlite3"
    source.touch()
    nowhere = "postgresql://liaison@127.0.0.1:1/liaison"  # nothing listens on port 1
    assert await cli("--config", str(config_file(tmp_path, source)), "migrate-to", nowhere) == (
        EXIT_USAGE
    )
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot connect to database liaison on 127.0.0.1:1: "
    ), lines


async def test_a_copy_that_differs_is_rolled_back_and_says_where(
    sqlite_settings: Settings,
    clock: FakeClock,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The check is real: tallies built wrong on the server (one request too many on every
    row) are found, nothing is kept, exit code 1."""
    services = await Services.open(sqlite_settings, clock)
    try:
        await import_rosters(services, provincial_rosters(), now=clock.now())
        officials = {o.external_id: o for o in await services.officials.all_active()}
        await run_requests(services, Cast(services, officials), clock, provincial_plan()[:3])
    finally:
        await services.close()
    wrong = DERIVED["request_tallies"].replace("SUM(received)", "SUM(received) + 1")
    monkeypatch.setitem(DERIVED, "request_tallies", wrong)
    source = sqlite_settings.storage.path
    capsys.readouterr()
    assert await cli("--config", str(config_file(tmp_path, source)), "migrate-to", target) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: the copy differs, nothing was kept: table request_tallies, row 1 in key order:"
    ), lines
    with psycopg.connect(target) as connection:
        row = connection.execute("SELECT COUNT(*) FROM requests").fetchone()
    assert row == (0,)  # rolled back: the schema is there, no row


async def test_a_bot_writing_meanwhile_does_not_disturb_the_copy(
    sqlite_settings: Settings, clock: FakeClock, target: str
) -> None:
    """The file is read from one snapshot: rows written into it while the copy and the check
    run (as a bot on it would) are not in the copy, and the check still finds both sides
    the same."""
    services = await Services.open(sqlite_settings, clock)
    try:
        await import_rosters(services, provincial_rosters(), now=clock.now())
    finally:
        await services.close()
    source = sqlite_settings.storage.path
    done, started = threading.Event(), threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        with sqlite3.connect(source, isolation_level=None, timeout=10) as bot:
            while not done.is_set():
                bot.execute("INSERT INTO audit_log (at, action) VALUES (0, 'meanwhile')")
                written.append(1)
                started.set()
                time.sleep(0.001)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        await asyncio.to_thread(started.wait)
        transfer = await asyncio.to_thread(migrate_to, source, target)
        during = len(written)
    finally:
        done.set()
        writer.join()
    copied = {table.name: table.rows for table in transfer.tables}
    assert 0 < copied["audit_log"] < during
    assert copied["enterprises"] == 660
