"""Typed, frozen rows as the rest of the application sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    STARTUP = "startup"
    GROWTH = "growth"
    MATURE = "mature"


class Tier(StrEnum):
    """An official's tier (``officials.level``)."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"


class EnterpriseStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"


class InviteKind(StrEnum):
    OFFICIAL = "official"
    CONTACT = "contact"
    ADMIN = "admin"  # appoints an admin of an office (issue 18)


@dataclass(frozen=True, slots=True)
class User:
    telegram_id: int
    first_name: str
    username: str | None
    telegram_language: str | None
    language: str | None
    unreachable_at: datetime | None


@dataclass(frozen=True, slots=True)
class Official:
    id: int
    external_id: str
    name: str
    title: str
    body: str
    level: str
    city: str
    responsibilities: str
    supervisor_id: int | None
    telegram_id: int | None
    card_token: str | None
    card_revoked: bool
    active: bool


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: int
    name: str
    credit_code: str
    city: str
    stage: Stage
    industry: str
    status: EnterpriseStatus
    registered_by: int | None


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    enterprise_id: int
    name: str
    phone_last4: str | None
    telegram_id: int | None


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    kind: InviteKind
    official_id: int | None
    enterprise_id: int | None
    contact_id: int | None
    expires_at: datetime
    used_at: datetime | None
    office: str | None = None  # an admin invite's office (issue 18)
    created_by: int | None = None
