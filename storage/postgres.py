"""The PostgreSQL backend: the same :class:`~storage.db.Database` on a server (issue 21).

Why psycopg 3 (with psycopg-pool) rather than asyncpg: the repositories' SQL is written once for
both backends with ``?`` placeholders and loosely typed parameters (a moment is an ``int``, a
flag ``0``/``1``, text compared with text). psycopg sends a Python ``str`` as an untyped literal
that the server casts to what the column needs and takes ``%s`` placeholders, so the shared SQL
needs only a mechanical rewrite (:func:`translate`); asyncpg wants ``$n`` and exactly typed
parameters, which would mean casts at every call site. psycopg's pool is maintained with it.

Writes are serialised as they are on SQLite: one writer connection per process behind an
asyncio lock, and every write transaction first takes a transaction-level advisory lock
(:data:`WRITER_LOCK`), so that two processes on one database (the bot and a CLI command, or
an active bot and a standby that has just taken over) never interleave their writes, exactly
like SQLite's ``BEGIN IMMEDIATE``. Reads go through a pool and see the last committed state.

The active bot of a pair (runtime/standby.py) is fenced per connection, not per transaction
(:class:`Fence`): each of its sessions is named :data:`ACTIVE_SESSIONS` and checks, when it
is opened, that the instance lock is still this process's; a standby that takes the lock over
ends every session so named before it does anything. An old active that has not noticed its
loss yet finds its connections closed and cannot open new ones.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import select
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

from storage.database import (
    BackupFailed,
    Database,
    Dialect,
    Params,
    Transaction,
    _migrations,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS_PACKAGE = "storage.migrations.postgresql"
# The advisory lock key every write transaction takes (any constant; "liaison" in ASCII).
WRITER_LOCK = 0x6C696169736F6E
# Connections the pool keeps for reads and reports, and the most it opens.
POOL_MIN = 1
POOL_MAX = 8
# The program that writes a backup, and the suffix of its file until it has succeeded.
PG_DUMP = "pg_dump"
PARTIAL = ".partial"
# How long opening the pool may wait for the server, in seconds.
CONNECT_TIMEOUT = 10.0
# What the active bot's sessions call themselves (``application_name``), then host and pid:
# the sessions a standby ends when it takes over. A lock's session is "liaison <host> …"
# (runtime/standby.py), and a host name has no space, so the two never match each other.
ACTIVE_SESSIONS = "liaison-active "
# The longest PostgreSQL keeps of application_name (NAMEDATALEN - 1).
APPLICATION_NAME_MAX = 63


class Record(tuple[Any, ...]):
    """A row by position and by column name, like :class:`sqlite3.Row`."""

    _index: Mapping[str, int]

    def __new__(cls, values: Sequence[Any], index: Mapping[str, int]) -> Record:
        record = super().__new__(cls, values)
        record._index = index
        return record

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def records(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Record]:
    """psycopg's row factory for :class:`Record`: the column index is built once per result,
    from the result's field names (``cursor.description`` would build a column object each)."""
    result = cursor.pgresult
    names: tuple[str, ...] = ()
    if result is not None:
        names = tuple((result.fname(n) or b"").decode() for n in range(result.nfields))
    index = _index(names)

    def make(values: Sequence[Any]) -> Record:
        return Record(values, index)

    return make


def _returns_rows(cursor: psycopg.AsyncCursor[Any]) -> bool:
    """Whether the statement gave rows (``cursor.description``, without its column objects)."""
    result = cursor.pgresult
    return result is not None and result.status == psycopg.pq.ExecStatus.TUPLES_OK


@lru_cache(maxsize=1024)
def _index(names: tuple[str, ...]) -> Mapping[str, int]:
    return {name: position for position, name in enumerate(names)}


class NumberLoader(Loader):
    """``numeric`` (what ``SUM`` of integers and ``AVG`` give) as SQLite gives it: an ``int``
    when whole, else a ``float``, never a ``Decimal`` the rest of the bot does not expect."""

    def load(self, data: Buffer) -> int | float:
        # A report sums tens of thousands of values: int() of the bytes, no text in between.
        raw = bytes(data)
        return int(raw) if raw.lstrip(b"-").isdigit() else float(raw)


Configure = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]


