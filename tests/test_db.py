"""The database: migrations, transactions that cannot interleave, online backups."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from storage.database import is_postgres_url
from storage.db import ON_LOOP_MAX_ROWS, Database, Transaction, _migrations, open_database
from tests.postgres import INTEGRITY_ERRORS


@pytest.fixture
async def db(database_target: str) -> Database:
    database = await open_database(database_target)
    yield database  # type: ignore[misc]
    await database.close()


async def test_migrations_apply_once(db: Database, tmp_path: Path) -> None:
    latest = max(version for version, _, _ in _migrations())
    assert await db.schema_version() == latest
    assert await db.migrate() == []
    if db.dialect == "sqlite":
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
    with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE request_history SET note = 'changed'")
    with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM request_history")


@pytest.mark.sqlite_only
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


# -- statements on the event loop's thread, commits in SQLite's ------------------------------


async def _insert_user(tx: Transaction, telegram_id: int) -> None:
    await tx.execute(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, '', 0, 0)",
        (telegram_id,),
    )


async def test_a_large_batch_goes_to_sqlites_thread_and_rolls_back_with_the_rest(
    db: Database,
) -> None:
    """A batch above ON_LOOP_MAX_ROWS runs in SQLite's thread inside the same transaction: an
    error after it leaves none of its rows, nor the small batch before it."""
    rows = [(i,) for i in range(ON_LOOP_MAX_ROWS * 3)]
    sql = "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, '', 0, 0)"
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.executemany(sql, [(-1,), (-2,)])
            await tx.executemany(sql, rows)
            raise RuntimeError("undo it all")
    assert await db.fetch_value("SELECT COUNT(*) FROM users") == 0
    async with db.transaction() as tx:
        await tx.executemany(sql, rows)
        before = tx.total_changes
        cursor = await tx.execute("UPDATE users SET first_name = 'x' WHERE telegram_id < 10")
        assert cursor.rowcount == 10
        assert tx.total_changes - before == 10
    assert await db.fetch_value("SELECT COUNT(*) FROM users") == len(rows)
    counted = await db.fetch_report("SELECT COUNT(*) FROM users WHERE first_name = 'x'")
    assert [tuple(row) for row in counted] == [(10,)]


BULK_ROWS = 50_000


async def test_a_cancelled_commit_still_ends_before_the_next_transaction(db: Database) -> None:
    """Cancelling a coroutine while its COMMIT runs in SQLite's thread neither stops nor undoes
    the commit, and the next transaction (on the event loop's thread) starts after it."""

    async def write(telegram_id: int, *, cancel_while_committing: bool = False) -> None:
        async with db.transaction() as tx:
            await _insert_user(tx, telegram_id)
            if cancel_while_committing:
                # Enough pages that the commit is still writing when the cancellation comes.
                await tx.executemany(
                    "INSERT INTO audit_log (at, actor_id, action) VALUES (0, ?, 'bulk')",
                    [(n,) for n in range(BULK_ROWS)],
                )
                task = asyncio.current_task()
                assert task is not None
                # Runs once the task waits for the commit, which starts as the body ends.
                asyncio.get_running_loop().call_soon(task.cancel)

    first = asyncio.create_task(write(1, cancel_while_committing=True))
    second = asyncio.create_task(write(2))
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    stored = [row[0] for row in await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")]
    assert stored == [1, 2]
    assert await db.fetch_value("SELECT COUNT(*) FROM audit_log") == BULK_ROWS


CANCELLED = 10


async def test_cancelled_writes_give_their_connections_back(db: Database) -> None:
    """Writes cancelled at every point of their way (waiting for the lock, mid-transaction,
    committing) leave each transaction whole or not there at all, and the connections ready:
    the writes and reads after them go through."""

    async def transaction(n: int) -> None:
        async with db.transaction() as tx:
            await _insert_user(tx, n)
            await _insert_user(tx, n + 1000)

    async def working_state(n: int) -> None:
        await db.execute_working_state(
            "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, '', 0, 0)",
            (n + 2000,),
        )

    tasks = [asyncio.create_task(transaction(n)) for n in range(CANCELLED)]
    tasks += [asyncio.create_task(working_state(n)) for n in range(CANCELLED)]
    for turns, task in enumerate(tasks):
        for _ in range(turns % CANCELLED):
            await asyncio.sleep(0)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    await db.execute(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (-1, '', 0, 0)"
    )
    async with db.transaction() as tx:
        await _insert_user(tx, -2)
    stored = {row[0] for row in await db.fetch_all("SELECT telegram_id FROM users")}
    assert {-1, -2} <= stored
    for n in range(CANCELLED):
        assert (n in stored) == (n + 1000 in stored), n


BUSY_MS = 100
HELD_S = 0.4


async def test_writes_wait_for_their_own_process_past_the_busy_timeout(
    database_target: str,
) -> None:
    """The busy timeout bounds the wait for another process's write lock only: a write behind
    a long transaction of this process waits for it, however long, and is not refused."""
    db = await open_database(database_target, busy_timeout_ms=BUSY_MS)
    try:
        started = asyncio.Event()

        async def long_transaction() -> None:
            async with db.transaction() as tx:
                await _insert_user(tx, 1)
                started.set()
                await asyncio.sleep(HELD_S)

        async def lone_write() -> None:
            await db.execute(
                "INSERT INTO users (telegram_id, first_name, created_at, seen_at)"
                " VALUES (3, '', 0, 0)"
            )

        async def another_transaction() -> None:
            async with db.transaction() as tx:
                await _insert_user(tx, 2)

        holding = asyncio.create_task(long_transaction())
        await started.wait()
        await asyncio.gather(holding, another_transaction(), lone_write())
        stored = [row[0] for row in await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")]
        assert stored == [1, 2, 3]
    finally:
        await db.close()


async def test_another_processs_write_lock_past_the_busy_timeout_is_an_error(
    database_target: str,
) -> None:
    """On PostgreSQL, another session holding the writers' lock past the busy timeout (a CLI
    command's long transaction) makes a write fail with the server's lock time-out, like
    SQLite's "database is locked"; once it lets go, writes go through again."""
    if not is_postgres_url(database_target):
        pytest.skip("about the PostgreSQL backend (SQLite has its test of 'database is locked')")
    import psycopg

    from storage.postgres import WRITER_LOCK

    db = await open_database(database_target, busy_timeout_ms=BUSY_MS)
    other = await psycopg.AsyncConnection.connect(database_target, autocommit=True)
    try:
        await other.execute("BEGIN")
        await other.execute(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            async with db.transaction() as tx:
                await _insert_user(tx, 1)
        with pytest.raises(psycopg.errors.LockNotAvailable):
            await db.execute(
                "INSERT INTO users (telegram_id, first_name, created_at, seen_at)"
                " VALUES (2, '', 0, 0)"
            )
        await other.execute("ROLLBACK")
        async with db.transaction() as tx:
            await _insert_user(tx, 3)
        assert await db.fetch_value("SELECT COUNT(*) FROM users") == 1
    finally:
        await other.close()
        await db.close()


@pytest.mark.sqlite_only
async def test_another_process_writing_does_not_hold_up_the_event_loop(
    db: Database, database_target: str
) -> None:
    """While another connection (the CLI, say) holds the write lock, a transaction waits by
    sleeping on the event loop, then goes ahead once the lock is free."""
    other = sqlite3.connect(database_target, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (7, '', 0, 0)"
    )

    async def write() -> None:
        async with db.transaction() as tx:
            await _insert_user(tx, 8)

    waiting = asyncio.create_task(write())
    ticks = 0
    while ticks < 20:
        await asyncio.sleep(0.005)
        ticks += 1
    assert not waiting.done()
    other.execute("COMMIT")
    other.close()
    await waiting
    stored = [row[0] for row in await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")]
    assert stored == [7, 8]


@pytest.mark.sqlite_only
async def test_a_write_lock_held_past_the_busy_timeout_is_database_is_locked(
    tmp_path: Path,
) -> None:
    db = await open_database(tmp_path / "busy.sqlite3", busy_timeout_ms=50)
    other = sqlite3.connect(tmp_path / "busy.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with db.transaction() as tx:
                await _insert_user(tx, 1)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.execute(
                "INSERT INTO users (telegram_id, first_name, created_at, seen_at)"
                " VALUES (2, '', 0, 0)"
            )
        other.execute("ROLLBACK")
        async with db.transaction() as tx:
            await _insert_user(tx, 3)
        assert await db.fetch_value("SELECT COUNT(*) FROM users") == 1
    finally:
        other.close()
        await db.close()


async def test_a_parameter_named_twice_may_be_null(db: Database) -> None:
    """An optional filter, "(:x IS NULL OR column = :x)", with x NULL and with a value: on
    PostgreSQL each occurrence is a parameter of its own, typed where it stands (sent once, the
    NULL test's text type made the comparison "bigint = text")."""
    await db.execute(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at)"
        " VALUES (7, 'a', 1, 1), (8, 'b', 1, 1)"
    )
    named = "SELECT COUNT(*) FROM users WHERE (:id IS NULL OR telegram_id = :id)"
    numbered = "SELECT COUNT(*) FROM users WHERE (?1 IS NULL OR telegram_id = ?1)"
    assert (await db.fetch_all(named, {"id": None}))[0][0] == 2
    assert (await db.fetch_all(named, {"id": 7}))[0][0] == 1
    assert (await db.fetch_all(numbered, (None,)))[0][0] == 2
    assert (await db.fetch_all(numbered, (8,)))[0][0] == 1


async def test_a_failed_write_leaves_the_writer_ready(db: Database) -> None:
    """A lone statement that fails, and a transaction whose first statement fails (on
    PostgreSQL both are sent in one pipeline with their BEGIN), are rolled back whole."""
    insert = (
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'a', 1, 1)"
    )
    await db.execute(insert, (1,))
    with pytest.raises(INTEGRITY_ERRORS):
        await db.execute(insert, (1,))
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await tx.execute(insert, (1,))
    with pytest.raises(INTEGRITY_ERRORS):
        async with db.transaction() as tx:
            await tx.execute(insert, (2,))
            await tx.execute(insert, (1,))
    async with db.transaction():
        pass  # nothing sent
    assert [row[0] for row in await db.execute(insert + " RETURNING telegram_id", (3,))] == [3]
    rows = await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")
    assert [row[0] for row in rows] == [1, 3]


def test_every_migration_has_a_number_of_its_own() -> None:
    """Two branches that each add the next migration must not both land with one number:
    the second file would never be applied (schema_migrations is keyed by the number)."""
    versions = [version for version, _, _ in _migrations()]
    assert len(versions) == len(set(versions)), versions


async def test_a_lost_connection_to_postgresql_is_opened_again(db: Database) -> None:
    """The server closing the writer's connection (a restart, a cut network) costs nothing:
    the next write transaction begins on a new connection."""
    if db.dialect != "postgresql":
        pytest.skip("about the PostgreSQL backend")
    async with db.transaction() as tx:
        await _insert_user(tx, 1)
        pid = (await tx.execute_fetchall("SELECT pg_backend_pid()"))[0][0]
    await db.fetch_all("SELECT pg_terminate_backend(?)", (pid,))
    async with db.transaction() as tx:
        await _insert_user(tx, 2)
    assert [row[0] for row in await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")] == [
        1,
        2,
    ]


async def test_a_lone_write_after_a_lost_connection_is_not_lost(db: Database) -> None:
    """A single statement (on PostgreSQL sent with its BEGIN and COMMIT in one pipeline) after
    the server closed the writer's connection: it notices the goodbye and goes the careful way,
    on a new connection."""
    if db.dialect != "postgresql":
        pytest.skip("about the PostgreSQL backend")
    insert = (
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'a', 1, 1)"
    )
    for telegram_id in (1, 2):
        pid = (await db.execute("SELECT pg_backend_pid()"))[0][0]
        await db.fetch_all("SELECT pg_terminate_backend(?)", (pid,))
        await asyncio.sleep(0.2)  # the server's goodbye reaches the writer's socket
        await db.execute(insert, (telegram_id,))
    rows = await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")
    assert [row[0] for row in rows] == [1, 2]


async def test_working_state_is_written_like_the_rest(db: Database) -> None:
    """A draft or a dialogue (on PostgreSQL committed without waiting for the disk) is there
    for the next read and for a transaction after it, like any write."""
    await db.execute_working_state(
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'w', 1, 1)",
        (5,),
    )
    async with db.transaction() as tx:
        await tx.execute("UPDATE users SET first_name = 'x' WHERE telegram_id = ?", (5,))
    assert [
        tuple(row) for row in await db.fetch_all("SELECT telegram_id, first_name FROM users")
    ] == [(5, "x")]


async def test_statements_written_together_commit_or_roll_back_together(db: Database) -> None:
    """Several statements committed in one transaction (on PostgreSQL in one round trip):
    each one's RETURNING rows come back; when one fails, none of them is kept."""
    insert = (
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'a', 1, 1)"
    )
    results = await db.execute_together(
        [(insert, (1,)), (insert + " RETURNING telegram_id", (2,)), (insert, (3,))]
    )
    assert [[tuple(row) for row in rows] for rows in results] == [[], [(2,)], []]
    with pytest.raises(INTEGRITY_ERRORS):
        await db.execute_together([(insert, (4,)), (insert, (1,))])
    await db.execute(insert, (5,))  # the writer is ready again
    rows = await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")
    assert [row[0] for row in rows] == [1, 2, 3, 5]


async def test_deferred_writes_go_in_order_and_fail_with_their_transaction(db: Database) -> None:
    """Rows written with executemany_deferred (on PostgreSQL sent with the next statement or
    the COMMIT) are seen by the statements after them, committed with the transaction, and
    an error in them rolls the whole transaction back, wherever it is raised."""
    insert = (
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'a', 1, 1)"
    )
    count = "SELECT COUNT(*) FROM users"
    async with db.transaction() as tx:
        await tx.execute(insert, (1,))
        await tx.executemany_deferred(insert, [(2,), (3,)])
        assert (await tx.execute_fetchall(count))[0][0] == 3
        await tx.executemany_deferred(insert, [(4,)])
    for last in ("commit", "statement", "executemany"):
        with pytest.raises(INTEGRITY_ERRORS):
            async with db.transaction() as tx:
                await tx.execute(insert, (10,))
                await tx.executemany_deferred(insert, [(11,), (1,)])
                if last == "statement":
                    await tx.execute(count)
                elif last == "executemany":
                    await tx.executemany(insert, [(12,)])
    rows = await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")
    assert [row[0] for row in rows] == [1, 2, 3, 4]
    await db.execute(insert, (5,))  # the writer is ready again


