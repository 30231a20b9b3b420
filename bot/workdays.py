"""China's working-day calendar: statutory holidays off, weekend make-up days (调休) on.

The ``chinesecalendar`` package knows the official calendar for the years it ships; for any
other year the calendar falls back to plain weekends, logs a warning once per year, and lets
admins list extra holidays and make-up working days in the config (which also override the
package for the years it does cover).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

DAY = timedelta(days=1)
SATURDAY = 5


class WorkCalendar:
    """Which days are working days, and working-day arithmetic in the bot's time zone."""

    def __init__(
        self,
        tz: ZoneInfo,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self.tz = tz
        self._holidays = frozenset(extra_holidays)
        self._workdays = frozenset(extra_workdays)
        self._warned: set[int] = set()

    def is_workday(self, day: date) -> bool:
        if day in self._holidays:
            return False
        if day in self._workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning(
                    "no official calendar for %s: weekends only, plus deadlines.extra_holidays"
                    " and extra_workdays",
                    day.year,
                )
            return day.weekday() < SATURDAY

    def next_workday(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += DAY
        return day

    def previous_workday(self, day: date) -> date:
        """``day`` itself if it is a working day, else the last working day before it."""
        while not self.is_workday(day):
            day -= DAY
        return day

    def add_workdays(self, day: date, count: int) -> date:
        """The working day ``count`` working days after ``day`` (``count`` ≥ 0)."""
        while count > 0:
            day += DAY
            if self.is_workday(day):
                count -= 1
        return day

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def at(self, day: date, clock_time: time) -> datetime:
        """``clock_time`` on ``day`` in the bot's time zone."""
        return datetime.combine(day, clock_time, tzinfo=self.tz)

    def working_seconds_before(self, moment: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time (whole working days count) before ``moment``."""
        end = self.local(moment)
        day = end.date()
        remaining = seconds
        while True:
            start = self.at(day, time(0))
            if self.is_workday(day):
                available = (end - start).total_seconds()
                if available >= remaining:
                    return end - timedelta(seconds=remaining)
                remaining -= available
            day -= DAY
            end = start
