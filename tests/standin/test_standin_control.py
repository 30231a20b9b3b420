"""The JSON control API the browser sandbox uses."""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden

from standin import TelegramStandin


async def test_users_act_and_watch_their_chat(tg: Bot, standin: TelegramStandin) -> None:
    control = f"{standin.base_url}/_standin"
    async with httpx.AsyncClient() as client:
        created = await client.post(
            f"{control}/users", json={"id": 1001, "first_name": "Alice", "language_code": "zh-hans"}
        )
        assert created.json()["first_name"] == "Alice"
        sent = await client.post(
            f"{control}/users/1001/actions", json={"action": "send_text", "text": "/start"}
        )
        assert sent.json()["result"]["entities"][0]["type"] == "bot_command"
        poll = asyncio.create_task(
            client.get(f"{control}/chats/1001/messages", params={"since": 1, "timeout": 5})
        )
        await asyncio.sleep(0.05)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]])
        await tg.send_message(
            1001, "<b>Hi</b> &lt;script&gt;", parse_mode="HTML", reply_markup=markup
        )
        [message] = (await poll).json()["messages"]
        assert message["html"] == "<b>Hi</b> &lt;script&gt;"
        assert (message["from_bot"], message["reply_markup"]) == (True, markup.to_dict())
        pressed = await client.post(
            f"{control}/users/1001/actions",
            json={"action": "press", "message_id": 2, "callback_data": "ok"},
        )
        assert pressed.json()["ok"]
        photo = base64.b64encode(b"\xff\xd8fake jpeg").decode()
        await client.post(
            f"{control}/users/1001/actions", json={"action": "send_photo", "data_base64": photo}
        )
        listing = await client.get(f"{control}/chats/1001/messages", params={"since": 2})
        [uploaded] = listing.json()["messages"]
        image = await client.get(f"{standin.base_url}{uploaded['photo']}")
        assert image.content == b"\xff\xd8fake jpeg"
        users = await client.get(f"{control}/users")
        assert users.json()["users"][0]["started"] is True
        refused = await client.post(
            f"{control}/users/1001/actions",
            json={"action": "press", "message_id": 2, "callback_data": "nope"},
        )
        assert refused.status_code == 400


async def test_faults_are_injected_through_the_control_api(
    tg: Bot, standin: TelegramStandin
) -> None:
    standin.user(1001, started=True)
    control = f"{standin.base_url}/_standin"
    async with httpx.AsyncClient() as client:
        blocked = {"method": "sendMessage", "chat_id": 1001, "error_code": 403}
        assert (await client.post(f"{control}/faults", json=blocked)).json() == {"ok": True}
        bad = await client.post(f"{control}/faults", json={"times": "many"})
        assert bad.status_code == 400
    with pytest.raises(Forbidden):
        await tg.send_message(1001, "x")
    await tg.send_message(1001, "y")
    assert [c.status for c in standin.calls_to("sendMessage")] == [403, 200]
