"""Acting on requests with buttons: acknowledge, close out (solved / not solved, rating),
withdraw, assign (admins), and the views a card's buttons open.

Every press is checked again on the server (:class:`bot.requests.RequestDesk` decides who may
do what); a stale button answers with the request's status now, a forged one is refused and
logged.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.dispatch import official_label
from bot.lifecycle import Action, NoteMissing, NotPermitted, Party, TransitionRefused
from bot.requests import NotFound, parties
from bot.roles import BUTTON_RULES, permits
from handlers import request_lists, systemic_issues
from handlers.access import refuse, refuse_stale
from handlers.cards import (
    GROUP,
    HISTORY,
    AssignButton,
    RateButton,
    RequestButton,
    answer_query,
    card_text,
    keyboard,
    notify,
    send_here,
    status_line,
)
from handlers.context import AppContext
from handlers.errors import edit_pressed
from storage.requests import Request

log = logging.getLogger(__name__)

MAX_STARS = 5


async def perform(
    update: Update, context: AppContext, request_id: int, action: Action, **kwargs: Any
) -> Request | None:
    """Try ``action``; on refusal, tell the user why (in an alert for a button) and log it."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        return await context.services.desk.act(actor, request_id, action, **kwargs)
    except NotFound:
        if update.callback_query is not None:
            # A button for a request this user cannot see was never sent to them: forged.
            log.warning(
                "user %s pressed %s on request %s they cannot see",
                actor.telegram_id,
                action,
                request_id,
            )
        await notify(update, context, texts("requests.not_found"))
    except NotPermitted:
        log.warning("user %s may not %s request %s", actor.telegram_id, action, request_id)
        await refuse(update, context)
    except NoteMissing:
        await notify(update, context, texts("thread.text_only"))
    except TransitionRefused as exc:
        status = texts(f"requests.status.{exc.status}")
        await notify(update, context, texts("requests.stale", status=status))
    return None


