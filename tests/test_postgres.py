"""The PostgreSQL backend's own rules (issue 21): one schema in two dialects, the placeholder
rewrite. The behaviour of every repository on PostgreSQL is the whole suite's PostgreSQL run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storage.database import MIGRATIONS_PACKAGE, _migrations
from storage.db import open_database
from storage.postgres import MIGRATIONS_PACKAGE as POSTGRES_MIGRATIONS
from storage.postgres import translate
from tests import postgres

# The SQLite migrations the PostgreSQL baseline stands for.
BASELINE = 20


@pytest.fixture
def server_database() -> Iterator[str]:
    """A database on the test server (the PostgreSQL run's, or the local one if it answers)."""
    try:
        psycopg.connect(postgres.ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError:
        pytest.skip(f"no PostgreSQL server answers at {postgres.ADMIN_URL.split('@')[-1]}")
    url = postgres.fresh_database()
    yield url
    postgres.release(url)


def test_every_migration_after_the_baseline_has_its_postgresql_twin() -> None:
    sqlite = {version: name for version, name, _ in _migrations(MIGRATIONS_PACKAGE)}
    server = {version: name for version, name, _ in _migrations(POSTGRES_MIGRATIONS)}
    assert min(server) == BASELINE
    later = {version: name for version, name in sqlite.items() if version > BASELINE}
    assert {version: name for version, name in server.items() if version > BASELINE} == later


async def test_both_backends_have_the_same_tables_and_columns(
    tmp_path: Path, server_database: str
) -> None:
    sqlite = await open_database(tmp_path / "schema.sqlite3")
    server = await open_database(server_database)
    try:
        assert await sqlite.schema_version() == await server.schema_version()
        assert await sqlite.tables() == await server.tables()
        for table in await sqlite.tables():
            columns = [row[1] for row in await sqlite.fetch_all(f"PRAGMA table_xinfo({table})")]
            on_server = await server.fetch_all(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?"
                " ORDER BY ordinal_position",
                (table,),
            )
            assert sorted(columns) == sorted(row[0] for row in on_server), table
    finally:
        await sqlite.close()
        await server.close()


@pytest.mark.parametrize(
    ("sql", "params", "rewritten", "values"),
    [
        ("SELECT ? , ?", (1, 2), "SELECT %s , %s", (1, 2)),
        ("SELECT '%?' -- ?\n, ?", ("x",), "SELECT '%%?' -- ?\n, %s", ("x",)),
        ("WHERE a = ?2 OR b = ?1", (1, 2), "WHERE a = %s OR b = %s", [2, 1]),
        (
            "WHERE (:c IS NULL OR city = :c) AND x::text = ''",
            {"c": None},
            "WHERE (CAST(%s AS TEXT) IS NULL OR city = %s) AND x::text = ''",
            [None, None],
        ),
        ("LIKE '50%' AND y = ?", (3,), "LIKE '50%%' AND y = %s", (3,)),
    ],
)
def test_the_shared_sql_is_rewritten_for_psycopg(
    sql: str, params: object, rewritten: str, values: object
) -> None:
    translated = translate(sql)
    assert translated.sql == rewritten
    assert translated.values(params) == values  # type: ignore[arg-type]


async def test_the_tally_function_keeps_its_plan(server_database: str) -> None:
    """Every change of a request calls it twice: in SQL it would be planned again each time
    (storage/migrations/postgresql/0021_tally_function_plans.sql)."""
    server = await open_database(server_database)
    try:
        language = await server.fetch_value(
            "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
            " WHERE p.proname = 'request_tally_change'"
        )
    finally:
        await server.close()
    assert language == "plpgsql"
