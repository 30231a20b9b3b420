"""Render a message's text and entities as safe HTML for the sandbox page.

Only display formatting becomes markup; every character of the text is escaped, and links are
kept only for http(s) and tg URLs, so a bot cannot inject markup into the page.
"""

from __future__ import annotations

import html
from typing import Any

_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "spoiler": ('<span class="tg-spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ('<blockquote class="expandable">', "</blockquote>"),
}
_SAFE_SCHEMES = ("http://", "https://", "tg://")


def _tags(entity: dict[str, Any]) -> tuple[str, str] | None:
    if entity.get("type") == "text_link":
        url = str(entity.get("url", ""))
        if url.lower().startswith(_SAFE_SCHEMES):
            return f'<a href="{html.escape(url)}">', "</a>"
        return None
    return _TAGS.get(str(entity.get("type")))


def _unit_to_index(text: str) -> dict[int, int]:
    """Map each UTF-16 offset that falls on a character boundary to a string index."""
    mapping: dict[int, int] = {}
    units = 0
    for index, char in enumerate(text):
        mapping[units] = index
        units += 2 if ord(char) > 0xFFFF else 1
    mapping[units] = len(text)
    return mapping


def render_html(text: str, entities: list[dict[str, Any]]) -> str:
    """Escape ``text`` and wrap the formatted ranges in their tags, properly nested."""
    index = _unit_to_index(text)
    spans: list[tuple[int, int, str, str]] = []
    for entity in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        tags = _tags(entity)
        start = index.get(entity["offset"])
        end = index.get(entity["offset"] + entity["length"])
        if tags is not None and start is not None and end is not None:
            spans.append((start, end, *tags))
    parts: list[str] = []
    stack: list[tuple[int, str]] = []
    position = 0
    for start, end, opening, closing in spans:
        position = _close_until(text, parts, stack, position, start)
        parent_end = stack[-1][0] if stack else len(text)
        parts.append(html.escape(text[position:start]) + opening)
        stack.append((min(end, parent_end), closing))
        position = start
    _close_until(text, parts, stack, position, len(text) + 1)
    return "".join(parts)


def _close_until(
    text: str, parts: list[str], stack: list[tuple[int, str]], position: int, limit: int
) -> int:
    """Close every open tag that ends by ``limit``, writing the text up to each end."""
    while stack and stack[-1][0] <= limit:
        end, closing = stack.pop()
        parts.append(html.escape(text[position:end]) + closing)
        position = end
    if not stack and limit > len(text):
        parts.append(html.escape(text[position:]))
        position = len(text)
    return position
