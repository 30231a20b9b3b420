"""Callback data as typed, prefixed classes that pack and parse themselves.

Callback data comes from the client and is never trusted: :meth:`CallbackData.parse`
rejects anything malformed, and handlers still check who may press the button.
Packed data stays within Telegram's 64 bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Collection
from enum import Enum
from typing import Any, ClassVar, Self, get_type_hints

from telegram import InlineKeyboardButton, Update

SEPARATOR = ":"
MAX_BYTES = 64


class BadCallback(ValueError):
    """Callback data that does not parse: forged, corrupted or from an old version."""


class CallbackData:
    prefix: ClassVar[str]
    # Every class with a prefix, by prefix: what handlers/access.py parses a press with.
    by_prefix: ClassVar[dict[str, type[CallbackData]]] = {}

    def __init_subclass__(cls, prefix: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not prefix and "prefix" in cls.__dict__:
            prefix = cls.prefix  # dataclass(slots=True) made this copy of the class: it counts
        if prefix:
            if SEPARATOR in prefix:
                raise ValueError(f"prefix {prefix!r} may not contain {SEPARATOR!r}")
            known = CallbackData.by_prefix.get(prefix)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise ValueError(f"prefix {prefix!r} is taken by {known.__qualname__}")
            cls.prefix = prefix
            CallbackData.by_prefix[prefix] = cls

    @property
    def first(self) -> str:
        """The first value as packed (for a menu entry or a list page: the command it is)."""
        return _dump(getattr(self, dataclasses.fields(self)[0].name))  # type: ignore[arg-type]

    def pack(self) -> str:
        values = [_dump(getattr(self, f.name)) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        data = SEPARATOR.join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data too long: {data!r}")
        return data

    @classmethod
    def parse(cls, data: str) -> Self:
        parts = data.split(SEPARATOR)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        if parts[0] != cls.prefix or len(parts) != len(fields) + 1:
            raise BadCallback(data)
        hints = _field_types(cls)  # type: ignore[arg-type]
        try:
            values = {
                f.name: _load(hints[f.name], raw) for f, raw in zip(fields, parts[1:], strict=True)
            }
            return cls(**values)
        except (ValueError, TypeError) as exc:
            raise BadCallback(data) from exc

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """For ``CallbackQueryHandler(pattern=...)``: data that starts with this prefix."""
        return re.compile(f"^{re.escape(cls.prefix)}({SEPARATOR}|$)")


@dataclasses.dataclass(frozen=True, slots=True)
class StepButton(CallbackData):
    """A button of one step of a conversation: the step it answers and the value chosen."""

    step: str
    value: str

    @classmethod
    def button(cls, label: str, step: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=cls(step, value).pack())

    @classmethod
    def on(cls, step: str) -> str:
        """The ``CallbackQueryHandler`` pattern for the buttons of ``step``."""
        return f"^{cls.prefix}{SEPARATOR}{step}{SEPARATOR}"

    @classmethod
    async def pressed(
        cls, update: Update, button: CallbackData | None, step: str, values: Collection[str]
    ) -> Self | None:
        """``button`` (the press handlers/access.py parsed), its press answered, if it is one
        of ``step`` with one of the ``values`` offered; else None, the press left unanswered for
        the caller to refuse as stale."""
        query = update.callback_query
        assert query is not None
        if not isinstance(button, cls) or button.step != step or button.value not in values:
            return None
        await query.answer()
        return button


def parse_any(data: str) -> CallbackData:
    """Whichever button ``data`` is, by its prefix; BadCallback if it is none we make."""
    cls = CallbackData.by_prefix.get(data.split(SEPARATOR, 1)[0])
    if cls is None:
        raise BadCallback(data)
    return cls.parse(data)


@functools.cache
def _field_types(cls: type[CallbackData]) -> dict[str, Any]:
    """Once per class: ``get_type_hints`` evaluates (compiles) every annotation each call."""
    return get_type_hints(cls)


def _dump(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if SEPARATOR in text:
        raise ValueError(f"callback value {text!r} may not contain {SEPARATOR!r}")
    return text


def _load(kind: Any, raw: str) -> object:
    if kind is bool:
        if raw not in ("0", "1"):
            raise ValueError(raw)
        return raw == "1"
    if kind is int:
        if not re.fullmatch(r"-?\d{1,19}", raw):
            raise ValueError(raw)
        return int(raw)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind(raw)
    if kind is str:
        return raw
    raise TypeError(f"unsupported callback field type {kind!r}")
