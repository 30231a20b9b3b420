"""The offices (issue 18): the province office and one per city, each with its admins.

The province office and the offices of Liaoning's 14 cities and 沈抚示范区 exist from the start
(:data:`OFFICES`). Every admin belongs to one office: the ids in ``[admins]`` are the province's
bootstrap admins; the others are appointed by a one-time invite link and may be revoked
(``admins`` table, :mod:`storage.admins`). A province admin acts everywhere, a city admin only
within their city (:func:`scope_of`; the rule is part of the access policy, bot/roles.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.cities import BY_CODE, CITIES, city_name, parse_city
from bot.invites import Invites, IssuedInvite
from bot.uow import UnitOfWork
from storage.admins import AdminRecord, AdminRepository
from storage.audit import AuditLog, record_in
from storage.models import InviteKind, Official
from storage.scope import PROVINCE, Scope, scope_of_office

__all__ = ["OFFICES", "PROVINCE", "Offices", "office_name", "office_of_holder", "parse_office"]
OFFICES: tuple[str, ...] = (PROVINCE, *(city.code for city in CITIES))
PROVINCE_NAMES = {"zh": "辽宁省", "en": "Liaoning (province)"}
PROVINCE_ALIASES = frozenset({PROVINCE, "省", "全省", "辽宁", "辽宁省", "liaoning"})
# An official of this level serves the province, whatever city their seat is in.
PROVINCIAL_LEVEL = "province"


def parse_office(value: str) -> str | None:
    """The office for its code or name: the province (省, 辽宁省, province) or a city."""
    text = value.strip()
    if text.lower() in PROVINCE_ALIASES or text in PROVINCE_ALIASES:
        return PROVINCE
    return parse_city(text)


def office_name(office: str, language: str) -> str:
    """The office as people say it: 辽宁省 for the province, the city's name otherwise."""
    if office == PROVINCE:
        return PROVINCE_NAMES["zh" if language.startswith("zh") else "en"]
    return city_name(office, "zh" if language.startswith("zh") else language)


def scope_of(office: str | None) -> Scope:
    """What an admin of ``office`` may see and change: everything for the province office,
    their city for a city office. (Nobody else's scope is asked: the policy checks roles
    first.)"""
    return scope_of_office(office)


def office_of_holder(official: Official) -> str:
    """The office an official's overdue requests escalate to: the province office for a
    provincial leader (and for an official without a known city), their city's otherwise."""
    if official.level == PROVINCIAL_LEVEL or official.city not in BY_CODE:
        return PROVINCE
    return official.city


def may_manage(manager_office: str | None, office: str) -> bool:
    """Whether an admin of ``manager_office`` may appoint or revoke admins of ``office``: a
    province admin for every office, a city admin for their own city only."""
    return manager_office == PROVINCE or (manager_office is not None and manager_office == office)


@dataclass(frozen=True, slots=True)
class Roll:
    """The admins of one office: the bootstrap ids (province only) and the appointed ones."""

    office: str
    bootstrap: tuple[int, ...]
    appointed: tuple[AdminRecord, ...]

    @property
    def telegram_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys([*self.bootstrap, *(a.telegram_id for a in self.appointed)]))


class NotYourOffice(ValueError):
    """An admin tried to appoint or revoke for an office they do not manage."""


class Offices:
    """Who the admins of each office are: the config's bootstrap ids and the ``admins`` table;
    appointing (by a one-time invite link) and revoking them, each in the audit log."""

    def __init__(
        self,
        repo: AdminRepository,
        bootstrap: Collection[int],
        *,
        invites: Invites,
        audit: AuditLog,
        uow: UnitOfWork,
    ) -> None:
        self.repo = repo
        self._uow = uow
        self.bootstrap = tuple(dict.fromkeys(bootstrap))
        self._invites = invites
        self._audit = audit

    async def invite(
        self, office: str, *, by: int | None, by_office: str | None, now: datetime, ttl: timedelta
    ) -> IssuedInvite:
        """A one-time link that makes whoever opens it an admin of ``office``. ``by`` None is
        the operator at the command line (who acts for the province)."""
        if office not in OFFICES:
            raise ValueError(f"no office {office!r}")
        if by is not None and not may_manage(by_office, office):
            raise NotYourOffice(office)
        issued = await self._invites.issue(
            kind=InviteKind.ADMIN, office=office, created_by=by, now=now, ttl=ttl
        )
        await self._audit.record(now=now, actor_id=by, action="admin.invite", subject=office)
        return issued

    async def revoke(
        self, admin_id: int, *, by: int, by_office: str | None, now: datetime
    ) -> AdminRecord | None:
        """End an appointment (audited); None when it had already ended."""
        record = await self.repo.get(admin_id)
        if record is None:
            return None
        if not may_manage(by_office, record.office):
            raise NotYourOffice(record.office)
        async with self._uow.transaction() as tx:
            if not await self.repo.revoke_in(tx, admin_id, by=by, now=now):
                return None
            await record_in(
                tx,
                now=now,
                actor_id=by,
                action="admin.revoke",
                subject=str(record.telegram_id),
                result=record.office,
            )
        return record

    async def office_of(self, telegram_id: int) -> str | None:
        """The office ``telegram_id`` is an admin of now, or None (read on every update, so a
        revocation holds from the next press)."""
        appointed = (
            None if telegram_id in self.bootstrap else await self.repo.office_of(telegram_id)
        )
        return self.office_given(telegram_id, appointed)

    def office_given(self, telegram_id: int, appointed: str | None) -> str | None:
        """The office ``telegram_id`` is an admin of, ``appointed`` being their serving
        appointment's office as just read (a bootstrap admin is the province's)."""
        return PROVINCE if telegram_id in self.bootstrap else appointed

    async def admins_of(self, office: str) -> tuple[int, ...]:
        """The Telegram ids of the office's admins (the bootstrap ids for the province)."""
        appointed = [a.telegram_id for a in await self.repo.active(office)]
        bootstrap = self.bootstrap if office == PROVINCE else ()
        return tuple(dict.fromkeys([*bootstrap, *appointed]))

    async def province_admins(self) -> tuple[int, ...]:
        """The province office's admins: who hears of what concerns the whole bot (a message
        that did not arrive, a verification mark Telegram would not set)."""
        return await self.admins_of(PROVINCE)

    async def escalation_admins(self, official: Official) -> tuple[int, ...]:
        """Who an overdue request of ``official`` reaches: the admins of the holder's office,
        or the province's when that city has none."""
        office = office_of_holder(official)
        admins = await self.admins_of(office)
        if admins or office == PROVINCE:
            return admins
        return await self.admins_of(PROVINCE)

    async def concerned(self, city: str | None) -> tuple[int, ...]:
        """The admins of the office a matter of ``city`` concerns plus the province's."""
        city_admins = await self.admins_of(city) if city in BY_CODE else ()
        return tuple(dict.fromkeys([*await self.admins_of(PROVINCE), *city_admins]))

    async def rolls(self, scope: Scope) -> list[Roll]:
        """The admins of every office in ``scope`` (the province's first)."""
        offices = OFFICES if scope.everywhere else (scope.city or PROVINCE,)
        records = await self.repo.active_in(scope)
        return [
            Roll(
                office=office,
                bootstrap=self.bootstrap if office == PROVINCE else (),
                appointed=tuple(r for r in records if r.office == office),
            )
            for office in offices
        ]
