"""The bot object handlers talk to Telegram through: python-telegram-bot's ExtBot, plus a
lighter way to send a message whose answer nobody reads, and without the parse mode on calls
that carry no text.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.ext import ExtBot

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


class LiaisonBot(ExtBot[Any]):
    async def _post(
        self,
        endpoint: str,
        data: JSONDict | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> Any:
        """Every call, less a default parse mode where there is no text or caption to parse.

        python-telegram-bot builds every message method with one helper that puts
        ``parse_mode`` in, so with ``Defaults(parse_mode=HTML)`` it would send
        ``parse_mode=HTML`` with ``editMessageReplyMarkup``, ``sendLocation`` and the like,
        which do not take it (Telegram ignores it; the stand-in's strict mode refuses it). A
        parse mode the caller passed explicitly is left alone.
        """
        if data is not None and _default_parse_mode_without_text(data):
            data = {key: value for key, value in data.items() if key != "parse_mode"}
        return await super()._post(
            endpoint,
            data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )

    async def send_text(
        self,
        chat_id: int,
        text: str,
        reply_markup: Markup | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        rate_limit_args: Any = None,
    ) -> None:
        """sendMessage with the defaults (HTML), not building a ``Message`` from the answer.

        ``send_message`` turns every answer into a full ``Message`` (its chat, sender,
        entities and keyboard, each an object). On the request path nothing reads it, and
        building it was about a tenth of the bot's CPU (docs/requests.md, "Where the time
        went"). Errors are those of ``send_message``: the call goes the same way (defaults,
        rate limiter, transport), only the answer is left as it came.
        """
        message = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": DEFAULT_NONE,  # the default parse mode, as send_message has it
            "reply_markup": reply_markup,
        }
        await self._post(
            "sendMessage",
            message,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            api_kwargs=self._merge_api_rl_kwargs(None, rate_limit_args),
        )


def _default_parse_mode_without_text(data: JSONDict) -> bool:
    return (
        isinstance(data.get("parse_mode"), DefaultValue)
        and data.get("text") is None
        and data.get("caption") is None
    )
