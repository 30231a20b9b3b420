"""Two bots on one PostgreSQL database: one active, the other standing by (issue 21).

On SQLite one bot runs per database and a second is refused (runtime/instance.py). On
PostgreSQL the bot that holds a session-level advisory lock (:data:`INSTANCE_LOCK`, not the
writers' :data:`storage.postgres.WRITER_LOCK`) on a connection of its own is the **active**
one: it polls or serves the webhook and runs the schedulers, the outbox and the broadcasts.
A second ``run`` on the database finds the lock taken and becomes the **standby**: one log
line naming the active, ``/healthz`` answering ``ok standby``, and a ``pg_try_advisory_lock``
every ``[failover] retry_seconds``; it builds the bot only once it holds the lock. Everything
the active was doing is in the database (outbox rows, reminders, recipients still to send), so
the new active carries on from there, sending again (marked) what was in flight
(docs/hardening.md §11).

The server frees the lock when the active's session ends: at once when the process dies (the
kernel closes its socket), after ``session_timeout_seconds`` (``idle_session_timeout`` on the
lock's session) when a network cut leaves the server waiting. The active checks the lock's
connection every ``check_seconds`` (``SELECT 1``, at most ``check_timeout_seconds``) from a
thread of its own, so a blocked event loop does not delay it; a check that fails ends the
process at once with :data:`EXIT_LOST` (systemd starts it again, as the standby). The
settings' validator keeps the session's time-out above two checks and a time-out, so the
active cut off has stopped before the server lets the standby in: never two actives. And
the active's database sessions are fenced (:meth:`ActiveLock.fence`, storage/postgres.py
``Fence``): each checks when it is opened that the lock is still held, and the standby, once
it holds the lock, ends every one of them before it starts, so that an old active which has
not noticed its loss yet writes nothing more.

The lock's connection is synchronous psycopg: it lives beside whichever event loop the bot
runs (python-telegram-bot's own under ``run_polling``), in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bot.config import FailoverSettings, Settings
from runtime.monitoring import StandbyMonitor
from storage.postgres import (
    ACTIVE_SESSIONS,
    APPLICATION_NAME_MAX,
    END_ACTIVE_SESSIONS,
    END_SESSION_WAIT_MS,
    WRITER_LOCK,
    Fence,
    active_session_name,
)

log = logging.getLogger(__name__)

# The advisory lock key of the active instance ("liaisoo" in ASCII: not the writers' key).
INSTANCE_LOCK = 0x6C696169736F6F
assert INSTANCE_LOCK != WRITER_LOCK
# The exit status of an active that lost its lock's connection (systemd: Restart=on-failure).
EXIT_LOST = 3
# How long connecting for the lock may take, in seconds.
CONNECT_TIMEOUT = 5
# A standby repeats a connection failure in its log at most this often, in seconds.
LOG_EVERY_SECONDS = 60.0

_HOLDER = (
    "SELECT a.application_name, host(a.client_addr) FROM pg_locks l"
    " JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.database = ("
    "   SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = %s AND l.objid = %s AND l.objsubid = 1"
)


def instance_name() -> str:
    """What the lock's session calls itself (``application_name``): host and pid, which the
    standby's log line and ``pg_stat_activity`` show."""
    return f"liaison {socket.gethostname()} pid {os.getpid()}"[:APPLICATION_NAME_MAX]


def describe(url: str) -> str:
    """The database a URL names, for log lines: ``dbname on host:port``, never the password."""
    parts = conninfo_to_dict(url)
    host = parts.get("host") or "localhost"
    return (
        f"{parts.get('dbname') or parts.get('user') or '?'} on {host}:{parts.get('port') or 5432}"
    )


class ActiveLock:
    """The instance lock of one PostgreSQL database, held on a connection of its own."""

    def __init__(self, url: str, settings: FailoverSettings, name: str | None = None) -> None:
        self.url = url
        self.settings = settings
        self.name = name or instance_name()
        self._connection: psycopg.Connection[Any] | None = None
        self._watchdog: Watchdog | None = None
        self.held = False

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            timeout_ms = int(self.settings.check_timeout_seconds * 1000)
            connection = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                application_name=self.name,
                # A cut the kernel can see: unacknowledged data or silent keepalives end it.
                tcp_user_timeout=timeout_ms,
                keepalives=1,
                keepalives_idle=max(1, int(self.settings.check_seconds)),
                keepalives_interval=1,
                keepalives_count=max(1, int(self.settings.check_timeout_seconds)),
            )
            session_ms = int(self.settings.session_timeout_seconds * 1000)
            connection.execute(f"SET idle_session_timeout = {session_ms}".encode())
            self._connection = connection
        return self._connection

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; never waits. Having taken it, end the sessions a
        previous active may have left open (storage/postgres.py ``Fence``) before anything
        else is done. Connection errors propagate (and the lock is not kept)."""
        if self.held:
            return True
        try:
            connection = self._connect()
            row = connection.execute("SELECT pg_try_advisory_lock(%s)", (INSTANCE_LOCK,))
            if row.fetchone()[0]:  # type: ignore[index]
                _end_active_sessions(connection)
                self.held = True
        except psycopg.Error:
            self._drop()
            raise
        return self.held

    def holder(self) -> str:
        """Who holds the lock, as its session calls itself (and from where)."""
        with contextlib.suppress(psycopg.Error):
            key = INSTANCE_LOCK
            rows = self._connect().execute(_HOLDER, (key >> 32, key & 0xFFFFFFFF)).fetchall()
            if rows:
                name, address = rows[0]
                return f"{name or 'another process'}" + (f" from {address}" if address else "")
        return "another process"

    def check(self) -> None:
        """A round trip on the lock's connection; raises when it is gone."""
        if self._connection is None:
            raise psycopg.OperationalError("the lock's connection is closed")
        self._connection.execute("SELECT 1")

    def fence(self) -> Fence:
        """What keeps the bot's writes to while this lock is held (storage/postgres.py)."""
        assert self._connection is not None and self.held
        session = active_session_name(socket.gethostname(), os.getpid())
        return Fence(INSTANCE_LOCK, self._connection.info.backend_pid, lost, session)

    def watch(self, on_lost: Callable[[BaseException], None] | None = None) -> None:
        """Check the held lock's connection from now on (:class:`Watchdog`) until released."""
        self._watchdog = Watchdog(self, on_lost or lost).start()

    def release(self) -> None:
        """Give the lock back (closing its session frees it; the standby takes over)."""
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stop()
        if self.held and self._connection is not None:
            # Unlocked at once: the server ends a closed session a moment later.
            with contextlib.suppress(psycopg.Error):
                self._connection.execute("SELECT pg_advisory_unlock(%s)", (INSTANCE_LOCK,))
        self.held = False
        self._drop()

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                connection.close()


