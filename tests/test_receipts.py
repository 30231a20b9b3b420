"""Receipts and thread messages reach their reader across a crash, end to end through the
stand-in with Telegram's flood limits on (issue 17, points 2 and 3).

- "Received, your number is …" is queued in the transaction that stores the request: a bot that
  stored it and died before sending anything sends it at its next start, as it would have been
  (it was never in flight, so unmarked).
- A row caught mid-send ('sending' when the process died) is sent again at the next start,
  marked "（重发）" / "(resent)" in the reader's language.
- A send that timed out (Telegram had it after all) is sent again, marked: the reader has it
  twice, the repeat saying so.
- In the normal case the receipt goes out at once after the commit, not at the next wake-up.

"Died" is played by taking the outbox's sender away (what a process killed right after its
commit leaves: rows queued, nothing sent) and, for rows in flight, by claiming them as a send
does; the real SIGKILLs are bench/killtest.py's (tests/test_killtest_requests.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.credit_code import make_credit_code
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import RateLimits, TelegramStandin, TestUser
from standin.state import StoredMessage
from storage.models import EnterpriseStatus
from tests.test_dialogues_restart import bot_on, services_of
from tests.test_requests_flow import file_request

NUMBER = "LN-20260302-0001"
REGISTRANT_ID = 650001
HELD = 2.5  # seconds the stand-in holds a call: past the outbox's send time-out below
PERSON_PAUSE = 1.5  # seconds a person takes to read an answer and press or type the next


class PersonTime:
    """The stand-in's clock: real time plus the pauses of people reading and typing, so that
    its flood limits see a person's pace without the test sleeping."""

    def __init__(self) -> None:
        self.paused = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.paused

    def pause(self) -> None:
        self.paused += PERSON_PAUSE

    def now(self) -> float:
        """As the bot's pacing reads it (a :class:`~bot.pacing.PacingClock`)."""
        return self()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.fixture
def person() -> PersonTime:
    return PersonTime()


