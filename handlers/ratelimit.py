"""Every Bot API call passes through here: flood control and Telegram's transport errors.

AIORateLimiter paces the calls and waits out a 429 (``RetryAfter``); on top of it, the one
place that sees every call and its chat applies the actions docs/hardening.md §4 lists:

- a ``retry_after`` longer than ``max_retry_after`` is not slept through: the call fails at
  once (the caller records it), instead of holding every request of the bot;
- ``ChatMigrated``: the call is repeated once to the supergroup's new id;
- ``Forbidden`` from a private chat: ``on_blocked(chat_id)`` marks the user unreachable;
- a time-out (Telegram may or may not have carried the call out) is retried only for methods
  that are harmless to repeat (edits, deletes, settings); a repeated edit that finds the
  message already edited counts as done. Any other call (a sent message) is never repeated
  here: ``on_unknown(method, chat_id)`` records that its delivery is unknown, and the caller
  decides (the outbox repeats reminders, nothing else does). Answering a button press
  (``answerCallbackQuery``) only stops its spinner: a time-out there counts as done, so
  the handler goes on with the action.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# rate_limit_args for a private-chat call whose caller handles RetryAfter (broadcasts do).
CALLER_HANDLES_RETRY_AFTER = -1
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

OnBlocked = Callable[[int], Awaitable[None]]
OnUnknown = Callable[[str, object], Awaitable[None]]


class _WaitTooLong(Exception):
    """A RetryAfter not to be slept through; carries it past AIORateLimiter's retry loop."""

    def __init__(self, error: RetryAfter) -> None:
        super().__init__(error.message)
        self.error = error


class RateLimiter(AIORateLimiter):
    """AIORateLimiter plus the actions above; a private-chat call may opt out of its waits.

    The broadcast engine opts out (``CALLER_HANDLES_RETRY_AFTER``): it needs the 429 itself,
    to pause every send, or the whole broadcast when the wait is long. Such a call still
    counts against the overall limit.
    """

    def __init__(self, *, max_retries: int, max_retry_after: float) -> None:
        super().__init__(max_retries=max_retries)
        self.max_retry_after = max_retry_after
        self.on_blocked: OnBlocked | None = None
        self.on_unknown: OnUnknown | None = None

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        migrated = False
        timeouts = 0
        while True:
            try:
                return await self._limited(callback, args, kwargs, endpoint, data, rate_limit_args)
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

    async def _limited(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if rate_limit_args == CALLER_HANDLES_RETRY_AFTER:
            return await self._run_request(
                chat=True,
                group=False,
                allow_paid_broadcast=False,
                callback=callback,
                args=args,
                kwargs=kwargs,
            )

        async def capped(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return await callback(*call_args, **call_kwargs)
            except RetryAfter as exc:
                if retry_after_seconds(exc) > self.max_retry_after:
                    raise _WaitTooLong(exc) from exc
                raise

        try:
            return await super().process_request(
                capped, args, kwargs, endpoint, data, rate_limit_args
            )
        except _WaitTooLong as exc:
            log.warning("%s: flood control asks for %s; not waiting", endpoint, exc.error.message)
            raise exc.error from None

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
