"""Scheduled online backups: one timestamped copy per interval, the oldest pruned.

The copy is taken with SQLite's online backup API (:meth:`storage.db.Database.backup`), so it is
consistent while the bot keeps writing. The job's tick is a plain coroutine so tests drive it
with the FakeClock instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.clock import Clock
from storage.db import Database

PREFIX = "backup-"
SUFFIX = ".sqlite3"


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
        destination = self.directory / f"{PREFIX}{now.strftime('%Y%m%dT%H%M%S%z')}{SUFFIX}"
        await self.db.backup(destination)
        self.last = now
        self.prune()
        return destination

    def prune(self) -> list[Path]:
        """Delete all but the newest ``kept`` backups; return the deleted paths."""
        copies = sorted(self.directory.glob(f"{PREFIX}*{SUFFIX}"))
        doomed = copies[: max(0, len(copies) - self.kept)]
        for path in doomed:
            path.unlink()
        return doomed
