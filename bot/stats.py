"""The counts and the three rates (三率) the program is judged by, and how they read.

Definitions (also in docs/ledger.md):

- received: every request except those withdrawn by the enterprise;
- resolved (办结): the official marked it resolved (it may since be closed);
- solved (解决): the entrepreneur answered "solved" — only this counts as solved;
- response rate (响应率): acknowledged within its deadline ÷ requests whose acknowledge
  deadline has passed or that were acknowledged;
- resolution rate (解决率): solved ÷ received;
- satisfaction rate (满意率): ratings of 4 or 5 ÷ requests rated;
- completion rate (办结率): resolved ÷ received, the figure the programme's reports give.

The programme can be cut (:class:`storage.stats.Cut`) by city (the requests of the city's
enterprises, whoever holds them) and by tier (of the officials who hold them). The province
view sets the rounds side by side: the provincial leaders' round, each city's round (its city
and county officials') and the totals, and ranks the cities on the three rates.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TypeVar

from bot.cities import CITIES, city_name, parse_city
from bot.i18n import Html, Translator
from bot.tiers import parse_tier, round_of, tier_name
from storage.stats import (
    WHOLE,
    AxisRow,
    CubeRow,
    Cut,
    OverdueRow,
    StatsRepository,
    official_key,
)

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

    @property
    def completion_rate(self) -> float | None:
        return rate(self.resolved, self.received)


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
    by_tier: dict[str, Tally] = field(default_factory=dict)  # the holders' tiers
    cut: Cut = WHOLE
    rounds: Rounds | None = None  # the province view's, for the whole programme only


@dataclass(frozen=True, slots=True)
class Round:
    """One round's figures: ``key`` is "province", a city code, or "cities" for all cities'."""

    key: str
    officials: int
    enterprises: int
    visited: int
    tally: Tally


@dataclass(frozen=True, slots=True)
class Rounds:
    province: Round
    cities: Round
    by_city: tuple[Round, ...]  # Liaoning's cities in their order, then any other city stored

    def ranked(self) -> tuple[Round, ...]:
        """The cities with requests, by resolution, then response, then satisfaction rate."""
        rates = ("resolution_rate", "response_rate", "satisfaction_rate")
        return tuple(
            sorted(
                (r for r in self.by_city if r.tally.received),
                key=lambda r: (*(-(getattr(r.tally, a) or 0) for a in rates), r.key),
            )
        )


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
    repo: StatsRepository, *, now: datetime, official_id: int | None = None, cut: Cut = WHOLE
) -> Stats:
    """Everything /stats shows, for the whole program (from the tallies, with the rounds side
    by side), for a cut of it, or for one official.

    The reads do not depend on each other and are made at once: on PostgreSQL each on a
    connection of its own, so that the server runs the two long ones (the tallies, the rounds)
    side by side; on SQLite the reports run in its thread while the short reads go on."""
    whole = official_id is None and cut.whole
    async with asyncio.TaskGroup() as reads:
        counts_read = reads.create_task(_counts(repo, now, official_id, cut))
        names_read = reads.create_task(repo.official_names())
        tiers_read = reads.create_task(repo.official_tiers())
        officials_read = reads.create_task(
            _one() if official_id is not None else repo.officials_taking_part(cut)
        )
        linked_read = reads.create_task(repo.enterprises_linked(official_id, cut))
        visited_read = reads.create_task(repo.enterprises_visited(official_id, cut))
        overdue_read = reads.create_task(repo.overdue(now=now, official_id=official_id, cut=cut))
        rounds_read = reads.create_task(repo.round_counts()) if whole else None
    counts = counts_read.result()
    names = names_read.result()
    ranking = sorted(
        (
            Ranked(oid, names.get(oid, "?"), t)
            for oid, t in counts.by_official.items()
            if oid is not None
        ),
        key=lambda r: (-(r.tally.resolution_rate or 0), -r.tally.received, r.name),
    )
    tiers = tiers_read.result()
    by_tier: dict[str, Tally] = defaultdict(Tally)
    for oid, tally in counts.by_official.items():
        if oid in tiers:
            by_tier[tiers[oid][0]] += tally
    return Stats(
        officials=officials_read.result(),
        enterprises_linked=linked_read.result(),
        enterprises_visited=visited_read.result(),
        total=counts.total,
        by_category=counts.by_category,
        by_city=counts.by_city,
        by_stage=counts.by_stage,
        ranking=tuple(ranking),
        overdue=tuple(overdue_read.result()),
        by_tier=dict(by_tier),
        cut=cut,
        rounds=await compute_rounds(
            repo,
            now=now,
            by_official=counts.by_official,
            tiers=tiers,
            counts=rounds_read.result(),
        )
        if rounds_read is not None
        else None,
    )


async def _counts(
    repo: StatsRepository, now: datetime, official_id: int | None, cut: Cut
) -> _Breakdown:
    if official_id is None and cut.whole:
        return _from_axes(await repo.axes(now=now))
    return _from_cube(await repo.cube(now=now, official_id=official_id, cut=cut))


async def _one() -> int:
    return 1


async def compute_rounds(
    repo: StatsRepository,
    *,
    now: datetime,
    by_official: dict[int | None, Tally] | None = None,
    tiers: dict[int, tuple[str, str]] | None = None,
    counts: dict[tuple[str, str], int] | None = None,
) -> Rounds:
    """The provincial round, each city's round and all cities' together: the officials'
    tallies added up by the official's tier and city (requests nobody holds are in no round)."""
    if by_official is None:
        by_official = _from_axes(await repo.axes(now=now)).by_official
    if tiers is None:
        tiers = await repo.official_tiers()
    tallies: dict[str, Tally] = defaultdict(Tally)
    for official_id, tally in by_official.items():
        if official_id is None or official_id not in tiers:
            continue
        tier, city = tiers[official_id]
        if round_of(tier) == "city":
            tallies[city] += tally
            tallies["cities"] += tally
        else:
            tallies["province"] += tally
    if counts is None:
        counts = await repo.round_counts()

    def make(key: str) -> Round:
        officials, enterprises, visited = (
            counts.get((measure, key), 0) for measure in ("officials", "enterprises", "visited")
        )
        return Round(key, officials, enterprises, visited, tallies.get(key, Tally()))

    known = [city.code for city in CITIES]
    others = sorted(({k for _, k in counts} | set(tallies)) - {"province", "cities", *known})
    return Rounds(make("province"), make("cities"), tuple(make(k) for k in known + others))


