"""Holiday schedules (issue #20): the file an admin loads, the deadlines it moves and who is
told, the weekly reminder while next year's is missing, the 预计 mark on the cards."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from bot.holiday_schedule import (
    ScheduleRejected,
    awaited_year,
    missing_statutory,
    parse_schedule,
    template,
)
from bot.lifecycle import Action, Status
from bot.services import Services
from bot.workdays import END_OF_DAY, Schedule, WorkCalendar
from runtime.cli import build_parser, cmd_holidays
from scenarios.holidays import OFFICIAL_2027
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from standin.state import StoredMessage
from storage.requests import Request
from tests.reminder_support import act, domain_settings, local, new_request, open_domain, recorder
from tests.test_requests_flow import file_request, submit_payments_request

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage

EXAMPLE = Path(__file__).parent.parent / "docs" / "holidays-2027.toml"


def end_of(day: str) -> datetime:
    return local(*date.fromisoformat(day).timetuple()[:3]).replace(
        hour=END_OF_DAY.hour, minute=END_OF_DAY.minute, second=END_OF_DAY.second
    )


# -- the file -----------------------------------------------------------------------------------


def test_the_official_file_is_read_with_its_working_weekends() -> None:
    schedule = parse_schedule(OFFICIAL_2027.encode())
    assert schedule.year == 2027 and schedule.official and schedule.source == "test notice"
    assert date(2027, 2, 13) in schedule.off and date(2027, 2, 14) not in schedule.off
    assert schedule.work == {
        date(2027, 1, 31),
        date(2027, 2, 20),
        date(2027, 4, 25),
        date(2027, 5, 8),
        date(2027, 9, 26),
        date(2027, 10, 9),
    }
    assert missing_statutory(schedule, WorkCalendar()) == []


def test_the_shipped_2027_example_is_an_estimate_with_every_statutory_holiday() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "预计" in text and "estimate" in text and "尚未公布" in text
    schedule = parse_schedule(text.encode())
    assert schedule.year == 2027 and not schedule.official and schedule.work == frozenset()
    calendar = WorkCalendar()
    assert set(calendar.computed_holidays(2027)) == schedule.off
    assert missing_statutory(schedule, calendar) == []
    assert {date(2027, 2, 6), date(2027, 9, 15), date(2027, 4, 5), date(2027, 6, 9)} <= (
        schedule.off
    )


def test_a_template_for_any_year_reads_back() -> None:
    calendar = WorkCalendar()
    for year in (2028, 2035):
        schedule = parse_schedule(template(year, calendar).encode())
        assert schedule.year == year and not schedule.official
        assert schedule.off == set(calendar.computed_holidays(year))


def problems(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(ScheduleRejected) as caught:
        parse_schedule(data)
    return [problem.key for problem in caught.value.problems]


def test_every_problem_of_a_file_is_reported() -> None:
    bad = """\
year = 2027
colour = "red"