def _configuration(lock_timeout_ms: int, fence: Fence | None, *, durable: bool = True) -> Configure:
    """What every connection is set up with: numbers read as SQLite gives them, how long a
    statement waits for another process's lock (the URL's own ``options`` are kept), whether
    its commits wait for the disk (``durable``) and, for the active bot of a pair, the
    fence's check."""
    settings = f"SET lock_timeout = {int(lock_timeout_ms)}"
    if not durable:
        settings += "; SET synchronous_commit = off"

    async def configure(connection: psycopg.AsyncConnection[Any]) -> None:
        connection.adapters.register_loader("numeric", NumberLoader)
        await connection.execute(settings.encode())
        if fence is not None:
            await fence.verify(connection)

    return configure


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|%|\?(\d*)|(?<!:):([A-Za-z_]\w*)")
# A parameter tested for NULL: nothing in "? IS NULL" tells the server its type (an optional
# filter's "(? IS NULL OR col = ?)"), so it is cast to text, which any value can be.
_NULL_TEST = re.compile(r"(\?\d*|(?<!:):[A-Za-z_]\w*) IS (NOT )?NULL")


@dataclass(frozen=True)
class Translated:
    """The shared SQL in psycopg's terms: every placeholder a ``%s`` of its own, and where each
    one's value comes from (its position among ``?``, a ``?N``'s N - 1, a ``:name``'s name)."""

    sql: str
    sources: tuple[int | str, ...]
    positional: bool  # only plain "?": the parameters are passed as they are

    def values(self, params: Params) -> Sequence[Any]:
        if self.positional and not isinstance(params, Mapping):
            return params
        return [params[source] for source in self.sources]  # type: ignore[index]


@lru_cache(maxsize=4096)
def translate(sql: str) -> Translated:
    """``?``, ``?N`` and ``:name`` become ``%s`` and a literal ``%`` ``%%``; quoted text and
    comments keep their ``?`` and ``:``. Each occurrence of a repeated parameter gets a ``%s``
    (and a value) of its own, so the server infers each one's type from where it stands."""
    sources: list[int | str] = []
    plain = 0
    positional = True

    def replace(match: re.Match[str]) -> str:
        nonlocal plain, positional
        found = match.group(0)
        if found == "%":
            return "%%"
        if found.startswith("?"):
            if match.group(1):
                positional = False
                sources.append(int(match.group(1)) - 1)
            else:
                sources.append(plain)
                plain += 1
            return "%s"
        if match.group(2) is not None:
            positional = False
            sources.append(match.group(2))
            return "%s"
        return found.replace("%", "%%")

    typed = _NULL_TEST.sub(r"CAST(\1 AS TEXT) IS \2NULL", sql)
    return Translated(_TOKENS.sub(replace, typed), tuple(sources), positional)


def _query(sql: str, params: Params) -> tuple[str, Sequence[Any] | None]:
    if not params:
        return sql, None
    translated = translate(sql)
    return translated.sql, translated.values(params)


class Result:
    """What one statement left: its rows (already fetched) and how many rows it changed."""

    def __init__(self, rows: list[Record], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> Record | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Record]:
        return list(self._rows)


_BEGIN = b"BEGIN"
_LOCK = f"SELECT pg_advisory_xact_lock({WRITER_LOCK})".encode()


