"""One mapping from SQLite rows to the frozen dataclass models that storage hands out.

A model's fields are read from the row's columns of the same names (an alias in the SELECT
reconciles a column whose name differs) and converted by their annotated types:

- ``datetime``: the stored Unix seconds, as an aware moment (``bot.clock.from_epoch``);
- ``date``: the stored ISO text;
- ``bool``: the stored 0 or 1;
- an ``Enum`` (``StrEnum``): its stored value;
- ``tuple[X, ...]``, ``frozenset[X]``: a stored JSON array (``json_group_array``), each element
  converted as ``X``; ``Mapping[str, X]``, ``dict[str, X]``: a stored JSON object;
- a dataclass: a stored JSON object of its fields (``json_object``), read like a row;
- ``X | None``: ``None`` stays ``None``, anything else is converted as ``X``;
- ``int``, ``str``, ``float``, ``bytes``: as stored.

Any other type needs a converter of its own, given by field name to :func:`reader`. What to do
with each field is worked out once per model and kept, so reading a row costs about what a
hand-written mapper costs. A value that cannot be converted, or a column the row lacks, raises
:class:`RowError` naming the model, the field and the value.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Protocol, TypeVar, Union, get_args, get_origin, get_type_hints

from bot.clock import from_epoch

T = TypeVar("T")


class Row(Protocol):
    """What is read of a row: its values by column name (a ``Row``, or a JSON object)."""

    def __getitem__(self, name: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


Converter = Callable[[Any], Any]
Reader = Callable[[Row], T]

# Stored as they are read: no conversion, no call.
_AS_STORED = frozenset({int, str, float, bytes, Any})
_BOOLS = {0: False, 1: True}


class RowError(ValueError):
    """A row that does not fit its model: a missing column or a value of the wrong kind."""


def reader(model: type[T], **converters: Converter) -> Reader[T]:
    """A function reading one row as ``model``; ``converters`` replace the conversion of the
    fields they name (for a type of the model's own, such as ``Audience.loads``)."""
    if not is_dataclass(model):
        raise TypeError(f"{model!r} is not a dataclass")
    hints = get_type_hints(model)
    names = [f.name for f in fields(model) if f.init]
    unknown = set(converters) - set(names)
    if unknown:
        raise TypeError(f"{model.__name__} has no fields {sorted(unknown)}")
    steps = tuple(
        (name, converters[name] if name in converters else _converter(model, name, hints[name]))
        for name in names
    )
    keywords = any(f.kw_only for f in fields(model) if f.init)

    def read(row: Row) -> T:
        try:
            values = [row[n] if convert is None else convert(row[n]) for n, convert in steps]
        except Exception as exc:
            raise _explain(model, steps, row) from exc
        return model(**dict(zip(names, values, strict=True))) if keywords else model(*values)

    return read


_readers: dict[type[Any], Reader[Any]] = {}


def row_to(model: type[T], row: Row) -> T:
    """The row as ``model``, every field converted by its annotated type."""
    return _reader_of(model)(row)


def rows_to(model: type[T], rows: Iterable[Row]) -> list[T]:
    """The rows as ``model``, in their order."""
    read = _reader_of(model)
    return [read(row) for row in rows]


def _reader_of(model: type[T]) -> Reader[T]:
    read = _readers.get(model)
    if read is None:
        read = _readers[model] = reader(model)
    return read


def _converter(model: type[Any], name: str, hint: Any) -> Converter | None:
    """How a stored value becomes a ``hint``; None when it is used as stored."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Union or origin is types.UnionType:
        inner = [arg for arg in args if arg is not type(None)]
        if len(inner) != 1 or len(args) != 2:
            raise TypeError(f"{model.__name__}.{name}: {hint!r} is a union of several types")
        convert = _converter(model, name, inner[0])
        return None if convert is None else _optional(convert)
    if hint in _AS_STORED:
        return None
    if hint is bool:
        return _BOOLS.__getitem__
    if hint is datetime:  # before date: a datetime is a date
        return from_epoch
    if hint is date:
        return date.fromisoformat
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if is_dataclass(hint) and isinstance(hint, type):
        return _nested(hint)
    if origin in (tuple, frozenset) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"{model.__name__}.{name}: only tuple[X, ...] is read, not {hint!r}")
        element = _converter(model, name, args[0])
        return _collection(origin, element)
    if origin in (dict, Mapping) and args:
        value = _converter(model, name, args[1])
        return _json if value is None else _mapping(value)
    raise TypeError(
        f"{model.__name__}.{name}: no conversion for {hint!r}; give one to storage.rows.reader"
    )


def _optional(convert: Converter) -> Converter:
    return lambda value: None if value is None else convert(value)


def _json(value: Any) -> Any:
    """A stored JSON text, parsed; inside a JSON object the value is parsed already."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _collection(kind: type[Any], element: Converter | None) -> Converter:
    if element is None:
        return lambda text: kind(_json(text))
    return lambda text: kind(element(item) for item in _json(text))


def _nested(model: type[Any]) -> Converter:
    return lambda text: _reader_of(model)(_json(text))


def _mapping(value: Converter) -> Converter:
    return lambda text: {key: value(item) for key, item in _json(text).items()}


def _explain(
    model: type[Any], steps: tuple[tuple[str, Converter | None], ...], row: Row
) -> RowError:
    """Which field of ``row`` did not fit ``model``, and why."""
    for name, convert in steps:
        try:
            value = row[name]
        except (IndexError, KeyError):
            columns = ", ".join(row.keys())
            return RowError(
                f"{model.__name__}.{name}: the row has no column {name!r} (it has {columns})"
            )
        if convert is None:
            continue
        try:
            convert(value)
        except Exception as exc:
            return RowError(f"{model.__name__}.{name}: cannot read {value!r} ({exc!r})")
    return RowError(f"{model.__name__}: the row could not be read")
