import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.workdays import DayStatus, Schedule, Source, WorkCalendar

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


# The turn of the year into 2027, which chinesecalendar 1.11 does not cover: its statutory
# holidays are computed by the holidays package (issue #20), as estimates.


def test_an_uncovered_year_has_its_statutory_holidays_computed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fresh = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="bot.workdays"):
        assert not fresh.is_workday(date(2027, 1, 1))  # 元旦, a Friday
        assert not fresh.is_workday(date(2027, 1, 2))
        assert fresh.is_workday(date(2027, 1, 4))
    assert fresh.status(date(2027, 1, 1)) == DayStatus(False, Source.COMPUTED)
    assert fresh.is_estimated(date(2027, 1, 4))
    assert not fresh.is_estimated(date(2026, 12, 31))  # published
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "2027" in warnings[0].getMessage()


def test_acknowledging_a_request_of_2026_12_31_is_due_2027_01_04() -> None:
    # Thursday 31 December; New Year's Day, a Friday, is off, then the weekend.
    assert calendar.add_workdays(at("2026-12-31", "16:00"), 1) == end_of("2027-01-04")


def test_fifteen_working_days_from_2026_12_21_end_on_2027_01_12() -> None:
    # 22–25, 28–31 December (8), 1 January off, 4–8 January (13), 11 and 12 January.
    assert calendar.add_workdays(at("2026-12-21"), 15) == end_of("2027-01-12")
    assert calendar.workdays_between(at("2026-12-31"), at("2027-01-04")) == 1


def test_spring_festival_2027_as_computed() -> None:
    # 除夕 Friday 5 February, 初一–初三 6–8 February (a weekend among them), and the two
    # weekdays the law gives for the weekend days: 9 and 10 February. No 调休 is known.
    holidays = calendar.computed_holidays(2027)
    assert holidays[date(2027, 2, 6)] == "春节"
    assert holidays[date(2027, 2, 5)] == "农历除夕"
    assert [calendar.is_workday(day) for day in days("2027-02-05", "2027-02-10")] == [False] * 6
    assert calendar.is_workday(date(2027, 2, 4)) and calendar.is_workday(date(2027, 2, 11))
    assert calendar.add_workdays(at("2027-02-04"), 1) == end_of("2027-02-11")
    assert all(calendar.is_estimated(day) for day in days("2027-02-04", "2027-02-11"))


def test_national_day_2027_as_computed() -> None:
    # 1–3 October (Friday to Sunday), with 4 and 5 October for the weekend days.
    assert calendar.computed_holidays(2027)[date(2027, 10, 1)] == "国庆节"
    assert [calendar.is_workday(day) for day in days("2027-10-01", "2027-10-05")] == [False] * 5
    assert calendar.is_workday(date(2027, 10, 6))
    assert calendar.add_workdays(at("2027-09-30"), 1) == end_of("2027-10-06")


def test_the_other_statutory_holidays_of_2027_are_computed() -> None:
    expected = {
        "清明节": date(2027, 4, 5),
        "劳动节": date(2027, 5, 1),
        "端午节": date(2027, 6, 9),
        "中秋节": date(2027, 9, 15),
    }
    holidays = calendar.computed_holidays(2027)
    for name, day in expected.items():
        assert holidays[day] == name
        assert not calendar.is_workday(day)


def test_each_estimated_year_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    fresh = WorkCalendar()
    with caplog.at_level(logging.WARNING, logger="bot.workdays"):
        for day in [date(2027, 3, 1), date(2028, 3, 1), date(2027, 4, 1), date(1999, 1, 1)]:
            fresh.is_workday(day)
    assert len(caplog.records) == 3


def test_years_the_holidays_package_does_not_cover_are_monday_to_friday() -> None:
    for day in (date(1949, 10, 1), date(2101, 1, 1)):  # a Saturday, a Saturday
        assert calendar.status(day) == DayStatus(False, Source.WEEKDAYS)
    assert calendar.status(date(2101, 1, 3)) == DayStatus(True, Source.WEEKDAYS)  # a Monday
    assert calendar.computed_holidays(2101) == {}


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


