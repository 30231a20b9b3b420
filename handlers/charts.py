"""/charts: the ledger as pictures; admins see the program, officials their own requests."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.charts import MissingFont, chart_data, draw_charts, find_font
from handlers.context import AppContext
from handlers.menu import menu_pattern
from handlers.stats import ledger_reader
from storage.charts import ChartRepository

log = logging.getLogger(__name__)


async def send_charts(update: Update, context: AppContext) -> None:
    """Send the weekly trend and the categories as two pictures."""
    reader = await ledger_reader(update, context, officials=True)
    if reader is None:
        return
    chat, texts, own = reader.chat, reader.texts, reader.own
    services = context.services
    data = await chart_data(
        ChartRepository(services.db),
        now=services.clock.now(),
        tz=services.settings.locale.tz,
        weeks=services.settings.charts.weeks,
        official_id=own.id if own else None,
        scope=reader.scope,
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
