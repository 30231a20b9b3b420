"""The delivery port: what the domain hands over to be sent, and what can go wrong.

Everything the bot sends on its own goes through one :class:`Sender` (its Telegram adapter is
handlers/delivery.py): the outbox's notices, receipts and thread messages, and announcements.
The domain decides *what* to send and what to do when it fails; the adapter renders buttons and
cards, calls Telegram through the delivery engine (bot/pacing.py: each chat's pace, the bot's
budget, answers first), and turns Telegram's errors into the four below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.pacing import Priority


@dataclass(frozen=True, slots=True)
class Media:
    """A photo or a document already on Telegram's servers, sent again by its file_id."""

    kind: str  # "photo" or "document"
    file_id: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTML message to one chat.

    ``card``: a request whose card (rendered when sent, with this recipient's buttons) follows
    the text; ``reply_to``: a request whose reply button goes with it; ``markup``: an inline
    keyboard as Bot API JSON; with ``media`` the text is its caption. ``paid``: at Telegram's
    paid speed (announcements only).
    """

    chat_id: int
    text: str
    kind: str
    priority: Priority = Priority.NOTICE
    media: Media | None = None
    card: int | None = None
    reply_to: int | None = None
    markup: str | None = None
    paid: bool = False


class DeliveryError(Exception):
    """A message could not be handed to Telegram."""


class RecipientUnreachable(DeliveryError):
    """The user blocked the bot, deleted the account, or never started it: permanent."""


class DeliveryRejected(DeliveryError):
    """Telegram refused the message itself (bad request): sending it again will not help."""


class TemporaryFailure(DeliveryError):
    """A network error or flood control: worth trying again later (after ``retry_after``
    seconds, when Telegram said)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class DeliveryUncertain(DeliveryError):
    """The send timed out: Telegram may or may not have delivered it."""


class Sender(Protocol):
    async def send(self, message: Outgoing) -> None:
        """Send one message, or raise a :class:`DeliveryError`."""
