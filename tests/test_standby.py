"""Two bots on one PostgreSQL database: the active one and the standby (runtime/standby.py).

The bots run as real processes (``python -m bot run``) against the stand-in, on a database of
their own on the server the suite's PostgreSQL run uses (``BOT_TEST_POSTGRES``); skipped when
no server answers. SIGKILL the active, or cut its lock's connection: the standby takes over
within 15 s and sends what was queued meanwhile; ``/healthz`` says each one's role all along.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import aiohttp
import psycopg
import pytest

from bench.broadcasts import FIRST_RECIPIENT, delivered, resumed_within_bound, seed, status_of
from bot.broadcasts import BroadcastStatus
from bot.config import ConfigError, FailoverSettings, Settings, load_settings
from bot.services import Services
from runtime.cli import EXIT_USAGE, main
from runtime.standby import EXIT_LOST, INSTANCE_LOCK, ActiveLock, instance_name
from standin import RateLimits, TelegramStandin
from storage.db import open_database
from storage.postgres import (
    WRITER_LOCK,
    Fence,
    FencedOff,
    PostgresDatabase,
    active_session_name,
)
from tests.postgres import ADMIN_URL, url_of

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:TEST-token-never-logged"
START_SECONDS = 30.0
TAKEOVER_SECONDS = 15.0  # issue 21: the standby takes over within 15 s
LIN_ID = 731001
RECIPIENTS = 200


def _server_answers() -> bool:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


pytestmark = pytest.mark.skipif(
    not _server_answers(), reason=f"no PostgreSQL server answers at {ADMIN_URL}"
)


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement.encode())


@pytest.fixture
def database() -> Iterator[str]:
    """A database of this test's own on the server (dropped at the end)."""
    name = f"liaison_standby_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_config(tmp_path: Path, standin: TelegramStandin, url: str, more: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{standin.api_base_url}"\n'
        f'base_file_url = "{standin.file_base_url}"\npoll_timeout = 1\n'
        f'[storage]\nurl = "{url}"\nbackup_interval_hours = 0\n'
        '[security]\nhash_key = "standby-hash-key-0123456789"\n'
        "[quiet_hours]\nstart = 00:00:00\nend = 00:00:00\n" + more,
        encoding="utf-8",
    )
    return config


