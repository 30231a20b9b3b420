"""What the charts draw, counted in SQL: requests per local day, and per category; of the
whole programme, one official's, or a cut of it (one city's enterprises, one tier's officials)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from bot.clock import to_epoch
from storage.db import Database
from storage.rows import rows_to
from storage.stats import WHOLE, Cut

DAY = 86400
EPOCH_DAY = date(1970, 1, 1)

# Which moment of a request a daily count is about: received (created) or resolved (办结).
Moment = Literal["created_at", "resolved_at"]


@dataclass(frozen=True, slots=True)
class CategoryCount:
    category: str
    received: int
    resolved: int


def _requests(official_id: int | None, cut: Cut) -> tuple[str, dict[str, object]]:
    """The requests (withdrawn ones excepted) of this official and this cut: FROM … WHERE …"""
    source = "requests r"
    if cut.city is not None:
        source += " JOIN enterprises e ON e.id = r.enterprise_id AND e.city = :city"
    if cut.tier is not None:
        source += " JOIN officials o ON o.id = r.official_id AND o.level = :tier"
    where = " WHERE r.status != 'withdrawn' AND (:official IS NULL OR r.official_id = :official)"
    return source + where, {"official": official_id, "city": cut.city, "tier": cut.tier}


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
        cut: Cut = WHOLE,
    ) -> dict[date, int]:
        """Requests by the local day of ``moment``, from ``since``."""
        column = {"created_at": "r.created_at", "resolved_at": "r.resolved_at"}[moment]
        source, params = _requests(official_id, cut)
        rows = await self._db.fetch_report(
            f"SELECT ({column} + :offset) / {DAY}, COUNT(*) FROM {source}"
            f" AND {column} >= :since GROUP BY 1",
            {**params, "offset": int(utc_offset.total_seconds()), "since": to_epoch(since)},
        )
        return {EPOCH_DAY + timedelta(days=row[0]): row[1] for row in rows}

    async def per_category(
        self, *, official_id: int | None = None, cut: Cut = WHOLE
    ) -> list[CategoryCount]:
        source, params = _requests(official_id, cut)
        rows = await self._db.fetch_report(
            "SELECT r.category, COUNT(*) AS received,"
            f" COUNT(*) FILTER (WHERE r.resolved_at IS NOT NULL) AS resolved FROM {source}"
            " GROUP BY r.category",
            params,
        )
        return rows_to(CategoryCount, rows)
