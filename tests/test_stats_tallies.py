"""The program's tallies (migration 0004) always equal a recount from the requests themselves:
after random walks through the lifecycle, concurrent writes, enterprises moving, and on upgrade."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock, to_epoch
from bot.config import Settings
from bot.lifecycle import Action, Party, Status, allowed
from bot.requests import Stale
from bot.services import Services
from bot.stats import Stats, Tally, compute_stats, group
from scenarios.roster import ADMIN_ID, ALICE_ID, BOB_ID, Cast, make_cast
from storage.bulk import RequestRow, insert_requests
from storage.db import _migrations, open_database
from storage.requests import NewRequest, Request
from storage.rosters import EnterpriseRecord, RosterRepository
from storage.stats import StatsRepository
from tests.conftest import START
from tests.ledger_data import CATEGORIES
from tests.postgres import storage_for

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage

EVERY_PARTY = frozenset(Party)
CITIES = ("shenyang", "dalian", "anshan")


@pytest.fixture
async def tally_services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.model_validate(
        {"storage": storage_for(tmp_path, "t.sqlite3"), "admins": {"telegram_ids": [ADMIN_ID]}}
    )
    services = await Services.open(settings, clock=FakeClock(START))
    try:
        yield services
    finally:
        await services.close()


async def recounted(repo: StatsRepository, now: datetime) -> Stats:
    """/stats for the whole program, checked against a recount of every request."""
    stats = await compute_stats(repo, now=now)
    cube = await repo.cube(now=now)
    by_official = group(cube, lambda r: r.official_id)
    assert stats.by_category == group(cube, lambda r: r.category)
    assert stats.by_city == group(cube, lambda r: r.city)
    assert stats.by_stage == group(cube, lambda r: r.stage)
    assert {r.official_id: r.tally for r in stats.ranking} == {
        official: tally for official, tally in by_official.items() if official is not None
    }
    assert stats.total == sum(by_official.values(), Tally())
    assert await repo.overdue_count(now=now) == stats.total.overdue  # the metrics' gauge
    return stats


class Walk:
    """Random lifecycle moves on a few requests, every party allowed, the clock running."""

    def __init__(self, services: Services, cast: Cast, seed: int) -> None:
        self.services = services
        self.cast = cast
        self.rng = random.Random(seed)
        self.ids: list[int] = []
        self.done: Counter[str] = Counter()

    async def submit(self) -> None:
        contact, enterprise = self.rng.choice(
            [(ALICE_ID, self.cast.alice_enterprise), (BOB_ID, self.cast.bob_enterprise)]
        )
        new = NewRequest(
            enterprise_id=enterprise.id,
            submitted_by=contact,
            category=self.rng.choice(CATEGORIES),
            urgent=self.rng.random() < 0.2,
            summary="诉求",
            description="诉求",
            details={},
        )
        actor = await self.services.actor(contact)
        self.ids.append((await self.services.desk.submit(actor, new)).request.id)
        self.done["submit"] += 1

    async def move(self) -> None:
        """One allowed action on a random request (reassigning to a random official)."""
        request = await self.services.desk.repo.get(self.rng.choice(self.ids))
        assert request is not None
        actions = allowed(request.status, EVERY_PARTY)
        if not actions:
            return
        action = self.rng.choice(actions)
        officials = (self.cast.official.id, self.cast.other_official.id)
        try:
            await self.services.desk.transition(
                request,
                action,
                parties=EVERY_PARTY,
                actor_id=None,
                note="x",
                official_id=self.rng.choice(officials),
            )
        except Stale:
            return  # a concurrent move got there first
        self.done[action] += 1

    async def rate(self) -> None:
        closed = [r for r in await self._requests() if r.outcome is not None]
        if closed:
            async with self.services.db.transaction() as tx:
                await self.services.desk.repo.rate_in(
                    tx, self.rng.choice(closed).id, rating=self.rng.randint(1, 5), comment=None
                )
            self.done["rate"] += 1

    async def relocate(self) -> None:
        """Re-import an enterprise with another city and stage, as an admin's roster does."""
        enterprise = self.rng.choice([self.cast.alice_enterprise, self.cast.bob_enterprise])
        record = EnterpriseRecord(
            enterprise.credit_code,
            enterprise.name,
            self.rng.choice(CITIES),
            self.rng.choice(("startup", "growth", "mature")),
            "",
        )
        async with self.services.db.transaction() as tx:
            await RosterRepository(self.services.db).import_enterprises(
                tx, [record], now=self.services.clock.now()
            )
        self.done["relocate"] += 1

    async def _requests(self) -> list[Request]:
        found = [await self.services.desk.repo.get(i) for i in self.ids]
        return [r for r in found if r is not None]

    async def step(self) -> None:
        roll = self.rng.random()
        clock = self.services.clock
        assert isinstance(clock, FakeClock)
        if roll < 0.2 or not self.ids:
            await self.submit()
        elif roll < 0.3:
            clock.advance(timedelta(hours=self.rng.randint(1, 96)))
        elif roll < 0.35:
            await self.rate()
        elif roll < 0.38:
            await self.relocate()
        elif roll < 0.45:
            await asyncio.gather(*(self.move() for _ in range(4)))
        else:
            await self.move()


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_tallies_equal_a_recount_after_random_transitions(
    tally_services: Services, seed: int
) -> None:
    walk = Walk(tally_services, await make_cast(tally_services), seed)
    seen: list[Stats] = []
    for number in range(1, 301):
        await walk.step()
        if number % 15 == 0:
            seen.append(await recounted(tally_services.stats, tally_services.clock.now()))
    moves = {Action.REJECT, Action.WITHDRAW, Action.ASSIGN, Action.RETURN, Action.AUTO_CLOSE}
    assert moves | {Action.CONFIRM, "rate", "relocate"} <= set(walk.done)
    # The clock-dependent counts were exercised both ways.
    assert any(s.total.overdue for s in seen)
    assert any(s.total.response_due < s.total.received for s in seen)
    assert seen[-1].total.received > 0


