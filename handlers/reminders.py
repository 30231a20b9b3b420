"""The alarm clock and the Telegram side of the outbox: what the bot sends on its own."""

from __future__ import annotations

import json
import logging
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.broadcasts import TEXT_LIMIT, visible_length
from bot.i18n import Translator
from bot.outbox import (
    DeliveryRejected,
    DeliveryUncertain,
    RecipientUnreachable,
    TemporaryFailure,
    priority_of,
)
from bot.reminders import recover, tick
from bot.requests import parties
from bot.services import Services
from handlers.cards import card_text, keyboard, reply_button, send_with_media
from handlers.context import AppContext
from handlers.liaison_bot import LiaisonBot
from handlers.ratelimit import retry_after_seconds
from storage.outbox import OutboxMessage

log = logging.getLogger(__name__)

ALARM_JOB = "alarm"


class TelegramSender:
    """Sends one outbox message, translating Telegram's errors into the outbox's terms."""

    def __init__(self, bot: LiaisonBot, services: Services, *, timeout: float) -> None:
        self._bot = bot
        self._services = services
        self._timeout = timeout

    async def send(self, message: OutboxMessage) -> None:
        chat_id, text, markup = message.recipient_id, message.text, None
        if message.card is not None:
            text, markup = await self._with_card(chat_id, text, message.card)
        elif message.markup is not None:
            markup = InlineKeyboardMarkup.de_json(json.loads(message.markup), self._bot)
        elif message.reply_to is not None:
            texts = Translator(await self._services.accounts.language_of(chat_id))
            markup = reply_button(message.reply_to, texts)
        try:
            await send_with_media(
                self._bot,
                chat_id,
                text,
                message.media,
                reply_markup=markup,
                read_timeout=self._timeout,
                write_timeout=self._timeout,
                rate_limit_args=priority_of(message.kind),
            )
        except Forbidden as exc:
            raise RecipientUnreachable(exc.message) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise RecipientUnreachable(exc.message) from exc
            raise DeliveryRejected(exc.message) from exc
        except RetryAfter as exc:
            raise TemporaryFailure(exc.message, retry_after=retry_after_seconds(exc)) from exc
        except TimedOut as exc:
            raise DeliveryUncertain(exc.message) from exc
        except NetworkError as exc:
            raise TemporaryFailure(exc.message) from exc

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


async def wake(context: AppContext) -> None:
    """Every few seconds: send what fell due (the first wake-up also catches up after a restart)."""
    await tick(context.services)


async def start_alarm(app: Any) -> None:
    """Give the domain a Telegram sender, settle what a crash left mid-send, and start the
    repeating wake-up job."""
    services = app.bot_data.services
    await recover(services)
    services.sender = TelegramSender(
        app.bot, services, timeout=services.settings.reminders.send_timeout_seconds
    )
    assert app.job_queue is not None
    app.job_queue.run_repeating(
        wake,
        interval=services.settings.reminders.tick_seconds,
        first=0,
        name=ALARM_JOB,
        job_kwargs={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
    )
