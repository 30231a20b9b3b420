"""/history and /audit (admins): a request's full history, and everything one user did, paged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.audit import Page, View, find_user, request_page, user_page
from bot.i18n import Translator
from handlers.access import refuse, refuse_stale
from handlers.callback_data import CallbackData
from handlers.context import AppContext
from handlers.request_lists import NUMBER
from handlers.stats import Reader, ledger_reader
from storage.audit import AuditTrail

REQUEST, USER = "request", "user"


@dataclass(frozen=True, slots=True)
class AuditButton(CallbackData, prefix="audit"):
    view: str  # REQUEST (key: the request's id) or USER (key: the Telegram id)
    key: int
    page: int


async def request_history(update: Update, context: AppContext) -> None:
    """/history LN-…: every transition of the request, who made it, when, from, to, note."""
    reader = await ledger_reader(update, context, officials=False)
    if reader is None:
        return
    found = NUMBER.search(" ".join(context.args or []))
    if found is None:
        await context.bot.send_message(reader.chat, reader.texts("audit.history_usage"))
        return
    request = await context.services.requests.by_number(found.group(0).upper())
    # Another city's request looks like none at all to a city admin.
    if request is None or not reader.scope.covers(request.city):
        await context.bot.send_message(reader.chat, reader.texts("requests.not_found"))
        return
    await show(update, context, reader, AuditButton(REQUEST, request.id, 0))


async def user_actions(update: Update, context: AppContext) -> None:
    """/audit <id, @username or roster id>: what the user did, newest first."""
    reader = await ledger_reader(update, context, officials=False)
    if reader is None:
        return
    services, target = context.services, " ".join(context.args or [])
    if not target:
        await context.bot.send_message(reader.chat, reader.texts("audit.audit_usage"))
        return
    telegram_id = await find_user(target, AuditTrail(services.db), services.officials)
    if telegram_id is not None and not await services.ownerships.may_see_user(
        context.actor, telegram_id
    ):
        await refuse(update, context)  # a city admin reads their city's users' trails only
        return
    if telegram_id is None:
        await context.bot.send_message(
            reader.chat, reader.texts("audit.unknown_user", target=target)
        )
        return
    await show(update, context, reader, AuditButton(USER, telegram_id, 0))


async def turn_page(update: Update, context: AppContext) -> None:
    """Previous / next page of a history; admins only, checked again on every press."""
    button = context.button(AuditButton)
    if button.view not in (REQUEST, USER) or button.page < 0:
        await refuse_stale(update, context)
        return
    if context.actor.is_admin and not await _within_scope(context, button):
        await refuse(update, context)
        return
    reader = await ledger_reader(update, context, officials=False)
    if reader is not None:
        await show(update, context, reader, button)


async def _within_scope(context: AppContext, at: AuditButton) -> bool:
    """Whether the page's request or user is within the admin's office (the office scope)."""
    if at.view == USER:
        return await context.services.ownerships.may_see_user(context.actor, at.key)
    request = await context.services.requests.get(at.key)
    return request is not None and context.actor.scope.covers(request.city)


async def show(update: Update, context: AppContext, reader: Reader, at: AuditButton) -> None:
    """The page ``at`` points to: a new message, or the pressed message edited."""
    page = await _page(context, reader.texts, at)
    markup = _paging(page, at, reader.texts)
    query = update.callback_query
    if query is not None and query.message is not None:
        await query.edit_message_text(page.text, reply_markup=markup)
    else:
        await context.bot.send_message(reader.chat, page.text, reply_markup=markup)


async def _page(context: AppContext, texts: Translator, at: AuditButton) -> Page:
    services = context.services
    trail, size = AuditTrail(services.db), services.settings.audit.page_size
    view = View(texts, services.settings.locale.tz, at.page, size)
    if at.view == REQUEST:
        request = await services.requests.get(at.key)
        transitions = await trail.of_request(at.key, limit=size, offset=at.page * size)
        people = await trail.people({t.actor_id for t in transitions.items if t.actor_id})
        return request_page(request.number if request else "?", transitions, people, view)
    deeds = await trail.of_user(at.key, limit=size, offset=at.page * size)
    return user_page(at.key, deeds, await trail.people({at.key}), view)


def _paging(page: Page, at: AuditButton, texts: Translator) -> InlineKeyboardMarkup | None:
    buttons = [
        InlineKeyboardButton(
            texts(f"audit.{label}"), callback_data=AuditButton(at.view, at.key, to).pack()
        )
        for label, to, shown in (
            ("previous", page.number - 1, page.number > 0),
            ("next", page.number + 1, page.number + 1 < page.pages),
        )
        if shown
    ]
    return InlineKeyboardMarkup([buttons]) if buttons else None


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("history", request_history),
    CommandHandler("audit", user_actions),
    CallbackQueryHandler(turn_page, pattern=AuditButton.pattern()),
]
