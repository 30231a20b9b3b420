"""Rosters in and out: officials, enterprises and assignments, checked row by row.

A file with any bad row imports nothing; the report names each bad row's line, column and
reason. Imports are idempotent: officials are keyed by their roster id (``external_id``),
enterprises by their credit code, assignments by the pair.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from bot.channels import ChannelHasher, InvalidHandle, normalize_email, normalize_wechat
from bot.cities import city_name, parse_city
from bot.credit_code import InvalidCreditCode, normalise, validate_credit_code
from bot.i18n import Translator
from bot.phones import MASK_PREFIX, InvalidPhone, PhoneHasher, mask_last4, normalize_phone
from bot.tables import Table, read_table, write_table
from bot.tiers import parse_tier
from bot.uow import UnitOfWork
from storage.models import Tier
from storage.rosters import (
    AssignmentRecord,
    ChannelRecord,
    ContactRecord,
    EnterpriseRecord,
    ImportCounts,
    OfficialRecord,
    PhoneRecord,
    RosterRepository,
)
from storage.scope import EVERYWHERE, Scope

_R = TypeVar("_R")


class RosterKind(StrEnum):
    OFFICIALS = "officials"
    ENTERPRISES = "enterprises"
    ASSIGNMENTS = "assignments"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    zh: str
    required: bool = False
    aliases: tuple[str, ...] = ()  # other titles admins write for it, read on import

    @property
    def titles(self) -> tuple[str, ...]:
        return (self.key, self.zh, *self.aliases)


COLUMNS: dict[RosterKind, tuple[Column, ...]] = {
    RosterKind.OFFICIALS: (
        Column("external_id", "编号", required=True),
        Column("name", "姓名", required=True),
        Column("title", "职务"),
        Column("body", "单位"),
        Column("level", "层级"),
        Column("city", "城市"),
        Column("responsibilities", "分管领域"),
        Column("phones", "电话"),
        Column("supervisor", "上级编号"),
        Column("wechat", "微信号", aliases=("微信", "wechat_id", "wechat_ids")),
        Column("email", "电子邮箱", aliases=("邮箱", "工作邮箱", "e-mail", "emails")),
    ),
    RosterKind.ENTERPRISES: (
        Column("credit_code", "统一社会信用代码", required=True),
        Column("name", "企业名称", required=True),
        Column("city", "城市", required=True),
        Column("stage", "发展阶段", required=True),
        Column("industry", "行业"),
        Column("contacts", "联系人"),
    ),
    RosterKind.ASSIGNMENTS: (
        Column("official", "官员编号", required=True),
        Column("credit_code", "统一社会信用代码", required=True),
        Column("primary", "主责"),
    ),
}

# The import takes the codes, the names the bot shows in either language ([stage] and [level]
# in the catalogs: the export writes those) and the other names people write.
STAGES = {
    "startup": "startup",
    "start-up": "startup",
    "初创型": "startup",
    "初创": "startup",
    "初创期": "startup",
    "growth": "growth",
    "成长期": "growth",
    "成长型": "growth",
    "成长": "growth",
    "mature": "mature",
    "成熟期": "mature",
    "成熟型": "mature",
    "成熟": "mature",
}
# What a provincial leader's city cell may say: the province itself, stored as no city.
PROVINCE_NAMES = {"province", "liaoning", "辽宁", "辽宁省", "省", "省级", "全省"}
YES = {"1", "yes", "y", "true", "是", "主责"}
NO = {"0", "no", "n", "false", "否", "协办"}
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,39}")
LIST_SEPARATORS = re.compile(r"[;；,，、\n]")
# WeChat IDs and addresses hold no spaces, so a space separates them too.
HANDLE_SEPARATORS = re.compile(r"[;；,，、\s]")
MASKED_MIN = 5  # a refused value shorter than this is shown as "…" alone


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: str
    reason: str  # a key under roster.reason.* in the catalogs
    value: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    kind: RosterKind
    rows: int
    problems: tuple[Problem, ...] = ()
    counts: ImportCounts | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class Known:
    """What the database already holds, for checks that refer to other rosters."""

    official_ids: set[str] = field(default_factory=set)
    credit_codes: set[str] = field(default_factory=set)
    # A city admin's import (issue 18): their city, and the cities of the officials and
    # enterprises already stored (a row may not move one in from another city either).
    scope: Scope = EVERYWHERE
    official_cities: dict[str, str] = field(default_factory=dict)
    enterprise_cities: dict[str, str] = field(default_factory=dict)


class _Row:
    """One data row's cells by column key, collecting the problems found in it."""

    def __init__(self, line: int, cells: dict[str, str], problems: list[Problem]) -> None:
        self.line = line
        self.cells = cells
        self._problems = problems
        self.bad = False

    def get(self, key: str) -> str:
        return self.cells.get(key, "").strip()

    def problem(self, column: str, reason: str, value: str = "") -> None:
        self.bad = True
        self._problems.append(Problem(self.line, column, reason, value[:60]))


