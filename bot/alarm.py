"""The alarm clock: what the bot does on its own, every few seconds, and the courier that
sends what the outbox holds.

:class:`Courier` hands the outbox's due messages to the one sender: at every wake-up, and at
once when a change has just queued some (:meth:`Courier.deliver_soon`, the domain services'
``wake``). :class:`Alarm` is the wake-up: it picks up a holiday schedule loaded elsewhere,
reminds the admins of a missing one, sends the digests, fires the due reminders, keeps the
verification marks and delivers. Wake-ups and deliveries never overlap (one lock), and the
first one settles what a crash left mid-send before anything else is sent.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from bot.clock import Clock
from bot.delivery import Sender
from bot.digests import Digests
from bot.holiday_schedule import HolidaySchedules
from bot.marks import MarkPort, Marks
from bot.outbox import Outbox
from bot.reminders import ReminderFiring

log = logging.getLogger(__name__)


class Courier:
    """Sends the outbox's due messages through the sender, one round at a time."""

    def __init__(self, outbox: Outbox, clock: Clock) -> None:
        self.outbox = outbox
        self._clock = clock
        # Given at start by the Telegram side (handlers/reminders.py); none: nothing is sent.
        self.sender: Sender | None = None
        # Held by each wake-up and each delivery: they never overlap.
        self.lock = asyncio.Lock()
        self._recovered = False
        self._task: asyncio.Task[None] | None = None
        self._wanted = False

    async def recover(self) -> None:
        """At start, before anything is sent: messages caught mid-send by a crash are settled."""
        async with self.lock:
            await self.recover_once(self._clock.now())

    async def recover_once(self, now: datetime) -> None:
        """Settle what a crash left mid-send, the first time only (the caller holds the lock)."""
        if not self._recovered:
            await self.outbox.recover(now)
            self._recovered = True

    async def deliver_due(self, now: datetime) -> None:
        """Send what is due by ``now`` (the caller holds the lock)."""
        if self.sender is not None:
            await self.outbox.deliver_due(self.sender, now)

    async def deliver_now(self) -> None:
        """Send what is due without waiting for the next wake-up (a change just queued
        notices); before the first wake-up has recovered the outbox, leave it to that one."""
        if self.sender is None:
            return
        async with self.lock:
            if not self._recovered:
                return
            try:
                await self.deliver_due(self._clock.now())
            except Exception:
                log.exception("delivering queued notices failed; the next wake-up retries")

    def deliver_soon(self) -> None:
        """Something just queued messages (notices, a receipt): send them now rather than at
        the next wake-up (one task at a time; changes while it runs make it go round once
        more)."""
        self._wanted = True
        # A delivery under way (this one's or a wake-up's) claims them as soon as it can.
        self.outbox.arrived(self._clock.now())
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._deliver_while_wanted())

    async def _deliver_while_wanted(self) -> None:
        while self._wanted:
            self._wanted = False
            await self.deliver_now()

    async def close(self) -> None:
        """Let a delivery under way finish."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)


class Alarm:
    """The scheduler's wake-up (see the module)."""

    def __init__(
        self,
        courier: Courier,
        *,
        clock: Clock,
        holidays: HolidaySchedules,
        digests: Digests,
        firing: ReminderFiring,
        marks: Marks,
    ) -> None:
        self._courier = courier
        self._clock = clock
        self._holidays = holidays
        self._digests = digests
        self._firing = firing
        self._marks = marks
        # Set at start when [verification] telegram_mark is on (handlers/marks.py).
        self.mark_port: MarkPort | None = None

    async def tick(self, now: datetime | None = None) -> None:
        """Wake up: pick up a holiday schedule loaded elsewhere, remind the admins of a missing
        one, send the digests, fire due reminders, deliver due messages (catching up once)."""
        now = now or self._clock.now()
        async with self._courier.lock:
            await self._courier.recover_once(now)
            # A holiday schedule loaded by another process (python -m bot holidays load).
            await self._holidays.sync()
            await self._holidays.remind_admins(now)
            await self._digests.send(now)
            await self._firing.fire_all_due(now)
            await self._keep_marks(now)
            await self._courier.deliver_due(now)

    async def _keep_marks(self, now: datetime) -> None:
        """Officials' verification marks in step with the roster (bot/marks.py); a failure
        there must not stop reminders and notices."""
        if self.mark_port is None:
            return
        try:
            await self._marks.reconcile(self.mark_port, now)
        except Exception:
            log.exception("keeping verification marks failed; the next wake-up retries")
