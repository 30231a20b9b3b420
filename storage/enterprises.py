"""Enterprises and their contacts (the people who speak for them in the bot)."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.models import Contact, Enterprise, EnterpriseStatus, Stage
from storage.rows import row_to, rows_to

_COLUMNS = "id, name, credit_code, city, stage, industry, status, registered_by"
_CONTACT_COLUMNS = "id, enterprise_id, name, phone_last4, telegram_id"


class EnterpriseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        tx: Transaction,
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
        cursor = await tx.execute(
            "INSERT INTO enterprises (name, credit_code, city, stage, industry, status,"
            f" registered_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
            (name, credit_code, city, stage, industry, status, registered_by, to_epoch(now)),
        )
        row = await cursor.fetchone()
        assert row is not None
        return row_to(Enterprise, row)

    async def get(self, enterprise_id: int) -> Enterprise | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM enterprises WHERE id = ?", (enterprise_id,)
        )
        return None if row is None else row_to(Enterprise, row)

    async def get_in(self, tx: Transaction, enterprise_id: int) -> Enterprise | None:
        """:meth:`get` as ``tx`` sees it."""
        rows = await tx.execute_fetchall(
            f"SELECT {_COLUMNS} FROM enterprises WHERE id = ?", (enterprise_id,)
        )
        return row_to(Enterprise, rows[0]) if rows else None

    async def by_credit_code(self, credit_code: str) -> Enterprise | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM enterprises WHERE credit_code = ?", (credit_code,)
        )
        return None if row is None else row_to(Enterprise, row)

    async def of_user(self, telegram_id: int) -> list[Enterprise]:
        """The active enterprises this Telegram user speaks for."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM enterprises WHERE status = 'active' AND id IN"
            " (SELECT enterprise_id FROM enterprise_contacts WHERE telegram_id = ?) ORDER BY id",
            (telegram_id,),
        )
        return rows_to(Enterprise, rows)

    async def decide(self, tx: Transaction, enterprise_id: int, status: EnterpriseStatus) -> bool:
        """Settle a pending enterprise in ``tx``; False when it was not pending (someone
        decided first)."""
        cursor = await tx.execute(
            "UPDATE enterprises SET status = ? WHERE id = ? AND status = 'pending'",
            (status, enterprise_id),
        )
        return cursor.rowcount == 1

    async def reopen_rejected(
        self,
        tx: Transaction,
        enterprise_id: int,
        *,
        name: str,
        city: str,
        stage: Stage,
        industry: str,
        registered_by: int,
        contact_name: str,
        now: datetime,
    ) -> Enterprise | None:
        """A rejected registration applied for again, in ``tx``: pending once more, with the
        new details and the new applicant as its only contact; None if it is not rejected
        (any more)."""
        cursor = await tx.execute(
            "UPDATE enterprises SET name = ?, city = ?, stage = ?, industry = ?,"
            " status = 'pending', registered_by = ?, created_at = ?"
            f" WHERE id = ? AND status = 'rejected' RETURNING {_COLUMNS}",
            (name, city, stage, industry, registered_by, to_epoch(now), enterprise_id),
        )
        row = await cursor.fetchone()
        if row is None:
            return None
        await tx.execute(
            "DELETE FROM enterprise_contacts WHERE enterprise_id = ?", (enterprise_id,)
        )
        await tx.execute(
            "INSERT INTO enterprise_contacts (enterprise_id, name, telegram_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (enterprise_id, contact_name, registered_by, to_epoch(now)),
        )
        return row_to(Enterprise, row)

    async def insert_registered(
        self,
        tx: Transaction,
        *,
        name: str,
        credit_code: str,
        city: str,
        stage: Stage,
        industry: str,
        registered_by: int,
        contact_name: str,
        now: datetime,
    ) -> Enterprise:
        """A self-registered enterprise, pending, with its applicant as contact, in ``tx``."""
        (row,) = await tx.execute_fetchall(
            "INSERT INTO enterprises (name, credit_code, city, stage, industry, status,"
            " registered_by, created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"
            f" RETURNING {_COLUMNS}",
            (name, credit_code, city, stage, industry, registered_by, to_epoch(now)),
        )
        enterprise = row_to(Enterprise, row)
        await tx.execute(
            "INSERT INTO enterprise_contacts (enterprise_id, name, telegram_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (enterprise.id, contact_name, registered_by, to_epoch(now)),
        )
        return enterprise

    async def add_contact(
        self,
        tx: Transaction,
        enterprise_id: int,
        *,
        name: str = "",
        telegram_id: int | None = None,
        phone_hash: str | None = None,
        phone_last4: str | None = None,
        now: datetime,
    ) -> Contact:
        cursor = await tx.execute(
            "INSERT INTO enterprise_contacts (enterprise_id, name, telegram_id, phone_hash,"
            f" phone_last4, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {_CONTACT_COLUMNS}",
            (enterprise_id, name, telegram_id, phone_hash, phone_last4, to_epoch(now)),
        )
        row = await cursor.fetchone()
        assert row is not None
        return row_to(Contact, row)

    async def contacts(self, enterprise_id: int) -> list[Contact]:
        return await self._contacts_of("?", enterprise_id)

    async def contacts_of_request(self, request_id: int) -> list[Contact]:
        """:meth:`contacts` of the enterprise that filed the request, found by the request."""
        return await self._contacts_of(
            "(SELECT enterprise_id FROM requests WHERE id = ?)", request_id
        )

    async def _contacts_of(self, enterprise: str, key: int) -> list[Contact]:
        """The contacts of the enterprise whose id the SQL expression ``enterprise`` gives."""
        rows = await self._db.fetch_all(
            f"SELECT {_CONTACT_COLUMNS} FROM enterprise_contacts WHERE enterprise_id = {enterprise}"
            " ORDER BY id",
            (key,),
        )
        return rows_to(Contact, rows)

    async def contacts_in(self, tx: Transaction, enterprise_id: int) -> list[Contact]:
        """:meth:`contacts` as ``tx`` sees them."""
        rows = await tx.execute_fetchall(
            f"SELECT {_CONTACT_COLUMNS} FROM enterprise_contacts WHERE enterprise_id = ?"
            " ORDER BY id",
            (enterprise_id,),
        )
        return rows_to(Contact, rows)

    async def is_contact(self, telegram_id: int, enterprise_id: int) -> bool:
        value = await self._db.fetch_value(
            "SELECT 1 FROM enterprise_contacts WHERE telegram_id = ? AND enterprise_id = ?",
            (telegram_id, enterprise_id),
        )
        return value is not None
