"""The ledger file (台账): one row per request, in the columns a government ledger has."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cities import city_name, parse_city
from bot.clock import from_epoch
from bot.i18n import Translator
from bot.tables import TableWriter
from bot.tiers import parse_tier
from storage.ledger import LedgerFilter, LedgerRepository
from storage.stats import OPEN_STATUSES

COLUMNS = (
    "number", "enterprise", "credit_code", "city", "stage", "category", "summary", "official",
    "submitted", "acknowledged", "resolved", "closed", "status", "days_taken", "overdue",
    "rating", "outcome",
)  # fmt: skip
DAY = 86400


def _when(epoch: int | None, tz: ZoneInfo) -> str:
    return "" if epoch is None else from_epoch(epoch).astimezone(tz).strftime("%Y-%m-%d %H:%M")


def ledger_row(row: sqlite3.Row, texts: Translator, tz: ZoneInfo, now: int) -> list[object]:
    """One request as a ledger line; days taken run to resolution, or to now while open."""
    created, resolved, due = row[9], row[11], row[14]
    end = resolved if resolved is not None else now
    is_open = row[13] in OPEN_STATUSES
    overdue = due is not None and (end > due if resolved is not None or is_open else False)
    outcome = row[16] or ("auto_closed" if row[17] else "")
    return [
        row[1], row[2], row[3], city_name(row[4], texts.language),
        texts(f"stage.{row[5]}"), texts(f"ledger.category.{row[6]}"), row[7],
        row[8] or "", _when(created, tz), _when(row[10], tz), _when(resolved, tz),
        _when(row[12], tz), texts(f"ledger.status.{row[13]}"), round((end - created) / DAY, 1),
        texts("ledger.yes") if overdue else texts("ledger.no"), row[15] or "",
        texts(f"ledger.outcome.{outcome}") if outcome else "",
    ]  # fmt: skip


async def write_ledger(
    repo: LedgerRepository,
    path: Path,
    where: LedgerFilter,
    texts: Translator,
    *,
    tz: ZoneInfo,
    now: datetime,
) -> int:
    """Write the ledger as .xlsx or .csv, by suffix, one row at a time; the number of rows."""
    with TableWriter(path, [texts(f"ledger.column.{c}") for c in COLUMNS]) as table:
        async for row in _lines(repo, where, texts, tz, int(now.timestamp())):
            table.append(row)
    return table.count


async def _lines(
    repo: LedgerRepository, where: LedgerFilter, texts: Translator, tz: ZoneInfo, now: int
) -> AsyncIterator[list[object]]:
    async for row in repo.rows(where):
        yield ledger_row(row, texts, tz, now)


class BadFilter(ValueError):
    """An argument of /ledger that is neither a date, a city nor a tier."""


def parse_filter(args: list[str], tz: ZoneInfo) -> LedgerFilter:
    """``[from to] [city] [tier]`` from a command's arguments."""
    dates: list[datetime] = []
    city = tier = None
    for arg in args:
        try:
            dates.append(datetime.combine(date.fromisoformat(arg), time(), tz))
            continue
        except ValueError:
            pass
        if (found := parse_tier(arg)) is not None:
            tier = found.value
        elif (code := parse_city(arg)) is not None:
            city = code
        else:
            raise BadFilter(arg)
    since = dates[0] if dates else None
    until = dates[1] if len(dates) > 1 else None
    return LedgerFilter(since=since, until=until, city=city, tier=tier)