@pytest.fixture
async def standin(person: PersonTime) -> AsyncIterator[TelegramStandin]:
    """The stand-in with Telegram's flood limits (1 a second per chat with short bursts, 30 a
    second overall)."""
    server = TelegramStandin(bot_username="liaison_bot", limits=RateLimits(), clock=person)
    await server.start(host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        await server.stop()


def slow_ticks(settings: Settings, **reminders: float) -> Settings:
    """The periodic wake-up once a minute: what arrives sooner was sent by the wake-up after
    the commit."""
    changed = settings.reminders.model_copy(update={"tick_seconds": 60.0, **reminders})
    return settings.model_copy(update={"reminders": changed})


async def intake_to_summary(alice: TestUser, person: PersonTime) -> StoredMessage:
    """Alice files a policy request at a person's pace up to its summary, whose ✅ 提交
    submits it."""
    await alice.send("/new")
    for label in ("政策落实", "补贴至今未兑现", "✅ 写完了", "一般"):
        answer = await alice.expect_message()
        person.pause()
        if label.startswith("补贴"):
            assert "描述" in answer.text
            await alice.send(label)
        else:
            await alice.press(answer, label)
    summary = await alice.expect_message()
    assert "请核对" in summary.text
    person.pause()
    return summary


async def test_the_receipt_goes_out_at_once_after_the_commit(
    standin: TelegramStandin, settings: Settings, clock: FakeClock, person: PersonTime
) -> None:
    async with bot_on(slow_ticks(settings), clock, person) as app:
        await make_cast(services_of(app))
        alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
        summary = await intake_to_summary(alice, person)
        pressed = time.monotonic()
        await alice.press(summary, "✅ 提交")
        received = await alice.expect_message(timeout=1.0)
        waited = time.monotonic() - pressed
    assert received.text.startswith(f"✅ 已收到您的诉求，编号 {NUMBER}")
    assert "王建国" in received.text and received.reply_markup is None
    assert waited < 1.0
    assert standin.rate_limited == 0


async def test_a_receipt_stored_with_its_request_arrives_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock, person: PersonTime
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    async with bot_on(settings, clock, person) as app:
        services = services_of(app)
        await make_cast(services)
        summary = await intake_to_summary(alice, person)
        services.sender = None  # dies right after the commit: nothing more is sent
        await alice.press(summary, "✅ 提交")
        await alice.expect_no_message(within=0.5)
        request = await services.requests.by_number(NUMBER)
        assert request is not None  # stored, with its receipt queued
    clock.advance(timedelta(minutes=1))
    async with bot_on(settings, clock, person):
        received = await alice.expect_message()
        card = await official.expect_message()
    assert received.text.startswith(f"✅ 已收到您的诉求，编号 {NUMBER}")
    assert "王建国" in received.text and "2026-03-03" in received.text
    assert NUMBER in card.text
    await alice.expect_no_message(within=0.3)  # once
    assert standin.rate_limited == 0


async def test_rows_caught_mid_send_are_sent_again_marked_in_the_readers_language(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    """The official's reply (to Alice, who reads English) and his "sent" receipt were in flight
    when the bot died: both come again after the restart, each marked."""
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="en", started=True)
    async with bot_on(settings, clock) as app:
        services = services_of(app)
        await make_cast(services)
        await alice.send("/start")
        await alice.expect_message()
        await file_request(services)
        card = await official.expect_message()
        await official.press(card, "💬 回复")
        await official.expect_message()
        services.sender = None
        await official.send("已联系欠款单位，本周内答复。")
        await official.expect_no_message(within=0.5)
        in_flight = await services.outbox.repository.claim_due(clock.now(), 10)
        assert sorted(m.kind for m in in_flight) == ["receipt", "thread"]
    async with bot_on(settings, clock):
        sent = await official.expect_message()
        reply = await alice.expect_message()
    assert sent.text == f"（重发）已发送到 {NUMBER}。"
    assert reply.text.startswith(f"(resent) 💬 {NUMBER} · 王建国")
    assert "已联系欠款单位" in reply.text and "Reply" in str(reply.reply_markup)
    await alice.expect_no_message(within=0.3)
    assert standin.rate_limited == 0


async def test_a_reply_whose_send_timed_out_comes_again_marked(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    """Telegram carried the held send out after the bot gave up on it: Alice has the reply
    twice, the second marked; the official was told "sent" once."""
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    quick = slow_ticks(settings, send_timeout_seconds=1.0)
    async with bot_on(quick, clock) as app:
        services = services_of(app)
        await make_cast(services)
        await file_request(services)
        card = await official.expect_message()
        await official.press(card, "💬 回复")
        await official.expect_message()
        standin.inject_delay("sendMessage", seconds=HELD, chat_id=ALICE_ID)
        await official.send("已联系欠款单位，本周内答复。")
        assert (await official.expect_message()).text == f"已发送到 {NUMBER}。"
        first = await alice.expect_message(timeout=HELD + 2)
        [row] = await services.outbox.repository.to_recipient(ALICE_ID)
        assert (row.status, row.resent) == ("pending", True)  # retried after the back-off
        clock.set(row.not_before)
        await services.courier.deliver_now()
        again = await alice.expect_message()
    assert first.text.startswith(f"💬 {NUMBER} · 王建国")
    assert again.text == "（重发）" + first.text
    await official.expect_no_message(within=0.3)


async def test_a_registration_and_the_admins_notice_arrive_after_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock, person: PersonTime
) -> None:
    """The registrant's receipt and the admin's notice (with its approve and reject buttons)
    are queued with the pending enterprise: a bot that died right after the commit sends both
    at its next start, and the admin's button works."""
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    carol = standin.user(REGISTRANT_ID, first_name="Carol", language_code="zh-hans", started=True)
    code = make_credit_code("91210800MA0YK3L03")
    async with bot_on(settings, clock, person) as app:
        services = services_of(app)
        await make_cast(services)
        await carol.send("/register")
        for typed in ("营口港湾物流有限公司", code):
            await carol.expect_message()
            person.pause()
            await carol.send(typed)
        for label in ("营口市", "成熟期"):
            choices = await carol.expect_message()
            person.pause()
            await carol.press(choices, label)
        await carol.expect_message()
        person.pause()
        await carol.send("港口物流")
        summary = await carol.expect_message()
        person.pause()
        services.sender = None  # dies right after the commit: nothing more is sent
        await carol.press(summary, "✅ 提交审核")
        await carol.expect_no_message(within=0.5)
        pending = await services.enterprises.by_credit_code(code)
        assert pending is not None and pending.status is EnterpriseStatus.PENDING
    clock.advance(timedelta(minutes=1))
    async with bot_on(settings, clock, person) as app:
        assert "审核后会通知" in (await carol.expect_message()).text
        card = await admin.expect_message()
        assert "新的企业登记" in card.text and code in card.text
        person.pause()
        await admin.press(card, "✅ 通过")
        await admin.expect_edit(card)
        assert "已通过审核" in (await carol.expect_message()).text
        approved = await services_of(app).enterprises.get(pending.id)
    assert approved is not None and approved.status is EnterpriseStatus.ACTIVE
    await admin.expect_no_message(within=0.3)  # once
    assert standin.rate_limited == 0
