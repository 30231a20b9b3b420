"""Holiday schedules loaded by an admin, one per year (migration 0010)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_epoch
from bot.workdays import Schedule
from storage.db import Database, Transaction
from storage.dialect import SQL
from storage.rows import row_to, rows_to

_COLUMNS = {
    dialect: sql.json_object(
        year="year",
        off=sql.json_value("off_days"),
        work=sql.json_value("work_days"),
        official="official",
        source="source",
    )
    + " AS schedule, file_name, loaded_by, loaded_at, revision"
    for dialect, sql in SQL.items()
}


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    schedule: Schedule
    file_name: str
    loaded_by: int | None
    loaded_at: datetime
    revision: int


class HolidayScheduleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> list[StoredSchedule]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS[self._db.dialect]} FROM holiday_schedules ORDER BY year"
        )
        return rows_to(StoredSchedule, rows)

    async def get(self, year: int) -> StoredSchedule | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS[self._db.dialect]} FROM holiday_schedules WHERE year = ?", (year,)
        )
        return None if row is None else row_to(StoredSchedule, row)

    async def revision(self) -> int:
        """Grows with every load: a change means the schedules must be read again."""
        return int(
            await self._db.fetch_value("SELECT COALESCE(MAX(revision), 0) FROM holiday_schedules")
        )


async def save(
    tx: Transaction,
    schedule: Schedule,
    *,
    file_name: str,
    file_text: str,
    loaded_by: int | None,
    now: datetime,
) -> int:
    """Store ``schedule`` in place of its year's, inside the caller's transaction; return the
    new revision."""
    (row,) = await tx.execute_fetchall(
        "SELECT COALESCE(MAX(revision), 0) + 1 FROM holiday_schedules"
    )
    revision = int(row[0])
    await tx.execute(
        "INSERT INTO holiday_schedules (year, official, source, off_days, work_days, file_name,"
        " file_text, loaded_by, loaded_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (year) DO UPDATE SET official = excluded.official,"
        " source = excluded.source, off_days = excluded.off_days,"
        " work_days = excluded.work_days, file_name = excluded.file_name,"
        " file_text = excluded.file_text, loaded_by = excluded.loaded_by,"
        " loaded_at = excluded.loaded_at, revision = excluded.revision",
        (
            schedule.year,
            int(schedule.official),
            schedule.source,
            json.dumps(sorted(day.isoformat() for day in schedule.off)),
            json.dumps(sorted(day.isoformat() for day in schedule.work)),
            file_name,
            file_text,
            loaded_by,
            to_epoch(now),
            revision,
        ),
    )
    return revision
