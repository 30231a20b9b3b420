"""Durable outgoing messages: each row is sent once, retried with backoff, or recorded as failed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import from_epoch, to_epoch
from bot.delivery import Media
from storage.db import Database, Transaction
from storage.dialect import SQL, Sql
from storage.rows import rows_to


def _columns(sql: Sql) -> str:
    return (
        f"id, recipient_id, kind, {sql.json_text('payload', 'text')} AS text, urgent,"
        " not_before, status, attempts, last_error, dedupe_key, created_at, first_attempt_at,"
        f" {sql.json_int('payload', 'card')} AS card,"
        f" {sql.json_int('payload', 'reply_to')} AS reply_to,"
        " CASE WHEN media_kind IS NULL THEN NULL"
        f"  ELSE {sql.json_object(kind='media_kind', file_id='media_file_id')} END"
        f" AS media, {sql.json_text('payload', 'markup')} AS markup, resent"
    )


_COLUMNS = {dialect: _columns(sql) for dialect, sql in SQL.items()}
# Rows due that no other process has claimed: on PostgreSQL a second process skips the rows
# the first one is claiming instead of waiting for them (writes are serialised anyway, see
# storage/postgres.py; this keeps a claim from ever queueing behind another's).
_SKIP_LOCKED = {"sqlite": "", "postgresql": " FOR UPDATE SKIP LOCKED"}
# Parameters: now (first attempt), now (due by), how many.
_CLAIM = {
    dialect: "UPDATE outbox SET status = 'sending', attempts = attempts + 1,"
    " first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id IN"
    " (SELECT id FROM outbox WHERE status = 'pending' AND not_before <= ?"
    f"  ORDER BY urgent DESC, not_before, id LIMIT ?{_SKIP_LOCKED[dialect]})"
    f" RETURNING {_COLUMNS[dialect]}"
    for dialect in SQL
}
# Parameters: status, error, sent_at, id.
_FINISH = (
    "UPDATE outbox SET status = ?, last_error = ?, sent_at = ? WHERE id = ? AND status = 'sending'"
)


def _marking_sent(sql: Sql, message_ids: Sequence[int], now: datetime) -> tuple[str, list[Any]]:
    """The statement that marks the rows ``message_ids`` (in flight) sent at ``now``."""
    return (
        "UPDATE outbox SET status = 'sent', last_error = NULL, sent_at = ?"
        f" WHERE {sql.in_list('id')} AND status = 'sending'",
        [to_epoch(now), sql.list_of(message_ids)],
    )


def _claiming_next(sql: Sql) -> str:
    """The claim of :meth:`OutboxRepository.claim_next`, one text for any kinds and recipients.
    Parameters: now (first attempt), the kinds that go first, now (due by), the recipients
    to skip, the kinds that go first again, how many."""
    order = f"{sql.in_list('kind')} DESC, urgent DESC, not_before, id"
    due = (
        f"SELECT id FROM (SELECT id, kind, urgent, not_before, ROW_NUMBER() OVER"
        f" (PARTITION BY recipient_id ORDER BY {order}) AS nth FROM outbox"
        f" WHERE status = 'pending' AND not_before <= ? AND {sql.not_in_list('recipient_id')})"
        f" AS due WHERE nth = 1 ORDER BY {order} LIMIT ?"
    )
    if sql.postgres:
        # Rows another process is claiming are skipped (no window with FOR UPDATE).
        due = f"SELECT id FROM outbox WHERE id IN ({due}){_SKIP_LOCKED['postgresql']}"
    return (
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1,"
        f" first_attempt_at = COALESCE(first_attempt_at, ?) WHERE id IN ({due})"
        f" RETURNING {_COLUMNS[sql.dialect]}"
    )


_CLAIM_NEXT = {dialect: _claiming_next(sql) for dialect, sql in SQL.items()}


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    recipient_id: int
    kind: str
    text: str
    urgent: bool
    not_before: datetime
    status: str
    attempts: int
    last_error: str | None
    dedupe_key: str | None
    created_at: datetime
    first_attempt_at: datetime | None = None
    card: int | None = None
    reply_to: int | None = None
    media: Media | None = None
    markup: str | None = None
    resent: bool = False  # sent again after a crash or a time-out: the text carries the mark


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to queue: who, what kind, the HTML text, and the earliest moment to send it.

    ``card`` is a request whose card (rendered when sent, with the recipient's buttons)
    follows the text; ``reply_to`` a request whose reply button goes with it; with ``media``
    the text is the photo's or document's caption; ``markup`` an inline keyboard as Bot API
    JSON (an answer that flood control kept from going out at once keeps its buttons).
    """

    recipient_id: int
    kind: str
    text: str
    not_before: datetime
    urgent: bool = False
    dedupe_key: str | None = None
    card: int | None = None
    reply_to: int | None = None
    media: Media | None = None
    markup: str | None = None


def _payload(message: NewMessage) -> str:
    payload: dict[str, Any] = {"text": message.text}
    if message.card is not None:
        payload["card"] = message.card
    if message.reply_to is not None:
        payload["reply_to"] = message.reply_to
    if message.markup is not None:
        payload["markup"] = message.markup
    return json.dumps(payload, ensure_ascii=False)


def _claimed(rows: list[sqlite3.Row]) -> list[OutboxMessage]:
    return sorted(rows_to(OutboxMessage, rows), key=lambda m: (not m.urgent, m.id))


