"""Telegram's HTML parse mode: markup in, plain text and MessageEntity list out.

Follows tdlib's parser (``parse_html`` in MessageEntity.cpp): the same tags, the same error
wording, offsets and lengths counted in UTF-16 code units. One deliberate difference: a bare
``&`` that starts no entity is an error here when ``strict_ampersand`` is on (the default),
although Telegram shows it literally, because it almost always means user text that was put
into HTML without ``html.escape``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from standin.errors import ApiError, entities_error

Entity = dict[str, Any]

TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z]{1,10});")
_NAME_END = " \t\r\n>/"
_ATTR_NAME = re.compile(r"[^\s=>/]+")
_UNQUOTED = re.compile(r"[^\s>]*")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _OpenTag:
    name: str
    offset: int
    attrs: dict[str, str]
    language: str | None = None


@dataclass
class _Parser:
    source: str
    strict_ampersand: bool
    pos: int = 0
    out: list[str] = field(default_factory=list)
    length: int = 0
    stack: list[_OpenTag] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def fail(self, reason: str, at: int | None = None) -> ApiError:
        if at is None:
            return entities_error(reason)
        offset = len(self.source[:at].encode())
        return entities_error(f"{reason} at byte offset {offset}")

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_len(text)

    def run(self) -> tuple[str, list[Entity]]:
        while self.pos < len(self.source):
            match = _SPECIAL.search(self.source, self.pos)
            end = match.start() if match else len(self.source)
            self.emit(self.source[self.pos : end])
            self.pos = end
            if match is None:
                break
            if match.group() == "&":
                self.ampersand()
            elif self.source.startswith("</", self.pos):
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            name = self.stack[-1].name
            raise self.fail(f'Can\'t find end tag corresponding to start tag "{name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def ampersand(self) -> None:
        decoded, end = decode_entity(self.source, self.pos)
        if decoded is None:
            if self.strict_ampersand:
                offset = len(self.source[: self.pos].encode())
                raise self.fail(
                    f'Unescaped "&" at byte offset {offset} (stricter than '
                    "Telegram, which shows it as text: write &amp;)"
                )
            decoded, end = "&", self.pos + 1
        self.emit(decoded)
        self.pos = end

    def start_tag(self) -> None:
        begin = self.pos
        end = self.pos + 1
        while end < len(self.source) and self.source[end] not in _NAME_END:
            end += 1
        name = self.source[begin + 1 : end].lower()
        if end == len(self.source):
            raise self.fail("Unclosed start tag", begin)
        if name not in TAG_TYPES:
            raise self.fail(f'Unsupported start tag "{name}"', begin)
        attrs, self.pos = self.attributes(name, begin, end)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail('Tag "span" must have class "tg-spoiler"', begin)
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.fail("Custom emoji entity must contain a valid custom emoji identifier")
        self.stack.append(_OpenTag(name, self.length, attrs))

    def attributes(self, tag: str, begin: int, pos: int) -> tuple[dict[str, str], int]:
        attrs: dict[str, str] = {}
        source = self.source
        while True:
            while pos < len(source) and source[pos] in " \t\r\n/":
                pos += 1
            if pos == len(source):
                raise self.fail("Unclosed start tag", begin)
            if source[pos] == ">":
                return attrs, pos + 1
            match = _ATTR_NAME.match(source, pos)
            if match is None:
                raise self.fail(f'Empty attribute name in the tag "{tag}"', begin)
            name, pos = match.group().lower(), match.end()
            while pos < len(source) and source[pos] in " \t\r\n":
                pos += 1
            if pos < len(source) and source[pos] == "=":
                attrs[name], pos = self.attribute_value(tag, begin, pos + 1)
            else:
                attrs[name] = ""

    def attribute_value(self, tag: str, begin: int, pos: int) -> tuple[str, int]:
        source = self.source
        while pos < len(source) and source[pos] in " \t\r\n":
            pos += 1
        if pos < len(source) and source[pos] in "\"'":
            close = source.find(source[pos], pos + 1)
            if close < 0:
                raise self.fail(f'Unclosed attribute value in the tag "{tag}"', begin)
            raw, pos = source[pos + 1 : close], close + 1
        else:
            match = _UNQUOTED.match(source, pos)
            assert match is not None  # the pattern matches the empty string
            raw, pos = match.group(), match.end()
        return unescape(raw), pos

    def end_tag(self) -> None:
        begin = self.pos
        close = self.source.find(">", begin)
        if close < 0:
            raise self.fail("Unclosed end tag", begin)
        name = self.source[begin + 2 : close].strip().lower()
        if not self.stack:
            raise self.fail("Unexpected end tag", begin)
        expected = self.stack[-1].name
        if name != expected:
            raise self.fail(
                f"Unmatched end tag at byte offset {len(self.source[:begin].encode())}, "
                f'expected "</{expected}>", found "</{name}>"'
            )
        self.pos = close + 1
        self.close(self.stack.pop())

    def close(self, tag: _OpenTag) -> None:
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent is not None and parent.name == "pre":
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                parent.language = language.removeprefix("language-")
            return
        length = self.length - tag.offset
        entity = _entity_for(tag, length)
        if length > 0 and entity is not None:
            self.entities.append(entity)


def _entity_for(tag: _OpenTag, length: int) -> Entity | None:
    kind = TAG_TYPES[tag.name]
    entity: Entity = {"type": kind, "offset": tag.offset, "length": length}
    if kind == "text_link":
        href = tag.attrs.get("href", "")
        if not href:
            return None
        entity["url"] = href
    elif kind == "pre" and tag.language:
        entity["language"] = tag.language
    elif kind == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    return entity


def decode_entity(source: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at ``pos``; ``(None, pos)`` if it is not one."""
    match = _ENTITY.match(source, pos)
    if match is None:
        return None, pos
    body = match.group(1)
    if not body.startswith("#"):
        return NAMED_ENTITIES.get(body), match.end()
    code = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, pos
    return chr(code), match.end()


def unescape(raw: str) -> str:
    """Decode the references in an attribute value, keeping undecodable ``&`` literally."""
    parts: list[str] = []
    pos = 0
    while (amp := raw.find("&", pos)) >= 0:
        parts.append(raw[pos:amp])
        decoded, end = decode_entity(raw, amp)
        parts.append(decoded if decoded is not None else "&")
        pos = end if decoded is not None else amp + 1
    parts.append(raw[pos:])
    return "".join(parts)


def parse_html(source: str, *, strict_ampersand: bool = True) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML; raise the 400 "can't parse entities" ApiError on bad markup."""
    return _Parser(source, strict_ampersand).run()
