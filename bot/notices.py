"""Contact notices: an official says ahead of a call or message that it is really them (which
channel, from which number, within which window), and the enterprise's contacts answer."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Clock
from bot.uow import UnitOfWork
from storage.officials import OfficialRepository
from storage.verification import Notice, VerificationRepository


class ContactNotices:
    """Stores contact notices and the contacts' answers, each in one transaction."""

    def __init__(
        self,
        repo: VerificationRepository,
        *,
        officials: OfficialRepository,
        clock: Clock,
        uow: UnitOfWork,
    ) -> None:
        self._repo = repo
        self._officials = officials
        self._clock = clock
        self._uow = uow

    async def announce(
        self, official_id: int, enterprise_id: int, *, channel: str, window: timedelta
    ) -> Notice:
        """A notice from now for ``window``; by phone it shows the official's number's last
        four digits."""
        now = self._clock.now()
        last4 = await self._officials.phone_last4(official_id) if channel == "phone" else None
        async with self._uow.transaction() as tx:
            return await self._repo.add_notice(
                tx,
                official_id=official_id,
                enterprise_id=enterprise_id,
                channel=channel,
                phone_last4=last4,
                window_start=now,
                window_end=now + window,
                now=now,
            )

    async def answer(self, notice: Notice, telegram_id: int, answer: str) -> None:
        """The contact's answer to the notice (a later one replaces it)."""
        async with self._uow.transaction() as tx:
            await self._repo.answer_notice(tx, notice.id, telegram_id, answer, self._clock.now())
