"""Delivery of messages the bot sends on its own: queued in the database, sent once, never lost.

A row goes pending → sending (committed before the send) → sent. What happens when a send
fails depends on the kind of message (see :data:`POLICIES` and docs/reminders.md):

- the recipient blocked the bot or deleted the account: ``failed``, the user is marked
  unreachable, critical kinds are reported to the admins;
- a temporary failure (network error, flood control): retried with exponential backoff,
  for ``reminders.critical_retry_hours`` after the first attempt for critical kinds, a few
  times for the others, then ``failed``, and critical kinds are reported to the admins (the
  report is queued in the transaction that marks the message failed: once, durably);
- in doubt (the send timed out, or the process died between the 'sending' commit and the
  answer, found by :meth:`Outbox.recover` at the next start): Telegram may or may not have
  delivered it. Every kind queued today is at least once (a duplicate is harmless, a lost
  receipt or reply is not): it is sent again, its text marked for the reader as a possible
  repeat ("（重发）" / "(resent)", in the recipient's language). A kind whose duplicate would
  do harm would be at most once (``KindPolicy.retry_uncertain = False``): ``unknown`` and
  reported to the admins, never sent blindly a second time; docs/hardening.md §11 says why
  no kind is today.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.accounts import Accounts
from bot.config import QuietHoursSettings, ReminderSettings
from bot.delivery import (
    DeliveryRejected,
    DeliveryUncertain,
    Media,
    Outgoing,
    RecipientUnreachable,
    Sender,
    TemporaryFailure,
)
from bot.i18n import Html, catalog, translate
from bot.pacing import Priority
from bot.uow import UnitOfWork
from bot.workdays import ONE_DAY as DAY
from bot.workdays import WorkCalendar
from storage.outbox import NewMessage, OutboxMessage, OutboxRepository, enqueue

log = logging.getLogger(__name__)

# Who hears that a message did not (surely) arrive: the province office's admins, read when
# needed (an appointment or a revocation counts at once).
AdminsOf = Callable[[], Awaitable[tuple[int, ...]]]


@dataclass(frozen=True, slots=True)
class KindPolicy:
    critical: bool  # retried for hours, then reported to the admins
    # At least once: a duplicate is harmless, so a message in doubt (timed out, or caught
    # mid-send by a crash) is sent again, marked as a possible repeat. False: at most once.
    retry_uncertain: bool = True
    quiet: bool = True  # held back by quiet hours unless urgent


# Every kind is at least once: a duplicate (marked "resent") is better than a lost message,
# and none of these does harm twice (docs/hardening.md §11).
POLICIES: dict[str, KindPolicy] = {
    "reminder": KindPolicy(critical=False),
    "overdue": KindPolicy(critical=False),
    "confirm": KindPolicy(critical=False),
    "closed": KindPolicy(critical=False),
    "update": KindPolicy(critical=False),
    "digest": KindPolicy(critical=False),
    "escalation": KindPolicy(critical=True),
    "escalated": KindPolicy(critical=True),
    "new_request": KindPolicy(critical=True),
    "report": KindPolicy(critical=False),
    # The weekly reminder that next year's holiday schedule is not loaded (to admins).
    "calendar": KindPolicy(critical=False),
    # A message in a request's thread: the sender is talking now, so quiet hours do not hold it.
    "thread": KindPolicy(critical=True, quiet=False),
    # A verification mark Telegram would not set or remove (to admins, bot/marks.py).
    "mark": KindPolicy(critical=False, quiet=False),
    # An answer to a user that flood control kept from going out at once (handlers/ratelimit).
    "answer": KindPolicy(critical=True, quiet=False),
    # "Received, your number is …", "sent", "recorded": the answer to what the user just did,
    # queued in the transaction that stores it (bot/receipts.py); never held by quiet hours.
    "receipt": KindPolicy(critical=True, quiet=False),
    # A registration to approve (to the admins) and its outcome (to the registrant).
    "registration": KindPolicy(critical=True, quiet=False),
    # Someone reported an impostor: the admins and the impersonated official, at once.
    "impostor": KindPolicy(critical=True, quiet=False),
    # A new request that looks like an unresolved systemic issue (to the admins).
    "systemic_match": KindPolicy(critical=False),
}
# Kinds that answer what a user just did: they go out before notices (bot/pacing.py).
ANSWER_KINDS = frozenset({"answer", "receipt"})
DEFAULT_POLICY = KindPolicy(critical=True)


def policy_of(kind: str) -> KindPolicy:
    return POLICIES.get(kind, DEFAULT_POLICY)


def outgoing(message: OutboxMessage) -> Outgoing:
    """An outbox row as the delivery port takes it."""
    return Outgoing(
        chat_id=message.recipient_id,
        text=message.text,
        kind=message.kind,
        priority=priority_of(message.kind),
        media=message.media,
        card=message.card,
        reply_to=message.reply_to,
        markup=message.markup,
    )


def priority_of(kind: str) -> Priority:
    """How an outbox message queues for Telegram's limits against answers and announcements."""
    return Priority.ANSWER if kind in ANSWER_KINDS else Priority.NOTICE


