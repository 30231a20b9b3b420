from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.backups import BackupJob
from bot.clock import FakeClock
from storage.db import open_database


async def test_scheduled_backups_follow_the_interval_keep_n_and_restore(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "live.sqlite3")
    try:
        clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        job = BackupJob(db, clock, tmp_path / "backups", timedelta(hours=6), kept=2)

        async def keep_writing() -> None:
            for i in range(100):
                async with db.transaction() as tx:
                    await tx.execute(
                        "INSERT INTO audit_log (at, action, detail) VALUES (?, 'w', 'x')", (i,)
                    )

        writing = asyncio.create_task(keep_writing())
        await asyncio.sleep(0)
        first = await job.tick()
        await writing
        assert first is not None
        assert await job.tick() is None  # interval not elapsed
        clock.advance(timedelta(hours=6))
        second = await job.tick()
        clock.advance(timedelta(hours=6))
        third = await job.tick()
        assert second is not None and third is not None
        assert sorted((tmp_path / "backups").iterdir()) == [second, third]
        async with aiosqlite.connect(third) as copy:
            cursor = await copy.execute("PRAGMA integrity_check")
            assert await cursor.fetchone() == ("ok",)
            cursor = await copy.execute("SELECT COUNT(*) FROM audit_log")
            assert await cursor.fetchone() == (100,)
        assert not first.exists()  # pruned: only the newest two are kept
    finally:
        await db.close()
