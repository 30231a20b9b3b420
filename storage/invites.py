"""One-time invite links, stored by the hash of their token."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.clock import to_epoch
from storage.admins import appoint_in
from storage.db import Database, Transaction
from storage.models import Invite, InviteKind
from storage.rows import row_to


class Redemption(StrEnum):
    OFFICIAL = "official"
    CONTACT = "contact"
    ADMIN = "admin"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class InviteRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        tx: Transaction,
        *,
        token_hash: str,
        kind: InviteKind,
        official_id: int | None = None,
        enterprise_id: int | None = None,
        contact_id: int | None = None,
        office: str | None = None,
        created_by: int | None = None,
        now: datetime,
        expires_at: datetime,
    ) -> int:
        cursor = await tx.execute(
            "INSERT INTO invites (token_hash, kind, official_id, enterprise_id, contact_id,"
            " office, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                token_hash,
                kind,
                official_id,
                enterprise_id,
                contact_id,
                office,
                created_by,
                to_epoch(now),
                to_epoch(expires_at),
            ),
        )
        row = await cursor.fetchone()
        return int(row["id"])

    async def redeem(
        self, tx: Transaction, token_hash: str, *, telegram_id: int, name: str, now: datetime
    ) -> tuple[Redemption, int | None]:
        """Use the invite once in ``tx`` and bind the user; returns the outcome and the
        bound id."""
        cursor = await tx.execute(
            "SELECT id, kind, official_id, enterprise_id, contact_id, office, created_by,"
            " expires_at, used_at"
            " FROM invites WHERE token_hash = ?",
            (token_hash,),
        )
        row = await cursor.fetchone()
        if row is None:
            return Redemption.UNKNOWN, None
        invite = row_to(Invite, row)
        if invite.used_at is not None:
            return Redemption.USED, None
        if invite.expires_at <= now:
            return Redemption.EXPIRED, None
        await tx.execute(
            "UPDATE invites SET used_at = ?, used_by = ? WHERE id = ?",
            (to_epoch(now), telegram_id, invite.id),
        )
        if invite.kind is InviteKind.ADMIN and invite.office is not None:
            await appoint_in(
                tx,
                telegram_id=telegram_id,
                office=invite.office,
                appointed_by=invite.created_by,
                now=now,
            )
            return Redemption.ADMIN, None
        if invite.kind is InviteKind.OFFICIAL and invite.official_id is not None:
            await _bind_official(tx, invite.official_id, telegram_id)
            return Redemption.OFFICIAL, invite.official_id
        await _bind_contact(tx, invite, telegram_id, name, now)
        return Redemption.CONTACT, invite.enterprise_id


async def _bind_official(tx: Transaction, official_id: int, telegram_id: int) -> None:
    await tx.execute(
        "UPDATE officials SET telegram_id = NULL WHERE telegram_id = ?", (telegram_id,)
    )
    await tx.execute(
        "UPDATE officials SET telegram_id = ? WHERE id = ?", (telegram_id, official_id)
    )


async def _bind_contact(
    tx: Transaction, invite: Invite, telegram_id: int, name: str, now: datetime
) -> None:
    enterprise_id = invite.enterprise_id
    if invite.contact_id is not None:
        await tx.execute(
            "DELETE FROM enterprise_contacts WHERE enterprise_id = ? AND telegram_id = ?"
            " AND id != ?",
            (enterprise_id, telegram_id, invite.contact_id),
        )
        await tx.execute(
            "UPDATE enterprise_contacts SET telegram_id = ? WHERE id = ?",
            (telegram_id, invite.contact_id),
        )
        return
    await tx.execute(
        "INSERT INTO enterprise_contacts (enterprise_id, name, telegram_id, created_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (enterprise_id, telegram_id) DO NOTHING",
        (enterprise_id, name, telegram_id, to_epoch(now)),
    )
