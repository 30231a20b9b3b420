"""Acting on requests with buttons, and the lists: /my, /inbox, /queue, /open.

Every press is checked again on the server (:class:`bot.requests.RequestDesk` decides who may
do what); a stale button answers with the request's status now, a forged one is refused and
logged.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.i18n import Translator
from bot.lifecycle import Action, IllegalTransition, NotPermitted, TransitionRefused
from bot.requests import NotFound, Stale, parties
from bot.roles import Actor
from handlers.callback_data import BadCallback, CallbackData
from handlers.cards import (
    HISTORY,
    AssignButton,
    RateButton,
    RequestButton,
    card_text,
    keyboard,
    local_date,
    official_label,
    owners,
    safe_send,
    status_line,
    tell,
    tell_new,
)
from handlers.context import AppContext
from handlers.menu import menu_pattern
from storage.requests import Page, Request

log = logging.getLogger(__name__)

NUMBER = re.compile(r"LN-\d{8}-\d{4}", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PageButton(CallbackData, prefix="pg"):
    view: str
    page: int


async def perform(
    update: Update, context: AppContext, request_id: int, action: Action, **kwargs: Any
) -> Request | None:
    """Try ``action``; on refusal, tell the user why (in an alert for a button) and log it."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        return await context.services.desk.act(actor, request_id, action, **kwargs)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
    except NotPermitted:
        log.warning("user %s may not %s request %s", actor.telegram_id, action, request_id)
        await notify(update, context, texts("requests.forbidden"))
    except (IllegalTransition, Stale, TransitionRefused) as exc:
        await notify(
            update, context, texts("requests.stale", status=texts(f"requests.status.{exc.status}"))
        )
    return None


async def notify(update: Update, context: AppContext, text: str) -> None:
    """An alert on a button press, a message otherwise."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text)


async def refresh(update: Update, context: AppContext, request: Request) -> None:
    """Show the pressed card again with the request's status and buttons now."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    texts = await context.texts(update)
    actor = await context.actor(update)
    text = status_line(request)(texts) + "\n\n" + await card_text(context.services, request, texts)
    try:
        await query.edit_message_text(
            text, reply_markup=keyboard(request, parties(actor, request), texts)
        )
    except BadRequest as exc:
        if "not modified" not in exc.message and "no text" not in exc.message:
            raise
        await context.bot.send_message(
            actor.telegram_id, text, reply_markup=keyboard(request, parties(actor, request), texts)
        )


