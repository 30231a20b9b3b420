"""The ledger's aggregates, computed in SQL: one pass over requests, grouped into a small cube.

The cube is grouped by (official, category, city, stage); the domain adds it up along any of
those axes, so the totals and every breakdown come from the same single scan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_epoch, to_epoch
from storage.db import Database

OPEN_STATUSES = ("submitted", "assigned", "acknowledged", "in_progress", "waiting", "reopened")
_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)


@dataclass(frozen=True, slots=True)
class CubeRow:
    official_id: int | None
    category: str
    city: str
    stage: str
    received: int
    resolved: int  # 办结: marked resolved by the official (resolved or closed)
    solved: int  # 解决: the entrepreneur confirmed "solved"
    response_due: int  # acknowledged, or whose acknowledge deadline has passed
    responded_on_time: int
    rated: int
    satisfied: int  # rating 4 or 5
    overdue: int  # open and past a deadline


_CUBE = f"""
SELECT r.official_id, r.category, e.city, e.stage,
    COUNT(*),
    SUM(r.resolved_at IS NOT NULL),
    SUM(r.outcome = 'solved'),
    SUM(r.acknowledge_due_at IS NOT NULL
        AND (r.acknowledged_at IS NOT NULL OR r.acknowledge_due_at < ?1)),
    SUM(r.acknowledged_at IS NOT NULL AND r.acknowledged_at <= r.acknowledge_due_at),
    SUM(r.rating IS NOT NULL),
    SUM(r.rating >= 4),
    SUM(r.status IN ({_OPEN}) AND (r.resolve_due_at < ?1
        OR (r.acknowledged_at IS NULL AND r.acknowledge_due_at < ?1)))
FROM requests r JOIN enterprises e ON e.id = r.enterprise_id
WHERE r.status != 'withdrawn' AND (?2 IS NULL OR r.official_id = ?2)
GROUP BY r.official_id, r.category, e.city, e.stage
"""


@dataclass(frozen=True, slots=True)
class OverdueRow:
    number: str
    enterprise: str
    official: str | None
    status: str
    due_at: datetime


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def cube(self, *, now: datetime, official_id: int | None = None) -> list[CubeRow]:
        rows = await self._db.fetch_all(_CUBE, (to_epoch(now), official_id))
        return [CubeRow(row[0], row[1], row[2], row[3], *(n or 0 for n in row[4:])) for row in rows]

    async def officials_taking_part(self) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(DISTINCT a.official_id) FROM assignments a"
                " JOIN officials o ON o.id = a.official_id WHERE o.active = 1"
            )
        )

    async def enterprises_linked(self, official_id: int | None = None) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(DISTINCT enterprise_id) FROM assignments"
                " WHERE ?1 IS NULL OR official_id = ?1",
                (official_id,),
            )
        )

    async def enterprises_visited(self, official_id: int | None = None) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(DISTINCT enterprise_id) FROM site_visits"
                " WHERE ?1 IS NULL OR official_id = ?1",
                (official_id,),
            )
        )

    async def official_names(self) -> dict[int, str]:
        rows = await self._db.fetch_all("SELECT id, name FROM officials")
        return {row[0]: row[1] for row in rows}

    async def overdue(
        self, *, now: datetime, official_id: int | None = None, limit: int = 20
    ) -> list[OverdueRow]:
        """Open requests past a deadline, the longest overdue first."""
        rows = await self._db.fetch_all(
            "SELECT r.number, e.name, o.name, r.status,"
            " CASE WHEN r.acknowledged_at IS NULL AND r.acknowledge_due_at < ?1"
            " THEN r.acknowledge_due_at ELSE r.resolve_due_at END AS due"
            " FROM requests r JOIN enterprises e ON e.id = r.enterprise_id"
            " LEFT JOIN officials o ON o.id = r.official_id"
            f" WHERE r.status IN ({_OPEN})"
            " AND (r.resolve_due_at < ?1"
            " OR (r.acknowledged_at IS NULL AND r.acknowledge_due_at < ?1))"
            " AND (?2 IS NULL OR r.official_id = ?2)"
            " ORDER BY due LIMIT ?3",
            (to_epoch(now), official_id, limit),
        )
        return [OverdueRow(row[0], row[1], row[2], row[3], from_epoch(row[4])) for row in rows]
