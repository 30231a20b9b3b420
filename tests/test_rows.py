"""The one mapping from SQLite rows to models: every conversion, None, enums, and bad rows."""

from __future__ import annotations

import importlib
import re
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

import pytest

from storage.rows import RowError, reader, row_to, rows_to


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True, slots=True)
class Everything:
    id: int
    name: str
    share: float
    at: datetime
    day: date
    done: bool
    colour: Colour
    maybe_at: datetime | None
    maybe_colour: Colour | None
    maybe_name: str | None
    ids: tuple[int, ...]
    portfolio: frozenset[int]
    days: tuple[date, ...]
    details: Mapping[str, str]
    stamps: dict[str, datetime]


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int


@dataclass(frozen=True, slots=True)
class Stamp:
    at: datetime
    where: Point


@dataclass(frozen=True, slots=True)
class Parcel:
    stamp: Stamp | None


@dataclass(frozen=True, kw_only=True)
class Named:
    label: str
    hidden: int = field(default=0, init=False)


class Wrapped:
    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True, slots=True)
class Custom:
    wrapped: Wrapped


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()


def one(db: sqlite3.Connection, sql: str) -> sqlite3.Row:
    row: sqlite3.Row = db.execute(sql).fetchone()
    return row


def row_of(db: sqlite3.Connection, values: Mapping[str, object]) -> sqlite3.Row:
    """A row with these columns holding these stored values."""
    columns = ", ".join(f"? AS {name}" for name in values)
    row: sqlite3.Row = db.execute(f"SELECT {columns}", tuple(values.values())).fetchone()
    return row


# What storage keeps for one Everything.
STORED: dict[str, object] = {
    "id": 7,
    "name": "名字",
    "share": 0.5,
    "at": 1700000000,
    "day": "2026-02-17",
    "done": 1,
    "colour": "red",
    "maybe_at": 1700000120,
    "maybe_colour": "blue",
    "maybe_name": "x",
    "ids": "[3, 1, 2]",
    "portfolio": "[5, 5, 6]",
    "days": '["2026-10-01"]',
    "details": '{"debtor": "某国企"}',
    "stamps": '{"a": 1700000060}',
}
NONE = {"maybe_at": None, "maybe_colour": None, "maybe_name": None}


def test_every_conversion(db: sqlite3.Connection) -> None:
    assert row_to(Everything, row_of(db, STORED)) == Everything(
        id=7,
        name="名字",
        share=0.5,
        at=datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC),
        day=date(2026, 2, 17),
        done=True,
        colour=Colour.RED,
        maybe_at=datetime(2023, 11, 14, 22, 15, 20, tzinfo=UTC),
        maybe_colour=Colour.BLUE,
        maybe_name="x",
        ids=(3, 1, 2),
        portfolio=frozenset({5, 6}),
        days=(date(2026, 10, 1),),
        details={"debtor": "某国企"},
        stamps={"a": datetime(2023, 11, 14, 22, 14, 20, tzinfo=UTC)},
    )


def test_moments_are_aware_and_bools_are_bools(db: sqlite3.Connection) -> None:
    read = row_to(Everything, row_of(db, {**STORED, **NONE}))
    assert read.at.tzinfo is UTC
    assert read.done is True
    assert type(read.colour) is Colour


def test_none_stays_none_in_optional_fields(db: sqlite3.Connection) -> None:
    read = row_to(Everything, row_of(db, {**STORED, **NONE}))
    assert (read.maybe_at, read.maybe_colour, read.maybe_name) == (None, None, None)


def test_an_empty_json_group_is_an_empty_collection(db: sqlite3.Connection) -> None:
    (empty,) = db.execute("SELECT json_group_array(x) FROM (SELECT 1 AS x WHERE 0)").fetchone()
    read = row_to(Everything, row_of(db, {**STORED, "portfolio": empty}))
    assert read.portfolio == frozenset()


