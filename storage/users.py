"""Telegram users the bot has seen, their language and whether they can be reached."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.models import User
from storage.rows import row_to

_COLUMNS = "telegram_id, first_name, username, telegram_language, language, unreachable_at"


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def places_of(self, telegram_id: int) -> set[str]:
        """Every city (and office) the user belongs to: of the enterprises they speak for,
        registered or filed requests for, of their official's seat, of the office they are an
        admin of ('province' for a province admin). A city office's admins may read and erase
        a user who belongs to their city alone (bot/roles.py)."""
        rows = await self._db.fetch_all(
            "SELECT e.city FROM enterprise_contacts c JOIN enterprises e ON e.id = c.enterprise_id"
            " WHERE c.telegram_id = ?1"
            " UNION SELECT e.city FROM enterprises e WHERE e.registered_by = ?1"
            " UNION SELECT e.city FROM requests r JOIN enterprises e ON e.id = r.enterprise_id"
            " WHERE r.submitted_by = ?1"
            " UNION SELECT city FROM officials WHERE telegram_id = ?1"
            " UNION SELECT office FROM admins WHERE telegram_id = ?1 AND revoked_at IS NULL",
            (telegram_id,),
        )
        return {row[0] for row in rows}

    async def get(self, telegram_id: int) -> User | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM users WHERE telegram_id = ?", (telegram_id,)
        )
        return None if row is None else row_to(User, row)

    async def touch(
        self,
        telegram_id: int,
        *,
        first_name: str,
        username: str | None,
        telegram_language: str | None,
        now: datetime,
    ) -> None:
        """Record that the user wrote to the bot: they are reachable again."""
        await self._db.execute(
            "INSERT INTO users (telegram_id, first_name, username, telegram_language,"
            " created_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET first_name = excluded.first_name,"
            " username = excluded.username, telegram_language = excluded.telegram_language,"
            " seen_at = excluded.seen_at, unreachable_at = NULL",
            (telegram_id, first_name, username, telegram_language, to_epoch(now), to_epoch(now)),
        )

    async def set_language(self, tx: Transaction, telegram_id: int, language: str) -> None:
        await tx.execute(
            "UPDATE users SET language = ? WHERE telegram_id = ?", (language, telegram_id)
        )

    async def mark_unreachable(self, tx: Transaction, telegram_id: int, now: datetime) -> None:
        await tx.execute(
            "UPDATE users SET unreachable_at = COALESCE(unreachable_at, ?) WHERE telegram_id = ?",
            (to_epoch(now), telegram_id),
        )

    async def mark_reachable(self, tx: Transaction, telegram_id: int) -> None:
        await tx.execute(
            "UPDATE users SET unreachable_at = NULL WHERE telegram_id = ?", (telegram_id,)
        )
