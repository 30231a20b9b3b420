"""The database as repositories and the domain's units of work see it, whichever the backend.

Two backends implement it: SQLite, the embedded default (:mod:`storage.db`), and PostgreSQL
(:mod:`storage.postgres`); :func:`storage.db.open_database` picks one from the setting.
Repositories write their SQL once, in the subset both speak (``?`` placeholders, ``ON
CONFLICT``, ``RETURNING``, ``COALESCE``, ``CAST(… AS INTEGER)`` for a truth value counted);
where the two differ a repository asks :attr:`Database.dialect`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

MIGRATIONS_PACKAGE = "storage.migrations"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any] | Mapping[str, Any]


class BackupFailed(Exception):
    """A backup could not be written (the message says why, for the operator)."""


class Row(Protocol):
    """A row as either backend gives it: by position, by column name, and its column names."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def keys(self) -> Sequence[str]: ...

    def __len__(self) -> int: ...


class StatementResult(Protocol):
    """What one statement inside a transaction left: its rows and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> list[Any]: ...


class Transaction(ABC):
    """The statements of one write transaction (see :meth:`Database.transaction`)."""

    dialect: Dialect

    @property
    @abstractmethod
    def total_changes(self) -> int:
        """Rows inserted, updated or deleted so far by this connection (a running count)."""

    @abstractmethod
    async def lock(self) -> None:
        """Hold the writers' lock now, before the first statement: for a transaction that reads
        outside it (through the repositories' reads) what it must see after every other
        writer's commit. A backend may otherwise take the lock with the first statement."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> StatementResult: ...

    @abstractmethod
    async def execute_fetchall(self, sql: str, params: Params = ()) -> list[Any]: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetch_together(self, statements: Sequence[tuple[str, Params]]) -> list[list[Any]]:
        """The statements in order, each one's rows (its ``RETURNING`` clause); a server
        backend sends them in one round trip (with the deferred writes before them, and the
        ``BEGIN`` when they are the transaction's first). For statements that do not depend
        on each other's results."""
        return [await self.execute_fetchall(sql, params) for sql, params in statements]

    async def executemany_deferred(self, sql: str, rows: Iterable[Params]) -> None:
        """Write ``rows`` whose outcome the transaction does not read (no count, no rows back).
        A server backend sends them with the transaction's next statement or its commit, in
        that round trip: an error in them is raised there, and the whole transaction is
        rolled back as for any error. Statements still run in the order they were given."""
        await self.executemany(sql, rows)


class Database(ABC):
    """An open database: serialised write transactions, reads that never wait for them."""

    dialect: Dialect

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """One write transaction that no other writer (coroutine or process) interleaves with."""

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One write statement committed on its own; the rows of its ``RETURNING`` clause."""

    async def execute_together(self, statements: Sequence[tuple[str, Params]]) -> list[list[Any]]:
        """Write statements committed together, in one transaction; the rows each returned
        (its ``RETURNING`` clause). A server backend sends them in one round trip."""
        results = []
        async with self.transaction() as tx:
            for sql, params in statements:
                results.append(await tx.execute_fetchall(sql, params))
        return results

    async def execute_working_state(self, sql: str, params: Sequence[Any] = ()) -> None:
        """One write of working state (drafts, dialogues: docs/hardening.md §3, which a power
        cut may cost the last second of) committed on its own. SQLite has one durability for
        its one file: this is :meth:`execute`. A server may commit it without waiting for the
        disk."""
        await self.execute(sql, params)

    @abstractmethod
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Any]:
        """Rows of a short read of the last committed state."""

    @abstractmethod
    async def fetch_report(self, sql: str, params: Params = ()) -> list[Any]:
        """Rows of a read that may take long, off the event loop's thread."""

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row; meant for queries of at most one row (it reads them all)."""
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply every migration newer than the stored schema version; return those applied."""

    async def schema_version(self) -> int:
        return int(
            await self.fetch_value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        )

    @abstractmethod
    async def tables(self) -> list[str]:
        """The names of the bot's tables (the backend's own catalogue left out), sorted."""

    @abstractmethod
    async def backup(self, destination: Path) -> None:
        """Write a consistent copy to ``destination`` while the bot goes on writing."""

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many rows in a single write transaction."""
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)


def is_postgres_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def _migrations(package: str = MIGRATIONS_PACKAGE) -> list[tuple[int, str, str]]:
    """Every ``NNNN_name.sql`` file shipped in ``package``, in version order."""
    found = []
    for entry in resources.files(package).iterdir():
        stem, _, suffix = entry.name.partition(".")
        if suffix != "sql" or not stem[:4].isdigit():
            continue
        found.append((int(stem[:4]), stem[5:], entry.read_text(encoding="utf-8")))
    return sorted(found)