class PostgresTransaction(Transaction):
    """The statements of one write transaction on the writer connection.

    ``BEGIN`` and the writers' advisory lock are sent with the transaction's first statement, in
    one pipeline: one round trip to the server instead of two (each trip goes through psycopg
    and the event loop, which is most of what a write costs the bot). A transaction without a
    statement sends nothing.
    """

    dialect: Dialect = "postgresql"

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database
        self._changes = 0
        self.begun = False
        # executemany_deferred's statements, sent with the next statement or the COMMIT.
        self._deferred: list[tuple[str, list[Sequence[Any]]]] = []

    @property
    def _connection(self) -> psycopg.AsyncConnection[Record]:
        return self._database.writer

    @property
    def total_changes(self) -> int:
        return self._changes

    async def lock(self) -> None:
        """``BEGIN`` and the writers' lock now, not with the first statement."""
        await self._begin()

    async def _begin(self) -> None:
        if not self.begun:
            self.begun = True
            await self._database.begin()

    async def fetch_together(self, statements: Sequence[tuple[str, Params]]) -> list[list[Record]]:
        """The statements in one pipeline (one round trip), with the deferred writes before
        them or, as the transaction's first, with its ``BEGIN`` and lock."""
        queries = [_query(sql, params) for sql, params in statements]
        if self.begun:
            cursors = await self._with_deferred(self._each(queries))
        else:
            self.begun = True
            cursors = await self._first(queries)
        results = []
        for cursor in cursors:
            returned = _returns_rows(cursor)
            results.append(await cursor.fetchall() if returned else [])
            if cursor.rowcount > 0 and not returned:
                self._changes += cursor.rowcount
        return results

    async def _each(
        self, queries: Sequence[tuple[str, Sequence[Any] | None]]
    ) -> list[psycopg.AsyncCursor[Record]]:
        return [await self._connection.execute(query, values) for query, values in queries]

    async def execute(self, sql: str, params: Params = ()) -> Result:
        query, values = _query(sql, params)
        if self._deferred:
            cursor = await self._with_deferred(self._connection.execute(query, values))
        elif self.begun:
            cursor = await self._connection.execute(query, values)
        else:
            self.begun = True
            (cursor,) = await self._first([(query, values)])
        returned = _returns_rows(cursor)
        rows = await cursor.fetchall() if returned else []
        if cursor.rowcount > 0 and not returned:
            self._changes += cursor.rowcount
        return Result(rows, cursor.rowcount)

    async def _first(
        self, queries: Sequence[tuple[str, Sequence[Any] | None]]
    ) -> list[psycopg.AsyncCursor[Record]]:
        """``BEGIN``, the lock and the first statements in one pipeline. A writer connection the
        server closed is opened again once: nothing was committed, so sending them again on a
        new one is safe (and a new one is checked by the fence, if there is one)."""
        for attempt in (1, 2):
            connection = await self._database.connected()
            try:
                async with connection.pipeline():
                    await connection.execute(_BEGIN)
                    await connection.execute(_LOCK)
                    return [await connection.execute(q, v) for q, v in queries]
            except psycopg.OperationalError:
                if attempt == 2 or not connection.broken:
                    raise
        raise AssertionError("unreachable")

    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Record]:
        return await (await self.execute(sql, params)).fetchall()

    async def executemany_deferred(self, sql: str, rows: Iterable[Params]) -> None:
        """Kept until the next statement or the COMMIT, sent in its pipeline (one round trip
        for both). Before the transaction has begun, sent at once (with its ``BEGIN``)."""
        if not self.begun:
            await self.executemany(sql, rows)
            return
        translated = translate(sql)
        values = [translated.values(row) for row in rows]
        if values:
            self._deferred.append((translated.sql, values))

    async def _with_deferred(self, last: Awaitable[T]) -> T:
        """The deferred statements and then ``last`` in one pipeline; ``last``'s result."""
        deferred, self._deferred = self._deferred, []
        connection = self._connection
        cursors = []
        async with connection.pipeline():
            for query, values in deferred:
                cursor = connection.cursor()
                cursors.append(cursor)
                await cursor.executemany(query, values)
            result = await last
        for cursor in cursors:
            self._changes += max(cursor.rowcount, 0)
            await cursor.close()
        return result

    async def _flush(self) -> None:
        """Send the deferred statements now (before one that cannot go in a pipeline)."""
        if self._deferred:
            await self._with_deferred(_nothing())

    async def commit(self) -> None:
        """``COMMIT``, with the deferred statements in its round trip."""
        if self._deferred:
            await self._with_deferred(self._connection.execute(b"COMMIT"))
        else:
            await self._connection.execute(b"COMMIT")

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = list(rows)
        if not batch:
            return
        await self._flush()
        translated = translate(sql)
        values = [translated.values(row) for row in batch]
        await self._begin()
        async with self._connection.cursor() as cursor:
            await cursor.executemany(translated.sql, values)
            if cursor.rowcount > 0:
                self._changes += cursor.rowcount

    async def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Load ``rows`` into ``table`` with ``COPY … FROM STDIN``: one stream, not a statement a
        row (bulk loads: demo data, benchmarks). Row triggers still fire. Returns the rows."""
        written = 0
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        await self._flush()
        await self._begin()
        async with self._connection.cursor() as cursor, cursor.copy(statement.encode()) as copy:
            for row in rows:
                await copy.write_row(row)
                written += 1
        self._changes += written
        return written


async def _nothing() -> None:
    return None


class FencedOff(Exception):
    """A write refused: this process no longer holds the active instance's lock."""


