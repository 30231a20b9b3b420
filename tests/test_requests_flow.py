"""Requests end to end through the stand-in: intake, the official's side, the thread, close-out."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.credit_code import make_credit_code
from bot.lifecycle import Action, Status, TransitionRefused
from bot.services import Services
from runtime.application import build_application, running
from scenarios.roster import ADMIN_ID, ALICE_ID, BOB_ID, OFFICIAL_ID, OTHER_OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from standin.markup import inline_buttons
from standin.state import StoredMessage
from storage.models import Stage
from storage.requests import NewRequest


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


@pytest.mark.usefixtures("bot")
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
    rated = await alice.expect_edit(rating)
    await alice.press(rated, "✍️ 写意见")
    await alice.expect_message()
    await alice.send("办得很快，谢谢！")
    assert "意见已记录" in (await alice.expect_message()).text
    # The thread is closed now: replying to an old message says so.
    query = await alice.press(delivered, "💬 回复")
    assert "已销号" in (await alice.expect_callback_answer(query))["text"]

    closed = await services.requests.by_number("LN-20260302-0001")
    assert closed is not None and closed.status is Status.CLOSED
    assert closed.outcome == "solved" and closed.rating == 5
    assert closed.rating_comment == "办得很快，谢谢！"
    steps = [h.to_status for h in await services.requests.history(closed.id)]
    assert steps == ["submitted", "assigned", "acknowledged", "in_progress", "resolved", "closed"]
    thread = await services.requests.messages(closed.id, internal=True)
    assert [m.sender_role for m in thread] == ["enterprise", "official", "enterprise", "official"]
    assert standin.errors == []


async def file_request(
    services: Services, *, category: str = "policy", text: str = "补贴没兑现", urgent: bool = False
) -> int:
    """A request by Alice straight through the desk (the intake has its own tests); its
    holder's notice is delivered before this returns."""
    alice = await services.actor(ALICE_ID)
    new = NewRequest(
        enterprise_id=alice.enterprises[0].id,
        submitted_by=ALICE_ID,
        category=category,
        urgent=urgent,
        summary=text,
        description=text,
        details={},
    )
    request_id = (await services.desk.submit(alice, new)).request.id
    await services.courier.deliver_now()
    return request_id


