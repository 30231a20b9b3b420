"""The ledger's aggregates, computed in SQL.

For the whole program they are read from ``request_tallies``, which triggers keep per category,
city, stage and official (migration 0004); only the two counts that depend on the clock are
corrected at read time, from the requests whose deadlines are still ahead. For one official, and
to check the tallies, the cube is computed from the requests themselves: one pass grouped by
(official, category, city, stage), which the domain adds up along any of those axes; so is a
cut of the programme (:class:`Cut`: one city's enterprises, one tier's officials). The rounds
(the provincial leaders', each city's) add up the officials' tallies by the official's tier
and city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database
from storage.dialect import SQL
from storage.rows import rows_to

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
    COUNT(*) AS received,
    COUNT(*) FILTER (WHERE r.resolved_at IS NOT NULL) AS resolved,
    COUNT(*) FILTER (WHERE r.outcome = 'solved') AS solved,
    COUNT(*) FILTER (WHERE r.acknowledge_due_at IS NOT NULL
        AND (r.acknowledged_at IS NOT NULL OR r.acknowledge_due_at < :now)) AS response_due,
    COUNT(*) FILTER (WHERE r.acknowledged_at IS NOT NULL
        AND r.acknowledged_at <= r.acknowledge_due_at) AS responded_on_time,
    COUNT(*) FILTER (WHERE r.rating IS NOT NULL) AS rated,
    COUNT(*) FILTER (WHERE r.rating >= 4) AS satisfied,
    COUNT(*) FILTER (WHERE r.status IN ({_OPEN}) AND (r.resolve_due_at < :now
        OR (r.acknowledged_at IS NULL AND r.acknowledge_due_at < :now))) AS overdue
FROM requests r JOIN enterprises e ON e.id = r.enterprise_id{{holder}}
WHERE r.status != 'withdrawn'{{where}}
GROUP BY r.official_id, r.category, e.city, e.stage
"""


@dataclass(frozen=True, slots=True)
class Cut:
    """Which part of the programme a figure is about: the requests of one city's enterprises
    (whoever holds them), of the officials of one tier, or both; neither is the whole."""

    city: str | None = None  # the enterprise's city code
    tier: str | None = None  # the holder's tier (officials.level)

    @property
    def whole(self) -> bool:
        return self.city is None and self.tier is None


WHOLE = Cut()


def _request_filter(official_id: int | None, cut: Cut) -> tuple[str, str, dict[str, object]]:
    """(join of the holder, conditions, parameters) selecting the requests of ``cut``."""
    where = ""
    if official_id is not None:
        where += " AND r.official_id = :official"
    if cut.city is not None:
        where += " AND e.city = :city"
    holder = ""
    if cut.tier is not None:
        holder = " JOIN officials o ON o.id = r.official_id"
        where += " AND o.level = :tier"
    return holder, where, {"official": official_id, "city": cut.city, "tier": cut.tier}


