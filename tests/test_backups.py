from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.backups import BackupJob
from bot.clock import FakeClock
from runtime.cli import main
from storage.database import BackupFailed
from storage.db import open_database
from tests import postgres


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


async def _restored_count(backup: Path, dialect: str, table: str) -> tuple[int, int]:
    """(rows of ``table``, schema version) in the database restored from ``backup``: opened as
    it is (SQLite), or restored with pg_restore into a new database (PostgreSQL)."""
    if dialect == "sqlite":
        restored = await open_database(backup)
        try:
            return await restored.fetch_value(f"SELECT COUNT(*) FROM {table}"), (
                await restored.schema_version()
            )
        finally:
            await restored.close()
    with postgres.scratch_database() as url:
        process = await asyncio.create_subprocess_exec(
            "pg_restore", "--no-owner", f"--dbname={url}", str(backup),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, error = await process.communicate()
        assert process.returncode == 0, error
        restored = await open_database(url)  # nothing left to migrate
        try:
            return await restored.fetch_value(f"SELECT COUNT(*) FROM {table}"), (
                await restored.schema_version()
            )
        finally:
            await restored.close()


def _skip_without_pg_tools(dialect: str) -> None:
    if dialect == "postgresql":
        missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
        if missing:
            pytest.skip(f"{' and '.join(missing)} not installed (Debian: postgresql-client)")


async def test_scheduled_backups_on_either_backend_restore_with_their_rows(
    database_target: str, tmp_path: Path
) -> None:
    """The scheduled job on the suite's backend: SQLite files, or pg_dump archives (``.dump``)
    that pg_restore puts back into an empty database; the newest ``kept`` are kept."""
    db = await open_database(database_target)
    _skip_without_pg_tools(db.dialect)
    directory = tmp_path / "backups"
    try:
        clock = FakeClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        job = BackupJob(db, clock, directory, timedelta(hours=6), kept=1)
        await db.execute_many(
            "INSERT INTO audit_log (at, action, detail) VALUES (?, 'w', 'x')",
            [(i,) for i in range(30)],
        )
        first = await job.tick()
        clock.advance(timedelta(hours=6))
        await db.execute("INSERT INTO audit_log (at, action, detail) VALUES (31, 'w', 'x')")
        second = await job.tick()
        version = await db.schema_version()
    finally:
        await db.close()
    assert first is not None and second is not None
    assert second.suffix == {"sqlite": ".sqlite3", "postgresql": ".dump"}[db.dialect]
    assert sorted(directory.iterdir()) == [second]  # the first pruned, no partial file left
    assert await _restored_count(second, db.dialect, "audit_log") == (31, version)


async def test_backup_command_on_either_backend(
    storage_section: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m bot backup DEST``: a copy that restores; on PostgreSQL it says how."""
    target = storage_section.get("url", storage_section["path"])
    db = await open_database(target)
    dialect = db.dialect
    _skip_without_pg_tools(dialect)
    try:
        await db.execute("INSERT INTO audit_log (at, action, detail) VALUES (1, 'w', 'x')")
    finally:
        await db.close()
    config = tmp_path / "config.toml"
    url = f'url = "{storage_section["url"]}"\n' if "url" in storage_section else ""
    config.write_text(f'[storage]\npath = "{storage_section["path"]}"\n{url}', encoding="utf-8")
    dest = tmp_path / "copy.backup"
    assert await asyncio.to_thread(main, ["--config", str(config), "backup", str(dest)]) == 0
    said = capsys.readouterr().out
    assert f"backup written to {dest}" in said
    assert ("pg_restore --no-owner" in said) == (dialect == "postgresql")
    assert (await _restored_count(dest, dialect, "audit_log"))[0] == 1


@pytest.mark.storage
async def test_without_pg_dump_a_postgresql_backup_fails_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not postgres.on_postgres():
        pytest.skip("about the PostgreSQL backend (BOT_TEST_STORAGE=postgresql)")
    url = postgres.storage_for(tmp_path)["url"]
    monkeypatch.setattr("storage.postgres.PG_DUMP", "pg_dump-not-installed")
    db = await open_database(url)
    try:
        with pytest.raises(BackupFailed, match="pg_dump-not-installed not found: install"):
            await db.backup(tmp_path / "x.dump")
    finally:
        await db.close()
    assert not (tmp_path / "x.dump").exists()
    assert not (tmp_path / "x.dump.partial").exists()
