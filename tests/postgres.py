"""A fresh PostgreSQL database per test, when the suite runs on PostgreSQL (issue 21).

``BOT_TEST_STORAGE=postgresql`` runs every test that opens the bot's database on a server:
``BOT_TEST_POSTGRES`` (default: the local server, trust auth, database ``test``) names where to
create them. Each test gets a database copied from a template migrated once per run
(``CREATE DATABASE … TEMPLATE``: tens of milliseconds), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid

import psycopg

STORAGE = os.environ.get("BOT_TEST_STORAGE", "sqlite")
ADMIN_URL = os.environ.get("BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TEMPLATE = f"liaison_template_{os.getpid()}"
_template_ready = False


def on_postgres() -> bool:
    return STORAGE == "postgresql"


def url_of(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


def _admin(statement: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement.encode())


async def _migrate_template() -> None:
    from storage.db import open_database

    _admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
    _admin(f'CREATE DATABASE "{TEMPLATE}"')
    db = await open_database(url_of(TEMPLATE))
    await db.close()


async def fresh_database() -> str:
    """The URL of a new, migrated, empty database."""
    global _template_ready
    if not _template_ready:
        await _migrate_template()
        _template_ready = True
    name = f"liaison_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return url_of(name)


def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_template() -> None:
    if _template_ready:
        _admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