@dataclass(frozen=True)
class Fence:
    """The active instance's database sessions, kept to the time its lock is held.

    The session ``pid`` holds the session-level advisory lock ``key`` (the active instance's,
    runtime/standby.py). Every other session of the active bot is named ``session_name``
    (:data:`ACTIVE_SESSIONS`…) and, when it is opened, checks that ``pid`` still holds the
    lock (:meth:`verify`); a standby that takes the lock over first ends every session so
    named (:data:`END_ACTIVE_SESSIONS`). So a process that lost the lock without knowing it
    yet (its lock session ended alone, or it was frozen while a standby took over) writes
    nothing more: its connections are closed under it, and a new one is refused with
    :class:`FencedOff` after ``on_lost`` is called. Each write the old active made before the
    takeover comes before the new active's first; no transaction pays for a check.
    """

    key: int
    pid: int
    on_lost: Callable[[BaseException], None]
    session_name: str

    @property
    def check(self) -> str:
        return (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            f" AND pid = {int(self.pid)} AND classid = {self.key >> 32}"
            f" AND objid = {self.key & 0xFFFFFFFF} AND objsubid = 1"
        )

    async def verify(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Refuse ``connection`` (just opened, already named) unless the lock is still held."""
        cursor = await connection.execute(self.check.encode())
        row = await cursor.fetchone()
        if row is not None and row[0]:
            return
        lost = FencedOff("this process no longer holds the active instance's lock")
        self.on_lost(lost)
        raise lost


def active_session_name(host: str, pid: int) -> str:
    """The ``application_name`` of the active bot's sessions on ``host`` as process ``pid``."""
    return f"{ACTIVE_SESSIONS}{host} pid {pid}"[:APPLICATION_NAME_MAX]


# What a standby that has just taken the lock runs: the old active's sessions ended, each
# waited for up to :data:`END_SESSION_WAIT_MS` (pg_terminate_backend's time-out). The
# parameter is the pattern of :data:`ACTIVE_SESSIONS`.
END_SESSION_WAIT_MS = 5000
END_ACTIVE_SESSIONS = (
    "SELECT count(*) FILTER (WHERE NOT pg_terminate_backend(pid, %s)) FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name LIKE %s"
    " AND pid <> pg_backend_pid()"
)


class PostgresDatabase(Database):
    """An open PostgreSQL database: a writer connection and a pool of readers."""

    dialect: Dialect = "postgresql"

    def __init__(
        self,
        url: str,
        writer: psycopg.AsyncConnection[Record],
        pool: AsyncConnectionPool,
        configure: Configure,
        names: Mapping[str, Any],
    ) -> None:
        self.url = url
        self._writer = writer
        self._pool = pool
        self._write_lock = asyncio.Lock()
        self._configure = configure
        self._names = names  # the sessions' application_name, if fenced

    @classmethod
    async def connect(
        cls, url: str, *, busy_timeout_ms: int = 5000, fence: Fence | None = None
    ) -> PostgresDatabase:
        """Connect to ``url`` and apply pending migrations. ``busy_timeout_ms`` bounds how long
        a write waits for another process's write lock (``lock_timeout``); ``fence``: the
        active instance's of a pair (runtime/standby.py), which every session is opened
        under."""
        configure = _configuration(busy_timeout_ms, fence)
        names: dict[str, Any] = {"application_name": fence.session_name} if fence else {}
        writer = await _connect_writer(url, configure, names)
        # The pool's sessions commit only working state (execute_working_state), which need
        # not wait for the disk; a read commits nothing, so the setting costs reads nothing.
        pool = AsyncConnectionPool(
            url,
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            kwargs={"autocommit": True, "row_factory": records, **names},
            configure=_configuration(busy_timeout_ms, fence, durable=False),
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
            db = cls(url, writer, pool, configure, names)
            await db.migrate()
        except BaseException:
            await pool.close()
            await writer.close()
            raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            await self._pool.close()
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTransaction]:
        async with self._write_lock:
            tx = PostgresTransaction(self)
            try:
                yield tx
            except BaseException:
                # A lost connection's transaction is gone anyway.
                if tx.begun and not self._writer.broken:
                    await _shielded(_rollback(self._writer))
                raise
            if tx.begun:
                try:
                    await _shielded(tx.commit())
                except BaseException:
                    # A deferred statement failed: the transaction is aborted, not ended.
                    if not self._writer.broken:
                        await _shielded(_rollback(self._writer))
                    raise

    @property
    def writer(self) -> psycopg.AsyncConnection[Record]:
        return self._writer

    async def connected(self) -> psycopg.AsyncConnection[Record]:
        """The writer connection, opened again if it was found lost (a restart of the server, a
        cut network)."""
        if self._writer.broken or self._writer.closed:
            log.warning("storage: the connection to PostgreSQL was lost; connecting again")
            await self._writer.close()
            self._writer = await _connect_writer(self.url, self._configure, self._names)
        return self._writer

    async def begin(self) -> None:
        """Begin a write transaction holding the writers' lock, on its own (before a batch).
        A writer connection the server closed is opened again once: nothing was done on it
        yet, so beginning again on a new one is safe."""
        for attempt in (1, 2):
            connection = await self.connected()
            try:
                await connection.execute(_BEGIN + b"; " + _LOCK)
                return
            except psycopg.OperationalError:
                if attempt == 2 or not connection.broken:
                    raise
        raise AssertionError("unreachable")

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Record]:
        """One statement in a transaction of its own, sent with its ``BEGIN``, the writers' lock
        and its ``COMMIT`` in one pipeline: one round trip to the server. Unless the idle
        writer connection has something to read (the server's goodbye, most likely): then the
        way that may safely open a new connection and send again, since this one's ``COMMIT``
        could not be sent again safely."""
        return (await self._together([(sql, params)]))[0]

    async def execute_working_state(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Committed with ``synchronous_commit = off``: the commit does not wait for the WAL to
        reach the disk (a crash of the server, not of the bot, may lose the last moments of
        drafts and dialogues; every later durable commit flushes them too). The durable
        writes, those of every other table, stop waiting behind these for the disk.

        On a reader's connection from the pool, beside the writer rather than behind it: a
        user's working state is one row of its own that one update at a time writes (the
        updates of one user are handled in order), which no claim reads, so it needs neither
        the writer connection nor the writers' lock; the row lock orders it with a write
        transaction that deletes it. The pool's sessions are fenced like the writer's, and
        set up not to wait for the disk: the write is one statement in autocommit, one round
        trip with nothing around it."""
        query, values = _query(sql, params)
        async with self._pool.connection() as connection:
            # Finished even if the caller is cancelled: the connection goes back idle.
            await _to_the_end(connection.execute(query, values))

    async def execute_together(
        self, statements: Sequence[tuple[str, Params]]
    ) -> list[list[Record]]:
        """The statements with their ``BEGIN``, the writers' lock and their ``COMMIT`` in one
        pipeline: one round trip, as :meth:`execute` is for one."""
        return await self._together(statements)

    async def _together(self, statements: Sequence[tuple[str, Params]]) -> list[list[Record]]:
        queries = [_query(sql, params) for sql, params in statements]
        async with self._write_lock:
            connection = await self.connected()
            if _quiet(connection):
                # Finished (committed or rolled back) even if the caller is cancelled
                # meanwhile: the connection must be idle again before the next transaction.
                return await _to_the_end(_alone(connection, queries))
        return await super().execute_together(statements)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Record]:
        query, values = _query(sql, params)
        async with self._pool.connection() as connection:
            cursor = await connection.execute(query, values)
            return cast(list[Record], await cursor.fetchall())

    async def fetch_report(self, sql: str, params: Params = ()) -> list[Record]:
        return await self.fetch_all(sql, params)

    async def migrate(self) -> list[int]:
        applied: list[int] = []
        async with self._write_lock:
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            await self._writer.execute(f"SELECT pg_advisory_lock({WRITER_LOCK})")
            try:
                cursor = await self._writer.execute("SELECT version FROM schema_migrations")
                done = {row[0] for row in await cursor.fetchall()}
                for version, name, sql in _migrations(MIGRATIONS_PACKAGE):
                    if version in done:
                        continue
                    async with self._writer.transaction():
                        await self._writer.execute(sql.encode())
                        await self._writer.execute(
                            "INSERT INTO schema_migrations (version, name, applied_at)"
                            " VALUES (%s, %s, now()::text)",
                            (version, name),
                        )
                    applied.append(version)
            finally:
                await self._writer.execute(f"SELECT pg_advisory_unlock({WRITER_LOCK})")
        if applied:
            log.info("applied migrations %s", applied)
        return applied

    async def tables(self) -> list[str]:
        rows = await self.fetch_all(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        )
        return [row[0] for row in rows]

    async def backup(self, destination: Path) -> None:
        """A ``pg_dump`` of the database in its custom format (restore with ``pg_restore``,
        docs/postgresql.md), consistent while the bot writes (pg_dump reads one snapshot).

        Written to ``<destination>.partial`` and renamed when pg_dump succeeded, so that a
        failed dump never looks like a backup. The password, if the URL has one, goes to
        pg_dump in its environment, not on its command line (which ``ps`` shows)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + PARTIAL)
        parts = conninfo_to_dict(self.url)
        password = parts.pop("password", None)
        environment = dict(os.environ)
        if password is not None:
            environment["PGPASSWORD"] = str(password)
        try:
            process = await asyncio.create_subprocess_exec(
                PG_DUMP,
                "--format=custom",
                f"--file={partial}",
                f"--dbname={make_conninfo('', **parts)}",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=environment,
            )
        except FileNotFoundError:
            raise BackupFailed(
                f"{PG_DUMP} not found: install PostgreSQL's client programs"
                " (Debian: postgresql-client), of the server's version or newer"
            ) from None
        _, error = await process.communicate()
        if process.returncode != 0:
            partial.unlink(missing_ok=True)
            reason = error.decode(errors="replace").strip().splitlines()
            raise BackupFailed(f"{PG_DUMP} failed: {reason[0] if reason else process.returncode}")
        partial.replace(destination)


