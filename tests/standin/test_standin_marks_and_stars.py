"""verifyUser / removeUserVerification, getMyStarBalance and paid broadcasts on the stand-in."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest, RetryAfter

from standin import RateLimits, TelegramStandin
from tests.standin.conftest import FakeClock


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def test_verification_needs_approval_an_existing_user_and_a_short_description(
    tg: Bot, standin: TelegramStandin
) -> None:
    standin.user(1001)
    with pytest.raises(BadRequest, match=r"(?i)BOT_VERIFIER_FORBIDDEN"):
        await tg.verify_user(1001, custom_description="辽宁省人民政府 副省长")
    standin.allow_verification()
    with pytest.raises(BadRequest, match=r"(?i)user not found"):
        await tg.verify_user(4242, custom_description="辽宁省人民政府 副省长")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await tg.verify_user(1001, custom_description="长" * 71)
    assert await tg.verify_user(1001, custom_description="辽宁省人民政府 副省长")
    assert standin.verification(1001) == "辽宁省人民政府 副省长"
    assert await tg.remove_user_verification(1001)
    assert standin.verification(1001) is None
    standin.allow_verification(False)
    with pytest.raises(BadRequest, match=r"(?i)BOT_VERIFIER_FORBIDDEN"):
        await tg.remove_user_verification(1001)


async def test_paid_messages_cost_a_tenth_of_a_star_and_stop_when_it_runs_out(
    tg: Bot, standin: TelegramStandin
) -> None:
    standin.user(1001, started=True)
    standin.set_star_balance(0.25)
    balance = await tg.get_my_star_balance()
    assert (balance.amount, balance.nanostar_amount) == (0, 250_000_000)
    await tg.send_message(1001, "one", allow_paid_broadcast=True)
    await tg.send_message(1001, "two", allow_paid_broadcast=True)
    with pytest.raises(BadRequest, match=r"(?i)BALANCE_TOO_LOW"):
        await tg.send_message(1001, "three", allow_paid_broadcast=True)
    await tg.send_message(1001, "free", allow_paid_broadcast=False)
    assert standin.paid_messages == 2
    assert standin.star_balance == pytest.approx(0.05)


async def test_paid_messages_count_in_their_own_window_of_1000_a_second(
    tg: Bot, standin: TelegramStandin, clock: FakeClock
) -> None:
    standin.set_limits(RateLimits(global_per_second=2, paid_per_second=3, per_chat_per_second=None))
    standin.set_star_balance(100)
    for user_id in range(1, 7):
        standin.user(user_id, started=True)
    for user_id in (1, 2):
        await tg.send_message(user_id, "free")
    for user_id in (3, 4, 5):  # the free window is full; the paid one is not
        await tg.send_message(user_id, "paid", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):
        await tg.send_message(6, "paid", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):
        await tg.send_message(6, "free")
    assert RateLimits().paid_per_second == 1000
