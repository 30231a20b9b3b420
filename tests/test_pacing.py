"""The pacer (bot/pacing.py): each chat at its pace, the bot under its budget, answers first,
a 429 holding only its chat. Time runs 20 times faster than real time here."""

from __future__ import annotations

import asyncio

import pytest

from bot.pacing import Bucket, Pacer, PacingLimits, Priority, ScaledClock, is_private

FAST = 20.0
SLACK = 0.35  # seconds (of the pacer's time) a call may start late on a busy machine


def pacer(**limits: float) -> Pacer:
    return Pacer(PacingLimits(**limits), ScaledClock(FAST))  # type: ignore[arg-type]


async def send_times(
    pacer: Pacer, chat: object, count: int, priority: Priority = Priority.ANSWER
) -> list[float]:
    """When each of ``count`` calls to ``chat`` got its turn, from the first."""
    times = []
    for _ in range(count):
        async with pacer.turn(chat, priority):
            times.append(pacer.clock.now())
    return [t - times[0] for t in times]


def test_a_bucket_gives_its_burst_then_its_rate() -> None:
    bucket = Bucket(rate=1.0, burst=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(1.0)
    assert bucket.wait(0.5) == pytest.approx(0.5)
    bucket.hold(until=10.0)
    assert bucket.wait(1.0) == pytest.approx(9.0)
    assert not bucket.idle(5.0)


async def test_one_private_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    times = await send_times(pacer(private_burst=2, global_per_second=1000), 42, 5)
    expected = [0.0, 0.0, 1.0, 2.0, 3.0]
    assert times == pytest.approx(expected, abs=SLACK)


async def test_a_group_gets_its_messages_a_minute() -> None:
    times = await send_times(pacer(group_per_minute=60, group_burst=1), -100, 3)
    assert times == pytest.approx([0.0, 1.0, 2.0], abs=SLACK)


async def test_different_chats_do_not_wait_for_each_other() -> None:
    paced = pacer(private_burst=1, global_per_second=1000, global_burst=100)
    started = paced.clock.now()
    results = await asyncio.gather(*(send_times(paced, chat, 1) for chat in range(1, 21)))
    assert paced.clock.now() - started < SLACK
    assert all(times == [0.0] for times in results)


async def test_the_overall_budget_holds_across_chats() -> None:
    paced = pacer(global_per_second=10, global_burst=2)
    started = paced.clock.now()
    await asyncio.gather(*(send_times(paced, chat, 1) for chat in range(1, 21)))
    assert paced.clock.now() - started == pytest.approx(1.8, abs=SLACK)  # 2 at once, then 10/s


async def test_answers_go_before_notices_and_notices_before_announcements() -> None:
    paced = pacer(global_per_second=5, global_burst=1)
    order: list[str] = []

    async def send(chat: int, priority: Priority, name: str) -> None:
        async with paced.turn(chat, priority):
            order.append(name)

    async with paced.turn(999, Priority.BULK):  # takes the one token there is
        pass
    queued = [
        asyncio.create_task(send(1, Priority.BULK, "announcement 1")),
        asyncio.create_task(send(2, Priority.BULK, "announcement 2")),
        asyncio.create_task(send(3, Priority.NOTICE, "notice")),
        asyncio.create_task(send(4, Priority.ANSWER, "answer")),
    ]
    await asyncio.gather(*queued)
    assert order == ["answer", "notice", "announcement 1", "announcement 2"]


async def test_a_429_holds_only_its_chat() -> None:
    paced = pacer(global_per_second=1000, global_burst=100)
    paced.held(7, retry_after=3.0)
    assert paced.held_for(7) == pytest.approx(3.0, abs=SLACK)
    assert paced.held_for(8) == 0.0
    start = paced.clock.now()
    await send_times(paced, 8, 1)
    assert paced.clock.now() - start < SLACK
    await send_times(paced, 7, 1)
    assert paced.clock.now() - start == pytest.approx(3.0, abs=SLACK)


async def test_429s_for_several_chats_at_once_hold_everything() -> None:
    paced = pacer(hold_all_after_chats=3, hold_window_seconds=1.0)
    for chat in (1, 2):
        paced.held(chat, retry_after=2.0)
    assert paced.held_for(3) == 0.0
    paced.held(3, retry_after=2.0)
    assert paced.held_for(4) == pytest.approx(2.0, abs=SLACK)


def test_private_chats_have_positive_ids() -> None:
    assert is_private(5)
    assert not is_private(-1005)
    assert not is_private("@channel")