@pytest.mark.usefixtures("bot")
async def test_return_goes_to_admins_who_reassign(
    standin: TelegramStandin, services: Services
) -> None:
    cast = await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    other = standin.user(
        OTHER_OFFICIAL_ID, first_name="李娜", language_code="zh-hans", started=True
    )
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    request_id = await file_request(services)
    assert "新诉求" in (await official.expect_message()).text
    await official.send("/inbox")
    listing = await official.expect_message()
    assert "LN-20260302-0001" in listing.text
    await official.press(listing, "LN-20260302-0001")
    card = await official.expect_message()
    await official.press(card, "↩️ 退回")
    await official.expect_message()
    await official.send("这是知识产权问题，应由大连负责")
    assert "退回" in (await official.expect_message()).text

    returned = await admin.expect_message()
    assert "退回了诉求 LN-20260302-0001" in returned.text and "大连负责" in returned.text
    assert "重新安排" in (await alice.expect_message()).text
    await admin.press(returned, "👤 分派")
    choose = await admin.expect_message()
    await admin.press(choose, "李娜（副市长，大连市人民政府）")
    await admin.expect_edit(choose)
    assert "新诉求" in (await other.expect_message()).text
    assert "李娜" in (await alice.expect_message()).text
    request = await services.requests.get(request_id)
    assert request is not None and request.official_id == cast.other_official.id
    assert request.status is Status.ASSIGNED

    # The first official's card is stale now: pressing it changes nothing.
    query = await official.press(card, "✅ 受理")
    answer = await official.expect_callback_answer(query)
    assert "没有找到" in answer["text"] or "状态" in answer["text"]
    assert (await services.requests.get(request_id)).status is Status.ASSIGNED  # type: ignore[union-attr]
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_waiting_for_the_enterprise_and_not_solved(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="en", started=True)
    await services.accounts.set_language(ALICE_ID, "en")  # she reads English
    request_id = await file_request(services)
    assert "新诉求" in (await official.expect_message()).text
    await official.send("LN-20260302-0001")
    card = await official.expect_message()
    await official.press(card, "❓ 请企业补充")
    await official.expect_message()
    await official.send("请提供补贴申报回执")
    assert "暂停" in (await official.expect_message()).text
    question = await alice.expect_message()
    assert "LN-20260302-0001" in question.text and "补贴申报回执" in question.text
    assert "王建国" in question.text
    waiting = await services.requests.get(request_id)
    assert waiting is not None and waiting.status is Status.WAITING

    clock.advance(timedelta(days=2))
    await alice.press(question, "💬 Reply")
    await alice.expect_message()
    await alice.send_document(b"%PDF-1.4 receipt", filename="回执.pdf", caption="回执见附件")
    assert "Sent" in (await alice.expect_message()).text
    forwarded = await official.expect_message()
    assert forwarded.caption is not None and "回执见附件" in forwarded.caption
    resumed = await services.requests.get(request_id)
    assert resumed is not None and resumed.status is Status.IN_PROGRESS
    assert waiting.resolve_due_at is not None and resumed.resolve_due_at is not None
    assert resumed.resolve_due_at > waiting.resolve_due_at

    await official.press(card, "🗒 内部备注")
    await official.expect_message()
    await official.send("企业材料齐全，下周答复")
    assert "备注" in (await official.expect_message()).text
    await alice.expect_no_message(within=0.2)

    await official.press(card, "🏁 办结")
    await official.expect_message()
    await official.send("已兑现")
    await official.expect_message()
    ask = await alice.expect_message()
    assert "Is the problem solved?" in ask.text
    await alice.press(ask, "👎 Not solved")
    assert "reopened" in (await alice.expect_message()).text
    assert "未解决" in (await official.expect_message()).text
    reopened = await services.requests.get(request_id)
    assert reopened is not None and reopened.status is Status.REOPENED and reopened.flagged
    notes = await services.requests.messages(request_id, internal=False)
    assert "企业材料齐全，下周答复" not in [m.text for m in notes]
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_my_requests_paging_and_withdraw(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    for n in range(7):
        await file_request(services, text=f"第{n}件事")
    await alice.send("/my")
    first = await alice.expect_message()
    assert "共 7 条" in first.text and "第 1/2 页" in first.text and "第6件事" in first.text
    await alice.press(first, "下一页 ➡️")
    second = await alice.expect_edit(first)
    assert "第 2/2 页" in second.text and "第0件事" in second.text
    await alice.press(second, "LN-20260302-0001")
    card = await alice.expect_message()
    assert "王建国" in card.text
    await alice.press(card, "🗑 撤回")
    withdrawn = await alice.expect_edit(card)
    assert "已撤回" in withdrawn.text
    await standin.wait_for(lambda: any("撤回了诉求" in (m.text or "") for m in official.messages))
    again = await alice.press(withdrawn, "🕘 记录")
    await alice.expect_callback_answer(again)
    assert "办理记录" in (await alice.expect_message()).text
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_bad_input_stale_forged_and_foreign(
    standin: TelegramStandin, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    bob = standin.user(BOB_ID, first_name="Bob", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, language_code="zh-hans", started=True)
    request_id = await file_request(services)
    assert "新诉求" in (await official.expect_message()).text
    await bob.send("LN-20260302-0001")
    assert "没有找到" in (await bob.expect_message()).text
    await bob.send("/open LN-20260302-0001")
    assert "没有找到" in (await bob.expect_message()).text
    await bob.send("/my")
    menu = await bob.expect_message()
    with caplog.at_level(logging.WARNING):
        forged = await bob.press_data(menu, f"rq:{request_id}:ack")
        answer = await bob.expect_callback_answer(forged)
        assert "没有找到" in answer["text"]
        nonsense = await bob.press_data(menu, "rq:one:drop-table")
        assert "已失效" in (await bob.expect_callback_answer(nonsense))["text"]
    assert any("forged" in r.getMessage() for r in caplog.records)
    assert any("request they cannot see" in r.getMessage() for r in caplog.records)
    request = await services.requests.get(request_id)
    assert request is not None and request.status is Status.ASSIGNED and request.version == 1

    await alice.send("/new")
    ask = await alice.expect_message()
    await alice.send_sticker()
    assert "文字、图片和文件" in (await alice.expect_message()).text
    await alice.send("随便打几个字")
    assert "按钮" in (await alice.expect_message()).text
    await alice.press(ask, "政策落实")
    assert "描述" in (await alice.expect_message()).text
    await alice.send_voice()
    assert "文字、图片和文件" in (await alice.expect_message()).text
    await alice.send_location(41.8, 123.4)
    assert "文字、图片和文件" in (await alice.expect_message()).text
    await alice.send("还在继续")
    assert "已记下" in (await alice.expect_message()).text
    draft = await services.requests.draft(ALICE_ID)
    assert draft is not None and draft["description"] == ["还在继续"]
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_reply_racing_a_change_says_what_the_request_is_now(
    standin: TelegramStandin, services: Services
) -> None:
    """The official began a reply; the enterprise withdrew meanwhile: the reply is not
    stored and the official is told the request's status, not "not found"."""
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    request_id = await file_request(services)
    card = await official.expect_message()
    await official.press(card, "💬 回复")
    await official.expect_message()
    alice = await services.actor(ALICE_ID)
    await services.desk.act(alice, request_id, Action.WITHDRAW)
    await services.courier.deliver_now()
    assert "撤回" in (await official.expect_message()).text
    await official.send("已联系欠款单位")
    answer = (await official.expect_message()).text
    assert "现在的状态是：已撤回" in answer and "没有找到" not in answer
    assert await services.requests.messages(request_id, internal=True) == []
    await official.send("已联系欠款单位")  # the dialogue is over: not taken as a reply
    await official.expect_message()
    assert await services.requests.messages(request_id, internal=True) == []
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_photo_outside_the_description_says_where_it_goes(
    standin: TelegramStandin, services: Services
) -> None:
    """Before the description a photo is not taken, and the user hears it will be welcome
    there; after it, how to add one from the summary. Only the photos sent at the
    description step are in the request."""
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    await alice.send("/new")
    ask = await alice.expect_message()
    await alice.send_photo(b"\x89PNG early")
    early = (await alice.expect_message()).text
    assert "稍后“描述问题”这一步" in early and "没有记入" in early
    await alice.press(ask, "拖欠账款")
    assert "欠款方" in (await alice.expect_message()).text
    await alice.send_photo(b"\x89PNG still early", caption="沈阳某国企")
    assert "稍后“描述问题”这一步" in (await alice.expect_message()).text
    for answer in ("沈阳某国企", "120万元", "2025年6月"):
        await alice.send(answer)
        await alice.expect_message()
    await alice.send_photo(b"\x89PNG taken", caption="对账单")
    added = await alice.expect_message()
    assert "已记下" in added.text
    await alice.press(added, "✅ 写完了")
    urgency = await alice.expect_message()
    await alice.send_photo(b"\x89PNG late")
    late = (await alice.expect_message()).text
    assert "补充描述或附件" in late and "没有记入" in late
    await alice.press(urgency, "一般")
    summary = await alice.expect_message()
    assert "附件：1" in summary.text
    await alice.press(summary, "✏️ 修改")
    parts = await alice.expect_message()
    await alice.press(parts, "补充描述或附件")
    await alice.expect_message()
    await alice.send_photo(b"\x89PNG added later")
    more = await alice.expect_message()
    await alice.press(more, "✅ 写完了")
    assert "附件：2" in (await alice.expect_message()).text
    draft = await services.requests.draft(ALICE_ID)
    assert draft is not None and len(draft["attachments"]) == 2
    assert standin.errors == []


async def test_draft_survives_a_restart(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    app = build_application(settings, clock=clock)
    async with running(app, poll_timeout=1):
        await make_cast(app.bot_data.services)
        alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
        await alice.send("/new")
        ask = await alice.expect_message()
        await alice.press(ask, "行政审批")
        await alice.expect_message()
        await alice.send("食品经营许可证")
        await alice.expect_message()
    app = build_application(settings, clock=clock)
    async with running(app, poll_timeout=1):
        await alice.send("/new")
        offer = await alice.expect_message()
        assert "草稿" in offer.text
        await alice.press(offer, "继续填写")
        assert "部门" in (await alice.expect_message()).text
        await alice.send("市政务服务中心")
        assert "描述" in (await alice.expect_message()).text
        draft = await app.bot_data.services.requests.draft(ALICE_ID)
        assert draft is not None
        assert draft["answers"] == {"item": "食品经营许可证", "office": "市政务服务中心"}


@pytest.mark.usefixtures("bot")
async def test_two_enterprises_edit_and_the_admins_queue(
    standin: TelegramStandin, services: Services
) -> None:
    """Alice also speaks for a firm without an official: she picks it, edits the urgency,
    and the request lands in the admins' queue."""
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    now = services.clock.now()
    firm = await services.directory.add_enterprise(
        name="抚顺新兴化工有限公司",
        credit_code=make_credit_code("91210400MA0Y1234X"),
        city="fushun",
        stage=Stage.STARTUP,
        now=now,
    )
    await services.directory.add_contact(firm.id, telegram_id=ALICE_ID, now=now)
    await alice.send("/new")
    which = await alice.expect_message()
    assert "哪家企业" in which.text
    await alice.press(which, "抚顺新兴化工有限公司")
    await alice.press(await alice.expect_message(), "产业链协同")
    assert "描述" in (await alice.expect_message()).text
    await alice.send("寻找本地的催化剂供应商")
    await alice.press(await alice.expect_message(), "✅ 写完了")
    await alice.press(await alice.expect_message(), "一般")
    summary = await alice.expect_message()
    assert "一般" in summary.text
    await alice.press(summary, "✏️ 修改")
    parts = await alice.expect_message()
    await alice.press(parts, "紧急程度")
    await alice.press(await alice.expect_message(), "紧急")
    summary = await alice.expect_message()
    assert "紧急程度：紧急" in summary.text and "催化剂" in summary.text
    # Adding to the description keeps what was written; the enterprise can be chosen again.
    await alice.press(summary, "✏️ 修改")
    await alice.press(await alice.expect_message(), "补充描述或附件")
    assert "描述" in (await alice.expect_message()).text
    await alice.send("年需求约 20 吨")
    await alice.press(await alice.expect_message(), "✅ 写完了")
    summary = await alice.expect_message()
    assert "催化剂" in summary.text and "20 吨" in summary.text
    await alice.press(summary, "✏️ 修改")
    await alice.press(await alice.expect_message(), "企业")
    await alice.press(await alice.expect_message(), "沈阳北方精密机械有限公司")
    summary = await alice.expect_message()
    assert "沈阳北方精密机械有限公司" in summary.text and "催化剂" in summary.text
    await alice.press(summary, "✏️ 修改")
    await alice.press(await alice.expect_message(), "企业")
    await alice.press(await alice.expect_message(), "抚顺新兴化工有限公司")
    summary = await alice.expect_message()
    assert "抚顺新兴化工有限公司" in summary.text
    await alice.press(summary, "✅ 提交")
    received = await alice.expect_message()
    assert "正在为您安排办理官员" in received.text
    queued = await admin.expect_message()
    assert "需要分派" in queued.text and "👤 分派" in str(queued.reply_markup)
    await admin.send("/queue")
    assert "LN-20260302-0001" in (await admin.expect_message()).text
    request = await services.requests.by_number("LN-20260302-0001")
    assert request is not None and request.status is Status.SUBMITTED and request.urgent
    assert request.enterprise_id == firm.id
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_overlong_reply_is_refused_and_kept_asking(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, language_code="zh-hans", started=True)
    await file_request(services)
    assert "新诉求" in (await official.expect_message()).text
    await alice.send("LN-20260302-0001")
    card = await alice.expect_message()
    await alice.press(card, "💬 回复")
    await alice.expect_message()
    await alice.send("长" * 3500)
    assert "太长" in (await alice.expect_message()).text
    await alice.send_sticker()
    assert "只能发送文字" in (await alice.expect_message()).text
    await alice.send("短一点的补充")
    assert "已发送" in (await alice.expect_message()).text
    assert standin.errors == []


async def test_conversation_timeout_is_configured_and_keeps_the_draft(
    standin: TelegramStandin, settings: Settings, clock: FakeClock
) -> None:
    """[requests] conversation_timeout_seconds ends a silent conversation: the user is told,
    and the intake draft stays saved for the next /new."""
    quick = settings.model_copy(
        update={
            "requests": settings.requests.model_copy(update={"conversation_timeout_seconds": 1.0})
        }
    )
    app = build_application(quick, clock=clock)
    async with running(app, poll_timeout=1):
        await make_cast(app.bot_data.services)
        alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
        await alice.send("/new")
        ask = await alice.expect_message()
        await alice.press(ask, "行政审批")
        await alice.expect_message()
        await alice.send("食品经营许可证")
        await alice.expect_message()
        told = await alice.expect_message(timeout=5)
        assert "草稿" in told.text and "/new" in told.text
        draft = await app.bot_data.services.requests.draft(ALICE_ID)
        assert draft is not None and draft["answers"] == {"item": "食品经营许可证"}
        await alice.send("/new")
        assert "草稿" in (await alice.expect_message()).text
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_long_question_on_a_long_request_still_reaches_the_enterprise(
    standin: TelegramStandin, services: Services
) -> None:
    """The note and the card together would pass Telegram's 4096: the note goes with the
    buttons, the card stays a press away."""
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, language_code="zh-hans", started=True)
    request_id = await file_request(services, text="长" * 2500)
    await official.expect_message()
    holder = await services.actor(OFFICIAL_ID)
    await services.desk.act(holder, request_id, Action.ASK_INFO, note="问" * 3000)
    await services.courier.deliver_now()
    question = await alice.expect_message()
    assert "问" * 3000 in (question.text or "") and "长" * 100 not in (question.text or "")
    assert "💬 回复" in [b["text"] for b in inline_buttons(question.reply_markup)]
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_the_rating_is_asked_once_at_the_final_close(
    standin: TelegramStandin, services: Services
) -> None:
    """Issue #20 point 5: "not solved" reopens the request without asking for a rating; the
    enterprise rates it once, when it is solved and closed."""
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    request_id = await file_request(services)
    await official.expect_message()
    holder = await services.actor(OFFICIAL_ID)
    await services.desk.act(holder, request_id, Action.ACKNOWLEDGE)
    await alice.expect_message()
    await services.desk.act(holder, request_id, Action.RESOLVE, note="已兑现")
    ask = await alice.expect_message()
    await alice.press(ask, "👎 未解决")
    reopened = await alice.expect_message()
    assert "重新打开" in (reopened.text or "") and "评价" in (reopened.text or "")
    assert inline_buttons(reopened.data.get("reply_markup")) == []
    owner = await services.actor(ALICE_ID)
    with pytest.raises(TransitionRefused, match="not_closed"):
        await services.desk.rate(owner, request_id, rating=1, comment=None)

    await services.desk.act(holder, request_id, Action.RESOLVE, note="这次真的兑现了")
    ask_again = await next_message_with(alice, "问题解决了吗")
    await alice.press(ask_again, "👍 已解决")
    rating = await alice.expect_message()
    assert [b["text"] for b in inline_buttons(rating.data.get("reply_markup"))][-1] == "⭐" * 5
    await alice.press(rating, "⭐⭐⭐⭐")
    await alice.expect_edit(rating)
    closed = await services.requests.get(request_id)
    assert closed is not None and closed.status is Status.CLOSED and closed.rating == 4
    # The one message that asked for stars is now the thanks (the others asked nothing).
    texts = [m.text or "" for m in alice.messages]
    rated = [text for text in texts if "打分" in text or "评价！" in text]
    assert len(rated) == 1 and "谢谢您的评价" in rated[0]
    assert standin.errors == []


async def next_message_with(user: TestUser, needle: str) -> StoredMessage:
    for _ in range(5):
        message = await user.expect_message()
        if needle in (message.text or ""):
            return message
    raise AssertionError(f"no message with {needle!r}")
