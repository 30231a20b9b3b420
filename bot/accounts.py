"""Telegram accounts as users of the bot: profile, language, reachability.

Every update comes from a user; writing their row on each one would cost a durable commit
per update, so known profiles are cached and written only when something changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.i18n import pick_language
from bot.uow import UnitOfWork
from storage.users import UserRepository


@dataclass(frozen=True, slots=True)
class Profile:
    first_name: str
    username: str | None
    telegram_language: str | None
    language: str | None
    reachable: bool


class Accounts:
    def __init__(self, users: UserRepository, *, default_language: str, uow: UnitOfWork) -> None:
        self._users = users
        self._uow = uow
        self._default_language = default_language
        self._known: dict[int, Profile] = {}

    async def seen(
        self,
        telegram_id: int,
        *,
        first_name: str,
        username: str | None,
        telegram_language: str | None,
        now: datetime,
    ) -> Profile:
        """Record that the user wrote to the bot; returns their current profile."""
        known = self._known.get(telegram_id) or await self._load(telegram_id)
        fresh = (first_name, username, telegram_language, True)
        if (
            known is not None
            and (known.first_name, known.username, known.telegram_language, known.reachable)
            == fresh
        ):
            return known
        await self._users.touch(
            telegram_id,
            first_name=first_name,
            username=username,
            telegram_language=telegram_language,
            now=now,
        )
        profile = Profile(
            first_name, username, telegram_language, known.language if known else None, True
        )
        self._known[telegram_id] = profile
        return profile

    async def _load(self, telegram_id: int) -> Profile | None:
        user = await self._users.get(telegram_id)
        if user is None:
            return None
        return Profile(
            user.first_name,
            user.username,
            user.telegram_language,
            user.language,
            user.unreachable_at is None,
        )

    async def language_of(self, telegram_id: int) -> str:
        profile = self._known.get(telegram_id) or await self._load(telegram_id)
        if profile is None:
            return self._default_language
        return pick_language(profile.language, profile.telegram_language, self._default_language)

    async def set_language(self, telegram_id: int, language: str) -> None:
        async with self._uow.transaction() as tx:
            await self._users.set_language(tx, telegram_id, language)
        self._known.pop(telegram_id, None)

    async def mark_unreachable(self, telegram_id: int, now: datetime) -> None:
        async with self._uow.transaction() as tx:
            await self._users.mark_unreachable(tx, telegram_id, now)
        self._known.pop(telegram_id, None)

    async def mark_reachable(self, telegram_id: int) -> None:
        async with self._uow.transaction() as tx:
            await self._users.mark_reachable(tx, telegram_id)
        self._known.pop(telegram_id, None)

    def forget(self, telegram_id: int) -> None:
        """Drop the cached profile of a user whose row was erased."""
        self._known.pop(telegram_id, None)