# The round of an official's requests: the provincial leaders' one, or their city's.
_ROUND = "CASE o.level WHEN 'province' THEN 'province' ELSE o.city END"
# Per round and for all cities' rounds together ('cities'): what each measure counts.
_ROUND_MEASURES = {
    "officials": "COUNT(*) FROM officials o WHERE o.active = 1"
    " AND EXISTS (SELECT 1 FROM assignments a WHERE a.official_id = o.id)",
    "enterprises": "COUNT(DISTINCT a.enterprise_id) FROM assignments a"
    " JOIN officials o ON o.id = a.official_id WHERE true",
    "visited": "COUNT(DISTINCT v.enterprise_id) FROM site_visits v"
    " JOIN officials o ON o.id = v.official_id WHERE true",
}
_ROUND_COUNTS = " UNION ALL ".join(
    f"SELECT '{measure}', {key}, {counted}{where} GROUP BY 2"
    for measure, counted in _ROUND_MEASURES.items()
    for key, where in ((_ROUND, ""), ("'cities'", " AND o.level != 'province'"))
)


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
_AXES_SQL = f"""
WITH ahead AS (
    SELECT r.official_id, r.category, e.city, e.stage, r.ack_ahead, r.deadline_ahead
    FROM (SELECT official_id, category, enterprise_id, 1 AS ack_ahead, 0 AS deadline_ahead
          FROM requests{{unacknowledged_index}}
          WHERE acknowledged_at IS NULL AND status != 'withdrawn' AND acknowledge_due_at >= :now
          UNION ALL
          SELECT official_id, category, enterprise_id, 0, 1
          FROM requests{{open_index}}
          WHERE status IN ({_OPEN}) AND overdue_at >= :now) AS r
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
    UNION ALL SELECT 'official', COALESCE(CAST(official_id AS TEXT), ''), {_AHEAD} official_id
) AS tallied
GROUP BY axis, key
"""
# SQLite's planner is told which partial index each half reads; PostgreSQL's finds them itself.
_AXES = {
    dialect: _AXES_SQL.format(
        unacknowledged_index=sql.index_hint("requests_unacknowledged_by_deadline"),
        open_index=sql.index_hint("requests_open_by_deadline"),
    )
    for dialect, sql in SQL.items()
}


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
        self, *, now: datetime, official_id: int | None = None, cut: Cut = WHOLE
    ) -> list[CubeRow]:
        """Counted from the requests themselves: one official's (through requests_by_official),
        one city's enterprises' or one tier's, or all."""
        holder, where, params = _request_filter(official_id, cut)
        rows = await self._db.fetch_report(
            _CUBE.format(holder=holder, where=where), {**params, "now": to_epoch(now)}
        )
        return rows_to(CubeRow, rows)

    async def axes(self, *, now: datetime) -> list[AxisRow]:
        """The whole program's counts per category, city, stage and official."""
        rows = await self._db.fetch_report(_AXES[self._db.dialect], {"now": to_epoch(now)})
        return [AxisRow(*row) for row in rows]

    async def officials_taking_part(self, cut: Cut = WHOLE) -> int:
        """Active officials with an assignment (in ``cut``: to an enterprise of its city, and
        of its tier)."""
        if cut.whole:
            sql = (
                "SELECT COUNT(*) FROM officials o WHERE o.active = 1"
                " AND EXISTS (SELECT 1 FROM assignments a WHERE a.official_id = o.id)"
            )
        else:
            sql = (
                "SELECT COUNT(DISTINCT o.id) FROM assignments a"
                " JOIN officials o ON o.id = a.official_id"
                " JOIN enterprises e ON e.id = a.enterprise_id WHERE o.active = 1"
                " AND (:city IS NULL OR e.city = :city) AND (:tier IS NULL OR o.level = :tier)"
            )
        return int((await self._db.fetch_all(sql, _cut_params(cut)))[0][0])

    async def enterprises_linked(self, official_id: int | None = None, cut: Cut = WHOLE) -> int:
        """Enterprises with an assignment (to this official; in ``cut``)."""
        return await self._enterprises("assignments", official_id, cut)

    async def enterprises_visited(self, official_id: int | None = None, cut: Cut = WHOLE) -> int:
        """Enterprises with a site visit (by this official; in ``cut``)."""
        return await self._enterprises("site_visits", official_id, cut)

    async def _enterprises(self, table: str, official_id: int | None, cut: Cut) -> int:
        joins, where = "", ""
        if not cut.whole:
            joins = (
                " JOIN officials o ON o.id = t.official_id"
                " JOIN enterprises e ON e.id = t.enterprise_id"
            )
            where = " AND (:city IS NULL OR e.city = :city) AND (:tier IS NULL OR o.level = :tier)"
        value = await self._db.fetch_all(
            f"SELECT COUNT(DISTINCT t.enterprise_id) FROM {table} t{joins}"
            f" WHERE (:official IS NULL OR t.official_id = :official){where}",
            {**_cut_params(cut), "official": official_id},
        )
        return int(value[0][0])

    async def round_counts(self) -> dict[tuple[str, str], int]:
        """(measure, round) → count, for officials taking part, enterprises linked and
        enterprises visited; a round is 'province', a city code, or 'cities' for all cities'."""
        rows = await self._db.fetch_report(_ROUND_COUNTS)
        return {(row[0], row[1]): row[2] for row in rows}

    async def official_tiers(self) -> dict[int, tuple[str, str]]:
        """Every official's (tier, city)."""
        rows = await self._db.fetch_all("SELECT id, level, city FROM officials")
        return {row[0]: (row[1], row[2]) for row in rows}

    async def official_names(self) -> dict[int, str]:
        rows = await self._db.fetch_all("SELECT id, name FROM officials")
        return {row[0]: row[1] for row in rows}

    async def overdue_count(self, *, now: datetime) -> int:
        """How many open requests are past a deadline (through requests_open_by_deadline)."""
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM requests"
                f"{SQL[self._db.dialect].index_hint('requests_open_by_deadline')}"
                f" WHERE status IN ({_OPEN}) AND overdue_at < ?",
                (to_epoch(now),),
            )
        )

    async def overdue(
        self, *, now: datetime, official_id: int | None = None, cut: Cut = WHOLE, limit: int = 20
    ) -> list[OverdueRow]:
        """Open requests past a deadline (of this official; in ``cut``), the longest overdue
        first."""
        # The whole program's list walks the open requests in deadline order; one official's
        # comes from requests_by_official.
        hint = SQL[self._db.dialect].index_hint("requests_open_by_deadline")
        source = f"r{hint}" if official_id is None else "r"
        rows = await self._db.fetch_report(
            "SELECT r.number, e.name AS enterprise, o.name AS official, r.status,"
            " r.overdue_at AS due_at"
            f" FROM requests {source} JOIN enterprises e ON e.id = r.enterprise_id"
            " LEFT JOIN officials o ON o.id = r.official_id"
            f" WHERE r.status IN ({_OPEN}) AND r.overdue_at < :now"
            " AND (:official IS NULL OR r.official_id = :official)"
            " AND (:city IS NULL OR e.city = :city) AND (:tier IS NULL OR o.level = :tier)"
            " ORDER BY r.overdue_at, r.id LIMIT :limit",
            {**_cut_params(cut), "now": to_epoch(now), "official": official_id, "limit": limit},
        )
        return rows_to(OverdueRow, rows)


def _cut_params(cut: Cut) -> dict[str, object]:
    return {"city": cut.city, "tier": cut.tier}
