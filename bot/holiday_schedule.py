"""Next year's holiday schedule: loaded by an admin, reminded of until it is, and honest
about the deadlines it moves (issue #20).

The State Council publishes each year's holidays and adjusted working weekends (调休) in the
autumn. An admin loads them from a small TOML file (the format: docs/holidays-2027.toml and
docs/reminders.md), by sending it to the bot or with ``python -m bot holidays load FILE``.
The file is checked (:func:`parse_schedule`), stored, put into the shared calendar at once,
and written to the audit log; the open requests whose deadlines it changes get new ones, their
holder and enterprise are told why, and their history records it (:meth:`HolidaySchedules.load`).

From 1 November, while next year's published schedule is neither loaded nor shipped by the
chinesecalendar package, the admins are reminded once a week
(:meth:`HolidaySchedules.remind_admins`).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.accounts import Accounts
from bot.clock import Clock, to_epoch
from bot.config import LocaleSettings
from bot.dispatch import owners
from bot.i18n import Html, Translator, translate
from bot.offices import PROVINCE, Offices
from bot.outbox import Outbox
from bot.requests import Planner, Wake
from bot.uow import UnitOfWork
from bot.workdays import END_OF_DAY, ONE_DAY, SATURDAY, Schedule, WorkCalendar
from storage import holidays as stored_schedules
from storage.audit import record_in
from storage.db import Transaction
from storage.enterprises import EnterpriseRepository
from storage.holidays import HolidayScheduleRepository
from storage.officials import OfficialRepository
from storage.outbox import NewMessage, enqueue
from storage.requests import Request, move_deadlines, still_due

log = logging.getLogger(__name__)

# A schedule file is a few dozen lines; anything much larger is not one.
MAX_FILE_BYTES = 64 * 1024
FILE_SUFFIX = ".toml"
# The longest run of days one entry of a file may give as "FIRST..LAST".
MAX_RANGE_DAYS = 31
FIRST_YEAR, LAST_YEAR = 1950, 2100
# From this day of the year on, the admins are reminded while next year is not published.
REMIND_FROM = (11, 1)
# The message kind of the weekly reminder (bot/outbox.py POLICIES).
REMINDER_KIND = "calendar"
AUDIT_ACTION = "holidays.load"
TOP_KEYS = frozenset({"year", "official", "source", "holiday"})
ENTRY_KEYS = frozenset({"name", "off", "work"})
# Reminders planned after this many days into the next year can depend on the loaded year
# too (a deadline counted across New Year); their requests are re-planned with it.
REPLAN_MARGIN = timedelta(days=70)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong (or, for warnings, surprising) in a schedule file: a catalog key under
    ``holidays.problem`` and its parameters."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def text(self, texts: Translator) -> str:
        return texts(f"holidays.problem.{self.key}", **self.params)


class ScheduleRejected(Exception):
    """The file is not loaded; ``problems`` says why, each on its own."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(", ".join(problem.key for problem in self.problems))


# -- reading a file -----------------------------------------------------------------------------


