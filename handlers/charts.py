"""/charts: the ledger as pictures; admins see the program (or a cut of it), officials their own
requests."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.charts import MissingFont, chart_data, draw_charts, find_font
from bot.stats import compute_rounds
from handlers.context import AppContext
from handlers.menu import menu_pattern
from handlers.stats import ledger_reader, read_cut
from storage.charts import ChartRepository

log = logging.getLogger(__name__)


async def send_charts(update: Update, context: AppContext) -> None:
    """Send the weekly trend and the categories as pictures (of an admin's cut, ``/charts 大连
    市级``), and for the whole programme the cities ranked on the three rates."""
    reader = await ledger_reader(update, context, officials=True)
    if reader is None:
        return
    cut = await read_cut(update, context, reader)
    if cut is None:
        return
    chat, texts, own = reader.chat, reader.texts, reader.own
    services = context.services
    now = services.clock.now()
    whole = own is None and cut.whole
    data = await chart_data(
        ChartRepository(services.db),
        now=now,
        tz=services.settings.locale.tz,
        weeks=services.settings.charts.weeks,
        official_id=own.id if own else None,
        cut=cut,
        rounds=await compute_rounds(services.stats, now=now) if whole else None,
    )
    if data.empty:
        await context.bot.send_message(chat, texts("stats.none"))
        return
    try:
        font = find_font(services.settings.charts.font_path)
    except MissingFont as exc:
        log.error("%s", exc)
        await context.bot.send_message(chat, texts("charts.unavailable"))
        return
    for picture, caption in await draw_charts(data, texts, font):
        await context.bot.send_photo(chat, picture, caption=caption)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("charts", send_charts),
    CallbackQueryHandler(send_charts, pattern=menu_pattern("charts")),
]
