import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
SATURDAY = 5


def at(day: str, clock: str = "10:00", tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=tz)


def end_of(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), END_OF_DAY, tzinfo=SHANGHAI)


def days(first: str, last: str) -> list[date]:
    start, stop = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((stop - start).days + 1)]


calendar = WorkCalendar()


# Spring Festival 2026: off 02-15..02-23, make-up working Saturdays 02-14 and 02-28.


def test_spring_festival_2026_is_a_holiday() -> None:
    assert [calendar.is_workday(day) for day in days("2026-02-15", "2026-02-23")] == [False] * 9


def test_spring_festival_2026_make_up_saturdays_are_working_days() -> None:
    assert calendar.is_workday(date(2026, 2, 14))
    assert calendar.is_workday(date(2026, 2, 28))


def test_deadline_over_spring_festival_2026() -> None:
    assert calendar.add_workdays(at("2026-02-13", "18:30"), 1) == end_of("2026-02-14")
    assert calendar.add_workdays(at("2026-02-14"), 1) == end_of("2026-02-24")
    assert calendar.add_workdays(at("2026-02-13"), 6) == end_of("2026-02-28")


# National Day 2025: off 10-01..10-08, make-up working Sunday 09-28 and Saturday 10-11.


def test_national_day_2025() -> None:
    assert [calendar.is_workday(day) for day in days("2025-10-01", "2025-10-08")] == [False] * 8
    assert calendar.is_workday(date(2025, 9, 28))
    assert calendar.is_workday(date(2025, 10, 11))
    assert calendar.add_workdays(at("2025-09-30"), 1) == end_of("2025-10-09")
    assert calendar.add_workdays(at("2025-09-30"), 3) == end_of("2025-10-11")


def test_friday_evening_with_one_working_day_is_due_end_of_monday() -> None:
    assert calendar.add_workdays(at("2025-11-07", "21:00"), 1) == end_of("2025-11-10")


def test_start_is_read_in_the_calendar_timezone() -> None:
    # 2026-02-13 20:00 UTC is 2026-02-14 04:00 in Shanghai, a make-up Saturday.
    start = datetime(2026, 2, 13, 20, tzinfo=UTC)
    assert calendar.add_workdays(start, 1) == end_of("2026-02-24")


def test_deadline_is_in_the_calendar_timezone() -> None:
    deadline = calendar.add_workdays(at("2025-11-07"), 1)
    assert deadline.tzinfo == SHANGHAI


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        calendar.add_workdays(datetime(2025, 11, 7, 10), 1)


def test_fewer_than_one_working_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        calendar.add_workdays(at("2025-11-07"), 0)


def test_next_workday_skips_weekend_and_holiday() -> None:
    assert calendar.next_workday(date(2025, 9, 30)) == date(2025, 10, 9)
    assert calendar.next_workday(date(2025, 11, 7)) == date(2025, 11, 10)


def test_workdays_between_counts_whole_working_days() -> None:
    assert calendar.workdays_between(at("2025-11-10", "09:00"), at("2025-11-10", "17:00")) == 0
    assert calendar.workdays_between(at("2025-11-07", "17:00"), at("2025-11-10", "09:00")) == 1
    assert calendar.workdays_between(at("2025-09-30"), at("2025-10-12")) == 3
    assert calendar.workdays_between(at("2025-10-12"), at("2025-09-30")) == -3


# The turn of the year into 2027, which chinesecalendar 1.11 does not cover.


def test_uncovered_year_falls_back_to_monday_to_friday(caplog: pytest.LogCaptureFixture) -> None:
    fresh = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="bot.workdays"):
        assert fresh.is_workday(date(2027, 1, 1))  # a Friday
        assert not fresh.is_workday(date(2027, 1, 2))
        assert fresh.add_workdays(at("2026-12-31"), 2) == end_of("2027-01-04")
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_each_uncovered_year_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    fresh = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="bot.workdays"):
        for day in [date(2027, 3, 1), date(2028, 3, 1), date(2027, 4, 1), date(1999, 1, 1)]:
            fresh.is_workday(day)
    assert len(caplog.records) == 3


def test_extreme_dates_do_not_raise() -> None:
    assert calendar.is_workday(date.min) == (date.min.weekday() < SATURDAY)
    assert calendar.is_workday(date.max) == (date.max.weekday() < SATURDAY)


def test_overrides_apply_to_an_uncovered_year() -> None:
    overridden = WorkCalendar(extra_holidays=[date(2027, 1, 1)], extra_workdays=[date(2027, 1, 2)])
    assert not overridden.is_workday(date(2027, 1, 1))
    assert overridden.is_workday(date(2027, 1, 2))
    assert overridden.add_workdays(at("2026-12-31"), 2) == end_of("2027-01-04")


def test_overrides_win_over_the_official_calendar() -> None:
    overridden = WorkCalendar(
        extra_holidays=[date(2025, 11, 10)], extra_workdays=[date(2025, 10, 1)]
    )
    assert not overridden.is_workday(date(2025, 11, 10))
    assert overridden.is_workday(date(2025, 10, 1))
    assert overridden.add_workdays(at("2025-11-07"), 1) == end_of("2025-11-11")


def test_a_day_both_holiday_and_workday_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="2025-11-10"):
        WorkCalendar(extra_holidays=[date(2025, 11, 10)], extra_workdays=[date(2025, 11, 10)])


def test_calendar_in_another_timezone() -> None:
    utc_calendar = WorkCalendar(tz=ZoneInfo("UTC"))
    start = datetime(2026, 2, 13, 20, tzinfo=UTC)  # still Friday 02-13 in UTC
    assert utc_calendar.add_workdays(start, 1) == datetime(2026, 2, 14, 23, 59, 59, tzinfo=UTC)


# Properties, across covered and uncovered years and several input timezones.

moments = st.datetimes(
    min_value=datetime(2003, 6, 1),
    max_value=datetime(2028, 6, 1),
    timezones=st.sampled_from([SHANGHAI, ZoneInfo("UTC"), ZoneInfo("America/New_York")]),
)
counts = st.integers(min_value=1, max_value=40)


@given(start=moments, n=counts)
def test_deadline_is_a_working_day_after_start(start: datetime, n: int) -> None:
    deadline = calendar.add_workdays(start, n)
    assert deadline > start
    assert calendar.is_workday(deadline.date())
    assert deadline.time() == END_OF_DAY


@given(start=moments, n=counts, more=counts)
def test_add_workdays_is_monotonic_in_n(start: datetime, n: int, more: int) -> None:
    assert calendar.add_workdays(start, n) < calendar.add_workdays(start, n + more)


@given(start=moments, n=counts)
def test_workdays_between_inverts_add_workdays(start: datetime, n: int) -> None:
    assert calendar.workdays_between(start, calendar.add_workdays(start, n)) == n


offsets = st.timedeltas(min_value=timedelta(days=-90), max_value=timedelta(days=90))


@given(a=moments, to_b=offsets, to_c=offsets)
def test_workdays_between_is_additive(a: datetime, to_b: timedelta, to_c: timedelta) -> None:
    b, c = a + to_b, a + to_c
    total = calendar.workdays_between(a, b) + calendar.workdays_between(b, c)
    assert total == calendar.workdays_between(a, c)


@given(day=st.dates())
def test_is_workday_never_raises(day: date) -> None:
    assert isinstance(calendar.is_workday(day), bool)