class BadCut(ValueError):
    """An argument that is neither a city nor a tier."""


def parse_cut(args: list[str]) -> Cut:
    """``[city] [tier]``, in either order, as codes or names (大连, dalian, 市级, city)."""
    city = tier = None
    for arg in args:
        if (found := parse_tier(arg)) is not None:
            tier = found.value
        elif (code := parse_city(arg)) is not None:
            city = code
        else:
            raise BadCut(arg)
    return Cut(city=city, tier=tier)


def _line(texts: Translator, label: str, tally: Tally) -> str:
    return texts(
        "stats.line",
        label=label,
        received=tally.received,
        solved=tally.solved,
        rate=percent(tally.resolution_rate),
    )


def render_stats(stats: Stats, texts: Translator, *, for_official: bool, top: int = 10) -> str:
    """The /stats message: counts, the three rates, breakdowns, ranking and overdue list."""
    t = stats.total
    parts = [
        texts("stats.title_own" if for_official else "stats.title") + _cut_label(stats.cut, texts),
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
        ("stats.by_tier", stats.by_tier if not for_official else {}, _tier_label(texts)),
    ]
    for title, table, label in sections:
        if table:
            # Ties in the order of their keys, whichever order the backend grouped them in.
            rows = sorted(table.items(), key=lambda item: (-item[1].received, str(item[0])))
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


def _tier_label(texts: Translator) -> Callable[[str], str]:
    return lambda tier: tier_name(tier, texts.language) or tier


def _cut_label(cut: Cut, texts: Translator) -> str:
    """ " · 大连市 · 市级" for a cut, nothing for the whole programme."""
    names = [city_name(cut.city, texts.language)] if cut.city else []
    names += [texts(f"level.{cut.tier}")] if cut.tier else []
    return "".join(f" · {name}" for name in names)


def _round_line(texts: Translator, label: str, r: Round) -> str:
    return texts(
        "stats.round_line",
        label=label,
        officials=r.officials,
        enterprises=r.enterprises,
        visited=r.visited,
        received=r.tally.received,
        resolved=r.tally.resolved,
        completion=percent(r.tally.completion_rate),
    )


def _city_label(key: str, texts: Translator) -> str:
    return city_name(key, texts.language) if key else texts("stats.no_city")


def render_rounds(stats: Stats, texts: Translator) -> str:
    """The province view: the provincial round, all cities' rounds and the totals side by
    side, each city's round, and the cities ranked on the three rates."""
    assert stats.rounds is not None
    rounds = stats.rounds
    total = Round("total", stats.officials, stats.enterprises_linked,
                  stats.enterprises_visited, stats.total)  # fmt: skip
    parts = [
        texts("stats.rounds_title"),
        "\n".join(
            _round_line(texts, Html(texts(f"stats.round_{r.key}")), r)
            for r in (rounds.province, rounds.cities, total)
        ),
        texts("stats.rounds_by_city")
        + "\n"
        + "\n".join(_round_line(texts, _city_label(r.key, texts), r) for r in rounds.by_city),
    ]
    ranked = rounds.ranked()
    if ranked:
        lines = [
            texts(
                "stats.city_rank_line",
                rank=i,
                city=_city_label(r.key, texts),
                response=percent(r.tally.response_rate),
                resolution=percent(r.tally.resolution_rate),
                satisfaction=percent(r.tally.satisfaction_rate),
            )
            for i, r in enumerate(ranked, 1)
        ]
        parts.append(texts("stats.city_ranking") + "\n" + "\n".join(lines))
    return "\n\n".join(parts)