def map_columns(kind: RosterKind, header: Sequence[str]) -> tuple[dict[int, str], list[Problem]]:
    """Which column index holds which key; unknown, doubled and missing columns are problems."""
    names: dict[str, str] = {}
    for column in COLUMNS[kind]:
        for title in column.titles:
            names[title] = column.key
    mapping: dict[int, str] = {}
    problems = []
    for index, title in enumerate(header):
        if not title:
            continue
        key = names.get(title) or names.get(title.lower())
        if key is None:
            problems.append(Problem(1, title, "unknown_column"))
        elif key in mapping.values():
            problems.append(Problem(1, title, "duplicate_column"))
        else:
            mapping[index] = key
    for column in COLUMNS[kind]:
        if column.required and column.key not in mapping.values():
            problems.append(Problem(1, column.key, "missing_column"))
    return mapping, problems


def _rows(table: Table, mapping: dict[int, str], problems: list[Problem]) -> list[_Row]:
    rows = []
    for line, cells in table.rows:
        values = {key: cells[i] if i < len(cells) else "" for i, key in mapping.items()}
        row = _Row(line, values, problems)
        if len(cells) > len(table.header) and any(cells[len(table.header) :]):
            row.problem("", "extra_cells")
        rows.append(row)
    return rows


def _required(row: _Row, key: str, limit: int) -> str:
    value = row.get(key)
    if not value:
        row.problem(key, "required")
    elif len(value) > limit:
        row.problem(key, "too_long", value)
    return value


def _city(row: _Row, *, required: bool) -> str:
    value = row.get("city")
    if not value:
        if required:
            row.problem("city", "required")
        return ""
    code = parse_city(value)
    if code is None:
        row.problem("city", "unknown_city", value)
        return ""
    return code


def _official_city(row: _Row, level: Tier | None) -> str:
    """An official's city; a provincial leader's may also name the province, stored as no
    city. (A city official without one is kept, as older rosters and ``add-official`` have
    them, so that an export always imports back; the rounds show them under no city.)"""
    if level is Tier.PROVINCE and row.get("city").lower() in PROVINCE_NAMES:
        return ""
    return _city(row, required=False)


def _phone(row: _Row, column: str, raw: str, hasher: PhoneHasher) -> PhoneRecord | None:
    try:
        e164 = normalize_phone(raw)
    except InvalidPhone:
        row.problem(column, "bad_phone", mask_last4(raw[-4:]))
        return None
    return PhoneRecord(hasher.digest(e164), hasher.last4(e164))


def _mask_typed(raw: str) -> str:
    """A refused value as the report shows it: no more of it than a hint would show."""
    return f"{raw[:1]}{MASK_PREFIX}{raw[-2:]}" if len(raw) >= MASKED_MIN else MASK_PREFIX


def _channels(row: _Row, hasher: ChannelHasher) -> tuple[ChannelRecord, ...]:
    """The row's WeChat IDs and e-mail addresses; each malformed one is a problem."""
    found = []
    for column, normalize in (("wechat", normalize_wechat), ("email", normalize_email)):
        for raw in (v for v in HANDLE_SEPARATORS.split(row.get(column)) if v):
            try:
                handle = normalize(raw)
            except InvalidHandle:
                row.problem(column, f"bad_{column}", _mask_typed(raw))
                continue
            found.append(ChannelRecord(handle.channel, hasher.handle_digest(handle), handle.hint))
    return tuple(found)


