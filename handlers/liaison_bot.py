"""The bot object handlers talk to Telegram through: python-telegram-bot's ExtBot, plus a
lighter way to send a message whose answer nobody reads, without the parse mode on calls
that carry no text, and a getUpdates that reads each update on its own and never spins
(handlers/updates.py).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import Callable, Sequence
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput, TimePeriod
from telegram.error import Conflict, TelegramError
from telegram.ext import ExtBot, Updater

from handlers.updates import PollGuard

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


class LiaisonBot(ExtBot[Any]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._polling = PollGuard()

    @property
    def polling(self) -> PollGuard:
        """What getUpdates keeps between polls (offset past skipped updates, pauses, counts)."""
        return self._polling

    @property
    def skipped_updates(self) -> int:
        """Updates skipped since start because they could not be read."""
        return self.polling.skipped_updates

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
        allow_paid_broadcast: bool | None = None,
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
            "allow_paid_broadcast": allow_paid_broadcast,  # paid speed, 0.1 Star a message
        }
        await self._post(
            "sendMessage",
            message,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            api_kwargs=self._merge_api_rl_kwargs(None, rate_limit_args),
        )

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: TimePeriod | None = None,  # noqa: ASYNC109 (the library names it so)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: Any = None,
    ) -> tuple[Update, ...]:
        """getUpdates as python-telegram-bot's, but never spinning nor logging content.

        Each update is read on its own: one the library cannot read is skipped (counted,
        logged by id only) and the offset moves past it. A 409 Conflict (another instance
        polling with this token) is logged once, not as a traceback per poll. While polls
        are stuck (a conflict, or only what cannot be skipped: see ``PollGuard.answered``),
        each waits a pause that doubles up to ``handlers.updates.MAX_PAUSE_SECONDS`` before
        answering nothing; a call that does not wait for updates (``timeout`` 0: the last
        one at shutdown, confirming what was fetched) does not wait the pause either.
        """
        seconds = timeout.total_seconds() if isinstance(timeout, dtm.timedelta) else timeout or 0
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._request[0].read_timeout or 0  # as Bot.get_updates does
        data = {
            "timeout": timeout,
            "offset": self.polling.offset(offset),
            "limit": limit,
            "allowed_updates": allowed_updates,
        }
        try:
            result = await self._post(
                "getUpdates",
                data,
                read_timeout=(read_timeout or 0) + seconds,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
                api_kwargs=api_kwargs,
            )
        except Conflict as exc:
            pause = self.polling.conflicted(exc)
        except TelegramError:
            raise  # python-telegram-bot's polling loop retries it (see polling_failed)
        except Exception as exc:  # an answer the request layer could not take apart
            pause = self.polling.unreadable(exc)
        else:
            updates, pause = self.polling.answered(result, self)
            if updates or not pause:
                for update in updates:
                    self.insert_callback_data(update)
                return updates
        if seconds:
            await asyncio.sleep(pause)
        return ()

    def polling_failed(self, error: TelegramError) -> None:
        """The polling loop's error callback: one line, not a traceback per failed call."""
        self.polling.failed(error)


def _default_parse_mode_without_text(data: JSONDict) -> bool:
    return (
        isinstance(data.get("parse_mode"), DefaultValue)
        and data.get("text") is None
        and data.get("caption") is None
    )


class LiaisonUpdater(Updater):
    """python-telegram-bot's Updater, with the bot's one-line report of a failed getUpdates
    as the error callback, whoever starts polling (``Application.run_polling`` would send each
    failure to the error handlers, logged there with a traceback).

    Nothing else changes: the polling loop still retries with its own backoff.
    """

    async def start_polling(
        self,
        poll_interval: float = 0.0,
        timeout: TimePeriod = dtm.timedelta(seconds=10),  # noqa: ASYNC109 (the library names it so)
        bootstrap_retries: int = 0,
        allowed_updates: Sequence[str] | None = None,
        drop_pending_updates: bool | None = None,
        error_callback: Callable[[TelegramError], None] | None = None,
    ) -> asyncio.Queue[object]:
        bot = self.bot
        return await super().start_polling(
            poll_interval=poll_interval,
            timeout=timeout,
            bootstrap_retries=bootstrap_retries,
            allowed_updates=allowed_updates,
            drop_pending_updates=drop_pending_updates,
            error_callback=bot.polling_failed if isinstance(bot, LiaisonBot) else error_callback,
        )
