"""When the last-working-day reminder goes out, and when the digest carries it instead."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.lifecycle import Action
from bot.services import Services
from scenarios.roster import ALICE_ID, OFFICIAL_ID, make_cast
from tests.reminder_support import (
    SH,
    act,
    domain_settings,
    local,
    new_request,
    open_domain,
    recorder,
)

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage


async def opened(tmp_path: Path, clock: FakeClock, **sections: Any) -> Services:
    return await open_domain(domain_settings(tmp_path, **sections), clock)


async def request_for(services: Services) -> int:
    cast = await make_cast(services)
    return await new_request(
        services,
        enterprise_id=cast.alice_enterprise.id,
        official_id=cast.official.id,
        submitted_by=ALICE_ID,
    )


async def pending(services: Services, request_id: int) -> dict[str, datetime]:
    return {
        r.kind: r.due_at.astimezone(SH)
        for r in await services.reminders.of_request(request_id)
        if r.status == "pending"
    }


async def statuses(services: Services, request_id: int) -> dict[str, tuple[str, str | None]]:
    return {
        r.kind: (r.status, r.last_error) for r in await services.reminders.of_request(request_id)
    }


async def run_at(services: Services, clock: FakeClock, moment: datetime) -> list[str]:
    clock.set(moment)
    await services.alarm.tick()
    return recorder(services).to(OFFICIAL_ID)


async def test_a_last_day_time_before_the_digest_is_folded_into_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = await opened(tmp_path, clock, reminders={"last_day_time": "07:00:00"})
    try:
        request_id = await request_for(services)
        assert (await pending(services, request_id))["ack_last"] == local(2026, 3, 3, 8, 30)
        [digest] = await run_at(services, clock, local(2026, 3, 3, 8, 30))
        assert "今日诉求提醒" in digest
        assert (await statuses(services, request_id))["ack_last"] == (
            "done",
            "folded into digest",
        )
        assert len(await run_at(services, clock, local(2026, 3, 3, 14, 0))) == 1
    finally:
        await services.close()


async def test_a_last_day_time_in_quiet_hours_falls_back_to_the_digest(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = await opened(tmp_path, clock, reminders={"last_day_time": "22:30:00"})
    try:
        request_id = await request_for(services)
        assert (await pending(services, request_id))["ack_last"] == local(2026, 3, 3, 8, 30)
    finally:
        await services.close()


async def test_down_at_digest_time_the_late_digest_carries_the_due_reminder(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    request_id = await request_for(first)
    await first.close()  # down from Monday morning until Tuesday 15:00
    clock.set(local(2026, 3, 3, 15, 0))
    second = await open_domain(settings, clock)
    try:
        [digest] = await run_at(second, clock, local(2026, 3, 3, 15, 0))
        assert "今日诉求提醒" in digest
        assert (await statuses(second, request_id))["ack_last"] == ("done", "folded into digest")
        assert len(await run_at(second, clock, local(2026, 3, 3, 16, 0))) == 1
    finally:
        await second.close()


async def test_restart_between_digest_and_last_day_reminder(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = domain_settings(tmp_path)
    first = await open_domain(settings, clock)
    await request_for(first)
    [digest] = await run_at(first, clock, local(2026, 3, 3, 8, 30))
    assert "今日诉求提醒" in digest
    await first.close()
    clock.set(local(2026, 3, 3, 14, 0, 1))
    second = await open_domain(settings, clock)
    try:
        [last] = await run_at(second, clock, local(2026, 3, 3, 14, 0, 1))
        assert "最后一个工作日" in last  # sent once, after the restart, not folded
        assert await run_at(second, clock, local(2026, 3, 3, 14, 30)) == [last]
    finally:
        await second.close()


async def test_acknowledged_a_second_before_the_last_day_reminder(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = await opened(tmp_path, clock)
    try:
        request_id = await request_for(services)
        await run_at(services, clock, local(2026, 3, 3, 8, 30))
        clock.set(local(2026, 3, 3, 13, 59, 59))
        await act(services, request_id, Action.ACKNOWLEDGE)
        assert (await statuses(services, request_id))["ack_last"][0] == "cancelled"
        sent = await run_at(services, clock, local(2026, 3, 3, 14, 0))
        assert len(sent) == 1  # only the morning digest
    finally:
        await services.close()


async def test_make_up_saturday_is_not_quiet_with_quiet_weekends(
    tmp_path: Path, clock: FakeClock
) -> None:
    services = await opened(tmp_path, clock, quiet_hours={"weekends": True})
    try:
        clock.set(local(2026, 2, 13, 10, 0))  # Friday before the Spring Festival
        request_id = await request_for(services)
        assert await pending(services, request_id) == {
            "ack_last": local(2026, 2, 14, 14, 0),  # Saturday 14 Feb is a working day (调休)
            "ack_overdue": local(2026, 2, 14, 23, 59, 59),
        }
        await run_at(services, clock, local(2026, 2, 14, 8, 30))
        sent = await run_at(services, clock, local(2026, 2, 14, 14, 0))
        assert "今日诉求提醒" in sent[0] and "最后一个工作日" in sent[1]
        # Overdue at midnight: the Spring Festival is quiet, the notice waits for 24 Feb.
        assert len(await run_at(services, clock, local(2026, 2, 16, 10, 0))) == 2
        sent = await run_at(services, clock, local(2026, 2, 24, 8, 0))
        assert "已超过受理期限" in sent[2]
    finally:
        await services.close()


async def test_national_day_half_time_and_last_day(tmp_path: Path, clock: FakeClock) -> None:
    categories = {"policy": {"acknowledge_days": 3, "resolve_days": 15}}
    services = await opened(tmp_path, clock, deadlines={"categories": categories})
    try:
        clock.set(local(2025, 9, 29, 10, 0))  # Monday before National Day (1–8 Oct off)
        request_id = await request_for(services)
        # Three working days: 30 Sep, 9 Oct, 10 Oct; half of them is left at noon on 9 Oct.
        assert await pending(services, request_id) == {
            "ack_half": local(2025, 10, 9, 11, 59, 59),
            "ack_last": local(2025, 10, 10, 14, 0),
            "ack_overdue": local(2025, 10, 10, 23, 59, 59),
        }
        sent = await run_at(services, clock, local(2025, 10, 1, 9, 0))
        assert sent == []  # a holiday: no digest, no reminder
        await run_at(services, clock, local(2025, 10, 9, 8, 30))
        sent = await run_at(services, clock, local(2025, 10, 9, 12, 0))
        assert "今日诉求提醒" in sent[0] and "已过半" in sent[1]
    finally:
        await services.close()


async def test_uncovered_year_weekend_and_listed_make_up_day(
    tmp_path: Path, clock: FakeClock
) -> None:
    deadlines = {"extra_holidays": ["2027-02-08"], "extra_workdays": ["2027-02-06"]}
    services = await opened(tmp_path, clock, deadlines=deadlines)
    try:
        # A Friday in a year no published calendar covers: its Spring Festival is computed
        # (除夕 5 February to the 10th off).
        clock.set(local(2027, 2, 5, 10, 0))
        request_id = await request_for(services)
        assert await pending(services, request_id) == {
            "ack_last": local(2027, 2, 6, 14, 0),  # Saturday listed as a make-up day
            "ack_overdue": local(2027, 2, 6, 23, 59, 59),
        }
        clock.set(local(2027, 2, 6, 9, 0))
        await act(services, request_id, Action.ACKNOWLEDGE)
        plan = await pending(services, request_id)
        # 15 working days from Friday 5 Feb: Saturday 6 on (listed), the computed holidays
        # to the 10th off (Monday 8 listed too), then weekdays from the 11th: 2 March.
        assert plan["resolve_overdue"] == local(2027, 3, 2, 23, 59, 59)
        assert plan["resolve_last"] == local(2027, 3, 2, 14, 0)
    finally:
        await services.close()
