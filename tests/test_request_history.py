"""🕘 History of a request as each side sees it: the return reason (退单) is internal."""

from __future__ import annotations

import pytest

from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from tests.test_requests_flow import file_request

REASON = "应由<大连>负责"


async def history_seen_by(user: TestUser, number: str) -> str:
    await user.send(number)
    card = await user.expect_message()
    pressed = await user.press(card, "🕘 记录")
    await user.expect_callback_answer(pressed)
    history = await user.expect_message()
    assert "办理记录" in history.text
    return history.text


@pytest.mark.usefixtures("bot")
async def test_the_enterprise_does_not_see_the_return_reason_officials_do(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    await file_request(services)
    card = await official.expect_message()
    await official.press(card, "❓ 请企业补充")
    await official.expect_message()
    await official.send("请提供回执")
    await official.expect_message()
    assert "请提供回执" in (await alice.expect_message()).text
    await official.press(card, "↩️ 退回")
    await official.expect_message()
    await official.send(REASON)
    assert "退回" in (await official.expect_message()).text
    assert "重新安排" in (await alice.expect_message()).text
    assert REASON in (await admin.expect_message()).text

    seen_by_alice = await history_seen_by(alice, "LN-20260302-0001")
    assert "已退回" in seen_by_alice
    assert "大连" not in seen_by_alice
    assert "请提供回执" in seen_by_alice  # the question was hers to answer
    seen_by_admin = await history_seen_by(admin, "LN-20260302-0001")
    assert REASON in seen_by_admin
    assert "请提供回执" in seen_by_admin
    assert standin.errors == []
