"""/stats: the counts and the three rates; admins see the program, officials their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import Translator
from bot.stats import compute_stats, render_stats
from handlers.access import refuse
from handlers.context import AppContext
from handlers.menu import menu_pattern
from storage.models import Official
from storage.scope import EVERYWHERE, Scope


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads the ledger, where, in which language; ``own`` is None for an admin, whose
    office's ``scope`` limits what they read (a city admin: their city's)."""

    chat: int
    texts: Translator
    own: Official | None
    scope: Scope = EVERYWHERE


async def ledger_reader(update: Update, context: AppContext, *, officials: bool) -> Reader | None:
    """An admin reads the program, an official (where ``officials``) their own; others are
    refused here and get None."""
    actor = context.actor
    texts = await context.texts(update)
    if not actor.is_admin and (actor.official is None or not officials):
        await refuse(update, context)
        return None
    if update.callback_query is not None:
        await update.callback_query.answer()
    assert update.effective_chat is not None
    chat = update.effective_chat.id
    if actor.is_admin:
        return Reader(chat, texts, None, actor.scope)
    return Reader(chat, texts, actor.official)


async def show_stats(update: Update, context: AppContext) -> None:
    """Send the ledger's counts, rates, breakdowns, ranking and overdue list."""
    reader = await ledger_reader(update, context, officials=True)
    if reader is None:
        return
    services = context.services
    stats = await compute_stats(
        services.stats,
        now=services.clock.now(),
        official_id=reader.own.id if reader.own else None,
        scope=reader.scope,
    )
    text = render_stats(
        stats, reader.texts, for_official=reader.own is not None, scope=reader.scope
    )
    await context.bot.send_message(reader.chat, text[:4096])


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("stats", show_stats),
    CallbackQueryHandler(show_stats, pattern=menu_pattern("stats")),
]
