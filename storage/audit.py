"""The audit log: who did what, to what, with which result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.requests import HistoryEntry
from storage.rows import rows_to

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    result: str
    detail: str


_AUDIT_COLUMNS = "at, actor_id, action, subject, result, detail"
_INSERT = f"INSERT INTO audit_log ({_AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        now: datetime,
        actor_id: int | None,
        action: str,
        subject: str = "",
        result: str = "",
        detail: str = "",
    ) -> None:
        """An entry on its own: one statement, committed on its own."""
        await self._db.execute(_INSERT, (to_epoch(now), actor_id, action, subject, result, detail))

    async def by_actor(self, actor_id: int, limit: int = 50) -> list[AuditEntry]:
        return await self._entries("actor_id", actor_id, limit)

    async def by_action(self, action: str, limit: int = 50) -> list[AuditEntry]:
        return await self._entries("action", action, limit)

    async def _entries(self, column: str, value: object, limit: int) -> list[AuditEntry]:
        rows = await self._db.fetch_all(
            "SELECT at, actor_id, action, subject, result, detail FROM audit_log"
            f" WHERE {column} = ? ORDER BY id DESC LIMIT ?",
            (value, limit),
        )
        return rows_to(AuditEntry, rows)


async def record_in(
    tx: Transaction,
    *,
    now: datetime,
    actor_id: int | None,
    action: str,
    subject: str = "",
    result: str = "",
    detail: str = "",
) -> None:
    """One audit-log entry, inside the caller's transaction (stored with what it records)."""
    await tx.execute(_INSERT, (to_epoch(now), actor_id, action, subject, result, detail))


@dataclass(frozen=True, slots=True)
class Deed:
    """One thing a user did: a request transition (``number`` set) or an audit-log entry."""

    at: datetime
    number: str | None
    from_status: str | None
    to_status: str
    note: str
    action: str
    subject: str
    result: str


@dataclass(frozen=True, slots=True)
class Trail(Generic[T]):
    items: tuple[T, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Person:
    telegram_id: int
    name: str  # the official's roster name, else the Telegram first name
    username: str | None


# A user's request transitions and audit-log entries as one list, newest first.
_DEEDS = """
SELECT at, number, from_status, to_status, note, action, subject, result FROM (
    SELECT h.at, h.id AS seq, 0 AS src, r.number, h.from_status, h.to_status, h.note,
        '' AS action, '' AS subject, '' AS result
    FROM request_history h JOIN requests r ON r.id = h.request_id WHERE h.actor_id = ?1
    UNION ALL
    SELECT at, id, 1, NULL, NULL, '', detail, action, subject, result
    FROM audit_log WHERE actor_id = ?1
) AS deeds ORDER BY at DESC, src DESC, seq DESC LIMIT ?2 OFFSET ?3
"""


class AuditTrail:
    """What admins read back: a request's whole history, and everything one user did."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of_request(self, request_id: int, *, limit: int, offset: int) -> Trail[HistoryEntry]:
        rows = await self._db.fetch_all(
            "SELECT at, actor_id, from_status, to_status, note FROM request_history"
            " WHERE request_id = ? ORDER BY id LIMIT ? OFFSET ?",
            (request_id, limit, offset),
        )
        total = await self._db.fetch_value(
            "SELECT COUNT(*) FROM request_history WHERE request_id = ?", (request_id,)
        )
        return Trail(tuple(rows_to(HistoryEntry, rows)), int(total))

    async def of_user(self, telegram_id: int, *, limit: int, offset: int) -> Trail[Deed]:
        rows = await self._db.fetch_all(_DEEDS, (telegram_id, limit, offset))
        total = await self._db.fetch_value(
            "SELECT (SELECT COUNT(*) FROM request_history WHERE actor_id = ?1)"
            " + (SELECT COUNT(*) FROM audit_log WHERE actor_id = ?1)",
            (telegram_id,),
        )
        return Trail(tuple(rows_to(Deed, rows)), int(total))

    async def people(self, telegram_ids: set[int]) -> dict[int, Person]:
        """Who these Telegram ids are, as far as the bot knows them."""
        if not telegram_ids:
            return {}
        marks = ", ".join("?" for _ in telegram_ids)
        rows = await self._db.fetch_all(
            "SELECT u.telegram_id, COALESCE(o.name, u.first_name) AS name, u.username FROM users u"
            " LEFT JOIN officials o ON o.telegram_id = u.telegram_id"
            f" WHERE u.telegram_id IN ({marks})",
            tuple(telegram_ids),
        )
        return {person.telegram_id: person for person in rows_to(Person, rows)}

    async def by_username(self, username: str) -> int | None:
        value = await self._db.fetch_value(
            "SELECT telegram_id FROM users WHERE lower(username) = lower(?)",
            (username.removeprefix("@"),),
        )
        return None if value is None else int(value)