def test_rows_to_keeps_the_order(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT 2 AS y, 1 AS x UNION ALL SELECT 4, 3").fetchall()
    assert rows_to(Point, rows) == [Point(1, 2), Point(3, 4)]


def test_columns_are_read_by_name_not_position(db: sqlite3.Connection) -> None:
    assert row_to(Point, one(db, "SELECT 2 AS y, 9 AS unused, 1 AS x")) == Point(1, 2)


def test_a_nested_model_is_read_from_a_json_object(db: sqlite3.Connection) -> None:
    sql = "SELECT json_object('at', 1700000000, 'where', json_object('x', 1, 'y', 2)) AS stamp"
    at = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert row_to(Parcel, one(db, sql)) == Parcel(Stamp(at, Point(1, 2)))
    assert row_to(Parcel, one(db, "SELECT NULL AS stamp")) == Parcel(None)


def test_a_nested_model_missing_a_field_names_it(db: sqlite3.Connection) -> None:
    with pytest.raises(RowError, match=r"Parcel\.stamp: .*Stamp\.where: the row has no column"):
        row_to(Parcel, one(db, "SELECT json_object('at', 1700000000) AS stamp"))


def test_keyword_only_models_and_fields_not_in_init(db: sqlite3.Connection) -> None:
    assert row_to(Named, one(db, "SELECT 'a' AS label")) == Named(label="a")


def test_a_converter_given_by_field_name(db: sqlite3.Connection) -> None:
    read = reader(Custom, wrapped=Wrapped)
    assert read(one(db, "SELECT 'w' AS wrapped")).wrapped.text == "w"


def test_a_type_with_no_conversion_is_refused_when_the_reader_is_made() -> None:
    with pytest.raises(TypeError, match=r"Custom\.wrapped: no conversion"):
        reader(Custom)


def test_a_converter_for_no_field_is_refused() -> None:
    with pytest.raises(TypeError, match="no fields"):
        reader(Point, z=int)


def test_not_a_dataclass_is_refused() -> None:
    with pytest.raises(TypeError, match="not a dataclass"):
        reader(Wrapped)


def test_a_missing_column_names_the_field_and_the_columns(db: sqlite3.Connection) -> None:
    with pytest.raises(RowError, match=r"Point\.y: the row has no column 'y' \(it has x, z\)"):
        row_to(Point, one(db, "SELECT 1 AS x, 2 AS z"))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("colour", "green"),  # not a member of the enum
        ("done", 2),  # a bool is stored as 0 or 1
        ("at", "yesterday"),  # a moment is stored as Unix seconds
        ("day", "17/02/2026"),  # a date is stored as ISO text
        ("ids", "1,2"),  # a collection is stored as a JSON array
        ("maybe_colour", "green"),  # an optional value is checked like any other
    ],
)
def test_a_bad_value_names_the_field_and_the_value(
    db: sqlite3.Connection, column: str, value: object
) -> None:
    with pytest.raises(RowError, match=rf"Everything\.{column}: cannot read {value!r}"):
        row_to(Everything, row_of(db, {**STORED, column: value}))


@dataclass(frozen=True)
class Odd:
    either: int | str


@dataclass(frozen=True)
class Pair:
    both: tuple[int, int]


@pytest.mark.parametrize("model", [Odd, Pair])
def test_types_the_mapping_cannot_read_are_refused_when_the_reader_is_made(model: type) -> None:
    with pytest.raises(TypeError, match=model.__name__):
        reader(model)


def test_every_model_storage_reads_has_a_reader() -> None:
    """A model whose field the mapping cannot read fails here, not on the first rare read."""
    read = re.compile(r"\brows?_to\((\w+),")
    checked = 0
    for path in sorted((Path(__file__).parent.parent / "storage").glob("*.py")):
        module = importlib.import_module(f"storage.{path.stem}")
        for name in sorted(set(read.findall(path.read_text(encoding="utf-8")))):
            reader(getattr(module, name))
            checked += 1
    assert checked >= 30
