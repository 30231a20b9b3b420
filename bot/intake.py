"""The intake of a request as data: a draft that fills up step by step and is saved each time.

The next step is always the first part still missing, so editing a part of the summary is just
clearing it: the conversation asks for it again and comes back to the summary.
"""

from __future__ import annotations

import copy
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.clock import Clock
from bot.config import CATEGORIES
from storage.requests import Attachment, NewRequest, RequestRepository

# What each category must say besides the description, in asking order.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "payments": ("debtor", "amount", "since"),
    "approval": ("item", "office"),
    "ip": ("registration",),
}
STEPS = ("enterprise", "category", "question", "description", "urgency", "confirm")
# "more" reopens the description to add to it; "description" starts it again.
EDITABLE = ("enterprise", "category", "answers", "more", "description", "urgency")
MAX_ANSWER = 200
MAX_DESCRIPTION = 6000
MAX_ATTACHMENTS = 10
SUMMARY_LENGTH = 60
# How many users' drafts the process remembers (Drafts), the least recently used forgotten.
MEMO_SIZE = 10_000
_AMOUNT = re.compile(r"\d")


class BadAnswer(ValueError):
    """An answer the draft cannot take; ``reason`` is a catalog key suffix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Draft:
    enterprise_id: int | None = None
    category: str | None = None
    answers: dict[str, str] = field(default_factory=dict)
    description: list[str] = field(default_factory=list)
    attachments: list[dict[str, str]] = field(default_factory=list)
    described: bool = False
    urgent: bool | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        draft = cls(**known)
        if draft.category not in (None, *CATEGORIES):
            draft.category = None
        return draft

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    def next_step(self) -> str:
        """The first part still missing; "confirm" once everything is there."""
        if self.enterprise_id is None:
            return "enterprise"
        if self.category is None:
            return "category"
        if self.next_question() is not None:
            return "question"
        if not self.described:
            return "description"
        if self.urgent is None:
            return "urgency"
        return "confirm"

    def next_question(self) -> str | None:
        for question in QUESTIONS.get(self.category or "", ()):
            if question not in self.answers:
                return question
        return None

    def choose_category(self, category: str) -> None:
        if category not in CATEGORIES:
            raise BadAnswer("category")
        if category != self.category:
            self.answers = {}
        self.category = category

    def answer(self, text: str) -> None:
        question = self.next_question()
        if question is None:
            raise BadAnswer("no_question")
        text = text.strip()
        if not text:
            raise BadAnswer("empty")
        if len(text) > MAX_ANSWER:
            raise BadAnswer("too_long")
        if question == "amount" and not _AMOUNT.search(text):
            raise BadAnswer("amount")
        self.answers[question] = text

    def describe(self, text: str) -> None:
        text = text.strip()
        if not text:
            raise BadAnswer("empty")
        if sum(map(len, self.description)) + len(text) > MAX_DESCRIPTION:
            raise BadAnswer("description_too_long")
        self.description.append(text)

    def attach(self, attachment: Attachment) -> None:
        if len(self.attachments) >= MAX_ATTACHMENTS:
            raise BadAnswer("too_many_files")
        self.attachments.append(
            {
                "kind": attachment.kind,
                "file_id": attachment.file_id,
                "file_name": attachment.file_name or "",
                "caption": attachment.caption,
            }
        )
        if attachment.caption:
            self.describe(attachment.caption)

    def finish_description(self) -> None:
        if not self.description and not self.attachments:
            raise BadAnswer("describe_first")
        self.described = True

    def edit(self, part: str) -> None:
        """Clear one part so that the conversation asks for it again."""
        if part == "enterprise":
            self.enterprise_id = None
        elif part == "more":
            self.described = False
        elif part == "category":
            self.category, self.answers = None, {}
        elif part == "answers":
            self.answers = {}
        elif part == "description":
            self.description, self.attachments, self.described = [], [], False
        elif part == "urgency":
            self.urgent = None
        else:
            raise BadAnswer("edit")

    def to_new_request(self, submitted_by: int) -> NewRequest:
        assert self.next_step() == "confirm" and self.enterprise_id is not None
        assert self.category is not None and self.urgent is not None
        text = "\n\n".join(self.description)
        return NewRequest(
            enterprise_id=self.enterprise_id,
            submitted_by=submitted_by,
            category=self.category,
            urgent=self.urgent,
            summary=summary_of(text) or self.category,
            description=text,
            details=dict(self.answers),
            attachments=[
                Attachment(a["kind"], a["file_id"], a["file_name"] or None, a["caption"])
                for a in self.attachments
            ],
        )


def summary_of(text: str) -> str:
    """The first line of the description, shortened: what lists show."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if len(first) <= SUMMARY_LENGTH:
        return first
    return first[: SUMMARY_LENGTH - 1] + "…"


class Drafts:
    """The intake's drafts, one per user, kept at every step: ``/new`` takes up where the user
    left off, also after a restart (each write is one statement, committed on its own).

    Every step reads the user's draft and writes it back, so the process remembers each
    user's draft as it last read or wrote it and reads it from the database only when it does
    not know it (after a start, or once :data:`MEMO_SIZE` other users came by since). This
    holds because nothing else changes a draft while this process runs as the bot: the
    database has one bot (SQLite's file lock; on PostgreSQL a standby starts with an empty
    memory, after the old active's sessions were ended), no command writes drafts, and the
    bot's own other writers say so: a submit that uses the draft up (:meth:`forget`, by the
    request desk), an erasure (:meth:`forget`) and the pruning of old ones (:meth:`forget_all`).
    Writes still go to the database at every step."""

    def __init__(self, requests: RequestRepository, clock: Clock) -> None:
        self._requests = requests
        self._clock = clock
        # telegram id -> the draft as stored (None: none is), least recently used first.
        self._known: OrderedDict[int, dict[str, Any] | None] = OrderedDict()

    async def read(self, telegram_id: int) -> dict[str, Any] | None:
        if telegram_id in self._known:
            self._known.move_to_end(telegram_id)
            return copy.deepcopy(self._known[telegram_id])
        data = await self._requests.draft(telegram_id)
        self._remember(telegram_id, data)
        return copy.deepcopy(data)

    async def keep(self, telegram_id: int, data: Mapping[str, Any]) -> None:
        self.forget(telegram_id)  # unknown until the write has succeeded
        await self._requests.save_draft(telegram_id, data, self._clock.now())
        self._remember(telegram_id, dict(data))

    async def drop(self, telegram_id: int) -> None:
        self.forget(telegram_id)
        await self._requests.delete_draft(telegram_id)
        self._remember(telegram_id, None)

    def forget(self, telegram_id: int) -> None:
        """The user's draft is (about to be) changed elsewhere: read it again next time."""
        self._known.pop(telegram_id, None)

    def forget_all(self) -> None:
        self._known.clear()

    def _remember(self, telegram_id: int, data: dict[str, Any] | None) -> None:
        self._known[telegram_id] = copy.deepcopy(data)
        self._known.move_to_end(telegram_id)
        while len(self._known) > MEMO_SIZE:
            self._known.popitem(last=False)
