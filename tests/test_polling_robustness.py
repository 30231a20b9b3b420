"""Long polling never spins or floods the log: updates the library cannot read, and a second
instance polling with the same token (Telegram's 409 Conflict).

End to end through the stand-in: garbage goes in as raw updates (``inject_update``), the
second poller is a plain client calling getUpdates with the bot's token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

import aiohttp
import pytest
from telegram import Bot

from bot.clock import FakeClock
from bot.services import Services
from handlers.updates import (
    MAX_PAUSE_SECONDS,
    Backoff,
    LogThrottle,
    read_update,
    read_updates,
)
from runtime.application import BotApplication
from standin import TelegramStandin
from storage.models import InviteKind
from tests.conftest import TOKEN

USER_ID = 720001
# Log lines from the library or the bot about polling, at WARNING or above, over a few
# seconds of garbage: one is the design; a handful allows for timing; a flood is thousands.
FEW_LINES = 3


async def _invite_payload(services: Services, clock: FakeClock) -> str:
    official = await services.directory.add_official(
        external_id="G-1", name="郭峰", now=clock.now()
    )
    invite = await services.invites.issue(
        kind=InviteKind.OFFICIAL,
        official_id=official.id,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    return invite.payload


def _garbage(payload: str) -> list[object]:
    """Updates python-telegram-bot cannot turn into an Update, two carrying an invite link."""
    return [
        {"message": 12345},
        {"message": {"text": f"/start {payload}", "from": {"id": USER_ID}}},  # no id, date, chat
        {"callback_query": {"data": payload}},
    ]


def _polling_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith(("telegram", "handlers.updates"))
    ]


async def test_an_update_the_library_cannot_read_is_logged_once_without_content_and_skipped(
    standin: TelegramStandin,
    bot: BotApplication,
    services: Services,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    payload = await _invite_payload(services, clock)
    user = standin.user(USER_ID, first_name="Guo", language_code="en")
    await user.send("/help")
    await user.expect_message()
    polls_before = len(standin.calls_to("getUpdates"))
    started = time.monotonic()
    for update in _garbage(payload):
        standin.inject_update(update)
    await standin.wait_for(lambda: not standin.world.updates.pending)
    await user.send("/help")  # the next real update is answered
    assert (await user.expect_message(timeout=MAX_PAUSE_SECONDS)).text
    await asyncio.sleep(max(0.0, 3.0 - (time.monotonic() - started)))

    lines = _polling_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    [line] = lines
    assert (line.name, line.levelname) == ("handlers.updates", "WARNING")
    assert "3 updates" in line.getMessage() and line.exc_info is None
    secret = payload.removeprefix("inv_")
    assert secret not in caplog.text
    assert "12345" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # No spin: over 3 s a 1 s long poll runs a handful of times, not thousands.
    assert len(standin.calls_to("getUpdates")) - polls_before < 10
    assert bot.bot.skipped_updates == 3  # type: ignore[attr-defined]
    assert standin.errors == []


async def test_a_flood_of_unreadable_updates_is_drained_without_holding_up_real_ones(
    standin: TelegramStandin, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """Skipped garbage is gone: the bot polls on at once (100 updates a poll) and answers the
    user queued behind 1,000 unreadable updates within a second or so."""
    caplog.set_level(logging.INFO)
    user = standin.user(USER_ID, first_name="Guo", language_code="en")
    polls_before = len(standin.calls_to("getUpdates"))
    for n in range(1000):
        standin.inject_update({"message": [n]})
    started = time.monotonic()
    await user.send("/help")
    assert (await user.expect_message(timeout=5)).text
    assert time.monotonic() - started < 2.0
    assert bot.bot.skipped_updates == 1000  # type: ignore[attr-defined]
    assert len(standin.calls_to("getUpdates")) - polls_before <= 1000 / 100 + 3
    assert len(_polling_lines(caplog)) <= FEW_LINES
    assert standin.errors == []


async def test_an_update_that_cannot_be_skipped_slows_polling_until_a_real_one_passes_it(
    standin: TelegramStandin, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """An update with no id cannot be confirmed: every poll would bring it back at once.
    Polls wait 1 s, then 2 s ...; a real update behind it is handled and moves the offset
    past both."""
    caplog.set_level(logging.INFO)
    user = standin.user(USER_ID, first_name="Guo", language_code="en")
    polls_before = len(standin.calls_to("getUpdates"))
    standin.inject_update([1, "two"], assign_id=False)
    await asyncio.sleep(3.5)
    polls = len(standin.calls_to("getUpdates")) - polls_before
    assert 2 <= polls <= 4, polls  # at 0 s, 1 s and 3 s: no spin
    lines = _polling_lines(caplog)
    assert len(lines) == 1 and "update_id unknown" in lines[0].getMessage()
    await user.send("/help")
    assert (await user.expect_message(timeout=MAX_PAUSE_SECONDS)).text
    await standin.wait_for(lambda: not standin.world.updates.pending, timeout=MAX_PAUSE_SECONDS)
    assert standin.errors == []


async def test_a_second_poller_on_the_token_gets_one_warning_and_the_bot_keeps_working(
    standin: TelegramStandin, bot: BotApplication, caplog: pytest.LogCaptureFixture
) -> None:
    """Another instance polls with the same token: Telegram answers each of our cut-off polls
    409. One WARNING line, no traceback, polls spaced out; once the other stops, the bot
    answers again."""
    caplog.set_level(logging.INFO)
    user = standin.user(USER_ID, first_name="Guo", language_code="en")
    await user.send("/help")
    await user.expect_message()
    url = f"{standin.api_base_url}{TOKEN}/getUpdates"
    other_polls = 0
    async with aiohttp.ClientSession() as other:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:  # the other instance polls as fast as it can
            async with other.post(url, json={"timeout": 0.5}) as answer:
                other_polls += 1
                assert answer.status in (200, 409)
    ours = [
        c
        for c in standin.calls_to("getUpdates")
        if c.status == 409 and "allowed_updates" in c.params
    ]
    assert len(ours) >= 2  # the bot was cut off more than once ...
    conflict_lines = [r for r in _polling_lines(caplog) if "409" in r.getMessage()]
    assert len(conflict_lines) == 1, [r.getMessage() for r in _polling_lines(caplog)]
    assert conflict_lines[0].exc_info is None
    assert "another" in conflict_lines[0].getMessage()
    assert len(_polling_lines(caplog)) == 1  # ... and said so once
    # Backing off (1 s, 2 s, 4 s ...): a few polls while the other instance made many.
    assert len(ours) <= 4 < other_polls
    await user.send("/help")
    assert (await user.expect_message(timeout=MAX_PAUSE_SECONDS)).text


# --- The reader on its own -------------------------------------------------------------------


@pytest.fixture
def tg() -> Bot:
    return Bot("1:A")


def _message(update_id: int, text: str) -> dict[str, object]:
    chat = {"id": 5, "type": "private", "first_name": "A"}
    return {
        "update_id": update_id,
        "message": {"message_id": 1, "date": 1, "chat": chat, "text": text},
    }


def test_each_update_is_read_on_its_own_and_the_offset_passes_the_skipped(tg: Bot) -> None:
    raw = [
        _message(10, "a"),
        {"update_id": 11, "message": 5},
        {"update_id": True, "message": {}},  # not an id
        {"update_id": "12"},  # not an id either
        [1, 2],
        _message(13, "b"),
        {"update_id": 14, "callback_query": []},
    ]
    read = read_updates(raw, tg)
    assert [u.update_id for u in read.updates] == [10, 13]
    assert read.skipped == 5
    assert read.skipped_ids == [11, 14]
    assert read.next_offset == 15
    assert read.readable


def test_an_answer_that_is_not_a_list_is_not_readable(tg: Bot) -> None:
    for answer in ({"update_id": 1}, None, "x", 3):
        read = read_updates(answer, tg)
        assert (read.updates, read.next_offset, read.readable) == ((), None, False)


def test_read_update_tells_a_bad_body_from_bad_content(tg: Bot) -> None:
    assert read_update(_message(3, "x"), tg).update is not None
    bad_content = read_update({"update_id": 4, "message": 7}, tg)
    assert (bad_content.update, bad_content.update_id) == (None, 4)
    for body in ([1], 2, "s", None, {}, {"update_id": "4"}, {"update_id": False}):
        unread = read_update(body, tg)
        assert (unread.update, unread.update_id) == (None, None)


def test_backoff_doubles_up_to_its_maximum_and_resets() -> None:
    backoff = Backoff(first=1.0, maximum=5.0)
    assert [backoff.next() for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next() == 1.0


def test_the_log_throttle_lets_one_line_through_per_interval_and_counts_the_rest() -> None:
    now = [0.0]
    throttle = LogThrottle(interval=60.0, now=lambda: now[0])
    assert throttle.allow("conflict") == (True, 0)
    for _ in range(5):
        assert throttle.allow("conflict") == (False, 0)
    assert throttle.allow("garbage") == (True, 0)  # another kind of trouble, its own line
    now[0] = 61.0
    assert throttle.allow("conflict") == (True, 5)  # the next line says how many were held
    throttle.clear("conflict")
    assert throttle.allow("conflict") == (True, 0)
