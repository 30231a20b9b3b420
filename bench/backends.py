"""Which database a benchmark runs on (issue 21, point 6): SQLite, PostgreSQL, or both.

``--storage sqlite`` (the default) keeps each benchmark as it was. ``--storage postgresql`` runs
it on a throwaway database created on the server ``--postgres-url`` names (an administrator's
URL: the role must be allowed ``CREATE DATABASE``) and dropped afterwards; ``--storage both``
runs it on each and prints them side by side. The throwaway databases are named ``pgbench_…``.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)
BOTH = "both"
# The local server the test suite uses too (trust auth, database ``test``).
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
PREFIX = "pgbench_"
LABELS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
# The name the server's processes go by (/proc/<pid>/comm), and the kernel's clock ticks a
# second, in which /proc/<pid>/stat counts CPU time.
SERVER_PROCESS = "postgres"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        choices=(*BACKENDS, BOTH),
        default=SQLITE,
        help="the backend to run on, or both side by side (default: sqlite)",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_ADMIN_URL,
        help="an administrator's URL of the PostgreSQL server, where a throwaway database is"
        f" created and dropped afterwards (default: {DEFAULT_ADMIN_URL})",
    )


def chosen(storage: str) -> tuple[str, ...]:
    """The backends ``--storage`` names, SQLite first."""
    return BACKENDS if storage == BOTH else (storage,)


def url_of(admin_url: str, name: str) -> str:
    """``admin_url`` with database ``name`` instead of its own (its query string kept)."""
    base, mark, query = admin_url.partition("?")
    return f"{base.rpartition('/')[0]}/{name}{mark}{query}"


def _admin(admin_url: str, statement: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(statement.encode())


def create_database(admin_url: str, label: str) -> str:
    """A new, empty database on the server; its URL. Drop it with :func:`drop_database`."""
    name = f"{PREFIX}{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    return url_of(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = url.partition("?")[0].rpartition("/")[2]
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def throwaway_database(admin_url: str, label: str) -> Iterator[str]:
    """The URL of a new database, dropped (its connections closed) when the block ends."""
    url = create_database(admin_url, label)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


def side_by_side(figures: dict[str, dict[str, float]]) -> list[str]:
    """One line per figure, SQLite's and PostgreSQL's values and their ratio PostgreSQL /
    SQLite. ``figures`` maps a figure's name to its value per backend."""
    lines = [f"{'':44} {'SQLite':>12} {'PostgreSQL':>12} {'PG / SQLite':>12}"]
    for name, values in figures.items():
        lite, pg = values.get(SQLITE), values.get(POSTGRESQL)
        ratio = f"{pg / lite:12.2f}" if lite and pg is not None else f"{'':12}"
        lines.append(f"{name:44} {_cell(lite)} {_cell(pg)} {ratio}")
    return lines


def _cell(value: float | None) -> str:
    return f"{'-':>12}" if value is None else f"{value:12.2f}"


def server_cpu_seconds(proc: Path = Path("/proc")) -> float:
    """The CPU time (user and system) every process of a PostgreSQL server on this machine has
    used so far: its sessions' backends, the WAL writer, the checkpointer. On a machine whose
    cores the bot shares with the server, this is the server's part of the work an update
    costs. 0 where /proc cannot tell (another OS; a server on another machine); a process that
    ended between two readings takes its time with it."""
    total = 0
    for entry in proc.glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() != SERVER_PROCESS:
                continue
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / CLOCK_TICKS
