"""The one error handler, and what is recorded when a Bot API call fails in transport.

Expected Telegram errors get their own action (docs/hardening.md §4); anything else is
logged with the update id and the user is told to try again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut

from bot.i18n import Translator
from bot.services import Services
from handlers.context import AppContext
from handlers.ratelimit import AnswerDeferred, RateLimiter

log = logging.getLogger(__name__)

DELIVERY_UNKNOWN = "delivery_unknown"


def record_transport_failures(limiter: RateLimiter, services: Services) -> None:
    """A blocked user becomes unreachable; a send that timed out is audited as unknown."""

    async def blocked(chat_id: int) -> None:
        await services.accounts.mark_unreachable(chat_id, services.clock.now())

    async def unknown(method: str, chat_id: object) -> None:
        await services.audit.record(
            now=services.clock.now(),
            actor_id=None,
            action=DELIVERY_UNKNOWN,
            subject=f"chat:{chat_id}",
            result="timed_out",
            detail=method,
        )

    async def deferred(chat_id: int, text: str, markup: str | None, seconds: float) -> None:
        now = services.clock.now()
        at = now + timedelta(seconds=seconds)
        answer = services.outbox.message(chat_id, "answer", text, at=at, markup=markup)
        await services.outbox.send_later([answer], now=now)
        log.info("an answer waits for flood control in the outbox (%.0f s)", seconds)

    limiter.on_blocked = blocked
    limiter.on_unknown = unknown
    limiter.on_deferred = deferred


def is_not_modified(error: object) -> bool:
    """Telegram's answer to an edit that changes nothing: a repeated press, not a fault."""
    return isinstance(error, BadRequest) and "message is not modified" in error.message.lower()


async def edit_pressed(
    query: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message whose button was pressed; a press that changes nothing is fine."""
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if not is_not_modified(exc):
            raise


async def on_error(update: object, context: AppContext) -> None:
    """Tell the user in their language that something went wrong and that they may retry."""
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    if is_not_modified(error):
        log.debug("update %s: the edit changed nothing", update_id)
        await _answer_quietly(update)
        return
    if isinstance(error, TimedOut):
        # The answer may have arrived: "try again" could make the user repeat an action.
        log.warning("update %s: a Bot API call timed out; delivery unknown", update_id)
        return
    if isinstance(error, AnswerDeferred):
        log.info("update %s: flood control; the answer waits in the outbox", update_id)
        return
    if isinstance(error, RetryAfter):
        log.warning("update %s: flood control, a call was not made: %s", update_id, error.message)
        return
    if isinstance(error, Forbidden):
        log.warning("update %s: a recipient cannot be reached: %s", update_id, error.message)
        if await _user_unreachable(update, context):
            return
    else:
        log.error("update %s failed", update_id, exc_info=error)
    await _tell_user(update, context)


async def _tell_user(update: object, context: AppContext) -> None:
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        texts: Translator = await context.texts(update)
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, texts("common.error"))
    except (TelegramError, Exception) as exc:
        log.warning("could not tell the user about update %s: %s", update.update_id, exc)


async def _answer_quietly(update: object) -> None:
    """Stop the button's spinner, if the handler had not answered it yet."""
    if not isinstance(update, Update) or update.callback_query is None:
        return
    try:
        await update.callback_query.answer()
    except TelegramError as exc:
        log.debug("update %s: callback already answered: %s", update.update_id, exc)


async def _user_unreachable(update: object, context: AppContext) -> bool:
    if not isinstance(update, Update) or update.effective_user is None:
        return True
    user = await context.services.users.get(update.effective_user.id)
    return user is None or user.unreachable_at is not None
