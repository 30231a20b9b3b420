"""Last in line: what the bot says to anything no other handler took."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from handlers.access import refuse_stale
from handlers.context import AppContext
from handlers.menu import menu_keyboard


async def unknown_command(update: Update, context: AppContext) -> None:
    """Say the command is unknown and point to /help."""
    texts = await context.texts(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts("common.unknown_command"))


async def unexpected_text(update: Update, context: AppContext) -> None:
    """Text outside any conversation: show the menu instead of ignoring it."""
    actor = context.actor
    texts = await context.texts(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        texts("common.what_next"), reply_markup=menu_keyboard(actor, texts)
    )


async def unsupported_content(update: Update, context: AppContext) -> None:
    """Stickers, voice, locations and the like: say what the bot can take."""
    texts = await context.texts(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts("common.unsupported"))


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    MessageHandler(filters.COMMAND, unknown_command),
    MessageHandler(filters.TEXT & ~filters.COMMAND, unexpected_text),
    MessageHandler(filters.ALL & ~filters.StatusUpdate.ALL, unsupported_content),
    # A button of ours no handler took (a dialogue's step outside the dialogue): stale.
    CallbackQueryHandler(refuse_stale),
]
