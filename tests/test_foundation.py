"""The foundation, end to end: greetings, languages, invites, groups, odd input."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.services import Services
from runtime.application import BotApplication
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin
from storage.models import InviteKind
from tests.conftest import TOKEN

pytestmark = pytest.mark.usefixtures("bot")


async def test_guest_is_greeted_in_chinese_by_default(standin: TelegramStandin) -> None:
    guest = standin.user(600001, first_name="访客", language_code="zh-hans")
    await guest.send("/start")
    reply = await guest.expect_message()
    assert "政企直通" in reply.text
    assert "邀请链接" in reply.text
    assert standin.errors == []


async def test_english_client_gets_english(standin: TelegramStandin) -> None:
    guest = standin.user(600002, first_name="Guest", language_code="en-US")
    await guest.send("/start")
    reply = await guest.expect_message()
    assert "Enterprise Liaison" in reply.text


async def test_language_switch_is_stored(standin: TelegramStandin, services: Services) -> None:
    guest = standin.user(600003, first_name="Guest", language_code="zh-hans")
    await guest.send("/language")
    ask = await guest.expect_message()
    await guest.press(ask, "English")
    edited = await guest.expect_edit(ask)
    assert edited.text == "Language set to English."
    user = await services.users.get(600003)
    assert user is not None and user.language == "en"
    await guest.send("/help")
    assert "Guest" in (await guest.expect_message()).text


async def test_roles_see_their_greeting(standin: TelegramStandin, services: Services) -> None:
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    await official.send("/start")
    assert "王建国，您好" in (await official.expect_message()).text
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await alice.send("/start")
    assert "沈阳北方精密机械有限公司" in (await alice.expect_message()).text
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send("/start")
    assert "admin" in (await admin.expect_message()).text
    await standin.wait_for(lambda: bool(standin.commands(scope="chat", chat_id=ADMIN_ID)))


async def test_invite_link_binds_once(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    official = await services.directory.add_official(
        external_id="T-1", name="赵敏", now=clock.now()
    )
    invite = await services.invites.issue(
        kind=InviteKind.OFFICIAL,
        official_id=official.id,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    zhao = standin.user(610001, first_name="Zhao", language_code="zh-hans")
    await zhao.send(f"/start {invite.payload}")
    assert "绑定成功" in (await zhao.expect_message()).text
    bound = await services.officials.by_telegram_id(610001)
    assert bound is not None and bound.id == official.id
    stranger = standin.user(610002, first_name="Eve", language_code="en")
    await stranger.send(f"/start {invite.payload}")
    assert "already been used" in (await stranger.expect_message()).text
    assert await services.officials.by_telegram_id(610002) is None


async def test_expired_and_unknown_invites(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    official = await services.directory.add_official(
        external_id="T-2", name="钱军", now=clock.now()
    )
    invite = await services.invites.issue(
        kind=InviteKind.OFFICIAL,
        official_id=official.id,
        now=clock.now(),
        ttl=timedelta(hours=1),
    )
    clock.advance(timedelta(hours=2))
    user = standin.user(610003, first_name="Qian", language_code="en")
    await user.send(f"/start {invite.payload}")
    assert "expired" in (await user.expect_message()).text
    await user.send("/start inv_forged-token-that-does-not-exist")
    assert "not valid" in (await user.expect_message()).text


async def test_group_chat_gets_one_notice_and_the_bot_leaves(standin: TelegramStandin) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    group = standin.group(-100777, title="某商会群")
    await group.add_bot(by=alice)
    await group.send(alice, "/start")
    await standin.wait_for(lambda: any(c.method == "leaveChat" for c in standin.calls))
    notices = [
        c for c in standin.calls if c.method == "sendMessage" and c.params.get("chat_id") == -100777
    ]
    assert 1 <= len(notices) <= 2
    assert "私聊" in notices[0].params["text"]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("sticker", "不支持"),
        ("voice", "不支持"),
        ("location", "不支持"),
        ("/nosuchcommand", "没有这个命令"),
        ("hello <b>&", "请选择"),
        ("x" * 4096, "请选择"),
    ],
)
async def test_odd_input_gets_a_plain_answer(
    standin: TelegramStandin, action: str, expected: str
) -> None:
    user = standin.user(620001, first_name="Odd", language_code="zh-hans")
    if action == "sticker":
        await user.send_sticker()
    elif action == "voice":
        await user.send_voice()
    elif action == "location":
        await user.send_location(41.8, 123.4)
    else:
        await user.send(action)
    assert expected in (await user.expect_message()).text
    assert standin.errors == []


async def test_forged_button_gets_stale_answer(standin: TelegramStandin) -> None:
    user = standin.user(620002, first_name="Forger", language_code="en")
    await user.send("/start")
    menu = await user.expect_message()
    query_id = await user.press_data(menu, "req:999:ack")
    answer = await user.expect_callback_answer(query_id)
    assert answer["text"] == "This button is no longer valid; please open the menu again."


async def test_token_never_logged(
    standin: TelegramStandin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = standin.user(620003, first_name="Log", language_code="en")
    await user.send("/start")
    await user.expect_message()
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


async def test_blocking_marks_user_unreachable(
    standin: TelegramStandin, services: Services, bot: BotApplication
) -> None:
    user = standin.user(620004, first_name="Block", language_code="en")
    await user.send("/start")
    await user.expect_message()
    await user.block()
    await standin.wait_for(lambda: any(c.method == "getUpdates" for c in standin.calls[-3:]))

    async def unreachable() -> bool:
        row = await services.users.get(620004)
        return row is not None and row.unreachable_at is not None

    await standin.wait_for_async(unreachable)


async def test_a_failing_handler_is_reported_and_the_bot_keeps_running(
    standin: TelegramStandin,
) -> None:
    user = standin.user(620005, first_name="Err", language_code="en")
    standin.inject_error(
        "sendMessage", chat_id=620005, error_code=400, description="Bad Request: boom"
    )
    await user.send("/help")
    assert "something went wrong" in (await user.expect_message()).text
    await user.send("/help")
    assert "Guest" in (await user.expect_message()).text
