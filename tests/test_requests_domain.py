"""The request desk without Telegram: numbering, routing, authorization, races, the paused clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.credit_code import make_credit_code
from bot.lifecycle import RULES, Action, NoteMissing, NotPermitted, Status, TransitionRefused
from bot.requests import NotFound, Stale, parties
from bot.roles import Actor
from bot.services import Services
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    Cast,
    add_contact,
    make_cast,
)
from storage.models import Stage
from storage.requests import Attachment, NewMessage, NewRequest, Request
from tests.conftest import SHANGHAI, START
from tests.postgres import INTEGRITY_ERRORS, storage_for

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage


@pytest.fixture
async def desk_services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.model_validate(
        {
            "storage": storage_for(tmp_path, "d.sqlite3"),
            "admins": {"telegram_ids": [ADMIN_ID]},
            "routing": {"rules": [{"category": "ip", "city": "anshan", "official": "DL-002"}]},
        }
    )
    services = await Services.open(settings, clock=FakeClock(START))
    try:
        yield services
    finally:
        await services.close()


async def actor(services: Services, telegram_id: int) -> Actor:
    return await services.actor(telegram_id)


def new(cast: Cast, *, category: str = "policy", enterprise_id: int | None = None) -> NewRequest:
    return NewRequest(
        enterprise_id=enterprise_id or cast.alice_enterprise.id,
        submitted_by=ALICE_ID,
        category=category,
        urgent=False,
        summary="补贴没有兑现",
        description="补贴没有兑现",
        details={},
    )


async def submitted(services: Services, cast: Cast) -> Request:
    alice = await actor(services, ALICE_ID)
    return (await services.desk.submit(alice, new(cast))).request


async def test_numbers_count_per_local_day(desk_services: Services) -> None:
    cast = await make_cast(desk_services)
    first = await submitted(desk_services, cast)
    second = await submitted(desk_services, cast)
    assert (first.number, second.number) == ("LN-20260302-0001", "LN-20260302-0002")
    clock = desk_services.clock
    assert isinstance(clock, FakeClock)
    # 23:30 in Shenyang is still 2 March in UTC, but the number follows the local date.
    clock.set(datetime(2026, 3, 3, 0, 30, tzinfo=SHANGHAI))
    assert (await submitted(desk_services, cast)).number == "LN-20260303-0001"


async def test_a_number_past_the_days_9999th_grows_a_digit(desk_services: Services) -> None:
    """On PostgreSQL the number is formatted by the statement that inserts the request: it
    reads as SQLite's, formatted in Python, does."""
    cast = await make_cast(desk_services)
    await desk_services.db.execute(
        "INSERT INTO request_numbers (day, last) VALUES (?, ?)", ("20260302", 9998)
    )
    first = await submitted(desk_services, cast)
    second = await submitted(desk_services, cast)
    assert (first.number, second.number) == ("LN-20260302-9999", "LN-20260302-10000")
    assert (await desk_services.requests.by_number("LN-20260302-10000")) == second


async def test_submitting_from_the_draft_uses_it_up_in_the_same_transaction(
    desk_services: Services,
) -> None:
    """The draft goes with the stored request, never without it: a crash in between cannot
    leave a draft that /new would offer to submit a second time."""
    cast = await make_cast(desk_services)
    alice = await actor(desk_services, ALICE_ID)
    repo, now = desk_services.requests, desk_services.clock.now()
    await repo.save_draft(ALICE_ID, {"category": "policy"}, now)
    broken = replace(new(cast), attachments=(Attachment("sticker", "file-1"),))
    with pytest.raises(INTEGRITY_ERRORS):  # fails after the request row is written
        await desk_services.desk.submit(alice, broken, from_draft=True)
    assert await repo.draft(ALICE_ID) == {"category": "policy"}
    assert await repo.by_number("LN-20260302-0001") is None
    await desk_services.desk.submit(alice, new(cast), from_draft=True)
    assert await repo.draft(ALICE_ID) is None
    await repo.save_draft(ALICE_ID, {"category": "policy"}, now)
    await desk_services.desk.submit(alice, new(cast))
    assert await repo.draft(ALICE_ID) == {"category": "policy"}