[[holiday]]
name = "春节"
off = ["2027-02-05..2027-02-13", "2028-01-01", "2027-02-30", "2027-03-05..2027-03-01"]
work = ["2027-02-08", "2027-02-10"]
"""
    assert problems(bad) == [
        "unknown_key",  # colour
        "official",  # missing
        "bad_day",  # 30 February
        "bad_range",  # backwards
        "wrong_year",  # 2028-01-01
        "work_on_weekday",  # 2027-02-08, a Monday
        "work_on_weekday",  # 2027-02-10
        "both",  # 2027-02-08 off and worked
        "both",
    ]


def test_files_that_are_not_schedules_are_refused() -> None:
    assert problems("year = ") == ["not_toml"]
    assert problems("年".encode("gbk")) == ["not_utf8"]
    assert problems(b"x" * 70_000) == ["too_big"]
    assert problems("year = 2027\nofficial = true\n") == ["no_holidays"]
    assert problems('year = 1900\nofficial = "yes"\n[[holiday]]\nname = "x"\noff = []') == [
        "year",
        "official",
    ]
    assert problems('year = 2027\nofficial = true\n[[holiday]]\noff = "2027-01-01"') == [
        "name",
        "not_a_list",
    ]


# -- loading, through the stand-in ---------------------------------------------------------------


async def next_containing(user: TestUser, needle: str, *, limit: int = 5) -> StoredMessage:
    """The next message with ``needle``, past others (the weekly reminder may come first)."""
    seen = []
    for _ in range(limit):
        message = await user.expect_message()
        if needle in (message.text or message.caption or ""):
            return message
        seen.append(message.text)
    raise AssertionError(f"no message with {needle!r}; saw {seen}")


async def reload(services: Services, request_id: int) -> Request:
    request = await services.requests.get(request_id)
    assert request is not None
    return request


@pytest.mark.usefixtures("bot")
async def test_a_request_of_new_years_eve_is_due_2027_01_04_marked_estimated(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    """As a new user would: submitted on 2026-12-31, it is to be acknowledged on
    2027-01-04 (not on New Year's Day), and the official's card says it is an estimate."""
    clock.set(local(2026, 12, 21, 10, 0))
    await make_cast(services)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    # 21 December, 15 working days: 12 January, New Year's Day off; only that date estimated.
    await file_request(services)
    card = await official.expect_message()
    assert "应受理：2026-12-22　应办结：2027-01-12（预计）" in (card.text or "")

    clock.set(local(2026, 12, 31, 10, 0))
    received = await submit_payments_request(alice)  # urgent: 1 and 7 working days
    assert "预计 2027-01-04 前受理，2027-01-12 前给出答复" in received
    assert "2027 年的放假安排尚未公布" in received and "2027-01-01" not in received
    card = await official.expect_message()
    assert "应受理：2027-01-04（预计）　应办结：2027-01-12（预计）" in (card.text or "")
    await official.send("/inbox")
    listing = (await official.expect_message()).text or ""
    assert "LN-20261231-0001 · 已分派 · 应受理 2027-01-04（预计）" in listing
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_loading_the_official_schedule_moves_open_deadlines_and_tells_both_sides(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    clock.set(local(2027, 1, 25, 10, 0))  # Monday; 2027 has no published schedule yet
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    moved_id = await file_request(services)  # 15 working days over the Spring Festival
    before = await reload(services, moved_id)
    assert before.resolve_due_at == end_of("2027-02-19")
    assert before.acknowledge_due_at == end_of("2027-01-26")
    card = await official.expect_message()
    assert "应办结：2027-02-19（预计）" in (card.text or "")
    # Closed requests keep their dates, whatever the schedule.
    closed_id = await file_request(services, text="已解决的诉求")
    await official.expect_message()
    for action in (Action.ACKNOWLEDGE, Action.RESOLVE, Action.CONFIRM):
        await act(services, closed_id, action, note="办好了")
    closed_before = await reload(services, closed_id)

    await admin.send_document(OFFICIAL_2027.encode(), "2027年节假日安排.toml")
    reply = await next_containing(admin, "已载入")
    assert (reply.text or "").splitlines()[:3] == [
        "✅ 已载入 2027 年节假日安排（国务院公布的安排）：放假 29 天，调休上班 6 天，立即生效。",
        "1 件在办诉求的期限因此调整，已通知办理官员和企业，并记入诉求记录：",
        "• LN-20270125-0001：应办结 2027-02-19 → 2027-02-20",
    ]
    line = "应办结 2027-02-19 → 2027-02-20（已载入国务院公布的 2027 年节假日安排）"
    told = await next_containing(official, "期限调整")
    assert told.text == f"📅 诉求 LN-20270125-0001 的期限调整：{line}"
    assert (await next_containing(alice, "期限调整", limit=10)).text == told.text

    after = await reload(services, moved_id)
    assert after.resolve_due_at == end_of("2027-02-20")  # the Sunday and Saturday count
    assert after.acknowledge_due_at == before.acknowledge_due_at
    assert after.status is Status.ASSIGNED and after.version == before.version + 1
    assert await reload(services, closed_id) == closed_before
    last = (await services.requests.history(moved_id))[-1]
    assert (last.from_status, last.to_status, last.note) == ("assigned", "assigned", line)
    audit = await services.db.fetch_all(
        "SELECT actor_id, action, subject, result FROM audit_log WHERE action = 'holidays.load'"
    )
    assert [tuple(row) for row in audit] == [(ADMIN_ID, "holidays.load", "2027", "loaded")]
    await act(services, moved_id, Action.ACKNOWLEDGE)  # the resolve reminders are planned now
    overdue = await services.db.fetch_value(
        "SELECT due_at FROM reminders WHERE request_id = ? AND kind = 'resolve_overdue'"
        " AND status = 'pending'",
        (moved_id,),
    )
    assert overdue == int(end_of("2027-02-20").timestamp())
    # In effect at once, without a restart: the calendar, the card, a new request.
    assert services.calendar.is_workday(date(2027, 1, 31))
    await official.send("LN-20270125-0001")
    shown = await official.expect_message()
    assert "应办结：2027-02-20" in (shown.text or "") and "预计" not in (shown.text or "")
    assert "状态：已受理" in (shown.text or "")
    newer = await reload(services, await file_request(services, text="载入之后的诉求"))
    assert newer.resolve_due_at == end_of("2027-02-20")

    # The same file again changes nothing and moves nothing.
    await admin.send_document(OFFICIAL_2027.encode(), "2027.toml")
    assert "与已载入的相同" in ((await next_containing(admin, "2027")).text or "")
    assert (await reload(services, moved_id)).version == after.version + 1  # acknowledged
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_bad_file_or_someone_elses_changes_nothing(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en", started=True)
    new_year = '"2027-01-01..2027-01-03"'
    bad = OFFICIAL_2027.replace(new_year, f'{new_year}, "2026-12-31"')
    bad = bad.replace('work = ["2027-09-26", "2027-10-09"]', 'work = ["2027-10-01"]')
    await admin.send_document(bad.encode(), "2027.toml")
    reply = (await next_containing(admin, "not loaded")).text or ""
    assert reply.splitlines() == [
        "❌ 2027.toml not loaded (nothing changed): 3 problem(s)."
        " Fix them and send the file again.",
        "• 元旦: 2026-12-31 is not in 2027",
        "• 国庆节: 2027-10-01 is not a weekend day; the working days of a 调休 are Saturdays"
        " or Sundays",
        "• 2027-10-01 is both a day off (国庆节) and a working day (国庆节)",
    ]
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    await alice.send_document(OFFICIAL_2027.encode(), "2027.toml")
    assert "您没有权限" in ((await alice.expect_message()).text or "")
    assert await services.db.fetch_value("SELECT COUNT(*) FROM holiday_schedules") == 0
    assert not services.calendar.is_published(2027)
    results = await services.db.fetch_all(
        "SELECT actor_id, result FROM audit_log WHERE action = 'holidays.load'"
    )
    assert [tuple(row) for row in results] == [(ADMIN_ID, "rejected")]
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_holidays_tells_where_the_days_come_from_and_sends_a_template(
    standin: TelegramStandin, services: Services, clock: FakeClock
) -> None:
    clock.set(local(2026, 12, 3, 10, 0))
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    await admin.send("/holidays")
    status = await next_containing(admin, "节假日安排")
    assert "2026 年：国务院公布的安排（chinesecalendar 包内置）" in (status.text or "")
    assert "2027 年：按法定节假日推算（预计，不含调休）" in (status.text or "")
    sent = await next_containing(admin, "2027 年安排模板")
    assert sent.data["document"]["file_name"] == "holidays-2027.toml"
    official = standin.user(OFFICIAL_ID, first_name="王建国", started=True)
    await official.send("/holidays")
    assert "没有权限" in ((await official.expect_message()).text or "")
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_the_cli_loads_a_schedule_into_the_running_bot(
    standin: TelegramStandin, services: Services, clock: FakeClock, settings: Settings,
    tmp_path: Path,
) -> None:  # fmt: skip
    clock.set(local(2027, 1, 25, 10, 0))
    await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans", started=True)
    request_id = await file_request(services)
    await official.expect_message()
    schedule = tmp_path / "2027.toml"
    schedule.write_text(OFFICIAL_2027, encoding="utf-8")
    args = build_parser().parse_args(["holidays", "load", str(schedule)])
    # Another process in production; here a thread with an event loop and connections of its own.
    assert await asyncio.to_thread(cmd_holidays, settings, args) == 0
    assert (await reload(services, request_id)).resolve_due_at == end_of("2027-02-20")
    assert not services.calendar.is_published(2027)  # until the bot's next wake-up
    await services.alarm.tick()
    assert services.calendar.is_published(2027) and services.calendar.is_workday(date(2027, 1, 31))
    told = await next_containing(official, "期限调整")
    assert "2027-02-19 → 2027-02-20" in (told.text or "")
    audit = await services.db.fetch_all(
        "SELECT actor_id, result, detail FROM audit_log WHERE action = 'holidays.load'"
    )
    assert [(row[0], row[1]) for row in audit] == [(None, "loaded")]
    assert str(audit[0][2]).startswith("2027.toml: 29 off, 6 worked, 1 requests")
    assert standin.errors == []


# -- the domain: the weekly reminder, estimates, loads that move dates ----------------------------


@pytest.fixture
async def domain(tmp_path: Path) -> Services:
    clock = FakeClock(local(2026, 10, 31, 9, 0))
    services = await open_domain(domain_settings(tmp_path), clock)
    yield services  # type: ignore[misc]
    await services.close()


def reminders_sent(services: Services) -> list[str]:
    return [m.text for m in recorder(services).messages if m.kind == "calendar"]


async def test_admins_are_reminded_weekly_from_november_while_next_year_is_missing(
    domain: Services, tmp_path: Path
) -> None:
    clock = domain.clock
    assert isinstance(clock, FakeClock)
    await domain.alarm.tick()  # 31 October: nothing yet
    assert reminders_sent(domain) == []
    for day in (1, 2, 7):  # 1 November starts the first week, through the 7th
        clock.set(local(2026, 11, day, 9, 0))
        await domain.alarm.tick()
    sent = reminders_sent(domain)
    assert len(sent) == 1 and "2027 年的节假日安排还没有载入" in sent[0]
    clock.set(local(2026, 11, 8, 9, 0))
    await domain.alarm.tick()
    assert len(reminders_sent(domain)) == 2
    # A restart within the week sends nothing twice: the reminder is keyed by year and week.
    await domain.close()
    again = await open_domain(domain.settings, clock)
    try:
        await again.alarm.tick()
        assert reminders_sent(again) == []
        keys = await again.db.fetch_all("SELECT dedupe_key FROM outbox WHERE kind = 'calendar'")
        assert sorted(row[0] for row in keys) == [
            f"holidays:2027:0:{ADMIN_ID}",
            f"holidays:2027:1:{ADMIN_ID}",
        ]
        # An estimate loaded does not stop it; the official schedule does.
        estimate = parse_schedule(EXAMPLE.read_bytes())
        await again.holidays.load(estimate, file_name="e.toml", file_text="", actor_id=ADMIN_ID)
        clock.set(local(2026, 11, 15, 9, 0))
        await again.alarm.tick()
        assert len(reminders_sent(again)) == 1
        official = parse_schedule(OFFICIAL_2027.encode())
        await again.holidays.load(official, file_name="o.toml", file_text="", actor_id=ADMIN_ID)
        clock.set(local(2026, 11, 22, 9, 0))
        await again.alarm.tick()
        assert len(reminders_sent(again)) == 1
        # An estimate never replaces the official schedule.
        with pytest.raises(ScheduleRejected, match="official_loaded"):
            await again.holidays.load(estimate, file_name="e.toml", file_text="", actor_id=None)
    finally:
        await again.close()


async def test_this_years_missing_schedule_is_reminded_of_too(domain: Services) -> None:
    calendar = domain.calendar
    assert awaited_year(calendar, date(2026, 10, 31)) is None
    assert awaited_year(calendar, date(2026, 11, 1)) == 2027
    assert awaited_year(calendar, date(2027, 1, 4)) == 2027
    assert isinstance(domain.clock, FakeClock)
    domain.clock.set(local(2027, 1, 4, 9, 0))
    assert await domain.holidays.remind_admins(domain.clock.now()) == 1
    assert await domain.holidays.remind_admins(domain.clock.now() + timedelta(days=1)) == 0


async def urgent_request_of_friday_29_january(services: Services) -> int:
    assert isinstance(services.clock, FakeClock)
    services.clock.set(local(2027, 1, 29, 10, 0))
    cast = await make_cast(services)
    request_id = await new_request(
        services,
        enterprise_id=cast.alice_enterprise.id,
        official_id=cast.official.id,
        submitted_by=ALICE_ID,
        urgent=True,  # 1 and 7 working days
    )
    due = await reload(services, request_id)
    assert (due.acknowledge_due_at, due.resolve_due_at) == (
        end_of("2027-02-01"),
        end_of("2027-02-15"),  # 1–4 February, the computed holidays to the 10th, 11, 12, 15
    )
    return request_id


async def load_official(services: Services) -> tuple[int, ...]:
    loaded = await services.holidays.load(
        parse_schedule(OFFICIAL_2027.encode()),
        file_name="o.toml",
        file_text=OFFICIAL_2027,
        actor_id=ADMIN_ID,
    )
    return tuple(moved.request_id for moved in loaded.moved)


async def notices(services: Services) -> list[tuple[int, str]]:
    rows = await services.db.fetch_all(
        "SELECT recipient_id, kind FROM outbox WHERE dedupe_key LIKE 'deadline:%' ORDER BY id"
    )
    return [(row[0], row[1]) for row in rows]


async def test_a_load_can_move_a_deadline_earlier(domain: Services) -> None:
    """Sunday 31 January becomes a working day: the acknowledgement is due that day."""
    request_id = await urgent_request_of_friday_29_january(domain)
    assert isinstance(domain.clock, FakeClock)
    domain.clock.set(local(2027, 1, 29, 20, 0))
    assert await load_official(domain) == (request_id,)
    moved = await reload(domain, request_id)
    assert moved.acknowledge_due_at == end_of("2027-01-31")
    # 7 working days: 31 Jan, 1–4 Feb, then the holiday to the 13th, 15 and 16 February.
    assert moved.resolve_due_at == end_of("2027-02-16")
    assert await notices(domain) == [(OFFICIAL_ID, "update"), (ALICE_ID, "update")]
    plan = await domain.db.fetch_all(
        "SELECT kind, due_at FROM reminders WHERE request_id = ? AND status = 'pending'"
        " ORDER BY due_at",
        (request_id,),
    )
    assert (plan[-1][0], plan[-1][1]) == ("ack_overdue", int(end_of("2027-01-31").timestamp()))


async def test_a_deadline_is_never_moved_into_the_past(domain: Services) -> None:
    """Loaded on Monday 1 February: the acknowledgement would have been due on the Sunday
    before; it stays due tonight rather than being overdue at once."""
    request_id = await urgent_request_of_friday_29_january(domain)
    assert isinstance(domain.clock, FakeClock)
    domain.clock.set(local(2027, 2, 1, 10, 0))
    assert await load_official(domain) == (request_id,)
    moved = await reload(domain, request_id)
    assert moved.acknowledge_due_at == end_of("2027-02-01")
    assert moved.resolve_due_at == end_of("2027-02-16")
    note = (await domain.requests.history(request_id))[-1].note
    assert note == "应办结 2027-02-15 → 2027-02-16（已载入国务院公布的 2027 年节假日安排）"


async def test_a_failed_load_leaves_the_calendar_as_it_was(
    domain: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.holiday_schedule as module

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(module, "record_in", broken)
    schedule = parse_schedule(OFFICIAL_2027.encode())
    with pytest.raises(RuntimeError):
        await domain.holidays.load(schedule, file_name="o.toml", file_text="", actor_id=None)
    assert not domain.calendar.is_published(2027)
    assert domain.calendar.revision == 0
    assert await domain.db.fetch_value("SELECT COUNT(*) FROM holiday_schedules") == 0


def test_schedule_equality_tells_an_unchanged_file() -> None:
    one = parse_schedule(OFFICIAL_2027.encode())
    assert one == parse_schedule(OFFICIAL_2027.replace("# 国务院", "# a comment:").encode())
    assert one != Schedule(2027, one.off, one.work, official=False, source=one.source)


async def test_two_loads_at_once_keep_both_years(domain: Services) -> None:
    calendar = WorkCalendar()
    later = parse_schedule(template(2028, calendar).encode())
    official = parse_schedule(OFFICIAL_2027.encode())
    await asyncio.gather(
        domain.holidays.load(official, file_name="a", file_text="", actor_id=None),
        domain.holidays.load(later, file_name="b", file_text="", actor_id=None),
    )
    assert sorted(domain.calendar.schedules) == [2027, 2028]
    assert domain.calendar.revision == 2
    assert await domain.db.fetch_value("SELECT COUNT(*) FROM holiday_schedules") == 2


async def test_two_processes_loading_at_once_each_end_with_both_years(
    domain: Services, tmp_path: Path
) -> None:
    """A load in the bot and one from the CLI (another process, another calendar) at the same
    moment: each reads the stored schedules under the writers' lock, so neither saves its
    year over a calendar that misses the other's, and both end up holding both years."""
    other = await open_domain(domain_settings(tmp_path), FakeClock(domain.clock.now()))
    try:
        later = parse_schedule(template(2028, WorkCalendar()).encode())
        official = parse_schedule(OFFICIAL_2027.encode())
        await asyncio.gather(
            domain.holidays.load(official, file_name="a", file_text="", actor_id=None),
            other.holidays.load(later, file_name="b", file_text="", actor_id=None),
        )
        for services in (domain, other):
            await services.holidays.sync()
            assert sorted(services.calendar.schedules) == [2027, 2028]
    finally:
        await other.close()
