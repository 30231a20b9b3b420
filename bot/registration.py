"""An enterprise registered by a user who was not invited: checked, stored as pending, and
approved or rejected by an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.cities import BY_CODE
from bot.credit_code import InvalidCreditCode, validate_credit_code
from storage.enterprises import EnterpriseRepository
from storage.models import Enterprise, EnterpriseStatus, Stage
from storage.outbox import NewMessage

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


async def register(
    enterprises: EnterpriseRepository,
    application: Application,
    *,
    user_id: int,
    name: str,
    now: datetime,
    then: Sequence[NewMessage] = (),
) -> Enterprise:
    """Store the enterprise as pending with the user as its contact, and ``then`` (the user's
    receipt) queued, in one transaction; refuse a known code, unless its registration was
    rejected: then it is applied for again (a rejection is about that application, not a ban
    on the firm)."""
    known = await enterprises.by_credit_code(application.credit_code)
    if known is not None and known.status is EnterpriseStatus.REJECTED:
        again = await enterprises.resubmit_rejected(
            known.id,
            name=application.name,
            city=application.city,
            stage=application.stage,
            industry=application.industry,
            registered_by=user_id,
            contact_name=name,
            now=now,
            then=then,
        )
        if again is not None:
            return again
    if known is not None:
        raise BadField("code_taken")
    return await enterprises.add_registered(
        name=application.name,
        credit_code=application.credit_code,
        city=application.city,
        stage=application.stage,
        industry=application.industry,
        registered_by=user_id,
        contact_name=name,
        now=now,
        then=then,
    )


async def decide(
    enterprises: EnterpriseRepository, enterprise_id: int, *, approve: bool
) -> Enterprise | None:
    """Approve or reject a pending enterprise; None when it is not pending (any more)."""
    status = EnterpriseStatus.ACTIVE if approve else EnterpriseStatus.REJECTED
    if not await enterprises.decide(enterprise_id, status):
        return None
    return await enterprises.get(enterprise_id)
