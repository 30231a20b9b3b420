"""Inline buttons, callback answers, edits, and the reply keyboard that asks for a user."""

from __future__ import annotations

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest

from standin import TelegramStandin
from tests.standin.conftest import AnyApp, FakeClock


async def test_pressing_a_button_answers_and_edits(
    standin: TelegramStandin, echo_app: AnyApp
) -> None:
    alice = standin.user(1001, first_name="Alice")
    await alice.send("/menu")
    menu = await alice.expect_message()
    assert [b["text"] for row in menu.reply_markup["inline_keyboard"] for b in row] == [
        "Yes",
        "No",
        "Docs",
    ]
    query_id = await alice.press(menu, "Yes")
    assert await alice.expect_callback_answer(query_id) == {"text": "You chose yes"}
    edited = await alice.expect_edit(menu)
    assert (edited.text, edited.reply_markup, edited.edit_count) == ("Chosen: yes", None, 1)
    assert alice.messages[-1].entities == [{"type": "bold", "offset": 8, "length": 3}]
    assert standin.errors == []


async def test_buttons_match_by_callback_data_too(
    standin: TelegramStandin, echo_app: AnyApp
) -> None:
    alice = standin.user(1001)
    await alice.send("/menu")
    menu = await alice.expect_message()
    query_id = await alice.press(menu, "choice:no")
    assert (await alice.expect_callback_answer(query_id))["text"] == "You chose no"
    with pytest.raises(AssertionError, match="no callback button 'Docs'"):
        await alice.press(menu, "Docs")  # a url button sends no callback query


async def test_answers_are_refused_when_too_old_or_repeated(
    tg: Bot, standin: TelegramStandin, clock: FakeClock
) -> None:
    alice = standin.user(1001, started=True)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await tg.send_message(1001, "Ready?", reply_markup=markup)
    first = await alice.press(sent.message_id, "Go")
    second = await alice.press_data(sent.message_id, "forged:data")
    assert await tg.answer_callback_query(first, text="ok")
    with pytest.raises(BadRequest, match="Query is too old and response timeout expired"):
        await tg.answer_callback_query(first)
    clock.now += 15 * 60 + 1
    with pytest.raises(BadRequest, match="Query is too old"):
        await tg.answer_callback_query(second)
    with pytest.raises(BadRequest, match="Query is too old"):
        await tg.answer_callback_query("no-such-query")
    updates = await tg.get_updates(timeout=0)
    assert [u.callback_query and u.callback_query.data for u in updates] == ["go", "forged:data"]


async def test_callback_data_must_be_1_to_64_bytes(tg: Bot, standin: TelegramStandin) -> None:
    standin.user(1001, started=True)
    for data in ("", "x" * 65, "数" * 22):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data=data)]])
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            await tg.send_message(1001, "Ready?", reply_markup=markup)
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("Go", url="ftp://x")]])
    with pytest.raises(BadRequest, match="Button_url_invalid"):
        await tg.send_message(1001, "Ready?", reply_markup=bad_url)


async def test_keyboard_only_edit_and_not_modified(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001, started=True)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go")]])
    sent = await tg.send_message(1001, "Ready?", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await tg.edit_message_reply_markup(1001, sent.message_id, reply_markup=markup)
    await tg.edit_message_reply_markup(1001, sent.message_id)
    assert alice.messages[0].reply_markup is None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await tg.edit_message_text("Ready?", 1001, sent.message_id)


async def test_reply_keyboard_asks_for_a_user(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001, started=True)
    standin.user(1002, first_name="Bob", username="bob")
    button = KeyboardButton(
        "Pick a colleague",
        request_users=KeyboardButtonRequestUsers(request_id=7, request_name=True),
    )
    sent = await tg.send_message(1001, "Who?", reply_markup=ReplyKeyboardMarkup([[button]]))
    assert sent.reply_markup is None  # Telegram echoes inline keyboards only
    assert alice.messages[0].markup is not None
    shared = await alice.share_user(7, 1002)
    assert shared["users_shared"] == {
        "request_id": 7,
        "users": [{"user_id": 1002, "first_name": "Bob"}],
    }
    [update] = await tg.get_updates(timeout=0)
    assert update.message and update.message.users_shared
    assert update.message.users_shared.users[0].user_id == 1002
    await tg.send_message(1001, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert alice.reply_keyboard is None
    with pytest.raises(AssertionError, match="no request_users button 7"):
        await alice.share_user(7, 1002)
