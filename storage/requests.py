"""Requests (诉求), their append-only history, their message thread and intake drafts.

A state change is ``UPDATE … WHERE id = ? AND version = ?`` and the history row together, in
the caller's transaction (the ``*_in`` methods take it: the request desk opens it and writes
the reminders and notices of the change in it too). When the version moved on meanwhile,
nothing is written and the caller learns that it lost the race.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import to_epoch
from bot.lifecycle import Status
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.rows import row_to, rows_to
from storage.scope import EVERYWHERE, Scope

_COLUMNS = (
    "id, number, enterprise_id, submitted_by, category, urgency = 'urgent' AS urgent, summary,"
    " description, details,"
    " status, official_id, created_at, acknowledged_at, resolved_at, closed_at,"
    " acknowledge_due_at, resolve_due_at, waiting_since, escalated_at, auto_closed, flagged,"
    " outcome, rating, rating_comment, version,"
    # The enterprise's city: which city office the request is within (issue 18).
    " COALESCE((SELECT e.city FROM enterprises e WHERE e.id = enterprise_id), '') AS city"
)
_MESSAGE_COLUMNS = (
    "id, request_id, at, sender_id, sender_role, internal, text, media_kind, file_id, file_name"
)
# Columns a transition may change besides status and version.
CHANGEABLE = frozenset(
    {
        "official_id",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "acknowledge_due_at",
        "resolve_due_at",
        "waiting_since",
        "flagged",
        "auto_closed",
        "outcome",
    }
)


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    number: str
    enterprise_id: int
    submitted_by: int
    category: str
    urgent: bool
    summary: str
    description: str
    details: Mapping[str, str]
    status: Status
    official_id: int | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    acknowledge_due_at: datetime | None
    resolve_due_at: datetime | None
    waiting_since: datetime | None
    escalated_at: datetime | None
    auto_closed: bool
    flagged: bool
    outcome: str | None
    rating: int | None
    rating_comment: str | None
    version: int
    city: str = ""  # its enterprise's city


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # "photo" or "document"
    file_id: str
    file_name: str | None = None
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    request_id: int
    at: datetime
    sender_id: int | None
    sender_role: str
    internal: bool
    text: str
    media_kind: str | None
    file_id: str | None
    file_name: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a request's append-only history."""

    at: datetime
    actor_id: int | None
    from_status: Status | None
    to_status: Status
    note: str


@dataclass(frozen=True, slots=True)
class NewRequest:
    enterprise_id: int
    submitted_by: int
    category: str
    urgent: bool
    summary: str
    description: str
    details: Mapping[str, str]
    attachments: Sequence[Attachment] = ()


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Request]
    total: int


@dataclass(frozen=True, slots=True)
class MessagePage:
    items: list[Message]
    total: int


@dataclass(frozen=True, slots=True)
class ThreadCounts:
    """What a request's thread holds: messages with a file, and the others."""

    files: int
    messages: int


class RequestRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self,
        tx: Transaction,
        new: NewRequest,
        *,
        day: str,
        official_id: int | None,
        due: tuple[datetime, datetime] | None,
        route_note: str,
        now: datetime,
        drop_draft: bool = False,
    ) -> Request:
        """Number, store and (if an official was found) assign a request in ``tx``.

        ``day`` is the local date ``YYYYMMDD`` of the number (LN-YYYYMMDD-NNNN). With
        ``drop_draft`` the submitter's intake draft goes in the same transaction: a crash
        right after the request is stored cannot leave its draft to be submitted again.
        """
        at = to_epoch(now)
        status = Status.SUBMITTED if official_id is None else Status.ASSIGNED
        ack_due, resolve_due = (None, None) if due is None else (to_epoch(due[0]), to_epoch(due[1]))
        values = (
            new.enterprise_id,
            new.submitted_by,
            new.category,
            "urgent" if new.urgent else "normal",
            new.summary,
            new.description,
            json.dumps(dict(new.details), ensure_ascii=False),
            status,
            official_id,
            at,
            ack_due,
            resolve_due,
        )
        if tx.dialect == "postgresql":
            # The day's next number and the request in one statement: one round trip while
            # the transaction holds the writer, where there were two.
            (created,) = await tx.execute_fetchall(_INSERT_NUMBERED, (day, day, *values))
        else:
            (last,) = await tx.execute_fetchall(_NEXT_NUMBER, (day,))
            (created,) = await tx.execute_fetchall(
                f"INSERT INTO requests ({_INSERTED}) VALUES ({_MARKS}) RETURNING {_COLUMNS}",
                (_number(day, last[0]), *values),
            )
        request = row_to(Request, created)
        request_id = request.id
        history: list[tuple[Any, ...]] = [
            (request_id, at, new.submitted_by, None, Status.SUBMITTED, "")
        ]
        if official_id is not None:
            history.append((request_id, at, None, Status.SUBMITTED, Status.ASSIGNED, route_note))
        await tx.executemany_deferred(
            "INSERT INTO request_history (request_id, at, actor_id, from_status, to_status,"
            " note) VALUES (?, ?, ?, ?, ?, ?)",
            history,
        )
        if new.attachments:
            await tx.executemany(
                "INSERT INTO request_messages (request_id, at, sender_id, sender_role,"
                " text, media_kind, file_id, file_name)"
                " VALUES (?, ?, ?, 'enterprise', ?, ?, ?, ?)",
                [
                    (
                        request_id,
                        at,
                        new.submitted_by,
                        a.caption,
                        a.kind,
                        a.file_id,
                        a.file_name,
                    )
                    for a in new.attachments
                ],
            )
        if drop_draft:
            await tx.executemany_deferred(
                "DELETE FROM drafts WHERE telegram_id = ?", [(new.submitted_by,)]
            )
        return request

    async def transition_in(
        self,
        tx: Transaction,
        request: Request,
        to: Status,
        *,
        actor_id: int | None,
        note: str,
        changes: Mapping[str, Any],
        now: datetime,
    ) -> Request | None:
        """Move ``request`` (as read, at its version) to ``to`` in ``tx``, with its history;
        None (and nothing written) if it changed meanwhile."""
        return await _transition(tx, request, to, actor_id, note, changes, now)

    async def post_in(
        self,
        tx: Transaction,
        request: Request,
        post: NewMessage,
        to: Status,
        *,
        changes: Mapping[str, Any],
        now: datetime,
        note: str = "",
    ) -> tuple[Message, Request | None]:
        """Add ``post`` to the thread and move ``request`` (as read, at its version) to ``to``
        in ``tx``, the message first, both sent in one round trip: the message and the
        request as changed, or None for the request if it changed meanwhile (the caller rolls
        the message back with it)."""
        message, changed = await tx.fetch_together(
            [
                _message_statement(request.id, post, now),
                _transition_statement(request, to, changes),
            ]
        )
        after = await _transitioned(tx, changed, request, to, post.sender_id, note, now)
        return row_to(Message, message[0]), after

    async def rate_in(
        self, tx: Transaction, request_id: int, *, rating: int | None, comment: str | None
    ) -> None:
        """Store the rating or the comment in ``tx``."""
        await tx.execute(
            "UPDATE requests SET rating = COALESCE(?, rating),"
            " rating_comment = COALESCE(?, rating_comment) WHERE id = ?",
            (rating, comment, request_id),
        )

    async def get(self, request_id: int) -> Request | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM requests WHERE id = ?", (request_id,)
        )
        return None if row is None else row_to(Request, row)

    async def by_number(self, number: str) -> Request | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM requests WHERE number = ?", (number,)
        )
        return None if row is None else row_to(Request, row)

    async def history(self, request_id: int) -> list[HistoryEntry]:
        rows = await self._db.fetch_all(
            "SELECT at, actor_id, from_status, to_status, note FROM request_history"
            " WHERE request_id = ? ORDER BY id",
            (request_id,),
        )
        return rows_to(HistoryEntry, rows)

    async def add_message_in(
        self, tx: Transaction, request_id: int, post: NewMessage, *, now: datetime
    ) -> Message:
        """Add a message to the thread in ``tx``."""
        return await _insert_message(tx, request_id, post, now)

    async def messages(self, request_id: int, *, internal: bool) -> list[Message]:
        """The thread; internal notes only when ``internal`` (officials and admins)."""
        rows = await self._db.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM request_messages WHERE request_id = ?"
            " AND (internal = 0 OR ? = 1) ORDER BY id",
            (request_id, int(internal)),
        )
        return rows_to(Message, rows)

    async def messages_page(
        self, request_id: int, *, internal: bool, limit: int, offset: int
    ) -> MessagePage:
        """One page of the thread, oldest first; internal notes only when ``internal``."""
        where = "request_id = ? AND (internal = 0 OR ? = 1)"
        params = (request_id, int(internal))
        total = int(
            await self._db.fetch_value(
                f"SELECT COUNT(*) FROM request_messages WHERE {where}", params
            )
        )
        if offset >= total:  # also an offset beyond SQLite's integers, from a forged button
            return MessagePage([], total)
        rows = await self._db.fetch_all(
            f"SELECT {_MESSAGE_COLUMNS} FROM request_messages WHERE {where}"
            " ORDER BY id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return MessagePage(rows_to(Message, rows), total)

    async def thread_counts(self, request_id: int) -> ThreadCounts:
        """Files and messages in the thread both sides see (internal notes not counted)."""
        row = await self._db.fetch_one(
            "SELECT COUNT(file_id) AS files, COUNT(*) - COUNT(file_id) AS messages"
            " FROM request_messages WHERE request_id = ? AND internal = 0",
            (request_id,),
        )
        assert row is not None
        return row_to(ThreadCounts, row)

    async def of_enterprises(
        self, enterprise_ids: Sequence[int], *, limit: int, offset: int
    ) -> Page:
        """An entrepreneur's requests, newest first."""
        marks = ",".join("?" * len(enterprise_ids)) or "NULL"
        where = f"enterprise_id IN ({marks})"
        return await self._page(
            where, tuple(enterprise_ids), "created_at DESC, id DESC", limit, offset
        )

    async def held_by(self, official_id: int, *, limit: int, offset: int) -> Page:
        """An official's open requests, what is due first at the top: the nearest pending
        deadline (acknowledging until acknowledged, then resolving); those waiting for the
        enterprise (their clock stopped) after the running ones; the id breaks ties, so that
        pages neither repeat nor skip a request."""
        where = f"official_id = ? AND status IN ({_held_marks()})"
        return await self._page(
            where, (official_id, *_HELD), _DUE_FIRST[self._db.dialect], limit, offset
        )

    async def queue(self, *, limit: int, offset: int, scope: Scope = EVERYWHERE) -> Page:
        """The admins' queue: open requests nobody holds, oldest first; a city admin's, those
        of their city's enterprises."""
        clause, params = scope.where(
            "(SELECT e.city FROM enterprises e WHERE e.id = requests.enterprise_id)"
        )
        where = f"official_id IS NULL AND status IN ('submitted', 'returned'){clause}"
        return await self._page(where, params, "created_at, id", limit, offset)

    async def _page(
        self, where: str, params: tuple[Any, ...], order: str, limit: int, offset: int
    ) -> Page:
        total = await self._db.fetch_value(f"SELECT COUNT(*) FROM requests WHERE {where}", params)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM requests WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return Page(rows_to(Request, rows), int(total))

    # -- drafts of the intake conversation ------------------------------------------------

    async def save_draft(self, telegram_id: int, data: Mapping[str, Any], now: datetime) -> None:
        await self._db.execute_working_state(
            "INSERT INTO drafts (telegram_id, data, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at, left_at = NULL",
            (telegram_id, json.dumps(dict(data), ensure_ascii=False), to_epoch(now)),
        )

    async def draft(self, telegram_id: int) -> dict[str, Any] | None:
        value = await self._db.fetch_value(
            "SELECT data FROM drafts WHERE telegram_id = ?", (telegram_id,)
        )
        return None if value is None else dict(json.loads(value))

    async def delete_draft(self, telegram_id: int) -> None:
        await self._db.execute("DELETE FROM drafts WHERE telegram_id = ?", (telegram_id,))


def _number(day: str, last: int) -> str:
    """The request's number: LN-YYYYMMDD-NNNN (more digits past the 9999th of a day)."""
    return f"LN-{day}-{last:04d}"


_NEXT_NUMBER = (
    "INSERT INTO request_numbers (day, last) VALUES (?, 1)"
    " ON CONFLICT (day) DO UPDATE SET last = request_numbers.last + 1 RETURNING last"
)
_INSERTED = (
    "number, enterprise_id, submitted_by, category, urgency, summary, description, details,"
    " status, official_id, created_at, acknowledge_due_at, resolve_due_at"
)
_MARKS = ", ".join("?" * 13)
# PostgreSQL: the number allocated and the request inserted by one statement (SQLite has no
# INSERT inside WITH). The number is formatted as _number does. Parameters: day, day, then
# the twelve values after the number.
_INSERT_NUMBERED = (
    f"WITH n AS ({_NEXT_NUMBER})"
    f" INSERT INTO requests ({_INSERTED}) VALUES ((SELECT 'LN-' || CAST(? AS text) || '-'"
    " || lpad(CAST(n.last AS text), greatest(4, length(CAST(n.last AS text))), '0') FROM n),"
    f" {', '.join('?' * 12)}) RETURNING {_COLUMNS}"
)


_HELD = (
    Status.ASSIGNED,
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
    Status.WAITING,
    Status.REOPENED,
)


# The inbox's order (see RequestRepository.held_by).
_DUE_FIRST = {
    dialect: "status = 'waiting', CASE WHEN acknowledged_at IS NULL"
    f" THEN {sql.least('COALESCE(acknowledge_due_at, 9e18)', 'COALESCE(resolve_due_at, 9e18)')}"
    " ELSE COALESCE(resolve_due_at, 9e18) END, id"
    for dialect, sql in SQL.items()
}


def _held_marks() -> str:
    return ",".join("?" * len(_HELD))


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message about to be added to a request's thread."""

    sender_id: int | None
    sender_role: str
    text: str
    attachment: Attachment | None = None
    internal: bool = False


def _transition_statement(
    request: Request, to: Status, changes: Mapping[str, Any]
) -> tuple[str, tuple[Any, ...]]:
    """The optimistic ``UPDATE`` of a transition, returning the row (none if it lost)."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"columns a transition may not change: {sorted(unknown)}")
    assignments = "".join(f", {column} = ?" for column in changes)
    return (
        f"UPDATE requests SET status = ?, version = version + 1{assignments}"
        f" WHERE id = ? AND version = ? RETURNING {_COLUMNS}",
        (to, *changes.values(), request.id, request.version),
    )


async def _transition(
    tx: Transaction,
    request: Request,
    to: Status,
    actor_id: int | None,
    note: str,
    changes: Mapping[str, Any],
    now: datetime,
) -> Request | None:
    rows = await tx.execute_fetchall(*_transition_statement(request, to, changes))
    return await _transitioned(tx, rows, request, to, actor_id, note, now)


async def _transitioned(
    tx: Transaction,
    rows: Sequence[Any],
    request: Request,
    to: Status,
    actor_id: int | None,
    note: str,
    now: datetime,
) -> Request | None:
    """The transition's history line (deferred) once its ``UPDATE`` returned ``rows``."""
    if not rows:
        return None
    (row,) = rows
    await tx.executemany_deferred(
        "INSERT INTO request_history (request_id, at, actor_id, from_status, to_status,"
        " note) VALUES (?, ?, ?, ?, ?, ?)",
        [(request.id, to_epoch(now), actor_id, request.status, to, note)],
    )
    return row_to(Request, row)


def _message_statement(
    request_id: int, post: NewMessage, now: datetime
) -> tuple[str, tuple[Any, ...]]:
    attachment = post.attachment
    return (
        "INSERT INTO request_messages (request_id, at, sender_id, sender_role, internal,"
        " text, media_kind, file_id, file_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" RETURNING {_MESSAGE_COLUMNS}",
        (
            request_id,
            to_epoch(now),
            post.sender_id,
            post.sender_role,
            int(post.internal),
            post.text,
            None if attachment is None else attachment.kind,
            None if attachment is None else attachment.file_id,
            None if attachment is None else attachment.file_name,
        ),
    )


async def _insert_message(
    tx: Transaction, request_id: int, post: NewMessage, now: datetime
) -> Message:
    (row,) = await tx.execute_fetchall(*_message_statement(request_id, post, now))
    return row_to(Message, row)


async def request_in(tx: Transaction, request_id: int) -> Request | None:
    """The request as the caller's transaction sees it (its own changes included)."""
    rows = await tx.execute_fetchall(f"SELECT {_COLUMNS} FROM requests WHERE id = ?", (request_id,))
    return row_to(Request, rows[0]) if rows else None


# Requests whose deadlines still run: open, with a deadline (the acknowledgement's while not
# acknowledged, the resolution's) after a moment. Parameters: moment, moment.
_STILL_DUE = (
    f"SELECT {_COLUMNS} FROM requests"
    " WHERE status IN ('submitted', 'assigned', 'acknowledged', 'in_progress', 'waiting',"
    " 'returned', 'reopened')"
    " AND ((acknowledged_at IS NULL AND acknowledge_due_at > ?) OR resolve_due_at > ?)"
    " ORDER BY id"
)


async def still_due(tx: Transaction, after: datetime) -> list[Request]:
    """Open requests with a deadline still ahead of ``after``, as ``tx`` sees them."""
    at = to_epoch(after)
    return rows_to(Request, await tx.execute_fetchall(_STILL_DUE, (at, at)))


async def move_deadlines(
    tx: Transaction,
    request: Request,
    *,
    acknowledge_due: datetime | None,
    resolve_due: datetime | None,
    actor_id: int | None,
    note: str,
    now: datetime,
) -> Request | None:
    """New due dates for ``request`` (as read, at its version), with a line in its history
    (the status stays); None if it changed meanwhile."""
    rows = await tx.execute_fetchall(
        "UPDATE requests SET acknowledge_due_at = ?, resolve_due_at = ?, version = version + 1"
        f" WHERE id = ? AND version = ? RETURNING {_COLUMNS}",
        (
            None if acknowledge_due is None else to_epoch(acknowledge_due),
            None if resolve_due is None else to_epoch(resolve_due),
            request.id,
            request.version,
        ),
    )
    if not rows:
        return None
    await tx.executemany_deferred(
        "INSERT INTO request_history (request_id, at, actor_id, from_status, to_status,"
        " note) VALUES (?, ?, ?, ?, ?, ?)",
        [(request.id, to_epoch(now), actor_id, request.status, request.status, note)],
    )
    return row_to(Request, rows[0])
