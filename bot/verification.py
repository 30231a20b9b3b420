"""Verifying an official: spoken one-time codes, card tokens, verdicts and the throttle policy.

A code is ``code_digits`` decimal digits from :mod:`secrets`, read out in groups of four
("4831 2907"). Only its HMAC-SHA256 under ``[security] hash_key`` is stored, so reading the
database does not reveal live codes. A code verifies only for a contact of an enterprise in the
issuing official's portfolio: the one it was issued for, or, for a code for "any of my
enterprises", any of them. Every failed check (unknown, expired, used, foreign, outside the
portfolio) gets the same verdict; failures are throttled per user with a cool-down that doubles
each time. Nothing here knows Telegram.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.channels import ChannelHasher, Handle
from bot.config import Settings, VerificationSettings
from bot.logs import secret_issued
from bot.phones import PhoneHasher
from bot.roles import Actor
from bot.uow import UnitOfWork
from storage.audit import AuditLog, record_in
from storage.models import Official
from storage.officials import OfficialRepository
from storage.verification import BURST_ALERT, StoredCode, VerificationRepository

GROUP = 4
DAY = timedelta(days=1)
CARD_PAYLOAD_PREFIX = "card_"
CARD_TOKEN_BYTES = 12
# The audit action of revoking a card link.
CARD_REVOKE = "card.revoke"
# The outbox kind of an impostor report's alerts (to the admins and the impersonated official).
IMPOSTOR_KIND = "impostor"
_SEPARATORS = re.compile(r"[\s\-–—.·,，]+")


class Verdict(StrEnum):
    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    OWN_CODE = "own_code"


def generate_code(digits: int) -> str:
    """A uniformly random code of ``digits`` decimal digits (leading zeros allowed)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def display_code(code: str) -> str:
    """The code in groups of four for reading out: ``48312907`` → ``4831 2907``."""
    return " ".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def parse_code(text: str, digits: int) -> str | None:
    """The digits of a typed code (spaces and dashes allowed), or None if it is not one."""
    cleaned = _SEPARATORS.sub("", text.strip())
    # Full-width digits typed on a Chinese keyboard are digits too.
    cleaned = cleaned.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    if len(cleaned) != digits or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def hash_code(code: str, key: str) -> str:
    """The keyed hash under which a code is stored and looked up."""
    return hmac.new(key.encode(), b"code:" + code.encode(), hashlib.sha256).hexdigest()


def same_hash(stored: str, computed: str) -> bool:
    """Compare two hashes in constant time."""
    return hmac.compare_digest(stored.encode(), computed.encode())


def new_card_token() -> str:
    """A revocable business-card token, safe in a deep-link payload (``A-Za-z0-9_-``)."""
    token = secrets.token_urlsafe(CARD_TOKEN_BYTES)
    secret_issued("card token", token)
    return token


def hash_card_token(token: str, key: str) -> str:
    """The keyed hash under which a revoked or replaced card token is kept."""
    return hmac.new(key.encode(), b"card:" + token.encode(), hashlib.sha256).hexdigest()


class CardState(StrEnum):
    SHOWN = "shown"
    REVOKED = "revoked"  # revoked, or replaced by a newer link
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CardLookup:
    state: CardState
    official: Official | None = None


def card_payload(token: str) -> str:
    return f"{CARD_PAYLOAD_PREFIX}{token}"


def token_from_card_payload(payload: str) -> str | None:
    if not payload.startswith(CARD_PAYLOAD_PREFIX):
        return None
    return payload[len(CARD_PAYLOAD_PREFIX) :] or None


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    code_hash: str
    issued_at: datetime
    expires_at: datetime

    @property
    def display(self) -> str:
        return display_code(self.code)


def issue_code(settings: VerificationSettings, key: str, now: datetime) -> IssuedCode:
    code = generate_code(settings.code_digits)
    secret_issued("verification code", code)
    secret_issued("verification code (as displayed)", display_code(code))
    return IssuedCode(
        code=code,
        code_hash=hash_code(code, key),
        issued_at=now,
        expires_at=now + timedelta(minutes=settings.code_ttl_minutes),
    )


def valid_for(code: StoredCode) -> frozenset[int]:
    """The enterprises whose contacts this code verifies for: always within the portfolio."""
    if code.enterprise_id is None:
        return code.portfolio
    return code.portfolio & {code.enterprise_id}


def judge(
    candidate: StoredCode | None,
    computed_hash: str,
    *,
    now: datetime,
    enterprise_ids: frozenset[int],
    own_official_id: int | None,
) -> Verdict:
    """Whether a stored code verifies for this user now; every failure is the same verdict."""
    if candidate is None:
        # Still compare, so an unknown code costs what a known one does.
        same_hash(computed_hash, computed_hash)
        return Verdict.NOT_VERIFIED
    if not same_hash(candidate.code_hash, computed_hash):
        return Verdict.NOT_VERIFIED
    if own_official_id is not None and candidate.official_id == own_official_id:
        return Verdict.OWN_CODE
    usable = candidate.used_at is None and now < candidate.expires_at
    ours = not valid_for(candidate).isdisjoint(enterprise_ids)
    return Verdict.VERIFIED if usable and ours else Verdict.NOT_VERIFIED


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    per_window: int
    window: timedelta
    per_day: int
    cooldown: timedelta

    @classmethod
    def from_settings(cls, settings: VerificationSettings) -> ThrottlePolicy:
        return cls(
            per_window=settings.failures_per_window,
            window=timedelta(minutes=settings.failure_window_minutes),
            per_day=settings.failures_per_day,
            cooldown=timedelta(minutes=settings.cooldown_minutes),
        )


