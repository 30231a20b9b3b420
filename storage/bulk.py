"""Bulk loading of requests and visits with ``executemany``: for demo data, tests and benchmarks.

The requests lifecycle writes requests one by one through its own repository; this module
only loads many ready-made rows fast (a province-scale database in seconds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class RequestRow:
    number: str
    enterprise_id: int
    submitted_by: int
    category: str
    summary: str
    status: str
    official_id: int | None
    created_at: int
    acknowledged_at: int | None = None
    resolved_at: int | None = None
    closed_at: int | None = None
    acknowledge_due_at: int | None = None
    resolve_due_at: int | None = None
    outcome: str | None = None
    rating: int | None = None
    auto_closed: int = 0


_REQUEST_COLUMNS = (
    "number", "enterprise_id", "submitted_by", "category", "summary", "status", "official_id",
    "created_at", "acknowledged_at", "resolved_at", "closed_at", "acknowledge_due_at",
    "resolve_due_at", "outcome", "rating", "auto_closed",
)  # fmt: skip
_INSERT_REQUEST = (
    f"INSERT INTO requests ({', '.join(_REQUEST_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _REQUEST_COLUMNS)})"
)
# The trigger that adds each inserted request to request_tallies (migration 0004; PostgreSQL's
# baseline), and what it does for all the requests after a given id at once.
_TALLY_TRIGGER = "request_tallies_after_insert"
_TALLY_COUNTS = ("received", "resolved", "solved", "ack_tracked", "responded_on_time", "rated",
                 "satisfied", "open_with_deadline")  # fmt: skip
_ADD_TALLIES = (
    f"INSERT INTO request_tallies AS t SELECT axis, key,"
    f" {', '.join(f'SUM({c})' for c in _TALLY_COUNTS)}"
    " FROM request_tally_rows WHERE id > ? GROUP BY axis, key"
    " ON CONFLICT (axis, key) DO UPDATE SET "
    + ", ".join(f"{c} = t.{c} + excluded.{c}" for c in _TALLY_COUNTS)
)


async def insert_requests(db: Database, rows: Iterable[RequestRow]) -> None:
    if db.dialect == "postgresql":
        await _copy_requests(db, rows)
        return
    await db.execute_many(_INSERT_REQUEST, (astuple(row) for row in rows))


async def _copy_requests(db: Database, rows: Iterable[RequestRow]) -> None:
    """PostgreSQL: the rows in one ``COPY``, their tallies added in one statement afterwards
    rather than by the insert trigger a row at a time (a million requests in about a minute
    rather than a quarter of an hour). The trigger is off only inside this transaction."""
    from storage.postgres import PostgresTransaction

    async with db.transaction() as tx:
        assert isinstance(tx, PostgresTransaction)
        last = (await tx.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM requests"))[0][0]
        await tx.execute(f"ALTER TABLE requests DISABLE TRIGGER {_TALLY_TRIGGER}")
        await tx.copy("requests", _REQUEST_COLUMNS, (astuple(row) for row in rows))
        await tx.execute(_ADD_TALLIES, (last,))
        await tx.execute(f"ALTER TABLE requests ENABLE TRIGGER {_TALLY_TRIGGER}")


async def insert_visits(db: Database, visits: Iterable[tuple[int, int, str, int]]) -> None:
    """(official id, enterprise id, visited on YYYY-MM-DD, created at)."""
    await db.execute_many(
        "INSERT INTO site_visits (official_id, enterprise_id, visited_on, created_at)"
        " VALUES (?, ?, ?, ?)",
        visits,
    )


async def record_history(
    db: Database, entries: Iterable[tuple[int, int, int | None, str | None, str, str]]
) -> None:
    """(request id, at, actor id, from status, to status, note) into the append-only history."""
    await db.execute_many(
        "INSERT INTO request_history (request_id, at, actor_id, from_status, to_status, note)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        entries,
    )
