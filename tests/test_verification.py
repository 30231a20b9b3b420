"""Verifying an official end to end: spoken codes, number and account checks, throttling."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from bot.clock import FakeClock
from bot.services import Services
from bot.verification import DAY
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    Cast,
    make_cast,
)
from standin import TelegramStandin
from standin.client import TestUser
from tests.conftest import SHANGHAI

pytestmark = pytest.mark.usefixtures("bot")

CODE = re.compile(r"(\d{4} \d{4})")


async def get_code(official: TestUser, scope: str) -> str:
    """The official asks for a code for ``scope`` (a button label) and reads it."""
    await official.send("/code")
    ask = await official.expect_message()
    await official.press(ask, scope)
    shown = await official.expect_edit(ask)
    found = CODE.search(shown.text or "")
    assert found is not None, shown.text
    return found.group(1)


async def type_code(user: TestUser, code: str) -> str:
    await user.send("/verify")
    assert "核验码" in ((await user.expect_message()).text or "")
    await user.send(code)
    reply = await user.expect_message()
    return reply.text or ""


@pytest.fixture
async def cast(services: Services) -> Cast:
    return await make_cast(services)


async def test_code_verifies_once_and_tells_the_official(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    code = await get_code(official, "沈阳北方精密机械有限公司")

    verdict = await type_code(alice, code)
    assert "核验通过" in verdict
    assert "王建国" in verdict and "副省长" in verdict and "营商环境" in verdict
    assert "是贵企业（沈阳北方精密机械有限公司）的对接官员" in verdict
    assert "10:00" in verdict
    told = await official.expect_message()
    assert "沈阳北方精密机械有限公司" in (told.text or "")

    again = await type_code(alice, code)
    assert "未能核验" in again
    assert standin.errors == []
    stored = await services.db.fetch_all("SELECT code_hash, used_by FROM verification_codes")
    assert len(stored) == 1 and stored[0]["used_by"] == ALICE_ID
    assert code.replace(" ", "") not in stored[0]["code_hash"]
    audit = await services.db.fetch_all(
        "SELECT actor_id, result FROM audit_log WHERE action = 'verification.check' ORDER BY id"
    )
    assert [(a["actor_id"], a["result"]) for a in audit] == [
        (ALICE_ID, "verified"),
        (ALICE_ID, "not_verified"),
    ]


async def test_wrong_expired_and_foreign_codes_get_the_same_answer(
    standin: TelegramStandin, clock: FakeClock, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    bob = standin.user(BOB_ID, first_name="Bob", language_code="zh-hans")
    for_alice = await get_code(official, "沈阳北方精密机械有限公司")
    foreign = await type_code(bob, for_alice)
    expired_code = await get_code(official, "任一对接企业")
    clock.advance(timedelta(minutes=6))
    expired = await type_code(alice, expired_code)
    unknown = await type_code(alice, "0000 0001" if for_alice != "0000 0001" else "0000 0002")
    assert foreign == expired == unknown
    assert "未能核验" in unknown and "绝不会" in unknown
    last = alice.messages[-1]
    assert "举报" in str(last.data.get("reply_markup"))
    await official.expect_no_message(within=0.1)
    assert standin.errors == []


async def test_open_code_works_for_any_enterprise_of_the_portfolio_in_english(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    await services.accounts.set_language(BOB_ID, "en")
    other = standin.user(OTHER_OFFICIAL_ID, first_name="李娜", language_code="zh-hans")
    bob = standin.user(BOB_ID, first_name="Bob", language_code="en")
    code = await get_code(other, "任一对接企业")
    await bob.send("/verify")
    await bob.expect_message()
    await bob.send(code.replace(" ", "-"))
    verdict = (await bob.expect_message()).text or ""
    assert "Verified" in verdict and "李娜" in verdict and "Designated official" in verdict


async def test_open_code_is_not_verified_outside_the_officials_portfolio(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    """王建国's code for "any of my enterprises" means nothing to Bob, whose firm is 李娜's."""
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    bob = standin.user(BOB_ID, first_name="Bob", language_code="zh-hans")
    open_code = await get_code(official, "任一对接企业")
    outside = await type_code(bob, open_code)
    outside_markup = bob.messages[-1].data.get("reply_markup")
    unknown = await type_code(bob, "0000 0001" if open_code != "0000 0001" else "0000 0002")
    assert outside == unknown and "未能核验" in outside and "王建国" not in outside
    assert outside_markup == bob.messages[-1].data.get("reply_markup")
    await official.expect_no_message(within=0.1)
    # Both count as failures towards Bob's throttle, and the code is still Alice's to use.
    failures = await services.verification.failures_of(BOB_ID, services.clock.now() - DAY)
    assert len(failures) == 2
    audit = await services.db.fetch_all(
        "SELECT actor_id, result FROM audit_log WHERE action = 'verification.check' ORDER BY id"
    )
    assert [(a["actor_id"], a["result"]) for a in audit] == [(BOB_ID, "not_verified")] * 2
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    assert "核验通过" in await type_code(alice, open_code)
    assert "沈阳北方精密机械有限公司" in ((await official.expect_message()).text or "")
    assert standin.errors == []


async def test_a_failure_outside_the_portfolio_counts_towards_the_throttle(
    standin: TelegramStandin, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    bob = standin.user(BOB_ID, first_name="Bob", language_code="zh-hans")
    for guess in range(4):
        assert "未能核验" in await type_code(bob, f"1234 {guess:04d}")
    open_code = await get_code(official, "任一对接企业")
    assert "未能核验" in await type_code(bob, open_code)
    # The fifth failure within 15 minutes locks Bob out, whatever he types next.
    other = standin.user(OTHER_OFFICIAL_ID, first_name="李娜", language_code="zh-hans")
    his = await get_code(other, "任一对接企业")
    assert "失败次数过多" in await type_code(bob, his)


async def test_the_official_is_told_only_the_enterprises_of_the_portfolio(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    """Alice speaks for both firms; 李娜 hears only of the one in her portfolio."""
    await services.directory.add_contact(
        cast.bob_enterprise.id, name="Alice", telegram_id=ALICE_ID, now=services.clock.now()
    )
    other = standin.user(OTHER_OFFICIAL_ID, first_name="李娜", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    code = await get_code(other, "任一对接企业")
    verdict = await type_code(alice, code)
    assert "核验通过" in verdict and "李娜" in verdict
    told = (await other.expect_message()).text or ""
    assert "大连海湾新材料科技有限公司" in told
    assert "沈阳北方精密机械有限公司" not in told
    assert standin.errors == []


async def test_malformed_input_and_own_code(standin: TelegramStandin, cast: Cast) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    code = await get_code(official, "任一对接企业")
    await alice.send("/verify")
    await alice.expect_message()
    await alice.send("12ab")
    assert "8 位数字" in ((await alice.expect_message()).text or "")
    await alice.send("/cancel")
    assert "已取消" in ((await alice.expect_message()).text or "")

    own = await type_code(official, code)
    assert "您自己生成的核验码" in own
    # The official's own attempt did not use the code up.
    assert "核验通过" in await type_code(alice, code)


async def test_failures_are_throttled_and_bursts_alert_admins(
    standin: TelegramStandin, services: Services, clock: FakeClock, cast: Cast
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send("/start")
    await admin.expect_message()
    for guess in range(5):
        assert "未能核验" in await type_code(alice, f"1234 {guess:04d}")
    assert "失败次数过多" in await type_code(alice, "1234 9999")
    assert "10:15" in alice.messages[-1].text  # type: ignore[operator]
    clock.advance(timedelta(minutes=16))
    assert "未能核验" in await type_code(alice, "1234 8888")
    # A burst across users (50 within 10 minutes by default) alerts the admins once.
    async with services.db.transaction() as tx:
        for _ in range(48):
            await services.verification.record_failure(tx, BOB_ID, "code", clock.now())
    assert "未能核验" in await type_code(alice, "1234 7777")
    alert = await admin.expect_message()
    assert "核验异常" in (alert.text or "")
    assert standin.errors == []
    # Once is enough: the next failure does not alert again.
    assert "未能核验" in await type_code(alice, "1234 6666")
    await admin.expect_no_message(within=0.2)


@pytest.mark.parametrize(
    ("language", "prompt", "refused", "tomorrow"),
    [
        ("zh", "核验码", "失败次数过多，请在 明天 00:24 后再试", "有效至 明天 00:03"),
        (
            "en",
            "code",
            "You can try again from tomorrow at 00:24.",
            "Valid until tomorrow at 00:03",
        ),
    ],
)
async def test_a_lock_into_tomorrow_says_tomorrow(
    standin: TelegramStandin,
    services: Services,
    clock: FakeClock,
    cast: Cast,
    language: str,
    prompt: str,
    refused: str,
    tomorrow: str,
) -> None:
    """The day's last allowed wrong code late at night: the lock ends tomorrow, and says so."""
    await services.accounts.set_language(ALICE_ID, language)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code=language)

    async def guess(code: str) -> str:
        await alice.send("/verify")
        assert prompt in ((await alice.expect_message()).text or "")
        await alice.send(code)
        return (await alice.expect_message()).text or ""

    # Tuesday 00:20-00:24: five wrong codes, a 15-minute lock that ends today (just the time).
    clock.set(datetime(2026, 3, 3, 0, 20, tzinfo=SHANGHAI))
    for n in range(5):
        await guess(f"1234 {n:04d}")
        clock.advance(timedelta(minutes=1))
    today = await guess("1234 9999")
    assert "00:39" in today and "明天" not in today and "tomorrow" not in today
    # 23:50-23:54: five more, the tenth within 24 hours; the lock runs past midnight.
    clock.set(datetime(2026, 3, 3, 23, 50, tzinfo=SHANGHAI))
    for n in range(5):
        await guess(f"5678 {n:04d}")
        clock.advance(timedelta(minutes=1))
    assert refused in await guess("5678 9999")
    # A code issued at 23:58 is valid until tomorrow's 00:03, and says so too.
    await services.accounts.set_language(OFFICIAL_ID, language)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code=language)
    clock.set(datetime(2026, 3, 3, 23, 58, tzinfo=SHANGHAI))
    await official.send("/code")
    ask = await official.expect_message()
    await official.press(ask, cast.alice_enterprise.name)
    assert tomorrow in ((await official.expect_edit(ask)).text or "")
    assert standin.errors == []
