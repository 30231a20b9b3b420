"""Invite links: how officials and enterprise contacts bind their Telegram accounts.

A token is 144 random bits from :mod:`secrets`, shown once as a deep link and stored only
as its SHA-256, so the database alone cannot be used to join. Tokens are single-use and
expire (``[security] invite_ttl_hours``).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.logs import secret_issued
from storage.invites import InviteRepository, Redemption
from storage.models import InviteKind

TOKEN_BYTES = 18
PAYLOAD_PREFIX = "inv_"


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    token: str
    payload: str
    expires_at: datetime

    def link(self, bot_username: str) -> str:
        return f"https://t.me/{bot_username}?start={self.payload}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_from_payload(payload: str) -> str | None:
    """The invite token carried by a /start payload, if the payload is an invite at all."""
    if not payload.startswith(PAYLOAD_PREFIX):
        return None
    return payload[len(PAYLOAD_PREFIX) :]


async def issue_invite(
    repo: InviteRepository,
    *,
    kind: InviteKind,
    official_id: int | None = None,
    enterprise_id: int | None = None,
    contact_id: int | None = None,
    office: str | None = None,
    created_by: int | None = None,
    now: datetime,
    ttl: timedelta,
) -> IssuedInvite:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    secret_issued("invite token", token)
    expires_at = now + ttl
    await repo.create(
        token_hash=hash_token(token),
        kind=kind,
        official_id=official_id,
        enterprise_id=enterprise_id,
        contact_id=contact_id,
        office=office,
        created_by=created_by,
        now=now,
        expires_at=expires_at,
    )
    return IssuedInvite(token=token, payload=PAYLOAD_PREFIX + token, expires_at=expires_at)


async def redeem_invite(
    repo: InviteRepository, token: str, *, telegram_id: int, name: str, now: datetime
) -> tuple[Redemption, int | None]:
    return await repo.redeem(hash_token(token), telegram_id=telegram_id, name=name, now=now)