def parse_schedule(data: bytes) -> Schedule:
    """The schedule a file gives, or :class:`ScheduleRejected` with every problem found.

    The format (UTF-8 TOML)::

        year = 2027
        official = true          # false: the file itself is an estimate
        source = "国办发明电〔2026〕N号"

        [[holiday]]
        name = "春节"
        off = ["2027-02-05..2027-02-13"]     # days off: single days or FIRST..LAST
        work = ["2027-01-31", "2027-02-20"]  # weekend days that are working days (调休)

    Checked: every day in ``year``, no day both off and worked, working days only on
    Saturdays and Sundays, no unknown keys.
    """
    if len(data) > MAX_FILE_BYTES:
        raise ScheduleRejected([Problem("too_big", {"limit": MAX_FILE_BYTES // 1024})])
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ScheduleRejected([Problem("not_utf8")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleRejected([Problem("not_toml", {"detail": str(exc)})]) from None
    problems: list[Problem] = []
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append(Problem("unknown_key", {"key": key}))
    year = raw.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        problems.append(Problem("year", {"value": _shown(year)}))
        year = None
    official = raw.get("official")
    if not isinstance(official, bool):
        problems.append(Problem("official", {"value": _shown(official)}))
    source = raw.get("source", "")
    if not isinstance(source, str):
        problems.append(Problem("source"))
        source = ""
    entries = raw.get("holiday")
    if not isinstance(entries, list) or not entries:
        problems.append(Problem("no_holidays"))
        entries = []
    off: dict[date, str] = {}
    work: dict[date, str] = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            problems.append(Problem("entry", {"number": number}))
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem("name", {"number": number}))
            name = f"#{number}"
        name = name.strip()
        for key in sorted(set(entry) - ENTRY_KEYS):
            problems.append(Problem("unknown_key", {"key": f"holiday.{key}"}))
        if "off" not in entry:
            problems.append(Problem("no_off", {"name": name}))
        for day in _days(entry.get("off", []), name, problems):
            _in_year(day, year, name, problems)
            off.setdefault(day, name)
        for day in _days(entry.get("work", []), name, problems):
            _in_year(day, year, name, problems)
            if day.weekday() < SATURDAY:
                problems.append(Problem("work_on_weekday", {"name": name, "day": day}))
            work.setdefault(day, name)
    for day in sorted(off.keys() & work.keys()):
        problems.append(Problem("both", {"day": day, "off": off[day], "work": work[day]}))
    if problems or year is None or not isinstance(official, bool):
        raise ScheduleRejected(problems)
    return Schedule(year, frozenset(off), frozenset(work), official, source.strip())


def _shown(value: object) -> str:
    return "—" if value is None else repr(value)


def _days(value: Any, name: str, problems: list[Problem]) -> list[date]:
    """The days of one ``off`` or ``work`` list: TOML dates, "YYYY-MM-DD" or "FIRST..LAST"."""
    if not isinstance(value, list):
        problems.append(Problem("not_a_list", {"name": name}))
        return []
    days: list[date] = []
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.append(item)
            continue
        text = item.strip() if isinstance(item, str) else ""
        first, dots, last = text.partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if dots else start
        except ValueError:
            problems.append(Problem("bad_day", {"name": name, "value": _shown(item)}))
            continue
        if not start <= end < start + timedelta(days=MAX_RANGE_DAYS):
            problems.append(
                Problem("bad_range", {"name": name, "value": text, "limit": MAX_RANGE_DAYS})
            )
            continue
        while start <= end:
            days.append(start)
            start += ONE_DAY
    return days


def _in_year(day: date, year: int | None, name: str, problems: list[Problem]) -> None:
    if year is not None and day.year != year:
        problems.append(Problem("wrong_year", {"name": name, "day": day, "year": year}))


def missing_statutory(schedule: Schedule, calendar: WorkCalendar) -> list[Problem]:
    """Statutory holidays (as computed for the year) that the schedule does not give off:
    loaded anyway, but the admin is told, since a notice never leaves one out."""
    missing = []
    for day, name in sorted(calendar.computed_holidays(schedule.year).items()):
        if "补假" not in name and day not in schedule.off:
            missing.append(Problem("statutory_missing", {"name": name, "day": day}))
    return missing


# -- the template -------------------------------------------------------------------------------


def template(year: int, calendar: WorkCalendar, *, note: str = "") -> str:
    """A schedule file for ``year`` with its statutory holidays as computed (补假 included)
    and no 调休, marked as an estimate: the admin corrects it from the State Council's notice
    and sets ``official = true``."""
    festivals: dict[str, list[date]] = {}
    for day, name in sorted(calendar.computed_holidays(year).items()):
        festivals.setdefault(_festival(name), []).append(day)
    lines = [
        f"# {year} 年节假日安排 · holiday schedule for {year}",
        "#",
        "# 预计（estimated）：以下只是按法定节假日推算的日期（含周末补假），不含调休，",
        "# 不是国务院公布的安排。This is an estimate: the statutory holidays as computed",
        "# (with the weekday off the law gives for one falling on a weekend), without the",
        "# adjusted working weekends (调休), not the State Council's schedule.",
        *([f"# {line}" for line in note.splitlines()] if note else []),
        "#",
        "# 国务院办公厅公布通知后：按通知改写每个节日的 off（放假）和 work（调休上班的周末），",
        "# 把 official 改为 true，再把文件发给机器人，或运行 python -m bot holidays load 文件。",
        "# Once the notice is published: copy each holiday's days off (off) and working",
        "# weekends (work) from it, set official = true, and send the file to the bot or run",
        "# python -m bot holidays load FILE. Format: docs/reminders.md.",
        "",
        f"year = {year}",
        "official = false",
        f'source = "estimate: statutory holidays computed for {year}, no 调休"',
    ]
    for name, days in festivals.items():
        lines += [
            "",
            "[[holiday]]",
            f'name = "{name}"',
            "off = [" + ", ".join(f'"{span}"' for span in _spans(days)) + "]",
            "work = []",
        ]
    return "\n".join(lines) + "\n"


def _festival(name: str) -> str:
    """The festival a computed holiday belongs to: 除夕 and the 补假 go with their festival."""
    first = name.split(";")[0].split("；")[0].strip()
    first = first.split("（")[0].strip()
    return "春节" if first == "农历除夕" else first


def _spans(days: list[date]) -> list[str]:
    spans: list[list[date]] = []
    for day in sorted(days):
        if spans and spans[-1][-1] + ONE_DAY == day:
            spans[-1].append(day)
        else:
            spans.append([day])
    return [span[0].isoformat() if len(span) == 1 else f"{span[0]}..{span[-1]}" for span in spans]


# -- the calendar and the database --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moved:
    """A request whose deadlines a schedule changed: (kind, before, after) for each."""

    request_id: int
    number: str
    changes: tuple[tuple[str, datetime, datetime], ...]


@dataclass(frozen=True, slots=True)
class Loaded:
    schedule: Schedule
    previous: Schedule | None
    moved: tuple[Moved, ...] = ()
    warnings: tuple[Problem, ...] = ()
    unchanged: bool = False


# -- reminding the admins -----------------------------------------------------------------------


def awaited_year(calendar: WorkCalendar, today: date) -> int | None:
    """The year whose published schedule the admins should load now, if any: this year's
    while it is missing, next year's from 1 November on."""
    if not calendar.is_published(today.year):
        return today.year
    if today >= date(today.year, *REMIND_FROM) and not calendar.is_published(today.year + 1):
        return today.year + 1
    return None


class HolidaySchedules:
    """The stored schedules and the shared calendar: kept in step, loaded by an admin (with
    the deadlines they move), and reminded of while next year's is missing."""

    def __init__(
        self,
        repo: HolidayScheduleRepository,
        *,
        calendar: WorkCalendar,
        clock: Clock,
        planner: Planner,
        officials: OfficialRepository,
        enterprises: EnterpriseRepository,
        accounts: Accounts,
        outbox: Outbox,
        locale: LocaleSettings,
        offices: Offices,
        uow: UnitOfWork,
        wake: Wake,
    ) -> None:
        self.repo = repo
        self.calendar = calendar
        self._clock = clock
        self._planner = planner
        self._officials = officials
        self._enterprises = enterprises
        self._accounts = accounts
        self._outbox = outbox
        self._locale = locale
        self._offices = offices
        self._uow = uow
        self._wake = wake
        # The (year, week) the admins were last reminded of a missing holiday schedule for.
        self._reminded: tuple[int, int] | None = None

    async def sync(self) -> bool:
        """Make the shared calendar hold the stored schedules, if they changed since it last
        read them (a load by this process or by ``python -m bot holidays load``); True if so."""
        revision = await self.repo.revision()
        if revision == self.calendar.revision:
            return False
        stored = await self.repo.all()
        self.calendar.load([s.schedule for s in stored], revision=revision)
        log.info("holiday schedules loaded for %s", ", ".join(str(s.schedule.year) for s in stored))
        return True

    async def load(
        self,
        schedule: Schedule,
        *,
        file_name: str,
        file_text: str,
        actor_id: int | None,
    ) -> Loaded:
        """Store ``schedule``, put it into the shared calendar, recompute the deadlines it
        changes and tell their holders and enterprises; all in one transaction with its audit
        entry. An estimate never replaces a year's official schedule (:class:`ScheduleRejected`).
        """
        calendar = self.calendar
        now = self._clock.now()
        before: WorkCalendar | None = None
        try:
            async with self._uow.transaction() as tx:
                # Under the write lock, taken now: no other load (of this process or another)
                # comes between the stored schedules read here and this one's save.
                await tx.lock()
                await self.sync()
                previous = calendar.schedules.get(schedule.year)
                if previous is not None and previous.official and not schedule.official:
                    raise ScheduleRejected([Problem("official_loaded", {"year": schedule.year})])
                warnings = tuple(missing_statutory(schedule, calendar))
                if previous == schedule:
                    await record_in(
                        tx,
                        now=now,
                        actor_id=actor_id,
                        action=AUDIT_ACTION,
                        subject=str(schedule.year),
                        result="unchanged",
                        detail=file_name,
                    )
                    return Loaded(schedule, previous, warnings=warnings, unchanged=True)
                revision = await stored_schedules.save(
                    tx,
                    schedule,
                    file_name=file_name,
                    file_text=file_text,
                    loaded_by=actor_id,
                    now=now,
                )
                before = calendar.copy()
                others = [s for year, s in before.schedules.items() if year != schedule.year]
                calendar.load([*others, schedule], revision=revision)
                moved = await self._recompute(tx, before, schedule, actor_id=actor_id, now=now)
                await self._replan_around(tx, schedule.year, done={m.request_id for m in moved})
                await record_in(
                    tx,
                    now=now,
                    actor_id=actor_id,
                    action=AUDIT_ACTION,
                    subject=str(schedule.year),
                    result="loaded" if schedule.official else "loaded (estimate)",
                    detail=f"{file_name}: {len(schedule.off)} off, {len(schedule.work)} worked,"
                    f" {len(moved)} requests' deadlines moved",
                )
        except BaseException:
            if before is not None:  # the calendar as it was: nothing of the load was stored
                calendar.load(before.schedules.values(), revision=before.revision)
            raise
        if moved:
            self._wake()
        log.info(
            "holiday schedule %d loaded (%s); %d requests' deadlines moved",
            schedule.year,
            "official" if schedule.official else "estimate",
            len(moved),
        )
        return Loaded(schedule, previous, tuple(moved), warnings)

    async def _recompute(
        self,
        tx: Transaction,
        before: WorkCalendar,
        schedule: Schedule,
        *,
        actor_id: int | None,
        now: datetime,
    ) -> list[Moved]:
        """New deadlines for the open requests whose deadlines, still ahead, count a day of the
        loaded year: the same number of working days from the same start, counted on the new
        calendar. A deadline is never moved into the past: at the earliest it becomes the end
        of today."""
        calendar = self.calendar
        floor = calendar.at(calendar.local_day(now), END_OF_DAY)
        moved = []
        for request in await still_due(tx, now):
            changes: dict[str, tuple[datetime, datetime]] = {}
            unacknowledged = request.acknowledged_at is None
            for kind, due in (
                ("acknowledge", request.acknowledge_due_at if unacknowledged else None),
                ("resolve", request.resolve_due_at),
            ):
                if due is None or due <= now:
                    continue
                first, last = calendar.local_day(request.created_at), calendar.local_day(due)
                if not first.year <= schedule.year <= last.year:
                    continue
                count = before.workdays_between(request.created_at, due)
                if count < 1:
                    continue
                new = max(calendar.add_workdays(request.created_at, count), floor)
                if new != due:
                    changes[kind] = (due, new)
            if not changes:
                continue
            note = self._changes_text(Translator(self._locale.default_language), schedule, changes)
            after = await move_deadlines(
                tx,
                request,
                acknowledge_due=changes.get("acknowledge", (None, request.acknowledge_due_at))[1],
                resolve_due=changes.get("resolve", (None, request.resolve_due_at))[1],
                actor_id=actor_id,
                note=note,
                now=now,
            )
            if after is None:  # cannot happen inside the one write transaction
                continue
            await enqueue(tx, await self._notices(after, schedule, changes, now), now=now)
            await self._planner.replan(tx, after.id, current=after)
            moved.append(
                Moved(
                    after.id,
                    after.number,
                    tuple((k, old, new) for k, (old, new) in changes.items()),
                )
            )
        return moved

    async def _replan_around(self, tx: Transaction, year: int, *, done: set[int]) -> None:
        """Re-plan the other requests with reminders in (or just after) the loaded year: their
        deadlines stay, but a reminder on the last working day before one, half time counted in
        working time, or the enterprise's reminder to confirm may fall on another day now."""
        calendar = self.calendar
        start = calendar.at(date(year, 1, 1), END_OF_DAY) - timedelta(days=1)
        end = calendar.at(date(year, 12, 31), END_OF_DAY) + REPLAN_MARGIN
        rows = await tx.execute_fetchall(
            "SELECT DISTINCT request_id FROM reminders WHERE status = 'pending'"
            " AND request_id IS NOT NULL AND due_at BETWEEN ? AND ?",
            (to_epoch(start), to_epoch(end)),
        )
        for (request_id,) in rows:
            if request_id not in done:
                await self._planner.replan(tx, request_id)

    def _changes_text(
        self,
        texts: Translator,
        schedule: Schedule,
        changes: Mapping[str, tuple[datetime, datetime]],
    ) -> str:
        """One line: which deadline moved from when to when, and why."""
        tz = self._locale.tz
        parts = [
            texts(
                "holidays.change",
                which=texts(f"holidays.which.{kind}"),
                old=f"{old.astimezone(tz):%Y-%m-%d}",
                new=f"{new.astimezone(tz):%Y-%m-%d}",
            )
            for kind, (old, new) in changes.items()
        ]
        kind = "official" if schedule.official else "estimate"
        return texts(
            "holidays.moved",
            changes=Html(texts("holidays.separator").join(parts)),
            reason=Html(texts(f"holidays.reason.{kind}", year=schedule.year)),
        )

    async def _notices(
        self,
        request: Request,
        schedule: Schedule,
        changes: Mapping[str, tuple[datetime, datetime]],
        now: datetime,
    ) -> list[NewMessage]:
        """The holder and the enterprise's contacts see the new dates and why, in their
        language."""
        recipients: list[int] = []
        if request.official_id is not None:
            holder = await self._officials.get(request.official_id)
            if holder is not None and holder.telegram_id is not None:
                recipients.append(holder.telegram_id)
        recipients += await owners(self._enterprises, request)
        messages = []
        for chat_id in dict.fromkeys(recipients):
            texts = Translator(await self._accounts.language_of(chat_id))
            text = texts(
                "holidays.notice",
                number=request.number,
                line=Html(self._changes_text(texts, schedule, changes)),
            )
            messages.append(
                self._outbox.message(
                    chat_id,
                    "update",
                    text,
                    at=now,
                    dedupe_key=f"deadline:{request.id}:{request.version}:{chat_id}",
                )
            )
        return messages

    async def remind_admins(self, now: datetime) -> int:
        """Once a week (weeks counted from 1 November), tell the admins that the awaited year's
        schedule is not loaded. Each reminder has a dedupe key per year, week and admin: a
        restart never queues one twice. Returns how many were queued now."""
        calendar = self.calendar
        today = calendar.local_day(now)
        year = awaited_year(calendar, today)
        if year is None:
            return 0
        week = (today - date(year - 1, *REMIND_FROM)).days // 7
        if self._reminded == (year, week):
            return 0
        messages = []
        for admin_id in await self._offices.admins_of(PROVINCE):  # the calendar is the province's
            language = await self._accounts.language_of(admin_id)
            text = translate(language, "holidays.reminder", year=year)
            messages.append(
                self._outbox.message(
                    admin_id,
                    REMINDER_KIND,
                    text,
                    at=now,
                    dedupe_key=f"holidays:{year}:{week}:{admin_id}",
                )
            )
        await self._outbox.send_later(messages, now=now)
        self._reminded = (year, week)
        return len(messages)


# -- telling the admin what happened ------------------------------------------------------------


def describe_rejection(rejected: ScheduleRejected, name: str, texts: Translator) -> str:
    lines = [texts("holidays.rejected", name=name, count=len(rejected.problems))]
    lines += [f"• {problem.text(texts)}" for problem in rejected.problems[:30]]
    if len(rejected.problems) > 30:
        lines.append(texts("holidays.more", count=len(rejected.problems) - 30))
    return "\n".join(lines)


def describe_loaded(loaded: Loaded, texts: Translator, tz: ZoneInfo) -> str:
    schedule = loaded.schedule
    kind = texts(f"holidays.kind.{'official' if schedule.official else 'estimate'}")
    if loaded.unchanged:
        lines = [texts("holidays.unchanged", year=schedule.year, kind=kind)]
    else:
        lines = [
            texts(
                "holidays.loaded",
                year=schedule.year,
                kind=kind,
                off=len(schedule.off),
                work=len(schedule.work),
            ),
            texts("holidays.moved_count", count=len(loaded.moved))
            if loaded.moved
            else texts("holidays.none_moved"),
        ]
        for moved in loaded.moved[:20]:
            changes = texts("holidays.separator").join(
                texts(
                    "holidays.change",
                    which=texts(f"holidays.which.{kind_}"),
                    old=f"{old.astimezone(tz):%Y-%m-%d}",
                    new=f"{new.astimezone(tz):%Y-%m-%d}",
                )
                for kind_, old, new in moved.changes
            )
            lines.append(texts("holidays.moved_line", number=moved.number, changes=Html(changes)))
        if len(loaded.moved) > 20:
            lines.append(texts("holidays.more_requests", count=len(loaded.moved) - 20))
    if loaded.warnings:
        lines.append(texts("holidays.warnings"))
        lines += [f"• {problem.text(texts)}" for problem in loaded.warnings]
    if not schedule.official:
        lines.append(texts("holidays.still_estimate", year=schedule.year))
    return "\n".join(lines)


def status_lines(calendar: WorkCalendar, today: date, texts: Translator) -> list[str]:
    """Where this year's and next year's days come from."""
    return [
        texts(
            "holidays.status_line",
            year=year,
            source=texts(f"holidays.source.{calendar.year_source(year).value}"),
        )
        for year in (today.year, today.year + 1)
    ]
