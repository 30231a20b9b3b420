"""A fresh PostgreSQL database per test, when the suite runs on PostgreSQL (issue 21).

``BOT_TEST_STORAGE=postgresql`` runs every test that opens the bot's database on a server:
``BOT_TEST_POSTGRES`` (default: the local server, trust auth, database ``test``) names where to
create them. The first test of a run migrates a template database; a test gets a copy of it
(``CREATE DATABASE … TEMPLATE``), which is emptied when the test ends (its connections closed,
every row deleted, the identities restarted: tens of milliseconds, where dropping and copying a
database takes about 300) and handed to the next test. The databases are dropped at the end.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

# What a broken constraint raises, on either backend.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)
STORAGE = os.environ.get("BOT_TEST_STORAGE", "sqlite")
ADMIN_URL = os.environ.get("BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TEMPLATE = f"liaison_template_{os.getpid()}"
_template_ready = False
_free: list[str] = []
_made: list[str] = []
# The database each test folder holds (a bot restarted within a test opens the same one).
_by_folder: dict[Path, str] = {}
# A child process a test starts opens the test's database, named here, not one of its own.
CHILD_DATABASE = "BOT_TEST_DATABASE_URL"
# Empties a database the way a fresh copy of the template is: no rows, identities from 1.
_EMPTY = """
DO $$
DECLARE name text;
BEGIN
    SET LOCAL session_replication_role = replica;  -- the append-only history's trigger too
    FOR name IN SELECT quote_ident(tablename) FROM pg_tables
                WHERE schemaname = 'public' AND tablename <> 'schema_migrations' LOOP
        EXECUTE 'DELETE FROM ' || name;
    END LOOP;
    FOR name IN SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public' LOOP
        EXECUTE 'ALTER SEQUENCE ' || name || ' RESTART';
    END LOOP;
END $$;
"""


def on_postgres() -> bool:
    return STORAGE == "postgresql"


# Test data need not survive a power cut: commits do not wait for the disk (per connection).
FAST = "options=-c%20synchronous_commit%3Doff"


def url_of(name: str) -> str:
    base = ADMIN_URL.partition("?")[0].rpartition("/")[0]
    return f"{base}/{name}?{FAST}"


def name_of(url: str) -> str:
    return url.partition("?")[0].rpartition("/")[2]


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement.encode())


def _migrate_template() -> None:
    """Create and migrate the template, on an event loop of its own (a test's may be running)."""
    from storage.db import open_database

    async def migrate() -> None:
        db = await open_database(url_of(TEMPLATE))
        await db.close()

    _drop_left_behind()
    _admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
    _admin(f'CREATE DATABASE "{TEMPLATE}"')
    failed: list[BaseException] = []
    worker = threading.Thread(target=lambda: _run_into(migrate(), failed))
    worker.start()
    worker.join()
    if failed:
        raise failed[0]


def _drop_left_behind() -> None:
    """Drop the databases of earlier runs whose process is gone (killed before its end)."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        names = [
            row[0]
            for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'liaison\\_%'"
            )
        ]
    for name in names:
        pid = name.removeprefix("liaison_template_").removeprefix("liaison_").split("_")[0]
        if pid.isdigit() and not _alive(int(pid)):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_into(job: object, failed: list[BaseException]) -> None:
    try:
        asyncio.run(job)  # type: ignore[arg-type]
    except BaseException as exc:  # handed to the caller's thread
        failed.append(exc)


def storage_for(folder: Path, file_name: str = "bot.sqlite3") -> dict[str, str]:
    """The ``[storage]`` settings of a test's database: a SQLite file in the test's folder, or
    on the PostgreSQL run the server database this folder holds (the same one each time)."""
    section = {"path": str(folder / file_name)}
    if not on_postgres():
        return section
    if folder not in _by_folder:
        _by_folder[folder] = os.environ.get(CHILD_DATABASE) or fresh_database()
    return section | {"url": _by_folder[folder]}


def release_all() -> None:
    """Give back every database the test's folders held (at the end of each test)."""
    while _by_folder:
        release(_by_folder.popitem()[1])


def fresh_database() -> str:
    """The URL of a migrated, empty database for one test; give it back with :func:`release`."""
    global _template_ready
    if _free:
        return _free.pop()
    if not _template_ready:
        _migrate_template()
        _template_ready = True
    name = f"liaison_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    _made.append(name)
    return url_of(name)


def release(url: str) -> None:
    """Close what the test left connected to the database, empty it and keep it for the next."""
    name = name_of(url)
    _admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(_EMPTY.encode())
    _free.append(url)


def drop_all() -> None:
    """Drop every database this run made (at the end of the run)."""
    for name in [*_made, TEMPLATE if _template_ready else ""]:
        if name:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unreachable() -> str | None:
    """Why the PostgreSQL server of the tests cannot be used (None when it answers)."""
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {ADMIN_URL.partition('?')[0]}: {str(exc).strip()}"
    return None


@contextmanager
def scratch_database() -> Iterator[str]:
    """The URL of a new database with nothing in it (not even migrated), dropped at the end:
    for the tests that need a PostgreSQL target on either run (migrate-to, restores)."""
    name = f"liaison_scratch_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield url_of(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
