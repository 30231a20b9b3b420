"""/stats: the counts and the three rates; admins see the program, officials their own."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.stats import compute_stats, render_stats
from handlers.context import AppContext
from handlers.menu import menu_pattern


async def show_stats(update: Update, context: AppContext) -> None:
    """Send the ledger's counts, rates, breakdowns, ranking and overdue list."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    if update.callback_query is not None:
        await update.callback_query.answer()
    assert update.effective_chat is not None
    if not actor.is_admin and actor.official is None:
        await context.bot.send_message(update.effective_chat.id, texts("common.not_allowed"))
        return
    own = None if actor.is_admin else actor.official
    services = context.services
    stats = await compute_stats(
        services.stats, now=services.clock.now(), official_id=own.id if own else None
    )
    text = render_stats(stats, texts, for_official=own is not None)
    await context.bot.send_message(update.effective_chat.id, text[:4096])


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("stats", show_stats),
    CallbackQueryHandler(show_stats, pattern=menu_pattern("stats")),
]