async def test_routing_designated_rule_then_queue(desk_services: Services) -> None:
    cast = await make_cast(desk_services)
    assert (await submitted(desk_services, cast)).official_id == cast.official.id
    now = desk_services.clock.now()
    firm = await desk_services.directory.add_enterprise(
        name="鞍山某厂",
        credit_code=make_credit_code("91210300MA0Y0000X"),
        city="anshan",
        stage=Stage.MATURE,
        now=now,
    )
    await desk_services.directory.add_contact(firm.id, telegram_id=ALICE_ID, now=now)
    alice = await actor(desk_services, ALICE_ID)
    by_rule = await desk_services.desk.submit(
        alice, new(cast, category="ip", enterprise_id=firm.id)
    )
    assert by_rule.route.reason == "rule"
    assert by_rule.request.official_id == cast.other_official.id
    queued = await desk_services.desk.submit(
        alice, new(cast, category="chain", enterprise_id=firm.id)
    )
    assert queued.route.reason == "queue"
    assert queued.request.status is Status.SUBMITTED and queued.request.official_id is None
    page = await desk_services.requests.queue(limit=5, offset=0)
    assert [r.id for r in page.items] == [queued.request.id]


async def test_everyone_else_is_refused_everything(desk_services: Services) -> None:
    """Another official, another enterprise and a guest cannot even see Alice's request;
    an admin sees it but may only assign it."""
    cast = await make_cast(desk_services)
    request = await submitted(desk_services, cast)
    desk = desk_services.desk
    for stranger_id in (OTHER_OFFICIAL_ID, BOB_ID, 123456):
        stranger = await actor(desk_services, stranger_id)
        for action in Action:
            with pytest.raises(NotFound):
                await desk.act(
                    stranger, request.id, action, note="x", official_id=cast.other_official.id
                )
        with pytest.raises(NotFound):
            await desk.post(stranger, request.id, text="hello")
        with pytest.raises(NotFound):
            await desk.find(stranger, number=request.number)
    admin = await actor(desk_services, ADMIN_ID)
    for action in Action:
        if action is Action.ASSIGN:
            continue
        with pytest.raises(NotPermitted):
            await desk.act(admin, request.id, action, note="x")
    with pytest.raises(TransitionRefused):
        await desk.post(admin, request.id, text="hi", internal=False)
    unchanged = await desk_services.requests.get(request.id)
    assert unchanged is not None and unchanged.version == request.version
    assert [m.text for m in await desk_services.requests.messages(request.id, internal=True)] == []


async def test_an_action_that_needs_words_is_refused_without_them(
    desk_services: Services,
) -> None:
    """Return (退单), ask and resolve carry a reason: a blank one writes nothing."""
    cast = await make_cast(desk_services)
    request = await submitted(desk_services, cast)
    holder = await actor(desk_services, OFFICIAL_ID)
    needing = [action for action, rule in RULES.items() if rule.needs_note]
    assert set(needing) == {Action.ASK_INFO, Action.RESOLVE, Action.RETURN}
    for action in needing:
        for blank in ("", "  \n\t "):
            with pytest.raises(NoteMissing) as refused:
                await desk_services.desk.act(holder, request.id, action, note=blank)
            assert refused.value.reason == "note_missing"
            assert refused.value.status is Status.ASSIGNED
    unchanged = await desk_services.requests.get(request.id)
    assert unchanged is not None and unchanged.version == request.version
    assert len(await desk_services.requests.history(request.id)) == 2
    returned = await desk_services.desk.act(holder, request.id, Action.RETURN, note="不归我管")
    assert returned.status is Status.RETURNED


