"""Scheduled reminders and escalations on requests: planned rows, fired once, or cancelled."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.outbox import NewMessage, enqueue
from storage.requests import _COLUMNS as _REQUEST_COLUMNS
from storage.requests import Request
from storage.rows import row_to, rows_to

_REMINDER_COLUMNS = "id, request_id, kind, recipient_id, due_at, status, attempts, last_error"
OPEN_STATUSES = ("submitted", "assigned", "acknowledged", "in_progress", "waiting", "reopened")


@dataclass(frozen=True, slots=True)
class Planned:
    kind: str
    due_at: datetime
    recipient_id: int | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    id: int
    request_id: int
    kind: str
    recipient_id: int | None
    due_at: datetime
    status: str
    attempts: int
    last_error: str | None


class ReminderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def request(self, request_id: int) -> Request | None:
        row = await self._db.fetch_one(
            f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE id = ?", (request_id,)
        )
        return None if row is None else row_to(Request, row)

    async def contacts(self, enterprise_id: int) -> list[int]:
        """Telegram ids of the enterprise's contacts who can receive messages."""
        rows = await self._db.fetch_all(
            "SELECT telegram_id FROM enterprise_contacts WHERE enterprise_id = ?"
            " AND telegram_id IS NOT NULL ORDER BY id",
            (enterprise_id,),
        )
        return [row[0] for row in rows]

    async def due(self, now: datetime, limit: int) -> list[Reminder]:
        rows = await self._db.fetch_all(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE status = 'pending' AND due_at <= ?"
            " ORDER BY due_at, id LIMIT ?",
            (to_epoch(now), limit),
        )
        return rows_to(Reminder, rows)

    async def of_request(self, request_id: int) -> list[Reminder]:
        rows = await self._db.fetch_all(
            f"SELECT {_REMINDER_COLUMNS} FROM reminders WHERE request_id = ? ORDER BY due_at, id",
            (request_id,),
        )
        return rows_to(Reminder, rows)

    async def count_pending(self) -> int:
        return int(
            await self._db.fetch_value("SELECT COUNT(*) FROM reminders WHERE status = 'pending'")
        )

    async def fire(
        self,
        tx: Transaction,
        reminder: Reminder,
        messages: list[NewMessage],
        *,
        now: datetime,
        status: str = "done",
        error: str | None = None,
        escalate: bool = False,
        still: tuple[str, ...] = ("pending",),
    ) -> bool:
        """Finish the reminder and queue its messages in ``tx``; False (nothing written) if it
        was already done. ``still`` lists the states the reminder may be in to be finished now.
        """
        if not await _finish(tx, reminder.id, status, now, error, still):
            return False
        await enqueue(tx, messages, now=now)
        if escalate:
            await tx.execute(
                "UPDATE requests SET escalated_at = ? WHERE id = ?",
                (to_epoch(now), reminder.request_id),
            )
        return True


async def replace_pending(tx: Transaction, request_id: int, planned: Iterable[Planned]) -> None:
    """Cancel pending rows not in ``planned``; add (or revive) those that are. Nothing is read
    back: both writes go deferred (on PostgreSQL with the transaction's next round trip)."""
    wanted = {(p.kind, to_epoch(p.due_at)): p for p in planned}
    # "+status": look the request's rows up by request_id (the UNIQUE index), not by status,
    # which SQLite otherwise picks and which walks every pending reminder of every request.
    stale = (
        "UPDATE reminders SET status = 'cancelled' WHERE request_id = ?"
        f" AND {SQL[tx.dialect].unindexed('status')} = 'pending'"
    )
    if wanted:
        stale += f" AND (kind, due_at) NOT IN (VALUES {', '.join('(?, ?)' for _ in wanted)})"
    await tx.executemany_deferred(stale, [(request_id, *itertools.chain(*wanted))])
    if wanted:
        await tx.executemany_deferred(
            "INSERT INTO reminders (request_id, kind, recipient_id, due_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (request_id, kind, due_at) DO UPDATE SET status = 'pending',"
            " recipient_id = excluded.recipient_id WHERE reminders.status = 'cancelled'",
            [(request_id, k, p.recipient_id, due) for (k, due), p in wanted.items()],
        )


async def _finish(
    tx: Transaction,
    reminder_id: int,
    status: str,
    now: datetime,
    error: str | None,
    still: tuple[str, ...],
) -> bool:
    marks = ", ".join("?" for _ in still)
    cursor = await tx.execute(
        "UPDATE reminders SET status = ?, done_at = ?, last_error = ?, attempts = attempts + 1"
        f" WHERE id = ? AND status IN ({marks})",
        (status, to_epoch(now), error, reminder_id, *still),
    )
    return cursor.rowcount == 1


async def fold_into_digest(
    tx: Transaction, official_id: int, kinds: Iterable[str], until: datetime, now: datetime
) -> None:
    """Mark the official's pending reminders due by ``until`` as told through the digest."""
    names = tuple(kinds)
    marks = ", ".join("?" for _ in names)
    await tx.execute(
        "UPDATE reminders SET status = 'done', done_at = ?, last_error = 'folded into digest'"
        f" WHERE status = 'pending' AND recipient_id = ? AND due_at <= ? AND kind IN ({marks})",
        (to_epoch(now), official_id, to_epoch(until), *names),
    )
