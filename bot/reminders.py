"""Reminders before each deadline, escalation when one is missed, close-out of silent requests.

Reminders are rows in the database, planned from a request's current state by
:class:`ReminderPlanner`, inside the transaction of every change of a request (the desk calls it),
and fired by :class:`ReminderFiring`, which the alarm (bot/alarm.py) runs every few seconds. At
fire time each reminder is checked against the request again: one that no longer applies is
cancelled, never sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from bot.accounts import Accounts
from bot.clock import Clock
from bot.config import Settings
from bot.digests import FOLDABLE, active_deadline
from bot.i18n import translate
from bot.lifecycle import Action, Party, TransitionRefused
from bot.offices import Offices
from bot.outbox import Outbox, QuietHours
from bot.requests import RequestDesk
from bot.uow import UnitOfWork
from bot.workdays import ONE_DAY as DAY
from bot.workdays import WorkCalendar
from storage.db import Transaction
from storage.officials import OfficialRepository
from storage.outbox import NewMessage
from storage.reminders import Planned, Reminder, ReminderRepository, replace_pending
from storage.requests import Request, request_in

log = logging.getLogger(__name__)

ACKNOWLEDGE = ("submitted", "assigned")
RESOLVE = ("acknowledged", "in_progress", "reopened")
DAY_SECONDS = 86400.0
SYSTEM = frozenset({Party.SYSTEM})
ALWAYS_DUE = frozenset({"ack_overdue", "resolve_overdue", "confirm", "auto_close"})


def plan(services: Planning, request: Request) -> list[Planned]:
    """Every reminder that applies to the request in its current state, past ones included."""
    if request.status in ACKNOWLEDGE and request.acknowledge_due_at is not None:
        days = _deadline_days(services, request, "acknowledge")
        return _deadline(services, request, "ack", request.acknowledge_due_at, days)
    if request.status in RESOLVE and request.resolve_due_at is not None:
        days = _deadline_days(services, request, "resolve")
        return _deadline(services, request, "resolve", request.resolve_due_at, days)
    if request.status == "resolved" and request.resolved_at is not None:
        return _close_out(services, request.resolved_at)
    return []


def _deadline_days(services: Planning, request: Request, which: str) -> int:
    deadlines = services.settings.deadlines
    if request.urgent:
        return int(getattr(deadlines, f"urgent_{which}_days"))
    category = deadlines.categories[request.category]
    return int(getattr(category, f"{which}_days"))


def _deadline(
    services: Planning, request: Request, prefix: str, due: datetime, days: int
) -> list[Planned]:
    calendar = services.calendar
    planned = [Planned(f"{prefix}_overdue", due)]
    if request.official_id is None:
        return planned
    last_day = calendar.previous_workday(calendar.local(due - timedelta(seconds=1)).date())
    last = _last_day_moment(services, last_day, due)
    if last >= due:
        last_day = calendar.previous_workday(last_day - DAY)
        last = _last_day_moment(services, last_day, due)
    half = official_moment(services, calendar.working_seconds_before(due, days * DAY_SECONDS / 2))
    planned.append(Planned(f"{prefix}_last", last, request.official_id))
    if calendar.local(half).date() < last_day and half < last:
        planned.append(Planned(f"{prefix}_half", half, request.official_id))
    return planned


def _last_day_moment(services: Planning, day: date, due: datetime) -> datetime:
    """``reminders.last_day_time`` on ``day``; digest time when that is earlier, quiet, or
    not before the deadline (then the digest carries the reminder)."""
    calendar, settings = services.calendar, services.settings
    digest = calendar.at(day, settings.quiet_hours.digest_time)
    moment = max(calendar.at(day, settings.reminders.last_day_time), digest)
    if services.quiet.is_quiet(moment) or moment >= due:
        return digest
    return moment


def official_moment(services: Planning, moment: datetime) -> datetime:
    """When to remind an official: on a working day after quiet hours, a morning one with
    the digest."""
    calendar = services.calendar
    moment = services.quiet.next_allowed(moment)
    local = calendar.local(moment)
    digest_time = services.settings.quiet_hours.digest_time
    if not calendar.is_workday(local.date()):
        return calendar.at(calendar.next_workday(local.date()), digest_time)
    if local.time() < digest_time:
        return calendar.at(local.date(), digest_time)
    return moment


def _close_out(services: Planning, resolved_at: datetime) -> list[Planned]:
    calendar, deadlines = services.calendar, services.settings.deadlines
    local = calendar.local(resolved_at)
    confirm_day = calendar.local_day(
        calendar.add_workdays(resolved_at, deadlines.confirm_reminder_days)
    )
    return [
        Planned("confirm", calendar.at(confirm_day, local.time().replace(microsecond=0))),
        Planned("auto_close", resolved_at + timedelta(days=deadlines.auto_close_days)),
    ]


class Planning(Protocol):
    """What planning reminders reads: the settings, the working-day calendar, quiet hours."""

    @property
    def settings(self) -> Settings: ...

    @property
    def calendar(self) -> WorkCalendar: ...

    @property
    def quiet(self) -> QuietHours: ...


@dataclass(frozen=True, slots=True)
class ReminderPlanner:
    """Plans a request's reminders in the transaction of its change (the desk calls it)."""

    settings: Settings
    calendar: WorkCalendar
    quiet: QuietHours
    clock: Clock

    async def replan(
        self, tx: Transaction, request_id: int, *, current: Request | None = None
    ) -> None:
        """Make the request's pending reminders match its state as ``tx`` sees it: read in
        ``tx``, or ``current`` when the caller has it as ``tx`` sees it (the row its own write
        returned), which spares a round trip inside the write transaction."""
        request = current if current is not None else await request_in(tx, request_id)
        wanted = [] if request is None else plan(self, request)
        now = self.clock.now()
        keep = [p for p in wanted if p.kind in ALWAYS_DUE or p.due_at > now]
        await replace_pending(tx, request_id, keep)


