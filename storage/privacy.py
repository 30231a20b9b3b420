"""Everything stored about one Telegram user: read out for an export, or erased.

The inventory of personal data is docs/hardening.md §9; each table that names a user by
Telegram id appears here once in :data:`EXPORT` and once in :data:`ERASE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.dialect import SQL

ERASED = "personal_data.erase"

# One query per kind of data; each takes the user's Telegram id as :id.
EXPORT: dict[str, str] = {
    "user": "SELECT telegram_id, first_name, username, telegram_language, language,"
    " unreachable_at, created_at, seen_at FROM users WHERE telegram_id = :id",
    "official": "SELECT external_id, name, title, body, city, responsibilities, active"
    " FROM officials WHERE telegram_id = :id",
    "official_phones": "SELECT p.last4 FROM official_phones p"
    " JOIN officials o ON o.id = p.official_id WHERE o.telegram_id = :id",
    "official_channels": "SELECT c.channel, c.hint FROM official_channels c"
    " JOIN officials o ON o.id = c.official_id WHERE o.telegram_id = :id"
    " ORDER BY {insertion_order}",
    "enterprise_contacts": "SELECT e.name AS enterprise, c.name, c.phone_last4, c.created_at"
    " FROM enterprise_contacts c JOIN enterprises e ON e.id = c.enterprise_id"
    " WHERE c.telegram_id = :id",
    "enterprises_registered": "SELECT name, credit_code, status, created_at FROM enterprises"
    " WHERE registered_by = :id",
    "requests_submitted": "SELECT number, category, urgency, summary, description, details,"
    " status, rating, rating_comment, created_at FROM requests WHERE submitted_by = :id",
    "request_messages": "SELECT r.number, m.at, m.sender_role, m.internal, m.text,"
    " m.media_kind, m.file_name FROM request_messages m JOIN requests r ON r.id = m.request_id"
    " WHERE m.sender_id = :id ORDER BY m.id",
    "request_history": "SELECT r.number, h.at, h.from_status, h.to_status, h.note"
    " FROM request_history h JOIN requests r ON r.id = h.request_id WHERE h.actor_id = :id"
    " ORDER BY h.id",
    "notice_answers": "SELECT notice_id, answer, answered_at FROM notice_answers"
    " WHERE telegram_id = :id",
    "impostor_reports": "SELECT claimed_name, channel, contact, asked_for, details, created_at"
    " FROM impostor_reports WHERE reporter_id = :id",
    "drafts": "SELECT data, updated_at FROM drafts WHERE telegram_id = :id",
    "dialogues": "SELECT kind, state, updated_at FROM dialogues WHERE telegram_id = :id",
    "verification_codes_checked": "SELECT official_id, used_at FROM verification_codes"
    " WHERE used_by = :id",
    "invites_used": "SELECT kind, used_at FROM invites WHERE used_by = :id",
    "messages_to_user": "SELECT kind, status, created_at, sent_at FROM outbox"
    " WHERE recipient_id = :id ORDER BY id",
    "broadcasts_received": "SELECT broadcast_id, status, sent_at FROM broadcast_recipients"
    " WHERE telegram_id = :id",
    "systemic_issue_events": "SELECT issue_id, at, kind, detail FROM systemic_issue_events"
    " WHERE actor_id = :id",
    "audit_log": "SELECT at, action, subject, result FROM audit_log WHERE actor_id = :id"
    " OR subject = 'chat:' || :id ORDER BY id",
    "throttle_events": "SELECT kind, at FROM throttle_events WHERE telegram_id = :id",
}

# In one transaction, in this order: what identifies the person goes; their requests, the
# history, messages and records stay, with the Telegram id replaced by the pseudonym :p.
ERASE: tuple[str, ...] = (
    "UPDATE enterprises SET registered_by = NULL WHERE registered_by = :id",
    "DELETE FROM official_phones WHERE official_id IN"
    " (SELECT id FROM officials WHERE telegram_id = :id)",
    "DELETE FROM official_channels WHERE official_id IN"
    " (SELECT id FROM officials WHERE telegram_id = :id)",
    "UPDATE officials SET telegram_id = NULL WHERE telegram_id = :id",
    "DELETE FROM enterprise_contacts WHERE telegram_id = :id",
    "UPDATE requests SET submitted_by = :p WHERE submitted_by = :id",
    "UPDATE request_history SET actor_id = :p WHERE actor_id = :id",
    "UPDATE request_messages SET sender_id = :p WHERE sender_id = :id",
    "UPDATE notice_answers SET telegram_id = :p WHERE telegram_id = :id",
    "UPDATE impostor_reports SET reporter_id = :p WHERE reporter_id = :id",
    "UPDATE verification_codes SET used_by = :p WHERE used_by = :id",
    "UPDATE invites SET used_by = :p WHERE used_by = :id",
    "UPDATE systemic_issues SET created_by = :p WHERE created_by = :id",
    "UPDATE systemic_issue_events SET actor_id = :p WHERE actor_id = :id",
    "UPDATE broadcasts SET created_by = :p WHERE created_by = :id",
    "UPDATE broadcasts SET progress_chat_id = NULL, progress_message_id = NULL"
    " WHERE progress_chat_id = :id",
    "UPDATE broadcast_recipients SET telegram_id = :p WHERE telegram_id = :id",
    "UPDATE reminders SET recipient_id = :p,"
    " status = CASE status WHEN 'pending' THEN 'cancelled' ELSE status END"
    " WHERE recipient_id = :id",
    "DELETE FROM outbox WHERE recipient_id = :id",
    "UPDATE audit_log SET actor_id = :p WHERE actor_id = :id",
    "UPDATE audit_log SET subject = 'chat:' || :p WHERE subject = 'chat:' || :id",
    "DELETE FROM drafts WHERE telegram_id = :id",
    "DELETE FROM dialogues WHERE telegram_id = :id",
    "DELETE FROM throttle_events WHERE telegram_id = :id",
    "DELETE FROM users WHERE telegram_id = :id",
)


@dataclass(frozen=True, slots=True)
class PersonalData:
    """What is stored about one user, kind by kind (each kind a list of rows)."""

    telegram_id: int
    kinds: dict[str, list[dict[str, Any]]]

    @property
    def found(self) -> bool:
        return any(self.kinds.values())


class PrivacyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def collect(self, telegram_id: int) -> PersonalData:
        kinds = {}
        order = SQL[self._db.dialect].insertion_order("c")
        for kind, sql in EXPORT.items():
            sql = sql.replace("{insertion_order}", order)
            rows = await self._db.fetch_all(sql, {"id": telegram_id})
            kinds[kind] = [dict(row) for row in rows]
        return PersonalData(telegram_id, kinds)

    async def erase(self, tx: Transaction, telegram_id: int, *, pseudonym: int) -> int:
        """Erase in ``tx`` (the caller audits it there); how many rows changed or went."""
        changed = 0
        for sql in ERASE:
            cursor = await tx.execute(sql, {"id": telegram_id, "p": pseudonym})
            changed += max(cursor.rowcount, 0)
        return changed

    async def prune(
        self, tx: Transaction, *, drafts_before: datetime, throttle_before: datetime
    ) -> int:
        """Delete drafts and dialogues left untouched and throttle records older than those
        moments, in ``tx``."""
        drafts = await tx.execute(
            "DELETE FROM drafts WHERE updated_at < ?", (to_epoch(drafts_before),)
        )
        dialogues = await tx.execute(
            "DELETE FROM dialogues WHERE updated_at < ?", (to_epoch(drafts_before),)
        )
        throttle = await tx.execute(
            "DELETE FROM throttle_events WHERE at < ?", (to_epoch(throttle_before),)
        )
        return sum(max(c.rowcount, 0) for c in (drafts, dialogues, throttle))
