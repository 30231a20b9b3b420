"""Site visits (实地走访): an official's record of visiting one of their enterprises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.rows import rows_to


@dataclass(frozen=True, slots=True)
class Visit:
    id: int
    official_id: int
    enterprise_id: int
    visited_on: date
    notes: str


class VisitRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        tx: Transaction,
        *,
        official_id: int,
        enterprise_id: int,
        visited_on: date,
        notes: str,
        now: datetime,
    ) -> Visit:
        """Store a visit in ``tx``."""
        cursor = await tx.execute(
            "INSERT INTO site_visits (official_id, enterprise_id, visited_on, notes,"
            " created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            (official_id, enterprise_id, visited_on.isoformat(), notes, to_epoch(now)),
        )
        row = await cursor.fetchone()
        assert row is not None
        return Visit(row[0], official_id, enterprise_id, visited_on, notes)

    async def of_enterprise(self, enterprise_id: int) -> list[Visit]:
        rows = await self._db.fetch_all(
            "SELECT id, official_id, enterprise_id, visited_on, notes FROM site_visits"
            " WHERE enterprise_id = ? ORDER BY visited_on, id",
            (enterprise_id,),
        )
        return rows_to(Visit, rows)