class ReminderFiring:
    """Fires the due reminders: each is checked against its request again, then finished with
    its messages queued in one transaction (or cancelled when it no longer applies)."""

    def __init__(
        self,
        repo: ReminderRepository,
        *,
        planner: ReminderPlanner,
        desk: RequestDesk,
        officials: OfficialRepository,
        accounts: Accounts,
        outbox: Outbox,
        offices: Offices,
        batch_size: int,
        uow: UnitOfWork,
    ) -> None:
        self._repo = repo
        self._planner = planner
        self._desk = desk
        self._officials = officials
        self._accounts = accounts
        self._outbox = outbox
        self._offices = offices
        self.batch_size = batch_size
        self._uow = uow

    async def fire_all_due(self, now: datetime) -> None:
        """Fire every reminder due by ``now``, a batch at a time."""
        while await self.fire_due(now) == self.batch_size:
            pass

    async def fire_due(self, now: datetime) -> int:
        """Fire one batch of due reminders; how many there were."""
        due = await self._repo.due(now, self.batch_size)
        for reminder in due:
            await self.fire(reminder, now)
        return len(due)

    async def fire(self, reminder: Reminder, now: datetime) -> None:
        """Re-check the request, then queue the reminder's messages (or cancel it)."""
        request = await self._repo.request(reminder.request_id)
        if request is not None and reminder.kind == "auto_close":
            await self._auto_close(request, reminder, now)
            return
        applies = request is not None and any(
            p.kind == reminder.kind and p.due_at == reminder.due_at
            for p in plan(self._planner, request)
        )
        if request is None or not applies:
            await self._finish(reminder, [], now, status="cancelled", error="no longer applies")
            return
        deadline = active_deadline(request)
        if reminder.kind in FOLDABLE and deadline is not None and deadline <= now:
            # Caught up after a long stop: the overdue notice says it better.
            await self._finish(reminder, [], now, status="cancelled", error="deadline passed")
            return
        if reminder.kind.endswith("_overdue"):
            messages = await self._overdue_messages(request, reminder, now)
            await self._finish(reminder, messages, now, escalate=True)
            return
        messages = await self._reminder_messages(request, reminder, now)
        error = None if messages else "no recipient"
        status = "done" if messages else "failed"
        await self._finish(reminder, messages, now, status=status, error=error)

    async def _finish(
        self,
        reminder: Reminder,
        messages: list[NewMessage],
        now: datetime,
        *,
        status: str = "done",
        error: str | None = None,
        escalate: bool = False,
        still: tuple[str, ...] = ("pending",),
    ) -> None:
        """Finish the reminder and queue its messages in one transaction (nothing if it was
        already finished)."""
        async with self._uow.transaction() as tx:
            await self._repo.fire(
                tx,
                reminder,
                messages,
                now=now,
                status=status,
                error=error,
                escalate=escalate,
                still=still,
            )

    async def _auto_close(self, request: Request, reminder: Reminder, now: datetime) -> None:
        """Close a resolved request nobody confirmed, through the lifecycle, which tells both
        sides in the same transaction (bot/dispatch.py)."""
        current = await self._desk.repo.get(request.id)
        if current is not None and current.status == "resolved":
            try:
                await self._desk.transition(
                    current, Action.AUTO_CLOSE, parties=SYSTEM, actor_id=None, note="auto-closed"
                )
            except TransitionRefused:
                log.info("request %s moved on before its auto-close", request.id)
            request = await self._repo.request(request.id) or request
        if request.status != "closed" or not request.auto_closed:
            await self._finish(reminder, [], now, status="cancelled", error="no longer applies")
            return
        # Closing re-planned the request, which cancelled this very reminder: finish it anyway.
        await self._finish(reminder, [], now, still=("pending", "cancelled"))

    async def _text(self, recipient: int, key: str, **params: object) -> str:
        return translate(await self._accounts.language_of(recipient), key, **params)

    def _due_text(self, moment: datetime | None) -> str:
        return "" if moment is None else f"{self._planner.calendar.local(moment):%Y-%m-%d %H:%M}"

    async def _official_chat(self, official_id: int | None) -> int | None:
        official = None if official_id is None else await self._officials.get(official_id)
        return None if official is None else official.telegram_id

    async def _reminder_messages(
        self, request: Request, reminder: Reminder, now: datetime
    ) -> list[NewMessage]:
        if reminder.kind == "confirm":
            recipients = await self._repo.contacts(request.enterprise_id)
            key, kind = "reminders.confirm", "confirm"
        else:
            chat = await self._official_chat(request.official_id)
            recipients = [] if chat is None else [chat]
            key, kind = f"reminders.{reminder.kind}", "reminder"
        ack = reminder.kind.startswith("ack")
        due = request.acknowledge_due_at if ack else request.resolve_due_at
        messages = []
        for chat_id in recipients:
            text = await self._text(
                chat_id,
                key,
                number=request.number,
                summary=request.summary,
                due=self._due_text(due),
            )
            messages.append(
                self._outbox.message(
                    chat_id, kind, text, at=now, dedupe_key=f"rem:{reminder.id}:{chat_id}"
                )
            )
        return messages

    async def _overdue_messages(
        self, request: Request, reminder: Reminder, now: datetime
    ) -> list[NewMessage]:
        """The official is told it is overdue; admins and the supervisor (督办); the enterprise."""
        which = reminder.kind.removesuffix("_overdue")
        official = (
            None if request.official_id is None else await self._officials.get(request.official_id)
        )
        name = "" if official is None else official.name
        params = {
            "number": request.number,
            "summary": request.summary,
            "official": name,
            "due": self._due_text(reminder.due_at),
        }
        targets: list[tuple[int, str, str]] = []
        if official is not None and official.telegram_id is not None:
            targets.append((official.telegram_id, "overdue", f"reminders.{which}_overdue"))
        supervisors = []
        if official is not None and official.supervisor_id is not None:
            supervisors.append(await self._official_chat(official.supervisor_id))
        # 督办: the office of the holder (the province's for a provincial leader; the
        # province's too when the holder's city has no admin), or of the enterprise's city
        # when nobody holds it.
        if official is not None:
            admins = await self._offices.escalation_admins(official)
        else:
            enterprise = await self._desk.enterprises.get(request.enterprise_id)
            admins = await self._offices.concerned(enterprise.city if enterprise else None)
        for chat_id in dict.fromkeys([*admins, *supervisors]):
            if chat_id is not None:
                targets.append((chat_id, "escalation", f"reminders.{which}_escalation"))
        for chat_id in await self._repo.contacts(request.enterprise_id):
            targets.append((chat_id, "escalated", "reminders.escalated"))
        messages = []
        for chat_id, kind, key in targets:
            text = await self._text(chat_id, key, **params)
            messages.append(
                self._outbox.message(
                    chat_id,
                    kind,
                    text,
                    at=now,
                    urgent=request.urgent,
                    dedupe_key=f"rem:{reminder.id}:{chat_id}",
                )
            )
        return messages