def blocked_until(
    failures: Sequence[datetime], now: datetime, policy: ThrottlePolicy
) -> datetime | None:
    """When the user may try again after these failures, or None if they may try now.

    Reaching ``per_window`` failures within ``window`` starts a cool-down that doubles with
    each lock-out of the last day; ``per_day`` failures within 24 hours lock until the oldest
    of them is a day old.
    """
    recent = sorted(f for f in failures if f > now - DAY)
    until: datetime | None = None
    lockouts = 0
    counted: list[datetime] = []
    for failure in recent:
        counted = [c for c in counted if c > failure - policy.window]
        counted.append(failure)
        if len(counted) >= policy.per_window:
            until = failure + policy.cooldown * (2**lockouts)
            lockouts += 1
            counted = []
    if len(recent) >= policy.per_day:
        day_until = recent[len(recent) - policy.per_day] + DAY
        until = day_until if until is None else max(until, day_until)
    return until if until is not None and until > now else None


def burst(failures_in_window: int, settings: VerificationSettings) -> bool:
    """Whether failures across all users in the alert window are unusual enough to alert."""
    return failures_in_window >= settings.global_alert_failures


def guess_odds(settings: VerificationSettings, live_codes: int = 1) -> tuple[int, int, float]:
    """(codes possible, guesses one user may make in a day, at most the chance one of them hits).

    ``live_codes`` is how many codes a guess can hit at any moment of that day: every live
    code valid for one of the user's enterprises (see :func:`valid_for`), that is the codes
    issued for one of them plus the "any of my enterprises" codes of every official whose
    portfolio holds one of them. Live codes never share a hash, so one guess hits with chance
    ``live_codes / space``, and a day's guesses together at most ``guesses`` times that.
    """
    space = 10**settings.code_digits
    guesses = settings.failures_per_day
    return space, guesses, min(1.0, guesses * live_codes / space)


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: Verdict
    code: StoredCode | None = None
    official: Official | None = None
    retry_at: datetime | None = None
    burst: bool = False


@dataclass(frozen=True, slots=True)
class LookupResult:
    official: Official | None
    retry_at: datetime | None = None
    burst: bool = False


