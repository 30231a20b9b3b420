"""/visit: an official records a site visit (实地走访) to one of their enterprises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.visits import NotAssigned
from handlers import dialogue_state
from handlers.access import refuse_stale
from handlers.callback_data import StepButton
from handlers.cards import send_here
from handlers.context import AppContext
from handlers.dialogue_state import VISIT
from handlers.menu import menu_pattern

VISIT_ENTERPRISE, VISIT_DATE, VISIT_NOTES = 300, 301, 302
MAX_NOTES = 2000


@dataclass(frozen=True, slots=True)
class VisitButton(StepButton, prefix="vs"):
    """A button of the site-visit conversation."""


def step(state: Mapping[str, Any]) -> int:
    """Where a stored visit stands: the first thing it still lacks."""
    if "enterprise_id" not in state:
        return VISIT_ENTERPRISE
    return VISIT_DATE if "visited_on" not in state else VISIT_NOTES


async def start(update: Update, context: AppContext) -> int:
    """Offer the official's enterprises to choose the visited one."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    official = actor.official
    assert official is not None, "the policy lets only officials /visit"
    ids = await services.officials.portfolio_ids(official.id)
    enterprises = [e for e in [await services.enterprises.get(i) for i in ids] if e is not None]
    if not enterprises:
        await send_here(update, context, texts("visits.no_enterprises"))
        return ConversationHandler.END
    await dialogue_state.enter(update, context, VISIT)
    rows = [[VisitButton.button(e.name, "enterprise", str(e.id))] for e in enterprises]
    await send_here(update, context, texts("visits.ask_enterprise"), InlineKeyboardMarkup(rows))
    return VISIT_ENTERPRISE


async def choose_enterprise(update: Update, context: AppContext) -> int | None:
    """Take the enterprise (only one of the official's own); ask for the date."""
    actor = context.actor
    offered: set[str] = set()
    if actor.official is not None:
        offered = {
            str(i) for i in await context.services.officials.portfolio_ids(actor.official.id)
        }
    choice = await VisitButton.pressed(update, context.pressed, "enterprise", offered)
    if choice is None:
        await refuse_stale(update, context)
        return None
    await dialogue_state.advance(update, context, enterprise_id=int(choice.value))
    texts = await context.texts(update)
    rows = [
        [
            VisitButton.button(texts("visits.today"), "date", "0"),
            VisitButton.button(texts("visits.yesterday"), "date", "1"),
        ]
    ]
    await send_here(update, context, texts("visits.ask_date"), InlineKeyboardMarkup(rows))
    return VISIT_DATE


async def date_button(update: Update, context: AppContext) -> int | None:
    """Today or yesterday, from the buttons."""
    choice = await VisitButton.pressed(update, context.pressed, "date", ("0", "1"))
    if choice is None:
        await refuse_stale(update, context)
        return None
    return await _take_date(update, context, _today(context) - timedelta(days=int(choice.value)))


async def date_text(update: Update, context: AppContext) -> int | None:
    """A typed date (YYYY-MM-DD), not in the future."""
    message = update.effective_message
    assert message is not None and message.text is not None
    try:
        visited = date.fromisoformat(message.text.strip())
    except ValueError:
        visited = None
    if visited is None or visited > _today(context):
        texts = await context.texts(update)
        await message.reply_text(texts("visits.bad_date"))
        return None
    return await _take_date(update, context, visited)


async def _take_date(update: Update, context: AppContext, visited: date) -> int:
    await dialogue_state.advance(update, context, visited_on=visited.isoformat())
    texts = await context.texts(update)
    await send_here(update, context, texts("visits.ask_notes"))
    return VISIT_NOTES


async def notes(update: Update, context: AppContext) -> int | None:
    """Store the visit with its notes and its receipt ("recorded", sent by the outbox right
    after the commit)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    texts = await context.texts(update)
    if len(message.text) > MAX_NOTES:
        await message.reply_text(texts("visits.too_long"))
        return None
    actor = context.actor
    state = dialogue_state.state(update, context)
    services = context.services
    if actor.official is None or "visited_on" not in state:
        await dialogue_state.forget(update, context)
        return ConversationHandler.END
    enterprise = await services.enterprises.get(state["enterprise_id"])
    visited_on = date.fromisoformat(state["visited_on"])
    recorded = texts(
        "visits.recorded",
        enterprise=enterprise.name if enterprise else "",
        date=visited_on.isoformat(),
    )
    try:
        await services.visits.record(
            actor.official.id,
            state["enterprise_id"],
            visited_on=visited_on,
            notes=message.text.strip(),
            receipt_to=actor.telegram_id,
            receipt_text=recorded,
        )
    except NotAssigned:  # the portfolio changed since the enterprise was chosen (an import)
        await dialogue_state.forget(update, context)
        await message.reply_text(texts("visits.not_yours_any_more"))
        return ConversationHandler.END
    await dialogue_state.forget(update, context)
    return ConversationHandler.END


def _today(context: AppContext) -> date:
    return context.services.clock.now().astimezone(context.services.settings.locale.tz).date()


ENTRY_POINTS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("visit", start),
    CallbackQueryHandler(start, pattern=menu_pattern("visit")),
]
STATES: dict[object, list[BaseHandler[Any, Any, Any]]] = {
    VISIT_ENTERPRISE: [
        CallbackQueryHandler(choose_enterprise, pattern=VisitButton.on("enterprise"))
    ],
    VISIT_DATE: [
        CallbackQueryHandler(date_button, pattern=VisitButton.on("date")),
        MessageHandler(filters.TEXT & ~filters.COMMAND, date_text),
    ],
    VISIT_NOTES: [MessageHandler(filters.TEXT & ~filters.COMMAND, notes)],
}
