"""Who may do what: roles come from the config (admins) and the database (everyone else).

Every handler and every button asks :func:`identify` for the current user's :class:`Actor`
and checks it with the ``require_*`` helpers before acting, so a forged button or a typed
command cannot act for somebody else.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from storage.enterprises import EnterpriseRepository
from storage.models import Enterprise, Official
from storage.officials import OfficialRepository


class Role(StrEnum):
    ADMIN = "admin"
    OFFICIAL = "official"
    ENTREPRENEUR = "entrepreneur"
    GUEST = "guest"


class Forbidden(Exception):
    """The actor may not do this; handlers answer with a plain refusal."""


@dataclass(frozen=True, slots=True)
class Actor:
    telegram_id: int
    is_admin: bool = False
    official: Official | None = None
    enterprises: tuple[Enterprise, ...] = field(default_factory=tuple)

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


async def identify(
    telegram_id: int,
    *,
    admin_ids: Collection[int],
    officials: OfficialRepository,
    enterprises: EnterpriseRepository,
) -> Actor:
    return Actor(
        telegram_id=telegram_id,
        is_admin=telegram_id in admin_ids,
        official=await officials.by_telegram_id(telegram_id),
        enterprises=tuple(await enterprises.of_user(telegram_id)),
    )


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("admin only")


def require_official(actor: Actor) -> Official:
    if actor.official is None:
        raise Forbidden("official only")
    return actor.official


def require_entrepreneur(actor: Actor) -> tuple[Enterprise, ...]:
    if not actor.enterprises:
        raise Forbidden("entrepreneur only")
    return actor.enterprises