class Verifier:
    """Issues and checks codes and look-ups, with throttling, the burst alarm and the audit log."""

    def __init__(
        self,
        repo: VerificationRepository,
        officials: OfficialRepository,
        audit: AuditLog,
        settings: Settings,
        uow: UnitOfWork,
    ) -> None:
        self._repo = repo
        self._uow = uow
        self._officials = officials
        self._audit = audit
        self._settings = settings.verification
        self._key = settings.security.hash_key.get_secret_value()
        self.channels = ChannelHasher(self._key.encode())
        self.phones: PhoneHasher = self.channels  # a number is one of the channels
        self._policy = ThrottlePolicy.from_settings(settings.verification)

    async def issue(
        self, official: Official, enterprise_id: int | None, now: datetime
    ) -> IssuedCode:
        """A fresh code for this official, unlike any live one."""
        async with self._uow.transaction() as tx:  # the code and its audit entry together
            while True:
                issued = issue_code(self._settings, self._key, now)
                stored = await self._repo.add_code(
                    tx,
                    code_hash=issued.code_hash,
                    official_id=official.id,
                    enterprise_id=enterprise_id,
                    issued_at=issued.issued_at,
                    expires_at=issued.expires_at,
                )
                if stored:
                    break
            await record_in(
                tx,
                now=now,
                actor_id=official.telegram_id,
                action="verification.issue",
                subject=f"official:{official.id}",
                result="issued",
                detail=f"enterprise:{enterprise_id or 'any'}",
            )
        return issued

    async def retry_at(self, telegram_id: int, now: datetime) -> datetime | None:
        """When a throttled user may try again, or None if they may try now."""
        failures = await self._repo.failures_of(telegram_id, now - DAY)
        return blocked_until(failures, now, self._policy)

    async def check(self, actor: Actor, code: str, now: datetime) -> CheckResult:
        """Check a typed code (already parsed) for this user's enterprises."""
        retry = await self.retry_at(actor.telegram_id, now)
        if retry is not None:
            await self._record(actor.telegram_id, "verification.check", "throttled", now)
            return CheckResult(Verdict.NOT_VERIFIED, retry_at=retry)
        computed = hash_code(code, self._key)
        stored = await self._repo.find_code(computed)
        own = actor.official.id if actor.official is not None else None
        verdict = judge(
            stored, computed, now=now, enterprise_ids=actor.enterprise_ids, own_official_id=own
        )
        if verdict is Verdict.VERIFIED and stored is not None:
            async with self._uow.transaction() as tx:  # used, and audited as used, together
                used = await self._repo.use_code(tx, stored.id, used_by=actor.telegram_id, now=now)
                if used:
                    await record_in(
                        tx,
                        now=now,
                        actor_id=actor.telegram_id,
                        action="verification.check",
                        subject=f"official:{stored.official_id}",
                        result="verified",
                    )
            if used:
                official = await self._officials.get(stored.official_id)
                return CheckResult(verdict, code=stored, official=official)
            verdict = Verdict.NOT_VERIFIED
        if verdict is Verdict.OWN_CODE:
            await self._record(actor.telegram_id, "verification.check", "own_code", now)
            return CheckResult(verdict)
        burst = await self._fail(actor.telegram_id, "code", now)
        await self._record(actor.telegram_id, "verification.check", "not_verified", now)
        return CheckResult(Verdict.NOT_VERIFIED, burst=burst)

    async def lookup_phone(self, telegram_id: int, e164: str, now: datetime) -> LookupResult:
        """Whose registered number this is, if anybody's."""
        return await self._lookup(
            telegram_id,
            "phone",
            now,
            lambda: self._officials.by_phone_hash(self.phones.digest(e164)),
        )

    async def lookup_handle(self, telegram_id: int, handle: Handle, now: datetime) -> LookupResult:
        """Whose registered WeChat ID or e-mail address this is, if anybody's."""
        return await self._lookup(
            telegram_id,
            handle.channel,
            now,
            lambda: self._officials.by_channel_digest(self.channels.handle_digest(handle)),
        )

    async def lookup_account(
        self, telegram_id: int, account_id: int, now: datetime
    ) -> LookupResult:
        """Whose Telegram account this is, if a registered official's."""
        return await self._lookup(
            telegram_id, "account", now, lambda: self._officials.by_telegram_id(account_id)
        )

    async def _lookup(
        self,
        telegram_id: int,
        what: str,
        now: datetime,
        find: Callable[[], Awaitable[Official | None]],
    ) -> LookupResult:
        retry = await self.retry_at(telegram_id, now)
        if retry is not None:
            await self._record(telegram_id, f"verification.lookup_{what}", "throttled", now)
            return LookupResult(None, retry_at=retry)
        official = await find()
        if official is not None:
            await self._record(
                telegram_id, f"verification.lookup_{what}", "official", now, official.id
            )
            return LookupResult(official)
        burst = await self._fail(telegram_id, "lookup", now)
        await self._record(telegram_id, f"verification.lookup_{what}", "unknown", now)
        return LookupResult(None, burst=burst)

    async def _fail(self, telegram_id: int, kind: str, now: datetime) -> bool:
        """Record a failure; True if it makes an unusual burst the admins have not heard of."""
        async with self._uow.transaction() as tx:
            await self._repo.record_failure(tx, telegram_id, kind, now)
        since = now - timedelta(minutes=self._settings.global_alert_window_minutes)
        if not burst(await self._repo.failures_since(since), self._settings):
            return False
        if await self._repo.burst_alerted_since(since):
            return False
        await self._audit.record(now=now, actor_id=None, action=BURST_ALERT, result="alerted")
        return True

    async def _record(
        self, actor_id: int, action: str, result: str, now: datetime, official_id: int | None = None
    ) -> None:
        subject = f"official:{official_id}" if official_id is not None else ""
        await self._audit.record(
            now=now, actor_id=actor_id, action=action, subject=subject, result=result
        )

    # Business cards --------------------------------------------------------------------

    async def card_token(self, official: Official, now: datetime) -> str:
        """The official's live card token, making a new one if they have none or it is revoked.

        A replaced token's hash is kept as revoked, so its old link says "revoked".
        """
        if official.card_token is not None and not official.card_revoked:
            return official.card_token
        token = new_card_token()
        old = official.card_token
        retired = None if old is None else (old, hash_card_token(old, self._key))
        async with self._uow.transaction() as tx:
            await self._repo.set_card_token(tx, official.id, token, retired=retired, now=now)
        return token

    async def revoke_card(self, official_id: int, *, actor_id: int, now: datetime) -> None:
        """Revoke the official's card link (old QR codes then say so), with its audit entry."""
        async with self._uow.transaction() as tx:
            await self._repo.revoke_card(tx, official_id, now)
            await record_in(
                tx,
                now=now,
                actor_id=actor_id,
                action=CARD_REVOKE,
                subject=f"official:{official_id}",
            )

    async def open_card(self, token: str) -> CardLookup:
        """What a card link with this token shows: the card, "revoked", or "unknown"."""
        official = await self._officials.by_card_token(token) if token else None
        if official is not None:
            state = CardState.REVOKED if official.card_revoked else CardState.SHOWN
            return CardLookup(state, official)
        if not token:
            return CardLookup(CardState.UNKNOWN)
        retired = await self._repo.retired_card_official(hash_card_token(token, self._key))
        if retired is not None:
            return CardLookup(CardState.REVOKED)
        return CardLookup(CardState.UNKNOWN)
