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
- :meth:`Pacer.held` records a 429: the chat waits ``retry_after``; only when several chats are
  held within a short window (Telegram is limiting the bot as a whole) does everything wait.

The pacer knows nothing of Telegram's library: the adapter (handlers/ratelimit.py) calls
:meth:`Pacer.turn` around each call and :meth:`Pacer.held` on a 429. Time comes from a
:class:`PacingClock`, so tests and the sandbox can run the same limits faster than real time.
"""

from __future__ import annotations

import asyncio
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

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
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


class _Gate:
    """The bot-wide bucket; callers waiting for it are served by priority, then arrival."""

    def __init__(self, rate: float, burst: int, clock: PacingClock) -> None:
        self._clock = clock
        self.bucket = Bucket(rate, burst, clock.now())
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._pump: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._waiting)

    async def enter(self, priority: Priority) -> None:
        now = self._clock.now()
        if not self._waiting and self.bucket.wait(now) == 0:
            self.bucket.take(now)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(priority), next(self._order), future))
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._serve())
        await future

    def hold(self, until: float) -> None:
        self.bucket.hold(until)

    async def _serve(self) -> None:
        """Hand out tokens as they come, to the best waiter still waiting."""
        while self._waiting:
            if self._waiting[0][2].done():  # its caller was cancelled
                heapq.heappop(self._waiting)
                continue
            wait = self.bucket.wait(self._clock.now())
            if wait > 0:
                await self._clock.sleep(min(wait, RECHECK_SECONDS))
                continue
            self.bucket.take(self._clock.now())
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

    @property
    def gate(self) -> _Gate:
        if self._gate is None:  # made on first use, inside the running loop
            limits = self.limits
            self._gate = _Gate(limits.global_per_second, limits.global_burst, self.clock)
        return self._gate

    @property
    def paid_gate(self) -> _Gate:
        """The bot-wide bucket of paid broadcasts, apart from the free one."""
        if self._paid_gate is None:
            limits = self.limits
            self._paid_gate = _Gate(limits.paid_per_second, limits.paid_burst, self.clock)
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
            if counts_globally:
                await self.gate_for(paid=paid).enter(priority)
            yield

    async def overall(self, priority: Priority) -> None:
        """A token of the bot-wide budget alone, for a call to no particular chat."""
        await self.gate.enter(priority)

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
        if is_private(chat_id):
            return Bucket(limits.private_per_second, limits.private_burst, now)
        return Bucket(limits.group_per_minute / 60, limits.group_burst, now)

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
