"""Thread messages reach the other side through the outbox: with their photo or document,
despite flood control, and whatever the hour."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.services import Services
from scenarios.roster import ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from standin.markup import inline_buttons
from standin.state import StoredMessage
from tests.reminder_support import local
from tests.test_requests_flow import file_request

NUMBER = "LN-20260302-0001"


async def people(standin: TelegramStandin, services: Services) -> tuple[TestUser, TestUser]:
    """Alice and the official, and Alice's request, whose card the official has seen."""
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    await file_request(services)
    assert "新诉求" in (await official.expect_message()).text
    return alice, official


async def start_reply(user: TestUser, message: StoredMessage | None = None) -> None:
    """Press "reply" on ``message`` (else on the request's card, looked up by number)."""
    if message is None:
        await user.send(NUMBER)
        message = await user.expect_message()
    await user.press(message, "💬 回复")
    assert "请发送" in (await user.expect_message()).text


def reply_button_of(message: StoredMessage) -> list[str]:
    return [button["text"] for button in inline_buttons(message.reply_markup)]


async def thread_rows(services: Services, recipient_id: int) -> list[tuple[str, str]]:
    """The thread messages queued for ``recipient_id``, once the delivery under way is done."""
    await services.courier.deliver_now()
    rows = await services.outbox.repository.to_recipient(recipient_id)
    return [(m.kind, m.status) for m in rows if m.kind == "thread"]


@pytest.mark.usefixtures("bot")
async def test_text_photo_and_document_replies_arrive_with_number_name_and_button(
    standin: TelegramStandin, services: Services
) -> None:
    alice, official = await people(standin, services)
    await start_reply(official)
    await official.send("已联系 <供电公司> & 电网")
    assert "已发送" in (await official.expect_message()).text
    text = await alice.expect_message()
    assert NUMBER in text.text and "王建国（副省长" in text.text
    assert "已联系 <供电公司> & 电网" in text.text and reply_button_of(text) == ["💬 回复"]

    await start_reply(official)
    await official.send_photo(b"\x89PNG site", caption="现场照片")
    assert "已发送" in (await official.expect_message()).text
    photo = await alice.expect_message()
    assert photo.photo == b"\x89PNG site" and photo.caption is not None
    assert NUMBER in photo.caption and "王建国" in photo.caption and "现场照片" in photo.caption
    assert reply_button_of(photo) == ["💬 回复"]

    await start_reply(alice, photo)
    await alice.send_document(b"%PDF-1.4 receipt", filename="回执.pdf", caption="回执见附件")
    assert "已发送" in (await alice.expect_message()).text
    document = await official.expect_message()
    assert document.document == b"%PDF-1.4 receipt" and document.caption is not None
    assert NUMBER in document.caption and "沈阳北方精密机械" in document.caption
    assert "回执见附件" in document.caption and reply_button_of(document) == ["💬 回复"]

    assert await thread_rows(services, ALICE_ID) == [("thread", "sent")] * 2
    assert await thread_rows(services, OFFICIAL_ID) == [("thread", "sent")]
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_long_caption_is_shortened_to_fit(
    standin: TelegramStandin, services: Services
) -> None:
    alice, official = await people(standin, services)
    await start_reply(official)
    await official.send_photo(b"\x89PNG site", caption="长" * 1000)
    await official.expect_message()
    photo = await alice.expect_message()
    assert photo.caption is not None and NUMBER in photo.caption
    assert "长" * 500 + "…" in photo.caption and "长" * 501 not in photo.caption
    [stored] = [m for m in await services.requests.messages(1, internal=False) if m.file_id]
    assert stored.text == "长" * 1000  # the thread keeps every word
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_flood_control_delays_a_reply_but_does_not_drop_it(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    alice, official = await people(standin, services)
    await start_reply(official)
    standin.inject_error("sendMessage", chat_id=ALICE_ID, error_code=429, retry_after=3600)
    await official.send("本周内答复")
    assert "已发送" in (await official.expect_message()).text
    await standin.wait_for(lambda: _calls_to_alice(standin) == [429])
    await alice.expect_no_message(within=0.3)
    [row] = await services.outbox.repository.to_recipient(ALICE_ID)
    assert (row.kind, row.status) == ("thread", "pending") and row.last_error

    clock.advance(timedelta(hours=1, seconds=1))
    await services.courier.deliver_now()
    delivered = await alice.expect_message()
    assert NUMBER in delivered.text and "本周内答复" in delivered.text
    await services.courier.deliver_now()
    await alice.expect_no_message(within=0.3)
    assert _calls_to_alice(standin) == [429, 200]
    assert await thread_rows(services, ALICE_ID) == [("thread", "sent")]


def _calls_to_alice(standin: TelegramStandin) -> list[int]:
    calls = standin.calls_to("sendMessage")
    return [c.status for c in calls if str(c.params.get("chat_id")) == str(ALICE_ID)]


@pytest.mark.usefixtures("bot")
async def test_quiet_hours_do_not_hold_a_reply(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    """At 22:30 (quiet hours 21:00–08:00) the official answers: the enterprise gets it now."""
    alice, official = await people(standin, services)
    clock.set(local(2026, 3, 2, 22, 30))
    assert services.quiet.is_quiet(clock.now())
    await start_reply(official)
    await official.send("今晚已协调好")
    assert "已发送" in (await official.expect_message()).text
    assert "今晚已协调好" in (await alice.expect_message()).text
    assert await thread_rows(services, ALICE_ID) == [("thread", "sent")]
    assert standin.errors == []