class QuietHours:
    """When non-urgent messages may go out: not from start to end, optionally not on days off."""

    def __init__(self, settings: QuietHoursSettings, calendar: WorkCalendar) -> None:
        self.settings = settings
        self.calendar = calendar

    def is_quiet(self, moment: datetime) -> bool:
        local = self.calendar.local(moment)
        if self.settings.weekends and not self.calendar.is_workday(local.date()):
            return True
        start, end, now = self.settings.start, self.settings.end, local.time()
        if start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` itself when it is not quiet, else the next moment that is not."""
        if not self.is_quiet(moment):
            return moment
        local = self.calendar.local(moment)
        day = local.date() if local.time() < self.settings.end else local.date() + DAY
        candidate = self.calendar.at(day, self.settings.end)
        while self.is_quiet(candidate):
            day += DAY
            candidate = self.calendar.at(day, self._first_allowed_time())
        return candidate

    def _first_allowed_time(self) -> time:
        return self.settings.end if self.settings.start != self.settings.end else time(0)


class Outbox:
    """Queues messages (respecting quiet hours) and delivers what is due through a Sender."""

    def __init__(
        self,
        repository: OutboxRepository,
        *,
        quiet: QuietHours,
        settings: ReminderSettings,
        accounts: Accounts,
        admins: AdminsOf,
        uow: UnitOfWork,
        max_in_flight: int = 1,
    ) -> None:
        self.repository = repository
        self._uow = uow
        self.max_in_flight = max_in_flight
        # Turns false when the application stops: no new row is claimed, so a long backlog
        # does not hold the shutdown (what is left goes out after the next start).
        self.keep_going: Callable[[], bool] = lambda: True
        self.quiet = quiet
        self.settings = settings
        self.accounts = accounts
        self.admins = admins
        # Rows queued and committed while a delivery is under way (:meth:`arrived`): it claims
        # them too, rather than after the sends it has in flight.
        self._arrivals = asyncio.Event()
        self._arrived_by: datetime | None = None

    def arrived(self, now: datetime) -> None:
        """Rows due by ``now`` were just queued and committed (a receipt, a notice): a
        delivery under way claims them as soon as a slot is free. Without this, a receipt
        queued while the delivery waits on another chat's pace (an admin's chat at its one
        message a second) would wait for that send and the rest of the round."""
        self._arrived_by = now if self._arrived_by is None else max(self._arrived_by, now)
        self._arrivals.set()

    def message(
        self,
        recipient_id: int,
        kind: str,
        text: str,
        *,
        at: datetime,
        urgent: bool = False,
        dedupe_key: str | None = None,
        card: int | None = None,
        reply_to: int | None = None,
        media: Media | None = None,
        markup: str | None = None,
    ) -> NewMessage:
        """A row to queue: non-urgent ones of a quiet kind wait for the end of quiet hours."""
        not_before = self._allowed(kind, urgent, at)
        return NewMessage(
            recipient_id, kind, text, not_before, urgent, dedupe_key, card, reply_to, media, markup
        )

    def _allowed(self, kind: str, urgent: bool, moment: datetime) -> datetime:
        if urgent or not policy_of(kind).quiet:
            return moment
        return self.quiet.next_allowed(moment)

    async def send_later(self, messages: list[NewMessage], *, now: datetime) -> None:
        async with self._uow.transaction() as tx:
            await enqueue(tx, messages, now=now)

    async def recover(self, now: datetime) -> None:
        """After a crash: rows caught mid-send are sent again, marked (at-least-once kinds),
        or become 'unknown' and are reported (at-most-once kinds)."""
        for message in await self.repository.interrupted():
            await self._in_doubt(message, "interrupted by a restart", now, at_once=True)

    async def deliver_due(self, sender: Sender, now: datetime) -> int:
        """Send the due rows, up to ``batch_size`` of them (the rest wait for the next wake-up);
        return how many were handed over.

        Up to ``max_in_flight`` rows go at once, each to a different recipient (one recipient's
        messages leave one after the other, in order), answers to users before notices. Each
        chat's pace and the bot's overall budget are kept by the delivery engine the sender
        goes through, so a recipient who may not be written to yet holds only their own row.

        Rows are claimed just before each is sent, as many at once as there are free slots
        (each for a recipient of its own, all handed to their sends at once): a crash then
        leaves only the messages in flight in 'sending' (whether Telegram got them is
        unknown), never a batch of messages claimed but not yet tried. A row Telegram took is
        marked sent with the next claim, in its transaction (one round trip for both; a send
        ending frees the slot that claim waits for), and the last ones when the delivery
        ends.
        """
        # Rows queued and committed since the last delivery are due: claimed below, without
        # the read that spares an empty outbox its write (one round trip less on the path
        # from a user's update to the answer the outbox carries).
        queued = self._arrivals.is_set()
        self._arrivals.clear()
        if not queued and not await self.repository.any_due(now):
            return 0
        busy: set[int] = set()
        slots = asyncio.Semaphore(self.max_in_flight)
        tasks: set[asyncio.Task[bool]] = set()
        arrival: asyncio.Task[bool] | None = None
        handled = sent = 0
        taken = _Taken(self.repository)
        try:
            while handled < self.settings.batch_size and self.keep_going():
                await slots.acquire()
                free = 1  # slots taken for this claim: the one waited for, and any more free
                while free < self.settings.batch_size - handled and not slots.locked():
                    await slots.acquire()
                    free += 1
                marking = taken.pop()
                try:
                    claimed = await self.repository.claim_next(
                        now, busy=busy, first_kinds=ANSWER_KINDS, sent=marking, limit=free
                    )
                except BaseException:
                    taken.put_back(marking)  # marked at the end (close), if it can be
                    raise
                for _ in range(free - len(claimed)):
                    slots.release()
                if not claimed:
                    if not tasks:
                        break
                    # Until a send in flight ends or new rows arrive, whichever is first.
                    arrival = arrival or asyncio.create_task(self._arrivals.wait())
                    done, _ = await asyncio.wait(
                        {*tasks, arrival}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if arrival in done:
                        done.discard(arrival)
                        arrival = None
                        self._arrivals.clear()
                        now = max(now, self._arrived_by or now)
                    sent += sum(task.result() for task in done)
                    tasks -= done
                    continue
                for message in claimed:
                    handled += 1
                    busy.add(message.recipient_id)
                    task = asyncio.create_task(self._deliver(sender, message, now, taken))
                    tasks.add(task)
                    task.add_done_callback(_releasing(slots, busy, message.recipient_id))
        finally:
            if arrival is not None:
                arrival.cancel()
            await taken.close(now)
        if tasks:
            sent += sum(await asyncio.gather(*tasks))
        return sent

    async def _deliver(
        self, sender: Sender, message: OutboxMessage, now: datetime, taken: _Taken
    ) -> bool:
        """Send one claimed row and settle it: sent (:class:`_Taken`), or retried or failed as
        :meth:`_send` says."""
        if await self._send(sender, message, now):
            await taken.add(message.id, now)
            return True
        return False

    async def _send(self, sender: Sender, message: OutboxMessage, now: datetime) -> bool:
        """Send one claimed row; True if Telegram took it (the caller marks it sent), else
        settle it here, whatever the send raised: a row left in 'sending' would wait for the
        next restart to be sent again."""
        try:
            await sender.send(outgoing(message))
        except RecipientUnreachable as exc:
            await self.accounts.mark_unreachable(message.recipient_id, now)
            await self._fail(message, f"unreachable: {exc}", now)
        except DeliveryRejected as exc:
            await self._fail(message, f"rejected: {exc}", now)
        except TemporaryFailure as exc:
            await self._retry_or_fail(message, str(exc), now, retry_after=exc.retry_after)
        except DeliveryUncertain as exc:
            await self._in_doubt(message, f"timed out: {exc}", now)
        except Exception as exc:
            log.exception("outbox message %s failed unexpectedly; it is retried", message.id)
            await self._retry_or_fail(message, f"unexpected: {type(exc).__name__}: {exc}", now)
        else:
            return True
        return False

    async def _retry_or_fail(
        self, message: OutboxMessage, error: str, now: datetime, *, retry_after: float | None = None
    ) -> None:
        if self._give_up(message, now):
            await self._fail(message, error, now)
            return
        delay = self.backoff(message.attempts)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        log.info("outbox %s: retrying in %s (%s)", message.id, delay, error)
        not_before = self._allowed(message.kind, message.urgent, now + delay)
        await self.repository.retry_at(message.id, not_before, error)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: doubling, capped."""
        base = self.settings.retry_base_seconds
        return timedelta(seconds=min(base * 2 ** (attempts - 1), self.settings.retry_max_seconds))

    def _give_up(self, message: OutboxMessage, now: datetime) -> bool:
        if not policy_of(message.kind).critical:
            return message.attempts >= self.settings.max_attempts
        first = message.first_attempt_at or now
        return now - first >= timedelta(hours=self.settings.critical_retry_hours)

    async def _fail(self, message: OutboxMessage, error: str, now: datetime) -> None:
        log.warning("outbox %s (%s) failed: %s", message.id, message.kind, error)
        reports = (
            await self._reports(message, error, now) if policy_of(message.kind).critical else []
        )
        await self._settle(message, "failed", error, reports, now)

    async def _in_doubt(
        self, message: OutboxMessage, error: str, now: datetime, *, at_once: bool = False
    ) -> None:
        """Telegram may or may not have it: at least once, it goes again (``at_once``, after a
        restart, else with the usual backoff) with the "resent" mark; at most once, 'unknown'."""
        if not policy_of(message.kind).retry_uncertain:
            await self._unknown(message, error, now)
            return
        if not message.resent:
            await self.repository.mark_resent(message.id, await self._marked(message))
        log.info("outbox %s (%s) in doubt, sent again: %s", message.id, message.kind, error)
        if at_once:
            await self.repository.release(message.id)
        else:
            await self._retry_or_fail(message, error, now)

    async def _marked(self, message: OutboxMessage) -> str:
        """The text with the mark that tells the reader it may be a repeat, in their language."""
        language = await self.accounts.language_of(message.recipient_id)
        return translate(language, "outbox.resent", text=Html(message.text))

    async def _unknown(self, message: OutboxMessage, error: str, now: datetime) -> None:
        """At most once and in doubt: never sent blindly again, reported instead."""
        reports = await self._reports(message, error, now)
        await self._settle(message, "unknown", error, reports, now)

    async def _settle(
        self,
        message: OutboxMessage,
        status: str,
        error: str,
        reports: list[NewMessage],
        now: datetime,
    ) -> None:
        """End the message as ``status`` and queue its ``reports`` (to the admins) in the same
        transaction, so a failure is reported exactly once, even across a crash."""
        async with self._uow.transaction() as tx:
            if await self.repository.settle_in(tx, message.id, status, error):
                await enqueue(tx, reports, now=now)

    async def _reports(self, message: OutboxMessage, error: str, now: datetime) -> list[NewMessage]:
        """What tells the admins a message did not (surely) arrive; reports are never reported."""
        if message.kind == "report":
            return []
        rows = []
        for admin_id in await self.admins():
            language = await self.accounts.language_of(admin_id)
            text = translate(
                language,
                "outbox.report",
                kind=translate(language, _kind_key(language, message.kind)),
                recipient=message.recipient_id,
                error=error,
            )
            key = f"report:{message.id}:{admin_id}"
            rows.append(self.message(admin_id, "report", text, at=now, urgent=True, dedupe_key=key))
        return rows


class _Taken:
    """Rows Telegram took during one delivery: marked sent with the delivery's next claim,
    in its transaction (:meth:`pop`), while the delivery claims; each on its own once it
    stopped claiming (:meth:`close`), as the sends still in flight end."""

    def __init__(self, repository: OutboxRepository) -> None:
        self._repository = repository
        self._ids: list[int] = []
        self._claiming = True

    def pop(self) -> list[int]:
        """The rows to mark sent with the claim about to be made."""
        ids, self._ids = self._ids, []
        return ids

    def put_back(self, ids: list[int]) -> None:
        self._ids[:0] = ids

    async def add(self, message_id: int, now: datetime) -> None:
        if self._claiming:
            self._ids.append(message_id)
        else:
            await self._repository.mark_sent([message_id], now)

    async def close(self, now: datetime) -> None:
        """No more claims: mark what is left now, and what ends later on its own."""
        self._claiming = False
        await self._repository.mark_sent(self.pop(), now)


def _releasing(
    slots: asyncio.Semaphore, busy: set[int], recipient_id: int
) -> Callable[[asyncio.Task[bool]], None]:
    """When a row's send ends, its recipient may have the next row and its slot is free."""

    def release(_: asyncio.Task[bool]) -> None:
        busy.discard(recipient_id)
        slots.release()

    return release


def _kind_key(language: str, kind: str) -> str:
    key = f"outbox.kinds.{kind}"
    return key if key in catalog(language) else "outbox.kinds.other"
