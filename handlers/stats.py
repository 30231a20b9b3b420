"""/stats: the counts and the three rates; admins see the program, officials their own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import Translator
from bot.stats import BadCut, compute_stats, parse_cut, render_rounds, render_stats
from handlers.access import refuse
from handlers.context import AppContext
from handlers.menu import menu_pattern
from storage.models import Official
from storage.scope import EVERYWHERE, Scope
from storage.stats import WHOLE, Cut


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
    """Send the ledger's counts, rates, breakdowns, ranking and overdue list; an admin's cut
    (``/stats 大连 市级``) or, for the whole programme, the rounds side by side after it."""
    reader = await ledger_reader(update, context, officials=True)
    if reader is None:
        return
    cut = await read_cut(update, context, reader)
    if cut is None:
        return
    services = context.services
    stats = await compute_stats(
        services.stats,
        now=services.clock.now(),
        official_id=reader.own.id if reader.own else None,
        cut=cut,
    )
    text = render_stats(stats, reader.texts, for_official=reader.own is not None)
    await context.bot.send_message(reader.chat, text[:4096])
    if stats.rounds is not None:
        await context.bot.send_message(reader.chat, render_rounds(stats, reader.texts)[:4096])


async def read_cut(update: Update, context: AppContext, reader: Reader) -> Cut | None:
    """The city and tier an admin named after the command (an official's own figures take
    none); a city admin's cut is always their city (naming another is refused); an argument
    that is neither a city nor a tier is answered. None when answered or refused."""
    if reader.own is not None:
        return WHOLE
    cut = WHOLE
    if update.callback_query is None:
        try:
            cut = parse_cut(list(context.args or []))
        except BadCut as exc:
            text = reader.texts("stats.bad_cut", value=str(exc))
            await context.bot.send_message(reader.chat, text)
            return None
    return await _within_office(update, context, reader, cut)


async def _within_office(
    update: Update, context: AppContext, reader: Reader, cut: Cut
) -> Cut | None:
    """The cut limited to the reader's office: a city admin reads their city only."""
    office_city = reader.scope.city
    if office_city is None:
        return cut
    if cut.city is not None and cut.city != office_city:
        await refuse(update, context)
        return None
    return Cut(city=office_city, tier=cut.tier)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("stats", show_stats),
    CallbackQueryHandler(show_stats, pattern=menu_pattern("stats")),
]
