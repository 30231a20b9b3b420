"""Opening the database (:func:`open_database`), and the SQLite backend, the embedded default.

:class:`Database` and :class:`Transaction` (storage/database.py) are what repositories and the
domain's units of work use; a ``postgresql://`` URL opens :mod:`storage.postgres` instead.

The SQLite backend:

SQLite gives no isolation between coroutines that share a connection: two coroutines inside
"one" transaction would see and commit each other's work. So every write goes through
:meth:`Database.transaction`, which holds an asyncio lock for the whole ``BEGIN IMMEDIATE …
COMMIT``. Reads use another connection: under WAL they see the last committed state and never
wait for the writer.

Statements run on the event loop's thread: a statement of this bot touches a few rows by
index, which takes less time than handing it to another thread and waking the loop for the
answer. What waits on the disk (``COMMIT``, a statement that commits on its own), large batches
and reports over whole tables run in aiosqlite's threads, so that the bot goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from storage.database import (
    MIGRATIONS_PACKAGE,
    Database,
    Dialect,
    Params,
    Row,
    StatementResult,
    Transaction,
    _migrations,
    is_postgres_url,
)

if TYPE_CHECKING:
    from storage.postgres import Fence

log = logging.getLogger(__name__)
T = TypeVar("T")

IN_MEMORY = ":memory:"
# Batches up to this many rows run on the event loop's thread; larger ones in SQLite's.
ON_LOOP_MAX_ROWS = 64
# Waiting for another process's write lock: the first pause and the longest, in seconds.
FIRST_BUSY_PAUSE = 0.002
MAX_BUSY_PAUSE = 0.1
# Rows aiosqlite fetches per trip when a cursor is iterated (its own default).
CHUNK = 64


__all__ = [
    "Database",
    "Params",
    "Row",
    "SqliteDatabase",
    "StatementResult",
    "Transaction",
    "_migrations",
    "open_database",
]


async def open_database(
    target: Path | str, *, busy_timeout_ms: int = 5000, fence: Fence | None = None
) -> Database:
    """Open the database ``target`` names and apply pending migrations: a PostgreSQL URL
    (``postgresql://…``), else a SQLite file (or ``:memory:``). ``fence``: PostgreSQL's
    active instance of a pair (storage/postgres.py); SQLite has one bot per file."""
    if is_postgres_url(target):
        from storage.postgres import PostgresDatabase

        return await PostgresDatabase.connect(
            str(target), busy_timeout_ms=busy_timeout_ms, fence=fence
        )
    return await SqliteDatabase.connect(target, busy_timeout_ms=busy_timeout_ms)


class Cursor:
    """What one statement inside a :class:`SqliteTransaction` left: its rows, count and last row id.

    The statement has already run; the methods are coroutines only so that repositories read
    like the aiosqlite code they would otherwise be.
    """

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._cursor.fetchone()
        return row

    async def fetchall(self) -> list[sqlite3.Row]:
        return list(self._cursor.fetchall())


class SqliteTransaction(Transaction):
    """The statements of one SQLite write transaction, run at once on the event loop's thread.

    A statement of this bot touches a few rows by index and takes tens of microseconds: less
    than handing it to SQLite's thread and waking the event loop for the answer, which is what
    each ``await`` on aiosqlite costs. Only ``COMMIT``, which waits for the disk, leaves the
    event loop (see :meth:`Database.transaction`). Large batches go to SQLite's thread too.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, writer: _Connection) -> None:
        self._raw = writer.raw
        self._thread = writer.thread

    @property
    def total_changes(self) -> int:
        return self._raw.total_changes

    async def lock(self) -> None:
        """Nothing to do: the transaction began with ``BEGIN IMMEDIATE``, holding the lock."""

    async def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Cursor:
        return Cursor(self._raw.execute(sql, params))

    async def execute_fetchall(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[sqlite3.Row]:
        return list(self._raw.execute(sql, params).fetchall())

    async def executemany(
        self, sql: str, rows: Iterable[Sequence[Any] | Mapping[str, Any]]
    ) -> None:
        batch = list(rows)
        if len(batch) <= ON_LOOP_MAX_ROWS:
            self._raw.executemany(sql, batch)
        else:
            await _to_the_end(self._thread.executemany(sql, batch))


class SqliteDatabase(Database):
    """An open SQLite database: one serialised writer, one reader on the event loop's thread,
    one reader in a thread of its own for reports.

    Each connection is used by one thread at a time: the writer by the event loop's thread or
    by SQLite's, never both (the write lock, and :func:`_to_the_end`); the reader by the event
    loop's thread only; the reports' connection by its own thread only. An in-memory database
    has one connection for all three and reads its reports on the event loop's thread.
    """

    def __init__(
        self,
        writer: _Connection,
        reader: sqlite3.Connection,
        reports: aiosqlite.Connection | None,
        busy_timeout_ms: int,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._reports = reports
        self._write_lock = asyncio.Lock()
        self._busy_timeout = busy_timeout_ms / 1000

    dialect: Dialect = "sqlite"

    @classmethod
    async def connect(cls, path: Path | str, *, busy_timeout_ms: int = 5000) -> SqliteDatabase:
        """Open (creating if needed) the database at ``path`` and apply pending migrations."""
        if str(path) != IN_MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, busy_timeout_ms)
        if str(path) == IN_MEMORY:
            db = cls(writer, writer.raw, None, busy_timeout_ms)
        else:
            reader = _open(path, busy_timeout_ms)
            reports = await aiosqlite.Connection(lambda: _open(path, busy_timeout_ms), CHUNK)
            db = cls(writer, reader, reports, busy_timeout_ms)
        await db.migrate()
        # From here on the writer waits for another process's write lock by sleeping on the
        # event loop (see _while_busy), not inside SQLite, which would hold the loop up.
        writer.raw.execute("PRAGMA busy_timeout = 0")
        return db

    async def close(self) -> None:
        """Close both connections; an open aiosqlite connection keeps the process alive."""
        async with self._write_lock:
            if self._reports is not None:
                await self._reports.close()
                self._reader.close()
            await self._writer.thread.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTransaction]:
        """One ``BEGIN IMMEDIATE`` write transaction that no other coroutine can enter.

        Its statements run on the event loop's thread (:class:`Transaction`); the ``COMMIT``,
        which waits for the disk to say the data is safe, runs in SQLite's thread so that the
        bot goes on with other users meanwhile.
        """
        async with self._write_lock:
            raw = self._writer.raw

            async def begin() -> None:
                raw.execute("BEGIN IMMEDIATE")

            await self._while_busy(begin)
            try:
                yield SqliteTransaction(self._writer)
                await _to_the_end(self._writer.thread.commit())
            except BaseException:
                if raw.in_transaction:
                    raw.rollback()
                raise

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """One write statement, committed on its own, in a single trip to SQLite's thread.

        Outside ``BEGIN … COMMIT`` a statement is its own transaction: as atomic and durable as
        :meth:`transaction`. It runs in SQLite's thread because its commit waits for the disk.
        Returns the rows of a ``RETURNING`` clause.
        """
        async with self._write_lock:

            async def run() -> Iterable[sqlite3.Row]:
                return await _to_the_end(self._writer.thread.execute_fetchall(sql, params))

            rows = await self._while_busy(run)
        return list(rows)

    async def _while_busy(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt`` a write; while another process holds the write lock, try again after a
        pause (doubling up to MAX_BUSY_PAUSE) for up to the busy time-out, then raise
        SQLite's "database is locked". A write refused as busy had no effect."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._busy_timeout
        pause = FIRST_BUSY_PAUSE
        while True:
            try:
                return await attempt()
            except sqlite3.OperationalError as error:
                if not _busy(error) or loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_BUSY_PAUSE)

    async def fetch_all(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[sqlite3.Row]:
        """Rows of a read, run at once on the event loop's thread (see :class:`Transaction`).

        Under WAL a read never waits for the writer. Reports that read whole tables use
        :meth:`fetch_report` instead, which runs in SQLite's thread.
        """
        return list(self._reader.execute(sql, params).fetchall())

    async def fetch_report(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[sqlite3.Row]:
        """Rows of a read that may take long, run in a thread of its own off the event loop."""
        if self._reports is None:
            return await self.fetch_all(sql, params)
        rows = await self._reports.execute_fetchall(sql, params)
        return list(rows)

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the stored schema version; return those applied."""
        applied: list[int] = []
        async with self._write_lock:
            await self._writer.thread.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            cursor = await self._writer.thread.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cursor.fetchall()}
            for version, name, sql in _migrations(MIGRATIONS_PACKAGE):
                if version in done:
                    continue
                await self._apply_migration(version, name, sql)
                applied.append(version)
        if applied:
            log.info("applied migrations %s", applied)
        return applied

    async def _apply_migration(self, version: int, name: str, sql: str) -> None:
        script = (
            "BEGIN IMMEDIATE;\n"
            f"{sql}\n"
            "INSERT INTO schema_migrations (version, name, applied_at)"
            f" VALUES ({version}, '{name}', datetime('now'));\n"
            "COMMIT;"
        )
        try:
            await self._writer.thread.executescript(script)
        except sqlite3.Error:
            await self._writer.thread.rollback()
            raise

    async def tables(self) -> list[str]:
        rows = await self.fetch_all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%'"
            " ESCAPE '\\' ORDER BY name"
        )
        return [row[0] for row in rows]

    async def backup(self, destination: Path) -> None:
        """Write a consistent copy with SQLite's online backup API, safe while the bot writes.

        A file database is copied in the reports' thread, off the event loop; an in-memory one
        (tests) on the event loop's thread.
        """
        destination.parent.mkdir(parents=True, exist_ok=True)
        if self._reports is None:
            copy = sqlite3.connect(destination)
            try:
                self._reader.backup(copy)
            finally:
                copy.close()
            return
        target = await aiosqlite.connect(destination)
        try:
            await self._reports.backup(target)
        finally:
            await target.close()


async def _to_the_end(job: Awaitable[T]) -> T:
    """Await a job in SQLite's thread until it ends, even if the caller is cancelled meanwhile.

    The job cannot be stopped once queued, and the connection must be idle again before the
    event loop's thread uses it (to roll back, or for the next transaction). A cancellation is
    passed on once the job has ended.
    """
    future = asyncio.ensure_future(job)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.done():
                raise
            cancelled = True
            continue
        if cancelled:
            raise asyncio.CancelledError
        return result


def _busy(error: sqlite3.OperationalError) -> bool:
    return error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # the primary result code


@dataclass(frozen=True)
class _Connection:
    """One SQLite connection, used directly on the event loop's thread (``raw``) and through
    aiosqlite's thread (``thread``) for what waits on the disk; never both at once."""

    raw: sqlite3.Connection
    thread: aiosqlite.Connection


def _open(path: Path | str, busy_timeout_ms: int) -> sqlite3.Connection:
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.row_factory = sqlite3.Row
    raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    raw.execute("PRAGMA journal_mode = WAL")
    # Requests and their history must survive power loss, not only a process crash.
    raw.execute("PRAGMA synchronous = FULL")
    raw.execute("PRAGMA foreign_keys = ON")
    return raw


async def _connect(path: Path | str, busy_timeout_ms: int) -> _Connection:
    raw = _open(path, busy_timeout_ms)
    return _Connection(raw, await aiosqlite.Connection(lambda: raw, CHUNK))
