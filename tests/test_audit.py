"""/history and /audit: admins read a request's whole history and what one user did, paged and
escaped; nobody else can."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.config import AuditSettings, Settings
from bot.lifecycle import Action
from bot.services import Services
from handlers.audit import AuditButton
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin
from tests.reminder_support import new_request


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"audit": AuditSettings(page_size=2)})


async def story(services: Services, standin: TelegramStandin, clock: FakeClock) -> str:
    """Alice's request held by 王建国: acknowledged, resolved with a note, confirmed solved."""
    cast = await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="刘<总>", username="alice_sy", language_code="zh")
    await alice.send("/help")  # the bot records her name and @username
    await alice.expect_message()
    holder = standin.user(OFFICIAL_ID, language_code="zh-hans", started=True)
    request_id = await new_request(
        services,
        enterprise_id=cast.alice_enterprise.id,
        official_id=cast.official.id,
        submitted_by=ALICE_ID,
    )
    official, owner = await services.actor(OFFICIAL_ID), await services.actor(ALICE_ID)
    for actor, action, note in (
        (official, Action.ACKNOWLEDGE, ""),
        (official, Action.RESOLVE, "<b>已批复</b> & 送电"),
        (owner, Action.CONFIRM, ""),
    ):
        clock.advance(timedelta(hours=1))
        await services.desk.act(actor, request_id, action, note=note)
    await services.courier.deliver_now()  # each side told of the other's steps
    assert "已销号" in ((await holder.expect_message()).text or "")
    for _ in range(2):  # acknowledged, resolved
        await alice.expect_message()
    await services.audit.record(
        now=services.clock.now(), actor_id=ALICE_ID, action="card.open", result="shown"
    )
    request = await services.requests.get(request_id)
    assert request is not None
    return request.number


async def test_admin_pages_through_a_requests_history(
    services: Services, standin: TelegramStandin, clock: FakeClock
) -> None:
    number = await story(services, standin, clock)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send(f"/history {number.lower()}")
    first = await admin.expect_message()
    assert first.text is not None
    assert first.text.splitlines() == [
        f"🕘 {number} 的完整记录（共 5 条 · 第 1/3 页）",
        "2026-03-02 10:00 · 刘<总> @alice_sy (700001)：— → 已提交",
        "2026-03-02 10:00 · 系统：已提交 → 已派单",
    ]
    await admin.press(first, "下一页 ➡️")
    second = await admin.expect_edit(first)
    assert (second.text or "").splitlines()[1:] == [
        "2026-03-02 11:00 · 王建国 (800001)：已派单 → 已受理",
        "2026-03-02 12:00 · 王建国 (800001)：已受理 → 已办结 — <b>已批复</b> & 送电",
    ]
    await admin.press(second, "下一页 ➡️")
    third = await admin.expect_edit(second)
    assert (third.text or "").splitlines()[1:] == [
        "2026-03-02 13:00 · 刘<总> @alice_sy (700001)：已办结 → 已销号",
    ]
    assert [b["text"] for b in third.data["reply_markup"]["inline_keyboard"][0]] == ["⬅️ 上一页"]
    assert "<b>已批复</b>" not in (second.html or "")  # the note is escaped, not markup
    assert standin.errors == []


async def test_admin_sees_what_a_user_did(
    services: Services, standin: TelegramStandin, clock: FakeClock
) -> None:
    number = await story(services, standin, clock)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send("/audit @ALICE_SY")
    page = await admin.expect_message()
    assert (page.text or "").splitlines() == [
        "🕘 What 刘<总> @alice_sy (700001) did (3 entries · page 1/2, newest first)",
        "2026-03-02 13:00 · card.open → shown",
        f"2026-03-02 13:00 · {number}: resolved → closed",
    ]
    for target in ("LN-001", str(OFFICIAL_ID)):
        await admin.send(f"/audit {target}")
        assert "王建国 (800001) did (2 entries · page 1/1" in (
            (await admin.expect_message()).text or ""
        )
    await admin.send("/audit @nobody")
    assert "No user @nobody" in ((await admin.expect_message()).text or "")
    await admin.send("/history")
    assert "Usage: /history" in ((await admin.expect_message()).text or "")
    await admin.send("/history LN-20990101-0001")
    assert (await admin.expect_message()).text == "No such request. Please check the number."
    assert standin.errors == []


async def test_nobody_else_reads_the_audit(
    services: Services, standin: TelegramStandin, clock: FakeClock
) -> None:
    number = await story(services, standin, clock)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    for command in (f"/history {number}", f"/audit {ALICE_ID}"):
        await official.send(command)
        assert (await official.expect_message()).text == "您没有权限执行此操作。"
    refusal = official.messages[-1]
    forged = await official.press_data(refusal, AuditButton("request", 1, 0).pack())
    assert (await official.expect_callback_answer(forged))["text"] == "您没有权限执行此操作。"
    assert standin.errors == []
