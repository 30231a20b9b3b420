"""The provincial round from the seeds, as data: 33 officials × 20 enterprises, 291 visited,
681 requests of which 325 were solved (解决率 47.7%)."""

from __future__ import annotations

from datetime import datetime

from bot.cities import CITIES
from bot.clock import to_epoch
from bot.credit_code import make_credit_code
from bot.services import Services
from storage.bulk import RequestRow, insert_requests, insert_visits
from storage.models import Stage
from storage.rosters import AssignmentRecord, EnterpriseRecord, OfficialRecord, RosterRepository

CATEGORIES = ("policy", "factors", "approval", "payments", "ip", "chain")
STAGES = tuple(Stage)
DAY = 86400


def credit_code(n: int) -> str:
    return make_credit_code(f"91210100MA{n:07d}")


async def load_provincial_round(services: Services, *, now: datetime) -> None:
    """Officials PROV-01..33 each with 20 enterprises; requests spread over the round."""
    repo = RosterRepository(services.db)
    officials = [
        OfficialRecord(
            f"PROV-{i:02d}",
            f"省领导{i:02d}",
            "副省长",
            "辽宁省人民政府",
            "province",
            CITIES[i % 15].code,
            "",
        )
        for i in range(1, 34)
    ]
    enterprises = [
        EnterpriseRecord(
            credit_code(n), f"企业{n:03d}", CITIES[n % 15].code, STAGES[n % 3].value, "制造"
        )
        for n in range(660)
    ]
    await repo.import_officials(officials, now=now)
    await repo.import_enterprises(enterprises, now=now)
    await repo.import_assignments(
        [AssignmentRecord(f"PROV-{n // 20 + 1:02d}", credit_code(n), True) for n in range(660)],
        now=now,
    )
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
