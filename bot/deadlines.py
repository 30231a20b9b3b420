"""When a request must be acknowledged and resolved, counted in China's working days.

The days come from ``settings.deadlines``: per category, with a shorter pair for urgent
requests. While a request waits for the enterprise the clock stops: when it runs again,
both due dates move by the working days the wait lasted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from bot.config import DeadlineSettings, Settings
from bot.workdays import WorkCalendar

if TYPE_CHECKING:
    from storage.requests import Request

DeadlineKind = Literal["acknowledge", "resolve"]


@dataclass(frozen=True, slots=True)
class DueDates:
    acknowledge: datetime
    resolve: datetime


def calendar_for(settings: Settings) -> WorkCalendar:
    """The working-day calendar of the config: its time zone and the admins' extra days."""
    deadlines = settings.deadlines
    return WorkCalendar(
        extra_holidays=deadlines.extra_holidays,
        extra_workdays=deadlines.extra_workdays,
        tz=settings.locale.tz,
    )


def due_dates(
    settings: DeadlineSettings,
    calendar: WorkCalendar,
    *,
    category: str,
    urgent: bool,
    start: datetime,
) -> DueDates:
    """The due dates of a request submitted (or assigned) at ``start``."""
    if urgent:
        days = (settings.urgent_acknowledge_days, settings.urgent_resolve_days)
    else:
        rule = settings.categories[category]
        days = (rule.acknowledge_days, rule.resolve_days)
    return DueDates(
        acknowledge=calendar.add_workdays(start, days[0]),
        resolve=calendar.add_workdays(start, days[1]),
    )


def paused_workdays(calendar: WorkCalendar, since: datetime, until: datetime) -> int:
    """Working days a wait from ``since`` to ``until`` gives back to the official."""
    return max(0, calendar.workdays_between(since, until))


def extend(calendar: WorkCalendar, due: datetime, workdays: int) -> datetime:
    """``due`` moved ``workdays`` working days later (unchanged for 0)."""
    if workdays <= 0:
        return due
    return calendar.add_workdays(due, workdays)


def estimated_years(calendar: WorkCalendar, start: datetime, *dues: datetime | None) -> list[int]:
    """The years whose days, counted from ``start`` to the ``dues``, are estimates (not a
    published or loaded schedule): a deadline counting them is shown as 预计 / estimated."""
    last = max((due for due in dues if due is not None), default=None)
    if last is None:
        return []
    return calendar.estimated_years(calendar.local_day(start), calendar.local_day(last))


def is_estimated(calendar: WorkCalendar, start: datetime, due: datetime | None) -> bool:
    """Whether the deadline ``due``, counted from ``start``, counts an estimated day."""
    return bool(estimated_years(calendar, start, due))


def next_deadline(request: Request) -> tuple[DeadlineKind, datetime | None]:
    """The deadline an official's inbox orders a request by (storage's ``_DUE_FIRST``): the
    acknowledgement's while it is not acknowledged and comes first, else the resolution's."""
    acknowledge, resolve = request.acknowledge_due_at, request.resolve_due_at
    if (
        request.acknowledged_at is None
        and acknowledge is not None
        and (resolve is None or acknowledge <= resolve)
    ):
        return "acknowledge", acknowledge
    return "resolve", resolve
