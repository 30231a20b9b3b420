"""Both rounds of the source material, as data.

The provincial round: 33 provincial leaders × 20 enterprises, 291 visited, 681 requests of
which 325 resolved and solved (办结率 47.7%). The cities' round, passed down to the 14 cities
and 沈抚示范区: 4,833 city and county officials, 9,340 enterprises, 2,327 requests of which
1,127 resolved and solved (48.4%). Both loaded through the documented roster import (CSV files
with the Chinese column titles and names), the visits and requests in bulk (for the same
rounds through the bot's own flows, see tests/round_flows.py).
"""

from __future__ import annotations

from datetime import datetime

from bot.channels import ChannelHasher
from bot.cities import CITIES
from bot.clock import to_epoch
from bot.credit_code import make_credit_code
from bot.rosters import RosterKind, import_roster
from bot.services import Services
from storage.bulk import RequestRow, insert_requests, insert_visits
from storage.rosters import RosterRepository

CATEGORIES = ("policy", "factors", "approval", "payments", "ip", "chain")
STAGE_NAMES = ("初创型", "成长期", "成熟期")  # as the rosters write startup, growth, mature
DAY = 86400


def credit_code(n: int) -> str:
    return make_credit_code(f"91210100MA{n:07d}")


def provincial_rosters() -> dict[RosterKind, list[str]]:
    """Officials PROV-01..33 each with 20 enterprises, as the rosters' CSV lines."""
    return {
        RosterKind.OFFICIALS: ["编号,姓名,职务,单位,层级,城市"]
        + [
            f"PROV-{i:02d},省领导{i:02d},副省长,辽宁省人民政府,省级,{CITIES[i % 15].zh}"
            for i in range(1, 34)
        ],
        RosterKind.ENTERPRISES: ["统一社会信用代码,企业名称,城市,发展阶段,行业"]
        + [
            f"{credit_code(n)},企业{n:03d},{CITIES[n % 15].zh},{STAGE_NAMES[n % 3]},制造"
            for n in range(660)
        ],
        RosterKind.ASSIGNMENTS: ["官员编号,统一社会信用代码,主责"]
        + [f"PROV-{n // 20 + 1:02d},{credit_code(n)},是" for n in range(660)],
    }


async def load_provincial_round(services: Services, *, now: datetime) -> None:
    """Officials PROV-01..33 each with 20 enterprises, imported as the rosters' CSV files;
    visits and requests spread over the round."""
    await import_rosters(services, provincial_rosters(), now=now)
    ids = {o.external_id: o.id for o in await services.officials.all_active()}
    enterprise_ids = [
        e.id
        for e in [await services.enterprises.by_credit_code(credit_code(n)) for n in range(660)]
        if e is not None
    ]
    start = to_epoch(now) - 120 * DAY
    await insert_visits(
        services.db,
        [
            (ids[f"PROV-{n // 20 + 1:02d}"], enterprise_ids[n], "2026-01-10", start)
            for n in range(291)
        ],
    )
    await insert_requests(
        services.db, [_request(i, enterprise_ids, ids, start) for i in range(681)]
    )


