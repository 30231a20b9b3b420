"""The SQLite database: connections, transactions that cannot interleave, migrations, backups.

One aiosqlite connection runs every statement in its own thread, but SQLite gives no
isolation between coroutines that share it: two coroutines inside "one" transaction would
see and commit each other's work. So every write goes through :meth:`Database.transaction`,
which holds an asyncio lock for the whole ``BEGIN IMMEDIATE … COMMIT``. Reads use a second
connection: under WAL they see the last committed state and never wait for the writer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_PACKAGE = "storage.migrations"
IN_MEMORY = ":memory:"


class Database:
    """An open SQLite database with one serialised writer and one reader connection."""

    def __init__(self, writer: aiosqlite.Connection, reader: aiosqlite.Connection) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, busy_timeout_ms: int = 5000) -> Database:
        """Open (creating if needed) the database at ``path`` and apply pending migrations."""
        if str(path) != IN_MEMORY:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, busy_timeout_ms)
        reader = writer if str(path) == IN_MEMORY else await _connect(path, busy_timeout_ms)
        db = cls(writer, reader)
        await db.migrate()
        return db

    async def close(self) -> None:
        """Close both connections; an open aiosqlite connection keeps the process alive."""
        async with self._write_lock:
            if self._reader is not self._writer:
                await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One ``BEGIN IMMEDIATE`` write transaction that no other coroutine can enter."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """One write statement, committed on its own, in a single trip to SQLite's thread.

        Outside ``BEGIN … COMMIT`` a statement is its own transaction: as atomic and durable as
        :meth:`transaction`, without the two extra trips that, under the write lock, make
        every other writer wait. Returns the rows of a ``RETURNING`` clause.
        """
        async with self._write_lock:
            rows = await self._writer.execute_fetchall(sql, params)
        return list(rows)

    async def fetch_all(
        self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()
    ) -> list[sqlite3.Row]:
        # One trip to the connection's thread (execute, fetch and close together), not three.
        # No lock: each read is a single job on the connection's queue, so concurrent reads
        # queue up in its thread back to back instead of each waiting for the event loop to
        # hand a lock on (which, under load, made the reader connection the bottleneck).
        rows = await self._reader.execute_fetchall(sql, params)
        return list(rows)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row; meant for queries of at most one row (it reads them all)."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the stored schema version; return those applied."""
        applied: list[int] = []
        async with self._write_lock:
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            cursor = await self._writer.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in await cursor.fetchall()}
            for version, name, sql in _migrations():
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
            await self._writer.executescript(script)
        except sqlite3.Error:
            await self._writer.rollback()
            raise

    async def schema_version(self) -> int:
        return int(
            await self.fetch_value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        )

    async def backup(self, destination: Path) -> None:
        """Write a consistent copy with SQLite's online backup API, safe while the bot writes."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        target = await aiosqlite.connect(destination)
        try:
            await self._reader.backup(target)
        finally:
            await target.close()

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows in a single write transaction."""
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)


async def _connect(path: Path | str, busy_timeout_ms: int) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA journal_mode = WAL")
    # Requests and their history must survive power loss, not only a process crash.
    await conn.execute("PRAGMA synchronous = FULL")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migrations() -> list[tuple[int, str, str]]:
    """Every ``NNNN_name.sql`` file shipped in :mod:`storage.migrations`, in version order."""
    found = []
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        stem, _, suffix = entry.name.partition(".")
        if suffix != "sql" or not stem[:4].isdigit():
            continue
        found.append((int(stem[:4]), stem[5:], entry.read_text(encoding="utf-8")))
    return sorted(found)
