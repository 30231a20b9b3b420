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
