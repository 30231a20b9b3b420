"""Message text and captions: parse mode, explicit entities, trimming and length limits.

MarkdownV2 (and legacy Markdown) are rejected with a 400: the project sends HTML, and a
half-right Markdown parser would let wrong escaping pass the tests.
"""

from __future__ import annotations

from typing import Any

from standin import errors
from standin.errors import bad_request, entities_error
from standin.html import Entity, parse_html, utf16_len

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def parse(
    raw: Any, *, parse_mode: Any, entities: Any, strict_ampersand: bool
) -> tuple[str, list[Entity]]:
    """Turn the sent text into Telegram's (text, entities), trimmed like Telegram trims."""
    text = raw if isinstance(raw, str) else str(raw)
    if entities is not None:
        found = _checked_entities(entities)
    elif parse_mode in (None, ""):
        found = []
    elif str(parse_mode).lower() == "html":
        text, found = parse_html(text, strict_ampersand=strict_ampersand)
    elif str(parse_mode).lower() in ("markdown", "markdownv2"):
        raise entities_error("the stand-in supports only parse_mode HTML")
    else:
        raise bad_request("unsupported parse_mode")
    return strip(text, found)


def message_text(params: dict[str, Any], *, strict_ampersand: bool) -> tuple[str, list[Entity]]:
    """The ``text``/``parse_mode``/``entities`` of sendMessage and editMessageText."""
    text, entities = parse(
        params.get("text", ""),
        parse_mode=params.get("parse_mode"),
        entities=params.get("entities"),
        strict_ampersand=strict_ampersand,
    )
    if not text:
        raise bad_request(errors.TEXT_EMPTY)
    if utf16_len(text) > TEXT_LIMIT:
        raise bad_request(errors.TEXT_TOO_LONG)
    return text, entities


def caption(params: dict[str, Any], *, strict_ampersand: bool) -> dict[str, Any]:
    """The caption fields of a media message (empty when there is no caption)."""
    if params.get("caption") is None:
        return {}
    text, entities = parse(
        params["caption"],
        parse_mode=params.get("parse_mode"),
        entities=params.get("caption_entities"),
        strict_ampersand=strict_ampersand,
    )
    if utf16_len(text) > CAPTION_LIMIT:
        raise bad_request(errors.CAPTION_TOO_LONG)
    fields: dict[str, Any] = {"caption": text} if text else {}
    if text and entities:
        fields["caption_entities"] = entities
    return fields


def strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Drop leading and trailing whitespace, moving and clipping the entities with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def _checked_entities(entities: Any) -> list[Entity]:
    """Explicit ``entities`` are taken as sent once they look like MessageEntity objects."""
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    for entity in entities:
        fields_ok = isinstance(entity, dict) and isinstance(entity.get("type"), str)
        if not fields_ok or not all(isinstance(entity.get(k), int) for k in ("offset", "length")):
            raise bad_request("can't parse MessageEntity JSON object")
    return list(entities)