async def refresh(update: Update, context: AppContext, request: Request) -> None:
    """Show the pressed card again with the request's status and buttons now."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    texts = await context.texts(update)
    actor = context.actor
    text = status_line(request)(texts) + "\n\n" + await card_text(context.services, request, texts)
    await edit_pressed(query, text, keyboard(request, parties(actor, request), texts))


async def on_button(update: Update, context: AppContext) -> None:
    """A button on a request card that acts at once (or opens a view)."""
    button = context.button(RequestButton)
    step = ACTIONS.get(button.action)
    if step is None:
        await refuse_stale(update, context)
        return
    await step(update, context, button.request_id)


async def acknowledge(update: Update, context: AppContext, request_id: int) -> None:
    """The official acknowledges (the enterprise's notice is queued with the change)."""
    request = await perform(update, context, request_id, Action.ACKNOWLEDGE)
    if request is None:
        return
    await answer_query(update)
    await refresh(update, context, request)


async def close_out(update: Update, context: AppContext, request_id: int, solved: bool) -> None:
    """The enterprise says whether it is solved (the official's notice is queued with the
    change). Solved closes the request (销号), and only then is the handling rated: once, at
    the final close; not solved reopens it, and the rating waits for the close."""
    action = Action.CONFIRM if solved else Action.REJECT
    request = await perform(update, context, request_id, action)
    if request is None:
        return
    await answer_query(update)
    texts = await context.texts(update)
    if not solved:
        await send_here(update, context, texts("requests.reopened", number=request.number))
        return
    stars = [
        InlineKeyboardButton("⭐" * n, callback_data=RateButton(request.id, n).pack())
        for n in range(1, MAX_STARS + 1)
    ]
    await send_here(
        update,
        context,
        texts("requests.confirmed", number=request.number),
        InlineKeyboardMarkup([stars]),
    )


async def solved(update: Update, context: AppContext, request_id: int) -> None:
    """Solved: the request is closed (销号)."""
    await close_out(update, context, request_id, solved=True)


async def unsolved(update: Update, context: AppContext, request_id: int) -> None:
    """Not solved: the request is reopened and flagged."""
    await close_out(update, context, request_id, solved=False)


async def withdraw(update: Update, context: AppContext, request_id: int) -> None:
    """The enterprise takes the request back (its official's notice is queued with it)."""
    request = await perform(update, context, request_id, Action.WITHDRAW)
    if request is None:
        return
    await answer_query(update)
    await refresh(update, context, request)


async def choose_official(update: Update, context: AppContext, request_id: int) -> None:
    """An admin picks the official to hand the request to."""
    texts = await context.texts(update)
    if not permits(context.actor, BUTTON_RULES[AssignButton.prefix]):
        await refuse(update, context)
        return
    request = await context.services.requests.get(request_id)
    if request is None:
        await notify(update, context, texts("requests.not_found"))
        return
    await answer_query(update)
    scope = context.actor.scope
    officials = [o for o in await context.services.officials.all_active(scope) if o.telegram_id]
    if not officials:  # a city with no official who has joined yet
        await send_here(update, context, texts("offices.no_officials"), None)
        return
    rows = [
        [
            InlineKeyboardButton(
                official_label(o, texts), callback_data=AssignButton(request.id, o.id).pack()
            )
        ]
        for o in officials
    ]
    await send_here(
        update,
        context,
        texts("requests.choose_official", number=request.number),
        InlineKeyboardMarkup(rows),
    )


async def assign(update: Update, context: AppContext) -> None:
    """Hand the request to the chosen official (their card and the enterprise's notice are
    queued with the change)."""
    query = update.callback_query
    assert query is not None
    button = context.button(AssignButton)
    services = context.services
    official = await services.officials.get(button.official_id)
    # Only an official the list offered: joined, and within a city admin's city.
    if (
        official is None
        or official.telegram_id is None
        or not context.actor.scope.covers(official.city)
    ):
        await refuse_stale(update, context)
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


async def rate(update: Update, context: AppContext) -> None:
    """Store the 1–5 rating; offer to add a comment."""
    query = update.callback_query
    assert query is not None
    button = context.button(RateButton)
    if not 1 <= button.stars <= MAX_STARS:
        await refuse_stale(update, context)
        return
    actor = context.actor
    texts = await context.texts(update)
    try:
        await context.services.desk.rate(
            actor, button.request_id, rating=button.stars, comment=None
        )
    except TransitionRefused as exc:
        # A rating button from before the request was reopened: it is rated when closed.
        key = "requests.rate_when_closed" if exc.reason == "not_closed" else "requests.not_found"
        await notify(update, context, texts(key))
        return
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    await query.answer()
    skip = InlineKeyboardButton(
        texts("requests.skip"), callback_data=RequestButton(button.request_id, "skip").pack()
    )
    comment = InlineKeyboardButton(
        texts("requests.button.comment"),
        callback_data=RequestButton(button.request_id, "comment").pack(),
    )
    await query.edit_message_text(
        texts("requests.rated"), reply_markup=InlineKeyboardMarkup([[comment, skip]])
    )


async def skip_comment(update: Update, context: AppContext, request_id: int) -> None:
    """No comment: just thank the user (the enterprise's, who was asked)."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=request_id)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    if Party.OWNER not in parties(actor, request):
        await refuse(update, context)
        return
    await answer_query(update)
    await send_here(update, context, texts("requests.comment_saved"))


ACTIONS = {
    "ack": acknowledge,
    "solved": solved,
    "unsolved": unsolved,
    "withdraw": withdraw,
    "assign": choose_official,
    HISTORY: request_lists.show_history,
    GROUP: systemic_issues.show_suggestions,
    "open": request_lists.open_card,
    "skip": skip_comment,
}

HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CallbackQueryHandler(assign, pattern=AssignButton.pattern()),
    CallbackQueryHandler(rate, pattern=RateButton.pattern()),
    # After thread.py's conversation, which takes reply/note/ask/resolve/return/comment.
    CallbackQueryHandler(on_button, pattern=RequestButton.pattern()),
]