async def test_two_officials_at_once_exactly_one_wins(desk_services: Services) -> None:
    cast = await make_cast(desk_services)
    request = await submitted(desk_services, cast)
    holder = await actor(desk_services, OFFICIAL_ID)
    admin = await actor(desk_services, ADMIN_ID)
    results = await asyncio.gather(
        desk_services.desk.act(holder, request.id, Action.RETURN, note="不归我管"),
        desk_services.desk.act(
            admin, request.id, Action.ASSIGN, official_id=cast.other_official.id
        ),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    losses = [r for r in results if isinstance(r, TransitionRefused)]
    assert len(wins) == 1 and len(losses) == 1
    history = await desk_services.requests.history(request.id)
    assert len(history) == 3  # submitted, assigned, and exactly one more


async def test_a_stale_version_writes_nothing(desk_services: Services) -> None:
    cast = await make_cast(desk_services)
    request = await submitted(desk_services, cast)
    repo = desk_services.requests
    now = desk_services.clock.now()
    async with desk_services.db.transaction() as tx:
        first = await repo.transition_in(
            tx, request, Status.ACKNOWLEDGED, actor_id=1, note="", changes={}, now=now
        )
    async with desk_services.db.transaction() as tx:
        second = await repo.transition_in(
            tx, request, Status.RETURNED, actor_id=2, note="", changes={}, now=now
        )
    assert first is not None and second is None
    holder = await actor(desk_services, OFFICIAL_ID)
    with pytest.raises(Stale) as lost:
        await desk_services.desk.transition(
            request, Action.START, parties=parties(holder, request), actor_id=OFFICIAL_ID
        )
    assert lost.value.status is Status.ACKNOWLEDGED


async def test_waiting_pauses_the_clock(desk_services: Services) -> None:
    cast = await make_cast(desk_services)
    request = await submitted(desk_services, cast)
    clock = desk_services.clock
    assert isinstance(clock, FakeClock)
    holder = await actor(desk_services, OFFICIAL_ID)
    alice = await actor(desk_services, ALICE_ID)
    waiting = await desk_services.desk.act(holder, request.id, Action.ASK_INFO, note="请补充合同")
    assert waiting.status is Status.WAITING and waiting.waiting_since == clock.now()
    clock.advance(timedelta(days=3))  # Monday to Thursday: 3 working days
    resumed, _ = await desk_services.desk.post(alice, request.id, text="合同已上传")
    assert resumed.status is Status.IN_PROGRESS and resumed.waiting_since is None
    assert request.resolve_due_at is not None and resumed.resolve_due_at is not None
    calendar = desk_services.desk.calendar
    assert calendar.workdays_between(request.resolve_due_at, resumed.resolve_due_at) == 3


async def test_the_outbox_is_woken_after_every_change(desk_services: Services) -> None:
    cast = await make_cast(desk_services)
    woken: list[str] = []
    desk_services.desk.wake = lambda: woken.append("wake")
    request = await submitted(desk_services, cast)
    holder = await actor(desk_services, OFFICIAL_ID)
    await desk_services.desk.act(holder, request.id, Action.ACKNOWLEDGE)
    assert woken == ["wake", "wake"]


async def test_a_reply_and_its_status_change_are_stored_together(
    desk_services: Services,
) -> None:
    """The official's first reply starts the work: message, status and history in one
    transaction; a reply on a request that changed meanwhile stores neither."""
    cast = await make_cast(desk_services)
    request = await submitted(desk_services, cast)
    repo = desk_services.requests
    official = await actor(desk_services, OFFICIAL_ID)
    replied, message = await desk_services.desk.post(official, request.id, text="已收到")
    assert replied.status is Status.IN_PROGRESS and replied.acknowledged_at is not None
    assert [m.text for m in await repo.messages(request.id, internal=True)] == ["已收到"]
    assert (await repo.history(request.id))[-1].to_status is Status.IN_PROGRESS
    assert message.sender_id == OFFICIAL_ID

    before = await repo.history(request.id)
    post = NewMessage(OFFICIAL_ID, message.sender_role, "晚到的回复")
    with pytest.raises(Stale):
        await desk_services.desk.transition(
            request,
            Action.ACKNOWLEDGE,
            parties=parties(official, request),
            actor_id=OFFICIAL_ID,
            note="",
            post=post,
        )
    assert [m.text for m in await repo.messages(request.id, internal=True)] == ["已收到"]
    assert await repo.history(request.id) == before
    assert (await repo.get(request.id)) == replied


async def test_an_officials_reply_goes_to_every_contact_of_the_requests_enterprise(
    desk_services: Services,
) -> None:
    """The contacts an official's message goes to are read by the request, beside it: every
    contact of the enterprise that filed it, none of another's."""
    cast = await make_cast(desk_services)
    second_contact = 7_700_001
    await add_contact(desk_services, cast.alice_enterprise, second_contact)
    request = await submitted(desk_services, cast)
    official = await actor(desk_services, OFFICIAL_ID)
    await desk_services.desk.post(official, request.id, text="已收到，正在协调")
    outbox = desk_services.outbox.repository
    for contact in (ALICE_ID, second_contact):
        assert any("正在协调" in row.text for row in await outbox.to_recipient(contact))
    assert not any("正在协调" in row.text for row in await outbox.to_recipient(BOB_ID))
    assert [c.telegram_id for c in await desk_services.enterprises.contacts_of_request(-1)] == []
