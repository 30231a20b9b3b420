"""Verification records: code hashes, throttle events, contact notices, impostor reports, cards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_epoch, to_epoch
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.rows import row_to, rows_to
from storage.scope import EVERYWHERE, Scope

FAILURE_KINDS = ("code", "lookup")
BURST_ALERT = "verification.burst_alert"


@dataclass(frozen=True, slots=True)
class StoredCode:
    id: int
    code_hash: str
    official_id: int
    enterprise_id: int | None  # None: issued for any enterprise of the official's portfolio
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None
    portfolio: frozenset[int]  # the issuing official's enterprises when the code was read


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    official_id: int
    enterprise_id: int
    channel: str
    phone_last4: str | None
    window_start: datetime
    window_end: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Report:
    id: int
    reporter_id: int
    enterprise_id: int | None
    claimed_official_id: int | None
    claimed_name: str
    channel: str
    contact: str
    asked_for: str
    details: str
    created_at: datetime
    warned_at: datetime | None


_CODE_COLUMNS = "id, code_hash, official_id, enterprise_id, issued_at, expires_at, used_at"
# The issuing official's portfolio, read with the code in the same statement.
_PORTFOLIO = {
    dialect: f"(SELECT {sql.json_array_of('a.enterprise_id')} FROM assignments a"
    " WHERE a.official_id = verification_codes.official_id) AS portfolio"
    for dialect, sql in SQL.items()
}
_NOTICE_COLUMNS = (
    "id, official_id, enterprise_id, channel, phone_last4, window_start, window_end, created_at"
)
_REPORT_COLUMNS = (
    "id, reporter_id, enterprise_id, claimed_official_id, claimed_name, channel, contact,"
    " asked_for, details, created_at, warned_at"
)


class VerificationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # Codes -----------------------------------------------------------------------------

    async def add_code(
        self,
        tx: Transaction,
        *,
        code_hash: str,
        official_id: int,
        enterprise_id: int | None,
        issued_at: datetime,
        expires_at: datetime,
    ) -> bool:
        """Store a code unless a live code has the same hash (then the caller draws again)."""
        cursor = await tx.execute(
            "SELECT 1 FROM verification_codes WHERE code_hash = ? AND used_at IS NULL"
            " AND expires_at > ?",
            (code_hash, to_epoch(issued_at)),
        )
        if await cursor.fetchone() is not None:
            return False
        await tx.execute(
            "INSERT INTO verification_codes (code_hash, official_id, enterprise_id,"
            " issued_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            (code_hash, official_id, enterprise_id, to_epoch(issued_at), to_epoch(expires_at)),
        )
        return True

    async def find_code(self, code_hash: str) -> StoredCode | None:
        """The newest code under this hash, live ones first, with its official's portfolio."""
        row = await self._db.fetch_one(
            f"SELECT {_CODE_COLUMNS}, {_PORTFOLIO[self._db.dialect]} FROM verification_codes"
            " WHERE code_hash = ?"
            " ORDER BY used_at IS NULL DESC, expires_at DESC LIMIT 1",
            (code_hash,),
        )
        return None if row is None else row_to(StoredCode, row)

    async def use_code(self, tx: Transaction, code_id: int, *, used_by: int, now: datetime) -> bool:
        """Mark a code used; False if somebody used it first."""
        cursor = await tx.execute(
            "UPDATE verification_codes SET used_at = ?, used_by = ?"
            " WHERE id = ? AND used_at IS NULL AND expires_at > ?",
            (to_epoch(now), used_by, code_id, to_epoch(now)),
        )
        return cursor.rowcount == 1

    # Throttling ------------------------------------------------------------------------

    async def record_failure(
        self, tx: Transaction, telegram_id: int, kind: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO throttle_events (telegram_id, kind, at) VALUES (?, ?, ?)",
            (telegram_id, kind, to_epoch(now)),
        )

    async def failures_of(self, telegram_id: int, since: datetime) -> list[datetime]:
        rows = await self._db.fetch_all(
            "SELECT at FROM throttle_events WHERE telegram_id = ? AND kind IN (?, ?)"
            " AND at > ? ORDER BY at",
            (telegram_id, *FAILURE_KINDS, to_epoch(since)),
        )
        return [from_epoch(row[0]) for row in rows]

    async def failures_since(self, since: datetime) -> int:
        value = await self._db.fetch_value(
            "SELECT COUNT(*) FROM throttle_events WHERE kind IN (?, ?) AND at > ?",
            (*FAILURE_KINDS, to_epoch(since)),
        )
        return int(value or 0)

    async def burst_alerted_since(self, since: datetime) -> bool:
        value = await self._db.fetch_value(
            "SELECT 1 FROM audit_log WHERE action = ? AND at > ? LIMIT 1",
            (BURST_ALERT, to_epoch(since)),
        )
        return value is not None

    # Business cards --------------------------------------------------------------------

    async def set_card_token(
        self,
        tx: Transaction,
        official_id: int,
        token: str,
        *,
        retired: tuple[str, str] | None = None,
        now: datetime,
    ) -> None:
        """Make ``token`` the official's card token.

        ``retired`` is the (token, hash) pair of the token being replaced: its hash is kept as
        revoked (at the time it was revoked, or now if it was still live), in the same
        transaction, provided it is still the official's current token.
        """
        if retired is not None:
            old_token, old_hash = retired
            await tx.execute(
                "INSERT INTO retired_card_tokens"
                " (token_hash, official_id, revoked_at)"
                " SELECT ?, id, COALESCE(card_revoked_at, ?) FROM officials"
                " WHERE id = ? AND card_token = ? ON CONFLICT DO NOTHING",
                (old_hash, to_epoch(now), official_id, old_token),
            )
        await tx.execute(
            "UPDATE officials SET card_token = ?, card_revoked_at = NULL WHERE id = ?",
            (token, official_id),
        )

    async def retired_card_official(self, token_hash: str) -> int | None:
        """The official whose revoked or replaced card token has this hash, if any."""
        value = await self._db.fetch_value(
            "SELECT official_id FROM retired_card_tokens WHERE token_hash = ?", (token_hash,)
        )
        return None if value is None else int(value)

    async def revoke_card(self, tx: Transaction, official_id: int, now: datetime) -> bool:
        """Revoke the official's live card link in ``tx``; False if there is none."""
        cursor = await tx.execute(
            "UPDATE officials SET card_revoked_at = ? WHERE id = ? AND card_token IS NOT NULL"
            " AND card_revoked_at IS NULL",
            (to_epoch(now), official_id),
        )
        return cursor.rowcount == 1

    # Contact notices -------------------------------------------------------------------

    async def add_notice(
        self,
        tx: Transaction,
        *,
        official_id: int,
        enterprise_id: int,
        channel: str,
        phone_last4: str | None,
        window_start: datetime,
        window_end: datetime,
        now: datetime,
    ) -> Notice:
        cursor = await tx.execute(
            "INSERT INTO contact_notices (official_id, enterprise_id, channel, phone_last4,"
            " window_start, window_end, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            f" RETURNING {_NOTICE_COLUMNS}",
            (
                official_id,
                enterprise_id,
                channel,
                phone_last4,
                to_epoch(window_start),
                to_epoch(window_end),
                to_epoch(now),
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        return row_to(Notice, row)

    async def notice(self, notice_id: int) -> Notice | None:
        row = await self._db.fetch_one(
            f"SELECT {_NOTICE_COLUMNS} FROM contact_notices WHERE id = ?", (notice_id,)
        )
        return None if row is None else row_to(Notice, row)

    async def active_notices(self, enterprise_ids: frozenset[int], now: datetime) -> list[Notice]:
        if not enterprise_ids:
            return []
        marks = ", ".join("?" * len(enterprise_ids))
        rows = await self._db.fetch_all(
            f"SELECT {_NOTICE_COLUMNS} FROM contact_notices WHERE enterprise_id IN ({marks})"
            " AND window_end >= ? AND created_at <= ? ORDER BY created_at DESC",
            (*sorted(enterprise_ids), to_epoch(now), to_epoch(now)),
        )
        return rows_to(Notice, rows)

    async def answer_notice(
        self, tx: Transaction, notice_id: int, telegram_id: int, answer: str, now: datetime
    ) -> None:
        await tx.execute(
            "INSERT INTO notice_answers (notice_id, telegram_id, answer, answered_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (notice_id, telegram_id)"
            " DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at",
            (notice_id, telegram_id, answer, to_epoch(now)),
        )

    async def notice_answer(self, notice_id: int, telegram_id: int) -> str | None:
        value = await self._db.fetch_value(
            "SELECT answer FROM notice_answers WHERE notice_id = ? AND telegram_id = ?",
            (notice_id, telegram_id),
        )
        return None if value is None else str(value)

    # Impostor reports ------------------------------------------------------------------

    async def add_report(
        self,
        tx: Transaction,
        *,
        reporter_id: int,
        enterprise_id: int | None,
        claimed_official_id: int | None,
        claimed_name: str,
        channel: str,
        contact: str,
        asked_for: str,
        details: str,
        now: datetime,
    ) -> Report:
        cursor = await tx.execute(
            "INSERT INTO impostor_reports (reporter_id, enterprise_id, claimed_official_id,"
            " claimed_name, channel, contact, asked_for, details, created_at)"
            f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_REPORT_COLUMNS}",
            (
                reporter_id,
                enterprise_id,
                claimed_official_id,
                claimed_name,
                channel,
                contact,
                asked_for,
                details,
                to_epoch(now),
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        return row_to(Report, row)

    async def report(self, report_id: int) -> Report | None:
        row = await self._db.fetch_one(
            f"SELECT {_REPORT_COLUMNS} FROM impostor_reports WHERE id = ?", (report_id,)
        )
        return None if row is None else row_to(Report, row)

    async def mark_warned(self, tx: Transaction, report_id: int, now: datetime) -> bool:
        """Record in ``tx`` that the portfolio was warned; False if it already was."""
        cursor = await tx.execute(
            "UPDATE impostor_reports SET warned_at = ? WHERE id = ? AND warned_at IS NULL",
            (to_epoch(now), report_id),
        )
        return cursor.rowcount == 1

    async def portfolio_contacts(self, official_id: int, scope: Scope = EVERYWHERE) -> list[int]:
        """Telegram ids of every contact of every enterprise in the official's portfolio (a
        city admin's warning: of the enterprises of their city)."""
        clause, city = scope.where("e.city")
        rows = await self._db.fetch_all(
            "SELECT DISTINCT c.telegram_id FROM enterprise_contacts c"
            " JOIN assignments a ON a.enterprise_id = c.enterprise_id"
            " JOIN enterprises e ON e.id = c.enterprise_id"
            " WHERE a.official_id = ? AND c.telegram_id IS NOT NULL AND e.status = 'active'"
            f"{clause} ORDER BY c.telegram_id",
            (official_id, *city),
        )
        return [row[0] for row in rows]
