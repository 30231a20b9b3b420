"""The ledger (台账) rows: one per request, read in pages so a large export stays small."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database
from storage.scope import Scope

PAGE = 5000

_SELECT = """
SELECT r.id, r.number, e.name, e.credit_code, e.city, e.stage, r.category, r.summary,
       o.name, r.created_at, r.acknowledged_at, r.resolved_at, r.closed_at, r.status,
       r.resolve_due_at, r.rating, r.outcome, r.auto_closed
FROM requests r JOIN enterprises e ON e.id = r.enterprise_id
LEFT JOIN officials o ON o.id = r.official_id
WHERE r.id > ?1
  AND (?2 IS NULL OR r.created_at >= ?2) AND (?3 IS NULL OR r.created_at < ?3)
  AND (?4 IS NULL OR e.city = ?4) AND (?5 IS NULL OR o.external_id = ?5)
  AND (?7 IS NULL OR o.level = ?7)
ORDER BY r.id LIMIT ?6
"""


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    since: datetime | None = None
    until: datetime | None = None
    city: str | None = None  # the enterprise's city code
    official: str | None = None  # the official's roster id
    tier: str | None = None  # the holder's tier (officials.level)

    def within(self, scope: Scope) -> LedgerFilter | None:
        """This filter held to an office's scope: a city admin's ledger is their city's
        (None when the filter asks for another city)."""
        if scope.city is None:
            return self
        if self.city is not None and self.city != scope.city:
            return None
        return dataclasses.replace(self, city=scope.city)


class LedgerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def rows(self, where: LedgerFilter) -> AsyncIterator[sqlite3.Row]:
        """Every matching request in number order, fetched a page at a time."""
        last = 0
        since = None if where.since is None else to_epoch(where.since)
        until = None if where.until is None else to_epoch(where.until)
        while True:
            page = await self._db.fetch_report(
                _SELECT, (last, since, until, where.city, where.official, PAGE, where.tier)
            )
            for row in page:
                yield row
            if len(page) < PAGE:
                return
            last = page[-1][0]