# A schedule an admin loaded (issue #20): it wins over the computed and published layers.

SPRING_2027 = Schedule(
    2027,
    off=frozenset(days("2027-02-05", "2027-02-13")),
    work=frozenset({date(2027, 1, 31), date(2027, 2, 20)}),  # a Sunday and a Saturday (调休)
)


def test_a_loaded_schedule_with_working_weekends() -> None:
    loaded = WorkCalendar(schedules=[SPRING_2027])
    assert loaded.is_workday(date(2027, 1, 31)) and loaded.is_workday(date(2027, 2, 20))
    assert not loaded.is_workday(date(2027, 2, 11))  # a weekday off in the 调休
    assert not loaded.is_workday(date(2027, 2, 14))  # a Sunday
    assert loaded.status(date(2027, 2, 20)) == DayStatus(True, Source.LOADED)
    assert not loaded.is_estimated(date(2027, 3, 3))
    # Friday 29 January: the next working day is Sunday 31 January.
    assert loaded.add_workdays(at("2027-01-29"), 1) == end_of("2027-01-31")
    assert loaded.add_workdays(at("2027-02-04"), 1) == end_of("2027-02-15")
    # 15 working days from Monday 25 January: the Sunday and the Saturday count.
    assert loaded.add_workdays(at("2027-01-25"), 15) == end_of("2027-02-20")
    assert calendar.add_workdays(at("2027-01-25"), 15) == end_of("2027-02-19")


def test_loading_changes_the_shared_calendar_in_place() -> None:
    shared = WorkCalendar()
    assert not shared.is_workday(date(2027, 1, 31))  # asked, and the answer kept
    assert shared.is_estimated(date(2027, 1, 31))
    twin = shared.copy()
    shared.load([SPRING_2027], revision=3)
    assert shared.is_workday(date(2027, 1, 31)) and not shared.is_estimated(date(2027, 1, 31))
    assert shared.revision == 3 and shared.is_published(2027)
    assert not twin.is_workday(date(2027, 1, 31))  # a copy keeps what it had
    shared.load([])
    assert not shared.is_workday(date(2027, 1, 31))


def test_a_loaded_estimate_is_still_an_estimate() -> None:
    estimate = Schedule(2027, off=SPRING_2027.off, work=SPRING_2027.work, official=False)
    loaded = WorkCalendar(schedules=[estimate])
    assert loaded.is_workday(date(2027, 1, 31))
    assert loaded.status(date(2027, 1, 31)) == DayStatus(True, Source.LOADED_ESTIMATE)
    assert loaded.is_estimated(date(2027, 3, 3)) and not loaded.is_published(2027)


def test_a_loaded_schedule_wins_over_the_published_one() -> None:
    # Suppose the 2026 notice were corrected: 2026-02-24 off too.
    corrected = Schedule(2026, off=frozenset(days("2026-02-15", "2026-02-24")))
    loaded = WorkCalendar(schedules=[corrected])
    assert not loaded.is_workday(date(2026, 2, 24))
    assert not loaded.is_workday(date(2026, 2, 14))  # the published 调休 Saturday is not in it
    assert calendar.is_workday(date(2026, 2, 14))


def test_the_config_wins_over_a_loaded_schedule() -> None:
    overridden = WorkCalendar(extra_workdays=[date(2027, 2, 8)], schedules=[SPRING_2027])
    assert overridden.status(date(2027, 2, 8)) == DayStatus(True, Source.CONFIG)


def test_estimated_between_counts_the_days_after_the_start() -> None:
    assert not calendar.estimated_between(date(2026, 12, 1), date(2026, 12, 31))
    assert calendar.estimated_between(date(2026, 12, 21), date(2027, 1, 12))
    assert calendar.estimated_years(date(2026, 12, 21), date(2028, 1, 12)) == [2027, 2028]
    assert not WorkCalendar(schedules=[SPRING_2027]).estimated_between(
        date(2026, 12, 21), date(2027, 1, 12)
    )
