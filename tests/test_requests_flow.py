"""Requests end to end through the stand-in: intake, the official's side, the thread, close-out."""

from __future__ import annotations

import pytest

from bot.lifecycle import Status
from bot.services import Services
from standin import TelegramStandin, TestUser
from tests.roster import ALICE_ID, OFFICIAL_ID, make_cast

pytestmark = pytest.mark.usefixtures("bot")


async def submit_payments_request(alice: TestUser) -> str:
    """Alice files an overdue-payments request; returns the bot's "received" text."""
    await alice.send("/new")
    ask = await alice.expect_message()
    assert "诉求类别" in ask.text and "拖欠账款" in ask.text
    await alice.press(ask, "拖欠账款")
    assert "欠款方" in (await alice.expect_message()).text
    await alice.send("沈阳某国企")
    assert "金额" in (await alice.expect_message()).text
    await alice.send("120万元")
    assert "什么时候" in (await alice.expect_message()).text
    await alice.send("2025年6月")
    assert "描述" in (await alice.expect_message()).text
    await alice.send("货款 <120万> 至今未付 & 多次催告无果")
    added = await alice.expect_message()
    await alice.send_photo(b"\x89PNG fake", caption="对账单")
    await alice.expect_message()
    await alice.press(added, "✅ 写完了")
    urgency = await alice.expect_message()
    await alice.press(urgency, "紧急")
    summary = await alice.expect_message()
    assert "请核对" in summary.text and "120万元" in summary.text and "附件：1" in summary.text
    await alice.press(summary, "✅ 提交")
    return (await alice.expect_message()).text


async def test_intake_to_close_out(standin: TelegramStandin, services: Services) -> None:
    cast = await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)

    received = await submit_payments_request(alice)
    assert "LN-20260302-0001" in received and "王建国" in received and "2026-03-03" in received
    request = await services.requests.by_number("LN-20260302-0001")
    assert request is not None and request.status is Status.ASSIGNED
    assert request.official_id == cast.official.id and request.urgent
    assert request.details == {"debtor": "沈阳某国企", "amount": "120万元", "since": "2025年6月"}
    assert await services.requests.draft(ALICE_ID) is None

    card = await official.expect_message()
    assert "新诉求" in card.text and "LN-20260302-0001" in card.text and "<120万>" in card.text
    await official.press(card, "✅ 受理")
    await official.expect_edit(card)
    assert "王建国" in (await alice.expect_message()).text

    await official.press(card, "💬 回复")
    await official.expect_message()
    await official.send("已联系欠款单位，本周内答复。")
    assert "已发送" in (await official.expect_message()).text
    delivered = await alice.expect_message()
    assert "LN-20260302-0001" in delivered.text and "王建国（副省长" in delivered.text

    await alice.press(delivered, "💬 回复")
    await alice.expect_message()
    await alice.send("谢谢，等您消息。")
    await alice.expect_message()
    assert "沈阳北方精密机械" in (await official.expect_message()).text

    await official.press(card, "🏁 办结")
    await official.expect_message()
    await official.send("欠款单位已承诺 3 月底前付清。")
    assert "办结" in (await official.expect_message()).text
    ask = await alice.expect_message()
    assert "问题解决了吗" in ask.text
    await alice.press(ask, "👍 已解决")
    rating = await alice.expect_message()
    await alice.press(rating, "⭐⭐⭐⭐⭐")
    await alice.expect_edit(rating)

    closed = await services.requests.by_number("LN-20260302-0001")
    assert closed is not None and closed.status is Status.CLOSED
    assert closed.outcome == "solved" and closed.rating == 5
    steps = [h.to_status for h in await services.requests.history(closed.id)]
    assert steps == ["submitted", "assigned", "acknowledged", "in_progress", "resolved", "closed"]
    thread = await services.requests.messages(closed.id, internal=True)
    assert [m.sender_role for m in thread] == ["enterprise", "official", "enterprise", "official"]
    assert standin.errors == []