def _official(row: _Row, hasher: ChannelHasher) -> OfficialRecord:
    external_id = _required(row, "external_id", 40)
    if external_id and not EXTERNAL_ID.fullmatch(external_id):
        row.problem("external_id", "bad_external_id", external_id)
    name = _required(row, "name", 100)
    level = parse_tier(row.get("level") or "city")
    if level is None:
        row.problem("level", "bad_level", row.get("level"))
    numbers = [p.strip() for p in LIST_SEPARATORS.split(row.get("phones")) if p.strip()]
    found = [_phone(row, "phones", number, hasher) for number in numbers]
    return OfficialRecord(
        external_id=external_id,
        name=name,
        title=row.get("title"),
        body=row.get("body"),
        level=(level or Tier.CITY).value,
        city=_official_city(row, level),
        responsibilities=row.get("responsibilities"),
        phones=tuple(p for p in found if p is not None),
        supervisor=row.get("supervisor") or None,
        channels=_channels(row, hasher),
    )


def _contact(row: _Row, entry: str, hasher: PhoneHasher) -> ContactRecord:
    """``张三 13912345678``, ``张三:139…`` or just a name."""
    match = re.fullmatch(r"(.*?)[\s:：]*([+\d][\d\s\-()]{6,})", entry)
    if match is None:
        return ContactRecord(name=entry[:100], phone=None)
    phone = _phone(row, "contacts", match.group(2), hasher)
    return ContactRecord(name=match.group(1).strip()[:100], phone=phone)


def _enterprise(row: _Row, hasher: PhoneHasher) -> EnterpriseRecord:
    code = normalise(row.get("credit_code"))
    if not code:
        row.problem("credit_code", "required")
    else:
        try:
            validate_credit_code(code)
        except InvalidCreditCode as exc:
            row.problem("credit_code", f"credit_code_{exc.reason}", code)
    stage = STAGES.get(row.get("stage").lower())
    if stage is None and row.get("stage"):
        row.problem("stage", "bad_stage", row.get("stage"))
    elif stage is None:
        row.problem("stage", "required")
    entries = [e.strip() for e in re.split(r"[;；\n]", row.get("contacts")) if e.strip()]
    return EnterpriseRecord(
        credit_code=code,
        name=_required(row, "name", 200),
        city=_city(row, required=True),
        stage=stage or "",
        industry=row.get("industry"),
        contacts=tuple(_contact(row, entry, hasher) for entry in entries),
    )


def _assignment(row: _Row, known: Known) -> AssignmentRecord:
    official = _required(row, "official", 40)
    if official and official not in known.official_ids:
        row.problem("official", "unknown_official", official)
    code = normalise(row.get("credit_code"))
    if not code:
        row.problem("credit_code", "required")
    elif code not in known.credit_codes:
        row.problem("credit_code", "unknown_enterprise", code)
    raw = row.get("primary").lower()
    if raw and raw not in YES | NO:
        row.problem("primary", "bad_flag", raw)
    return AssignmentRecord(official=official, credit_code=code, primary=raw not in NO)


def _check_duplicates(rows: list[_Row], keys: list[str], column: str) -> None:
    first: dict[str, int] = {}
    for row, key in zip(rows, keys, strict=True):
        if not key:
            continue
        if key in first:
            row.problem(column, "duplicate_row", str(first[key]))
        else:
            first[key] = row.line


@dataclass(frozen=True, slots=True)
class Parsed:
    kind: RosterKind
    records: tuple[OfficialRecord | EnterpriseRecord | AssignmentRecord, ...]
    problems: tuple[Problem, ...]


def parse_roster(kind: RosterKind, table: Table, *, known: Known, hasher: ChannelHasher) -> Parsed:
    """Every row checked; the records are only usable when there are no problems."""
    mapping, problems = map_columns(kind, table.header)
    if problems:
        return Parsed(kind, (), tuple(problems))
    rows = _rows(table, mapping, problems)
    records: list[OfficialRecord | EnterpriseRecord | AssignmentRecord]
    if kind is RosterKind.OFFICIALS:
        officials = [_official(row, hasher) for row in rows]
        _check_duplicates(rows, [o.external_id for o in officials], "external_id")
        ids = {o.external_id for o in officials} | known.official_ids
        for row, o in zip(rows, officials, strict=True):
            bad_boss = o.supervisor not in ids or o.supervisor == o.external_id
            if o.supervisor is not None and bad_boss:
                row.problem("supervisor", "unknown_supervisor", o.supervisor)
        records = list(officials)
    elif kind is RosterKind.ENTERPRISES:
        enterprises = [_enterprise(row, hasher) for row in rows]
        _check_duplicates(rows, [e.credit_code for e in enterprises], "credit_code")
        records = list(enterprises)
    else:
        assignments = [_assignment(row, known) for row in rows]
        _check_duplicates(
            rows, [f"{a.official}|{a.credit_code}" for a in assignments], "credit_code"
        )
        _check_duplicates(
            rows, [a.credit_code if a.primary else "" for a in assignments], "primary"
        )
        records = list(assignments)
    if known.scope.city is not None:
        _outside_city(rows, records, known, known.scope.city)
    problems.sort(key=lambda p: (p.line, p.column))
    return Parsed(kind, tuple(records), tuple(problems))


