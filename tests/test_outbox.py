"""The outbox's retry policy, driven by the fake clock: backoff, hours for critical messages,
one durable report to the admins."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.delivery import DeliveryUncertain, Outgoing, TemporaryFailure
from bot.outbox import POLICIES, KindPolicy
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID
from storage.admins import appoint_in
from storage.outbox import OutboxMessage
from storage.scope import PROVINCE
from tests.reminder_support import domain_settings, local, open_domain, recorder

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage

PROVINCE_ID, CITY_ID = 700001, 700002  # an appointed province admin, a Dalian admin
NETWORK_DOWN = [lambda: TemporaryFailure("network down")] * 1000


@pytest.fixture
async def domain(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await open_domain(domain_settings(tmp_path), clock)
    yield services
    await services.close()


async def queue(services: Services, kind: str, *, urgent: bool = False) -> None:
    now = services.clock.now()
    message = services.outbox.message(OFFICIAL_ID, kind, "📥 新诉求", at=now, urgent=urgent)
    await services.outbox.send_later([message], now=now)


async def the_message(services: Services) -> OutboxMessage:
    [message] = await services.outbox.repository.to_recipient(OFFICIAL_ID)
    return message


async def attempt_times(services: Services, clock: FakeClock, until: datetime) -> list[datetime]:
    """Wake up exactly when the message is next due, until it is settled or ``until``."""
    times = []
    while (message := await the_message(services)).status == "pending":
        if message.not_before > until:
            break
        clock.set(max(message.not_before, clock.now()))
        times.append(clock.now())
        await services.alarm.tick()
    return times


async def test_critical_notice_backs_off_exponentially_for_six_hours_then_one_report(
    domain: Services, clock: FakeClock
) -> None:
    recorder(domain).fail(OFFICIAL_ID, *NETWORK_DOWN)
    start = local(2026, 3, 2, 10, 0)
    await queue(domain, "new_request", urgent=True)
    times = await attempt_times(domain, clock, start + timedelta(days=1))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(gaps[8:]) == {3600}
    assert times[-1] - times[0] >= timedelta(hours=6) > times[-2] - times[0]
    message = await the_message(domain)
    assert message.status == "failed" and message.attempts == len(times)
    [report] = recorder(domain).to(ADMIN_ID)
    assert "未能确认送达" in report and "新诉求通知" in report
    for hours in (1, 2, 30):  # reported once, however long the bot runs on
        clock.set(times[-1] + timedelta(hours=hours))
        await domain.alarm.tick()
    assert len(recorder(domain).to(ADMIN_ID)) == 1


async def test_window_is_configurable_and_a_recovery_ends_the_retries(
    tmp_path: Path, clock: FakeClock
) -> None:
    reminders = {"critical_retry_hours": 2, "retry_base_seconds": 60, "retry_max_seconds": 600}
    services = await open_domain(domain_settings(tmp_path, reminders=reminders), clock)
    try:
        recorder(services).fail(OFFICIAL_ID, *NETWORK_DOWN[:6])
        await queue(services, "escalation", urgent=True)
        times = await attempt_times(services, clock, clock.now() + timedelta(hours=3))
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert gaps == [60, 120, 240, 480, 600, 600]
        assert (await the_message(services)).status == "sent"
        assert recorder(services).to(ADMIN_ID) == []
    finally:
        await services.close()


async def test_a_notice_held_overnight_still_gets_its_hours_of_retries(
    domain: Services, clock: FakeClock
) -> None:
    """Queued at 22:00 and held by quiet hours: the window starts at the first attempt at
    08:00, not when it was queued."""
    clock.set(local(2026, 3, 2, 22, 0))
    await queue(domain, "new_request")
    recorder(domain).fail(OFFICIAL_ID, *NETWORK_DOWN[:3])
    times = await attempt_times(domain, clock, local(2026, 3, 3, 12, 0))
    assert times[0] == local(2026, 3, 3, 8, 0)
    assert len(times) == 4 and (await the_message(domain)).status == "sent"
    assert recorder(domain).to(ADMIN_ID) == []


async def test_non_urgent_retries_wait_for_the_end_of_quiet_hours(
    domain: Services, clock: FakeClock
) -> None:
    clock.set(local(2026, 3, 2, 20, 59, 45))
    await queue(domain, "new_request")
    recorder(domain).fail(OFFICIAL_ID, *NETWORK_DOWN[:1])
    times = await attempt_times(domain, clock, local(2026, 3, 3, 12, 0))
    assert times == [local(2026, 3, 2, 20, 59, 45), local(2026, 3, 3, 8, 0)]


async def test_flood_control_wait_is_honoured_as_a_minimum(
    domain: Services, clock: FakeClock
) -> None:
    recorder(domain).fail(OFFICIAL_ID, lambda: TemporaryFailure("flood", retry_after=500))
    await queue(domain, "new_request", urgent=True)
    times = await attempt_times(domain, clock, clock.now() + timedelta(hours=1))
    assert [(t - times[0]).total_seconds() for t in times] == [0, 500]


async def test_ordinary_reminders_give_up_after_max_attempts_without_a_report(
    domain: Services, clock: FakeClock
) -> None:
    recorder(domain).fail(OFFICIAL_ID, *NETWORK_DOWN)
    await queue(domain, "reminder")
    times = await attempt_times(domain, clock, clock.now() + timedelta(days=1))
    assert len(times) == 5 and (await the_message(domain)).status == "failed"
    assert recorder(domain).to(ADMIN_ID) == []


async def test_the_failure_report_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    """Failed and report are one transaction: a bot stopped right after still reports once."""
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    recorder(first).fail(OFFICIAL_ID, *NETWORK_DOWN)
    recorder(first).fail(ADMIN_ID, *NETWORK_DOWN[:1])  # the admin's report must wait too
    await queue(first, "new_request", urgent=True)
    await attempt_times(first, clock, clock.now() + timedelta(hours=7))
    assert (await the_message(first)).status == "failed"
    assert recorder(first).to(ADMIN_ID) == []
    await first.close()
    clock.advance(timedelta(minutes=5))
    second = await open_domain(settings, clock)
    try:
        await second.alarm.tick()
        await second.alarm.tick()
        [report] = recorder(second).to(ADMIN_ID)
        assert "未能确认送达" in report
    finally:
        await second.close()


async def test_an_unexpected_error_in_one_send_strands_nothing(
    domain: Services, clock: FakeClock
) -> None:
    """A bug or a database error while sending one row: that row is retried, the rest of the
    batch goes out; none stays claimed until a restart (which would make it 'unknown')."""
    recorder(domain).fail(OFFICIAL_ID, lambda: RuntimeError("database is locked"))
    await queue(domain, "new_request", urgent=True)
    now = clock.now()
    other = domain.outbox.message(ADMIN_ID, "report", "报告", at=now)
    await domain.outbox.send_later([other], now=now)

    await domain.alarm.tick()

    assert recorder(domain).to(ADMIN_ID) == ["报告"]
    message = await the_message(domain)
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.last_error is not None and "database is locked" in message.last_error
    clock.set(message.not_before)
    await domain.alarm.tick()
    assert recorder(domain).to(OFFICIAL_ID) == ["📥 新诉求"]
    assert (await the_message(domain)).status == "sent"


async def test_a_receipt_queued_mid_delivery_goes_out_while_another_chat_waits_its_turn(
    domain: Services, clock: FakeClock
) -> None:
    """A delivery under way waits on one chat (an admin's chat at its one message a second,
    while five entrepreneurs each file a request): a receipt queued and committed meanwhile
    is sent at once, not after that send and the rest of the round. It used to wait, so the
    intake's last step took about a second under an announcement (docs/hardening.md §10)."""
    sender = recorder(domain)
    record = sender.send
    started, turn, receipt_sent = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def send(message: Outgoing) -> None:
        if message.chat_id == OFFICIAL_ID:  # this chat's next turn is a while away
            started.set()
            await turn.wait()
        await record(message)
        if message.chat_id == ALICE_ID:
            receipt_sent.set()

    sender.send = send  # type: ignore[method-assign]
    await domain.courier.recover()
    await queue(domain, "new_request")
    domain.deliver_soon()
    await asyncio.wait_for(started.wait(), timeout=5)

    try:
        clock.advance(timedelta(seconds=1))
        receipt = domain.outbox.message(ALICE_ID, "receipt", "已收到", at=clock.now())
        await domain.outbox.send_later([receipt], now=clock.now())
        domain.deliver_soon()
        await asyncio.wait_for(receipt_sent.wait(), timeout=5)

        assert sender.to(ALICE_ID) == ["已收到"]
        assert sender.to(OFFICIAL_ID) == []  # still waiting for its turn
    finally:
        turn.set()
    await domain.courier.close()
    assert sender.to(OFFICIAL_ID) == ["📥 新诉求"]
    assert (await the_message(domain)).status == "sent"


