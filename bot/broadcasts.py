"""Announcements: who receives them, what they read, and how far delivery has got.

Delivery itself is in :mod:`bot.broadcast_delivery`.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.config import CATEGORIES
from bot.i18n import translate
from storage.models import Stage

if TYPE_CHECKING:
    from datetime import datetime

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # Telegram's limits, in characters after the markup is parsed
CAPTION_LIMIT = 1024


class AudienceKind(StrEnum):
    ENTREPRENEURS = "entrepreneurs"
    OFFICIALS = "officials"
    EVERYONE = "everyone"
    CITY = "city"
    STAGE = "stage"
    INDUSTRY = "industry"
    CATEGORY = "category"
    PORTFOLIO = "portfolio"

    @property
    def needs_value(self) -> bool:
        return self not in (self.ENTREPRENEURS, self.OFFICIALS, self.EVERYONE)


@dataclass(frozen=True, slots=True)
class Audience:
    """Who receives an announcement: a kind, and for some kinds a value (city, stage, …)."""

    kind: AudienceKind
    value: str = ""

    def __post_init__(self) -> None:
        if self.kind.needs_value != bool(self.value):
            raise ValueError(
                f"audience {self.kind} {'needs' if self.kind.needs_value else 'takes no'} value"
            )
        if self.kind is AudienceKind.STAGE and self.value not in set(Stage):
            raise ValueError(f"unknown stage {self.value!r}")
        if self.kind is AudienceKind.CATEGORY and self.value not in CATEGORIES:
            raise ValueError(f"unknown category {self.value!r}")
        if self.kind is AudienceKind.PORTFOLIO and not self.value.isdigit():
            raise ValueError(f"official id {self.value!r} is not a number")

    def dumps(self) -> str:
        return json.dumps({"kind": str(self.kind), "value": self.value}, ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> Audience:
        data = json.loads(text)
        return cls(AudienceKind(data["kind"]), str(data.get("value", "")))


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Settled:
    """How one recipient's delivery ended, waiting to be recorded with others."""

    telegram_id: int
    status: RecipientStatus
    attempts: int
    at: datetime
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Tally:
    """How many recipients are in each state."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    unreachable: int = 0

    @classmethod
    def of(cls, counts: Mapping[RecipientStatus, int]) -> Tally:
        return cls(**{str(status): count for status, count in counts.items()})

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.unreachable

    @property
    def remaining(self) -> int:
        return self.pending + self.sending


# --- What recipients read ---------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")


def render(text_html: str, language: str) -> str:
    """The announcement as a recipient reads it: the admin's text and the standing footer."""
    return f"{text_html}\n\n{translate(language, 'broadcasts.footer')}"


def visible_length(text_html: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text without markup."""
    return len(html.unescape(_TAG.sub("", text_html)).encode("utf-16-le")) // 2


def fits(text_html: str, *, with_media: bool) -> bool:
    """Whether the announcement, footer included, fits a message (or a caption)."""
    longest = max(visible_length(render(text_html, language)) for language in ("zh", "en"))
    return longest <= (CAPTION_LIMIT if with_media else TEXT_LIMIT)


# Telegram's price of a message sent with allow_paid_broadcast, in tenths of a Star.
PAID_TENTHS_OF_A_STAR = 1


@dataclass(frozen=True, slots=True)
class PaidCost:
    """What a paid broadcast costs against what the bot has, in Stars."""

    recipients: int
    balance: float | None = None  # None: not asked yet

    @property
    def stars(self) -> float:
        return self.recipients * PAID_TENTHS_OF_A_STAR / 10

    @property
    def affordable(self) -> bool:
        return self.balance is None or self.stars <= self.balance + 1e-9
