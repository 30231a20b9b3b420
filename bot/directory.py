"""The roster one entry at a time: an official, an enterprise, a contact, an assignment, an
official's phone, WeChat ID or e-mail address, a supervisor; each written in its own unit of
work. Whole rosters are imported by bot/rosters.py; the sandbox's demo data, the scenarios and
the benchmarks add their entries here."""

from __future__ import annotations

from datetime import datetime

from bot.uow import UnitOfWork
from storage.enterprises import EnterpriseRepository
from storage.models import Contact, Enterprise, EnterpriseStatus, Official, Stage
from storage.officials import OfficialRepository


class Directory:
    """Adds officials and enterprises and links them, one transaction each."""

    def __init__(
        self, officials: OfficialRepository, enterprises: EnterpriseRepository, *, uow: UnitOfWork
    ) -> None:
        self._officials = officials
        self._enterprises = enterprises
        self._uow = uow

    async def add_official(
        self,
        *,
        external_id: str,
        name: str,
        title: str = "",
        body: str = "",
        level: str = "city",
        city: str = "",
        responsibilities: str = "",
        now: datetime,
    ) -> Official:
        async with self._uow.transaction() as tx:
            return await self._officials.add(
                tx,
                external_id=external_id,
                name=name,
                title=title,
                body=body,
                level=level,
                city=city,
                responsibilities=responsibilities,
                now=now,
            )

    async def add_phone(self, official_id: int, *, phone_hash: str, last4: str) -> None:
        async with self._uow.transaction() as tx:
            await self._officials.add_phone(tx, official_id, phone_hash=phone_hash, last4=last4)

    async def add_channel(self, official_id: int, *, channel: str, digest: str, hint: str) -> None:
        """Register a WeChat ID or address to the official (taking it from anyone else)."""
        async with self._uow.transaction() as tx:
            await self._officials.add_channel(
                tx, official_id, channel=channel, digest=digest, hint=hint
            )

    async def set_supervisor(self, official_id: int, supervisor_id: int | None) -> None:
        async with self._uow.transaction() as tx:
            await self._officials.set_supervisor(tx, official_id, supervisor_id)

    async def assign(
        self, official_id: int, enterprise_id: int, *, primary: bool = True, now: datetime
    ) -> None:
        """Link an enterprise to an official; a primary link replaces any earlier primary one."""
        async with self._uow.transaction() as tx:
            await self._officials.assign(tx, official_id, enterprise_id, primary=primary, now=now)

    async def add_enterprise(
        self,
        *,
        name: str,
        credit_code: str,
        city: str,
        stage: Stage,
        industry: str = "",
        status: EnterpriseStatus = EnterpriseStatus.ACTIVE,
        registered_by: int | None = None,
        now: datetime,
    ) -> Enterprise:
        async with self._uow.transaction() as tx:
            return await self._enterprises.add(
                tx,
                name=name,
                credit_code=credit_code,
                city=city,
                stage=stage,
                industry=industry,
                status=status,
                registered_by=registered_by,
                now=now,
            )

    async def add_contact(
        self,
        enterprise_id: int,
        *,
        name: str = "",
        telegram_id: int | None = None,
        phone_hash: str | None = None,
        phone_last4: str | None = None,
        now: datetime,
    ) -> Contact:
        async with self._uow.transaction() as tx:
            return await self._enterprises.add_contact(
                tx,
                enterprise_id,
                name=name,
                telegram_id=telegram_id,
                phone_hash=phone_hash,
                phone_last4=phone_last4,
                now=now,
            )
