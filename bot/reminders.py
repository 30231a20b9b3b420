"""Reminders before each deadline, escalation when one is missed, close-out of silent requests.

Reminders are rows in the database, planned from a request's current state by
:class:`ReminderPlanner`, inside the transaction of every change of a request (the desk calls it),
and fired by :func:`tick`, which the scheduler calls every few seconds. At fire time each
reminder is checked against the request again: one that no longer applies is cancelled,
never sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.clock import Clock
from bot.config import Settings
from bot.digests import FOLDABLE, active_deadline, send_digests
from bot.holiday_schedule import remind_admins, sync_calendar
from bot.i18n import translate
from bot.lifecycle import Action, Party, TransitionRefused
from bot.outbox import QuietHours
from bot.workdays import ONE_DAY as DAY
from bot.workdays import WorkCalendar
from storage.db import Transaction
from storage.outbox import NewMessage
from storage.reminders import Planned, Reminder, replace_pending
from storage.requests import Request, request_in

if TYPE_CHECKING:
    from bot.services import Services

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


async def replan(services: Services, request_id: int) -> None:
    """Make the request's pending reminders match its current state (idempotent), for code
    that changed a request outside :class:`bot.requests.RequestDesk`."""
    async with services.db.transaction() as tx:
        await services.planner.replan(tx, request_id)


async def replan_in(services: Services, tx: Transaction, request_id: int) -> None:
    """:func:`replan` inside the caller's transaction, as it sees the request."""
    await services.planner.replan(tx, request_id)


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

    async def replan(self, tx: Transaction, request_id: int) -> None:
        """Make the request's pending reminders match its state as ``tx`` sees it."""
        request = await request_in(tx, request_id)
        wanted = [] if request is None else plan(self, request)
        now = self.clock.now()
        keep = [p for p in wanted if p.kind in ALWAYS_DUE or p.due_at > now]
        await replace_pending(tx, request_id, keep)


async def tick(services: Services, now: datetime | None = None) -> None:
    """Wake up: pick up a holiday schedule loaded elsewhere, remind the admins of a missing
    one, send the digests, fire due reminders, deliver due messages (catching up once)."""
    now = now or services.clock.now()
    async with services.alarm.lock:
        await _recover(services, now)
        # A holiday schedule loaded by another process (python -m bot holidays load).
        await sync_calendar(services)
        await remind_admins(services, now)
        await send_digests(services, now)
        while await fire_due(services, now) == services.settings.reminders.batch_size:
            pass
        await _keep_marks(services, now)
        if services.sender is not None:
            await services.outbox.deliver_due(services.sender, now)


async def _keep_marks(services: Services, now: datetime) -> None:
    """Officials' verification marks in step with the roster (bot/marks.py); a failure there
    must not stop reminders and notices."""
    if services.mark_port is None:
        return
    try:
        await services.marks.reconcile(services.mark_port, now)
    except Exception:
        log.exception("keeping verification marks failed; the next wake-up retries")


async def recover(services: Services) -> None:
    """At start, before anything is sent: messages caught mid-send by a crash are settled."""
    async with services.alarm.lock:
        await _recover(services, services.clock.now())


async def _recover(services: Services, now: datetime) -> None:
    if not services.alarm.recovered:
        await services.outbox.recover(now)
        services.alarm.recovered = True


async def deliver_now(services: Services) -> None:
    """Send what is due without waiting for the next wake-up (a change just queued notices);
    before the first wake-up has recovered the outbox, leave it to that one."""
    if services.sender is None:
        return
    async with services.alarm.lock:
        if not services.alarm.recovered:
            return
        try:
            await services.outbox.deliver_due(services.sender, services.clock.now())
        except Exception:
            log.exception("delivering queued notices failed; the next wake-up retries")


async def fire_due(services: Services, now: datetime) -> int:
    due = await services.reminders.due(now, services.settings.reminders.batch_size)
    for reminder in due:
        await fire(services, reminder, now)
    return len(due)


async def fire(services: Services, reminder: Reminder, now: datetime) -> None:
    """Re-check the request, then queue the reminder's messages (or cancel it)."""
    repo = services.reminders
    request = await repo.request(reminder.request_id)
    if request is not None and reminder.kind == "auto_close":
        await _auto_close(services, request, reminder, now)
        return
    applies = request is not None and any(
        p.kind == reminder.kind and p.due_at == reminder.due_at for p in plan(services, request)
    )
    if request is None or not applies:
        await _finish(services, reminder, [], now, status="cancelled", error="no longer applies")
        return
    deadline = active_deadline(request)
    if reminder.kind in FOLDABLE and deadline is not None and deadline <= now:
        # Caught up after a long stop: the overdue notice says it better.
        await _finish(services, reminder, [], now, status="cancelled", error="deadline passed")
        return
    if reminder.kind.endswith("_overdue"):
        messages = await _overdue_messages(services, request, reminder, now)
        await _finish(services, reminder, messages, now, escalate=True)
        return
    messages = await _reminder_messages(services, request, reminder, now)
    error = None if messages else "no recipient"
    status = "done" if messages else "failed"
    await _finish(services, reminder, messages, now, status=status, error=error)