async def test_statements_fetched_together_begin_see_deferred_writes_and_fail_together(
    db: Database,
) -> None:
    """fetch_together (on PostgreSQL one pipeline): as a transaction's first statements they
    begin it; later ones run after the deferred writes; each returns its rows in order, and an
    error in any rolls the whole transaction back."""
    insert = (
        "INSERT INTO users (telegram_id, first_name, created_at, seen_at) VALUES (?, 'a', 1, 1)"
        " RETURNING telegram_id"
    )
    count = "SELECT COUNT(*) FROM users"
    async with db.transaction() as tx:
        first, second = await tx.fetch_together([(insert, (1,)), (insert, (2,))])
        assert (first[0][0], second[0][0]) == (1, 2)
        await tx.executemany_deferred(insert.split(" RETURNING")[0], [(3,)])
        counted, third = await tx.fetch_together([(count, ()), (insert, (4,))])
        assert (counted[0][0], third[0][0]) == (3, 4)
    for first_in in (True, False):
        with pytest.raises(INTEGRITY_ERRORS):
            async with db.transaction() as tx:
                if not first_in:
                    await tx.execute(insert, (10,))
                await tx.fetch_together([(insert, (11,)), (insert, (1,))])
    rows = await db.fetch_all("SELECT telegram_id FROM users ORDER BY 1")
    assert [row[0] for row in rows] == [1, 2, 3, 4]
    await db.execute(insert, (5,))  # the writer is ready again
