"""Updates: long polling with a real Application, offsets, allowed_updates, groups, blocking."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from telegram import Bot
from telegram.error import Conflict, Forbidden

from standin import TelegramStandin
from tests.standin.conftest import TOKEN, AnyApp


async def test_start_command_is_answered_through_long_polling(
    standin: TelegramStandin, echo_app: AnyApp
) -> None:
    alice = standin.user(1001, first_name="Alice <3", language_code="zh-hans")
    await asyncio.sleep(0.05)  # the updater is now waiting in a 10 s long poll
    started = time.perf_counter()
    sent = await alice.send("/start")
    reply = await alice.expect_message(timeout=2.0)
    assert time.perf_counter() - started < 0.5
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert reply.text == "Hello, Alice <3!"
    assert reply.entities == [{"type": "bold", "offset": 7, "length": 8}]
    assert reply.html == "Hello, <b>Alice &lt;3</b>!"
    assert standin.errors == []


async def test_commands_addressed_to_the_bot_and_plain_text(
    standin: TelegramStandin, echo_app: AnyApp
) -> None:
    alice = standin.user(1001, first_name="Alice")
    await alice.send("/start@liaison_bot")
    assert (await alice.expect_message()).text == "Hello, Alice!"
    message = await alice.send("你好")
    assert (await alice.expect_message()).text == "你好"
    await alice.edit(message["message_id"], "你好!")
    assert (await alice.expect_message()).text == "edited: 你好!"
    await alice.send_sticker()
    await alice.send_location(41.8, 123.4)
    await alice.expect_no_message(within=0.2)


async def test_expect_message_times_out_with_the_chat_dump(standin: TelegramStandin) -> None:
    alice = standin.user(1001)
    await alice.send("anyone there?")
    with pytest.raises(AssertionError, match=r"#1 user: 'anyone there\?'"):
        await alice.expect_message(timeout=0.05)


async def test_offsets_confirm_and_negative_offsets_keep_the_tail(
    tg: Bot, standin: TelegramStandin
) -> None:
    alice = standin.user(1001)
    for text in ("one", "two", "three"):
        await alice.send(text)
    first = await tg.get_updates(timeout=0)
    assert [u.message and u.message.text for u in first] == ["one", "two", "three"]
    again = await tg.get_updates(offset=first[1].update_id, timeout=0)
    assert [u.update_id for u in again] == [first[1].update_id, first[2].update_id]
    tail = await tg.get_updates(offset=-1, timeout=0)
    assert [u.update_id for u in tail] == [first[2].update_id]
    assert await tg.get_updates(offset=first[2].update_id + 1, timeout=0) == ()


async def test_allowed_updates_filters_new_updates(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001)
    await tg.get_updates(timeout=0, allowed_updates=["message"])
    await alice.send("hi")
    alice.block()
    updates = await tg.get_updates(timeout=0)
    assert [u.message is not None for u in updates] == [True]


async def test_long_poll_waits_then_returns_nothing(standin: TelegramStandin) -> None:
    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{standin.api_base_url}{TOKEN}/getUpdates", data={"timeout": "0.3"}
        )
    assert answer.json() == {"ok": True, "result": []}
    assert time.perf_counter() - started >= 0.3


async def test_blocking_and_unblocking_tell_the_bot(
    standin: TelegramStandin, echo_app: AnyApp
) -> None:
    bob = standin.user(1002, first_name="Bob")
    await bob.send("/start")
    await bob.expect_message()
    await bob.block()
    await standin.wait_for(lambda: len(echo_app.bot_data.get("members", [])) == 1)
    await bob.send("I'm back")  # the app unblocks the bot first
    await standin.wait_for(lambda: len(echo_app.bot_data["members"]) == 2)
    statuses = [
        (m.old_chat_member.status, m.new_chat_member.status) for m in echo_app.bot_data["members"]
    ]
    assert statuses == [("member", "kicked"), ("kicked", "member")]
    assert (await bob.expect_message()).text == "I'm back"


async def test_groups(tg: Bot, standin: TelegramStandin, echo_app: AnyApp) -> None:
    alice = standin.user(1001, first_name="Alice")
    group = standin.group(-100123, title="Chamber of commerce")
    await group.add_bot(by=alice)
    await group.send(alice, "hi all")
    reply = await group.expect_message()
    assert (reply.text, reply.data["chat"]["title"]) == ("hi all", "Chamber of commerce")
    assert echo_app.bot_data["members"][0].chat.type == "supergroup"
    await group.remove_bot(by=alice)
    with pytest.raises(Forbidden):
        await tg.send_message(-100123, "still here?")


async def test_bot_leaves_a_group(tg: Bot, standin: TelegramStandin) -> None:
    alice = standin.user(1001)
    group = standin.group(-42, title="Small group")
    await group.add_bot(by=alice)
    assert await tg.leave_chat(-42)
    updates = await tg.get_updates(timeout=0)
    assert [u.my_chat_member and u.my_chat_member.new_chat_member.status for u in updates] == [
        "member",
        "left",
    ]


async def test_get_updates_conflicts_with_a_webhook(tg: Bot) -> None:
    assert await tg.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="webhook is active"):
        await tg.get_updates(timeout=0)
    assert await tg.delete_webhook()
    assert await tg.get_updates(timeout=0) == ()


# --- Two pollers on one token, and updates the library cannot read ---------------------------

CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


async def _raw_poll(client: httpx.AsyncClient, url: str, **params: object) -> httpx.Response:
    return await client.post(url, json=params)


async def test_a_second_poller_terminates_the_first_long_poll_with_409(
    standin: TelegramStandin,
) -> None:
    """As at Telegram: a new getUpdates ends the one still waiting with 409 Conflict."""
    url = f"{standin.api_base_url}{TOKEN}/getUpdates"
    async with httpx.AsyncClient() as first, httpx.AsyncClient() as second:
        waiting = asyncio.create_task(_raw_poll(first, url, timeout=5))
        await standin.wait_for(lambda: standin.world.updates.polling)
        started = time.perf_counter()
        answer = await _raw_poll(second, url, timeout=0)
        terminated = await waiting
    assert time.perf_counter() - started < 1.0  # not after the first one's 5 s
    assert answer.json() == {"ok": True, "result": []}
    assert terminated.status_code == 409
    assert terminated.json() == {"ok": False, "error_code": 409, "description": CONFLICT}
    assert [c.status for c in standin.calls_to("getUpdates")] == [200, 409]


async def test_polls_one_after_the_other_do_not_conflict(tg: Bot, standin: TelegramStandin) -> None:
    for _ in range(3):
        assert await tg.get_updates(timeout=0.05) == ()
    assert standin.errors == []


async def test_a_poll_whose_client_hung_up_is_not_a_conflict(standin: TelegramStandin) -> None:
    """A bot stopped (or killed) mid-poll is no other instance: its successor polls in peace."""
    url = f"{standin.api_base_url}{TOKEN}/getUpdates"
    async with httpx.AsyncClient() as gone:
        abandoned = asyncio.create_task(_raw_poll(gone, url, timeout=5))
        await standin.wait_for(lambda: standin.world.updates.polling)
        abandoned.cancel()
        with pytest.raises(asyncio.CancelledError):
            await abandoned
    async with httpx.AsyncClient() as successor:
        answer = await _raw_poll(successor, url, timeout=0)
    assert answer.json() == {"ok": True, "result": []}
    await standin.wait_for(lambda: not standin.world.updates.polling)
    assert standin.errors == []


async def test_a_raw_update_is_delivered_exactly_as_injected(standin: TelegramStandin) -> None:
    """The control API queues any JSON as an update, numbered like the others by default."""
    control = f"{standin.base_url}/_standin"
    url = f"{standin.api_base_url}{TOKEN}/getUpdates"
    alice = standin.user(1001)
    async with httpx.AsyncClient() as client:
        await alice.send("before")
        numbered = await client.post(f"{control}/updates", json={"update": {"message": 42}})
        raw = await client.post(
            f"{control}/updates", json={"update": [1, "two"], "assign_id": False}
        )
        await alice.send("after")
        refused = await client.post(f"{control}/updates", json={"nothing": True})
        result = (await _raw_poll(client, url, timeout=0)).json()["result"]
        first_id = result[0]["update_id"]
        assert numbered.json() == {"ok": True, "update": {"update_id": first_id + 1, "message": 42}}
        assert raw.json() == {"ok": True, "update": [1, "two"]}
        assert refused.status_code == 400
        assert result[1:3] == [{"update_id": first_id + 1, "message": 42}, [1, "two"]]
        assert result[3]["message"]["text"] == "after"
        # An offset past the raw one's place confirms it with the others.
        rest = await _raw_poll(client, url, timeout=0, offset=result[3]["update_id"])
        assert [u["update_id"] for u in rest.json()["result"]] == [result[3]["update_id"]]
    assert standin.inject_update({"edited_message": "x"})["update_id"] == first_id + 4
