"""The full thread of a request (📜) end to end through the stand-in: the whole description,
the files, the earlier conversation after a reassignment, internal notes, paging, refusals."""

from __future__ import annotations

import logging

import pytest

from bot.lifecycle import Action
from bot.services import Services
from bot.threads import split_text, units
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    Cast,
    make_cast,
)
from standin import TelegramStandin, TestUser
from standin.markup import inline_buttons
from standin.state import StoredMessage
from tests.test_requests_flow import file_request

NUMBER = "LN-20260302-0001"
FULL_THREAD = "📜 全部内容"
STRANGER_ID = 600901


async def read_all(user: TestUser) -> list[StoredMessage]:
    """Every bot message that arrives until the bot is quiet."""
    seen = [await user.expect_message()]
    while True:
        try:
            seen.append(await user.expect_message(timeout=0.5))
        except AssertionError:
            return seen


def everyone(standin: TelegramStandin) -> dict[int, TestUser]:
    """The cast's people and a stranger, all of whom have started the bot."""
    return {
        who: standin.user(who, first_name=f"U{who}", language_code="zh-hans", started=True)
        for who in (ALICE_ID, BOB_ID, OFFICIAL_ID, OTHER_OFFICIAL_ID, ADMIN_ID, STRANGER_ID)
    }


def shown(message: StoredMessage) -> str:
    return message.text or message.caption or ""


async def send_and_wait(standin: TelegramStandin, user: TestUser, text: str) -> StoredMessage:
    """Send ``text``; the bot's answer (the last message once there is a new one)."""
    seen = len(user.messages)
    await user.send(text)
    await standin.wait_for(lambda: len(user.messages) > seen)
    return user.messages[-1]


async def long_intake(alice: TestUser) -> str:
    """Alice files a request of 5002 characters (two messages) with a photo and a document;
    returns what she wrote."""
    first = "".join(f"{i:04d}<&>" for i in range(572))[:4000]
    second = "".join(f"{i:04d}乙" for i in range(200))
    await alice.send("/new")
    await alice.press(await alice.expect_message(), "政策落实")
    await alice.expect_message()
    await alice.send(first)
    added = await alice.expect_message()
    await alice.send(second)
    await alice.expect_message()
    await alice.send_photo(b"\x89PNG scan", caption="补贴文件")
    await alice.expect_message()
    await alice.send_document(b"%PDF-1.4 contract", filename="合同.pdf", caption="合同")
    await alice.expect_message()
    await alice.press(added, "✅ 写完了")
    await alice.press(await alice.expect_message(), "一般")
    await alice.press(await alice.expect_message(), "✅ 提交")
    assert NUMBER in (await alice.expect_message()).text
    return f"{first}\n\n{second}"


