"""/inbox end to end: what is due first on top, paused requests last, paging without gaps."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.lifecycle import Action
from bot.services import Services
from scenarios.roster import ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from standin.client import StoredMessage
from tests.test_requests_flow import file_request

NUMBER = re.compile(r"LN-\d{8}-\d{4}")


async def next_listing(user: TestUser) -> StoredMessage:
    """The next inbox page, past the cards and notices that came before it."""
    while "待办诉求" not in (message := await user.expect_message()).text:
        pass
    return message


def summaries(page: StoredMessage) -> list[str]:
    return re.findall(r"事项(\w)", page.text)


@pytest.mark.usefixtures("bot")
async def test_inbox_puts_the_nearest_deadline_first_and_paused_last(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    holder = await services.actor(OFFICIAL_ID)
    desk = services.desk
    # Monday 2 March: acknowledged A (resolve by 23 March), waiting B, unacknowledged E
    # (acknowledge by 3 March, overdue by Friday).
    a, b, _e = [await file_request(services, text=f"事项{x}") for x in "ABE"]
    await desk.act(holder, a, Action.ACKNOWLEDGE)
    await desk.act(holder, b, Action.ASK_INFO, note="请补充")
    clock.advance(timedelta(days=4))
    # Friday 6 March: unacknowledged C (acknowledge by Monday 9 March, resolve by 27 March),
    # acknowledged D (resolve by 27 March), waiting F, urgent acknowledged G (by 17 March).
    _c, d, f = [await file_request(services, text=f"事项{x}") for x in "CDF"]
    g = await file_request(services, text="事项G", urgent=True)
    for acknowledged in (d, g):
        await desk.act(holder, acknowledged, Action.ACKNOWLEDGE)
    await desk.act(holder, f, Action.ASK_INFO, note="请补充")
    await services.courier.deliver_now()

    await official.send("/inbox")
    first = await next_listing(official)
    assert "共 7 条" in first.text and "第 1/2 页" in first.text
    assert summaries(first) == ["E", "C", "G", "A", "D"]
    # Each line shows the deadline it is ordered by: acknowledging E and C, resolving the rest.
    dues = re.findall(r"· (应受理|应办结) (\d{4}-\d\d-\d\d)\n事项(\w)", first.text)
    assert [(summary, kind, day) for kind, day, summary in dues] == [
        ("E", "应受理", "2026-03-03"),
        ("C", "应受理", "2026-03-09"),
        ("G", "应办结", "2026-03-17"),
        ("A", "应办结", "2026-03-23"),
        ("D", "应办结", "2026-03-27"),
    ]
    await official.press(first, "下一页 ➡️")
    second = await official.expect_edit(first)
    assert "第 2/2 页" in second.text
    assert summaries(second) == ["B", "F"]
    shown = NUMBER.findall(first.text) + NUMBER.findall(second.text)
    assert len(shown) == len(set(shown)) == 7
    await official.press(second, "⬅️ 上一页")
    assert summaries(await official.expect_edit(second)) == ["E", "C", "G", "A", "D"]
    assert standin.errors == []
