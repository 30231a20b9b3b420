"""Each error Telegram answers with has its action (docs/hardening.md §4), end to end.

The stand-in answers a chosen Bot API call with the error (or holds it past the bot's
time-out); the tests assert what the user sees, what Telegram was asked, and what is stored.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.registration import Application, register
from bot.services import Services
from handlers.errors import DELIVERY_UNKNOWN
from handlers.ratelimit import RateLimiter
from handlers.registration import DecideButton
from runtime.application import BotApplication, build_application, running
from scenarios.roster import ADMIN_ID, ALICE_CODE
from standin import TelegramStandin
from standin import errors as tg_errors
from standin.botapi import ApiCall
from storage.models import EnterpriseStatus, Stage

USER_ID = 610001
GROUP_ID = -4242
SUPERGROUP_ID = -1004242
BLOCKED = "Forbidden: " + tg_errors.BLOCKED
NOT_MODIFIED = "Bad Request: " + tg_errors.NOT_MODIFIED
HELD = 2.5  # seconds the stand-in holds a call: past the bot's time-out of 1 s


def calls_to_chat(standin: TelegramStandin, method: str, chat_id: int) -> list[ApiCall]:
    return [c for c in standin.calls_to(method) if str(c.params.get("chat_id")) == str(chat_id)]


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def unreachable(services: Services) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        row = await services.users.get(USER_ID)
        return row is not None and row.unreachable_at is not None

    return check


@pytest.fixture
def quick_timeouts(settings: Settings) -> Settings:
    """The bot gives up on a Bot API answer after 1 s (the stand-in holds calls for 2.5 s)."""
    telegram = settings.telegram.model_copy(update={"send_timeout": 1.0})
    return settings.model_copy(update={"telegram": telegram})


@pytest.fixture
async def impatient_bot(quick_timeouts: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    app: BotApplication = build_application(quick_timeouts, clock=clock)
    async with running(app, poll_timeout=1):
        yield app.bot_data.services


# --- RetryAfter -------------------------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_retry_after_is_waited_out_and_the_answer_sent_once(
    standin: TelegramStandin, caplog: pytest.LogCaptureFixture
) -> None:
    user = standin.user(USER_ID, first_name="Wang", language_code="en")
    standin.inject_error("sendMessage", chat_id=USER_ID, error_code=429, retry_after=1)
    await user.send("/help")
    assert "Guest" in ((await user.expect_message(timeout=5)).text or "")
    await user.expect_no_message(within=0.3)
    refused, sent = calls_to_chat(standin, "sendMessage", USER_ID)
    assert (refused.status, sent.status) == (429, 200)
    assert sent.at - refused.at >= 1.0
    assert failures(caplog) == []


async def test_a_retry_after_too_long_to_wait_keeps_the_answer_in_the_outbox(
    standin: TelegramStandin,
    bot: BotApplication,
    services: Services,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Telegram holds the chat for an hour: the answer (with its buttons) waits in the outbox
    until then, and so does the next one; the bot goes on for everybody else."""
    user = standin.user(USER_ID, first_name="Wang", language_code="en")
    other = standin.user(USER_ID + 1, first_name="Li", language_code="en")
    standin.inject_error("sendMessage", chat_id=USER_ID, error_code=429, retry_after=3600)
    await user.send("/start")
    await standin.wait_for(lambda: calls_to_chat(standin, "sendMessage", USER_ID))

    async def answers_waiting() -> list[object]:
        return list(
            await services.db.fetch_all(
                "SELECT payload, not_before FROM outbox WHERE recipient_id = ? AND kind = 'answer'",
                (USER_ID,),
            )
        )

    await standin.wait_for_async(answers_waiting)
    await user.send("/help")
    await other.send("/help")
    assert "Guest" in ((await other.expect_message(timeout=2)).text or "")
    await standin.wait_for_async(lambda: _has(answers_waiting, 2))
    rows = await answers_waiting()
    assert all(row["not_before"] >= clock.now().timestamp() + 3590 for row in rows)  # type: ignore[index]
    await user.expect_no_message(within=0.3)
    assert [c.status for c in calls_to_chat(standin, "sendMessage", USER_ID)] == [429]
    assert failures(caplog) == []
    # The metrics count the one 429 Telegram sent, not the bot's own refusals while held.
    assert isinstance(bot.bot.rate_limiter, RateLimiter)
    assert bot.bot.rate_limiter.retry_afters == 1


async def _has(rows: Callable[[], Awaitable[list[object]]], count: int) -> bool:
    return len(await rows()) >= count


# --- Forbidden --------------------------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_forbidden_marks_the_user_unreachable_until_they_write_again(
    standin: TelegramStandin, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = standin.user(USER_ID, first_name="Wang", language_code="en")
    standin.inject_error("sendMessage", chat_id=USER_ID, error_code=403, description=BLOCKED)
    await user.send("/help")

    await standin.wait_for_async(unreachable(services))
    await user.expect_no_message(within=0.3)
    assert [c.status for c in calls_to_chat(standin, "sendMessage", USER_ID)] == [403]
    assert failures(caplog) == []
    await user.send("/help")
    assert "Guest" in ((await user.expect_message()).text or "")
    row = await services.users.get(USER_ID)
    assert row is not None and row.unreachable_at is None


