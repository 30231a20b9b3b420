"""Who may do what: roles come from the config (bootstrap admins) and the database (appointed
admins and everyone else).

Every update is checked against one policy (:data:`COMMAND_RULES`, :data:`BUTTON_RULES`,
:func:`permits`) before any handler runs, so a forged button or a typed command cannot act
for somebody else; the domain's services check ownership again where they load the object.

Office scope (issue 18) is one more rule of the same policy: an admin acts within their
office's :attr:`Actor.scope` — the whole province, or one city. Buttons naming an object check
it here (:meth:`Ownerships.owns`); commands and lists pass the scope to the storage queries
(:class:`storage.scope.Scope`), so a city admin's query returns their city's rows only.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from bot.offices import PROVINCE, Offices, may_manage, scope_of
from storage.admins import AdminRepository
from storage.broadcasts import BroadcastStore
from storage.enterprises import EnterpriseRepository
from storage.identities import IdentityRepository
from storage.models import Enterprise, Official
from storage.officials import OfficialRepository
from storage.requests import RequestRepository
from storage.scope import Scope
from storage.systemic_issues import SystemicIssueRepository
from storage.users import UserRepository
from storage.verification import VerificationRepository


class Role(StrEnum):
    ADMIN = "admin"
    OFFICIAL = "official"
    ENTREPRENEUR = "entrepreneur"
    GUEST = "guest"


@dataclass(frozen=True, slots=True)
class Actor:
    telegram_id: int
    # The office the user is an admin of: None for non-admins, PROVINCE or a city code.
    office: str | None = None
    official: Official | None = None
    enterprises: tuple[Enterprise, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return self.office is not None

    @property
    def is_province_admin(self) -> bool:
        return self.office == PROVINCE

    @property
    def scope(self) -> Scope:
        """What this admin may see and change: the whole province or their city."""
        return scope_of(self.office)

    def manages(self, office: str) -> bool:
        """Whether this admin may appoint and revoke the admins of ``office``."""
        return may_manage(self.office, office)

    @property
    def roles(self) -> frozenset[Role]:
        roles = set()
        if self.is_admin:
            roles.add(Role.ADMIN)
        if self.official is not None:
            roles.add(Role.OFFICIAL)
        if self.enterprises:
            roles.add(Role.ENTREPRENEUR)
        return frozenset(roles or {Role.GUEST})

    @property
    def main_role(self) -> Role:
        """The role whose menu the user sees: admin before official before entrepreneur."""
        for role in (Role.ADMIN, Role.OFFICIAL, Role.ENTREPRENEUR):
            if role in self.roles:
                return role
        return Role.GUEST

    @property
    def enterprise_ids(self) -> frozenset[int]:
        return frozenset(e.id for e in self.enterprises)

    def speaks_for(self, enterprise_id: int) -> bool:
        return enterprise_id in self.enterprise_ids

    def enterprise(self, enterprise_id: int | None) -> Enterprise | None:
        """The enterprise ``enterprise_id`` if the actor speaks for it, as read when they were
        identified (this update): the caller need not read it again."""
        return next((e for e in self.enterprises if e.id == enterprise_id), None)


async def identify(telegram_id: int, *, offices: Offices, identities: IdentityRepository) -> Actor:
    """Who ``telegram_id`` is now, read in one statement (every update asks)."""
    found = await identities.of(telegram_id)
    return Actor(
        telegram_id=telegram_id,
        office=offices.office_given(telegram_id, found.office),
        official=found.official,
        enterprises=found.enterprises,
    )


# -- the access policy -------------------------------------------------------------------------
#
# Who may use each command and press each button, as data: one :class:`Rule` per command and
# per button prefix, and one check (:func:`permits`). handlers/access.py applies it to every
# update before any handler runs; the authorization tests are generated from it. Finer rules
# (an official only within their city) are to be added here as fields of :class:`Rule`.


class Ownership(StrEnum):
    """Which object the button is about; the actor must relate to it (:meth:`Ownerships.owns`). The
    value is the button's field that holds the object's id."""

    REQUEST = "request_id"  # owner (its enterprise's contact), holder (official) or an admin
    PORTFOLIO = "enterprise_id"  # an enterprise in the official's portfolio
    NOTICE = "notice_id"  # a contact of the enterprise the notice is for
    # An admin's, within their office's scope (issue 18):
    ADMIN = "admin_id"  # an appointed admin of an office the actor manages
    REPORT = "report_id"  # an impostor report about an enterprise of their city
    ISSUE = "issue_id"  # a systemic issue of their office
    USER = (
        "telegram_id"  # a user who belongs to their city only (see :meth:`Ownerships.may_see_user`)
    )
    BROADCAST = "broadcast_id"  # an announcement made by their office
    REGISTRATION = "registration_id"  # an enterprise that registered in their city


# An enterprise id that names none: "any of mine" (a verification code for the whole portfolio).
ANY_ENTERPRISE = 0


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may: any of ``roles``; and, with ``owner``, only on an object they relate to;
    with ``province``, of the admins only the province office's (what is province-wide)."""

    roles: frozenset[Role]
    owner: Ownership | None = None
    province: bool = False


