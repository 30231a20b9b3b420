"""The delivery port's Telegram adapter: the one :class:`~bot.delivery.Sender` of the bot.

It renders what the domain handed over (a request's card with this recipient's buttons, a
reply button, a stored inline keyboard, a photo or document with its caption), sends it through
the delivery engine at the message's priority (handlers/ratelimit.py, bot/pacing.py), and turns
Telegram's errors into the port's four (:func:`delivery_error`). The outbox and announcements
both send through it.
"""

from __future__ import annotations

import json
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.broadcasts import TEXT_LIMIT, visible_length
from bot.delivery import (
    DeliveryError,
    DeliveryRejected,
    DeliveryUncertain,
    Outgoing,
    RecipientUnreachable,
    TemporaryFailure,
)
from bot.i18n import Translator
from bot.requests import parties
from bot.services import Services
from handlers.cards import card_text, keyboard, reply_button, send_with_media
from handlers.liaison_bot import LiaisonBot
from handlers.ratelimit import retry_after_seconds


class TelegramSender:
    """Sends one :class:`Outgoing`, translating Telegram's errors into the port's terms."""

    def __init__(self, bot: LiaisonBot, services: Services, *, timeout: float) -> None:
        self._bot = bot
        self._services = services
        self._timeout = timeout

    async def send(self, message: Outgoing) -> None:
        text, markup = await self._rendered(message)
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if message.paid else {}
        try:
            await send_with_media(
                self._bot,
                message.chat_id,
                text,
                message.media,
                reply_markup=markup,
                read_timeout=self._timeout,
                write_timeout=self._timeout,
                rate_limit_args=message.priority,
                **extra,
            )
        except TelegramError as exc:
            raise delivery_error(exc) from exc

    async def _rendered(self, message: Outgoing) -> tuple[str, InlineKeyboardMarkup | None]:
        if message.card is not None:
            return await self._with_card(message.chat_id, message.text, message.card)
        if message.markup is not None:
            return message.text, InlineKeyboardMarkup.de_json(json.loads(message.markup), self._bot)
        if message.reply_to is not None:
            texts = Translator(await self._services.accounts.language_of(message.chat_id))
            return message.text, reply_button(message.reply_to, texts)
        return message.text, None

    async def _with_card(
        self, chat_id: int, text: str, request_id: int
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """The request's card as it is now, with the buttons this recipient may press now."""
        services = self._services
        request = await services.requests.get(request_id)
        if request is None:
            return text, None
        texts = Translator(await services.accounts.language_of(chat_id))
        viewer = await services.actor(chat_id)
        body = text + "\n\n" + await card_text(services, request, texts)
        if visible_length(body) > TEXT_LIMIT:  # a long note and a long card: note and buttons
            body = text
        return body, keyboard(request, parties(viewer, request), texts)


def delivery_error(exc: TelegramError) -> DeliveryError:
    """Telegram's answer as the port's error (order matters: BadRequest and TimedOut are kinds
    of NetworkError in python-telegram-bot)."""
    if isinstance(exc, Forbidden):
        return RecipientUnreachable(exc.message)
    if isinstance(exc, RetryAfter):
        return TemporaryFailure(exc.message, retry_after=retry_after_seconds(exc))
    if isinstance(exc, TimedOut):
        return DeliveryUncertain(exc.message)
    if isinstance(exc, BadRequest):
        if "chat not found" in exc.message.lower():
            return RecipientUnreachable(exc.message)
        return DeliveryRejected(exc.message)
    if isinstance(exc, NetworkError):
        return TemporaryFailure(exc.message)
    return TemporaryFailure(f"{type(exc).__name__}: {exc.message}")