async def _finish(
    services: Services,
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
    async with services.db.transaction() as tx:
        await services.reminders.fire(
            tx,
            reminder,
            messages,
            now=now,
            status=status,
            error=error,
            escalate=escalate,
            still=still,
        )


async def _auto_close(
    services: Services, request: Request, reminder: Reminder, now: datetime
) -> None:
    """Close a resolved request nobody confirmed, through the lifecycle, which tells both
    sides in the same transaction (bot/dispatch.py)."""
    current = await services.requests.get(request.id)
    if current is not None and current.status == "resolved":
        try:
            await services.desk.transition(
                current, Action.AUTO_CLOSE, parties=SYSTEM, actor_id=None, note="auto-closed"
            )
        except TransitionRefused:
            log.info("request %s moved on before its auto-close", request.id)
        request = await services.reminders.request(request.id) or request
    if request.status != "closed" or not request.auto_closed:
        await _finish(services, reminder, [], now, status="cancelled", error="no longer applies")
        return
    # Closing re-planned the request, which cancelled this very reminder: finish it anyway.
    await _finish(services, reminder, [], now, still=("pending", "cancelled"))


async def _text(services: Services, recipient: int, key: str, **params: object) -> str:
    return translate(await services.accounts.language_of(recipient), key, **params)


def _due_text(services: Services, moment: datetime | None) -> str:
    return "" if moment is None else f"{services.calendar.local(moment):%Y-%m-%d %H:%M}"


async def _official_chat(services: Services, official_id: int | None) -> int | None:
    official = None if official_id is None else await services.officials.get(official_id)
    return None if official is None else official.telegram_id


async def _reminder_messages(
    services: Services, request: Request, reminder: Reminder, now: datetime
) -> list[NewMessage]:
    if reminder.kind == "confirm":
        recipients = await services.reminders.contacts(request.enterprise_id)
        key, kind = "reminders.confirm", "confirm"
    else:
        chat = await _official_chat(services, request.official_id)
        recipients = [] if chat is None else [chat]
        key, kind = f"reminders.{reminder.kind}", "reminder"
    due = request.acknowledge_due_at if reminder.kind.startswith("ack") else request.resolve_due_at
    messages = []
    for chat_id in recipients:
        text = await _text(
            services,
            chat_id,
            key,
            number=request.number,
            summary=request.summary,
            due=_due_text(services, due),
        )
        messages.append(
            services.outbox.message(
                chat_id, kind, text, at=now, dedupe_key=f"rem:{reminder.id}:{chat_id}"
            )
        )
    return messages


async def _overdue_messages(
    services: Services, request: Request, reminder: Reminder, now: datetime
) -> list[NewMessage]:
    """The official is told it is overdue; admins and the supervisor (督办); the enterprise."""
    which = reminder.kind.removesuffix("_overdue")
    official = (
        None if request.official_id is None else await services.officials.get(request.official_id)
    )
    name = "" if official is None else official.name
    params = {
        "number": request.number,
        "summary": request.summary,
        "official": name,
        "due": _due_text(services, reminder.due_at),
    }
    targets: list[tuple[int, str, str]] = []
    if official is not None and official.telegram_id is not None:
        targets.append((official.telegram_id, "overdue", f"reminders.{which}_overdue"))
    supervisors = []
    if official is not None and official.supervisor_id is not None:
        supervisors.append(await _official_chat(services, official.supervisor_id))
    # 督办: the office of the holder (the province's for a provincial leader; the province's
    # too when the holder's city has no admin), or of the enterprise's city when nobody holds it.
    if official is not None:
        admins = await services.offices.escalation_admins(official)
    else:
        enterprise = await services.enterprises.get(request.enterprise_id)
        admins = await services.offices.concerned(enterprise.city if enterprise else None)
    for chat_id in dict.fromkeys([*admins, *supervisors]):
        if chat_id is not None:
            targets.append((chat_id, "escalation", f"reminders.{which}_escalation"))
    for chat_id in await services.reminders.contacts(request.enterprise_id):
        targets.append((chat_id, "escalated", "reminders.escalated"))
    messages = []
    for chat_id, kind, key in targets:
        text = await _text(services, chat_id, key, **params)
        messages.append(
            services.outbox.message(
                chat_id,
                kind,
                text,
                at=now,
                urgent=request.urgent,
                dedupe_key=f"rem:{reminder.id}:{chat_id}",
            )
        )
    return messages
