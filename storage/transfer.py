"""Moving an installation: the SQLite database copied into an empty PostgreSQL one (issue 21).

``python -m bot migrate-to URL`` (runtime/cli.py) calls :func:`migrate_to`:

1. The target must be **empty**: no table of its public schema holds a row
   (``schema_migrations`` aside); otherwise :class:`TargetNotEmpty`, before anything is written.
2. Both databases are migrated to the newest schema (:func:`storage.db.open_database`); the
   PostgreSQL schema is the SQLite one in the other dialect, so their tables and columns must
   match name for name, else :class:`TransferRefused`.
3. The source is read from **one snapshot**: a read transaction on the SQLite file, held from
   the first row copied to the last row checked. Under WAL a reader never blocks the bot and the
   bot never changes what the reader sees, so the command is safe while a bot runs on the file;
   what the bot writes after the snapshot is not in the copy (stop it before moving for good).
4. Every table is copied in one PostgreSQL transaction, in the order of its foreign keys (a
   referenced table before those referring to it), with ``COPY … FROM STDIN`` fed
   :data:`BATCH_ROWS` rows at a time. Generated columns (``requests.overdue_at``) are not
   copied: PostgreSQL computes them. A column that refers to its own table
   (``officials.supervisor_id``) is copied empty and set once the table is in. The tables' own
   triggers are off during the copy (``ALTER TABLE … DISABLE TRIGGER USER``, which the tables'
   owner may do: no superuser, unlike ``session_replication_role``; the foreign keys are still
   checked): the request tallies, which triggers on ``requests`` keep row by row, are built at
   once from the copied requests (:data:`DERIVED`; the triggers would cost four upserts per
   request), the source's all-zero rows added, and the check below compares them with the
   source's like any table. The triggers are on again before the commit.
5. Each identity sequence is moved past the largest id copied, so the next row gets a new id.
6. Every table is read back in primary-key order on both sides and compared **row by row**
   (every column, the generated ones included). Only then is the transaction committed: a
   failed copy or check leaves the target as empty as it was (:class:`VerificationFailed`).

The transaction holds the writer's advisory lock (storage/postgres.py), so a bot started on the
target meanwhile waits for the copy instead of writing into it.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from storage.database import POSTGRES_SCHEMES
from storage.db import open_database
from storage.postgres import WRITER_LOCK

# Rows read from SQLite and written to PostgreSQL (or compared) at a time: memory stays flat
# whatever the size of a table.
BATCH_ROWS = 5000
# How long to wait for the server to answer, in seconds.
CONNECT_TIMEOUT = 10
# The migrations' own bookkeeping: each side records its own history (SQLite every migration
# from 0001, PostgreSQL its baseline); the schema versions are compared instead.
BOOKKEEPING = "schema_migrations"
# Tables kept by triggers from other tables, and how to build each at once from them. The
# triggers are off during the copy (their table's owner may switch them off: no superuser),
# the table is built from what was copied, then the source's rows the build did not make are
# added (the all-zero tallies SQLite keeps), and the check compares it like any table.
DERIVED = {
    "request_tallies": (
        "INSERT INTO request_tallies SELECT axis, key, SUM(received), SUM(resolved),"
        " SUM(solved), SUM(ack_tracked), SUM(responded_on_time), SUM(rated), SUM(satisfied),"
        " SUM(open_with_deadline) FROM request_tally_rows GROUP BY axis, key"
    ),
}


class TransferRefused(Exception):
    """The copy cannot start (no source, schemas that differ); nothing was written."""


class TargetNotEmpty(TransferRefused):
    """The target database already holds rows."""


class VerificationFailed(Exception):
    """A table differs after the copy; the copy was rolled back."""


@dataclass(frozen=True)
class TableCopied:
    name: str
    rows: int
    digest: str  # SHA-256 of the table's rows in key order: the same on both sides


@dataclass
class Transfer:
    """What :func:`migrate_to` did."""

    schema_version: int
    tables: list[TableCopied] = field(default_factory=list)
    identities: dict[str, int] = field(default_factory=dict)  # table -> next id
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]  # every column, in the table's order
    generated: frozenset[str]
    key: tuple[str, ...]  # the primary key's columns
    text_key: frozenset[str]  # those of them holding text (ordered bytewise on both sides)
    identity: str | None
    self_refs: tuple[str, ...]  # single columns referring to this table's own key

    @property
    def written(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.generated)


def describe_target(url: str) -> str:
    """``database NAME on HOST``: the URL without its password, for messages."""
    parts = conninfo_to_dict(url)
    host = parts.get("host") or "localhost"
    port = parts.get("port")
    return f"database {parts.get('dbname', '?')} on {host}{':' + str(port) if port else ''}"


def migrate_to(
    source: Path, url: str, *, batch_rows: int = BATCH_ROWS, verify: bool = True
) -> Transfer:
    """Copy the SQLite database at ``source`` into the empty PostgreSQL database at ``url``
    and check it row by row (see the module's description).

    Synchronous, on the caller's thread, with an event loop of its own for the migrations: an
    interruption (Ctrl-C) stops the copy where it is and rolls it back, where a copy left
    running in a worker thread would go on to its commit."""
    if not url.startswith(POSTGRES_SCHEMES):
        raise TransferRefused(f"{url.split(':', 1)[0]}: give a postgresql:// URL")
    started = time.monotonic()
    _preflight(source, url)
    asyncio.run(_migrate(source, url))
    transfer = _copy(source, url, batch_rows, verify)
    transfer.seconds = time.monotonic() - started
    return transfer


async def _migrate(source: Path, url: str) -> None:
    """Both databases at the newest schema, as the bot would open them."""
    for target in (source, url):
        try:
            db = await open_database(target)
        except (sqlite3.Error, psycopg.Error) as exc:
            where = describe_target(url) if target == url else str(source)
            raise TransferRefused(f"cannot open {where}: {str(exc).strip()}") from None
        await db.close()


def _preflight(source: Path, url: str) -> None:
    """Refuse before anything is created: no SQLite file (opening it would make an empty one),
    or a target with rows."""
    if not source.is_file():
        raise TransferRefused(f"no SQLite database at {source}")
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()
        raise TransferRefused(
            f"cannot connect to {describe_target(url)}: {reason[-1] if reason else exc}"
        ) from None
    with connection:
        _refuse_unless_empty(connection, url)


def _refuse_unless_empty(connection: psycopg.Connection[Any], url: str) -> None:
    names = [
        row[0]
        for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
    ]
    for name in names:
        if name == BOOKKEEPING:
            continue
        query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(name))
        row = connection.execute(query).fetchone()
        if row is not None and row[0]:
            raise TargetNotEmpty(
                f"{describe_target(url)} is not empty (table {name} has rows);"
                " migrate-to copies into an empty database only"
            )


def _copy(source: Path, url: str, batch_rows: int, verify: bool) -> Transfer:
    reader = sqlite3.connect(source, isolation_level=None)
    try:
        # One read transaction: the copy and the check see the same snapshot of the file.
        reader.execute("BEGIN")
        version = int(reader.execute(f"SELECT MAX(version) FROM {BOOKKEEPING}").fetchone()[0])
        with psycopg.connect(url) as target:  # one transaction, committed at the end
            target.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            _refuse_unless_empty(target, url)
            row = target.execute(f"SELECT MAX(version) FROM {BOOKKEEPING}").fetchone()
            if row is None or row[0] != version:
                raise TransferRefused(
                    f"schema versions differ: SQLite {version}, PostgreSQL"
                    f" {None if row is None else row[0]}"
                )
            tables = _tables(target)
            _same_tables(reader, tables)
            transfer = Transfer(schema_version=version)
            order = _dependency_order(target, tables)
            _switch_triggers(target, order, "DISABLE")
            for table in order:
                _copy_table(reader, target, table, batch_rows, derived=table.name in DERIVED)
            _switch_triggers(target, order, "ENABLE")
            transfer.identities = _reset_identities(target, order)
            if verify:
                transfer.tables = [_compare(reader, target, table, batch_rows) for table in order]
            target.commit()
        return transfer
    finally:
        reader.close()


def _tables(target: psycopg.Connection[Any]) -> dict[str, _Table]:
    """The public tables of the target, their columns, keys and self-references."""
    columns: dict[str, list[tuple[str, bool, bool, str]]] = defaultdict(list)
    for table, column, generated, identity, kind in target.execute(
        "SELECT c.relname, a.attname, a.attgenerated <> '', a.attidentity <> '',"
        " format_type(a.atttypid, NULL)"
        " FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0"
        " AND NOT a.attisdropped ORDER BY c.relname, a.attnum"
    ):
        if table != BOOKKEEPING:
            columns[table].append((column, generated, identity, kind))
    keys: dict[str, list[str]] = defaultdict(list)
    for table, column in target.execute(
        "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum"
        " WHERE n.nspname = 'public' AND i.indisprimary ORDER BY c.relname, k.position"
    ):
        keys[table].append(column)
    self_refs: dict[str, list[str]] = defaultdict(list)
    for table, column in target.execute(
        "SELECT c.relname, a.attname FROM pg_constraint f"
        " JOIN pg_class c ON c.oid = f.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = f.conkey[1]"
        " WHERE n.nspname = 'public' AND f.contype = 'f' AND f.conrelid = f.confrelid"
        " AND cardinality(f.conkey) = 1"
    ):
        self_refs[table].append(column)
    tables = {}
    for name, described in columns.items():
        if not keys[name]:
            raise TransferRefused(f"table {name} has no primary key to compare its rows by")
        kinds = {column: kind for column, _, _, kind in described}
        tables[name] = _Table(
            name=name,
            columns=tuple(column for column, _, _, _ in described),
            generated=frozenset(column for column, generated, _, _ in described if generated),
            key=tuple(keys[name]),
            text_key=frozenset(c for c in keys[name] if kinds[c] == "text"),
            identity=next((column for column, _, identity, _ in described if identity), None),
            self_refs=tuple(self_refs[name]),
        )
    return tables


def _same_tables(reader: sqlite3.Connection, tables: dict[str, _Table]) -> None:
    """Refuse unless the source has the target's tables with the target's columns."""
    found = {
        row[0]
        for row in reader.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    } - {BOOKKEEPING}
    if found != set(tables):
        raise TransferRefused(
            "the two schemas have different tables: only in SQLite"
            f" {sorted(found - set(tables))}, only in PostgreSQL {sorted(set(tables) - found)}"
        )
    for table in tables.values():
        columns = {row[1] for row in reader.execute(f'PRAGMA table_xinfo("{table.name}")')}
        if columns != set(table.columns):
            raise TransferRefused(
                f"table {table.name} has different columns: only in SQLite"
                f" {sorted(columns - set(table.columns))}, only in PostgreSQL"
                f" {sorted(set(table.columns) - columns)}"
            )


def _dependency_order(target: psycopg.Connection[Any], tables: dict[str, _Table]) -> list[_Table]:
    """Every table after the tables its foreign keys refer to (by name otherwise), the derived
    ones last."""
    needs: dict[str, set[str]] = {name: set() for name in tables}
    for child, parent in target.execute(
        "SELECT c.relname, p.relname FROM pg_constraint f"
        " JOIN pg_class c ON c.oid = f.conrelid JOIN pg_class p ON p.oid = f.confrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND f.contype = 'f' AND f.conrelid <> f.confrelid"
    ):
        if child in needs and parent in needs:
            needs[child].add(parent)
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(needs):
        ready = sorted(
            name
            for name in needs
            if name not in placed and needs[name] <= placed and name not in DERIVED
        )
        if not ready:
            ready = sorted(name for name in needs if name not in placed and name in DERIVED)
        if not ready:
            raise TransferRefused(f"foreign keys in a circle among {sorted(set(needs) - placed)}")
        order.extend(ready)
        placed.update(ready)
    return [tables[name] for name in order]


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _batches(cursor: sqlite3.Cursor, size: int) -> Iterator[list[Any]]:
    while batch := cursor.fetchmany(size):
        yield batch


def _copy_table(
    reader: sqlite3.Connection,
    target: psycopg.Connection[Any],
    table: _Table,
    batch_rows: int,
    *,
    derived: bool,
) -> None:
    columns = table.written
    rows = reader.execute(
        f'SELECT {_quoted(columns)} FROM "{table.name}" ORDER BY {_quoted(table.key)}'
    )
    if derived:
        target.execute(DERIVED[table.name].encode())
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT DO NOTHING").format(
            sql.Identifier(table.name),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        with target.cursor() as cursor:
            for batch in _batches(rows, batch_rows):
                cursor.executemany(insert, batch)
        return
    later = [columns.index(column) for column in table.self_refs]
    key = columns.index(table.key[0]) if later else -1
    deferred: list[tuple[Any, ...]] = []  # (value, key) of each self-reference set
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with target.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for batch in _batches(rows, batch_rows):
            for row in batch:
                if later:
                    values = list(row)
                    for position in later:
                        if values[position] is not None:
                            deferred.append((position, values[position], values[key]))
                            values[position] = None
                    copy.write_row(values)
                else:
                    copy.write_row(row)
    for position in later:
        update = sql.SQL("UPDATE {} SET {} = %s WHERE {} = %s").format(
            sql.Identifier(table.name),
            sql.Identifier(columns[position]),
            sql.Identifier(table.key[0]),
        )
        pairs = [(value, row_key) for at, value, row_key in deferred if at == position]
        with target.cursor() as cursor:
            cursor.executemany(update, pairs)


def _switch_triggers(
    target: psycopg.Connection[Any], tables: list[_Table], how: Literal["DISABLE", "ENABLE"]
) -> None:
    """The tables' own triggers (not the foreign keys' checks) off for the copy, or on again:
    within the transaction, so a failed copy leaves them on."""
    for table in tables:
        target.execute(
            sql.SQL("ALTER TABLE {} {} TRIGGER USER").format(
                sql.Identifier(table.name), sql.SQL(how)
            )
        )


def _reset_identities(target: psycopg.Connection[Any], tables: list[_Table]) -> dict[str, int]:
    """Each identity's next value: one past the largest id copied (1 for an empty table)."""
    following = {}
    for table in tables:
        if table.identity is None:
            continue
        query = sql.SQL(
            "SELECT setval(pg_get_serial_sequence({}, {}), COALESCE(MAX({}), 0) + 1, false) FROM {}"
        ).format(
            sql.Literal(table.name),
            sql.Literal(table.identity),
            sql.Identifier(table.identity),
            sql.Identifier(table.name),
        )
        row = target.execute(query).fetchone()
        following[table.name] = int(row[0]) if row is not None else 1
    return following