async def test_withdrawn_requests_are_counted_nowhere(tally_services: Services) -> None:
    walk = Walk(tally_services, await make_cast(tally_services), seed=0)
    await walk.submit()
    request = await tally_services.desk.repo.get(walk.ids[0])
    assert request is not None and request.status is Status.ASSIGNED
    assert (await recounted(tally_services.stats, tally_services.clock.now())).total.received == 1
    await tally_services.desk.transition(
        request, Action.WITHDRAW, parties=frozenset({Party.OWNER}), actor_id=ALICE_ID
    )
    stats = await recounted(tally_services.stats, tally_services.clock.now())
    assert stats.total == Tally() and stats.by_category == {} and stats.ranking == ()


async def test_an_upgraded_database_gets_its_tallies(tmp_path: Path) -> None:
    """A database from before migration 0004, with requests in it, is counted on upgrade."""
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for version, name, sql in _migrations():
        if version < 4:
            old.executescript(sql)
            old.execute("INSERT INTO schema_migrations VALUES (?, ?, '')", (version, name))
    now = to_epoch(START)
    old.execute("INSERT INTO officials (id, external_id, name, created_at) VALUES (1, 'A', 'A', 0)")
    old.executemany(
        "INSERT INTO enterprises (id, name, credit_code, city, stage, created_at)"
        " VALUES (?, 'e', ?, ?, ?, 0)",
        [(1, "9" * 18, "shenyang", "growth"), (2, "8" * 18, "dalian", "startup")],
    )
    old.executemany(
        "INSERT INTO requests (number, enterprise_id, submitted_by, category, summary, status,"
        " official_id, created_at, acknowledged_at, acknowledge_due_at, resolve_due_at, outcome,"
        " rating) VALUES (?, ?, 1, ?, 's', ?, ?, 0, ?, ?, ?, ?, ?)",
        [
            ("N1", 1, "policy", "closed", 1, 10, 20, 100, "solved", 5),
            ("N2", 2, "ip", "in_progress", 1, None, now - 1, now - 1, None, None),
            ("N3", 2, "ip", "submitted", None, None, now + 60, now + 600, None, None),
            ("N4", 1, "chain", "withdrawn", None, None, now - 1, now - 1, None, None),
        ],
    )
    old.commit()
    old.close()
    db = await open_database(path)
    try:
        assert 4 in [row[0] for row in await db.fetch_all("SELECT version FROM schema_migrations")]
        stats = await recounted(StatsRepository(db), START)
        assert (stats.total.received, stats.total.solved, stats.total.overdue) == (3, 1, 1)
        assert (stats.total.response_due, stats.total.responded_on_time) == (2, 1)
        assert stats.by_city == {
            "shenyang": Tally(received=1, resolved=0, solved=1, response_due=1,
                              responded_on_time=1, rated=1, satisfied=1),
            "dalian": Tally(received=2, response_due=1, overdue=1),
        }  # fmt: skip
        # Nothing in the bot deletes requests, but a deletion by hand is counted out too.
        await db.execute_many("DELETE FROM requests WHERE number = ?", [("N2",)])
        stats = await recounted(StatsRepository(db), START)
        assert stats.by_city["dalian"] == Tally(received=1)
    finally:
        await db.close()


async def test_bulk_loaded_requests_are_tallied_like_one_by_one(tally_services: Services) -> None:
    """storage/bulk.py (demo data, benchmarks; PostgreSQL loads them with COPY and adds their
    tallies in one statement): the tallies equal a recount, after requests filed one by one."""
    walk = Walk(tally_services, await make_cast(tally_services), seed=0)
    await walk.submit()
    filed = await tally_services.desk.repo.get(walk.ids[0])
    assert filed is not None
    at = to_epoch(tally_services.clock.now())
    await insert_requests(
        tally_services.db,
        (
            RequestRow(
                number=f"LN-BULK-{n:04d}",
                enterprise_id=filed.enterprise_id,
                submitted_by=ALICE_ID,
                category=CATEGORIES[n % len(CATEGORIES)],
                summary="bulk",
                status=("closed", "in_progress", "withdrawn")[n % 3],
                official_id=filed.official_id,
                created_at=at - 3600 * n,
                acknowledged_at=at - 3600 * n + 60 if n % 2 else None,
                resolved_at=at if n % 3 == 0 else None,
                acknowledge_due_at=at - 3600 * n + 86400,
                resolve_due_at=at + 86400 * (n % 5 - 2),
                outcome="solved" if n % 3 == 0 else None,
                rating=n % 5 + 1 if n % 3 == 0 else None,
            )
            for n in range(60)
        ),
    )
    stats = await recounted(tally_services.stats, tally_services.clock.now())
    assert stats.total.received == 1 + 40  # the withdrawn third counted nowhere