@pytest.mark.usefixtures("bot")
async def test_the_official_reads_the_whole_description_and_the_files_from_the_card(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    description = await long_intake(alice)

    card = await official.expect_message()
    assert "📎 2 个附件 · 💬 0 条留言" in card.text and "全文见" in card.text
    assert description not in card.text
    await official.press(card, FULL_THREAD)
    *parts, title, photo, document = await read_all(official)

    assert len(parts) == 2 and "（1/2）" in parts[0].text
    stored = await services.requests.by_number(NUMBER)
    assert stored is not None and description in stored.description
    assert "".join(m.text.split("\n\n", 1)[1] for m in parts) == stored.description
    assert "第 1–2 条，共 2 条" in title.text
    assert photo.photo == b"\x89PNG scan" and document.document == b"%PDF-1.4 contract"
    assert document.filename == "合同.pdf"
    for index, (message, words) in enumerate(((photo, "补贴文件"), (document, "合同")), 1):
        assert f"#{index} {NUMBER} · 沈阳北方精密机械有限公司 · 2026-03-02 10:00" in shown(message)
        assert words in shown(message)
    assert standin.errors == []


async def hand_over(services: Services, cast: Cast, request_id: int) -> None:
    """王建国 answers, Alice answers, he notes something internal and returns the request;
    the admin hands it to 李娜."""
    official = await services.actor(OFFICIAL_ID)
    alice = await services.actor(ALICE_ID)
    await services.desk.post(official, request_id, text="请问补贴是哪一年的？")
    await services.desk.post(alice, request_id, text="2025 年的 <省级> 补贴")
    await services.desk.post(official, request_id, text="内部：此事归大连管", internal=True)
    await services.desk.act(official, request_id, Action.RETURN, note="应由大连负责")
    admin = await services.actor(ADMIN_ID)
    await services.desk.act(admin, request_id, Action.ASSIGN, official_id=cast.other_official.id)
    await services.courier.deliver_now()


@pytest.mark.usefixtures("bot")
async def test_after_a_reassignment_the_new_official_reads_the_earlier_conversation(
    standin: TelegramStandin, services: Services
) -> None:
    cast = await make_cast(services)
    users = everyone(standin)
    other, alice = users[OTHER_OFFICIAL_ID], users[ALICE_ID]
    request_id = await file_request(services)
    await hand_over(services, cast, request_id)

    card = await other.expect_message()
    assert "新诉求" in card.text and "💬 2 条留言" in card.text  # the note is not counted
    await other.press(card, FULL_THREAD)
    description, block = await read_all(other)
    assert "补贴没兑现" in description.text
    entries = block.text.split("\n\n")
    assert "第 1–3 条，共 3 条" in entries[0]
    assert "#1 王建国（副省长，辽宁省人民政府）" in entries[1] and "哪一年" in entries[1]
    assert "#2 沈阳北方精密机械有限公司" in entries[2] and "2025 年的 <省级> 补贴" in entries[2]
    assert "内部备注" in entries[3] and "此事归大连管" in entries[3]

    view = await send_and_wait(standin, alice, NUMBER)
    await alice.press(view, FULL_THREAD)
    await standin.wait_for(lambda: "共 2 条" in shown(alice.messages[-1]))
    seen = "\n".join(shown(m) for m in alice.messages[-2:])
    assert "2025 年的 <省级> 补贴" in seen and "共 2 条" in seen
    assert "此事归大连管" not in seen and "内部" not in seen
    assert standin.errors == []


async def try_to_read(standin: TelegramStandin, user: TestUser, request_id: int) -> None:
    """Pressed buttons of the request's thread (forged for them, a page number we never make
    too) and its number: "not found"; nothing of the request shown."""
    seen = len(user.messages)
    anchor = await send_and_wait(standin, user, "/start")
    for data in (f"tv:{request_id}:0", f"tv:{request_id}:1"):
        answer = await user.expect_callback_answer(await user.press_data(anchor, data))
        assert "没有找到" in answer["text"]
    forged = await user.press_data(anchor, f"tv:{request_id}:-1")
    assert "没有找到" in (await user.expect_callback_answer(forged))["text"]
    assert "没有找到" in shown(await send_and_wait(standin, user, NUMBER))
    assert all("秘密" not in shown(m) for m in user.messages[seen:])


@pytest.mark.usefixtures("bot")
async def test_nobody_else_opens_the_thread(
    standin: TelegramStandin, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    await make_cast(services)
    users = everyone(standin)
    request_id = await file_request(services, text="秘密的诉求")
    await services.desk.post(await services.actor(ALICE_ID), request_id, text="秘密的留言")
    # 王建国 held it and returned it: he is not entitled any more either.
    await services.desk.act(
        await services.actor(OFFICIAL_ID), request_id, Action.RETURN, note="不归我"
    )
    await services.courier.deliver_now()
    with caplog.at_level(logging.WARNING):
        for who in (BOB_ID, OTHER_OFFICIAL_ID, STRANGER_ID, OFFICIAL_ID):
            await try_to_read(standin, users[who], request_id)
    assert any("cannot see" in r.getMessage() for r in caplog.records)
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_long_thread_comes_a_page_at_a_time(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    alice = everyone(standin)[ALICE_ID]
    request_id = await file_request(services)
    owner = await services.actor(ALICE_ID)
    for n in range(1, 24):
        await services.desk.post(owner, request_id, text=f"第{n}条补充")
    assert services.settings.requests.thread_page_size == 10

    await alice.send(NUMBER)
    await alice.press(await alice.expect_message(), FULL_THREAD)
    description, block, more = await read_all(alice)
    assert "补贴没兑现" in description.text and "第 1–10 条，共 23 条" in block.text
    assert "第1条补充" in block.text and "第10条补充" in block.text
    assert "第11条补充" not in block.text and "还有 13 条" in more.text
    await alice.press(more, "⬇️ 更多留言")
    block, more = await read_all(alice)
    assert "第 11–20 条" in block.text and "第11条补充" in block.text
    assert "#20 " in block.text and "还有 3 条" in more.text
    await alice.press(more, "⬇️ 更多留言")
    (block,) = await read_all(alice)
    assert "第 21–23 条，共 23 条" in block.text and "第23条补充" in block.text
    assert inline_buttons(block.reply_markup) == []
    # Pages past the end were never offered, however large the number.
    for page in (3, 9_999_999_999_999_999_999):
        query = await alice.press_data(block, f"tv:{request_id}:{page}")
        assert "已失效" in (await alice.expect_callback_answer(query))["text"]
    assert standin.errors == []


def test_split_text_keeps_every_character_and_fits() -> None:
    text = "一" * 6000 + "\n" + "🇨🇳" * 3000
    pieces = split_text(text)
    assert "".join(pieces) == text
    assert all(units(p) <= 3800 for p in pieces)
    assert pieces[1].endswith("\n")  # cut after the line break, in the second half
    assert split_text("") == []


@pytest.mark.usefixtures("bot")
async def test_a_reply_while_nobody_holds_the_request_goes_to_the_admins(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    users = everyone(standin)
    alice, admin = users[ALICE_ID], users[ADMIN_ID]
    request_id = await file_request(services)
    await services.desk.act(
        await services.actor(OFFICIAL_ID), request_id, Action.RETURN, note="不归我"
    )
    await services.courier.deliver_now()
    returned = await alice.expect_message()
    assert "重新安排" in returned.text
    await read_all(admin)  # the returned request's card

    await alice.press(returned, "💬 回复")
    await alice.expect_message()
    await alice.send("请尽快安排，<急>")
    assert "转给管理员" in (await alice.expect_message()).text
    delivered = await admin.expect_message()
    assert "沈阳北方精密机械有限公司（尚无办理官员，请分派）" in delivered.text
    assert "请尽快安排，<急>" in delivered.text
    assert "👤 分派" in [b["text"] for b in inline_buttons(delivered.reply_markup)]
    assert "💬 回复" not in [b["text"] for b in inline_buttons(delivered.reply_markup)]
    assert standin.errors == []
