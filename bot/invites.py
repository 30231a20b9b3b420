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
from bot.uow import UnitOfWork
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


class Invites:
    """Issues invite links and redeems them, each in one transaction."""

    def __init__(self, repo: InviteRepository, *, uow: UnitOfWork) -> None:
        self._repo = repo
        self._uow = uow

    async def issue(
        self,
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
        """A new single-use invite, stored by its hash; the token is shown only here."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        secret_issued("invite token", token)
        expires_at = now + ttl
        async with self._uow.transaction() as tx:
            await self._repo.create(
                tx,
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

    async def redeem(
        self, token: str, *, telegram_id: int, name: str, now: datetime
    ) -> tuple[Redemption, int | None]:
        """Use the invite once and bind the user; the outcome and the bound id."""
        async with self._uow.transaction() as tx:
            return await self._repo.redeem(
                tx, hash_token(token), telegram_id=telegram_id, name=name, now=now
            )
