"""The counts and the three rates (三率) the program is judged by, and how they read.

Definitions (also in docs/ledger.md):

- received: every request except those withdrawn by the enterprise;
- resolved (办结): the official marked it resolved (it may since be closed);
- solved (解决): the entrepreneur answered "solved" — only this counts as solved;
- response rate (响应率): acknowledged within its deadline ÷ requests whose acknowledge
  deadline has passed or that were acknowledged;
- resolution rate (解决率): solved ÷ received;
- satisfaction rate (满意率): ratings of 4 or 5 ÷ requests rated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TypeVar

from bot.cities import city_name
from bot.i18n import Translator
from storage.scope import EVERYWHERE, Scope
from storage.stats import AxisRow, CubeRow, OverdueRow, StatsRepository, official_key

_K = TypeVar("_K")


@dataclass(frozen=True, slots=True)
class Tally:
    received: int = 0
    resolved: int = 0
    solved: int = 0
    response_due: int = 0
    responded_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def resolution_rate(self) -> float | None:
        return rate(self.solved, self.received)

    @property
    def response_rate(self) -> float | None:
        return rate(self.responded_on_time, self.response_due)

    @property
    def satisfaction_rate(self) -> float | None:
        return rate(self.satisfied, self.rated)


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _tally(row: CubeRow | AxisRow) -> Tally:
    return Tally(
        received=row.received,
        resolved=row.resolved,
        solved=row.solved,
        response_due=row.response_due,
        responded_on_time=row.responded_on_time,
        rated=row.rated,
        satisfied=row.satisfied,
        overdue=row.overdue,
    )


def group(rows: Iterable[CubeRow], key: Callable[[CubeRow], _K]) -> dict[_K, Tally]:
    totals: dict[_K, Tally] = defaultdict(Tally)
    for row in rows:
        totals[key(row)] += _tally(row)
    return dict(totals)


@dataclass(frozen=True, slots=True)
class Ranked:
    official_id: int
    name: str
    tally: Tally


@dataclass(frozen=True, slots=True)
class Stats:
    officials: int
    enterprises_linked: int
    enterprises_visited: int
    total: Tally
    by_category: dict[str, Tally]
    by_city: dict[str, Tally]
    by_stage: dict[str, Tally]
    ranking: tuple[Ranked, ...]
    overdue: tuple[OverdueRow, ...]


@dataclass(frozen=True, slots=True)
class _Breakdown:
    total: Tally
    by_category: dict[str, Tally]
    by_city: dict[str, Tally]
    by_stage: dict[str, Tally]
    by_official: dict[int | None, Tally]


def _from_cube(cube: list[CubeRow]) -> _Breakdown:
    return _Breakdown(
        total=sum((_tally(r) for r in cube), Tally()),
        by_category=group(cube, lambda r: r.category),
        by_city=group(cube, lambda r: r.city),
        by_stage=group(cube, lambda r: r.stage),
        by_official=group(cube, lambda r: r.official_id),
    )


def _from_axes(axes: list[AxisRow]) -> _Breakdown:
    by_axis: dict[str, dict[str, Tally]] = defaultdict(dict)
    for row in axes:
        by_axis[row.axis][row.key] = _tally(row)
    return _Breakdown(
        total=sum(by_axis["category"].values(), Tally()),
        by_category=by_axis["category"],
        by_city=by_axis["city"],
        by_stage=by_axis["stage"],
        by_official={official_key(k): t for k, t in by_axis["official"].items()},
    )


async def compute_stats(
    repo: StatsRepository,
    *,
    now: datetime,
    official_id: int | None = None,
    scope: Scope = EVERYWHERE,
) -> Stats:
    """Everything /stats shows, for the whole program (from the tallies), for one city office
    (``scope``: its enterprises' requests) or for one official."""
    if official_id is None and scope.everywhere:
        counts = _from_axes(await repo.axes(now=now))
    else:
        counts = _from_cube(await repo.cube(now=now, official_id=official_id, scope=scope))
    names = await repo.official_names()
    ranking = sorted(
        (
            Ranked(oid, names.get(oid, "?"), t)
            for oid, t in counts.by_official.items()
            if oid is not None
        ),
        key=lambda r: (-(r.tally.resolution_rate or 0), -r.tally.received, r.name),
    )
    return Stats(
        officials=1 if official_id is not None else await repo.officials_taking_part(scope),
        enterprises_linked=await repo.enterprises_linked(official_id, scope),
        enterprises_visited=await repo.enterprises_visited(official_id, scope),
        total=counts.total,
        by_category=counts.by_category,
        by_city=counts.by_city,
        by_stage=counts.by_stage,
        ranking=tuple(ranking),
        overdue=tuple(await repo.overdue(now=now, official_id=official_id, scope=scope)),
    )


def _line(texts: Translator, label: str, tally: Tally) -> str:
    return texts(
        "stats.line",
        label=label,
        received=tally.received,
        solved=tally.solved,
        rate=percent(tally.resolution_rate),
    )


def render_stats(
    stats: Stats,
    texts: Translator,
    *,
    for_official: bool,
    top: int = 10,
    scope: Scope = EVERYWHERE,
) -> str:
    """The /stats message: counts, the three rates, breakdowns, ranking and overdue list; a
    city office's says whose it is ("（仅大连市）")."""
    t = stats.total
    title = texts("stats.title_own" if for_official else "stats.title")
    if scope.city is not None:
        title += texts("offices.scope_note", office=city_name(scope.city, texts.language))
    parts = [
        title,
        texts(
            "stats.counts",
            officials=stats.officials,
            linked=stats.enterprises_linked,
            visited=stats.enterprises_visited,
            received=t.received,
            resolved=t.resolved,
            solved=t.solved,
        ),
        texts(
            "stats.rates",
            response=percent(t.response_rate),
            resolution=percent(t.resolution_rate),
            satisfaction=percent(t.satisfaction_rate),
            overdue=t.overdue,
        ),
    ]
    sections: list[tuple[str, dict[str, Tally], Callable[[str], str]]] = [
        ("stats.by_category", stats.by_category, lambda k: texts(f"ledger.category.{k}")),
        ("stats.by_city", stats.by_city, lambda k: city_name(k, texts.language)),
        ("stats.by_stage", stats.by_stage, lambda k: texts(f"stage.{k}")),
    ]
    for title, table, label in sections:
        if table:
            rows = sorted(table.items(), key=lambda item: -item[1].received)
            parts.append(
                texts(title) + "\n" + "\n".join(_line(texts, label(k), v) for k, v in rows[:top])
            )
    if stats.ranking and not for_official:
        lines = [
            f"{i}. " + _line(texts, r.name, r.tally) for i, r in enumerate(stats.ranking[:top], 1)
        ]
        parts.append(texts("stats.ranking") + "\n" + "\n".join(lines))
    if stats.overdue:
        lines = [
            texts(
                "stats.overdue_line",
                number=o.number,
                enterprise=o.enterprise,
                official=o.official or "—",
            )
            for o in stats.overdue
        ]
        parts.append(texts("stats.overdue") + "\n" + "\n".join(lines))
    return "\n\n".join(parts)