def _end_active_sessions(connection: psycopg.Connection[Any]) -> None:
    """End the sessions of the active bot before this one (storage/postgres.py ``Fence``): a
    process that lost the lock without noticing keeps them open, and could write on them."""
    pattern = ACTIVE_SESSIONS.replace("%", r"\%").replace("_", r"\_") + "%"
    row = connection.execute(END_ACTIVE_SESSIONS, (END_SESSION_WAIT_MS, pattern)).fetchone()
    if row is not None and row[0]:
        raise psycopg.OperationalError(
            f"{row[0]} session(s) of the previous active bot did not end within"
            f" {END_SESSION_WAIT_MS} ms"
        )


def lost(reason: BaseException) -> None:
    """The active's lock is gone: stop doing anything at once (the standby may already be
    taking over), with :data:`EXIT_LOST` so that systemd starts this one again as a standby."""
    log.critical(
        "failover: the connection holding the active lock was lost (%s); stopping at once,"
        " the standby takes over",
        str(reason).strip() or type(reason).__name__,
    )
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(EXIT_LOST)


class Watchdog:
    """Checks the lock's connection every ``check_seconds`` from a thread of its own; calls
    ``on_lost`` when a check fails or takes longer than ``check_timeout_seconds``."""

    def __init__(self, lock: ActiveLock, on_lost: Callable[[BaseException], None] = lost) -> None:
        self._lock = lock
        self._on_lost = on_lost
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="failover-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(self._lock.settings.check_timeout_seconds + 1)

    def _run(self) -> None:
        settings = self._lock.settings
        while not self._stopped.wait(settings.check_seconds):
            late = threading.Timer(
                settings.check_timeout_seconds,
                self._give_up,
                (TimeoutError(f"no answer within {settings.check_timeout_seconds} s"),),
            )
            late.daemon = True
            late.start()
            try:
                self._lock.check()
            except Exception as exc:  # any failure means the lock may be gone
                late.cancel()
                self._give_up(exc)
                return
            late.cancel()

    def _give_up(self, reason: BaseException) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
            self._on_lost(reason)


async def stand_by(lock: ActiveLock, settings: Settings, *, webhook: bool) -> bool:
    """Wait until this process holds the lock: at once, or as the standby (one log line,
    ``/healthz`` ``ok standby`` meanwhile). False when stopped (SIGINT, SIGTERM) first."""
    failover = settings.failover
    where = describe(lock.url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    monitor: StandbyMonitor | None = None
    logged_failure = -LOG_EVERY_SECONDS
    try:
        while not stop.is_set():
            try:
                if await asyncio.to_thread(lock.try_acquire):
                    if monitor is not None:
                        log.info("failover: this bot is now the active one on %s", where)
                    return True
                if monitor is None:
                    holder = await asyncio.to_thread(lock.holder)
                    log.info(
                        "failover: standby: %s is the active bot on %s; this one takes over"
                        " when it stops (trying every %s s)",
                        holder, where, failover.retry_seconds,
                    )  # fmt: skip
            except psycopg.Error as exc:
                if time.monotonic() - logged_failure >= LOG_EVERY_SECONDS:
                    logged_failure = time.monotonic()
                    log.warning(
                        "failover: standby: cannot reach %s (%s); trying again every %s s",
                        where, str(exc).strip().splitlines()[0] if str(exc).strip() else exc,
                        failover.retry_seconds,
                    )  # fmt: skip
            if monitor is None:
                monitor = StandbyMonitor(settings.metrics, settings.webhook if webhook else None)
                await monitor.start()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), failover.retry_seconds)
        return False
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
        if monitor is not None:
            await monitor.stop()


def take_the_lead(settings: Settings, *, webhook: bool) -> ActiveLock | None:
    """``run`` on PostgreSQL: the lock held (at once or after standing by) and watched until
    :meth:`ActiveLock.release`; None when stopped while standing by."""
    assert settings.storage.url is not None
    lock = ActiveLock(settings.storage.url.get_secret_value(), settings.failover)
    try:
        held = asyncio.run(stand_by(lock, settings, webhook=webhook))
    except BaseException:
        lock.release()
        raise
    if not held:
        lock.release()
        return None
    lock.watch()
    return lock
