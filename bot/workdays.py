"""China's official working-day calendar, for deadlines counted in working days.

Statutory holidays and the weekend make-up working days (调休) come from the `chinesecalendar`
package for the years it ships; for other years the calendar falls back to Monday to Friday,
and the admins' overrides from the config win over both.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")
# Whole seconds, so that a deadline survives storage as Unix seconds unchanged.
END_OF_DAY = time(23, 59, 59)
ONE_DAY = timedelta(days=1)
SATURDAY = 5  # date.weekday() counts Monday as 0


class WorkCalendar:
    """Working days in one timezone, with the admins' extra holidays and working days on top.

    Deadlines have day granularity: something that starts at any moment of a day is due at
    the end (23:59:59 local time) of the n-th working day after that day. A request filed on
    Friday evening with one working day is therefore due at the end of Monday, and one filed
    on a holiday is counted from the first working day after it. A moment after the deadline
    is overdue.
    """

    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        tz: ZoneInfo = DEFAULT_TIMEZONE,
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        clash = sorted(self._extra_holidays & self._extra_workdays)
        if clash:
            days = ", ".join(day.isoformat() for day in clash)
            raise ValueError(f"extra_holidays and extra_workdays both list {days}")
        self.tz = tz
        self._warned_years: set[int] = set()
        # chinese_calendar scans its whole holiday table on every question; a deadline asks
        # about a dozen days, for every request. The days asked about are few (a few years'
        # worth at most), so the answers are kept.
        self._official: dict[date, bool] = {}

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day; never raises, whatever the year."""
        if day in self._extra_workdays:
            return True
        if day in self._extra_holidays:
            return False
        return self._official_is_workday(day)

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += ONE_DAY
        while not self.is_workday(day):
            day += ONE_DAY
        return day

    def add_workdays(self, start: datetime, n: int) -> datetime:
        """The deadline `n` (at least 1) working days after the aware moment `start`.

        It is the end of the n-th working day after the local day of `start`, in this
        calendar's timezone, so that `workdays_between(start, deadline) == n`.
        """
        if n < 1:
            raise ValueError(f"a deadline needs at least 1 working day, got {n}")
        day = self.local_day(start)
        for _ in range(n):
            day = self.next_workday(day)
        return datetime.combine(day, END_OF_DAY, tzinfo=self.tz)

    def workdays_between(self, start: datetime, end: datetime) -> int:
        """The working days after the local day of `start`, up to that of `end` included.

        This counts whole days, like the deadlines: a pause from Monday to Wednesday gives the
        official back 2 working days, a pause within one day gives none. The count is additive
        over consecutive spans, and negative when `end` is before `start`.
        """
        first, last = self.local_day(start), self.local_day(end)
        if last < first:
            return -self.workdays_between(end, start)
        return sum(1 for day in _days_after(first, last) if self.is_workday(day))

    def local_day(self, moment: datetime) -> date:
        """The calendar day of an aware `moment` in this calendar's timezone."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"an aware datetime is needed, got naive {moment.isoformat()}")
        return moment.astimezone(self.tz).date()

    def local(self, moment: datetime) -> datetime:
        """An aware ``moment`` in this calendar's timezone."""
        return moment.astimezone(self.tz)

    def at(self, day: date, clock_time: time) -> datetime:
        """``clock_time`` on ``day`` in this calendar's timezone."""
        return datetime.combine(day, clock_time, tzinfo=self.tz)

    def previous_workday(self, day: date) -> date:
        """``day`` itself if it is a working day, else the last working day before it."""
        while not self.is_workday(day):
            day -= ONE_DAY
        return day

    def working_seconds_before(self, moment: datetime, seconds: float) -> datetime:
        """The moment ``seconds`` of working time (working days count whole) before ``moment``."""
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
            day -= ONE_DAY
            end = start

    def _official_is_workday(self, day: date) -> bool:
        known = self._official.get(day)
        if known is None:
            known = self._official[day] = self._look_up(day)
        return known

    def _look_up(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._warn_uncovered(day.year)
            return day.weekday() < SATURDAY

    def _warn_uncovered(self, year: int) -> None:
        if year in self._warned_years:
            return
        self._warned_years.add(year)
        logger.warning(
            "No official holiday data for %d: counting Monday to Friday as working days, "
            "plus the extra_holidays and extra_workdays of the config",
            year,
        )


def _days_after(first: date, last: date) -> Iterator[date]:
    """The days after `first`, up to and including `last`."""
    day = first + ONE_DAY
    while day <= last:
        yield day
        day += ONE_DAY
