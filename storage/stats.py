"""The ledger's aggregates, computed in SQL.

For the whole program they are read from ``request_tallies``, which triggers keep per category,
city, stage and official (migration 0004); only the two counts that depend on the clock are
corrected at read time, from the requests whose deadlines are still ahead. For one official, and
to check the tallies, the cube is computed from the requests themselves: one pass grouped by
(official, category, city, stage), which the domain adds up along any of those axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_epoch, to_epoch
from storage.db import Database
from storage.scope import EVERYWHERE, Scope

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
WHERE r.status != 'withdrawn' {{mine}}
GROUP BY r.official_id, r.category, e.city, e.stage
"""


@dataclass(frozen=True, slots=True)
class AxisRow:
    """The counts of one category, city, stage or official (see :func:`official_key`)."""

    axis: str  # "category", "city", "stage" or "official"
    key: str
    received: int
    resolved: int
    solved: int
    response_due: int
    responded_on_time: int
    rated: int
    satisfied: int
    overdue: int


# Acknowledge deadlines still ahead leave a request out of response_due, and deadlines still
# ahead keep an open request from being overdue: those few requests are taken off the tallies.
# One statement, so that the tallies and the correction are read from the same snapshot.
_AHEAD = "0, 0, 0, 0, 0, 0, 0, 0, SUM(ack_ahead), SUM(deadline_ahead) FROM ahead GROUP BY"
_AXES = f"""
WITH ahead AS (
    SELECT r.official_id, r.category, e.city, e.stage, r.ack_ahead, r.deadline_ahead
    FROM (SELECT official_id, category, enterprise_id, 1 AS ack_ahead, 0 AS deadline_ahead
          FROM requests INDEXED BY requests_unacknowledged_by_deadline
          WHERE acknowledged_at IS NULL AND status != 'withdrawn' AND acknowledge_due_at >= ?1
          UNION ALL
          SELECT official_id, category, enterprise_id, 0, 1
          FROM requests INDEXED BY requests_open_by_deadline
          WHERE status IN ({_OPEN}) AND overdue_at >= ?1) AS r
    JOIN enterprises e ON e.id = r.enterprise_id
)
SELECT axis, key, SUM(received), SUM(resolved), SUM(solved), SUM(ack_tracked) - SUM(ack_ahead),
    SUM(responded_on_time), SUM(rated), SUM(satisfied),
    SUM(open_with_deadline) - SUM(deadline_ahead)
FROM (
    SELECT axis, key, received, resolved, solved, ack_tracked, responded_on_time, rated,
        satisfied, open_with_deadline, 0 AS ack_ahead, 0 AS deadline_ahead
    FROM request_tallies WHERE received > 0
    UNION ALL SELECT 'category', category, {_AHEAD} category
    UNION ALL SELECT 'city', city, {_AHEAD} city
    UNION ALL SELECT 'stage', stage, {_AHEAD} stage
    UNION ALL SELECT 'official', CAST(IFNULL(official_id, '') AS TEXT), {_AHEAD} official_id
)
GROUP BY axis, key
"""


def official_key(key: str) -> int | None:
    """The official's id from a key of the ``official`` axis ('' for requests nobody holds)."""
    return int(key) if key else None


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

    async def cube(
        self, *, now: datetime, official_id: int | None = None, scope: Scope = EVERYWHERE
    ) -> list[CubeRow]:
        """Counted from the requests themselves (one official's, through requests_by_official;
        one city's enterprises' for a city office)."""
        clause, city = scope.where("e.city")
        if official_id is None:
            rows = await self._db.fetch_report(
                _CUBE.format(mine=clause.replace("?", "?2")), (to_epoch(now), *city)
            )
        else:
            sql = _CUBE.format(mine="AND r.official_id = ?2" + clause.replace("?", "?3"))
            rows = await self._db.fetch_report(sql, (to_epoch(now), official_id, *city))
        return [CubeRow(row[0], row[1], row[2], row[3], *(n or 0 for n in row[4:])) for row in rows]

    async def axes(self, *, now: datetime) -> list[AxisRow]:
        """The whole program's counts per category, city, stage and official."""
        rows = await self._db.fetch_report(_AXES, (to_epoch(now),))
        return [AxisRow(*row) for row in rows]

    async def officials_taking_part(self, scope: Scope = EVERYWHERE) -> int:
        """Active officials with enterprises (a city's: with enterprises in that city)."""
        clause, city = scope.where("e.city")
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM officials o WHERE o.active = 1"
                " AND EXISTS (SELECT 1 FROM assignments a"
                " JOIN enterprises e ON e.id = a.enterprise_id"
                f" WHERE a.official_id = o.id{clause})",
                city,
            )
        )

    async def enterprises_linked(
        self, official_id: int | None = None, scope: Scope = EVERYWHERE
    ) -> int:
        clause, city = scope.where("(SELECT e.city FROM enterprises e WHERE e.id = enterprise_id)")
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(DISTINCT enterprise_id) FROM assignments"
                f" WHERE (?1 IS NULL OR official_id = ?1){clause.replace('?', '?2')}",
                (official_id, *city),
            )
        )

    async def enterprises_visited(
        self, official_id: int | None = None, scope: Scope = EVERYWHERE
    ) -> int:
        clause, city = scope.where("(SELECT e.city FROM enterprises e WHERE e.id = enterprise_id)")
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(DISTINCT enterprise_id) FROM site_visits"
                f" WHERE (?1 IS NULL OR official_id = ?1){clause.replace('?', '?2')}",
                (official_id, *city),
            )
        )

    async def official_names(self) -> dict[int, str]:
        rows = await self._db.fetch_all("SELECT id, name FROM officials")
        return {row[0]: row[1] for row in rows}

    async def overdue_count(self, *, now: datetime) -> int:
        """How many open requests are past a deadline (through requests_open_by_deadline)."""
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM requests INDEXED BY requests_open_by_deadline"
                f" WHERE status IN ({_OPEN}) AND overdue_at < ?",
                (to_epoch(now),),
            )
        )

    async def overdue(
        self,
        *,
        now: datetime,
        official_id: int | None = None,
        limit: int = 20,
        scope: Scope = EVERYWHERE,
    ) -> list[OverdueRow]:
        """Open requests past a deadline, the longest overdue first."""
        # The whole program's list walks the open requests in deadline order; one official's
        # comes from requests_by_official.
        source = "r INDEXED BY requests_open_by_deadline" if official_id is None else "r"
        params: list[object] = [to_epoch(now), limit]
        mine = ""
        if official_id is not None:
            params.append(official_id)
            mine = f" AND r.official_id = ?{len(params)}"
        clause, city = scope.where("e.city")
        if city:
            params.extend(city)
            mine += clause.replace("?", f"?{len(params)}")
        rows = await self._db.fetch_report(
            "SELECT r.number, e.name, o.name, r.status, r.overdue_at"
            f" FROM requests {source} JOIN enterprises e ON e.id = r.enterprise_id"
            " LEFT JOIN officials o ON o.id = r.official_id"
            f" WHERE r.status IN ({_OPEN}) AND r.overdue_at < ?1{mine}"
            " ORDER BY r.overdue_at, r.id LIMIT ?2",
            params,
        )
        return [OverdueRow(row[0], row[1], row[2], row[3], from_epoch(row[4])) for row in rows]
