"""Finding requests: /my (an entrepreneur's), /inbox (an official's, due first), /queue (the
admins'), paging, and opening one by its number or from a list.

A request that is not the user's to see is "not found", exactly like one that does not exist.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.deadlines import next_deadline
from bot.dispatch import official_label
from bot.i18n import Translator
from bot.requests import NotFound, note_seen, parties
from bot.roles import Actor
from handlers.access import refuse
from handlers.callback_data import CallbackData
from handlers.cards import (
    RequestButton,
    answer_query,
    card_text,
    due_date,
    keyboard,
    notify,
    send_here,
)
from handlers.context import AppContext
from handlers.errors import edit_pressed
from handlers.menu import menu_pattern
from storage.requests import Page, Request

NUMBER = re.compile(r"LN-\d{8}-\d{4}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PageButton(CallbackData, prefix="pg"):
    view: str
    page: int


async def show_history(update: Update, context: AppContext, request_id: int) -> None:
    """The request's history: every status change, when, with the notes this user may read
    (the enterprise does not see the return reason)."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=request_id)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    await answer_query(update)
    who = parties(actor, request)
    lines = [texts("requests.history_title", number=request.number)]
    for entry in await context.services.requests.history(request.id):
        lines.append(
            texts(
                "requests.history_line",
                at=entry.at.astimezone(context.services.settings.locale.tz).strftime("%m-%d %H:%M"),
                from_status=texts(f"requests.status.{entry.from_status}")
                if entry.from_status
                else "—",
                to_status=texts(f"requests.status.{entry.to_status}"),
                note=note_seen(entry, who),
            )
        )
    await send_here(update, context, "".join(lines))


async def open_card(update: Update, context: AppContext, request_id: int) -> None:
    """Show one request's card with the viewer's buttons."""
    await show_request(update, context, request_id=request_id)


async def show_request(
    update: Update, context: AppContext, *, request_id: int | None = None, number: str = ""
) -> None:
    actor = context.actor
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=request_id, number=number)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    await answer_query(update)
    text = await card_text(context.services, request, texts)
    await send_here(update, context, text, keyboard(request, parties(actor, request), texts))


async def open_by_number(update: Update, context: AppContext) -> None:
    """/open LN-… or a bare request number: show it if it is the user's to see."""
    message = update.effective_message
    assert message is not None
    found = NUMBER.search(message.text or "")
    if found is None:
        texts = await context.texts(update)
        await message.reply_text(texts("requests.open_usage"))
        return
    await show_request(update, context, number=found.group(0))


# -- lists -------------------------------------------------------------------------------------


async def my_requests(update: Update, context: AppContext) -> None:
    """The entrepreneur's requests, newest first, with status and holder."""
    await show_page(update, context, "my", 0)


async def inbox(update: Update, context: AppContext) -> None:
    """The official's open requests, what is due first at the top."""
    await show_page(update, context, "inbox", 0)


async def queue(update: Update, context: AppContext) -> None:
    """The admins' queue of requests nobody holds."""
    await show_page(update, context, "queue", 0)


async def turn_page(update: Update, context: AppContext) -> None:
    """Previous / next page of a list."""
    button = context.button(PageButton)
    await show_page(update, context, button.view, max(0, button.page), edit=True)


async def show_page(
    update: Update, context: AppContext, view: str, page: int, *, edit: bool = False
) -> None:
    actor = context.actor
    texts = await context.texts(update)
    found = await _page(context, actor, view, page)
    if found is None:
        await refuse(update, context)
        return
    await answer_query(update)
    if found.total == 0:
        await send_here(update, context, texts(EMPTY[view]))
        return
    text, markup = await _render_page(context, texts, view, page, found)
    query = update.callback_query
    if edit and query is not None:
        await edit_pressed(query, text, markup)
    else:
        await send_here(update, context, text, markup)


EMPTY = {
    "my": "requests.none_yet",
    "inbox": "requests.inbox_empty",
    "queue": "requests.queue_empty",
}


async def _page(context: AppContext, actor: Actor, view: str, page: int) -> Page | None:
    repo = context.services.requests
    size = context.services.settings.requests.page_size
    if view == "my" and actor.enterprises:
        ids = sorted(actor.enterprise_ids)
        return await repo.of_enterprises(ids, limit=size, offset=page * size)
    if view == "inbox" and actor.official is not None:
        return await repo.held_by(actor.official.id, limit=size, offset=page * size)
    if view == "queue" and actor.is_admin:
        return await repo.queue(limit=size, offset=page * size, scope=actor.scope)
    return None


async def _render_page(
    context: AppContext, texts: Translator, view: str, page: int, found: Page
) -> tuple[str, InlineKeyboardMarkup]:
    """The page as text (one entry per request) with an open button each and paging."""
    pages = max(1, math.ceil(found.total / context.services.settings.requests.page_size))
    lines = [texts(f"requests.{view}_title", total=found.total, page=page + 1, pages=pages)]
    lines += [await _line(context, texts, view, request) for request in found.items]
    rows = [
        [InlineKeyboardButton(r.number, callback_data=RequestButton(r.id, "open").pack())]
        for r in found.items
    ]
    paging = [
        InlineKeyboardButton(texts(f"requests.{label}"), callback_data=PageButton(view, to).pack())
        for label, to, shown in (
            ("previous", page - 1, page > 0),
            ("next", page + 1, page + 1 < pages),
        )
        if shown
    ]
    return "".join(lines), InlineKeyboardMarkup([*rows, paging] if paging else rows)


async def _line(context: AppContext, texts: Translator, view: str, request: Request) -> str:
    """An entrepreneur sees who holds each request; officials and admins when it is due."""
    status = texts(f"requests.status.{request.status}")
    if view == "my":
        holder = await context.services.officials.get(request.official_id or 0)
        return texts(
            "requests.list_line",
            number=request.number,
            status=status,
            holder=official_label(holder, texts),
            summary=request.summary,
        )
    kind, due = next_deadline(request)
    return texts(
        f"requests.inbox_line_{kind}",
        number=request.number,
        status=status,
        due=due_date(context.services, request, due, texts),
        summary=request.summary,
    )


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("my", my_requests),
    CallbackQueryHandler(my_requests, pattern=menu_pattern("my")),
    CommandHandler("inbox", inbox),
    CallbackQueryHandler(inbox, pattern=menu_pattern("inbox")),
    CommandHandler("queue", queue),
    CallbackQueryHandler(queue, pattern=menu_pattern("queue")),
    CommandHandler("open", open_by_number),
    MessageHandler(filters.Regex(NUMBER) & ~filters.COMMAND, open_by_number),
    CallbackQueryHandler(turn_page, pattern=PageButton.pattern()),
]
