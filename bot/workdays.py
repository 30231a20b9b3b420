"""China's official working-day calendar, for deadlines counted in working days.

Each day's status comes from the first of these layers that knows its year (docs/reminders.md,
"Where each day comes from"):

1. the admins' overrides in the config (``extra_holidays``, ``extra_workdays``), day by day;
2. a schedule an admin loaded (the State Council's notice for one year, stored in the
   database: :class:`Schedule`), which may say it is itself an estimate;
3. the published schedules the ``chinesecalendar`` package ships (its years only);
4. the statutory holidays the ``holidays`` package computes for any year from 1950 to 2100
   (元旦, 春节 from 除夕, 清明, 劳动节, 端午, 中秋, 国庆, with the lunar and solar-term dates, and
   the 补假 the law gives when one falls on a weekend), but not the 调休 (working weekends
   swapped for bridging days), which only the State Council's notice tells: an estimate;
5. Monday to Friday, outside those years: an estimate too.

A day whose status comes from layer 2 with an estimated schedule, or from layers 4 or 5, is
*estimated*; deadlines that count such days are marked so on the cards.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import chinese_calendar

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = ZoneInfo("Asia/Shanghai")
# Whole seconds, so that a deadline survives storage as Unix seconds unchanged.
END_OF_DAY = time(23, 59, 59)
ONE_DAY = timedelta(days=1)
SATURDAY = 5  # date.weekday() counts Monday as 0
# The years the `holidays` package computes China's statutory holidays for.
FIRST_COMPUTED_YEAR, LAST_COMPUTED_YEAR = 1950, 2100


class Source(StrEnum):
    """Where a day's status comes from, most trusted first."""

    CONFIG = "config"  # [deadlines] extra_holidays / extra_workdays
    LOADED = "loaded"  # the official schedule an admin loaded
    LOADED_ESTIMATE = "loaded_estimate"  # a schedule an admin loaded, marked as an estimate
    PUBLISHED = "published"  # the chinesecalendar package
    COMPUTED = "computed"  # statutory holidays computed by the holidays package
    WEEKDAYS = "weekdays"  # Monday to Friday

    @property
    def estimated(self) -> bool:
        return self in ESTIMATED


ESTIMATED = frozenset({Source.LOADED_ESTIMATE, Source.COMPUTED, Source.WEEKDAYS})


@dataclass(frozen=True, slots=True)
class DayStatus:
    workday: bool
    source: Source

    @property
    def estimated(self) -> bool:
        return self.source.estimated


@dataclass(frozen=True, slots=True)
class Schedule:
    """One year's holidays and adjusted working days (调休), as the State Council publishes
    them each autumn: every day of ``off`` is a day off, every day of ``work`` a working day,
    any other day of the year is a working day from Monday to Friday."""

    year: int
    off: frozenset[date]
    work: frozenset[date] = frozenset()
    official: bool = True  # False: the file says it is an estimate, not the published notice
    source: str = ""

    def is_workday(self, day: date) -> bool:
        if day in self.off:
            return False
        return day in self.work or day.weekday() < SATURDAY