async def on_button(update: Update, context: AppContext) -> None:
    """A button on a request card that acts at once (or opens a view)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        button = RequestButton.parse(query.data)
        step = ACTIONS[button.action]
    except (BadCallback, KeyError):
        await refuse_forged(update, context)
        return
    await step(update, context, button.request_id)


async def refuse_forged(update: Update, context: AppContext) -> None:
    """Callback data we never made: refuse and log who sent it (not what it said)."""
    texts = await context.texts(update)
    user = update.effective_user
    log.warning("forged or unknown button from user %s", user.id if user else None)
    await notify(update, context, texts("requests.forged"))


async def acknowledge(update: Update, context: AppContext, request_id: int) -> None:
    """The official acknowledges: the enterprise is told by whom."""
    request = await perform(update, context, request_id, Action.ACKNOWLEDGE)
    if request is None:
        return
    await _answer(update)
    await refresh(update, context, request)
    services = context.services
    official = await services.officials.get(request.official_id or 0)

    def headline(texts: Translator) -> str:
        return texts(
            "requests.acknowledged", number=request.number, official=official_label(official, texts)
        )

    await tell(context.bot, services, await owners(services, request), request, headline)


async def close_out(update: Update, context: AppContext, request_id: int, solved: bool) -> None:
    """The enterprise says whether it is solved, then rates the handling."""
    action = Action.CONFIRM if solved else Action.REJECT
    request = await perform(update, context, request_id, action)
    if request is None:
        return
    await _answer(update)
    texts = await context.texts(update)
    stars = [
        InlineKeyboardButton("⭐" * n, callback_data=RateButton(request.id, n).pack())
        for n in range(1, 6)
    ]
    key = "requests.confirmed" if solved else "requests.reopened"
    await _send(update, context, texts(key, number=request.number), InlineKeyboardMarkup([stars]))
    await _tell_holder(
        context, request, "closed_for_official" if solved else "reopened_for_official"
    )


async def solved(update: Update, context: AppContext, request_id: int) -> None:
    """Solved: the request is closed (销号)."""
    await close_out(update, context, request_id, solved=True)


async def unsolved(update: Update, context: AppContext, request_id: int) -> None:
    """Not solved: the request is reopened and flagged."""
    await close_out(update, context, request_id, solved=False)


async def withdraw(update: Update, context: AppContext, request_id: int) -> None:
    """The enterprise takes the request back; its official is told."""
    request = await perform(update, context, request_id, Action.WITHDRAW)
    if request is None:
        return
    await _answer(update)
    await refresh(update, context, request)
    await _tell_holder(context, request, "withdrawn_for_official")


async def choose_official(update: Update, context: AppContext, request_id: int) -> None:
    """An admin picks the official to hand the request to."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    if not actor.is_admin:
        await notify(update, context, texts("requests.forbidden"))
        return
    request = await context.services.requests.get(request_id)
    if request is None:
        await notify(update, context, texts("requests.not_found"))
        return
    await _answer(update)
    officials = [o for o in await context.services.officials.all_active() if o.telegram_id]
    rows = [
        [
            InlineKeyboardButton(
                official_label(o, texts), callback_data=AssignButton(request.id, o.id).pack()
            )
        ]
        for o in officials
    ]
    await _send(
        update,
        context,
        texts("requests.choose_official", number=request.number),
        InlineKeyboardMarkup(rows),
    )


async def assign(update: Update, context: AppContext) -> None:
    """Hand the request to the chosen official; they get the card, the enterprise is told."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        button = AssignButton.parse(query.data)
    except BadCallback:
        await refuse_forged(update, context)
        return
    services = context.services
    official = await services.officials.get(button.official_id)
    if official is None or official.telegram_id is None:
        await refuse_forged(update, context)
        return
    request = await perform(
        update, context, button.request_id, Action.ASSIGN, official_id=official.id
    )
    if request is None:
        return
    texts = await context.texts(update)
    await query.answer(texts("requests.assigned", official=official.name))
    await query.edit_message_text(
        texts("requests.assigned", official=official_label(official, texts))
    )
    await tell_new(context.bot, services, request)

    def headline(t: Translator) -> str:
        return t(
            "requests.assigned_for_owner",
            number=request.number,
            official=official_label(official, t),
        )

    await tell(context.bot, services, await owners(services, request), request, headline)


async def rate(update: Update, context: AppContext) -> None:
    """Store the 1–5 rating; offer to add a comment."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        button = RateButton.parse(query.data)
        assert 1 <= button.stars <= 5
    except (BadCallback, AssertionError):
        await refuse_forged(update, context)
        return
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        await context.services.desk.rate(
            actor, button.request_id, rating=button.stars, comment=None
        )
    except (NotFound, TransitionRefused):
        await notify(update, context, texts("requests.not_found"))
        return
    await query.answer()
    skip = InlineKeyboardButton(
        texts("requests.skip"), callback_data=RequestButton(button.request_id, "skip").pack()
    )
    comment = InlineKeyboardButton(
        texts("thread.ask_comment"),
        callback_data=RequestButton(button.request_id, "comment").pack(),
    )
    await query.edit_message_text(
        texts("requests.rated"), reply_markup=InlineKeyboardMarkup([[comment, skip]])
    )


async def skip_comment(update: Update, context: AppContext, request_id: int) -> None:
    """No comment: just thank the user."""
    texts = await context.texts(update)
    await _answer(update)
    await _send(update, context, texts("requests.comment_saved"))


async def open_card(update: Update, context: AppContext, request_id: int) -> None:
    """Show one request's card with the viewer's buttons."""
    await show_request(update, context, request_id=request_id)


