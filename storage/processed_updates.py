"""Webhook de-duplication: an ``update_id`` seen twice is processed once."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database


class ProcessedUpdates:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, update_id: int, now: datetime) -> bool:
        """Record the update at receipt; False when it was already recorded (a duplicate)."""
        recorded = await self._db.execute(
            "INSERT INTO processed_updates (update_id, at) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING RETURNING update_id",
            (update_id, to_epoch(now)),
        )
        return len(recorded) == 1

    async def prune(self, before: datetime) -> int:
        """Forget updates recorded before ``before``; how many rows went."""
        gone = await self._db.execute(
            "DELETE FROM processed_updates WHERE at < ? RETURNING update_id", (to_epoch(before),)
        )
        return len(gone)

    async def healthy(self) -> bool:
        """A trivial read: the database answers."""
        return bool(await self._db.fetch_value("SELECT 1") == 1)
