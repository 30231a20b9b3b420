"""Both rounds of the source material through the bot's own flows, not in bulk.

The rosters go in through the documented roster import (as in tests/ledger_data.py); every
request is submitted at the request desk by a contact of its enterprise, lands in the admins'
queue (the imported officials are not bound to Telegram yet, so routing cannot designate them),
is handed by an admin to the enterprise's official, acknowledged (and, for some, started) by
that official, and — for the resolved ones — resolved by the official, confirmed "solved" by
the enterprise and rated. The provincial leaders' visits are recorded through the site-visits
service. The fake clock moves between the steps, as days pass in a round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.clock import FakeClock
from bot.lifecycle import Action
from bot.offices import PROVINCE
from bot.roles import Actor
from bot.services import Services
from storage.models import Enterprise, Official
from storage.requests import NewRequest
from tests.ledger_data import (
    CATEGORIES,
    CITY_ENTERPRISES,
    CITY_OFFICIALS,
    CITY_REQUESTS,
    CITY_RESOLVED,
    city_credit_code,
    city_rosters,
    credit_code,
    import_rosters,
    provincial_rosters,
)

PROVINCIAL_REQUESTS = 681
PROVINCIAL_RESOLVED = 325
PROVINCIAL_VISITS = 291
ADMIN = Actor(telegram_id=7_000_001, office=PROVINCE)
CONTACT_BASE = 8_000_000  # a contact of enterprise #id has Telegram id CONTACT_BASE + id
OFFICIAL_BASE = 9_000_000  # an official not bound to Telegram acts as OFFICIAL_BASE + id
BETWEEN_SUBMISSIONS = timedelta(minutes=2)
TO_ACKNOWLEDGE = timedelta(hours=3)
TO_RESOLVE = timedelta(days=8)
TO_CONFIRM = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Planned:
    """One request of a round: whose, about what, and how far it gets."""

    credit_code: str
    official: str  # the official's roster number
    category: str
    summary: str
    solved: bool
    rating: int
    started: bool  # an open one the official answered (in progress), not only acknowledged


def provincial_plan() -> list[Planned]:
    """The provincial round's 681 requests, 325 resolved and solved, as the bulk loader's."""
    plan = []
    for i in range(PROVINCIAL_REQUESTS):
        n = (i * 7) % 660
        plan.append(
            Planned(
                credit_code(n),
                f"PROV-{n // 20 + 1:02d}",
                CATEGORIES[i % 6],
                f"诉求 {i}",
                solved=i < PROVINCIAL_RESOLVED,
                rating=5 if i % 4 else 3,
                started=i % 2 == 1,
            )
        )
    return plan


def city_plan() -> list[Planned]:
    """The cities' round's 2,327 requests, 1,127 resolved and solved."""
    plan = []
    for i in range(CITY_REQUESTS):
        n = (i * 7) % CITY_ENTERPRISES
        plan.append(
            Planned(
                city_credit_code(n),
                f"C-{n % CITY_OFFICIALS:04d}",
                CATEGORIES[i % 6],
                f"市级诉求 {i}",
                solved=i < CITY_RESOLVED,
                rating=5 if (i // 15) % 4 else 3,
                started=True,
            )
        )
    return plan


class Cast:
    """The people acting in the flows, looked up once: officials by roster number, the
    enterprises' contacts by credit code."""

    def __init__(self, services: Services, officials: dict[str, Official]) -> None:
        self._services = services
        self._officials = officials
        self._enterprises: dict[str, Enterprise] = {}

    def official(self, number: str) -> Official:
        return self._officials[number]

    def holder(self, number: str) -> Actor:
        official = self._officials[number]
        return Actor(
            telegram_id=official.telegram_id or OFFICIAL_BASE + official.id, official=official
        )

    async def enterprise(self, code: str) -> Enterprise:
        if code not in self._enterprises:
            found = await self._services.enterprises.by_credit_code(code)
            assert found is not None, code
            self._enterprises[code] = found
        return self._enterprises[code]

    async def contact(self, code: str) -> Actor:
        enterprise = await self.enterprise(code)
        return Actor(telegram_id=CONTACT_BASE + enterprise.id, enterprises=(enterprise,))


async def load_both_rounds_through_the_flows(services: Services, clock: FakeClock) -> None:
    """Both rounds' rosters imported, then the visits and requests through the services."""
    await import_rosters(services, provincial_rosters(), now=clock.now())
    await import_rosters(services, city_rosters(), now=clock.now())
    officials = {o.external_id: o for o in await services.officials.all_active()}
    cast = Cast(services, officials)
    await record_visits(services, cast, clock)
    await run_requests(services, cast, clock, provincial_plan() + city_plan())


async def record_visits(services: Services, cast: Cast, clock: FakeClock) -> None:
    """The provincial leaders' 291 visits, each to one of their own enterprises."""
    for n in range(PROVINCIAL_VISITS):
        number = f"PROV-{n // 20 + 1:02d}"
        enterprise = await cast.enterprise(credit_code(n))
        await services.visits.record(
            cast.official(number).id,
            enterprise.id,
            visited_on=services.calendar.local(clock.now()).date(),
            notes="实地走访",
            receipt_to=cast.holder(number).telegram_id,
            receipt_text="走访已记录",
        )
        clock.advance(BETWEEN_SUBMISSIONS)


async def run_requests(
    services: Services, cast: Cast, clock: FakeClock, plan: list[Planned]
) -> None:
    """Submitted, assigned and acknowledged; then the resolved ones resolved, confirmed
    solved and rated."""
    desk = services.desk
    ids = []
    for planned in plan:
        owner = await cast.contact(planned.credit_code)
        new = NewRequest(
            enterprise_id=owner.enterprises[0].id,
            submitted_by=owner.telegram_id,
            category=planned.category,
            urgent=False,
            summary=planned.summary,
            description="",
            details={},
        )
        submitted = await desk.submit(owner, new)
        official = cast.official(planned.official)
        await desk.act(ADMIN, submitted.request.id, Action.ASSIGN, official_id=official.id)
        ids.append(submitted.request.id)
        clock.advance(BETWEEN_SUBMISSIONS)
    clock.advance(TO_ACKNOWLEDGE)
    for planned, request_id in zip(plan, ids, strict=True):
        holder = cast.holder(planned.official)
        await desk.act(holder, request_id, Action.ACKNOWLEDGE)
        if planned.started and not planned.solved:
            await desk.act(holder, request_id, Action.START)
    clock.advance(TO_RESOLVE)
    for planned, request_id in zip(plan, ids, strict=True):
        if planned.solved:
            await desk.act(cast.holder(planned.official), request_id, Action.RESOLVE, note="已办结")
    clock.advance(TO_CONFIRM)
    for planned, request_id in zip(plan, ids, strict=True):
        if planned.solved:
            owner = await cast.contact(planned.credit_code)
            await desk.act(owner, request_id, Action.CONFIRM)
            await desk.rate(owner, request_id, rating=planned.rating, comment=None)
