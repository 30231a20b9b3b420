"""China's working-day calendar: holidays, make-up days, and years the package does not cover."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_spring_festival_2026_and_its_make_up_saturdays() -> None:
    calendar = WorkCalendar(SHANGHAI)
    assert calendar.is_workday(date(2026, 2, 14))  # Saturday, 调休
    assert not calendar.is_workday(date(2026, 2, 16))  # 除夕 week
    assert not calendar.is_workday(date(2026, 2, 23))
    assert calendar.add_workdays(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert calendar.add_workdays(date(2026, 2, 14), 1) == date(2026, 2, 24)


def test_national_day_2025() -> None:
    calendar = WorkCalendar(SHANGHAI)
    assert calendar.is_workday(date(2025, 9, 28))  # Sunday, 调休
    assert [calendar.is_workday(date(2025, 10, d)) for d in range(1, 9)] == [False] * 8
    assert calendar.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)  # 调休 Saturday


def test_uncovered_year_falls_back_to_weekends_and_config(caplog: pytest.LogCaptureFixture) -> None:
    calendar = WorkCalendar(
        SHANGHAI, extra_holidays=[date(2027, 1, 1)], extra_workdays=[date(2027, 2, 6)]
    )
    with caplog.at_level(logging.WARNING, logger="bot.workdays"):
        assert not calendar.is_workday(date(2027, 1, 1))
        assert not calendar.is_workday(date(2027, 1, 2))  # Saturday
        assert calendar.is_workday(date(2027, 1, 4))
        assert calendar.is_workday(date(2027, 1, 5))
        assert calendar.is_workday(date(2027, 2, 6))  # a Saturday the admins declared
    assert len([r for r in caplog.records if "2027" in r.getMessage()]) == 1
    assert calendar.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)


def test_working_time_skips_days_off() -> None:
    calendar = WorkCalendar(SHANGHAI)
    due = datetime(2026, 2, 24, 10, 0, tzinfo=SHANGHAI)  # first day after Spring Festival
    # 12 working hours back: 10 h of 24 Feb, then 2 h of Saturday 14 Feb (调休).
    assert calendar.working_seconds_before(due, 12 * 3600) == datetime(
        2026, 2, 14, 22, 0, tzinfo=SHANGHAI
    )
