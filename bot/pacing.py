"""Pacing every message the bot sends under Telegram's limits, answers first.

Telegram lets a bot send about one message a second to one private chat (short bursts pass),
about 20 a minute to one group and about 30 a second overall; beyond that it answers 429 with
a ``retry_after``. A 429 names no scope. A bot that paces per chat and keeps a margin under the
overall limit rarely sees one, and when it does, only the chat it was for waits.

:class:`Pacer` is the one place that decides when a call may go out:

- each chat has a *lane*: a token bucket (``per_second``, ``burst``) and a FIFO lock, so the
  messages to one chat leave in the order they were made, one at a time, at the chat's pace;
- sending methods also take a token from the *gate*: one bucket for the whole bot, with a
  margin under Telegram's 30 a second. Waiting callers are served by :class:`Priority`
  (an answer to what a user just did, then notices, then announcements), first come first
  served within a priority: announcements take the spare capacity, never the other way round;
- paid broadcasts (``allow_paid_broadcast``, 0.1 Star a message) are not counted by Telegram
  against the 30 a second: they take a token from a *paid gate* of their own
  (``paid_per_second``, with a margin under Telegram's 1000), and keep their chat's lane;
- each gate also keeps an *arrival window*: Telegram counts a call when it arrives, somewhere
  between the moment the bot sends it and the moment the answer comes back. A bucket paces
  the sends, but a stall anywhere (the bot's loop, the network, Telegram's side) lets calls
  already under way arrive together, and the bucket's margin is gone. So a call may start only
  while the calls still under way plus those answered within the last second stay below the
  cap (``global_cap``, ``paid_cap``, Telegram's own figures less a rounding margin): whatever
  the stalls, no second at Telegram holds more than the cap, and the margin needed adapts to
  the round-trip time by itself (at most ``cap / (1 + round trip)`` calls a second);
- :meth:`Pacer.held` records a 429: the chat waits ``retry_after``; only when several chats are
  held within a short window (Telegram is limiting the bot as a whole) does everything wait.

The pacer knows nothing of Telegram's library: the adapter (handlers/ratelimit.py) calls
:meth:`Pacer.turn` around each call and :meth:`Pacer.held` on a 429. Time comes from a
:class:`PacingClock`, so tests and the sandbox can run the same limits faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

# Longest sleep between two looks at a wait: a hold may be lifted, or the clock moved.
RECHECK_SECONDS = 1.0


class Priority(IntEnum):
    """Who goes first when the bot has more to send than Telegram takes."""

    ANSWER = 0  # an answer to what a user just did
    NOTICE = 1  # notices, reminders and thread messages from the outbox
    BULK = 2  # announcements


@dataclass(frozen=True, slots=True)
class PacingLimits:
    """The pace the bot keeps (settings ``[delivery]``), each with a margin under Telegram's."""

    global_per_second: float = 26.0
    global_burst: int = 2
    private_per_second: float = 1.0
    private_burst: int = 2
    group_per_minute: float = 18.0
    group_burst: int = 2
    hold_all_after_chats: int = 3
    hold_window_seconds: float = 1.0
    paid_per_second: float = 920.0
    paid_burst: int = 10
    global_cap: int = 29  # calls under way or answered within the last second, at most
    paid_cap: int = 990
    # Each chat starts as if its burst had just been spent at the process's start (see
    # Pacer.starting): a restarted bot cannot know what the one before it sent just before.
    start_spent: bool = False


class PacingClock(Protocol):
    """Monotonic seconds and a way to sleep in them."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> Coroutine[Any, Any, None]: ...


class LoopClock:
    """The event loop's own monotonic clock: real time."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Time running ``factor`` times faster than real time, for tests and benchmarks: the
    stand-in reads the same clock, so both sides agree on what 'one second' is. ``offset``
    (seconds) is added: a test's fake clock, moved by hand, moves this one too."""

    def __init__(self, factor: float, offset: Callable[[], float] | None = None) -> None:
        if factor <= 0:
            raise ValueError(f"a clock's factor must be positive, got {factor}")
        self.factor = factor
        self._offset = offset

    def now(self) -> float:
        offset = self._offset() if self._offset is not None else 0.0
        return asyncio.get_running_loop().time() * self.factor + offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.factor)


class Bucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` kept."""

    __slots__ = ("_burst", "_last", "_rate", "_tokens", "held_until")

    def __init__(self, rate: float, burst: int, now: float, *, spent: bool = False) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = 0.0 if spent else float(burst)  # spent: as if a burst just went out
        self._last = now
        self.held_until = 0.0

    def wait(self, now: float) -> float:
        """Seconds until a token is free (0: one is free now)."""
        self._refill(now)
        held = self.held_until - now
        short = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate
        return max(held, short, 0.0)

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1

    def hold(self, until: float) -> None:
        """Nothing before ``until``; the bucket starts empty then, as after a burst."""
        self.held_until = max(self.held_until, until)
        self._tokens = min(self._tokens, 0.0)

    def idle(self, now: float) -> bool:
        """Full and not held: the same as a new bucket, so it may be forgotten."""
        self._refill(now)
        return self._tokens >= self._burst and self.held_until <= now

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now


class _ArrivalWindow:
    """The calls under way and the moments the last second's calls were answered: a call may
    start while they number fewer than ``cap`` (see the module's docstring for why)."""

    __slots__ = ("_answered", "cap", "under_way")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.under_way = 0
        self._answered: deque[float] = deque()

    def wait(self, now: float) -> float | None:
        """Seconds until a call may start (0: now); None when only a call under way coming
        back can make room."""
        answered = self._answered
        while answered and answered[0] <= now - 1.0:
            answered.popleft()
        if self.under_way + len(answered) < self.cap:
            return 0.0
        if answered and self.under_way < self.cap:
            return answered[0] + 1.0 - now
        return None

    def start(self) -> None:
        self.under_way += 1

    def answered(self, now: float) -> None:
        self.under_way -= 1
        self._answered.append(now)


class _Gate:
    """The bot-wide bucket and arrival window; callers waiting for them are served by
    priority, then arrival."""

    def __init__(self, rate: float, burst: int, cap: int, clock: PacingClock) -> None:
        self._clock = clock
        self.bucket = Bucket(rate, burst, clock.now())
        self.window = _ArrivalWindow(cap)
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None
        self._answer_came = asyncio.Event()

    @property
    def queued(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def passage(self, priority: Priority) -> AsyncIterator[None]:
        """Wait for a token and room in the window; the call runs inside, under way until it
        ends."""
        await self._enter(priority)
        try:
            yield
        finally:
            self.window.answered(self._clock.now())
            self._answer_came.set()

    async def _enter(self, priority: Priority) -> None:
        now = self._clock.now()
        if not self._waiting and self._wait(now) == 0:
            self._admit(now)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), future))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._serve())
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.window.answered(self._clock.now())  # admitted, but never made the call
            raise

    def _wait(self, now: float) -> float | None:
        window = self.window.wait(now)
        return None if window is None else max(window, self.bucket.wait(now))

    def _admit(self, now: float) -> None:
        self.bucket.take(now)
        self.window.start()

    def hold(self, until: float) -> None:
        self.bucket.hold(until)

    async def _serve(self) -> None:
        """Hand out passages as they come, to the best waiter still waiting."""
        while self._waiting:
            if self._waiting[0][2].done():  # its caller was cancelled
                heapq.heappop(self._waiting)
                continue
            self._answer_came.clear()
            wait = self._wait(self._clock.now())
            if wait is None:  # room comes only with an answer
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answer_came.wait(), RECHECK_SECONDS)
                continue
            if wait > 0:
                await self._clock.sleep(min(wait, RECHECK_SECONDS))
                continue
            self._admit(self._clock.now())
            heapq.heappop(self._waiting)[2].set_result(None)


class _Lane:
    __slots__ = ("bucket", "lock")

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self.lock = asyncio.Lock()


# Lanes kept before idle ones are forgotten (a broadcast touches every recipient once).
LANES_KEPT = 2048


class Pacer:
    """When each call may go out: see the module's docstring."""

    def __init__(self, limits: PacingLimits, clock: PacingClock | None = None) -> None:
        self.limits = limits
        self.clock = clock or LoopClock()
        self._gate: _Gate | None = None
        self._paid_gate: _Gate | None = None
        self._lanes: dict[object, _Lane] = {}
        self._recent_holds: deque[tuple[float, object]] = deque()
        self.held_calls = 0  # 429s seen, for the metrics and the benchmarks
        self._started: float | None = None  # see starting()

    def starting(self) -> None:
        """The process starts now (in the running loop). With ``start_spent``, every chat's
        bucket starts empty at this moment, as if its burst had just gone out: the process
        before this one may have been killed a moment ago, right after writing to the chat,
        and Telegram still counts those messages. A chat first written to later has had the
        time to refill (a full bucket ``burst / per_second`` seconds after the start), so
        only the first seconds after a start are slower. Without it, each restart under
        load drew a few 429s (docs/hardening.md §11)."""
        if self.limits.start_spent:
            self._started = self.clock.now()

    @property
    def gate(self) -> _Gate:
        if self._gate is None:  # made on first use, inside the running loop
            limits = self.limits
            self._gate = _Gate(
                limits.global_per_second, limits.global_burst, limits.global_cap, self.clock
            )
        return self._gate

    @property
    def paid_gate(self) -> _Gate:
        """The bot-wide bucket of paid broadcasts, apart from the free one."""
        if self._paid_gate is None:
            limits = self.limits
            self._paid_gate = _Gate(
                limits.paid_per_second, limits.paid_burst, limits.paid_cap, self.clock
            )
        return self._paid_gate

    def gate_for(self, *, paid: bool) -> _Gate:
        return self.paid_gate if paid else self.gate

    @asynccontextmanager
    async def turn(
        self,
        chat_id: object,
        priority: Priority,
        *,
        counts_globally: bool = True,
        paid: bool = False,
    ) -> AsyncIterator[None]:
        """Wait for this chat's turn (and, for sending methods, the bot's: the paid gate for
        a paid broadcast), then run the call inside it: the chat's next call starts only
        when this one has ended."""
        lane = self._lane(chat_id)
        async with lane.lock:
            while (wait := lane.bucket.wait(self.clock.now())) > 0:
                await self.clock.sleep(min(wait, RECHECK_SECONDS))
            lane.bucket.take(self.clock.now())
            if not counts_globally:
                yield
                return
            async with self.gate_for(paid=paid).passage(priority):
                yield

    def held(self, chat_id: object, retry_after: float, *, paid: bool = False) -> None:
        """Telegram answered 429 for a call to ``chat_id``: that chat waits ``retry_after``;
        when several chats were held within the window, every call of its kind (free or
        paid) does."""
        self.held_calls += 1
        now = self.clock.now()
        until = now + retry_after
        self._lane(chat_id).bucket.hold(until)
        window = self.limits.hold_window_seconds
        self._recent_holds.append((now, chat_id))
        while self._recent_holds and self._recent_holds[0][0] < now - window:
            self._recent_holds.popleft()
        if len({chat for _, chat in self._recent_holds}) >= self.limits.hold_all_after_chats:
            self.gate_for(paid=paid).hold(until)

    def held_for(self, chat_id: object) -> float:
        """Seconds this chat (or the whole bot) is still held by flood control."""
        now = self.clock.now()
        lane = self._lanes.get(chat_id)
        chat = lane.bucket.held_until - now if lane is not None else 0.0
        return max(chat, self.gate.bucket.held_until - now, 0.0)

    def _lane(self, chat_id: object) -> _Lane:
        lane = self._lanes.get(chat_id)
        if lane is None:
            if len(self._lanes) >= LANES_KEPT:
                self._forget_idle_lanes()
            lane = self._lanes[chat_id] = _Lane(self._bucket_for(chat_id))
        return lane

    def _bucket_for(self, chat_id: object) -> Bucket:
        limits, now = self.limits, self.clock.now()
        if self._started is not None:  # spent at the start, refilled since
            now, spent = self._started, True
        else:
            spent = False
        if is_private(chat_id):
            return Bucket(limits.private_per_second, limits.private_burst, now, spent=spent)
        return Bucket(limits.group_per_minute / 60, limits.group_burst, now, spent=spent)

    def _forget_idle_lanes(self) -> None:
        now = self.clock.now()
        self._lanes = {
            chat: lane
            for chat, lane in self._lanes.items()
            if lane.lock.locked() or not lane.bucket.idle(now)
        }


def is_private(chat_id: object) -> bool:
    """Private chats have positive ids; groups and channels negative ones or @names."""
    return isinstance(chat_id, int) and chat_id > 0
