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


_INSERT_REQUEST = (
    "INSERT INTO requests (number, enterprise_id, submitted_by, category, summary, status,"
    " official_id, created_at, acknowledged_at, resolved_at, closed_at, acknowledge_due_at,"
    " resolve_due_at, outcome, rating, auto_closed)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def insert_requests(db: Database, rows: Iterable[RequestRow]) -> None:
    await db.execute_many(_INSERT_REQUEST, (astuple(row) for row in rows))


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
