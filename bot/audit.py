"""The audit (留痕) admins read: a request's whole history, and everything one user did.

Both come from append-only records (``request_history`` and ``audit_log``); every name,
note and value in them may be user-supplied, so each goes into the catalog texts as a
placeholder and is escaped there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from storage.audit import AuditTrail, Deed, Person, Trail
from storage.officials import OfficialRepository
from storage.requests import HistoryEntry

TELEGRAM_ID = re.compile(r"\d{1,19}")
NOTE_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Page:
    text: str
    number: int  # from 0
    pages: int


async def find_user(target: str, trail: AuditTrail, officials: OfficialRepository) -> int | None:
    """The Telegram id of a user named by id, by @username, or by an official's roster id."""
    text = target.strip()
    if TELEGRAM_ID.fullmatch(text):
        return int(text)
    if text.startswith("@"):
        return await trail.by_username(text)
    official = await officials.by_external_id(text)
    return None if official is None else official.telegram_id


def who(telegram_id: int | None, people: dict[int, Person], texts: Translator) -> str:
    """A user as admins recognise them: name, @username and Telegram id."""
    if telegram_id is None:
        return texts("audit.system")
    if telegram_id < 0:  # the pseudonym of a user whose personal data was erased
        return texts("audit.erased")
    person = people.get(telegram_id)
    if person is None:
        return str(telegram_id)
    handle = f" @{person.username}" if person.username else ""
    return f"{person.name}{handle} ({telegram_id})"


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _status(status: str | None, texts: Translator) -> str:
    return texts(f"ledger.status.{status}") if status else "—"


def _note(note: str) -> str:
    note = note if len(note) <= NOTE_LIMIT else note[:NOTE_LIMIT] + "…"
    return f" — {note}" if note else ""


@dataclass(frozen=True, slots=True)
class View:
    """How a page is shown: to whom (their language), in which time zone, which page."""

    texts: Translator
    tz: ZoneInfo
    page: int  # from 0
    size: int

    def pages(self, total: int) -> int:
        return max(1, math.ceil(total / self.size))


def request_page(
    number: str, trail: Trail[HistoryEntry], people: dict[int, Person], view: View
) -> Page:
    """One page of a request's history: every transition with who, when, from, to and note."""
    texts, count = view.texts, view.pages(trail.total)
    title = texts(
        "audit.request_title", number=number, page=view.page + 1, pages=count, total=trail.total
    )
    lines = [
        texts(
            "audit.request_line",
            at=_when(t.at, view.tz),
            who=who(t.actor_id, people, texts),
            from_status=_status(t.from_status, texts),
            to_status=_status(t.to_status, texts),
            note=_note(t.note),
        )
        for t in trail.items
    ]
    return Page("".join([title, *(lines or [texts("audit.empty")])]), view.page, count)


def user_page(telegram_id: int, trail: Trail[Deed], people: dict[int, Person], view: View) -> Page:
    """One page of what a user did, newest first: request transitions and audited actions."""
    texts, count = view.texts, view.pages(trail.total)
    title = texts(
        "audit.user_title",
        who=who(telegram_id, people, texts),
        page=view.page + 1,
        pages=count,
        total=trail.total,
    )
    lines = [_deed(d, texts, view.tz) for d in trail.items] or [texts("audit.empty")]
    return Page("".join([title, *lines]), view.page, count)


def _deed(deed: Deed, texts: Translator, tz: ZoneInfo) -> str:
    if deed.number is not None:
        return texts(
            "audit.user_transition",
            at=_when(deed.at, tz),
            number=deed.number,
            from_status=_status(deed.from_status, texts),
            to_status=_status(deed.to_status, texts),
            note=_note(deed.note),
        )
    return texts(
        "audit.user_action",
        at=_when(deed.at, tz),
        action=deed.action,
        subject=f" {deed.subject}" if deed.subject else "",
        result=deed.result,
        note=_note(deed.note),
    )
