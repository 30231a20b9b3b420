"""An enterprise registered by a user who was not invited: checked, stored as pending, and
approved or rejected by an admin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.cities import BY_CODE
from bot.credit_code import InvalidCreditCode, validate_credit_code
from bot.uow import UnitOfWork
from storage.db import Transaction
from storage.enterprises import EnterpriseRepository
from storage.models import Enterprise, EnterpriseStatus, Stage
from storage.outbox import NewMessage, enqueue

MAX_NAME = 200
# The outbox kind of a registration's notices: to the admins to decide, to the registrant after.
REGISTRATION_KIND = "registration"
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
    uow: UnitOfWork,
    enterprises: EnterpriseRepository,
    application: Application,
    *,
    user_id: int,
    name: str,
    now: datetime,
    messages: Callable[[Enterprise], Sequence[NewMessage]] = lambda _: (),
) -> Enterprise:
    """Store the enterprise as pending with the user as its contact, and ``messages`` (the
    user's receipt, the admins' notice with its approve and reject buttons) queued, in one
    transaction, so a crash keeps all or nothing; refuse a known code, unless its
    registration was rejected: then it is applied for again (a rejection is about that
    application, not a ban on the firm)."""
    known = await enterprises.by_credit_code(application.credit_code)
    if known is not None and known.status is not EnterpriseStatus.REJECTED:
        raise BadField("code_taken")
    async with uow.transaction() as tx:
        enterprise = await _store_pending(tx, enterprises, application, known, user_id, name, now)
        await enqueue(tx, list(messages(enterprise)), now=now)
    return enterprise


async def _store_pending(
    tx: Transaction,
    enterprises: EnterpriseRepository,
    application: Application,
    known: Enterprise | None,
    user_id: int,
    name: str,
    now: datetime,
) -> Enterprise:
    """A new pending enterprise, or the rejected one ``known`` pending again."""
    if known is None:
        return await enterprises.insert_registered(
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
    again = await enterprises.reopen_rejected(
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
    if again is None:
        raise BadField("code_taken")
    return again


async def decide(
    uow: UnitOfWork, enterprises: EnterpriseRepository, enterprise_id: int, *, approve: bool
) -> Enterprise | None:
    """Approve or reject a pending enterprise; None when it is not pending (any more)."""
    status = EnterpriseStatus.ACTIVE if approve else EnterpriseStatus.REJECTED
    async with uow.transaction() as tx:
        if not await enterprises.decide(tx, enterprise_id, status):
            return None
        return await enterprises.get_in(tx, enterprise_id)
