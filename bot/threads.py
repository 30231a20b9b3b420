"""A request's full thread as its reader reads it: the whole description, then the messages
(internal notes only for its holder and admins), a page at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.lifecycle import Party
from storage.requests import Message, Request

# User text per message: Telegram's 4096 characters less room for the headings around it.
TEXT_ROOM = 3800


@dataclass(frozen=True, slots=True)
class Thread:
    """One page of a request's thread, as one viewer may read it."""

    request: Request
    messages: list[Message]
    total: int
    page: int
    first: int  # the position (from 1) of messages[0] in the whole thread

    @property
    def last(self) -> int:
        return self.first + len(self.messages) - 1

    @property
    def more(self) -> bool:
        return self.last < self.total


def reads_notes(who: frozenset[Party]) -> bool:
    """Internal notes are for the holder and the admins, never the enterprise."""
    return bool(who & {Party.HOLDER, Party.ADMIN})


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, room: int = TEXT_ROOM) -> list[str]:
    """``text`` in pieces of at most ``room`` UTF-16 code units, nothing left out; a piece
    ends after a line break when there is one in its second half."""
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end, size = start, 0
        while end < len(text) and size + units(text[end]) <= room:
            size += units(text[end])
            end += 1
        end = max(end, start + 1)
        if end < len(text):
            cut = text.rfind("\n", start, end)
            if cut >= start + (end - start) // 2:
                end = cut + 1
        pieces.append(text[start:end])
        start = end
    return pieces
