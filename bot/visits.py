"""Site visits (实地走访): an official records visiting one of their enterprises, and is told
it is recorded (a receipt queued in the same transaction)."""

from __future__ import annotations

from datetime import date

from bot.clock import Clock
from bot.receipts import queue_receipt
from bot.requests import Wake
from bot.uow import UnitOfWork
from storage.officials import OfficialRepository
from storage.visits import Visit, VisitRepository


class NotAssigned(Exception):
    """The enterprise is not (any more) in the official's portfolio."""


class SiteVisits:
    """Records an official's visits to the enterprises they are in charge of."""

    def __init__(
        self,
        repo: VisitRepository,
        *,
        officials: OfficialRepository,
        clock: Clock,
        uow: UnitOfWork,
        wake: Wake,
    ) -> None:
        self._repo = repo
        self._officials = officials
        self._clock = clock
        self._uow = uow
        self._wake = wake

    async def record(
        self,
        official_id: int,
        enterprise_id: int,
        *,
        visited_on: date,
        notes: str,
        receipt_to: int,
        receipt_text: str,
    ) -> Visit:
        """Store the visit with its receipt for ``receipt_to``, then send the receipt;
        :class:`NotAssigned` when the portfolio changed since the enterprise was chosen."""
        if not await self._officials.is_assigned(official_id, enterprise_id):
            raise NotAssigned(enterprise_id)
        now = self._clock.now()
        async with self._uow.transaction() as tx:
            visit = await self._repo.add(
                tx,
                official_id=official_id,
                enterprise_id=enterprise_id,
                visited_on=visited_on,
                notes=notes,
                now=now,
            )
            await queue_receipt(tx, receipt_to, receipt_text, now=now)
        self._wake()
        return visit

    async def of_enterprise(self, enterprise_id: int) -> list[Visit]:
        """The visits to the enterprise, oldest first."""
        return await self._repo.of_enterprise(enterprise_id)
