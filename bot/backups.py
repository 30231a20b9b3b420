"""Scheduled online backups: one timestamped copy per interval, the oldest pruned.

The copy is the backend's own (:meth:`storage.db.Database.backup`), consistent while the bot
keeps writing: on SQLite its online backup API, a database file (``backup-….sqlite3``); on
PostgreSQL ``pg_dump``'s custom format (``backup-….dump``, restored with ``pg_restore``,
docs/postgresql.md). Only copies with the backend's suffix are counted and pruned. The job's
tick is a plain coroutine so tests drive it with the FakeClock instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock
from storage.database import Dialect
from storage.db import Database

PREFIX = "backup-"
# What each backend's copy is: a SQLite database file, or pg_dump's custom-format archive.
SUFFIXES: dict[Dialect, str] = {"sqlite": ".sqlite3", "postgresql": ".dump"}


@dataclass
class BackupJob:
    db: Database
    clock: Clock
    directory: Path
    interval: timedelta
    kept: int
    last: datetime | None = None

    async def tick(self) -> Path | None:
        """Take a backup if the interval has passed since the last one; return its path."""
        now = self.clock.now()
        if self.interval <= timedelta(0):
            return None
        if self.last is not None and now - self.last < self.interval:
            return None
        stamp = now.strftime("%Y%m%dT%H%M%S%z")
        destination = self.directory / f"{PREFIX}{stamp}{self.suffix}"
        await self.db.backup(destination)
        self.last = now
        self.prune()
        return destination

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.db.dialect]

    def prune(self) -> list[Path]:
        """Delete all but the newest ``kept`` backups; return the deleted paths."""
        copies = sorted(self.directory.glob(f"{PREFIX}*{self.suffix}"))
        doomed = copies[: max(0, len(copies) - self.kept)]
        for path in doomed:
            path.unlink()
        return doomed
