"""Announcements at Telegram's paid speed, end to end through the stand-in: the cost in the
preview and the confirmation, the Star balance checked before starting, allow_paid_broadcast
on every send, and a pace above the free 30 a second with no 429."""

from __future__ import annotations

import pytest

from bot.broadcasts import BroadcastStatus
from bot.config import Settings
from bot.services import Services
from scenarios.roster import ALICE_ID, BOB_ID
from standin import StoredMessage, TelegramStandin, TestUser
from standin.limits import RateLimits
from tests.conftest import TIME_SCALE
from tests.test_broadcasts import (
    add_crowd,
    announcements,
    cast_on_standin,
    compose,
    wait_done,
)
from tests.test_broadcasts import (
    admin as admin,
)
from tests.test_broadcasts import (
    timedelta_retry_after as timedelta_retry_after,
)

# The announcement's own pace runs in real time; Telegram's limits and the bot's gates run on
# the tests' clock, TIME_SCALE times faster: 100 a second real is 10 a second on that clock.
PAID_RATE = 100.0
FREE_LIMIT = 4  # the free gates, on the tests' clock: well below the paid pace


@pytest.fixture
def settings(settings: Settings) -> Settings:
    broadcast = settings.broadcast.model_copy(
        update={
            "paid": True,
            "paid_messages_per_second": PAID_RATE,
            "progress_interval_seconds": 1.0,
            "retry_backoff_seconds": 0.05,
        }
    )
    delivery = settings.delivery.model_copy(
        update={"global_per_second": FREE_LIMIT, "paid_per_second": 2 * PAID_RATE / TIME_SCALE}
    )
    return settings.model_copy(update={"broadcast": broadcast, "delivery": delivery})


async def press_send(admin: TestUser, summary: StoredMessage) -> str:
    await admin.press(summary, "▶️ 立即发送")
    confirm = await admin.expect_edit(summary)
    assert "0.1 Telegram Star" in (confirm.text or "")
    await admin.press(confirm, "✅ 确认发送")
    return (await admin.expect_edit(confirm)).text or ""


@pytest.mark.usefixtures("bot")
async def test_the_cost_is_shown_and_a_balance_too_low_refuses_with_the_figures(
    standin: TelegramStandin, services: Services, admin: TestUser
) -> None:
    await cast_on_standin(services, standin)
    standin.set_star_balance(0.1)
    summary = await compose(admin, "本周五召开政策宣讲会", "全部企业")
    assert "共 2 条，0.2 Star" in (summary.text or "")
    answer = await press_send(admin, summary)
    assert "需要 0.2 Star" in answer and "余额只有 0.1 Star" in answer
    broadcast = await services.broadcasts.store.get(1)
    assert broadcast is not None and broadcast.status is BroadcastStatus.DRAFT
    assert standin.calls_to("getMyStarBalance")
    assert announcements(standin.user(ALICE_ID)) == []

    standin.set_star_balance(10)
    refused = admin.messages[-1]
    await admin.press(refused, "▶️ 立即发送")
    confirm = await admin.expect_edit(refused)
    await admin.press(confirm, "✅ 确认发送")
    await admin.expect_edit(confirm)
    await wait_done(standin, services, 1)
    for user_id in (ALICE_ID, BOB_ID):
        assert len(announcements(standin.user(user_id))) == 1
    sends = [
        c for c in standin.calls_to("sendMessage") if c.params.get("chat_id") in (ALICE_ID, BOB_ID)
    ]
    assert [c.params.get("allow_paid_broadcast") for c in sends] == [True, True]
    assert standin.paid_messages == 2
    assert standin.star_balance == pytest.approx(9.8)


@pytest.mark.usefixtures("bot")
async def test_a_paid_broadcast_goes_faster_than_the_free_limit_without_a_429(
    standin: TelegramStandin, services: Services, admin: TestUser
) -> None:
    """The bot's free gate and Telegram's free window both allow 4 a second here (on the
    tests' clock); paid sends go at 10 a second through their own gate and window."""
    standin.set_limits(RateLimits(global_per_second=FREE_LIMIT + 1))
    crowd = await add_crowd(services, standin, 300)
    standin.set_star_balance(1000)
    summary = await compose(admin, "紧急通知：明日停电", "全部企业")
    assert "共 300 条，30.0 Star" in (summary.text or "")
    await press_send(admin, summary)
    await wait_done(standin, services, 1)
    times = sorted(
        c.at for c in standin.calls_to("sendMessage") if c.params.get("chat_id") in set(crowd)
    )
    assert len(times) == 300
    rate = (len(times) - 1) / (times[-1] - times[0])
    paid_pace = PAID_RATE / TIME_SCALE
    assert 0.9 * paid_pace <= rate <= 1.1 * paid_pace, rate  # over twice the free limit
    assert standin.rate_limited == 0
    assert standin.paid_messages == 300
