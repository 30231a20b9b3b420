"""Reminders, escalation, quiet hours, digests and close-out, driven by the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.delivery import DeliveryUncertain, RecipientUnreachable, TemporaryFailure
from bot.lifecycle import Action, Status
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, Cast, make_cast
from tests.reminder_support import (
    SH,
    act,
    domain_settings,
    local,
    new_request,
    open_domain,
    recorder,
    replan,
)

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage


@pytest.fixture
async def domain(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await open_domain(domain_settings(tmp_path), clock)
    yield services
    await services.close()


async def request_for(services: Services, cast: Cast, **kwargs: object) -> int:
    return await new_request(
        services,
        enterprise_id=cast.alice_enterprise.id,
        official_id=cast.official.id,
        submitted_by=ALICE_ID,
        **kwargs,  # type: ignore[arg-type]
    )


async def planned(services: Services, request_id: int) -> list[tuple[str, datetime]]:
    return [
        (r.kind, r.due_at.astimezone(SH))
        for r in await services.reminders.of_request(request_id)
        if r.status == "pending"
    ]


async def run_at(services: Services, clock: FakeClock, moment: datetime) -> None:
    clock.set(moment)
    await services.alarm.tick()


async def test_acknowledge_deadline_digest_then_escalation(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    request_id = await request_for(domain, cast)
    assert await planned(domain, request_id) == [
        ("ack_last", local(2026, 3, 3, 14, 0)),
        ("ack_overdue", local(2026, 3, 3, 23, 59, 59)),
    ]
    sent = recorder(domain)
    await run_at(domain, clock, local(2026, 3, 3, 8, 29))
    assert sent.sent == []
    await run_at(domain, clock, local(2026, 3, 3, 8, 30))
    [digest] = sent.to(OFFICIAL_ID)
    assert "今日诉求提醒" in digest and "即将到期（1）" in digest
    assert "&lt;加急&gt;" in digest
    await run_at(domain, clock, local(2026, 3, 3, 13, 59, 59))
    assert len(sent.sent) == 1
    await run_at(domain, clock, local(2026, 3, 3, 14, 0))
    assert "最后一个工作日" in sent.to(OFFICIAL_ID)[1]  # the afternoon of the last day
    await run_at(domain, clock, local(2026, 3, 3, 23, 59, 59))
    assert len(sent.sent) == 2  # missed at midnight: told after quiet hours
    state = await domain.reminders.request(request_id)
    assert state is not None and state.escalated_at == local(2026, 3, 3, 23, 59, 59)
    await run_at(domain, clock, local(2026, 3, 4, 8, 0))
    assert "已超过受理期限" in sent.to(OFFICIAL_ID)[2]
    assert "督办" in sent.to(ADMIN_ID)[0] and "王建国" in sent.to(ADMIN_ID)[0]
    assert "已提交督办" in sent.to(ALICE_ID)[0]
    await run_at(domain, clock, local(2026, 3, 5, 10, 0))
    assert len(sent.to(ADMIN_ID)) == 1


async def test_replan_is_idempotent(domain: Services) -> None:
    cast = await make_cast(domain)
    request_id = await request_for(domain, cast)
    before = await domain.reminders.of_request(request_id)
    await replan(domain, request_id)
    await replan(domain, request_id)
    assert await domain.reminders.of_request(request_id) == before


async def test_spring_festival_and_make_up_saturday(domain: Services, clock: FakeClock) -> None:
    cast = await make_cast(domain)
    clock.set(local(2026, 2, 13, 10, 0))  # Friday before the Spring Festival
    request_id = await request_for(domain, cast)
    assert await planned(domain, request_id) == [
        ("ack_last", local(2026, 2, 14, 14, 0)),  # Saturday 14 Feb is a working day (调休)
        ("ack_overdue", local(2026, 2, 14, 23, 59, 59)),
    ]
    clock.set(local(2026, 2, 14, 9, 0))
    await act(domain, request_id, Action.ACKNOWLEDGE)
    assert await planned(domain, request_id) == [
        ("resolve_half", local(2026, 3, 3, 11, 59, 59)),
        ("resolve_last", local(2026, 3, 12, 14, 0)),
        ("resolve_overdue", local(2026, 3, 12, 23, 59, 59)),
    ]
    await run_at(domain, clock, local(2026, 2, 16, 10, 0))  # holiday: no digest, nothing
    assert recorder(domain).to(OFFICIAL_ID) == []
    await run_at(domain, clock, local(2026, 3, 3, 11, 59, 59))
    assert len(recorder(domain).to(OFFICIAL_ID)) == 1  # the half-time reminder folded in
    half = [r for r in await domain.reminders.of_request(request_id) if r.kind == "resolve_half"]
    assert (half[0].status, half[0].last_error) == ("done", "folded into digest")


async def test_half_time_later_the_same_morning_is_sent_on_its_own(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    clock.set(local(2026, 2, 13, 10, 0))
    request_id = await request_for(domain, cast)
    clock.set(local(2026, 2, 14, 9, 0))
    await act(domain, request_id, Action.ACKNOWLEDGE)
    await run_at(domain, clock, local(2026, 3, 3, 8, 30))  # the digest, half time not yet due
    assert len(recorder(domain).to(OFFICIAL_ID)) == 1
    await run_at(domain, clock, local(2026, 3, 3, 11, 59, 58))
    assert len(recorder(domain).to(OFFICIAL_ID)) == 1
    await run_at(domain, clock, local(2026, 3, 3, 11, 59, 59))
    assert len(recorder(domain).to(OFFICIAL_ID)) == 2  # its own, timely reminder
    half = [r for r in await domain.reminders.of_request(request_id) if r.kind == "resolve_half"]
    assert half[0].status == "done" and half[0].last_error != "folded into digest"


async def test_national_day_resolve_deadline(tmp_path: Path, clock: FakeClock) -> None:
    categories = {"policy": {"acknowledge_days": 1, "resolve_days": 3}}
    settings = domain_settings(tmp_path, deadlines={"categories": categories})
    services = await open_domain(settings, clock)
    try:
        cast = await make_cast(services)
        clock.set(local(2025, 9, 30, 10, 0))
        request_id = await request_for(services, cast)
        await act(services, request_id, Action.ACKNOWLEDGE)
        assert await planned(services, request_id) == [
            ("resolve_half", local(2025, 10, 10, 11, 59, 59)),
            ("resolve_last", local(2025, 10, 11, 14, 0)),  # Saturday 11 Oct (调休)
            ("resolve_overdue", local(2025, 10, 11, 23, 59, 59)),
        ]
        await run_at(services, clock, local(2025, 10, 12, 8, 0))
        assert len(recorder(services).to(ADMIN_ID)) == 1
    finally:
        await services.close()


async def test_turn_of_an_uncovered_year(tmp_path: Path, clock: FakeClock) -> None:
    settings = domain_settings(tmp_path, deadlines={"extra_holidays": ["2027-01-01"]})
    services = await open_domain(settings, clock)
    try:
        cast = await make_cast(services)
        clock.set(local(2026, 12, 31, 10, 0))
        request_id = await request_for(services, cast)
        assert await planned(services, request_id) == [
            ("ack_last", local(2027, 1, 4, 14, 0)),
            ("ack_overdue", local(2027, 1, 4, 23, 59, 59)),
        ]
        await run_at(services, clock, local(2027, 1, 1, 10, 0))  # a holiday the admins listed
        await run_at(services, clock, local(2027, 1, 4, 8, 30))
        await run_at(services, clock, local(2027, 1, 4, 14, 0))
        await run_at(services, clock, local(2027, 1, 5, 8, 0))
        sent = recorder(services)
        assert len(sent.to(OFFICIAL_ID)) == 3  # the digest of 4 January, last day, overdue
        to_admin = [m.kind for m in sent.messages if m.chat_id == ADMIN_ID]
        # The escalation, and the weekly reminder that 2027's schedule is not loaded (weeks
        # from 1 November: 1 January is in the 9th, 4 January in the 10th).
        assert sorted(to_admin) == ["calendar", "calendar", "escalation"]
    finally:
        await services.close()


async def test_quiet_hours_hold_escalation_until_morning(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    clock.set(local(2026, 3, 2, 22, 0))
    await request_for(domain, cast)
    urgent = await request_for(domain, cast, urgent=True)
    await run_at(domain, clock, local(2026, 3, 3, 23, 59, 59))
    sent = recorder(domain)
    assert len(sent.to(ADMIN_ID)) == 1  # only the urgent one, at night
    state = await domain.reminders.request(urgent)
    assert state is not None and state.number in sent.to(ADMIN_ID)[0]
    await run_at(domain, clock, local(2026, 3, 4, 7, 59))
    assert len(sent.to(ADMIN_ID)) == 1
    await run_at(domain, clock, local(2026, 3, 4, 8, 0))
    assert len(sent.to(ADMIN_ID)) == 2


async def test_acknowledged_just_before_the_deadline(domain: Services, clock: FakeClock) -> None:
    cast = await make_cast(domain)
    request_id = await request_for(domain, cast)
    clock.set(local(2026, 3, 3, 23, 59))
    await act(domain, request_id, Action.ACKNOWLEDGE)
    statuses = {r.kind: r.status for r in await domain.reminders.of_request(request_id)}
    assert statuses["ack_overdue"] == "cancelled"
    await run_at(domain, clock, local(2026, 3, 4, 8, 0))
    assert recorder(domain).to(ADMIN_ID) == []


async def test_reminder_rechecks_the_request_when_it_fires(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    request_id = await request_for(domain, cast)
    clock.set(local(2026, 3, 3, 23, 59))
    request = await domain.requests.get(request_id)
    assert request is not None
    # The request moved on but nobody re-planned: the reminder must still not go out.
    async with domain.db.transaction() as tx:
        await domain.requests.transition_in(
            tx, request, Status.ACKNOWLEDGED, actor_id=None, note="", changes={}, now=clock.now()
        )
    await run_at(domain, clock, local(2026, 3, 4, 8, 0))
    assert recorder(domain).to(ADMIN_ID) == []
    overdue = [r for r in await domain.reminders.of_request(request_id) if r.kind == "ack_overdue"]
    assert overdue[0].status == "cancelled" and overdue[0].last_error == "no longer applies"


async def test_restart_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    cast = await make_cast(first)
    await request_for(first, cast)
    await request_for(first, cast)
    await first.close()  # down over the digest and the deadline
    clock.set(local(2026, 3, 4, 11, 0))
    second = await open_domain(settings, clock)
    await second.alarm.tick()
    await second.alarm.tick()
    sent = recorder(second)
    assert len(sent.to(OFFICIAL_ID)) == 3  # one digest, two overdue notices
    assert len(sent.to(ADMIN_ID)) == 2 and len(sent.to(ALICE_ID)) == 2
    await second.close()
    third = await open_domain(settings, clock)
    await third.alarm.tick()
    assert recorder(third).sent == []
    await third.close()


async def test_crash_in_the_middle_of_sending(tmp_path: Path, clock: FakeClock) -> None:
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    cast = await make_cast(first)
    await request_for(first, cast)
    clock.set(local(2026, 3, 4, 8, 0))
    await first.firing.fire_due(clock.now())
    claimed = await first.outbox.repository.claim_due(clock.now(), 100)
    assert {m.kind for m in claimed} == {"overdue", "escalation", "escalated"}
    await first.close()  # crashed: Telegram may or may not have got these
    second = await open_domain(settings, clock)
    await second.alarm.tick()
    sent = recorder(second)
    # All three may have arrived, or not: each is sent again, marked as a possible repeat.
    assert next(t for t in sent.to(OFFICIAL_ID) if "已超过受理期限" in t).startswith("（重发）")
    [escalated] = sent.to(ALICE_ID)
    assert escalated.startswith("（重发）您的诉求")
    [escalation] = sent.to(ADMIN_ID)
    assert escalation.startswith("（重发）🔔")
    counts = await second.outbox.repository.counts()
    assert counts == {"sent": 3}
    await second.close()


async def test_blocked_recipient_is_recorded_and_reported(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    await request_for(domain, cast)
    recorder(domain).fail(ALICE_ID, lambda: RecipientUnreachable("Forbidden: bot was blocked"))
    await run_at(domain, clock, local(2026, 3, 4, 8, 0))
    [failed] = await domain.outbox.repository.to_recipient(ALICE_ID)
    assert failed.status == "failed" and "unreachable" in (failed.last_error or "")
    user = await domain.users.get(ALICE_ID)
    assert user is not None and user.unreachable_at is not None
    assert any("未能确认送达" in text for text in recorder(domain).to(ADMIN_ID))


async def test_retry_policy_per_kind(domain: Services, clock: FakeClock) -> None:
    cast = await make_cast(domain)
    await request_for(domain, cast)
    sent = recorder(domain)
    await run_at(domain, clock, local(2026, 3, 3, 8, 30))  # the digest goes out
    sent.fail(OFFICIAL_ID, lambda: DeliveryUncertain("timed out"))
    sent.fail(ADMIN_ID, *[lambda: TemporaryFailure("network down")] * 8)
    start = local(2026, 3, 4, 8, 0)
    await run_at(domain, clock, start)
    await run_at(domain, clock, start + timedelta(minutes=1))
    assert len(sent.to(OFFICIAL_ID)) == 2  # the overdue notice, retried after a time-out
    for minutes in range(2, 12 * 60, 30):
        await run_at(domain, clock, start + timedelta(minutes=minutes))
    [escalation] = await domain.outbox.repository.to_recipient(ADMIN_ID)
    assert escalation.status == "sent" and escalation.attempts == 9


async def test_critical_messages_fail_after_hours_with_a_report(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    await request_for(domain, cast)
    recorder(domain).fail(ALICE_ID, *[lambda: TemporaryFailure("network down")] * 100)
    start = local(2026, 3, 4, 8, 0)
    for minutes in range(0, 24 * 60, 20):  # retries wait out the night
        await run_at(domain, clock, start + timedelta(minutes=minutes))
    [message] = await domain.outbox.repository.to_recipient(ALICE_ID)
    assert message.status == "failed"
    assert any("未能确认送达" in text for text in recorder(domain).to(ADMIN_ID))


async def test_confirm_reminder_then_auto_close(domain: Services, clock: FakeClock) -> None:
    cast = await make_cast(domain)
    request_id = await request_for(domain, cast)
    await act(domain, request_id, Action.RESOLVE, note="已协调供电公司")
    assert await planned(domain, request_id) == [
        ("confirm", local(2026, 3, 5, 10, 0)),
        ("auto_close", local(2026, 3, 9, 10, 0)),
    ]
    await run_at(domain, clock, local(2026, 3, 5, 10, 0))
    told, confirm = recorder(domain).to(ALICE_ID)
    assert "已协调供电公司" in told and "请确认" in confirm
    await run_at(domain, clock, local(2026, 3, 9, 10, 0))
    state = await domain.reminders.request(request_id)
    assert state is not None and state.status == "closed" and state.auto_closed
    last = (await domain.requests.history(request_id))[-1]
    assert (last.from_status, last.to_status, last.note) == ("resolved", "closed", "auto-closed")
    assert "自动销号" in recorder(domain).to(ALICE_ID)[2]
    assert "自动销号" in recorder(domain).to(OFFICIAL_ID)[-1]


async def test_confirmed_request_is_not_auto_closed(domain: Services, clock: FakeClock) -> None:
    cast = await make_cast(domain)
    request_id = await request_for(domain, cast)
    await act(domain, request_id, Action.RESOLVE, note="已协调供电公司")
    await act(domain, request_id, Action.CONFIRM)
    assert await planned(domain, request_id) == []
    await run_at(domain, clock, local(2026, 3, 9, 10, 0))
    [resolved] = recorder(domain).to(ALICE_ID)  # told it was resolved; nothing after
    assert "问题解决了吗" in resolved


async def test_one_digest_per_official_per_day(domain: Services, clock: FakeClock) -> None:
    cast = await make_cast(domain)
    await request_for(domain, cast)
    await request_for(domain, cast)
    for hour in (8, 9, 12, 15, 20):
        await run_at(domain, clock, local(2026, 3, 3, hour, 45))
    digests = [t for t in recorder(domain).to(OFFICIAL_ID) if "今日诉求提醒" in t]
    assert len(digests) == 1
    await run_at(domain, clock, local(2026, 3, 4, 8, 30))
    digests = [t for t in recorder(domain).to(OFFICIAL_ID) if "今日诉求提醒" in t]
    assert len(digests) == 2 and "已逾期（2）" in digests[1]