def _outside_city(
    rows: list[_Row],
    records: Sequence[OfficialRecord | EnterpriseRecord | AssignmentRecord],
    known: Known,
    city: str,
) -> None:
    """A city admin's roster names their city's officials and enterprises only: each row of
    another city (or of one stored under another city) is a problem naming that city."""

    def check(row: _Row, column: str, *cities: str | None) -> None:
        for other in cities:
            if other is not None and other != city:
                row.problem(column, "other_city", other or "—")  # named in describe_problem
                return

    for row, record in zip(rows, records, strict=True):
        if isinstance(record, OfficialRecord):
            stored = known.official_cities.get(record.external_id)
            check(row, "city", record.city, stored)
        elif isinstance(record, EnterpriseRecord):
            stored = known.enterprise_cities.get(record.credit_code)
            check(row, "city", record.city, stored)
        else:
            check(row, "official", known.official_cities.get(record.official))
            check(row, "credit_code", known.enterprise_cities.get(record.credit_code))


async def import_roster(
    uow: UnitOfWork,
    repo: RosterRepository,
    kind: RosterKind,
    data: bytes,
    filename: str,
    *,
    hasher: ChannelHasher,
    now: datetime,
    scope: Scope = EVERYWHERE,
) -> Report:
    """Read, check and (only if every row is good) store one roster file.

    Raises :class:`bot.tables.UnreadableFile` for a file that is not a spreadsheet at all.
    """
    table = read_table(data, filename)
    return await import_table(uow, repo, kind, table, hasher=hasher, now=now, scope=scope)


async def import_sent_roster(
    uow: UnitOfWork,
    repo: RosterRepository,
    data: bytes,
    filename: str,
    caption: str,
    *,
    hasher: ChannelHasher,
    now: datetime,
    max_unpacked: int,
    scope: Scope = EVERYWHERE,
) -> Report:
    """A roster sent to the bot: its kind named in the caption or told by its columns.

    The file is read off the event loop. Raises :class:`bot.tables.UnreadableFile`, or
    :class:`UnknownKind` when neither tells.
    """
    table = await asyncio.to_thread(read_table, data, filename, max_unpacked=max_unpacked)
    kind = roster_kind(caption, table.header)
    if kind is None:
        raise UnknownKind(filename)
    return await import_table(uow, repo, kind, table, hasher=hasher, now=now, scope=scope)


class UnknownKind(ValueError):
    """Neither the caption nor the columns tell which roster a file is."""


KIND_WORDS = {
    RosterKind.OFFICIALS: ("officials", "official", "官员", "干部"),
    RosterKind.ENTERPRISES: ("enterprises", "enterprise", "企业"),
    RosterKind.ASSIGNMENTS: ("assignments", "assignment", "分工", "包联"),
}


def kind_named(word: str) -> RosterKind | None:
    """The roster a word names (官员, enterprises, 分工 …), None for any other word."""
    word = word.strip().lower()
    return next((kind for kind, names in KIND_WORDS.items() if word in names), None)


def roster_kind(caption: str, header: Sequence[str]) -> RosterKind | None:
    """The one kind the caption names, else the one kind whose required columns all appear."""
    words = caption.lower()
    named = [kind for kind, names in KIND_WORDS.items() if any(n in words for n in names)]
    if len(named) == 1:
        return named[0]
    titles = {title.strip().lower() for title in header}
    fitting = [
        kind
        for kind, columns in COLUMNS.items()
        if all(set(c.titles) & titles for c in columns if c.required)
    ]
    return fitting[0] if len(fitting) == 1 else None


