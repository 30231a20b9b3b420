"""Who a Telegram user is, read in one statement: the office they serve as an admin, their
official's record and the enterprises they speak for (``bot.roles.identify``, every update).

One statement rather than one per table: on PostgreSQL each statement is a round trip to the
server, and this read is made for every update (docs/postgresql.md, "Figures").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storage.db import Database
from storage.models import Enterprise, Official
from storage.rows import row_to

_OFFICIAL = [
    "id",
    "external_id",
    "name",
    "title",
    "body",
    "level",
    "city",
    "responsibilities",
    "supervisor_id",
    "telegram_id",
    "card_token",
    "active",
]
_ENTERPRISE = ["id", "name", "credit_code", "city", "stage", "industry", "status", "registered_by"]
# One row per enterprise the user speaks for (one row when none), the office and the official
# repeated on each; at most one of each (admins_serving and officials' telegram_id are unique).
_IDENTITY = (
    "SELECT a.office AS office, "
    + ", ".join(f"o.{c} AS o_{c}" for c in _OFFICIAL)
    + ", o.card_revoked_at IS NOT NULL AS o_card_revoked, "
    + ", ".join(f"e.{c} AS e_{c}" for c in _ENTERPRISE)
    + " FROM (SELECT 1) AS me"
    " LEFT JOIN admins a ON a.telegram_id = :user AND a.revoked_at IS NULL"
    " LEFT JOIN officials o ON o.telegram_id = :user AND o.active = 1"
    " LEFT JOIN (SELECT x.* FROM enterprise_contacts c JOIN enterprises x ON x.id = c.enterprise_id"
    "  WHERE c.telegram_id = :user AND x.status = 'active') AS e ON 1 = 1"
    " ORDER BY e.id"
)


@dataclass(frozen=True, slots=True)
class Identity:
    """What the database knows of a user: an appointed admin's office (None if not one), their
    official's record if they are an active official, the active enterprises they speak for."""

    office: str | None
    official: Official | None
    enterprises: tuple[Enterprise, ...]


class _Prefixed:
    """The columns of one table in a joined row, by their names without the prefix."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row = row
        self._prefix = prefix

    def __getitem__(self, name: str) -> Any:
        return self._row[self._prefix + name]

    def keys(self) -> Iterable[str]:
        n = len(self._prefix)
        names = self._row.keys()  # not the row itself: a row iterates its values
        return [key[n:] for key in names if key.startswith(self._prefix)]


class IdentityRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, telegram_id: int) -> Identity:
        rows = await self._db.fetch_all(_IDENTITY, {"user": telegram_id})
        first = rows[0]
        office = first["office"]
        official = None if first["o_id"] is None else row_to(Official, _Prefixed(first, "o_"))
        enterprises = tuple(
            row_to(Enterprise, _Prefixed(row, "e_")) for row in rows if row["e_id"] is not None
        )
        return Identity(None if office is None else str(office), official, enterprises)