async def enqueue(tx: Transaction, messages: list[NewMessage], *, now: datetime) -> None:
    """Queue messages inside the caller's transaction; a known dedupe_key is queued only once."""
    await tx.executemany_deferred(
        "INSERT INTO outbox (recipient_id, kind, payload, urgent, not_before, created_at,"
        " dedupe_key, media_kind, media_file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedupe_key) DO NOTHING",
        [
            (
                m.recipient_id,
                m.kind,
                _payload(m),
                int(m.urgent),
                to_epoch(m.not_before),
                to_epoch(now),
                m.dedupe_key,
                None if m.media is None else m.media.kind,
                None if m.media is None else m.media.file_id,
            )
            for m in messages
        ],
    )


class OutboxRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._columns = _COLUMNS[db.dialect]
        self._sql = SQL[db.dialect]

    async def any_due(self, now: datetime) -> bool:
        """Whether a row is due: a read, so that an empty outbox costs no write."""
        return (
            await self._db.fetch_one(
                "SELECT 1 FROM outbox WHERE status = 'pending' AND not_before <= ? LIMIT 1",
                (to_epoch(now),),
            )
            is not None
        )

    async def claim_due(self, now: datetime, limit: int) -> list[OutboxMessage]:
        """Move due rows from pending to sending (committed) and return them, urgent first.
        One statement, so one trip: it commits on its own."""
        rows = await self._db.execute(
            _CLAIM[self._db.dialect], (to_epoch(now), to_epoch(now), limit)
        )
        return _claimed(rows)

    async def claim_next(
        self,
        now: datetime,
        *,
        busy: set[int],
        first_kinds: frozenset[str],
        sent: Sequence[int] = (),
        limit: int = 1,
    ) -> list[OutboxMessage]:
        """Claim the next due rows, up to ``limit``, each for a recipient of its own not in
        ``busy`` (each recipient's first row): kinds in ``first_kinds`` first, then urgent
        ones, then by due time. The rows ``sent`` (handed to Telegram since the last claim)
        are marked sent in the same transaction. One trip, one commit, for all of them."""
        moment, kinds = to_epoch(now), self._sql.list_of(sorted(first_kinds))
        params = (moment, kinds, moment, self._sql.list_of(sorted(busy)), kinds, limit)
        claim = (_CLAIM_NEXT[self._db.dialect], params)
        if sent:
            marking = _marking_sent(self._sql, sent, now)
            _, rows = await self._db.execute_together([marking, claim])
        else:
            rows = await self._db.execute(*claim)
        return sorted(
            rows_to(OutboxMessage, rows),
            key=lambda m: (m.kind not in first_kinds, not m.urgent, m.not_before, m.id),
        )

    async def mark_sent(self, message_ids: Sequence[int], now: datetime) -> None:
        """Mark messages sent: one statement, committed on its own."""
        if message_ids:
            await self._db.execute(*_marking_sent(self._sql, message_ids, now))

    async def settle_in(
        self, tx: Transaction, message_id: int, status: str, error: str | None
    ) -> bool:
        """End a message in flight as ``status`` ('failed' or 'unknown') in ``tx``; False if
        it was not in flight any more (its report must not be queued twice)."""
        cursor = await tx.execute(_FINISH, (status, error, None, message_id))
        return cursor.rowcount == 1

    async def retry_at(self, message_id: int, not_before: datetime, error: str) -> None:
        """Back to the queue, due at ``not_before``: one statement, committed on its own."""
        await self._db.execute(
            "UPDATE outbox SET status = 'pending', not_before = ?, last_error = ?"
            " WHERE id = ? AND status = 'sending'",
            (to_epoch(not_before), error, message_id),
        )

    async def interrupted(self) -> list[OutboxMessage]:
        """Rows left in 'sending' by a crash: whether Telegram got them is unknown."""
        rows = await self._db.fetch_all(
            f"SELECT {self._columns} FROM outbox WHERE status = 'sending' ORDER BY id"
        )
        return rows_to(OutboxMessage, rows)

    async def release(self, message_id: int) -> None:
        """Put an interrupted row back in the queue: one statement, committed on its own."""
        await self._db.execute(
            "UPDATE outbox SET status = 'pending' WHERE id = ? AND status = 'sending'",
            (message_id,),
        )

    async def mark_resent(self, message_id: int, text: str) -> None:
        """Give an in-doubt row the text it is sent again with (carrying the "resent" mark)."""
        await self._db.execute(
            "UPDATE outbox SET resent = 1,"
            f" payload = {self._sql.json_set_text('payload', 'text')}"
            " WHERE id = ? AND resent = 0",
            (text, message_id),
        )

    async def drop_pending(self, kinds: tuple[str, ...]) -> int:
        """Forget unsent messages of these kinds; how many there were."""
        marks = ", ".join("?" for _ in kinds)
        dropped = await self._db.execute(
            f"DELETE FROM outbox WHERE status = 'pending' AND kind IN ({marks}) RETURNING id", kinds
        )
        return len(dropped)

    async def to_recipient(self, recipient_id: int) -> list[OutboxMessage]:
        rows = await self._db.fetch_all(
            f"SELECT {self._columns} FROM outbox WHERE recipient_id = ? ORDER BY id",
            (recipient_id,),
        )
        return rows_to(OutboxMessage, rows)

    async def counts(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {row[0]: row[1] for row in rows}

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """Rows due and not sent yet (pending or being sent), and when the oldest became due;
        rows held for later (quiet hours, a retry's backoff) are not behind."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*), MIN(not_before) FROM outbox"
            " WHERE status IN ('pending', 'sending') AND not_before <= ?",
            (to_epoch(now),),
        )
        count, oldest = (0, None) if row is None else (row[0], row[1])
        return int(count), None if oldest is None else from_epoch(int(oldest))

    async def next_due(self) -> datetime | None:
        value: Any = await self._db.fetch_value(
            "SELECT MIN(not_before) FROM outbox WHERE status = 'pending'"
        )
        return None if value is None else from_epoch(int(value))
