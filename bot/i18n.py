"""Message catalogs: every text a user sees, in Simplified Chinese and English.

Catalogs are TOML files under ``bot/locales/<language>/``; tables nest into dotted keys
(``[start] admin = "…"`` is ``start.admin``). Texts are HTML for ``parse_mode=HTML``.
Placeholders are ``{name}``; every value is HTML-escaped on the way in unless it is
wrapped in :class:`Html`, so user-supplied text cannot break the markup.
"""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LOCALES_PACKAGE = "bot.locales"


class Html(str):
    """A fragment that is already valid HTML and must not be escaped again."""

    __slots__ = ()


class MissingText(KeyError):
    """A catalog key that does not exist: a programming error, caught by the catalog tests."""


def escape(value: object) -> str:
    return html.escape(str(value), quote=False)


@cache
def catalog(language: str) -> Mapping[str, str]:
    """All texts of one language, flattened to dotted keys."""
    texts: dict[str, str] = {}
    folder = resources.files(LOCALES_PACKAGE).joinpath(language)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            _flatten(tomllib.loads(entry.read_text(encoding="utf-8")), "", texts)
    return texts


def _flatten(table: Mapping[str, Any], prefix: str, out: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            _flatten(value, f"{name}.", out)
        else:
            out[name] = str(value)


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def translate(language: str, key: str, **params: object) -> str:
    """The text for ``key`` in ``language`` with its placeholders filled in, escaped."""
    texts = catalog(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    try:
        template = texts[key]
    except KeyError:
        raise MissingText(key) from None
    safe = {
        name: value if isinstance(value, Html) else escape(value) for name, value in params.items()
    }
    return template.format_map(safe)


def pick_language(chosen: str | None, telegram_language: str | None, default: str) -> str:
    """The user's own choice first, then their Telegram language, then the configured default."""
    if chosen in LANGUAGES:
        return chosen
    code = (telegram_language or "").lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("zh"):
        return "zh"
    return default


class Translator:
    """Texts bound to one language, as handed to a handler for one user."""

    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **params: object) -> str:
        return translate(self.language, key, **params)


def say_when(texts: Translator, moment: datetime, *, now: datetime, tz: tzinfo) -> str:
    """A moment as the reader says it in ``tz``: "00:24" today, "明天 00:24" / "tomorrow at
    00:24" tomorrow, and with its date on any other day."""
    local = moment.astimezone(tz)
    today = now.astimezone(tz).date()
    time = f"{local:%H:%M}"
    if local.date() == today:
        return texts("when.today", time=time)
    if local.date() == today + timedelta(days=1):
        return texts("when.tomorrow", time=time)
    return texts("when.other", date=f"{local:%Y-%m-%d}", time=time)
