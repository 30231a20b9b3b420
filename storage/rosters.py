"""Rosters in bulk: officials, enterprises with contacts, and assignments, upserted by key.

Every import runs in one transaction with ``executemany``: a roster goes in whole or not at
all. Upserts only touch rows whose values differ, so importing the same file twice changes
nothing (and the change count says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.scope import EVERYWHERE, Scope


@dataclass(frozen=True, slots=True)
class PhoneRecord:
    phone_hash: str
    last4: str


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """A WeChat ID or e-mail address as stored: its keyed digest and display hint."""

    channel: str
    digest: str
    hint: str


@dataclass(frozen=True, slots=True)
class OfficialRecord:
    external_id: str
    name: str
    title: str
    body: str
    level: str
    city: str
    responsibilities: str
    phones: tuple[PhoneRecord, ...] = ()
    supervisor: str | None = None
    channels: tuple[ChannelRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class ContactRecord:
    name: str
    phone: PhoneRecord | None


@dataclass(frozen=True, slots=True)
class EnterpriseRecord:
    credit_code: str
    name: str
    city: str
    stage: str
    industry: str
    contacts: tuple[ContactRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    official: str  # external id
    credit_code: str
    primary: bool


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """Records new to the roster, and existing records whose own fields changed."""

    added: int
    changed: int


_UPSERT_OFFICIAL = """
INSERT INTO officials (external_id, name, title, body, level, city, responsibilities, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (external_id) DO UPDATE SET
    name = excluded.name, title = excluded.title, body = excluded.body, level = excluded.level,
    city = excluded.city, responsibilities = excluded.responsibilities
WHERE officials.name IS DISTINCT FROM excluded.name
   OR officials.title IS DISTINCT FROM excluded.title
   OR officials.body IS DISTINCT FROM excluded.body
   OR officials.level IS DISTINCT FROM excluded.level
   OR officials.city IS DISTINCT FROM excluded.city
   OR officials.responsibilities IS DISTINCT FROM excluded.responsibilities
"""

_UPSERT_PHONE = """
INSERT INTO official_phones (phone_hash, official_id, last4)
VALUES (?, (SELECT id FROM officials WHERE external_id = ?), ?)
ON CONFLICT (phone_hash) DO UPDATE SET official_id = excluded.official_id
WHERE official_phones.official_id IS DISTINCT FROM excluded.official_id
"""

_UPSERT_CHANNEL = """
INSERT INTO official_channels (digest, official_id, channel, hint)
VALUES (?, (SELECT id FROM officials WHERE external_id = ?), ?, ?)
ON CONFLICT (digest) DO UPDATE SET official_id = excluded.official_id
WHERE official_channels.official_id IS DISTINCT FROM excluded.official_id
"""

_SET_SUPERVISOR = """
UPDATE officials SET supervisor_id = (SELECT id FROM officials WHERE external_id = ?)
WHERE external_id = ?
  AND supervisor_id IS DISTINCT FROM (SELECT id FROM officials WHERE external_id = ?)
"""

_UPSERT_ENTERPRISE = """
INSERT INTO enterprises (credit_code, name, city, stage, industry, created_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (credit_code) DO UPDATE SET
    name = excluded.name, city = excluded.city, stage = excluded.stage,
    industry = excluded.industry
WHERE enterprises.name IS DISTINCT FROM excluded.name
   OR enterprises.city IS DISTINCT FROM excluded.city
   OR enterprises.stage IS DISTINCT FROM excluded.stage
   OR enterprises.industry IS DISTINCT FROM excluded.industry
"""

# A contact is the same contact when its phone matches or, given without a phone, its name.
_ADD_CONTACT = """
INSERT INTO enterprise_contacts (enterprise_id, name, phone_hash, phone_last4, created_at)
SELECT e.id, ?1, ?2, ?3, ?4 FROM enterprises e WHERE e.credit_code = ?5
AND NOT EXISTS (
    SELECT 1 FROM enterprise_contacts c WHERE c.enterprise_id = e.id
    AND (c.phone_hash = ?2 OR (?2 IS NULL AND c.name = ?1))
)
"""

_DEMOTE_PRIMARY = """
UPDATE assignments SET is_primary = 0
WHERE is_primary = 1
  AND enterprise_id = (SELECT id FROM enterprises WHERE credit_code = ?)
  AND official_id != (SELECT id FROM officials WHERE external_id = ?)
"""

_UPSERT_ASSIGNMENT = """
INSERT INTO assignments (official_id, enterprise_id, is_primary, created_at)
VALUES ((SELECT id FROM officials WHERE external_id = ?),
        (SELECT id FROM enterprises WHERE credit_code = ?), ?, ?)
ON CONFLICT (official_id, enterprise_id) DO UPDATE SET is_primary = excluded.is_primary
WHERE assignments.is_primary != excluded.is_primary
"""


_OFFICIAL_IDS = "SELECT external_id FROM officials"
_CREDIT_CODES = "SELECT credit_code FROM enterprises"


class RosterRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def official_ids(self) -> set[str]:
        rows = await self._db.fetch_all(_OFFICIAL_IDS)
        return {row[0] for row in rows}

    async def official_cities(self) -> dict[str, str]:
        rows = await self._db.fetch_all("SELECT external_id, city FROM officials")
        return {row[0]: row[1] for row in rows}

    async def enterprise_cities(self) -> dict[str, str]:
        rows = await self._db.fetch_all("SELECT credit_code, city FROM enterprises")
        return {row[0]: row[1] for row in rows}

    async def credit_codes(self) -> set[str]:
        rows = await self._db.fetch_all(_CREDIT_CODES)
        return {row[0] for row in rows}

    async def ids_by_credit_code(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT credit_code, id FROM enterprises")
        return {row[0]: row[1] for row in rows}

    async def ids_by_external_id(self) -> dict[str, int]:
        rows = await self._db.fetch_all("SELECT external_id, id FROM officials")
        return {row[0]: row[1] for row in rows}

    async def primary_assignments(self) -> dict[str, str]:
        """Credit code → external id of the designated official."""
        rows = await self._db.fetch_all(
            "SELECT e.credit_code, o.external_id FROM assignments a"
            " JOIN enterprises e ON e.id = a.enterprise_id"
            " JOIN officials o ON o.id = a.official_id WHERE a.is_primary = 1"
        )
        return {row[0]: row[1] for row in rows}

    async def import_officials(
        self, tx: Transaction, records: Sequence[OfficialRecord], *, now: datetime
    ) -> ImportCounts:
        """Add or update the officials in ``tx``, with their phones, channels, supervisors."""
        existing = {row[0] for row in await tx.execute_fetchall(_OFFICIAL_IDS)}
        at = to_epoch(now)
        before = tx.total_changes
        await tx.executemany(
            _UPSERT_OFFICIAL,
            [
                (
                    r.external_id,
                    r.name,
                    r.title,
                    r.body,
                    r.level,
                    r.city,
                    r.responsibilities,
                    at,
                )
                for r in records
            ],
        )
        changes = tx.total_changes - before
        await tx.executemany(
            _UPSERT_PHONE,
            [(p.phone_hash, r.external_id, p.last4) for r in records for p in r.phones],
        )
        await tx.executemany(
            _UPSERT_CHANNEL,
            [(c.digest, r.external_id, c.channel, c.hint) for r in records for c in r.channels],
        )
        await tx.executemany(
            _SET_SUPERVISOR,
            [(r.supervisor, r.external_id, r.supervisor) for r in records],
        )
        added = sum(1 for r in records if r.external_id not in existing)
        return ImportCounts(added=added, changed=changes - added)

    async def import_enterprises(
        self, tx: Transaction, records: Sequence[EnterpriseRecord], *, now: datetime
    ) -> ImportCounts:
        """Add or update the enterprises in ``tx``, with their contacts."""
        existing = {row[0] for row in await tx.execute_fetchall(_CREDIT_CODES)}
        at = to_epoch(now)
        before = tx.total_changes
        await tx.executemany(
            _UPSERT_ENTERPRISE,
            [(r.credit_code, r.name, r.city, r.stage, r.industry, at) for r in records],
        )
        changes = tx.total_changes - before
        await tx.executemany(
            _ADD_CONTACT,
            [
                (
                    c.name,
                    c.phone.phone_hash if c.phone else None,
                    c.phone.last4 if c.phone else None,
                    at,
                    r.credit_code,
                )
                for r in records
                for c in r.contacts
            ],
        )
        added = sum(1 for r in records if r.credit_code not in existing)
        return ImportCounts(added=added, changed=changes - added)

    async def import_assignments(
        self, tx: Transaction, records: Sequence[AssignmentRecord], *, now: datetime
    ) -> ImportCounts:
        """Add or update the assignments in ``tx`` (a primary one demotes the earlier one)."""
        at = to_epoch(now)
        before = tx.total_changes
        cursor = await tx.execute("SELECT COUNT(*) FROM assignments")
        row = await cursor.fetchone()
        count_before = row[0] if row else 0
        primaries = [(r.credit_code, r.official) for r in records if r.primary]
        await tx.executemany(_DEMOTE_PRIMARY, primaries)
        await tx.executemany(
            _UPSERT_ASSIGNMENT,
            [(r.official, r.credit_code, int(r.primary), at) for r in records],
        )
        changes = tx.total_changes - before
        cursor = await tx.execute("SELECT COUNT(*) FROM assignments")
        row = await cursor.fetchone()
        added = (row[0] if row else 0) - count_before
        return ImportCounts(added=added, changed=changes - added)

    async def export_officials(self, scope: Scope = EVERYWHERE) -> list[tuple[str, ...]]:
        """The officials as the roster lists them (a city office's: of its city)."""
        clause, city = scope.where("o.city")
        rows = await self._db.fetch_all(
            "SELECT o.external_id, o.name, o.title, o.body, o.level, o.city,"
            " o.responsibilities, COALESCE(s.external_id, '') FROM officials o"
            f" LEFT JOIN officials s ON s.id = o.supervisor_id WHERE 1 = 1{clause} ORDER BY o.id",
            city,
        )
        return [tuple(row) for row in rows]

    async def export_enterprises(self, scope: Scope = EVERYWHERE) -> list[tuple[str, ...]]:
        """The enterprises as the roster lists them (a city office's: of its city)."""
        clause, city = scope.where("e.city")
        rows = await self._db.fetch_all(
            "SELECT e.credit_code, e.name, e.city, e.stage, e.industry,"
            f" COALESCE((SELECT {SQL[self._db.dialect].joined('c.name', '; ')}"
            " FROM enterprise_contacts c"
            " WHERE c.enterprise_id = e.id AND c.name != ''), '')"
            f" FROM enterprises e WHERE 1 = 1{clause} ORDER BY e.id",
            city,
        )
        return [tuple(row) for row in rows]

    async def export_assignments(self, scope: Scope = EVERYWHERE) -> list[tuple[str, str, int]]:
        """Who is in charge of which enterprise (a city office's: its city's enterprises)."""
        clause, city = scope.where("e.city")
        rows = await self._db.fetch_all(
            "SELECT o.external_id, e.credit_code, a.is_primary FROM assignments a"
            " JOIN officials o ON o.id = a.official_id"
            f" JOIN enterprises e ON e.id = a.enterprise_id WHERE 1 = 1{clause}"
            " ORDER BY e.id, a.official_id",
            city,
        )
        return [(row[0], row[1], row[2]) for row in rows]


async def unbound_officials(db: Database) -> list[tuple[int, str, str]]:
    """(id, external id, name) of active officials who have not joined the bot yet."""
    rows = await db.fetch_all(
        "SELECT id, external_id, name FROM officials"
        " WHERE active = 1 AND telegram_id IS NULL ORDER BY id"
    )
    return [(row[0], row[1], row[2]) for row in rows]


async def active_enterprises(db: Database) -> list[tuple[int, str, str]]:
    """(id, credit code, name) of every active enterprise."""
    rows = await db.fetch_all(
        "SELECT id, credit_code, name FROM enterprises WHERE status = 'active' ORDER BY id"
    )
    return [(row[0], row[1], row[2]) for row in rows]