async def show_history(update: Update, context: AppContext, request_id: int) -> None:
    """The request's history: every status change, when, with its note."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=request_id)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    await _answer(update)
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
                note=entry.note if entry.note not in ("designated", "rule", "queue") else "",
            )
        )
    await _send(update, context, "".join(lines))


async def show_request(
    update: Update, context: AppContext, *, request_id: int | None = None, number: str = ""
) -> None:
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=request_id, number=number)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    await _answer(update)
    text = await card_text(context.services, request, texts)
    await _send(update, context, text, keyboard(request, parties(actor, request), texts))


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
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        button = PageButton.parse(query.data)
    except BadCallback:
        await refuse_forged(update, context)
        return
    await show_page(update, context, button.view, max(0, button.page), edit=True)


async def show_page(
    update: Update, context: AppContext, view: str, page: int, *, edit: bool = False
) -> None:
    actor = await context.actor(update)
    texts = await context.texts(update)
    found = await _page(context, actor, view, page)
    await _answer(update)
    if found is None:
        await _send(update, context, texts("requests.forbidden"))
        return
    if found.total == 0:
        await _send(update, context, texts(EMPTY[view]))
        return
    text, markup = await _render_page(context, texts, view, page, found)
    query = update.callback_query
    if edit and query is not None:
        await query.edit_message_text(text, reply_markup=markup)
    else:
        await _send(update, context, text, markup)


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
        return await repo.queue(limit=size, offset=page * size)
    return None


async def _render_page(
    context: AppContext, texts: Translator, view: str, page: int, found: Page
) -> tuple[str, InlineKeyboardMarkup]:
    services = context.services
    pages = max(1, math.ceil(found.total / services.settings.requests.page_size))
    lines = [texts(f"requests.{view}_title", total=found.total, page=page + 1, pages=pages)]
    for request in found.items:
        status = texts(f"requests.status.{request.status}")
        if view == "my":
            holder = await services.officials.get(request.official_id or 0)
            lines.append(
                texts(
                    "requests.list_line",
                    number=request.number,
                    status=status,
                    holder=official_label(holder, texts),
                    summary=request.summary,
                )
            )
        else:
            lines.append(
                texts(
                    "requests.inbox_line",
                    number=request.number,
                    status=status,
                    due=local_date(services, request.resolve_due_at),
                    summary=request.summary,
                )
            )
    rows = [
        [InlineKeyboardButton(r.number, callback_data=RequestButton(r.id, "open").pack())]
        for r in found.items
    ]
    paging = []
    if page > 0:
        paging.append(
            InlineKeyboardButton(
                texts("requests.previous"), callback_data=PageButton(view, page - 1).pack()
            )
        )
    if page + 1 < pages:
        paging.append(
            InlineKeyboardButton(
                texts("requests.next"), callback_data=PageButton(view, page + 1).pack()
            )
        )
    return "".join(lines), InlineKeyboardMarkup([*rows, paging] if paging else rows)


# -- helpers -----------------------------------------------------------------------------------


async def _tell_holder(context: AppContext, request: Request, key: str) -> None:
    services = context.services
    official = await services.officials.get(request.official_id or 0)
    if official is None or official.telegram_id is None:
        return
    texts = Translator(await services.accounts.language_of(official.telegram_id))
    text = texts(f"requests.{key}", number=request.number, rating=request.rating or "—")
    await safe_send(context.bot, services, official.telegram_id, text)


async def _answer(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


async def _send(
    update: Update, context: AppContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


ACTIONS = {
    "ack": acknowledge,
    "solved": solved,
    "unsolved": unsolved,
    "withdraw": withdraw,
    "assign": choose_official,
    HISTORY: show_history,
    "open": open_card,
    "skip": skip_comment,
}

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
    CallbackQueryHandler(assign, pattern=AssignButton.pattern()),
    CallbackQueryHandler(rate, pattern=RateButton.pattern()),
    # After thread.py's conversation, which takes reply/note/ask/resolve/return/comment.
    CallbackQueryHandler(on_button, pattern=RequestButton.pattern()),
]