def _request(i: int, enterprise_ids: list[int], ids: dict[str, int], start: int) -> RequestRow:
    n = (i * 7) % 660
    created = start + i * (100 * DAY // 681)
    solved = i < 325
    acknowledged = created + (DAY // 2 if i % 10 else 3 * DAY)
    return RequestRow(
        number=f"LN-{datetime.fromtimestamp(created).strftime('%Y%m%d')}-{i:04d}",
        enterprise_id=enterprise_ids[n],
        submitted_by=1,
        category=CATEGORIES[i % 6],
        summary=f"诉求 {i}",
        status="closed" if solved else ("in_progress" if i % 2 else "acknowledged"),
        official_id=ids[f"PROV-{n // 20 + 1:02d}"],
        created_at=created,
        acknowledged_at=acknowledged,
        resolved_at=created + 10 * DAY if solved else None,
        closed_at=created + 12 * DAY if solved else None,
        acknowledge_due_at=created + DAY,
        resolve_due_at=created + 21 * DAY,
        outcome="solved" if solved else None,
        rating=(5 if i % 4 else 3) if solved else None,
    )


async def import_rosters(
    services: Services, rosters: dict[RosterKind, list[str]], *, now: datetime
) -> None:
    """Each roster's CSV lines through the import ``python -m bot import`` runs."""
    hasher = ChannelHasher(services.settings.security.hash_key.get_secret_value().encode())
    repo = RosterRepository(services.db)
    for kind, lines in rosters.items():
        data = "\n".join(lines).encode()
        report = await import_roster(
            services.db, repo, kind, data, f"{kind}.csv", hasher=hasher, now=now
        )
        assert report.ok, report.problems[:5]


CITY_OFFICIALS = 4833
CITY_ENTERPRISES = 9340
CITY_REQUESTS = 2327
CITY_RESOLVED = 1127


def city_credit_code(n: int) -> str:
    return make_credit_code(f"91210200MB{n:07d}")


def _city_of(official: int) -> str:
    return CITIES[official % len(CITIES)].zh


def city_rosters() -> dict[RosterKind, list[str]]:
    """Officials C-0000..4832 (every seventh a county official) with one or two enterprises
    each, in their city, as the rosters' CSV lines."""
    return {
        RosterKind.OFFICIALS: ["编号,姓名,职务,单位,层级,城市"]
        + [
            f"C-{j:04d},市官员{j:04d},局长,{_city_of(j)}人民政府,"
            f"{'县级' if j % 7 == 0 else '市级'},{_city_of(j)}"
            for j in range(CITY_OFFICIALS)
        ],
        RosterKind.ENTERPRISES: ["统一社会信用代码,企业名称,城市,发展阶段,行业"]
        + [
            f"{city_credit_code(n)},市企业{n:04d},{_city_of(n % CITY_OFFICIALS)},"
            f"{STAGE_NAMES[n % 3]},制造"
            for n in range(CITY_ENTERPRISES)
        ],
        RosterKind.ASSIGNMENTS: ["官员编号,统一社会信用代码,主责"]
        + [f"C-{n % CITY_OFFICIALS:04d},{city_credit_code(n)},是" for n in range(CITY_ENTERPRISES)],
    }


async def load_city_round(services: Services, *, now: datetime) -> None:
    """The cities' rosters (:func:`city_rosters`) imported as CSV files, then the round's
    requests."""
    await import_rosters(services, city_rosters(), now=now)
    ids = {
        row[0]: row[1]
        for row in await services.db.fetch_all("SELECT external_id, id FROM officials")
    }
    enterprise_ids = {
        row[0]: row[1]
        for row in await services.db.fetch_all("SELECT credit_code, id FROM enterprises")
    }
    start = to_epoch(now) - 120 * DAY
    await insert_requests(
        services.db,
        [_city_request(i, enterprise_ids, ids, start) for i in range(CITY_REQUESTS)],
    )


def _city_request(
    i: int, enterprises: dict[str, int], ids: dict[str, int], start: int
) -> RequestRow:
    n = (i * 7) % CITY_ENTERPRISES
    created = start + i * (100 * DAY // CITY_REQUESTS)
    solved = i < CITY_RESOLVED
    return RequestRow(
        number=f"LN-{datetime.fromtimestamp(created).strftime('%Y%m%d')}-C{i:04d}",
        enterprise_id=enterprises[city_credit_code(n)],
        submitted_by=1,
        category=CATEGORIES[i % 6],
        summary=f"市级诉求 {i}",
        status="closed" if solved else "in_progress",
        official_id=ids[f"C-{n % CITY_OFFICIALS:04d}"],
        created_at=created,
        acknowledged_at=created + DAY // 2,
        resolved_at=created + 10 * DAY if solved else None,
        closed_at=created + 12 * DAY if solved else None,
        acknowledge_due_at=created + DAY,
        resolve_due_at=created + 21 * DAY,
        outcome="solved" if solved else None,
        rating=(5 if (i // 15) % 4 else 3) if solved else None,
    )
