"""Bot API calls straight from a python-telegram-bot ``Bot``: results, wire formats, errors."""

from __future__ import annotations

import json

import httpx
import pytest
from telegram import Bot, BotCommand, BotCommandScopeChat, MenuButtonCommands
from telegram.error import BadRequest, Forbidden, InvalidToken

from standin import TelegramStandin
from tests.standin.conftest import TOKEN


async def test_get_me_describes_the_bot(tg: Bot, standin: TelegramStandin) -> None:
    me = await tg.get_me()
    assert (me.id, me.username, me.is_bot) == (7000000001, "liaison_bot", True)
    assert standin.tokens == {TOKEN}


async def test_unknown_method_and_unknown_token(standin: TelegramStandin) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{standin.api_base_url}{TOKEN}/sendTelepathy")
    assert answer.status_code == 404
    assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    guarded = TelegramStandin(valid_tokens={"1:GOOD"})
    await guarded.start()
    try:
        with pytest.raises(InvalidToken):
            async with Bot("2:BAD", base_url=guarded.api_base_url):
                pass
    finally:
        await guarded.stop()


async def test_method_names_are_case_insensitive_and_get_works(standin: TelegramStandin) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{standin.api_base_url}{TOKEN}/GETME")
    assert answer.json()["result"]["username"] == "liaison_bot"


async def test_missing_required_parameter_is_refused(standin: TelegramStandin) -> None:
    standin.user(1001, started=True)
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{standin.api_base_url}{TOKEN}/sendMessage", data={"chat_id": "1001"}
        )
    assert (answer.status_code, answer.json()["description"]) == (
        400,
        "Bad Request: text is required",
    )


async def test_a_parameter_the_method_does_not_take_is_refused_when_strict() -> None:
    """Telegram ignores it; a strict stand-in answers 400 and lists it, a lenient one lists it."""
    for strict in (True, False):
        server = TelegramStandin(strict_parameters=strict)
        await server.start()
        try:
            server.user(1001, started=True)
            async with httpx.AsyncClient() as client:
                answer = await client.post(
                    f"{server.api_base_url}{TOKEN}/sendMessage",
                    data={"chat_id": "1001", "text": "hi", "colour": "red"},
                )
        finally:
            await server.stop()
        assert server.strict_parameters is strict
        assert server.spec_violations == ["sendMessage: colour is not a parameter of sendMessage"]
        if strict:
            assert (answer.status_code, answer.json()["description"]) == (
                400,
                "Bad Request: colour is not a parameter of sendMessage",
            )
        else:
            assert answer.status_code == 200


async def test_a_missing_required_parameter_is_listed_too(standin: TelegramStandin) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(f"{standin.api_base_url}{TOKEN}/editMessageReplyMarkup", data={})
        await client.post(
            f"{standin.api_base_url}{TOKEN}/answerCallbackQuery", data={"parse_mode": "HTML"}
        )
    assert standin.spec_violations == [
        "answerCallbackQuery: parse_mode is not a parameter of answerCallbackQuery",
        "answerCallbackQuery: callback_query_id is required",
    ]


async def test_strictness_follows_the_environment_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STANDIN_STRICT_PARAMETERS", "1")
    assert TelegramStandin().strict_parameters
    assert not TelegramStandin(strict_parameters=False).strict_parameters
    monkeypatch.delenv("STANDIN_STRICT_PARAMETERS")
    assert not TelegramStandin().strict_parameters


async def test_json_body_and_form_values_decode_alike(standin: TelegramStandin) -> None:
    alice = standin.user(1001, first_name="Alice", started=True)
    url = f"{standin.api_base_url}{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient() as client:
        await client.post(url, json={"chat_id": 1001, "text": "123", "reply_markup": markup})
        await client.post(
            url, data={"chat_id": "1001", "text": "456", "reply_markup": json.dumps(markup)}
        )
    assert [(m.text, m.reply_markup) for m in alice.messages] == [("123", markup), ("456", markup)]


