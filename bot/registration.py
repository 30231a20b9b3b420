"""An enterprise registered by a user who was not invited: checked, stored as pending, and
approved or rejected by an admin.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.cities import BY_CODE
from bot.clock import Clock
from bot.credit_code import InvalidCreditCode, validate_credit_code
from bot.receipts import queue_receipt
from bot.requests import Wake
from bot.uow import UnitOfWork
from storage.enterprises import EnterpriseRepository
from storage.models import Enterprise, EnterpriseStatus, Stage

MAX_NAME = 200
MAX_INDUSTRY = 100


class BadField(ValueError):
    """A value the registration cannot take; ``reason`` is a catalog key suffix."""

    def __init__(self, reason: str, **params: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


def check_name(raw: str) -> str:
    name = raw.strip()
    if not name or len(name) > MAX_NAME:
        raise BadField("name")
    return name


def check_code(raw: str) -> str:
    """The normalised credit code, or the reason it is wrong."""
    try:
        return validate_credit_code(raw)
    except InvalidCreditCode as exc:
        raise BadField(f"code_{exc.reason}") from None


def check_city(slug: str) -> str:
    if slug not in BY_CODE:
        raise BadField("city")
    return slug


def check_industry(raw: str) -> str:
    industry = raw.strip()
    if not industry or len(industry) > MAX_INDUSTRY:
        raise BadField("industry")
    return industry


@dataclass(frozen=True, slots=True)
class Application:
    name: str
    credit_code: str
    city: str
    stage: Stage
    industry: str


class Registrations:
    """Stores registrations with the applicant's receipt, and an admin's decision on them."""

    def __init__(
        self, enterprises: EnterpriseRepository, *, clock: Clock, uow: UnitOfWork, wake: Wake
    ) -> None:
        self._enterprises = enterprises
        self._clock = clock
        self._uow = uow
        self._wake = wake

    async def register(
        self, application: Application, *, user_id: int, name: str, receipt: str | None = None
    ) -> Enterprise:
        """Store the enterprise as pending with the user as its contact, and ``receipt`` (what
        the user is told) queued for them, in one transaction; refuse a known code, unless its
        registration was rejected: then it is applied for again (a rejection is about that
        application, not a ban on the firm)."""
        known = await self._enterprises.by_credit_code(application.credit_code)
        if known is not None and known.status is not EnterpriseStatus.REJECTED:
            raise BadField("code_taken")
        now = self._clock.now()
        async with self._uow.transaction() as tx:
            enterprise = None
            if known is not None:
                enterprise = await self._enterprises.resubmit_rejected(
                    tx,
                    known.id,
                    name=application.name,
                    city=application.city,
                    stage=application.stage,
                    industry=application.industry,
                    registered_by=user_id,
                    contact_name=name,
                    now=now,
                )
                if enterprise is None:
                    raise BadField("code_taken")
            else:
                enterprise = await self._enterprises.add_registered(
                    tx,
                    name=application.name,
                    credit_code=application.credit_code,
                    city=application.city,
                    stage=application.stage,
                    industry=application.industry,
                    registered_by=user_id,
                    contact_name=name,
                    now=now,
                )
            if receipt is not None:
                await queue_receipt(tx, user_id, receipt, now=now)
        if receipt is not None:
            self._wake()
        return enterprise

    async def decide(self, enterprise_id: int, *, approve: bool) -> Enterprise | None:
        """Approve or reject a pending enterprise; None when it is not pending (any more)."""
        status = EnterpriseStatus.ACTIVE if approve else EnterpriseStatus.REJECTED
        async with self._uow.transaction() as tx:
            if not await self._enterprises.decide(tx, enterprise_id, status):
                return None
            return await self._enterprises.get_in(tx, enterprise_id)
