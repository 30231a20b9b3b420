"""The pacer (bot/pacing.py): each chat at its pace, the bot under its budget, answers first,
a 429 holding only its chat. Time runs 20 times faster than real time here."""

from __future__ import annotations

import asyncio

import pytest

from bot.pacing import Bucket, Pacer, PacingLimits, Priority, ScaledClock, is_private

FAST = 20.0
# Seconds (of the pacer's time) a call may start late on a busy machine: a pacer never lets a
# call go early, but a loaded machine (CI, two cores) may wake it late.
SLACK = 1.0


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
    assert times[1] < SLACK  # the burst: two at once
    assert 2.95 <= times[-1] < 3.0 + SLACK, times  # then one a second


async def test_after_a_start_each_chat_is_paced_as_if_its_burst_had_just_gone_out() -> None:
    """A restarted bot cannot know what the killed one wrote to a chat a moment before: the
    first message to a chat right after the start waits a token, and the burst comes back
    only with time; a chat first written to burst / per_second seconds later has it whole."""
    paced = Pacer(
        PacingLimits(private_burst=2, global_per_second=1000, start_spent=True), ScaledClock(FAST)
    )
    paced.starting()
    started = paced.clock.now()
    async with paced.turn(42, Priority.ANSWER):
        first = paced.clock.now() - started
    assert 0.95 <= first < 1.0 + SLACK  # not at once: the chat's bucket started empty
    await paced.clock.sleep(2.0)
    times = await send_times(paced, 43, 3)  # another chat, 3 seconds after the start
    assert times[1] < SLACK  # its burst of two, whole again
    assert 0.95 <= times[2] < 1.0 + SLACK


async def test_without_start_spent_a_new_chat_has_its_burst_at_once() -> None:
    paced = pacer(private_burst=2, global_per_second=1000)
    paced.starting()  # start_spent is off: nothing changes
    times = await send_times(paced, 42, 2)
    assert times[1] < SLACK


async def test_a_group_gets_its_messages_a_minute() -> None:
    times = await send_times(pacer(group_per_minute=60, group_burst=1), -100, 3)
    assert 1.9 <= times[-1] < 2 + SLACK


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
    assert 1.75 <= paced.clock.now() - started < 1.8 + SLACK  # 2 at once, then 10 a second


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
    assert 3.0 - SLACK < paced.held_for(7) <= 3.0
    assert paced.held_for(8) == 0.0
    start = paced.clock.now()
    await send_times(paced, 8, 1)
    assert paced.clock.now() - start < SLACK
    await send_times(paced, 7, 1)
    assert 3.0 - SLACK <= paced.clock.now() - start < 3.0 + SLACK


async def test_429s_for_several_chats_at_once_hold_everything() -> None:
    paced = pacer(hold_all_after_chats=3, hold_window_seconds=1.0)
    for chat in (1, 2):
        paced.held(chat, retry_after=2.0)
    assert paced.held_for(3) == 0.0
    paced.held(3, retry_after=2.0)
    assert 2.0 - SLACK < paced.held_for(4) <= 2.0


def test_private_chats_have_positive_ids() -> None:
    assert is_private(5)
    assert not is_private(-1005)
    assert not is_private("@channel")


async def test_paid_calls_take_their_own_gate_and_keep_their_chats_lane() -> None:
    """Telegram does not count paid broadcasts against the free 30 a second: with the free
    gate at 2 a second, 40 paid calls to 40 chats go at the paid rate, and a paid call still
    waits for its chat's pace."""
    p = pacer(global_per_second=2, global_burst=1, paid_per_second=100, paid_burst=1)
    start = p.clock.now()
    for chat in range(1, 41):
        async with p.turn(chat, Priority.BULK, paid=True):
            pass
    # 0.39 s at 100 a second; the free gate would take 20 s. Forty turns on a loaded machine
    # (CI's two cores busy) may each wake late, at 20 times real time: a quarter of the free
    # gate's time still tells the two apart.
    assert p.clock.now() - start < 5.0
    times = []
    for _ in range(3):  # one chat: its burst of 2, then one a second
        async with p.turn(99, Priority.BULK, paid=True):
            times.append(p.clock.now())
    assert [t - times[0] for t in times] == pytest.approx([0.0, 0.0, 1.0], abs=SLACK)


async def test_calls_under_way_count_until_answered_then_for_a_second() -> None:
    """The arrival window: with answers stalled, no more than the cap are under way whatever
    the rate allows; answered calls still count for one second after their answer."""
    p = pacer(global_per_second=1000, global_burst=100, global_cap=5)
    answer = asyncio.Event()
    started: list[float] = []

    async def call(chat: int) -> None:
        async with p.turn(chat, Priority.BULK):
            started.append(p.clock.now())
            await answer.wait()

    calls = [asyncio.create_task(call(chat)) for chat in range(1, 11)]
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert len(started) == 5  # the cap, though the bucket had 100 tokens
    answered_at = p.clock.now()
    answer.set()
    await asyncio.gather(*calls)
    # The five answered ones count for a second: the next five wait for that.
    assert all(t - answered_at >= 1.0 for t in started[5:]), started


async def test_a_stall_never_lets_more_than_the_cap_arrive_in_one_second() -> None:
    """Calls whose answers take from nothing to 1.5 s: in no second, counted from any moment,
    do more calls start or stay under way than the cap, so none can arrive at Telegram in a
    second that already holds the cap."""
    p = pacer(global_per_second=1000, global_burst=50, global_cap=12)
    spans: list[tuple[float, float]] = []

    async def call(chat: int) -> None:
        async with p.turn(chat, Priority.BULK):
            began = p.clock.now()
            await p.clock.sleep((chat * 7 % 16) / 10)
            # Read inside the turn: the pacer counts the call answered as the turn ends, and a
            # reading taken after it would add the event loop's wake-up delay to the span.
            spans.append((began, p.clock.now()))

    await asyncio.gather(*(call(chat) for chat in range(1, 61)))
    for moment in sorted({end for _, end in spans} | {begin for begin, _ in spans}):
        # Calls that may arrive within (moment - 1, moment]: begun by then, answered after it.
        touching = [1 for begin, end in spans if begin <= moment and end > moment - 1.0]
        assert len(touching) <= 12, moment
