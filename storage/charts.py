"""What the charts draw, counted in SQL: requests per local day, and per category."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from bot.clock import to_epoch
from storage.db import Database
from storage.scope import EVERYWHERE, Scope

# The enterprise's city of a request: a city office's charts count its enterprises' requests.
_CITY = "(SELECT e.city FROM enterprises e WHERE e.id = requests.enterprise_id)"

DAY = 86400
EPOCH_DAY = date(1970, 1, 1)

# Which moment of a request a daily count is about: received (created) or resolved (办结).
Moment = Literal["created_at", "resolved_at"]


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: str
    received: int
    resolved: int


class ChartRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def per_day(
        self,
        moment: Moment,
        *,
        since: datetime,
        utc_offset: timedelta,
        official_id: int | None = None,
        scope: Scope = EVERYWHERE,
    ) -> dict[date, int]:
        """Requests (withdrawn ones excepted) by the local day of ``moment``, from ``since``."""
        column = {"created_at": "created_at", "resolved_at": "resolved_at"}[moment]
        clause, city = scope.where(_CITY)
        rows = await self._db.fetch_report(
            f"SELECT ({column} + ?1) / {DAY}, COUNT(*) FROM requests"
            f" WHERE {column} >= ?2 AND status != 'withdrawn'"
            f" AND (?3 IS NULL OR official_id = ?3){clause.replace('?', '?4')} GROUP BY 1",
            (int(utc_offset.total_seconds()), to_epoch(since), official_id, *city),
        )
        return {EPOCH_DAY + timedelta(days=row[0]): row[1] for row in rows}

    async def per_category(
        self, *, official_id: int | None = None, scope: Scope = EVERYWHERE
    ) -> list[CategoryCount]:
        clause, city = scope.where(_CITY)
        rows = await self._db.fetch_report(
            "SELECT category, COUNT(*), SUM(resolved_at IS NOT NULL) FROM requests"
            " WHERE status != 'withdrawn' AND (?1 IS NULL OR official_id = ?1)"
            f"{clause.replace('?', '?2')} GROUP BY category",
            (official_id, *city),
        )
        return [CategoryCount(row[0], row[1], row[2] or 0) for row in rows]
