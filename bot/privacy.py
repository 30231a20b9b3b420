"""A user's personal data on an admin's request: exported as JSON, or erased.

Erasing keeps the service's records whole: the user's requests, their history and messages
stay, with the person's Telegram id replaced by a random pseudonym (a negative number);
what identifies or reaches the person (the user row, names, usernames, phones, an official's
WeChat IDs and e-mail addresses, contact entries, drafts, dialogues in progress, queued
messages) is deleted. The audit log names the user only by a keyed hash of the Telegram id
(:func:`subject_of`): whoever knows the id and the key can check that it was erased; the log
alone does not say who it was.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bot.accounts import Accounts
from bot.clock import Clock
from bot.config import PrivacySettings
from bot.dialogues import Dialogues
from bot.intake import Drafts
from bot.uow import UnitOfWork
from storage.audit import AuditLog, record_in
from storage.privacy import ERASED, PersonalData, PrivacyRepository

EXPORTED = "personal_data.export"
TIME_FIELDS = frozenset(
    {
        "at",
        "created_at",
        "seen_at",
        "unreachable_at",
        "used_at",
        "answered_at",
        "sent_at",
        "updated_at",
    }
)


def subject_of(telegram_id: int, key: bytes) -> str:
    """How the audit log names an exported or erased user: a keyed hash, not the id."""
    digest = hmac.new(key, f"user:{telegram_id}".encode(), hashlib.sha256).hexdigest()
    return f"user:{digest[:16]}"


def is_user_id(value: int) -> bool:
    """A Telegram user id: positive, and within SQLite's 64-bit integers."""
    return 0 < value < 2**63


def new_pseudonym() -> int:
    """Stands for the erased person in what stays; never a Telegram user id (those are > 0)."""
    return -(secrets.randbelow(2**52) + 1)


def to_json(data: PersonalData, *, tz: tzinfo, now: datetime) -> bytes:
    """The export file: every kind of data, times in the bot's time zone."""
    document = {
        "telegram_id": data.telegram_id,
        "exported_at": now.astimezone(tz).isoformat(),
        **{kind: [_readable(row, tz) for row in rows] for kind, rows in data.kinds.items()},
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def _readable(row: dict[str, Any], tz: tzinfo) -> dict[str, Any]:
    return {
        name: datetime.fromtimestamp(value, UTC).astimezone(tz).isoformat()
        if name in TIME_FIELDS and isinstance(value, int)
        else value
        for name, value in row.items()
    }


class Privacy:
    """Export and erasure, each audited."""

    def __init__(
        self,
        repository: PrivacyRepository,
        *,
        audit: AuditLog,
        accounts: Accounts,
        dialogues: Dialogues,
        drafts: Drafts,
        clock: Clock,
        hash_key: bytes,
        tz: tzinfo,
        settings: PrivacySettings,
        uow: UnitOfWork,
    ) -> None:
        self.repository = repository
        self._uow = uow
        self._audit = audit
        self._accounts = accounts
        self._dialogues = dialogues
        self._drafts = drafts
        self._clock = clock
        self._key = hash_key
        self._tz = tz
        self.settings = settings

    async def export(self, telegram_id: int, *, admin_id: int) -> bytes | None:
        """The JSON file of everything stored about the user; None if nothing is."""
        data = await self.repository.collect(telegram_id)
        if not data.found:
            return None
        now = self._clock.now()
        await self._audit.record(
            now=now,
            actor_id=admin_id,
            action=EXPORTED,
            subject=subject_of(telegram_id, self._key),
            result="sent",
        )
        return to_json(data, tz=self._tz, now=now)

    async def erase(self, telegram_id: int, *, admin_id: int) -> int | None:
        """Erase the user's personal data; how many rows changed, None if nothing was stored."""
        if not (await self.repository.collect(telegram_id)).found:
            return None
        now = self._clock.now()
        async with self._uow.transaction() as tx:
            changed = await self.repository.erase(tx, telegram_id, pseudonym=new_pseudonym())
            await record_in(
                tx,
                now=now,
                actor_id=admin_id,
                action=ERASED,
                subject=subject_of(telegram_id, self._key),
                result=f"{changed} rows",
            )
        self._accounts.forget(telegram_id)
        self._dialogues.drop(telegram_id)
        self._drafts.forget(telegram_id)
        return changed

    async def prune(self) -> int:
        """Delete what is kept only for a while: old drafts, old throttle records."""
        now = self._clock.now()
        try:
            async with self._uow.transaction() as tx:
                return await self.repository.prune(
                    tx,
                    drafts_before=now - timedelta(days=self.settings.keep_drafts_days),
                    throttle_before=now - timedelta(hours=self.settings.keep_throttle_hours),
                )
        finally:
            self._drafts.forget_all()