EVERYONE = frozenset(Role)
ADMINS = frozenset({Role.ADMIN})
OFFICIALS = frozenset({Role.OFFICIAL})
ENTREPRENEURS = frozenset({Role.ENTREPRENEUR})
STAFF = OFFICIALS | ADMINS
# Whoever may have a relation to a request: its enterprise, its official, an admin.
PARTIES = ENTREPRENEURS | STAFF

ADMIN_COMMANDS = (
    "queue", "issues", "issue", "issue_new", "issue_note", "issue_link", "similar",
    "ledger", "broadcast", "broadcasts", "history", "audit", "holidays",
    "export_user", "delete_user", "appoint", "admins", "roster",
)  # fmt: skip

COMMAND_RULES: dict[str, Rule] = {
    **{name: Rule(EVERYONE) for name in ("start", "help", "language", "cancel", "register")},
    **{name: Rule(ENTREPRENEURS) for name in ("new", "my", "who", "check", "report")},
    # Officials too may type a code a caller reads out, as entrepreneurs do.
    "verify": Rule(ENTREPRENEURS | OFFICIALS),
    "open": Rule(PARTIES, Ownership.REQUEST),
    **{name: Rule(OFFICIALS) for name in ("inbox", "visit", "code", "notice", "card")},
    **{name: Rule(STAFF) for name in ("stats", "charts")},
    **{name: Rule(ADMINS) for name in ADMIN_COMMANDS},
    # The working-day calendar is the province's.
    "holidays": Rule(ADMINS, province=True),
}

# Buttons whose first value names a command (a menu entry, a page of a list): they follow
# that command's rule.
COMMAND_BUTTONS = frozenset({"menu", "pg"})

BUTTON_RULES: dict[str, Rule] = {
    "lang": Rule(EVERYONE),
    "rg": Rule(EVERYONE),  # the steps of /register
    "rd": Rule(ADMINS, Ownership.REGISTRATION),  # approve or reject a registered enterprise
    "in": Rule(ENTREPRENEURS),  # the steps of /new
    "vs": Rule(OFFICIALS),  # the steps of /visit
    "rpt": Rule(ENTREPRENEURS),  # the steps of /report
    "rq": Rule(PARTIES, Ownership.REQUEST),
    "tv": Rule(PARTIES, Ownership.REQUEST),
    "rr": Rule(ENTREPRENEURS, Ownership.REQUEST),
    "ra": Rule(ADMINS, Ownership.REQUEST),
    "ntc": Rule(OFFICIALS, Ownership.PORTFOLIO),
    "nta": Rule(ENTREPRENEURS, Ownership.NOTICE),
    "code": Rule(OFFICIALS, Ownership.PORTFOLIO),
    "card": Rule(OFFICIALS),
    "warn": Rule(ADMINS, Ownership.REPORT),
    "si": Rule(ADMINS, Ownership.ISSUE),
    "bc": Rule(ADMINS, Ownership.BROADCAST),
    "bca": Rule(ADMINS),
    "bcv": Rule(ADMINS),
    "audit": Rule(ADMINS),
    "pd": Rule(ADMINS, Ownership.USER),
    "adm": Rule(ADMINS, Ownership.ADMIN),  # revoke an appointed admin
}


# Files sent to the bot that it loads: who may send them.
HOLIDAY_SCHEDULE, ROSTER = "holiday_schedule", "roster"
FILE_RULES: dict[str, Rule] = {
    HOLIDAY_SCHEDULE: Rule(ADMINS, province=True),
    ROSTER: Rule(ADMINS),
}


