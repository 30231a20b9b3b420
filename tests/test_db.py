"""The database: migrations, transactions that cannot interleave, online backups."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage.db import Database, _migrations


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = await Database.open(tmp_path / "test.sqlite3")
    yield database  # type: ignore[misc]
    await database.close()


async def test_migrations_apply_once(db: Database, tmp_path: Path) -> None:
    latest = max(version for version, _, _ in _migrations())
    assert await db.schema_version() == latest
    assert await db.migrate() == []
    assert await db.fetch_value("PRAGMA journal_mode") == "wal"
    assert await db.fetch_value("PRAGMA foreign_keys") == 1


async def test_fifty_concurrent_writers_never_mix_transactions(db: Database) -> None:
    """Each writer inserts two rows with a yield in between; both must land together."""
    await db.execute_many(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, '', 0, 0)",
        [(i,) for i in range(50)],
    )

    async def writer(i: int) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO audit_log (at, actor_id, action) VALUES (0, ?, 'first')", (i,)
            )
            await asyncio.sleep(0)
            if i % 7 == 0:
                raise RuntimeError("abort this one")
            await tx.execute(
                "INSERT INTO audit_log (at, actor_id, action) VALUES (0, ?, 'second')", (i,)
            )

    results = await asyncio.gather(*(writer(i) for i in range(50)), return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(str(e) == "abort this one" for e in errors)
    assert len(errors) == len(range(0, 50, 7))
    rows = await db.fetch_all("SELECT actor_id, action FROM audit_log ORDER BY id")
    pairs = [(rows[i]["actor_id"], rows[i + 1]["actor_id"]) for i in range(0, len(rows), 2)]
    assert all(a == b for a, b in pairs)
    assert len(rows) == 2 * (50 - len(errors))


async def test_a_single_statement_write_stays_out_of_an_open_transaction(db: Database) -> None:
    """``execute`` commits on its own; run while another coroutine's transaction is open, it
    must neither join that transaction (and be rolled back with it) nor commit its rows."""
    opened = asyncio.Event()

    async def failing_transaction() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO audit_log (at, actor_id, action) VALUES (0, 1, 'tx')")
            opened.set()
            await asyncio.sleep(0.01)
            raise RuntimeError("roll back")

    async def single() -> list[sqlite3.Row]:
        await opened.wait()
        return await db.execute(
            "INSERT INTO audit_log (at, actor_id, action) VALUES (0, 2, 'single')"
            " RETURNING actor_id"
        )

    outcome, returned = await asyncio.gather(
        failing_transaction(), single(), return_exceptions=True
    )
    assert isinstance(outcome, RuntimeError)
    assert [tuple(r) for r in returned] == [(2,)]  # type: ignore[union-attr]
    rows = await db.fetch_all("SELECT action FROM audit_log")
    assert [r["action"] for r in rows] == ["single"]


async def test_history_is_append_only(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO enterprises (name, credit_code, city, stage, created_at)"
            " VALUES ('E', '91210100MA0000000X', 'shenyang', 'growth', 0)"
        )
        await tx.execute(
            "INSERT INTO requests (number, enterprise_id, submitted_by, category, summary,"
            " status, created_at) VALUES ('LN-1', 1, 1, 'policy', 's', 'submitted', 0)"
        )
        await tx.execute(
            "INSERT INTO request_history (request_id, at, to_status) VALUES (1, 0, 'submitted')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE request_history SET note = 'changed'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM request_history")


async def test_backup_while_writing_is_consistent(db: Database, tmp_path: Path) -> None:
    async def keep_writing() -> None:
        for i in range(200):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO audit_log (at, action, detail) VALUES (?, 'w', ?)", (i, "x" * 500)
                )

    writing = asyncio.create_task(keep_writing())
    await asyncio.sleep(0.01)
    dest = tmp_path / "backup.sqlite3"
    await db.backup(dest)
    await writing
    async with aiosqlite.connect(dest) as copy:
        cursor = await copy.execute("PRAGMA integrity_check")
        assert await cursor.fetchone() == ("ok",)
        cursor = await copy.execute("SELECT COUNT(*), MAX(at) FROM audit_log")
        count, last = await cursor.fetchone()  # type: ignore[misc]
        assert count == last + 1
