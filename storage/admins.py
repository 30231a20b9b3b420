"""The appointed admins of the offices (issue 18): who serves which office, since when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from storage.audit import record_in
from storage.db import Database, Transaction
from storage.rows import row_to, rows_to
from storage.scope import Scope

_COLUMNS = (
    "a.id, a.telegram_id, a.office, a.appointed_by, a.appointed_at,"
    " COALESCE(u.first_name, '') AS name, u.username"
)
_FROM = "FROM admins a LEFT JOIN users u ON u.telegram_id = a.telegram_id"


@dataclass(frozen=True, slots=True)
class AdminRecord:
    id: int
    telegram_id: int
    office: str
    appointed_by: int | None
    appointed_at: datetime
    name: str
    username: str | None


class AdminRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def office_of(self, telegram_id: int) -> str | None:
        value = await self._db.fetch_value(
            "SELECT office FROM admins WHERE telegram_id = ? AND revoked_at IS NULL",
            (telegram_id,),
        )
        return None if value is None else str(value)

    async def get(self, admin_id: int) -> AdminRecord | None:
        """A serving admin by their appointment's id (None once revoked)."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} {_FROM} WHERE a.id = ? AND a.revoked_at IS NULL", (admin_id,)
        )
        return None if row is None else row_to(AdminRecord, row)

    async def active(self, office: str) -> list[AdminRecord]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} {_FROM} WHERE a.office = ? AND a.revoked_at IS NULL"
            " ORDER BY a.appointed_at, a.id",
            (office,),
        )
        return rows_to(AdminRecord, rows)

    async def active_in(self, scope: Scope) -> list[AdminRecord]:
        """The serving admins of every office in ``scope`` (a city scope: that city's)."""
        clause, params = scope.where("a.office")
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} {_FROM} WHERE a.revoked_at IS NULL{clause}"
            " ORDER BY a.office, a.appointed_at, a.id",
            params,
        )
        return rows_to(AdminRecord, rows)

    async def revoke_in(self, tx: Transaction, admin_id: int, *, by: int, now: datetime) -> bool:
        """End an appointment in ``tx``; False when it was no longer serving."""
        cursor = await tx.execute(
            "UPDATE admins SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
            (to_epoch(now), by, admin_id),
        )
        return cursor.rowcount == 1


async def appoint_in(
    tx: Transaction, *, telegram_id: int, office: str, appointed_by: int | None, now: datetime
) -> None:
    """Make ``telegram_id`` an admin of ``office`` (ending any other appointment of theirs),
    with its audit entry, inside the caller's transaction (an invite's redemption)."""
    await tx.execute(
        "UPDATE admins SET revoked_at = ?, revoked_by = ? WHERE telegram_id = ?"
        " AND revoked_at IS NULL",
        (to_epoch(now), appointed_by, telegram_id),
    )
    await tx.execute(
        "INSERT INTO admins (telegram_id, office, appointed_by, appointed_at) VALUES (?, ?, ?, ?)",
        (telegram_id, office, appointed_by, to_epoch(now)),
    )
    await record_in(
        tx,
        now=now,
        actor_id=appointed_by,
        action="admin.appoint",
        subject=str(telegram_id),
        result=office,
    )