async def _connect_writer(
    url: str, configure: Configure, names: Mapping[str, Any]
) -> psycopg.AsyncConnection[Record]:
    writer = await psycopg.AsyncConnection.connect(
        url, autocommit=True, row_factory=records, connect_timeout=int(CONNECT_TIMEOUT), **names
    )
    try:
        await configure(writer)
    except BaseException:
        await writer.close()
        raise
    return writer


def _quiet(connection: psycopg.AsyncConnection[Record]) -> bool:
    """Nothing to read on an idle connection: the server has not said goodbye (an error
    before closing it, or the end of the stream)."""
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


async def _alone(
    connection: psycopg.AsyncConnection[Record],
    queries: Sequence[tuple[str, Sequence[Any] | None]],
) -> list[list[Record]]:
    """One transaction of ``queries``, holding the writers' lock, in one pipeline; the rows of
    each."""
    try:
        async with connection.pipeline():
            await connection.execute(_BEGIN)
            await connection.execute(_LOCK)
            cursors = [await connection.execute(query, values) for query, values in queries]
            await connection.execute(b"COMMIT")
    except BaseException:
        if not connection.broken:
            await _rollback(connection)
        raise
    return [await c.fetchall() if _returns_rows(c) else [] for c in cursors]


async def _rollback(connection: psycopg.AsyncConnection[Record]) -> None:
    """Roll back what the writer connection has open, if anything (a failed pipeline may have
    left the transaction open, aborted, or never begun)."""
    if connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        await connection.execute("ROLLBACK")


async def _to_the_end(job: Awaitable[T]) -> T:
    """``job``'s result, the job run to its end even if the caller is cancelled meanwhile (the
    cancellation is raised after it): a ``COMMIT`` is neither cut off nor undone, and the
    connection is idle again before anyone else uses it."""
    task = asyncio.ensure_future(job)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as error:
            if task.done():
                raise
            cancelled = error
            continue
        if cancelled is not None:
            raise cancelled
        return result


async def _shielded(job: Awaitable[Any]) -> None:
    """Finish a ``COMMIT`` or ``ROLLBACK`` even if the caller is cancelled meanwhile: the
    connection must be idle again before the next transaction."""
    await _to_the_end(job)