@pytest.mark.usefixtures("bot")
async def test_forbidden_from_the_user_told_of_an_action_does_not_fail_the_action(
    standin: TelegramStandin, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """The admin approves a firm; telling its registrant, who blocked the bot, gets a 403."""
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    standin.user(USER_ID, first_name="Carol", language_code="en", started=True)
    now = services.clock.now()
    await services.accounts.seen(
        USER_ID, first_name="Carol", username=None, telegram_language="en", now=now
    )
    application = Application("营口港湾物流有限公司", ALICE_CODE, "yingkou", Stage.MATURE, "物流")
    pending = await register(
        services.db, services.enterprises, application, user_id=USER_ID, name="Carol", now=now
    )
    standin.inject_error("sendMessage", chat_id=USER_ID, error_code=403, description=BLOCKED)
    await admin.send("/help")
    menu = await admin.expect_message()
    await admin.press_data(menu, DecideButton(pending.id, True).pack())
    assert "approved" in ((await admin.expect_edit(menu)).text or "")
    approved = await services.enterprises.get(pending.id)
    assert approved is not None and approved.status is EnterpriseStatus.ACTIVE
    await standin.wait_for_async(unreachable(services))
    # The outbox tells the admin, once, that the registrant was not told.
    report = await admin.expect_message()
    assert "may not have arrived" in (report.text or "")
    await admin.expect_no_message(within=0.3)
    assert [c.status for c in calls_to_chat(standin, "sendMessage", USER_ID)] == [403]
    assert failures(caplog) == []


# --- ChatMigrated -----------------------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_a_group_upgraded_to_a_supergroup_is_answered_and_left_under_its_new_id(
    standin: TelegramStandin, caplog: pytest.LogCaptureFixture
) -> None:
    member = standin.user(USER_ID, first_name="Wang", language_code="en")
    group = standin.group(GROUP_ID, title="Liaison chat")
    group.chat.bot_member = True
    await group.send(member, "hello bot")  # written just before the upgrade
    supergroup = standin.migrate_group(GROUP_ID, SUPERGROUP_ID)
    said = await supergroup.expect_message()
    assert "私聊" in (said.text or "")
    await standin.wait_for(lambda: not supergroup.chat.bot_member)
    assert [c.status for c in calls_to_chat(standin, "sendMessage", GROUP_ID)] == [400]
    assert [c.status for c in calls_to_chat(standin, "leaveChat", SUPERGROUP_ID)] == [200]
    assert group.messages == []
    assert failures(caplog) == []


# --- "message is not modified" ----------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_an_edit_that_changes_nothing_is_ignored_quietly(
    standin: TelegramStandin, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = standin.user(USER_ID, first_name="Wang", language_code="en")
    await user.send("/language")
    choice = await user.expect_message()
    standin.inject_error(
        "editMessageText", chat_id=USER_ID, error_code=400, description=NOT_MODIFIED
    )
    query_id = await user.press(choice, "English")
    await user.expect_callback_answer(query_id)
    await standin.wait_for(lambda: standin.calls_to("setMyCommands")[-1:] != [])
    await user.expect_no_message(within=0.3)
    assert [c.status for c in calls_to_chat(standin, "editMessageText", USER_ID)] == [400]
    assert await services.accounts.language_of(USER_ID) == "en"
    assert failures(caplog) == []


# --- Time-outs --------------------------------------------------------------------------------


async def test_an_edit_that_timed_out_is_repeated(
    standin: TelegramStandin, impatient_bot: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = standin.user(USER_ID, first_name="Wang", language_code="en")
    await user.send("/language")
    choice = await user.expect_message()
    standin.inject_delay("editMessageText", seconds=HELD, chat_id=USER_ID)
    await user.press(choice, "中文")
    edited = await user.expect_edit(choice, timeout=5)
    assert edited.text == "已切换为中文。"
    # The held call is carried out too, after the repeat: Telegram sees the same edit twice.
    await standin.wait_for(
        lambda: len(calls_to_chat(standin, "editMessageText", USER_ID)) == 2, timeout=5
    )
    assert [c.status for c in calls_to_chat(standin, "editMessageText", USER_ID)] == [200, 400]
    await user.expect_no_message(within=0.3)
    assert await impatient_bot.audit.by_action(DELIVERY_UNKNOWN) == []
    assert failures(caplog) == []


async def test_a_send_that_timed_out_is_recorded_as_unknown_not_repeated(
    standin: TelegramStandin, impatient_bot: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = standin.user(USER_ID, first_name="Wang", language_code="en")
    standin.inject_delay("sendMessage", seconds=HELD, chat_id=USER_ID)
    await user.send("/help")

    async def recorded() -> list[str]:
        entries = await impatient_bot.audit.by_action(DELIVERY_UNKNOWN)
        return [f"{e.subject} {e.detail}" for e in entries]

    await standin.wait_for_async(recorded, timeout=5)
    assert await recorded() == [f"chat:{USER_ID} sendMessage"]
    # Telegram carried the held call out after all: the user has the answer, once.
    assert "Guest" in ((await user.expect_message(timeout=5)).text or "")
    await user.expect_no_message(within=0.5)
    assert [c.status for c in calls_to_chat(standin, "sendMessage", USER_ID)] == [200]
    assert failures(caplog) == []


async def test_a_button_answer_that_timed_out_does_not_stop_the_action(
    standin: TelegramStandin, impatient_bot: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = standin.user(USER_ID, first_name="Wang", language_code="zh-hans")
    await user.send("/language")
    choice = await user.expect_message()
    standin.inject_delay("answerCallbackQuery", seconds=HELD, chat_id=None)
    await user.press(choice, "English")
    assert (await user.expect_edit(choice, timeout=5)).text == "Language set to English."
    assert await impatient_bot.accounts.language_of(USER_ID) == "en"
    assert await impatient_bot.audit.by_action(DELIVERY_UNKNOWN) == []
    assert failures(caplog) == []
