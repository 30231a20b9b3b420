"""Announcements and each recipient's delivery state.

Recipients are snapshotted with one ``INSERT … SELECT`` when sending starts. Recipients are
marked ``sending`` in batches, in a committed transaction before their messages go out, and
their outcomes are recorded in batches after, so a crash leaves at most the delivery's bound of
recipients in ``sending`` (see docs/broadcasts.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastStatus,
    RecipientStatus,
    Settled,
    Tally,
)
from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.rows import row_to, rows_to
from storage.scope import EVERYWHERE, PROVINCE, Scope, scope_of_office

_COLUMNS = (
    "id, created_by, text_html, media_kind, media_file_id, audience, status, scheduled_at,"
    " started_at, finished_at, progress_chat_id, progress_message_id, created_at, paid, office"
)
OPEN_REQUEST = "status NOT IN ('resolved', 'closed', 'withdrawn')"
ACTIVE_CONTACTS = (
    "SELECT c.telegram_id FROM enterprise_contacts c JOIN enterprises e ON e.id = c.enterprise_id"
    " WHERE e.status = 'active' AND c.telegram_id IS NOT NULL"
)
OFFICIALS = "SELECT telegram_id FROM officials WHERE active = 1 AND telegram_id IS NOT NULL"
# One SELECT of Telegram ids per kind of audience; ``?`` is the audience's value.
AUDIENCE_SQL: dict[AudienceKind, str] = {
    AudienceKind.ENTREPRENEURS: ACTIVE_CONTACTS,
    AudienceKind.OFFICIALS: OFFICIALS,
    AudienceKind.EVERYONE: f"{ACTIVE_CONTACTS} UNION {OFFICIALS}",
    AudienceKind.CITY: f"{ACTIVE_CONTACTS} AND e.city = ?",
    AudienceKind.STAGE: f"{ACTIVE_CONTACTS} AND e.stage = ?",
    AudienceKind.INDUSTRY: f"{ACTIVE_CONTACTS} AND e.industry = ?",
    AudienceKind.CATEGORY: f"{ACTIVE_CONTACTS} AND e.id IN (SELECT enterprise_id FROM requests"
    f" WHERE category = ? AND {OPEN_REQUEST})",
    AudienceKind.PORTFOLIO: f"{ACTIVE_CONTACTS} AND e.id IN"
    " (SELECT enterprise_id FROM assignments WHERE official_id = ?)",
}


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    created_by: int
    text_html: str
    media_kind: str | None
    media_file_id: str | None
    audience: Audience
    status: BroadcastStatus
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    progress_chat_id: int | None
    progress_message_id: int | None
    created_at: datetime
    paid: bool = False  # sent with allow_paid_broadcast (0.1 Star a message)
    office: str = PROVINCE  # the office that wrote it: a city's reaches that city only

    @property
    def scope(self) -> Scope:
        return scope_of_office(self.office)


@dataclass(frozen=True, slots=True)
class Recipient:
    telegram_id: int
    language: str | None
    telegram_language: str | None
    unreachable: bool


# A city office's announcements reach its city's enterprises' contacts and officials only.
IN_CITY = (
    " AND telegram_id IN (SELECT c.telegram_id FROM enterprise_contacts c"
    " JOIN enterprises e ON e.id = c.enterprise_id WHERE e.city = ?"
    " UNION SELECT telegram_id FROM officials WHERE city = ?)"
)


def _reachable(audience: Audience, scope: Scope = EVERYWHERE) -> tuple[str, tuple[Any, ...]]:
    """The audience's Telegram ids, without users who blocked the bot; within the city of a
    city office's announcement."""
    params: tuple[Any, ...] = (audience.value,) if audience.kind.needs_value else ()
    sql = (
        f"SELECT telegram_id FROM ({AUDIENCE_SQL[audience.kind]}) AS a WHERE telegram_id IN"
        " (SELECT telegram_id FROM users WHERE unreachable_at IS NULL)"
    )
    if scope.city is not None:
        sql += IN_CITY
        params += (scope.city, scope.city)
    return sql, params


class BroadcastStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count_audience(self, audience: Audience, scope: Scope = EVERYWHERE) -> int:
        sql, params = _reachable(audience, scope)
        return int(
            await self._db.fetch_value(
                f"SELECT COUNT(DISTINCT telegram_id) FROM ({sql}) AS audience", params
            )
        )

    async def choices(self, kind: AudienceKind, scope: Scope = EVERYWHERE) -> list[tuple[str, str]]:
        """The values an audience of this kind can take now (within a city office's city), as
        (value, label) pairs."""
        clause, city = scope.where("city")
        if kind is AudienceKind.PORTFOLIO:
            rows = await self._db.fetch_all(
                f"SELECT id, name FROM officials WHERE active = 1{clause} ORDER BY name, id", city
            )
            return [(str(row[0]), row[1]) for row in rows]
        column = {AudienceKind.CITY: "city", AudienceKind.INDUSTRY: "industry"}[kind]
        rows = await self._db.fetch_all(
            f"SELECT DISTINCT {column} FROM enterprises WHERE status = 'active' AND {column} != ''"
            f"{clause} ORDER BY {column}",
            city,
        )
        return [(row[0], row[0]) for row in rows]

    async def create(
        self,
        tx: Transaction,
        *,
        created_by: int,
        text_html: str,
        media_kind: str | None,
        media_file_id: str | None,
        audience: Audience,
        now: datetime,
        paid: bool = False,
        office: str = PROVINCE,
    ) -> Broadcast:
        cursor = await tx.execute(
            "INSERT INTO broadcasts (created_by, text_html, media_kind, media_file_id,"
            " audience, created_at, paid, office) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            f" RETURNING {_COLUMNS}",
            (
                created_by,
                text_html,
                media_kind,
                media_file_id,
                audience.dumps(),
                to_epoch(now),
                int(paid),
                office,
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        return row_to(Broadcast, row)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        return None if row is None else row_to(Broadcast, row)

    async def recent(self, limit: int, scope: Scope = EVERYWHERE) -> list[Broadcast]:
        """The latest announcements (a city office's own)."""
        clause, office = scope.where("office")
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE status != 'draft'{clause}"
            " ORDER BY id DESC LIMIT ?",
            (*office, limit),
        )
        return rows_to(Broadcast, rows)

    async def set_schedule(self, tx: Transaction, broadcast_id: int, at: datetime) -> None:
        """Remember the chosen time on a draft; it is scheduled only once confirmed."""
        await tx.execute(
            "UPDATE broadcasts SET scheduled_at = ? WHERE id = ? AND status = 'draft'",
            (to_epoch(at), broadcast_id),
        )

    async def schedule(self, tx: Transaction, broadcast_id: int) -> bool:
        """draft → scheduled; False if it is no longer a draft (a second press)."""
        cursor = await tx.execute(
            "UPDATE broadcasts SET status = 'scheduled' WHERE id = ? AND status = 'draft'"
            " AND scheduled_at IS NOT NULL",
            (broadcast_id,),
        )
        return cursor.rowcount == 1

    async def begin(self, tx: Transaction, broadcast_id: int, *, now: datetime) -> bool:
        """draft → sending in ``tx``, snapshotting the recipients; only the first caller gets
        True."""
        return await self._begin(tx, broadcast_id, "status = 'draft'", (), now=now)

    async def due_ids(self, now: datetime) -> list[int]:
        """The scheduled broadcasts that are due, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT id FROM broadcasts WHERE status = 'scheduled' AND scheduled_at <= ?"
            " ORDER BY scheduled_at, id",
            (to_epoch(now),),
        )
        return [row[0] for row in rows]

    async def begin_scheduled(self, tx: Transaction, broadcast_id: int, *, now: datetime) -> bool:
        """scheduled (and due) → sending in ``tx``, snapshotting the recipients."""
        condition = "status = 'scheduled' AND scheduled_at <= ?"
        return await self._begin(tx, broadcast_id, condition, (to_epoch(now),), now=now)

    async def _begin(
        self,
        tx: Transaction,
        broadcast_id: int,
        condition: str,
        params: tuple[Any, ...],
        *,
        now: datetime,
    ) -> bool:
        cursor = await tx.execute(
            "UPDATE broadcasts SET status = 'sending', started_at = COALESCE(started_at, ?)"
            f" WHERE id = ? AND {condition} RETURNING audience, office",
            (to_epoch(now), broadcast_id, *params),
        )
        row = await cursor.fetchone()
        if row is None:
            return False
        sql, audience_params = _reachable(Audience.loads(row[0]), scope_of_office(row[1]))
        await tx.execute(
            "INSERT INTO broadcast_recipients (broadcast_id, telegram_id)"
            f" SELECT DISTINCT ?, telegram_id FROM ({sql}) AS audience"
            # WHERE true: SQLite would read ON CONFLICT as the join's ON otherwise.
            " WHERE true ON CONFLICT DO NOTHING",
            (broadcast_id, *audience_params),
        )
        return True

    async def sending_ids(self) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT id FROM broadcasts WHERE status = 'sending' ORDER BY id"
        )
        return [row[0] for row in rows]

    async def requeue_in_flight(self, tx: Transaction, broadcast_id: int) -> int:
        """After a crash: recipients left in ``sending`` go back to ``pending``."""
        cursor = await tx.execute(
            "UPDATE broadcast_recipients SET status = 'pending'"
            " WHERE broadcast_id = ? AND status = 'sending'",
            (broadcast_id,),
        )
        return cursor.rowcount

    async def pending(self, broadcast_id: int, *, page: int) -> AsyncIterator[list[Recipient]]:
        """Pending recipients in pages, with what is needed to address them."""
        after = -(2**63)
        while True:
            rows = await self._db.fetch_all(
                "SELECT r.telegram_id, u.language, u.telegram_language,"
                " u.unreachable_at IS NOT NULL AS unreachable"
                " FROM broadcast_recipients r LEFT JOIN users u ON u.telegram_id = r.telegram_id"
                " WHERE r.broadcast_id = ? AND r.status = 'pending' AND r.telegram_id > ?"
                " ORDER BY r.telegram_id LIMIT ?",
                (broadcast_id, after, page),
            )
            if not rows:
                return
            yield rows_to(Recipient, rows)
            after = rows[-1][0]

    async def claim(
        self, tx: Transaction, broadcast_id: int, telegram_ids: Sequence[int]
    ) -> set[int]:
        """pending → sending for a batch, in one transaction committed before any of their
        messages goes out; the ids it moved (one already claimed or settled is left out)."""
        if not telegram_ids:
            return set()
        marks = ", ".join("?" * len(telegram_ids))
        # ``+status``: found by the primary key, not by scanning every pending row of the
        # broadcast through recipients_by_status (O(recipients) a batch, seen at 100,000).
        cursor = await tx.execute(
            "UPDATE broadcast_recipients SET status = 'sending'"
            f" WHERE broadcast_id = ? AND {SQL[tx.dialect].unindexed('status')} = 'pending'"
            f" AND telegram_id IN ({marks})"
            " RETURNING telegram_id",
            (broadcast_id, *telegram_ids),
        )
        return {row[0] for row in await cursor.fetchall()}

    async def finish(self, tx: Transaction, broadcast_id: int, outcomes: Sequence[Settled]) -> None:
        """Record how a batch of deliveries ended, in one transaction (``pending`` puts a
        recipient back for later)."""
        if not outcomes:
            return
        await tx.executemany(
            "UPDATE broadcast_recipients SET status = ?, attempts = attempts + ?,"
            " sent_at = ?, error = ? WHERE broadcast_id = ? AND telegram_id = ?",
            [
                (
                    o.status,
                    o.attempts,
                    to_epoch(o.at) if o.status is RecipientStatus.SENT else None,
                    o.error,
                    broadcast_id,
                    o.telegram_id,
                )
                for o in outcomes
            ],
        )

    async def tally(self, broadcast_id: int) -> Tally:
        rows = await self._db.fetch_all(
            "SELECT status, COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ?"
            " GROUP BY status",
            (broadcast_id,),
        )
        return Tally.of({RecipientStatus(row[0]): row[1] for row in rows})

    async def status(self, broadcast_id: int) -> BroadcastStatus | None:
        value = await self._db.fetch_value(
            "SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        return None if value is None else BroadcastStatus(value)

    async def cancel(self, tx: Transaction, broadcast_id: int, *, now: datetime) -> bool:
        """Stop a draft, scheduled or sending broadcast; False if it had already ended."""
        cursor = await tx.execute(
            "UPDATE broadcasts SET status = 'cancelled', finished_at = ? WHERE id = ?"
            " AND status IN ('draft', 'scheduled', 'sending')",
            (to_epoch(now), broadcast_id),
        )
        return cursor.rowcount == 1

    async def complete(self, tx: Transaction, broadcast_id: int, *, now: datetime) -> bool:
        cursor = await tx.execute(
            "UPDATE broadcasts SET status = 'done', finished_at = ?"
            " WHERE id = ? AND status = 'sending'",
            (to_epoch(now), broadcast_id),
        )
        return cursor.rowcount == 1

    async def pause_until(self, tx: Transaction, broadcast_id: int, at: datetime) -> bool:
        """sending → scheduled again: Telegram asked for a long wait; the tick resumes it."""
        cursor = await tx.execute(
            "UPDATE broadcasts SET status = 'scheduled', scheduled_at = ?"
            " WHERE id = ? AND status = 'sending'",
            (to_epoch(at), broadcast_id),
        )
        return cursor.rowcount == 1

    async def set_progress_message(
        self, tx: Transaction, broadcast_id: int, chat_id: int, message_id: int
    ) -> None:
        await tx.execute(
            "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ?,"
            " progress_shown = NULL WHERE id = ?",
            (chat_id, message_id, broadcast_id),
        )

    async def progress_shown(self, broadcast_id: int) -> str | None:
        """The digest of what the progress message shows now (None: not known)."""
        value = await self._db.fetch_value(
            "SELECT progress_shown FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        return None if value is None else str(value)

    async def set_progress_shown(self, tx: Transaction, broadcast_id: int, digest: str) -> None:
        await tx.execute(
            "UPDATE broadcasts SET progress_shown = ? WHERE id = ?", (digest, broadcast_id)
        )