class Killed(BaseException):
    """The process dies in the middle of a send (SIGKILL, power loss)."""


async def test_a_crash_mid_send_resends_only_the_message_in_flight_marked(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    now = clock.now()
    cards = [first.outbox.message(OFFICIAL_ID, "new_request", f"卡片{n}", at=now) for n in range(3)]
    await first.outbox.send_later(cards, now=now)

    def die() -> BaseException:
        raise Killed

    recorder(first).fail(OFFICIAL_ID, lambda: TemporaryFailure("network down"), die)
    with pytest.raises(Killed):
        await first.alarm.tick()
    await first.close()

    second = await open_domain(settings, clock)
    try:
        clock.advance(timedelta(hours=1))
        await second.alarm.tick()
        rows = await second.outbox.repository.to_recipient(OFFICIAL_ID)
        # 卡片0 failed once (retried later); 卡片1 was in flight: sent again, marked as a
        # possible repeat; 卡片2 was never tried.
        statuses = {m.text: (m.status, m.resent) for m in rows}
        assert statuses == {
            "卡片0": ("sent", False),
            "（重发）卡片1": ("sent", True),
            "卡片2": ("sent", False),
        }
        assert sorted(recorder(second).to(OFFICIAL_ID)) == ["卡片0", "卡片2", "（重发）卡片1"]
        assert recorder(second).to(ADMIN_ID) == []  # resent: nothing to report
    finally:
        await second.close()


async def test_a_batch_stops_at_batch_size_and_leaves_the_rest_unclaimed(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Each row is marked sent in the commit that claims the next; the last of a batch claims
    nothing, so the rows after it stay pending for the next wake-up."""
    services = await open_domain(domain_settings(tmp_path, reminders={"batch_size": 2}), clock)
    try:
        now = clock.now()
        cards = [
            services.outbox.message(OFFICIAL_ID, "new_request", f"卡片{n}", at=now)
            for n in range(3)
        ]
        await services.outbox.send_later(cards, now=now)

        assert await services.outbox.deliver_due(services.sender, now) == 2
        rows = {
            m.text: (m.status, m.attempts)
            for m in await services.outbox.repository.to_recipient(OFFICIAL_ID)
        }
        assert rows == {"卡片0": ("sent", 1), "卡片1": ("sent", 1), "卡片2": ("pending", 0)}

        assert await services.outbox.deliver_due(services.sender, now) == 1
        assert await services.outbox.deliver_due(services.sender, now) == 0
        assert recorder(services).to(OFFICIAL_ID) == ["卡片0", "卡片1", "卡片2"]
    finally:
        await services.close()


async def test_a_crash_after_a_send_keeps_it_sent_and_only_the_next_in_doubt(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The send of 卡片0 succeeded and was marked sent (with 卡片1 claimed) before the process
    died sending 卡片1: after the restart 卡片0 is not sent again, 卡片1 is (marked)."""
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    now = clock.now()
    cards = [first.outbox.message(OFFICIAL_ID, "new_request", f"卡片{n}", at=now) for n in range(3)]
    await first.outbox.send_later(cards, now=now)
    sends = itertools.count()
    sender = recorder(first)
    send = sender.send

    async def dies_on_the_second(message: OutboxMessage) -> None:
        if next(sends) == 1:
            raise Killed
        await send(message)

    sender.send = dies_on_the_second  # type: ignore[method-assign]
    with pytest.raises(Killed):
        await first.alarm.tick()
    await first.close()

    second = await open_domain(settings, clock)
    try:
        await second.alarm.tick()
        rows = await second.outbox.repository.to_recipient(OFFICIAL_ID)
        assert {m.text: m.status for m in rows} == {
            "卡片0": "sent",
            "（重发）卡片1": "sent",
            "卡片2": "sent",
        }
        assert recorder(second).to(OFFICIAL_ID) == ["（重发）卡片1", "卡片2"]
    finally:
        await second.close()


async def test_a_row_in_doubt_twice_is_marked_once_in_the_recipients_language(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Interrupted by a restart, then timed out: sent a third time, still with one mark, in
    English for a user who reads English."""
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    await first.users.touch(
        OFFICIAL_ID, first_name="Zhou", username=None, telegram_language="en", now=clock.now()
    )
    await queue(first, "thread")
    await first.outbox.repository.claim_due(clock.now(), 1)  # in flight when the bot died
    await first.close()
    second = await open_domain(settings, clock)
    try:
        recorder(second).fail(OFFICIAL_ID, lambda: DeliveryUncertain("timed out"))
        await second.alarm.tick()
        message = await the_message(second)
        assert (message.status, message.text) == ("pending", "(resent) 📥 新诉求")
        clock.set(message.not_before)
        await second.alarm.tick()
        assert recorder(second).to(OFFICIAL_ID) == ["(resent) 📥 新诉求"]
        assert (await the_message(second)).status == "sent"
    finally:
        await second.close()


async def test_an_at_most_once_kind_in_doubt_is_reported_not_resent(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No kind is at most once today; one that were would become 'unknown' and be reported."""
    monkeypatch.setitem(POLICIES, "once", KindPolicy(critical=True, retry_uncertain=False))
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    await queue(first, "once")
    await first.outbox.repository.claim_due(clock.now(), 1)
    await first.close()
    second = await open_domain(settings, clock)
    try:
        await second.alarm.tick()
        assert (await the_message(second)).status == "unknown"
        assert recorder(second).to(OFFICIAL_ID) == []
        [report] = recorder(second).to(ADMIN_ID)
        assert "未能确认送达" in report
    finally:
        await second.close()


async def test_an_appointed_province_admin_hears_of_a_lost_message_and_a_city_admin_does_not(
    domain: Services, clock: FakeClock
) -> None:
    """The failure report goes to the province office's admins as they are now: the bootstrap
    ids and whoever was appointed to the province (issue 18), not to a city's admins."""
    now = clock.now()
    async with domain.db.transaction() as tx:
        await appoint_in(
            tx, telegram_id=PROVINCE_ID, office=PROVINCE, appointed_by=ADMIN_ID, now=now
        )
        await appoint_in(tx, telegram_id=CITY_ID, office="dalian", appointed_by=ADMIN_ID, now=now)
    recorder(domain).fail(OFFICIAL_ID, *NETWORK_DOWN)
    await queue(domain, "new_request", urgent=True)
    await attempt_times(domain, clock, clock.now() + timedelta(days=1))
    assert len(recorder(domain).to(ADMIN_ID)) == 1
    [report] = recorder(domain).to(PROVINCE_ID)
    assert "未能确认送达" in report
    assert recorder(domain).to(CITY_ID) == []


async def test_one_claim_takes_the_first_row_of_several_recipients(domain: Services) -> None:
    """A claim with room for several takes each free recipient's first row (answers first,
    then urgent ones, then by due time), never two of one recipient, none of a busy one."""
    now = domain.clock.now()
    outbox = domain.outbox
    rows = [
        outbox.message(1001, "new_request", "a1", at=now),
        outbox.message(1001, "receipt", "a2", at=now),
        outbox.message(1002, "new_request", "b1", at=now),
        outbox.message(1002, "new_request", "b2", at=now, urgent=True),
        outbox.message(1003, "new_request", "c1", at=now),
        outbox.message(1004, "new_request", "d1", at=now),
    ]
    await outbox.send_later(rows, now=now)
    claimed = await outbox.repository.claim_next(
        now, busy={1004}, first_kinds=frozenset({"receipt"}), limit=5
    )
    assert [m.text for m in claimed] == ["a2", "b2", "c1"]
    assert {m.status for m in claimed} == {"sending"}
    again = await outbox.repository.claim_next(
        now, busy={1001, 1002, 1003}, first_kinds=frozenset(), limit=1
    )
    assert [m.text for m in again] == ["d1"]
