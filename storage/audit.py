"""The audit log: who did what, to what, with which result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_epoch, to_epoch
from storage.db import Database


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    action: str
    subject: str
    result: str
    detail: str


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        now: datetime,
        actor_id: int | None,
        action: str,
        subject: str = "",
        result: str = "",
        detail: str = "",
    ) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (at, actor_id, action, subject, result, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (to_epoch(now), actor_id, action, subject, result, detail),
            )

    async def by_actor(self, actor_id: int, limit: int = 50) -> list[AuditEntry]:
        return await self._entries("actor_id", actor_id, limit)

    async def by_action(self, action: str, limit: int = 50) -> list[AuditEntry]:
        return await self._entries("action", action, limit)

    async def _entries(self, column: str, value: object, limit: int) -> list[AuditEntry]:
        rows = await self._db.fetch_all(
            "SELECT at, actor_id, action, subject, result, detail FROM audit_log"
            f" WHERE {column} = ? ORDER BY id DESC LIMIT ?",
            (value, limit),
        )
        return [
            AuditEntry(
                at=from_epoch(r["at"]),
                actor_id=r["actor_id"],
                action=r["action"],
                subject=r["subject"],
                result=r["result"],
                detail=r["detail"],
            )
            for r in rows
        ]
