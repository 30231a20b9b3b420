"""Impostor reports: an entrepreneur reports somebody who claimed to be an official; an admin
may then warn every enterprise of the impersonated official's portfolio, once."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.uow import UnitOfWork
from storage.audit import record_in
from storage.verification import Report, VerificationRepository

REPORT_ACTION = "impostor.report"


@dataclass(frozen=True, slots=True)
class Claim:
    """What the reporter says happened."""

    enterprise_id: int | None
    claimed_official_id: int | None
    claimed_name: str
    channel: str
    contact: str
    asked_for: str
    details: str


class ImpostorReports:
    """Stores reports with their audit entry, and the one warning of a portfolio."""

    def __init__(self, repo: VerificationRepository, *, clock: Clock, uow: UnitOfWork) -> None:
        self._repo = repo
        self._clock = clock
        self._uow = uow

    async def report(self, reporter_id: int, claim: Claim) -> Report:
        """Store the report and its audit entry in one transaction."""
        now = self._clock.now()
        async with self._uow.transaction() as tx:
            report = await self._repo.add_report(
                tx,
                reporter_id=reporter_id,
                enterprise_id=claim.enterprise_id,
                claimed_official_id=claim.claimed_official_id,
                claimed_name=claim.claimed_name,
                channel=claim.channel,
                contact=claim.contact,
                asked_for=claim.asked_for,
                details=claim.details,
                now=now,
            )
            await record_in(
                tx,
                now=now,
                actor_id=reporter_id,
                action=REPORT_ACTION,
                subject=f"report:{report.id}",
                result="stored",
            )
        return report

    async def mark_warned(self, report_id: int) -> bool:
        """Record that the portfolio is being warned; False if it already was."""
        async with self._uow.transaction() as tx:
            return await self._repo.mark_warned(tx, report_id, self._clock.now())
