"""Delivering an announcement at a steady pace, once to each recipient, across crashes.

The domain does not know Telegram: the delivery port's :class:`~bot.delivery.Sender` (the
one the outbox uses too) delivers one message or raises one of the port's errors; a
:class:`Reporter` shows progress. :class:`Delivery` paces the sends with a token bucket,
claims recipients and records their outcomes in batches, keeping at most
:func:`duplicate_bound` recipients in the ``sending`` state; :class:`Broadcaster` starts,
cancels and resumes broadcasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from bot.broadcasts import BroadcastStatus, RecipientStatus, Settled, Tally, render
from bot.config import BroadcastSettings
from bot.delivery import (
    DeliveryRejected,
    DeliveryUncertain,
    Media,
    Outgoing,
    RecipientUnreachable,
    Sender,
    TemporaryFailure,
)
from bot.i18n import pick_language
from bot.pacing import Priority
from storage.scope import PROVINCE

if TYPE_CHECKING:
    from bot.accounts import Accounts
    from bot.broadcasts import Audience
    from bot.clock import Clock
    from bot.uow import UnitOfWork
    from storage.broadcasts import Broadcast, BroadcastStore, Recipient

log = logging.getLogger(__name__)

PAGE = 500  # pending recipients read from storage at a time
HALT_CHECK = 0.5  # seconds between checks, in long waits, that the application still runs
# Waits up to this many seconds (a paced send's turn, about a window ahead) are plain sleeps: waking
# on a cancel costs a task per send, and a cancel is still seen before the next send.
SHORT_WAIT = 0.2
# The announcement's pacer may catch up this many seconds of slots after a stall of the event
# loop (at least MIN_BURST slots): at 900/s a 10 ms stall would otherwise lose 9 sends for
# good. Telegram is still protected by the delivery engine's gates (bot/pacing.py).
CATCH_UP_SECONDS = 0.05
MIN_BURST = 2
# Recipients in ``sending`` at most, in windows (see :func:`duplicate_bound`): one claimed batch
# waiting to start, one window of sends in flight, one window of outcomes not yet committed.
SENDING_WINDOWS = 3


class Reporter(Protocol):
    async def progress(self, broadcast: Broadcast, tally: Tally, eta_seconds: float) -> None: ...

    async def finished(self, broadcast: Broadcast, tally: Tally) -> None: ...

    async def paused(self, broadcast: Broadcast, tally: Tally, resume_at: datetime) -> None: ...


class Pacer:
    """The announcement's own rate: a token bucket; flood control pauses it.

    ``reserve`` books the next free slot and returns how long to wait for it, so the rate
    holds however long each send takes. ``burst`` slots may be caught up after a stall. Each
    chat's pace and the bot's overall budget (shared with answers and notices, which go
    first) are kept by the delivery engine the sender goes through (bot/pacing.py).
    """

    def __init__(
        self, rate: float, *, burst: int = 2, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = 1.0 / rate
        self._burst = burst
        self._now = now
        self._next = now()
        self._paused_until = 0.0

    def reserve(self) -> float:
        now = self._now()
        slot = max(self._next, now - (self._burst - 1) * self._interval, self._paused_until)
        self._next = slot + self._interval
        return max(0.0, slot - now)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds)


class Outcome(StrEnum):
    DONE = "done"
    CANCELLED = "cancelled"
    PAUSED = "paused"
    HALTED = "halted"  # the application is stopping; the next start resumes it


class Delivery:
    """Sends one broadcast to its pending recipients until done, cancelled or paused."""

    def __init__(
        self,
        broadcast: Broadcast,
        *,
        store: BroadcastStore,
        uow: UnitOfWork,
        accounts: Accounts,
        settings: BroadcastSettings,
        clock: Clock,
        sender: Sender,
        cancelled: asyncio.Event,
        keep_going: Callable[[], bool],
        default_language: str,
    ) -> None:
        self.broadcast = broadcast
        self._keep_going = keep_going
        self._store = store
        self._uow = uow
        self._accounts = accounts
        self._settings = settings
        self._clock = clock
        self._sender = sender
        self._cancelled = cancelled
        self._default_language = default_language
        rate = rate_of(broadcast, settings)
        self._pacer = Pacer(rate, burst=burst_of(rate))
        self._window = window_of(rate, settings)
        self._bound = duplicate_bound(rate, settings)
        self._slots = asyncio.Semaphore(self._window)
        self._tasks: set[asyncio.Task[None]] = set()
        # Claimed and not yet recorded: the recipients this delivery has in ``sending``.
        self._unsettled = 0
        self._room = asyncio.Condition()  # notified when recorded outcomes free room
        self._outcomes: list[Settled] = []  # outcomes waiting for the next flush
        self._flushing = asyncio.Lock()
        # Slots are booked one at a time, when the previous one is due: a window of sends
        # booked in advance would all go at once after a stall of the event loop.
        self._turns = asyncio.Lock()
        self._ended = asyncio.Event()
        self.resume_at: datetime | None = None

    @property
    def stopping(self) -> bool:
        return self._cancelled.is_set() or self.resume_at is not None or not self._keep_going()

    async def run(self) -> Outcome:
        flusher = asyncio.create_task(self._flush_every())
        try:
            async for page in self._store.pending(self.broadcast.id, page=PAGE):
                for first in range(0, len(page), self._window):
                    if self.stopping:
                        break
                    await self._claim_and_start(page[first : first + self._window])
                if self.stopping:
                    break
            if self._tasks:
                await asyncio.gather(*self._tasks)
        finally:
            self._ended.set()
            await flusher  # records the last outcomes
        if self._cancelled.is_set():
            return Outcome.CANCELLED
        if self.resume_at is not None:
            return Outcome.PAUSED
        return Outcome.DONE if self._keep_going() else Outcome.HALTED

    async def _claim_and_start(self, batch: list[Recipient]) -> None:
        """Claim a batch in one commit, once there is room under the bound, and start each
        claimed recipient as a slot frees; on a stop, the rest go back to ``pending``."""
        async with self._room:
            await self._room.wait_for(lambda: self._unsettled + len(batch) <= self._bound)
            if self.stopping:
                return
            async with self._uow.transaction() as tx:
                ids = [r.telegram_id for r in batch]
                claimed = await self._store.claim(tx, self.broadcast.id, ids)
            self._unsettled += len(claimed)
        for recipient in [r for r in batch if r.telegram_id in claimed]:
            await self._slots.acquire()
            if self.stopping:
                self._slots.release()
                await self._finish(recipient.telegram_id, RecipientStatus.PENDING, 0)
                continue
            task = asyncio.create_task(self._deliver(recipient))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _: self._slots.release())

    async def _deliver(self, recipient: Recipient) -> None:
        """Send to one recipient; whatever happens, record it and let the others go on."""
        chat_id = recipient.telegram_id
        if recipient.unreachable:
            await self._finish(chat_id, RecipientStatus.UNREACHABLE, 0, "unreachable")
            return
        message = self._message_for(recipient)
        attempts = 0
        while attempts < self._settings.max_attempts:
            async with self._turns:  # one send at a time takes the pacer's next slot
                ready = await self._wait(self._pacer.reserve())
            if not ready:
                await self._finish(chat_id, RecipientStatus.PENDING, attempts)
                return
            attempts += 1
            try:
                await self._sender.send(message)
            except RecipientUnreachable as exc:
                await self._accounts.mark_unreachable(chat_id, self._clock.now())
                await self._finish(chat_id, RecipientStatus.UNREACHABLE, attempts, str(exc))
                return
            except TemporaryFailure as exc:
                if exc.retry_after is None:  # a network error: retried with backoff
                    if not await self._failed_attempt(chat_id, attempts, exc):
                        return
                    continue
                attempts -= 1  # flood control: not the recipient's fault
                if not self._obey(exc.retry_after):
                    await self._finish(chat_id, RecipientStatus.PENDING, attempts)
                    return
                continue
            except DeliveryUncertain as exc:
                # At most once: a duplicate to a whole audience would do harm
                # (docs/hardening.md §11).
                error = f"unknown: {exc}"[:200]
                await self._finish(chat_id, RecipientStatus.FAILED, attempts, error)
                return
            except DeliveryRejected as exc:
                if not await self._failed_attempt(chat_id, attempts, exc):
                    return
                continue
            await self._finish(chat_id, RecipientStatus.SENT, attempts)
            return

    async def _failed_attempt(self, chat_id: int, attempts: int, exc: Exception) -> bool:
        """Record a failed attempt: True to try again after the backoff, False when the
        recipient is given up (``max_attempts``)."""
        error = str(exc)[:200]
        log.info("broadcast %s: attempt %d failed: %s", self.broadcast.id, attempts, error)
        if attempts >= self._settings.max_attempts:
            await self._finish(chat_id, RecipientStatus.FAILED, attempts, error)
            return False
        await self._wait(self._settings.retry_backoff_seconds * 2 ** (attempts - 1))
        return True

    def _obey(self, retry_after: float) -> bool:
        """Pause every send for ``retry_after``; a wait too long to sleep pauses the broadcast."""
        if retry_after > self._settings.max_retry_after_seconds:
            log.warning("broadcast %s: asked to wait %s s; pausing", self.broadcast.id, retry_after)
            if self.resume_at is None:
                self.resume_at = self._clock.now() + timedelta(seconds=retry_after)
            return False
        log.info("broadcast %s: flood control, waiting %s s", self.broadcast.id, retry_after)
        self._pacer.pause(retry_after)
        return True

    async def sleep(self, seconds: float) -> bool:
        """Wait like the delivery does: woken by a cancel or a halt."""
        return await self._wait(seconds)

    async def _wait(self, seconds: float) -> bool:
        """Sleep, but wake up when cancelled or halted; False if the broadcast is stopping."""
        if seconds <= SHORT_WAIT:  # a plain sleep; stopping is checked before the next send
            await asyncio.sleep(seconds)
            return not self.stopping
        deadline = asyncio.get_running_loop().time() + seconds
        while not self.stopping:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._cancelled.wait(), timeout=min(remaining, HALT_CHECK))
        return not self.stopping

    def _message_for(self, recipient: Recipient) -> Outgoing:
        language = pick_language(
            recipient.language, recipient.telegram_language, self._default_language
        )
        b = self.broadcast
        return Outgoing(
            recipient.telegram_id,
            render(b.text_html, language),
            kind="announcement",
            priority=Priority.BULK,
            media=None if b.media_kind is None else Media(b.media_kind, b.media_file_id or ""),
            paid=b.paid,
        )

    async def _finish(
        self, chat_id: int, status: RecipientStatus, attempts: int, error: str | None = None
    ) -> None:
        """Queue the outcome for the next batch; a full window of them is recorded at once
        (the sender holds its slot meanwhile, so no new send starts)."""
        self._outcomes.append(Settled(chat_id, status, attempts, self._clock.now(), error))
        if len(self._outcomes) >= self._window:
            await self._flush()

    async def _flush(self) -> None:
        """Record the queued outcomes in one transaction, freeing their room under the bound."""
        async with self._flushing:
            batch, self._outcomes = self._outcomes, []
            if not batch:
                return
            async with self._uow.transaction() as tx:
                await self._store.finish(tx, self.broadcast.id, batch)
        async with self._room:
            self._unsettled -= len(batch)
            self._room.notify_all()

    async def _flush_every(self) -> None:
        """Record outcomes at least every ``outcome_flush_seconds``, and once more at the end."""
        while not self._ended.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._ended.wait(), timeout=self._settings.outcome_flush_seconds
                )
            await self._flush()


# --- Running broadcasts ---------------------------------------------------------------------


class Broadcaster:
    """Starts, watches, cancels and resumes broadcasts; the database remembers their state."""

    def __init__(
        self,
        store: BroadcastStore,
        accounts: Accounts,
        *,
        settings: BroadcastSettings,
        clock: Clock,
        default_language: str,
        uow: UnitOfWork,
    ) -> None:
        self.store = store
        self._uow = uow
        self._accounts = accounts
        self.settings = settings
        self._clock = clock
        self._default_language = default_language
        self._running: dict[int, asyncio.Event] = {}

    def is_running(self, broadcast_id: int) -> bool:
        return broadcast_id in self._running

    def reserve(self, broadcast_id: int) -> bool:
        """Mark a broadcast as run by this process; False if it already is."""
        if broadcast_id in self._running:
            return False
        self._running[broadcast_id] = asyncio.Event()
        return True

    async def to_resume(self) -> list[int]:
        """Broadcasts left ``sending`` by an earlier process, reserved for this one.

        Their in-flight recipients go back to ``pending``: each may have received the
        message already, which is the documented duplicate bound.
        """
        resumed = []
        for broadcast_id in await self.store.sending_ids():
            if self.reserve(broadcast_id):
                async with self._uow.transaction() as tx:
                    requeued = await self.store.requeue_in_flight(tx, broadcast_id)
                log.info("resuming broadcast %s (%d were in flight)", broadcast_id, requeued)
                resumed.append(broadcast_id)
        return resumed

    async def due(self) -> list[int]:
        """Scheduled broadcasts whose time has come, started and reserved for this process."""
        now = self._clock.now()
        started = []
        for broadcast_id in await self.store.due_ids(now):
            async with self._uow.transaction() as tx:
                begun = await self.store.begin_scheduled(tx, broadcast_id, now=now)
            if begun and self.reserve(broadcast_id):
                started.append(broadcast_id)
        return started

    async def create(
        self,
        *,
        created_by: int,
        text_html: str,
        media_kind: str | None,
        media_file_id: str | None,
        audience: Audience,
        paid: bool = False,
        office: str = PROVINCE,
    ) -> Broadcast:
        """A new draft announcement."""
        async with self._uow.transaction() as tx:
            return await self.store.create(
                tx,
                created_by=created_by,
                text_html=text_html,
                media_kind=media_kind,
                media_file_id=media_file_id,
                audience=audience,
                now=self._clock.now(),
                paid=paid,
                office=office,
            )

    async def set_schedule(self, broadcast_id: int, at: datetime) -> None:
        """Remember the chosen time on a draft; it is scheduled only once confirmed."""
        async with self._uow.transaction() as tx:
            await self.store.set_schedule(tx, broadcast_id, at)

    async def schedule(self, broadcast_id: int) -> bool:
        """draft → scheduled; False if it is no longer a draft (a second press)."""
        async with self._uow.transaction() as tx:
            return await self.store.schedule(tx, broadcast_id)

    async def begin(self, broadcast_id: int) -> bool:
        """draft → sending with its recipients; only the first caller gets True."""
        async with self._uow.transaction() as tx:
            return await self.store.begin(tx, broadcast_id, now=self._clock.now())

    async def show_progress_in(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        """The message that shows the broadcast's progress (edited as it goes)."""
        async with self._uow.transaction() as tx:
            await self.store.set_progress_message(tx, broadcast_id, chat_id, message_id)

    async def progress_shown_as(self, broadcast_id: int, digest: str) -> None:
        """What the progress message shows now (its digest: unchanged, not edited again)."""
        async with self._uow.transaction() as tx:
            await self.store.set_progress_shown(tx, broadcast_id, digest)

    async def cancel(self, broadcast_id: int) -> bool:
        async with self._uow.transaction() as tx:
            cancelled = await self.store.cancel(tx, broadcast_id, now=self._clock.now())
        event = self._running.get(broadcast_id)
        if event is not None:
            event.set()
        return cancelled

    async def run(
        self,
        broadcast_id: int,
        sender: Sender,
        reporter: Reporter,
        *,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> Outcome | None:
        """Deliver a reserved broadcast to the end, reporting progress every few seconds.

        ``keep_going`` turning false (the application stopping) halts it without a trace
        other than the database: the next start resumes it.
        """
        cancelled = self._running.setdefault(broadcast_id, asyncio.Event())
        try:
            broadcast = await self.store.get(broadcast_id)
            if broadcast is None or broadcast.status is not BroadcastStatus.SENDING:
                return None
            delivery = Delivery(
                broadcast,
                store=self.store,
                uow=self._uow,
                accounts=self._accounts,
                settings=self.settings,
                clock=self._clock,
                sender=sender,
                cancelled=cancelled,
                keep_going=keep_going,
                default_language=self._default_language,
            )
            watcher = asyncio.create_task(self._watch(delivery, reporter, cancelled))
            try:
                outcome = await delivery.run()
            finally:
                watcher.cancel()
            await self._conclude(delivery, outcome, reporter)
            return outcome
        finally:
            self._running.pop(broadcast_id, None)

    async def _watch(
        self, delivery: Delivery, reporter: Reporter, cancelled: asyncio.Event
    ) -> None:
        """Every progress interval: notice a cancel made elsewhere, and report progress."""
        broadcast = delivery.broadcast
        while not delivery.stopping:
            tally = await self.store.tally(broadcast.id)
            eta = tally.remaining / rate_of(broadcast, self.settings)
            await _quietly(reporter.progress(broadcast, tally, eta))
            await delivery.sleep(self.settings.progress_interval_seconds)
            if await self.store.status(broadcast.id) is BroadcastStatus.CANCELLED:
                cancelled.set()

    async def _conclude(self, delivery: Delivery, outcome: Outcome, reporter: Reporter) -> None:
        broadcast_id = delivery.broadcast.id
        now = self._clock.now()
        if outcome is Outcome.HALTED:
            log.info("broadcast %s halted; it resumes at the next start", broadcast_id)
            return
        async with self._uow.transaction() as tx:
            if outcome is Outcome.PAUSED and delivery.resume_at is not None:
                await self.store.pause_until(tx, broadcast_id, delivery.resume_at)
            elif outcome is Outcome.DONE:
                await self.store.complete(tx, broadcast_id, now=now)
        final = await self.store.get(broadcast_id)
        assert final is not None
        tally = await self.store.tally(broadcast_id)
        if outcome is Outcome.PAUSED and delivery.resume_at is not None:
            await _quietly(reporter.paused(final, tally, delivery.resume_at))
        else:
            await _quietly(reporter.finished(final, tally))


def burst_of(rate: float) -> int:
    """Slots the announcement's pacer may catch up: 2 at 20/s, 45 at 900/s."""
    return max(MIN_BURST, math.ceil(rate * CATCH_UP_SECONDS))


def window_of(rate: float, settings: BroadcastSettings) -> int:
    """Sends open at once, and recipients claimed per commit: enough to keep ``rate`` while
    each send waits ``send_latency_seconds`` for Telegram's answer, at least
    ``max_in_flight``."""
    return max(settings.max_in_flight, math.ceil(rate * settings.send_latency_seconds))


def duplicate_bound(rate: float, settings: BroadcastSettings) -> int:
    """Recipients in ``sending`` at most, so at most this many may receive a broadcast twice
    after a crash: a claimed batch, a window in flight and a window of unrecorded outcomes."""
    return SENDING_WINDOWS * window_of(rate, settings)


def rate_of(broadcast: Broadcast, settings: BroadcastSettings) -> float:
    """Messages a second for this broadcast: the paid rate when it is sent at paid speed."""
    return settings.paid_messages_per_second if broadcast.paid else settings.messages_per_second


async def _quietly(report: object) -> None:
    """Progress reports are best effort: a failed one must not stop the delivery."""
    try:
        await report  # type: ignore[misc]
    except Exception:
        log.exception("could not report broadcast progress")