class WorkCalendar:
    """Working days in one timezone: the layers above, one day at a time.

    Deadlines have day granularity: something that starts at any moment of a day is due at
    the end (23:59:59 local time) of the n-th working day after that day. A request filed on
    Friday evening with one working day is therefore due at the end of Monday, and one filed
    on a holiday is counted from the first working day after it. A moment after the deadline
    is overdue.

    One calendar is shared by the whole bot; :meth:`load` replaces the loaded schedules in
    place, so that a schedule an admin loads takes effect at once, everywhere.
    """

    def __init__(
        self,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        tz: ZoneInfo = DEFAULT_TIMEZONE,
        schedules: Iterable[Schedule] = (),
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        clash = sorted(self._extra_holidays & self._extra_workdays)
        if clash:
            days = ", ".join(day.isoformat() for day in clash)
            raise ValueError(f"extra_holidays and extra_workdays both list {days}")
        self.tz = tz
        self._warned_years: set[int] = set()
        # chinese_calendar scans its whole holiday table on every question, and a deadline
        # asks about a dozen days, for every request: each day's answer is kept. The days
        # asked about are few (a few years' worth at most).
        self._days: dict[date, DayStatus] = {}
        self._years: dict[int, Source] = {}
        self._computed: dict[int, Mapping[date, str]] = {}
        self._schedules: dict[int, Schedule] = {}
        # Which stored schedules this calendar holds (bot/holiday_schedule.py keeps it).
        self.revision = 0
        self.load(schedules)

    # -- the loaded layer ---------------------------------------------------------------------

    def load(self, schedules: Iterable[Schedule], *, revision: int | None = None) -> None:
        """Hold exactly these loaded schedules from now on (one per year), forgetting every
        answer given so far."""
        by_year = {schedule.year: schedule for schedule in schedules}
        self._schedules = by_year
        self._days.clear()
        self._years.clear()
        if revision is not None:
            self.revision = revision

    @property
    def schedules(self) -> dict[int, Schedule]:
        """The loaded schedules, by year."""
        return dict(self._schedules)

    def copy(self) -> WorkCalendar:
        """A calendar with the same layers as this one now, that later loads do not touch."""
        twin = WorkCalendar(
            extra_holidays=self._extra_holidays,
            extra_workdays=self._extra_workdays,
            tz=self.tz,
            schedules=self._schedules.values(),
        )
        twin.revision = self.revision
        twin._warned_years = self._warned_years  # one warning per year for both
        return twin

    # -- questions about days -----------------------------------------------------------------

    def status(self, day: date) -> DayStatus:
        """Whether ``day`` is a working day and where that comes from; never raises."""
        if day in self._extra_workdays:
            return DayStatus(True, Source.CONFIG)
        if day in self._extra_holidays:
            return DayStatus(False, Source.CONFIG)
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._look_up(day)
        return known

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day; never raises, whatever the year."""
        return self.status(day).workday

    def is_estimated(self, day: date) -> bool:
        """Whether ``day``'s status is an estimate: neither published nor loaded as official."""
        return self.status(day).estimated

    def estimated_between(self, first: date, last: date) -> bool:
        """Whether a day after ``first``, up to ``last`` included, is estimated: a deadline
        counted from ``first`` to ``last`` is then an estimate too."""
        return bool(self.estimated_years(first, last))

    def estimated_years(self, first: date, last: date) -> list[int]:
        """The years with an estimated day after ``first``, up to ``last`` included."""
        years = []
        for year in range(first.year, last.year + 1):
            if self.year_source(year).estimated:
                start = max(first + ONE_DAY, date(year, 1, 1))
                end = min(last, date(year, 12, 31))
                if any(self.is_estimated(day) for day in _days_from(start, end)):
                    years.append(year)
        return years

    def year_source(self, year: int) -> Source:
        """Where the days of ``year`` come from (the config's single days aside)."""
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = self._year_source(year)
        return known

    def is_published(self, year: int) -> bool:
        """Whether ``year``'s official schedule is known: loaded as official, or shipped by
        the chinesecalendar package."""
        return self.year_source(year) in (Source.LOADED, Source.PUBLISHED)

    def computed_holidays(self, year: int) -> Mapping[date, str]:
        """The statutory holidays of ``year`` as the holidays package computes them, with
        their Chinese names (补假 included); empty outside the years it covers."""
        known = self._computed.get(year)
        if known is None:
            known = self._computed[year] = _compute(year)
        return known

    # -- deadlines ----------------------------------------------------------------------------

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
        return sum(1 for day in _days_from(first + ONE_DAY, last) if self.is_workday(day))

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

    # -- the layers ---------------------------------------------------------------------------

    def _look_up(self, day: date) -> DayStatus:
        source = self.year_source(day.year)
        if source in (Source.LOADED, Source.LOADED_ESTIMATE):
            return DayStatus(self._schedules[day.year].is_workday(day), source)
        if source is Source.PUBLISHED:
            return DayStatus(bool(chinese_calendar.is_workday(day)), source)
        self._warn_estimated(day.year, source)
        if source is Source.COMPUTED:
            off = day in self.computed_holidays(day.year)
            return DayStatus(not off and day.weekday() < SATURDAY, source)
        return DayStatus(day.weekday() < SATURDAY, source)

    def _year_source(self, year: int) -> Source:
        schedule = self._schedules.get(year)
        if schedule is not None:
            return Source.LOADED if schedule.official else Source.LOADED_ESTIMATE
        if _published(year):
            return Source.PUBLISHED
        if FIRST_COMPUTED_YEAR <= year <= LAST_COMPUTED_YEAR:
            return Source.COMPUTED
        return Source.WEEKDAYS

    def _warn_estimated(self, year: int, source: Source) -> None:
        if year in self._warned_years:
            return
        self._warned_years.add(year)
        if source is Source.COMPUTED:
            logger.warning(
                "No published holiday schedule for %d: using its statutory holidays as computed"
                " (an estimate without the 调休); load the State Council's schedule with"
                " `python -m bot holidays load FILE` or by sending the file to the bot",
                year,
            )
        else:
            logger.warning(
                "No holiday data for %d: counting Monday to Friday as working days, "
                "plus the extra_holidays and extra_workdays of the config",
                year,
            )


def _published(year: int) -> bool:
    """Whether the chinesecalendar package ships ``year``'s schedule."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _compute(year: int) -> Mapping[date, str]:
    if not FIRST_COMPUTED_YEAR <= year <= LAST_COMPUTED_YEAR:
        return {}
    # Imported when first needed: most runs never count a day past the published years.
    from holidays.countries.china import China

    computed = China(years=year, language="zh_CN")  # type: ignore[no-untyped-call]
    return dict(computed.items())


def _days_from(first: date, last: date) -> Iterator[date]:
    """The days from `first` up to and including `last`."""
    day = first
    while day <= last:
        yield day
        day += ONE_DAY
