"""Flood control and injected faults, as the bot sees them through python-telegram-bot."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from standin import RateLimits, TelegramStandin
from tests.standin.conftest import TOKEN, FakeClock


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 warns when RetryAfter.retry_after is an int; opt in to timedelta."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_per_chat_limit_answers_429_until_time_passes(
    tg: Bot, standin: TelegramStandin, clock: FakeClock
) -> None:
    standin.user(1001, started=True)
    standin.user(1002, started=True)
    standin.set_limits(RateLimits(global_per_second=None, per_chat_per_second=1, per_chat_burst=2))
    await tg.send_message(1001, "one")
    await tg.send_message(1001, "two")
    with pytest.raises(RetryAfter) as caught:
        await tg.send_message(1001, "three")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    await tg.send_message(1002, "another chat is not limited")
    clock.now += 1.0
    await tg.send_message(1001, "three")
    assert standin.rate_limited == 1
    [refused] = standin.errors
    assert refused.response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


async def test_global_limit_and_switching_off(
    tg: Bot, standin: TelegramStandin, clock: FakeClock
) -> None:
    for user_id in range(1, 5):
        standin.user(user_id, started=True)
    standin.set_limits(RateLimits(global_per_second=3, per_chat_per_second=None))
    for user_id in range(1, 4):
        await tg.send_message(user_id, "hi")
    with pytest.raises(RetryAfter):
        await tg.send_message(4, "hi")
    assert await tg.get_me()  # not a sending method
    standin.set_limits(None)
    await tg.send_message(4, "hi")


async def test_edits_count_against_their_chat(
    tg: Bot, standin: TelegramStandin, clock: FakeClock
) -> None:
    standin.user(1001, started=True)
    sent = await tg.send_message(1001, "v0")
    standin.set_limits(RateLimits(global_per_second=None, per_chat_burst=1))
    await tg.edit_message_text("v1", 1001, sent.message_id)
    with pytest.raises(RetryAfter):
        await tg.edit_message_text("v2", 1001, sent.message_id)


async def test_injected_errors(tg: Bot, standin: TelegramStandin) -> None:
    standin.user(1001, started=True)
    standin.inject_error("sendMessage", error_code=429, retry_after=7)
    standin.inject_error("sendmessage", chat_id=1001, error_code=500, times=2)
    standin.inject_error("sendMessage", description="Bad Request: custom reason")
    with pytest.raises(RetryAfter) as caught:
        await tg.send_message(1001, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await tg.send_message(1001, "x")
    with pytest.raises(BadRequest, match="Custom reason"):
        await tg.send_message(1001, "x")
    await tg.send_message(1001, "finally")
    assert [c.status for c in standin.calls_to("sendMessage")] == [429, 500, 500, 400, 200]


async def test_injected_delay_times_out_but_the_message_still_arrives(
    standin: TelegramStandin,
) -> None:
    alice = standin.user(1001, started=True)
    standin.inject_delay("sendMessage", seconds=0.4)
    request = HTTPXRequest(read_timeout=0.1)
    async with Bot(TOKEN, base_url=standin.api_base_url, request=request) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(1001, "slow")
        assert (await alice.expect_message(timeout=2.0)).text == "slow"


async def test_injected_migration_and_a_migrated_group(tg: Bot, standin: TelegramStandin) -> None:
    group = standin.group(-42, title="Old group")
    group.chat.bot_member = True
    standin.inject_error("sendMessage", chat_id=-42, migrate_to_chat_id=-100999)
    with pytest.raises(ChatMigrated) as caught:
        await tg.send_message(-42, "x")
    assert caught.value.new_chat_id == -100999
    supergroup = standin.migrate_group(-42, -1004242)
    with pytest.raises(ChatMigrated) as caught:
        await tg.send_message(-42, "x")
    assert caught.value.new_chat_id == -1004242
    await tg.send_message(-1004242, "here")
    assert [m.text for m in supergroup.messages] == ["here"]
    assert standin.calls_to("sendMessage")[0].response["parameters"] == {
        "migrate_to_chat_id": -100999
    }