def command_rule(name: str) -> Rule | None:
    """The rule of a command, None for one the bot does not have."""
    return COMMAND_RULES.get(name)


def button_rule(prefix: str, first: str | None = None) -> Rule | None:
    """The rule of a button (``first``: its first value), None for one the bot never made."""
    if prefix in COMMAND_BUTTONS:
        return None if first is None else COMMAND_RULES.get(first)
    return BUTTON_RULES.get(prefix)


def permits(actor: Actor | Collection[Role], rule: Rule) -> bool:
    """Whether the actor (or somebody with these roles) has a role ``rule`` allows; whether
    they relate to the object is :meth:`Ownerships.owns`."""
    roles = actor.roles if isinstance(actor, Actor) else frozenset(actor)
    if rule.province and isinstance(actor, Actor) and not actor.is_province_admin:
        return False  # a city admin (the office scope rule)
    return bool(roles & rule.roles)


_ADMIN_OWNED = frozenset(
    {
        Ownership.REPORT,
        Ownership.ISSUE,
        Ownership.USER,
        Ownership.BROADCAST,
        Ownership.REGISTRATION,
    }
)


class Ownerships:
    """Whether an actor relates to a stored object: their request, their notice, their
    enterprise, or, for an admin, an object within their office (the reads
    :data:`BUTTON_RULES` needs)."""

    def __init__(
        self,
        *,
        requests: RequestRepository,
        verification: VerificationRepository,
        officials: OfficialRepository,
        enterprises: EnterpriseRepository,
        users: UserRepository,
        admins: AdminRepository,
        issues: SystemicIssueRepository,
        broadcasts: BroadcastStore,
    ) -> None:
        self._requests = requests
        self._verification = verification
        self._officials = officials
        self._enterprises = enterprises
        self._users = users
        self._admins = admins
        self._issues = issues
        self._broadcasts = broadcasts

    async def owns(self, actor: Actor, owner: Ownership, subject_id: int) -> bool:
        """Whether ``actor`` relates to the object as ``owner`` asks (False for none stored)."""
        if owner is Ownership.REQUEST:
            request = await self._requests.get(subject_id)
            if request is None:
                return False
            if actor.speaks_for(request.enterprise_id) or (
                actor.official is not None and actor.official.id == request.official_id
            ):
                return True
            return actor.is_admin and actor.scope.covers(request.city)
        if owner is Ownership.ADMIN:
            appointed = await self._admins.get(subject_id)
            return appointed is not None and actor.manages(appointed.office)
        if owner in _ADMIN_OWNED:
            return actor.is_admin and await self._within_office(actor, owner, subject_id)
        if owner is Ownership.NOTICE:
            notice = await self._verification.notice(subject_id)
            return notice is not None and actor.speaks_for(notice.enterprise_id)
        return actor.official is not None and (
            subject_id == ANY_ENTERPRISE
            or await self._officials.is_assigned(actor.official.id, subject_id)
        )

    async def _within_office(self, actor: Actor, owner: Ownership, subject_id: int) -> bool:
        """Whether the object an admin's button names is within their office (the office
        scope rule); a province admin's office is everywhere, the object need only exist."""
        scope = actor.scope
        if owner is Ownership.USER:
            return await self.may_see_user(actor, subject_id)
        if owner is Ownership.ISSUE:
            issue = await self._issues.get(subject_id)
            return issue is not None and scope.covers(issue.office)
        if owner is Ownership.BROADCAST:
            broadcast = await self._broadcasts.get(subject_id)
            return broadcast is not None and scope.covers(broadcast.office)
        if owner is Ownership.REPORT:
            report = await self._verification.report(subject_id)
            if report is None:
                return False
            enterprise_id = report.enterprise_id
        else:
            enterprise_id = subject_id
        if scope.everywhere:
            return True
        enterprise = None if enterprise_id is None else await self._enterprises.get(enterprise_id)
        return enterprise is not None and scope.covers(enterprise.city)

    async def may_see_user(self, actor: Actor, telegram_id: int) -> bool:
        """Whether an admin may read or erase what one user did and is: a province admin
        anyone; a city admin a user who belongs to their city and to no other office or city
        (a contact, an official, a registrant, an admin of it)."""
        if not actor.is_admin:
            return False
        if actor.scope.everywhere:
            return True
        places = await self._users.places_of(telegram_id)
        return bool(places) and places <= {actor.scope.city}
