"""Every Bot API call passes through here: pacing, flood control and transport errors.

The pacer (bot/pacing.py) decides when a call may go out: each chat at its own pace, the bot
as a whole under Telegram's overall limit, answers to users before notices, notices before
announcements. Around it, the one place that sees every call and its chat applies the
actions docs/hardening.md §4 lists:

- a 429 (``RetryAfter``) holds the chat it was for (and, when several chats get one at once,
  the whole bot), then the call waits its turn again: an answer is not dropped. Only a wait
  longer than ``max_retry_after``, or waits adding up to more than ``max_wait``, fail the call
  (the outbox and the broadcasts then keep the message and try later);
- ``ChatMigrated``: the call is repeated once to the supergroup's new id;
- ``Forbidden`` from a private chat: ``on_blocked(chat_id)`` marks the user unreachable;
- a time-out (Telegram may or may not have carried the call out) is retried only for methods
  that are harmless to repeat (edits, deletes, settings); a repeated edit that finds the
  message already edited counts as done. Any other call (a sent message) is never repeated
  here: ``on_unknown(method, chat_id)`` records that its delivery is unknown, and the caller
  decides (the outbox repeats what is harmless to repeat). Answering a button press
  (``answerCallbackQuery``) only stops its spinner: a time-out there counts as done, so
  the handler goes on with the action.

A call's priority is its ``rate_limit_args`` (a :class:`~bot.pacing.Priority`); none means an
answer to the user whose update is being handled.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot.pacing import Pacer, Priority

log = logging.getLogger(__name__)

TIMEOUT_RETRIES = 2
HARMLESS_TO_REPEAT = frozenset(
    {
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "deleteMessage",
        "leaveChat",
        "getMe",
        "getChat",
        "getFile",
        "setMyCommands",
        "deleteMyCommands",
        "setMyDescription",
        "setMyShortDescription",
        "setChatMenuButton",
        "setWebhook",
        "deleteWebhook",
    }
)
EDITS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
BEST_EFFORT = frozenset({"answerCallbackQuery", "sendChatAction"})

# Methods Telegram counts against the overall limit and the chat's.
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendDice",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)
# Methods counted against their chat only.
PACED_PER_CHAT = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"}
)
OnBlocked = Callable[[int], Awaitable[None]]
OnUnknown = Callable[[str, object], Awaitable[None]]
# (chat, text, inline keyboard as JSON or None, seconds to wait): queue an answer for later.
OnDeferred = Callable[[int, str, str | None, float], Awaitable[None]]


class AnswerDeferred(RetryAfter):
    """Flood control held the chat too long to wait: the answer went to the outbox, which
    sends it when the chat may be written to again. Nothing is lost; the handler stops."""


class RateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's hook for every call, pacing them through a :class:`Pacer`."""

    def __init__(self, pacer: Pacer, *, max_retry_after: float, max_wait: float) -> None:
        self.pacer = pacer
        self.max_retry_after = max_retry_after
        self.max_wait = max_wait
        self.on_blocked: OnBlocked | None = None
        self.on_unknown: OnUnknown | None = None
        self.on_deferred: OnDeferred | None = None
        self.retry_afters = 0  # 429s Telegram answered (not our own refusals), for the metrics

    async def initialize(self) -> None:
        """Nothing to open: the pacer makes its parts on first use."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        priority = Priority(rate_limit_args) if rate_limit_args is not None else Priority.ANSWER
        paid = data.get("allow_paid_broadcast") is True
        migrated = False
        timeouts = 0
        waited = 0.0
        while True:
            try:
                self._refuse_if_held_long(data.get("chat_id"))
                async with self._turn(endpoint, data.get("chat_id"), priority, paid=paid):
                    return await self._call(callback, args, kwargs)
            except RetryAfter as exc:
                try:
                    waited += self._held(endpoint, data.get("chat_id"), exc, waited, paid=paid)
                except RetryAfter:
                    if priority is Priority.ANSWER:
                        await self._defer(endpoint, data, exc)
                    raise
            except ChatMigrated as exc:
                if migrated:
                    raise
                migrated = True
                log.info("%s: the group became supergroup %s; repeating", endpoint, exc.new_chat_id)
                data = {**data, "chat_id": exc.new_chat_id}
                args = (args[0], data, *args[2:])
            except TimedOut:
                if endpoint in BEST_EFFORT:
                    log.info("%s timed out; going on without it", endpoint)
                    return True
                if endpoint not in HARMLESS_TO_REPEAT:
                    await self._notify(self.on_unknown, endpoint, data.get("chat_id"))
                    raise
                if timeouts >= TIMEOUT_RETRIES:
                    raise
                timeouts += 1
                log.info("%s timed out; repeating (harmless)", endpoint)
            except BadRequest as exc:
                if timeouts and endpoint in EDITS and "not modified" in exc.message:
                    return True  # the edit that timed out was carried out after all
                raise
            except Forbidden:
                chat_id = data.get("chat_id")
                if isinstance(chat_id, int) and chat_id > 0:
                    await self._notify(self.on_blocked, chat_id)
                raise

    async def _call(self, callback: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return await callback(*args, **kwargs)
        except RetryAfter:
            self.retry_afters += 1
            raise

    def _turn(
        self, endpoint: str, chat_id: object, priority: Priority, *, paid: bool
    ) -> AbstractAsyncContextManager[None]:
        """The pacer's turn for this call; calls Telegram does not limit go at once. A paid
        broadcast (``allow_paid_broadcast``) takes the paid gate instead of the 30-a-second one."""
        if chat_id is None or not (endpoint in SENDING or endpoint in PACED_PER_CHAT):
            return nullcontext()
        return self.pacer.turn(chat_id, priority, counts_globally=endpoint in SENDING, paid=paid)

    def _refuse_if_held_long(self, chat_id: object) -> None:
        """A chat held longer than the longest wait allowed: fail at once, not after it."""
        if chat_id is None:
            return
        held = self.pacer.held_for(chat_id)
        if held > self.max_retry_after:
            raise RetryAfter(timedelta(seconds=held))

    async def _defer(self, endpoint: str, data: dict[str, Any], exc: RetryAfter) -> None:
        """An answer too long to wait for goes to the outbox (text and inline keyboard), sent
        when the chat may be written to again; other calls fail as they are."""
        chat_id, text, markup = data.get("chat_id"), data.get("text"), data.get("reply_markup")
        if (
            endpoint != "sendMessage"
            or self.on_deferred is None
            or not isinstance(chat_id, int)
            or not isinstance(text, str)
            or not (markup is None or isinstance(markup, InlineKeyboardMarkup))
        ):
            return
        keyboard = None if markup is None else json.dumps(markup.to_dict(), ensure_ascii=False)
        after = max(retry_after_seconds(exc), self.pacer.held_for(chat_id))
        await self._notify(self.on_deferred, chat_id, text, keyboard, after)
        raise AnswerDeferred(timedelta(seconds=after)) from exc

    def _held(
        self, endpoint: str, chat_id: object, exc: RetryAfter, waited: float, *, paid: bool
    ) -> float:
        """A 429: hold the chat and return the wait, or raise it if it is too long to wait."""
        wait = retry_after_seconds(exc)
        self.pacer.held(chat_id, wait, paid=paid)
        if wait > self.max_retry_after or waited + wait > self.max_wait:
            log.warning("%s: flood control asks for %s s; not waiting", endpoint, wait)
            raise exc
        log.info("%s: flood control, this chat waits %s s", endpoint, wait)
        return wait

    @staticmethod
    async def _notify(hook: Callable[..., Awaitable[None]] | None, *args: Any) -> None:
        """Tell the bot what happened; a failure to record it must not hide the error itself."""
        if hook is None:
            return
        try:
            await hook(*args)
        except Exception:
            log.exception("could not record a failed Bot API call")


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
