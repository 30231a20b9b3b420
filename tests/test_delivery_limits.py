"""Delivery under Telegram's limits, end to end (issue 17, point 1): the stand-in applies
them (about 1 message a second per chat with bursts of 3, 30 a second overall, 429 beyond),
on the suite's clock that runs ten times faster than real time.

A flooder does not hold anybody else up and gets one "slow down"; a user who acts while their
chat receives notices gets every answer; an announcement takes what answers leave."""

from __future__ import annotations

import asyncio

import pytest

from bot.pacing import ScaledClock
from bot.services import Services
from runtime.application import BotApplication
from scenarios.roster import ADMIN_ID, make_cast
from standin import TelegramStandin
from tests.driving import settle

FLOODER = 640001
OTHERS = range(640100, 640110)
# The others' answers must not queue behind the flooder's (its ten answers take ten seconds of
# the suite's time at one a second). The bot's own work is stretched tenfold on this clock,
# so the bound says "not behind the flood", not "within Telegram's pace".
NOT_BEHIND_THE_FLOOD = 5.0


@pytest.mark.usefixtures("bot")
async def test_a_flooder_gets_one_slow_down_and_holds_nobody_up(
    standin: TelegramStandin, bot: BotApplication, pacing_clock: ScaledClock
) -> None:
    flooder = standin.user(FLOODER, first_name="Flood", language_code="zh-hans", started=True)
    others = [standin.user(u, first_name="O", language_code="en", started=True) for u in OTHERS]
    for n in range(200):
        await flooder.send(f"spam {n}")

    async def ask(user_index: int) -> float:
        user = others[user_index]
        sent_at = pacing_clock.now()
        await user.send("/help")
        await user.expect_message(timeout=5)
        return pacing_clock.now() - sent_at

    waits = await asyncio.gather(*(ask(n) for n in range(len(others))))
    assert max(waits) < NOT_BEHIND_THE_FLOOD, waits
    await settle(standin, bot)
    answers = [m.text or "" for m in flooder.messages]
    assert sum("太快" in text for text in answers) == 1
    assert len(answers) <= 15  # its burst, not 200 answers queued for minutes
    assert standin.rate_limited == 0


async def test_a_user_acting_while_notices_arrive_gets_every_answer(
    standin: TelegramStandin, bot: BotApplication, services: Services
) -> None:
    """Twelve notices queued for the admin at once, while the admin asks for /help three times:
    every notice and every answer arrives, the answers first, and nothing meets a 429."""
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en", started=True)
    now = services.clock.now()
    notices = [
        services.outbox.message(ADMIN_ID, "report", f"notice {n}", at=now, urgent=True)
        for n in range(12)
    ]
    await services.outbox.send_later(notices, now=now)
    services.desk.wake()  # wake the outbox, as a change that queued them would
    for _ in range(3):
        await admin.send("/help")
    await standin.wait_for(lambda: len(admin.messages) >= 15, timeout=30)
    texts = [m.text or "" for m in admin.messages]
    assert sorted(t for t in texts if t.startswith("notice")) == sorted(
        f"notice {n}" for n in range(12)
    )
    answers = [i for i, t in enumerate(texts) if not t.startswith("notice")]
    assert len(answers) == 3
    assert answers[-1] < 10  # the answers did not wait for all twelve notices
    assert standin.rate_limited == 0
