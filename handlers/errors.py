"""The one error handler: log with the update id, tell the user, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import Translator
from handlers.context import AppContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: AppContext) -> None:
    """Tell the user in their language that something went wrong and that they may retry."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
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
        log.warning("could not tell the user about update %s: %s", update_id, exc)
