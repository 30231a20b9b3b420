"""/ledger: admins get the ledger (台账) as an Excel file and a CSV file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.ledger import BadFilter, parse_filter, write_ledger
from handlers.access import refuse
from handlers.context import AppContext
from handlers.menu import menu_pattern
from handlers.stats import ledger_reader
from storage.ledger import LedgerRepository


async def send_ledger(update: Update, context: AppContext) -> None:
    """Send the ledger, filtered by the dates, city and tier given, as .xlsx and .csv."""
    reader = await ledger_reader(update, context, officials=False)
    if reader is None:
        return
    chat, texts = reader.chat, reader.texts
    services = context.services
    try:
        where = parse_filter(list(context.args or []), services.settings.locale.tz)
    except BadFilter as exc:
        await context.bot.send_message(chat, texts("ledger.bad_filter", value=str(exc)))
        return
    scoped = where.within(reader.scope)
    if scoped is None:  # a city admin asking for another city
        await refuse(update, context)
        return
    where = scoped
    repo, now = LedgerRepository(services.db), services.clock.now()
    with tempfile.TemporaryDirectory() as folder:
        for name in ("ledger.xlsx", "ledger.csv"):
            path = Path(folder) / name
            count = await write_ledger(
                repo, path, where, texts, tz=services.settings.locale.tz, now=now
            )
            caption = texts("ledger.caption", count=count)
            await context.bot.send_document(chat, path.read_bytes(), filename=name, caption=caption)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("ledger", send_ledger),
    CallbackQueryHandler(send_ledger, pattern=menu_pattern("ledger")),
]
