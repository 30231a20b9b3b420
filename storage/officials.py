"""Officials, their phones, WeChat IDs and e-mail addresses (hashed) and their portfolios."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_epoch
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.models import Official
from storage.rows import row_to, rows_to
from storage.scope import EVERYWHERE, Scope

_COLUMNS = (
    "id, external_id, name, title, body, level, city, responsibilities, supervisor_id,"
    " telegram_id, card_token, card_revoked_at IS NOT NULL AS card_revoked, active"
)


class OfficialRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        tx: Transaction,
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
        cursor = await tx.execute(
            "INSERT INTO officials (external_id, name, title, body, level, city,"
            " responsibilities, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            f" RETURNING {_COLUMNS}",
            (external_id, name, title, body, level, city, responsibilities, to_epoch(now)),
        )
        row = await cursor.fetchone()
        assert row is not None
        return row_to(Official, row)

    async def get(self, official_id: int) -> Official | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE id = ?", (official_id,)
        )
        return None if row is None else row_to(Official, row)

    async def get_in(self, tx: Transaction, official_id: int) -> Official | None:
        """:meth:`get` as ``tx`` sees it (a write transaction reads through its own connection)."""
        rows = await tx.execute_fetchall(
            f"SELECT {_COLUMNS} FROM officials WHERE id = ?", (official_id,)
        )
        return row_to(Official, rows[0]) if rows else None

    async def by_external_id(self, external_id: str) -> Official | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE external_id = ?", (external_id,)
        )
        return None if row is None else row_to(Official, row)

    async def by_telegram_id(self, telegram_id: int) -> Official | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE telegram_id = ? AND active = 1",
            (telegram_id,),
        )
        return None if row is None else row_to(Official, row)

    async def by_card_token(self, token: str) -> Official | None:
        """The official whose business card this token is, revoked or not."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE card_token = ? AND active = 1", (token,)
        )
        return None if row is None else row_to(Official, row)

    async def by_phone_hash(self, phone_hash: str) -> Official | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE active = 1 AND id ="
            " (SELECT official_id FROM official_phones WHERE phone_hash = ?)",
            (phone_hash,),
        )
        return None if row is None else row_to(Official, row)

    async def add_phone(
        self, tx: Transaction, official_id: int, *, phone_hash: str, last4: str
    ) -> None:
        await tx.execute(
            "INSERT INTO official_phones (phone_hash, official_id, last4) VALUES (?, ?, ?)"
            " ON CONFLICT (phone_hash) DO UPDATE SET official_id = excluded.official_id,"
            " last4 = excluded.last4",
            (phone_hash, official_id, last4),
        )

    async def phone_last4(self, official_id: int) -> str | None:
        value = await self._db.fetch_value(
            "SELECT last4 FROM official_phones WHERE official_id = ?"
            f" ORDER BY {SQL[self._db.dialect].insertion_order('')} LIMIT 1",
            (official_id,),
        )
        return None if value is None else str(value)

    async def by_channel_digest(self, digest: str) -> Official | None:
        """The active official whose WeChat ID or e-mail address has this digest."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE active = 1 AND id ="
            " (SELECT official_id FROM official_channels WHERE digest = ?)",
            (digest,),
        )
        return None if row is None else row_to(Official, row)

    async def add_channel(
        self, tx: Transaction, official_id: int, *, channel: str, digest: str, hint: str
    ) -> None:
        """Register a WeChat ID or address to the official (taking it from anyone else)."""
        await tx.execute(
            "INSERT INTO official_channels (digest, official_id, channel, hint)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO UPDATE SET"
            " official_id = excluded.official_id, hint = excluded.hint",
            (digest, official_id, channel, hint),
        )

    async def channel_hints(self, official_id: int) -> list[tuple[str, str]]:
        """(channel, hint) of the official's WeChat IDs and addresses, in the order added."""
        rows = await self._db.fetch_all(
            "SELECT channel, hint FROM official_channels WHERE official_id = ?"
            f" ORDER BY {SQL[self._db.dialect].insertion_order('')}",
            (official_id,),
        )
        return [(row[0], row[1]) for row in rows]

    async def set_supervisor(
        self, tx: Transaction, official_id: int, supervisor_id: int | None
    ) -> None:
        await tx.execute(
            "UPDATE officials SET supervisor_id = ? WHERE id = ?", (supervisor_id, official_id)
        )

    async def assign(
        self,
        tx: Transaction,
        official_id: int,
        enterprise_id: int,
        *,
        primary: bool = True,
        now: datetime,
    ) -> None:
        """Link an enterprise to an official; a primary link replaces any earlier primary one."""
        if primary:
            await tx.execute(
                "UPDATE assignments SET is_primary = 0 WHERE enterprise_id = ?",
                (enterprise_id,),
            )
        await tx.execute(
            "INSERT INTO assignments (official_id, enterprise_id, is_primary, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (official_id, enterprise_id)"
            " DO UPDATE SET is_primary = excluded.is_primary",
            (official_id, enterprise_id, int(primary), to_epoch(now)),
        )

    async def designated_for(self, enterprise_id: int) -> Official | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM officials WHERE active = 1 AND id ="
            " (SELECT official_id FROM assignments WHERE enterprise_id = ? AND is_primary = 1)",
            (enterprise_id,),
        )
        return None if row is None else row_to(Official, row)

    async def portfolio_ids(self, official_id: int) -> list[int]:
        rows = await self._db.fetch_all(
            "SELECT enterprise_id FROM assignments WHERE official_id = ? ORDER BY enterprise_id",
            (official_id,),
        )
        return [row[0] for row in rows]

    async def is_assigned(self, official_id: int, enterprise_id: int) -> bool:
        value = await self._db.fetch_value(
            "SELECT 1 FROM assignments WHERE official_id = ? AND enterprise_id = ?",
            (official_id, enterprise_id),
        )
        return value is not None

    async def all_active(self, scope: Scope = EVERYWHERE) -> list[Official]:
        """The active officials (a city admin's: their city's)."""
        clause, params = scope.where("city")
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM officials WHERE active = 1{clause} ORDER BY id", params
        )
        return rows_to(Official, rows)