async def test_chat_not_found_until_the_user_starts_the_bot(
    tg: Bot, standin: TelegramStandin
) -> None:
    alice = standin.user(1001, first_name="Alice")
    with pytest.raises(BadRequest, match="Chat not found"):
        await tg.send_message(1001, "hi")
    with pytest.raises(BadRequest, match="Chat not found"):
        await tg.send_message(424242, "hi")
    await alice.send("hello")
    sent = await tg.send_message(1001, "hi")
    assert (sent.chat.first_name, sent.from_user and sent.from_user.id) == ("Alice", 7000000001)


async def test_blocked_and_deactivated_users_are_forbidden(
    tg: Bot, standin: TelegramStandin
) -> None:
    bob = standin.user(1002, started=True)
    bob.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await tg.send_message(1002, "hi")
    bob.unblock()
    await tg.send_message(1002, "hi")
    await bob.deactivate()
    with pytest.raises(Forbidden, match="user is deactivated"):
        await tg.send_message(1002, "hi")


async def test_text_errors(tg: Bot, standin: TelegramStandin) -> None:
    standin.user(1001, started=True)
    with pytest.raises(BadRequest, match="Message is too long"):
        await tg.send_message(1001, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await tg.send_message(1001, "  ")
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await tg.send_message(1001, "1 < 2", parse_mode="HTML")
    assert [call.status for call in standin.errors] == [400, 400, 400]


async def test_edit_and_delete(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001, started=True)
    sent = await tg.send_message(1001, "<b>one</b>", parse_mode="HTML")
    edited = await tg.edit_message_text("<b>two</b>", 1001, sent.message_id, parse_mode="HTML")
    assert not isinstance(edited, bool) and edited.text == "two"
    with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
        await tg.edit_message_text("<b>two</b>", 1001, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await tg.edit_message_text("x", 1001, 999)
    assert await tg.delete_message(1001, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await tg.delete_message(1001, sent.message_id)
    [message] = alice.messages
    assert (message.text, message.source, message.edit_count, message.deleted) == (
        "two",
        "<b>two</b>",
        1,
        True,
    )


async def test_commands_are_stored_per_scope_and_language(
    tg: Bot, standin: TelegramStandin
) -> None:
    standin.user(1001, started=True)
    await tg.set_my_commands([BotCommand("start", "Start")])
    await tg.set_my_commands([BotCommand("help", "帮助")], language_code="zh")
    await tg.set_my_commands([BotCommand("admin", "Admin")], scope=BotCommandScopeChat(1001))
    assert standin.commands() == [{"command": "start", "description": "Start"}]
    assert standin.commands(language_code="zh")[0]["command"] == "help"
    assert [c.command for c in await tg.get_my_commands(scope=BotCommandScopeChat(1001))] == [
        "admin"
    ]
    await tg.delete_my_commands(scope=BotCommandScopeChat(1001))
    assert standin.commands(scope="chat", chat_id=1001) == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await tg.set_my_commands([BotCommand("Start", "x")])
    with pytest.raises(BadRequest, match="Invalid language code"):
        await tg.set_my_commands([BotCommand("start", "x")], language_code="zh-hans")


async def test_profile_and_chat_methods(tg: Bot, standin: TelegramStandin) -> None:
    standin.user(1001, first_name="Alice", started=True)
    assert await tg.set_my_description("A bot for enterprises")
    assert await tg.set_my_short_description("Short", language_code="en")
    assert standin.description() == "A bot for enterprises"
    assert standin.description("en", short=True) == "Short"
    assert await tg.set_chat_menu_button(1001, MenuButtonCommands())
    assert (await tg.get_chat_menu_button(1001)).type == "commands"
    assert (await tg.get_chat(1001)).first_name == "Alice"
    assert await tg.send_chat_action(1001, "typing")
    assert await tg.log_out() and await tg.close()