class Bot:
    """One ``python -m bot run`` with its monitoring on a port of its own."""

    def __init__(self, config: Path, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        env = {
            **os.environ,
            "PTB_TIMEDELTA": "1",
            "BOT_CONFIG": str(config),
            "BOT_METRICS__PORT": str(self.port),
        }
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=out, stderr=out
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def role(self) -> str | None:
        """What its /healthz says (``ok active``, ``ok standby``), None when it does not answer."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
                session.get(url) as resp,
            ):
                return f"{resp.status} {await resp.text()}"
        return None

    async def becomes(self, role: str, within: float = START_SECONDS) -> float:
        """Wait until /healthz answers ``200 ok <role>``; the seconds it took."""
        started = time.monotonic()
        while (await self.role()) != f"200 ok {role}":
            assert self.process.poll() is None, self.text()
            assert time.monotonic() - started < within, f"not {role} in {within} s: {self.text()}"
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(self.process.wait, 30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)


@contextlib.asynccontextmanager
async def active_and_standby(config: Path, folder: Path) -> AsyncIterator[tuple[Bot, Bot]]:
    """Two bots on ``config``: the first active (polling), the second standing by; both
    stopped on the way out."""
    first = Bot(config, folder / "first.log")
    bots = [first]
    try:
        await first.becomes("active")
        second = Bot(config, folder / "second.log")
        bots.append(second)
        await second.becomes("standby")
        yield first, second
    finally:
        for bot in bots:
            await bot.stop()


@pytest.fixture
async def pair(
    tmp_path: Path, standin: TelegramStandin, database: str
) -> AsyncIterator[tuple[Path, Bot, Bot]]:
    """The first bot active (polling), the second standing by."""
    config = _write_config(tmp_path, standin, database)
    async with active_and_standby(config, tmp_path) as (first, second):
        yield config, first, second


async def _queue_a_receipt(config: Path, recipient: int, text: str) -> None:
    """An outbox row queued by another process while no bot is active (as a CLI command
    does), for the next active one to send."""
    services = await Services.open(load_settings(config))
    try:
        now = services.clock.now()
        message = services.outbox.message(recipient, "receipt", text, at=now)
        await services.outbox.send_later([message], now=now)
    finally:
        await services.close()


async def _first_poll_after(standin: TelegramStandin, polls: int, within: float) -> float:
    started = time.monotonic()
    while len(standin.calls_to("getUpdates")) == polls:
        assert time.monotonic() - started < within, "no poll"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.slow  # two bots as real processes, one killed
async def test_the_standby_takes_over_a_killed_active_and_sends_what_was_queued(
    pair: tuple[Path, Bot, Bot], standin: TelegramStandin
) -> None:
    config, first, second = pair
    assert "standby" in second.text() and "is the active bot on" in second.text()
    standing_by = [line for line in second.text().splitlines() if "failover: standby" in line]
    assert len(standing_by) == 1, standing_by  # one clear line, not one per try
    assert str(first.process.pid) in standing_by[0]  # it names the active
    assert first.process.poll() is None and second.process.poll() is None
    lin = standin.user(LIN_ID, first_name="Lin", language_code="en", started=True)
    await lin.send("/help")
    assert (await lin.expect_message(timeout=10)).text

    first.kill()
    killed = time.monotonic()
    # While nobody is active: an update waits at Telegram, a receipt in the outbox.
    await lin.send("/help")
    await _queue_a_receipt(config, LIN_ID, "排队中的回执 queued while nobody was active")
    await second.becomes("active", within=TAKEOVER_SECONDS)
    await _first_poll_after(standin, len(standin.calls_to("getUpdates")), TAKEOVER_SECONDS)
    assert time.monotonic() - killed < TAKEOVER_SECONDS
    texts = [(await lin.expect_message(timeout=10)).text for _ in range(2)]
    assert any("queued while nobody was active" in (t or "") for t in texts), texts
    assert "now the active one" in second.text()

    # The killed one, started again, is the standby now.
    again = Bot(config, first.log)
    try:
        await again.becomes("standby")
        assert second.process.poll() is None
    finally:
        await again.stop()
    assert again.process.returncode == 0  # a standby stopped (SIGINT) ends cleanly


@pytest.mark.slow  # two bots as real processes
async def test_an_active_cut_off_from_the_database_stops_and_the_standby_takes_over(
    pair: tuple[Path, Bot, Bot], standin: TelegramStandin, database: str
) -> None:
    _, first, second = pair
    cut = time.monotonic()
    name = f"liaison % pid {first.process.pid}"
    with psycopg.connect(database, autocommit=True) as connection:
        ended = connection.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE application_name LIKE %s",
            (name,),
        ).fetchone()
    assert ended is not None and ended[0] == 1
    # The active stops at once (exit 3, for systemd to start it again as the standby) ...
    code = await asyncio.to_thread(first.process.wait, 10)
    assert code == EXIT_LOST, first.text()
    assert "the connection holding the active lock was lost" in first.text()
    # ... and the standby takes over.
    await second.becomes("active", within=TAKEOVER_SECONDS)
    await _first_poll_after(standin, len(standin.calls_to("getUpdates")), TAKEOVER_SECONDS)
    assert time.monotonic() - cut < TAKEOVER_SECONDS
    lin = standin.user(LIN_ID + 1, first_name="Lin", language_code="en", started=True)
    await lin.send("/help")
    assert (await lin.expect_message(timeout=10)).text


@pytest.mark.slow  # two bots as real processes, a broadcast to 200
async def test_the_standby_resumes_the_broadcast_the_killed_active_was_sending(
    tmp_path: Path, database: str
) -> None:
    """As tests/test_killtest.py on SQLite, but the one that carries on is the standby: nobody
    missing, nobody more than twice, at most the documented bound twice."""
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    broadcast_id = await seed(database, RECIPIENTS)
    ids = range(FIRST_RECIPIENT, FIRST_RECIPIENT + RECIPIENTS)
    for user_id in ids:
        standin.user(user_id, started=True, language_code="zh-hans")
    # Resume on the first tick, not 5 s later.
    config = _write_config(tmp_path, standin, database, "[broadcast]\ntick_seconds = 0.5\n")
    try:
        async with active_and_standby(config, tmp_path) as (first, second):
            deadline = time.monotonic() + START_SECONDS
            while sum(delivered(standin, ids)) < RECIPIENTS * 0.3:
                assert time.monotonic() < deadline, "the broadcast did not start"
                await asyncio.sleep(0.05)
            first.kill()
            assert sum(delivered(standin, ids)) < RECIPIENTS
            await second.becomes("active", within=TAKEOVER_SECONDS)
            while await status_of(database, broadcast_id) is not BroadcastStatus.DONE:
                assert second.process.poll() is None, second.text()
                assert time.monotonic() < deadline + START_SECONDS, "the broadcast did not resume"
                await asyncio.sleep(0.2)
    finally:
        await standin.stop()
    counts = delivered(standin, ids)
    assert resumed_within_bound(counts), f"never: {counts.count(0)}, twice: {counts.count(2)}"


# --- The lock on its own, and the CLI beside it -------------------------------------------


def test_the_instance_lock_is_not_the_writers_lock() -> None:
    assert INSTANCE_LOCK != WRITER_LOCK


def test_the_lock_is_held_once_and_released_on_close(database: str) -> None:
    first = ActiveLock(database, FailoverSettings(), name="first")
    second = ActiveLock(database, FailoverSettings(), name="second")
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert second.holder() == "first from 127.0.0.1"
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


def test_the_watchdog_gives_up_when_the_lock_connection_is_cut(database: str) -> None:
    lock = ActiveLock(database, FailoverSettings(check_seconds=0.1), name=instance_name())
    given_up: list[BaseException] = []
    try:
        assert lock.try_acquire()
        lock.watch(given_up.append)
        time.sleep(0.3)
        assert given_up == []  # checks that pass change nothing
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (instance_name(),),
            )
        deadline = time.monotonic() + 5
        while not given_up and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(given_up) == 1
        # The server freed the lock with the session: another one takes it.
        other = ActiveLock(database, FailoverSettings(), name="other")
        assert other.try_acquire()
        other.release()
    finally:
        lock.release()


async def test_a_process_that_lost_the_lock_writes_nothing_more(database: str) -> None:
    """The fence (storage/postgres.py): the standby that takes the lock over ends the old
    active's sessions, and a session the old active opens again is refused, so that one which
    has not noticed its loss writes nothing more: neither through the writer nor drafts and
    dialogues through the pool."""
    lock = ActiveLock(database, FailoverSettings(), name=instance_name())
    lost: list[BaseException] = []
    assert lock.try_acquire()
    fence = dataclasses.replace(lock.fence(), on_lost=lost.append)
    db = cast(PostgresDatabase, await open_database(database, fence=fence))
    try:
        await db.execute("CREATE TABLE probe (n INTEGER)")
        await db.execute("INSERT INTO probe VALUES (1)")
        await db.execute_working_state("INSERT INTO probe VALUES (?)", (2,))
        with psycopg.connect(database, autocommit=True) as connection:
            connection.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (instance_name(),),
            )
        standby = ActiveLock(database, FailoverSettings(), name="standby")
        assert standby.try_acquire()  # the standby takes over at once ...
        with pytest.raises(FencedOff):  # ... and the old active's next write is refused
            await db.execute("INSERT INTO probe VALUES (3)")
        assert len(lost) == 1 and isinstance(lost[0], FencedOff)
        with pytest.raises((FencedOff, psycopg.OperationalError)):
            await db.execute_working_state("INSERT INTO probe VALUES (?)", (4,))
        with psycopg.connect(database, autocommit=True) as connection:
            rows = connection.execute("SELECT n FROM probe ORDER BY n").fetchall()
        assert rows == [(1,), (2,)]
        standby.release()
    finally:
        lock.release()
        await db.close()


async def test_taking_over_ends_the_old_actives_sessions_only(database: str) -> None:
    """What the standby ends when it takes the lock: the sessions named as the active bot's
    (``liaison-active …``), not a command's beside it nor another standby's."""
    fence = Fence(INSTANCE_LOCK, 0, lambda _: None, active_session_name("elsewhere", 4242))
    with (
        psycopg.connect(database, autocommit=True, application_name=fence.session_name) as old,
        psycopg.connect(database, autocommit=True, application_name="liaison-bot import") as cli,
        psycopg.connect(database, autocommit=True, application_name="liaison other pid 7") as s,
    ):
        taker = ActiveLock(database, FailoverSettings(), name="taker")
        try:
            assert taker.try_acquire()
            with pytest.raises(psycopg.OperationalError):
                old.execute("SELECT 1")
            for survivor in (cli, s):
                assert survivor.execute("SELECT 1").fetchone() == (1,)
        finally:
            taker.release()


async def test_migrate_is_refused_while_a_bot_is_active_and_other_commands_work(
    tmp_path: Path, standin: TelegramStandin, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _write_config(tmp_path, standin, database)
    active = ActiveLock(database, FailoverSettings(), name="liaison elsewhere pid 4242")
    try:
        assert active.try_acquire()
        c = ("--config", str(config))
        assert await asyncio.to_thread(main, [*c, "migrate"]) == EXIT_USAGE
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1, lines
        assert "already running" in lines[0] and "liaison elsewhere pid 4242" in lines[0]
        assert "@" not in lines[0].partition(" on ")[2].partition(" (")[0]  # no credentials
        assert await asyncio.to_thread(main, [*c, "add-official", "LN-902", "孙立"]) == 0
        assert await asyncio.to_thread(main, [*c, "invite", "--official", "LN-902"]) == 0
        roster = str(tmp_path / "officials.csv")
        assert await asyncio.to_thread(main, [*c, "export", "officials", roster]) == 0
    finally:
        active.release()
    assert await asyncio.to_thread(main, ["--config", str(config), "migrate"]) == 0


def test_the_session_time_out_must_outlast_the_active_checks() -> None:
    with pytest.raises(ValueError, match="session_timeout_seconds"):
        FailoverSettings(check_seconds=2, check_timeout_seconds=3, session_timeout_seconds=6)
    assert Settings().failover.session_timeout_seconds > 2 * 1.0 + 3.0
    with pytest.raises(ConfigError, match="failover"):
        load_settings(None, environ={"BOT_FAILOVER__SESSION_TIMEOUT_SECONDS": "1"})