async def import_table(
    uow: UnitOfWork,
    repo: RosterRepository,
    kind: RosterKind,
    table: Table,
    *,
    hasher: ChannelHasher,
    now: datetime,
    scope: Scope = EVERYWHERE,
) -> Report:
    """Check and (only if every row is good) store one roster; a city admin's (``scope``)
    only with rows of their city."""
    known = Known(official_ids=await repo.official_ids(), credit_codes=await repo.credit_codes())
    if scope.city is not None:
        known = Known(
            known.official_ids,
            known.credit_codes,
            scope,
            await repo.official_cities(),
            await repo.enterprise_cities(),
        )
    parsed = parse_roster(kind, table, known=known, hasher=hasher)
    if parsed.problems:
        return Report(kind, len(table.rows), parsed.problems)
    records = parsed.records
    async with uow.transaction() as tx:
        if kind is RosterKind.OFFICIALS:
            counts = await repo.import_officials(tx, _only(records, OfficialRecord), now=now)
        elif kind is RosterKind.ENTERPRISES:
            counts = await repo.import_enterprises(tx, _only(records, EnterpriseRecord), now=now)
        else:
            counts = await repo.import_assignments(tx, _only(records, AssignmentRecord), now=now)
    return Report(kind, len(table.rows), (), counts)


def _only(records: Sequence[object], kind: type[_R]) -> list[_R]:
    return [r for r in records if isinstance(r, kind)]


async def export_roster(
    repo: RosterRepository,
    kind: RosterKind,
    path: Path,
    *,
    language: str = "zh",
    scope: Scope = EVERYWHERE,
) -> int:
    """Write a roster in the columns the import reads, as people write it: in Chinese, the
    column titles and the names of cities, stages, levels and 是/否 (in English, the column
    keys and the English names). The import takes either. A city office's ``scope`` writes its
    city's rows only (the officials of the city, its enterprises and who is in charge of them).

    Phones, WeChat IDs and e-mail addresses are written as empty cells: the database holds only
    their keyed digests, so there is nothing to write back, and a masked form would not import.
    Importing the file again keeps them, since an import only adds these.
    """
    texts = Translator(language)
    chinese = language == "zh"
    header = [column.zh if chinese else column.key for column in COLUMNS[kind]]
    rows: list[tuple[object, ...]]
    if kind is RosterKind.OFFICIALS:
        rows = [
            (
                *r[:4],
                _named(texts, "level", r[4]),
                city_name(r[5], language),
                r[6],
                "",
                r[7],
                "",
                "",
            )
            for r in await repo.export_officials(scope)
        ]
    elif kind is RosterKind.ENTERPRISES:
        rows = [
            (*r[:2], city_name(r[2], language), _named(texts, "stage", r[3]), *r[4:])
            for r in await repo.export_enterprises(scope)
        ]
    else:
        yes, no = ("是", "否") if chinese else ("yes", "no")
        rows = [(o, c, yes if p else no) for o, c, p in await repo.export_assignments(scope)]
    return write_table(path, header, rows)


def _named(texts: Translator, section: str, code: str) -> str:
    """The name the bot shows for a stage or level code (the code itself if it has none)."""
    return texts(f"{section}.{code}") if code in NAMED[section] else code


NAMED: dict[str, set[str]] = {"stage": set(STAGES.values()), "level": set(Tier)}


def describe_report(report: Report, texts: Translator, *, limit: int = 30) -> str:
    """The report as the admin reads it: a summary line, then each bad row."""
    kind = texts(f"roster.kind_{report.kind}")
    if report.ok:
        assert report.counts is not None
        return texts(
            "roster.imported",
            kind=kind,
            rows=report.rows,
            added=report.counts.added,
            changed=report.counts.changed,
        )
    lines = [texts("roster.rejected", kind=kind, count=len(report.problems))]
    lines += [describe_problem(problem, texts) for problem in report.problems[:limit]]
    if len(report.problems) > limit:
        lines.append(texts("roster.more", count=len(report.problems) - limit))
    return "\n".join(lines)


def describe_problem(problem: Problem, texts: Translator) -> str:
    if problem.reason == "duplicate_row":
        reason = texts("roster.reason.duplicate_row", line=problem.value)
        return texts("roster.problem", line=problem.line, column=problem.column, reason=reason)
    reason = texts(f"roster.reason.{problem.reason}")
    value = problem.value
    if problem.reason == "other_city":  # the city, by its name in the reader's language
        value = city_name(value, texts.language)
    key = "roster.problem_value" if value else "roster.problem"
    return texts(key, line=problem.line, column=problem.column, reason=reason, value=value)
