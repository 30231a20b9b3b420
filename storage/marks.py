"""Telegram's verification mark: what Telegram was last told for each account, and failures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.models import Official
from storage.officials import _COLUMNS
from storage.rows import rows_to


@dataclass(frozen=True, slots=True)
class MarkRecord:
    """One account's row: the mark it carries at Telegram (``applied``) and the last failure."""

    telegram_id: int
    official_id: int | None
    applied: str | None
    attempts: int
    next_at: datetime
    failure: str | None
    error: str | None
    given_up_for: str | None
    reported: bool


_SUCCEEDED = """
INSERT INTO verification_marks (telegram_id, official_id, applied, updated_at)
VALUES (?, ?, ?, ?)
ON CONFLICT (telegram_id) DO UPDATE SET official_id = excluded.official_id,
    applied = excluded.applied, attempts = 0, next_at = 0, failure = NULL, error = NULL,
    given_up_for = NULL, reported_at = NULL, updated_at = excluded.updated_at
"""

_FAILED = """
INSERT INTO verification_marks
    (telegram_id, official_id, attempts, next_at, failure, error, given_up_for, updated_at)
VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (telegram_id) DO UPDATE SET
    official_id = COALESCE(?2, verification_marks.official_id),
    attempts = verification_marks.attempts + 1, next_at = ?3, failure = ?4, error = ?5,
    given_up_for = ?6, updated_at = ?7
"""


class MarkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def bound_officials(self) -> list[Official]:
        """Active officials with a Telegram account: the ones who should carry the mark."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM officials WHERE active = 1 AND telegram_id IS NOT NULL"
        )
        return rows_to(Official, rows)

    async def official_names(self) -> dict[int, str]:
        rows = await self._db.fetch_all("SELECT id, name FROM officials")
        return {row[0]: row[1] for row in rows}

    async def records(self) -> dict[int, MarkRecord]:
        rows = await self._db.fetch_all(
            "SELECT *, reported_at IS NOT NULL AS reported FROM verification_marks"
        )
        return {record.telegram_id: record for record in rows_to(MarkRecord, rows)}

    async def succeeded(
        self,
        tx: Transaction,
        telegram_id: int,
        official_id: int | None,
        applied: str | None,
        *,
        now: datetime,
    ) -> None:
        """Telegram did it: the account carries ``applied`` (None: no mark); failures cleared.
        An account without a mark and without a failure needs no row."""
        if applied is None:
            await tx.execute("DELETE FROM verification_marks WHERE telegram_id = ?", (telegram_id,))
            return
        await tx.execute(_SUCCEEDED, (telegram_id, official_id, applied, to_epoch(now)))

    async def failed(
        self,
        tx: Transaction,
        telegram_id: int,
        official_id: int | None,
        *,
        failure: str,
        error: str,
        next_at: datetime,
        given_up_for: str | None,
        now: datetime,
    ) -> None:
        await tx.execute(
            _FAILED,
            (
                telegram_id,
                official_id,
                to_epoch(next_at),
                failure,
                error[:200],
                given_up_for,
                to_epoch(now),
            ),
        )

    async def mark_reported(
        self, tx: Transaction, telegram_ids: Iterable[int], *, now: datetime
    ) -> None:
        await tx.executemany(
            "UPDATE verification_marks SET reported_at = ? WHERE telegram_id = ?",
            [(to_epoch(now), telegram_id) for telegram_id in telegram_ids],
        )