def _compare(
    reader: sqlite3.Connection, target: psycopg.Connection[Any], table: _Table, batch_rows: int
) -> TableCopied:
    """Both sides' rows in key order, every column, compared one by one."""
    columns = _quoted(table.columns)
    ours = reader.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY {_quoted(table.key)}')
    # Text keys ordered by their bytes, as SQLite's BINARY collation orders them.
    order = ", ".join(
        f'"{column}" COLLATE "C"' if column in table.text_key else f'"{column}"'
        for column in table.key
    )
    digest = hashlib.sha256()
    count = 0
    with target.cursor(name=f"check_{table.name}") as theirs:
        theirs.itersize = batch_rows
        theirs.execute(f'SELECT {columns} FROM "{table.name}" ORDER BY {order}'.encode())
        copied = iter(theirs)
        for batch in _batches(ours, batch_rows):
            for row in batch:
                original = tuple(row)
                other = next(copied, None)
                if other is None or tuple(other) != original:
                    raise VerificationFailed(
                        f"table {table.name}, row {count + 1} in key order: SQLite has"
                        f" {original!r}, PostgreSQL {None if other is None else tuple(other)!r}"
                    )
                digest.update(repr(original).encode())
                count += 1
        extra = next(copied, None)
        if extra is not None:
            raise VerificationFailed(
                f"table {table.name}: PostgreSQL has more rows than SQLite's {count},"
                f" such as {tuple(extra)!r}"
            )
    return TableCopied(table.name, count, digest.hexdigest())
