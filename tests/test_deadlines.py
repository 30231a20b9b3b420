"""Due dates from the config, and the clock that stops while a request waits."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.deadlines import (
    calendar_for,
    due_dates,
    estimated_years,
    extend,
    is_estimated,
    paused_workdays,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI)


def test_category_days_and_urgent_override() -> None:
    settings = Settings.model_validate(
        {"deadlines": {"categories": {"approval": {"acknowledge_days": 2, "resolve_days": 5}}}}
    )
    calendar = calendar_for(settings)
    # Monday 2 March 2026.
    normal = due_dates(settings.deadlines, calendar, category="approval", urgent=False, start=at(2))
    assert normal.acknowledge == datetime(2026, 3, 4, 23, 59, 59, tzinfo=SHANGHAI)
    assert normal.resolve == datetime(2026, 3, 9, 23, 59, 59, tzinfo=SHANGHAI)
    urgent = due_dates(settings.deadlines, calendar, category="approval", urgent=True, start=at(2))
    assert urgent.acknowledge == datetime(2026, 3, 3, 23, 59, 59, tzinfo=SHANGHAI)
    assert urgent.resolve == datetime(2026, 3, 11, 23, 59, 59, tzinfo=SHANGHAI)


def test_a_wait_gives_back_its_working_days() -> None:
    calendar = calendar_for(Settings())
    # Waiting from Thursday 5 March to Tuesday 10 March: Fri, Mon, Tue = 3 working days.
    paused = paused_workdays(calendar, at(5), at(10))
    assert paused == 3
    due = datetime(2026, 3, 12, 23, 59, 59, tzinfo=SHANGHAI)
    assert extend(calendar, due, paused) == datetime(2026, 3, 17, 23, 59, 59, tzinfo=SHANGHAI)
    assert extend(calendar, due, 0) == due
    assert paused_workdays(calendar, at(5, 9), at(5, 18)) == 0


def test_holidays_are_skipped() -> None:
    calendar = calendar_for(Settings())
    # Submitted the day before the 2026 Qingming break (4–6 April): due after it.
    due = due_dates(
        Settings().deadlines, calendar, category="policy", urgent=False, start=at(3, month=4)
    )
    assert due.acknowledge.date() == datetime(2026, 4, 7).date()


# Issue #20: deadlines that run into 2027, which the published calendar does not cover yet.


def test_a_request_of_2026_12_31_is_acknowledged_by_2027_01_04() -> None:
    settings = Settings()
    calendar = calendar_for(settings)
    start = datetime(2026, 12, 31, 16, tzinfo=SHANGHAI)
    due = due_dates(settings.deadlines, calendar, category="policy", urgent=False, start=start)
    assert due.acknowledge == datetime(2027, 1, 4, 23, 59, 59, tzinfo=SHANGHAI)  # not 01-01
    assert due.resolve == datetime(2027, 1, 22, 23, 59, 59, tzinfo=SHANGHAI)
    assert is_estimated(calendar, start, due.acknowledge)
    assert estimated_years(calendar, start, due.acknowledge, due.resolve) == [2027]


def test_fifteen_working_days_from_2026_12_21_count_new_years_day_as_off() -> None:
    settings = Settings()
    calendar = calendar_for(settings)
    start = datetime(2026, 12, 21, 10, tzinfo=SHANGHAI)
    due = due_dates(settings.deadlines, calendar, category="policy", urgent=False, start=start)
    assert due.resolve == datetime(2027, 1, 12, 23, 59, 59, tzinfo=SHANGHAI)  # not 01-11
    assert due.acknowledge == datetime(2026, 12, 22, 23, 59, 59, tzinfo=SHANGHAI)
    assert not is_estimated(calendar, start, due.acknowledge)
    assert is_estimated(calendar, start, due.resolve)
