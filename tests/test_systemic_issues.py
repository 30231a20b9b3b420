"""Systemic issues end to end through the stand-in: an admin groups two enterprises' requests,
the entrepreneur sees the known issue before submitting (and nothing of the other firm's
request), resolving it tells every linked enterprise, and nobody but an admin may act."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.services import Services
from handlers.systemic_issues import IssueButton
from scenarios.roster import ADMIN_ID, ALICE_ID, BOB_ID, OFFICIAL_ID, OTHER_OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from standin.markup import inline_buttons
from storage.systemic_issues import IssueStatus
from tests.test_systemic_issues_domain import file

BOBS_TEXT = "厂区用电增容申请提交三个月了，供电公司审批一直没有结果 <急>"
ALICES_TEXT = "新生产线等电：用电增容审批太慢，供电公司迟迟没有批复"


async def file_for_bob(services: Services) -> str:
    request = await services.requests.get(await file(services, BOB_ID, BOBS_TEXT))
    assert request is not None
    return request.number


async def submit_through_intake(alice: TestUser) -> str:
    """Alice files a factor-guarantee request; returns the summary she was asked to confirm."""
    await alice.send("/new")
    await alice.press(await alice.expect_message(), "要素保障")
    await alice.expect_message()
    await alice.send(ALICES_TEXT)
    await alice.press(await alice.expect_message(), "✅ 写完了")
    await alice.press(await alice.expect_message(), "一般")
    summary = await alice.expect_message()
    await alice.press(summary, "✅ 提交")
    await alice.expect_message()
    assert summary.text is not None
    return summary.text


@pytest.mark.usefixtures("bot")
async def test_group_two_enterprises_and_resolve_for_both(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    bob = standin.user(BOB_ID, first_name="Bob", language_code="en", started=True)
    for official in (OFFICIAL_ID, OTHER_OFFICIAL_ID):
        standin.user(official, language_code="zh-hans", started=True)
    await services.accounts.set_language(BOB_ID, "en")  # Bob reads English
    bobs_number = await file_for_bob(services)

    await admin.send("/issue_new 工业用电增容审批慢")
    assert "已新建系统性问题 #1" in (await admin.expect_message()).text
    assert "工业用电增容审批慢" in (await admin.expect_message()).text
    await admin.send(f"/issue_link 1 {bobs_number}")
    assert f"已将 {bobs_number} 归入系统性问题 #1" in (await admin.expect_message()).text

    # Alice is told of the known issue before she submits, never of Bob's request.
    summary = await submit_through_intake(alice)
    assert "相似共性问题" in summary and "工业用电增容审批慢（待处理）" in summary
    assert bobs_number not in summary and "供电公司审批一直没有结果" not in summary
    alices_number = "LN-20260302-0002"
    # Right after the submission the admins hear that it looks like issue #1.
    matches = await admin.expect_message()
    assert f"新诉求 {alices_number} 可能属于" in matches.text
    assert "#1 工业用电增容审批慢" in matches.text

    # The admin opens Alice's request and groups it from the suggestions.
    await admin.send(f"/open {alices_number}")
    card = await admin.expect_message()
    await admin.press(card, "🧩 归类")
    suggestions = await admin.expect_message()
    assert "#1 工业用电增容审批慢" in suggestions.text
    assert f"{bobs_number} · 大连海湾新材料" in suggestions.text and "已归入 #1" in suggestions.text
    await admin.press(suggestions, "➕ 归入 #1")
    assert f"已将 {alices_number} 归入系统性问题 #1" in (await admin.expect_message()).text
    query = await admin.press(matches, "➕ 归入 #1")
    assert "已在该系统性问题中" in (await admin.expect_callback_answer(query))["text"]

    await admin.send("/issue_note 1 省电力公司已开通增容绿色通道 & 限时办结")
    assert "备注已记录" in (await admin.expect_message()).text
    await admin.send("/issues")
    listed = await admin.expect_message()
    await admin.press(listed, "#1 工业用电增容审批慢")
    issue_card = await admin.expect_message()
    assert "涉及 2 家企业、2 件诉求" in issue_card.text
    assert "备注：省电力公司已开通增容绿色通道 & 限时办结" in issue_card.text
    query = await admin.press(issue_card, "✅ 设为已解决（通知企业）")
    answer = await admin.expect_callback_answer(query)
    assert "已解决" in answer["text"] and "已通知 2 位企业联系人" in answer["text"]
    assert "已解决" in (await admin.expect_edit(issue_card)).text

    await services.alarm.tick()
    to_alice = await alice.expect_message()
    assert "工业用电增容审批慢" in to_alice.text and alices_number in to_alice.text
    assert "绿色通道 & 限时办结" in to_alice.text and bobs_number not in to_alice.text
    to_bob = await bob.expect_message()
    assert "has now been resolved" in to_bob.text and bobs_number in to_bob.text
    await services.alarm.tick()
    await alice.expect_no_message(within=0.2)
    issue = await services.systemic.repo.get(1)
    assert issue is not None and issue.status is IssueStatus.RESOLVED
    # What the admin did is in their audit trail too.
    await admin.send(f"/audit {ADMIN_ID}")
    audit = (await admin.expect_message()).text
    assert (
        "systemic_issue.status #1" in audit and f"systemic_issue.link #1 {alices_number}" in audit
    )
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_non_admins_are_refused(standin: TelegramStandin, services: Services) -> None:
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, language_code="en", started=True)
    admin = await services.actor(ADMIN_ID)
    issue = await services.systemic.create(admin, "用电增容")

    await alice.send("/issues")
    assert "您没有权限" in (await alice.expect_message()).text
    await official.send(f"/issue_note {issue.id} hello")
    assert "not allowed" in (await official.expect_message()).text
    await alice.send("/new")
    menu = await alice.expect_message()
    forged = IssueButton("status", issue.id, IssueStatus.RESOLVED).pack()
    query = await alice.press_data(menu, forged)
    assert "您没有权限" in (await alice.expect_callback_answer(query))["text"]
    query = await alice.press_data(menu, "si:status:1")
    assert "按钮已失效" in (await alice.expect_callback_answer(query))["text"]

    unchanged = await services.systemic.repo.get(issue.id)
    assert unchanged is not None and unchanged.status is IssueStatus.OPEN
    events = await services.systemic.repo.events(issue.id, limit=10)
    assert [e.kind for e in events] == ["created"]


@pytest.mark.usefixtures("bot")
async def test_a_large_issue_fits_in_one_card(standin: TelegramStandin, services: Services) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    standin.user(OFFICIAL_ID, language_code="zh-hans", started=True)  # gets the 25 new cards
    issue = await services.systemic.create(await services.actor(ADMIN_ID), "用电增容")
    for n in range(25):
        request_id = await file(services, ALICE_ID, f"第{n}号车间用电增容 <{'长' * 50}>")
        await services.systemic.link(await services.actor(ADMIN_ID), issue.id, request_id)
    await services.systemic.note(await services.actor(ADMIN_ID), issue.id, "备" * 1000)

    await admin.send(f"/issue {issue.id}")
    card = await admin.expect_message()
    assert "涉及 1 家企业、25 件诉求" in card.text and "…… 另有 5 件" in card.text
    assert len(card.text) < 4096 and "备" * 199 + "…" in card.text
    unlink = [b for b in inline_buttons(card.reply_markup) if "移出" in b["text"]]
    assert len(unlink) == 20
    assert standin.errors == []
