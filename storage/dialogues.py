"""The short dialogues in progress, one row per user (see bot/dialogues.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.rows import rows_to

INTAKE = "intake"


@dataclass(frozen=True, slots=True)
class Dialogue:
    """Which short dialogue a user is in, and what they have told it so far."""

    telegram_id: int
    kind: str
    state: Mapping[str, Any]
    updated_at: datetime


class DialogueRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, dialogue: Dialogue) -> None:
        """Store the user's dialogue in one statement, replacing whatever they were in."""
        await self._db.execute_working_state(
            "INSERT INTO dialogues (telegram_id, kind, state, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (telegram_id) DO UPDATE SET kind = excluded.kind,"
            " state = excluded.state, updated_at = excluded.updated_at",
            (
                dialogue.telegram_id,
                dialogue.kind,
                json.dumps(dict(dialogue.state), ensure_ascii=False),
                to_epoch(dialogue.updated_at),
            ),
        )

    async def all(self) -> list[Dialogue]:
        rows = await self._db.fetch_all(
            "SELECT telegram_id, kind, state, updated_at FROM dialogues"
        )
        return rows_to(Dialogue, rows)

    async def drafts_since(self, since: datetime) -> list[Dialogue]:
        """The intake drafts (table ``drafts``) touched since ``since`` and not left for
        another journey, as dialogues of kind ``intake``: a restart in the middle of the intake
        is taken up like the others."""
        rows = await self._db.fetch_all(
            "SELECT telegram_id, ? AS kind, data AS state, updated_at FROM drafts"
            " WHERE updated_at >= ? AND left_at IS NULL",
            (INTAKE, to_epoch(since)),
        )
        return rows_to(Dialogue, rows)

    async def delete(self, telegram_id: int) -> None:
        """The user's dialogue ended: working state like its saves, one statement (a delete
        that depends on another write goes in that write's transaction, as :meth:`leave`)."""
        await self._db.execute_working_state(
            "DELETE FROM dialogues WHERE telegram_id = ?", (telegram_id,)
        )

    async def leave(self, tx: Transaction, telegram_id: int, now: datetime) -> None:
        """The user went on to another journey, in ``tx``: their short dialogue is deleted,
        their intake draft (if any) is kept for /new but marked as left."""
        await tx.execute("DELETE FROM dialogues WHERE telegram_id = ?", (telegram_id,))
        await tx.execute(
            "UPDATE drafts SET left_at = ? WHERE telegram_id = ? AND left_at IS NULL",
            (to_epoch(now), telegram_id),
        )
