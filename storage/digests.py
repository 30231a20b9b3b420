"""Officials' daily digests: at most one per official per day."""

from __future__ import annotations

from datetime import date, datetime

from storage.db import Database, Transaction
from storage.reminders import OPEN_STATUSES
from storage.requests import _COLUMNS as _REQUEST_COLUMNS
from storage.requests import Request
from storage.rows import rows_to

_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)


class DigestRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def recipients(self, day: date) -> list[tuple[int, int]]:
        """(official id, Telegram id) of bound officials with open requests and no digest today."""
        rows = await self._db.fetch_report(
            "SELECT o.id, o.telegram_id FROM officials o WHERE o.active = 1"
            " AND o.telegram_id IS NOT NULL"
            f" AND EXISTS (SELECT 1 FROM requests r WHERE r.official_id = o.id"
            f"  AND r.status IN ({_OPEN}))"
            " AND NOT EXISTS (SELECT 1 FROM digests d WHERE d.official_id = o.id AND d.day = ?)"
            " ORDER BY o.id",
            (day.isoformat(),),
        )
        return [(row[0], row[1]) for row in rows]

    async def open_requests(self, official_id: int) -> list[Request]:
        rows = await self._db.fetch_all(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE official_id = ?"
            f" AND status IN ({_OPEN}) ORDER BY COALESCE(resolve_due_at, acknowledge_due_at), id",
            (official_id,),
        )
        return rows_to(Request, rows)

    async def record(self, tx: Transaction, official_id: int, day: date, *, now: datetime) -> bool:
        """Note in ``tx`` that the official's digest of ``day`` goes out; False if it did."""
        cursor = await tx.execute(
            "INSERT INTO digests (official_id, day, sent_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (official_id, day.isoformat(), int(now.timestamp())),
        )
        return cursor.rowcount == 1

    async def sent_on(self, day: date) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT official_id FROM digests WHERE day = ? ORDER BY official_id", (day.isoformat(),)
        )
        return [row[0] for row in rows]
