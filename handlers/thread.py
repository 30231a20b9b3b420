"""Writing on a request: replies both ways, internal notes, and the actions that need words
(ask for information, mark resolved, return) — each stored with its delivery to the other side
(outbox rows in the same transaction, see bot/dispatch.py), then confirmed to the writer.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.lifecycle import FINAL, Action, Party, TransitionRefused, check
from bot.requests import NotFound, parties
from bot.roles import Actor
from handlers import dialogue_state
from handlers.callback_data import BadCallback
from handlers.cards import RequestButton, attachment_of, notify, refuse_forged
from handlers.context import AppContext
from handlers.requests import perform
from storage.requests import Attachment, NewMessage, Request

log = logging.getLogger(__name__)

WRITING = 100  # apart from the intake's states: both share one conversation
KINDS = ("reply", "note", "ask", "resolve", "return", "comment")
# The words these actions need become the transition's note.
NEEDS_NOTE = {"ask": Action.ASK_INFO, "resolve": Action.RESOLVE, "return": Action.RETURN}


async def begin(update: Update, context: AppContext) -> int | None:
    """Ask for the text of a reply, note, question, resolution, return reason or comment."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        button = RequestButton.parse(query.data)
    except BadCallback:
        await refuse_forged(update, context)
        return ConversationHandler.END
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=button.request_id)
        may_write(actor, request, button.action)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return ConversationHandler.END
    except TransitionRefused as exc:
        key = "requests.forbidden" if exc.reason == "forbidden" else "requests.stale"
        await notify(update, context, texts(key, status=texts(f"requests.status.{exc.status}")))
        return ConversationHandler.END
    await query.answer()
    start_composing(context, request.id, button.action)
    await context.bot.send_message(
        actor.telegram_id, texts(f"thread.ask_{button.action}", number=request.number)
    )
    return WRITING


def may_write(actor: Actor, request: Request, kind: str) -> None:
    """Refuse early what the write would refuse later, so nobody types for nothing."""
    who = parties(actor, request)
    if kind in NEEDS_NOTE:
        check(request.status, NEEDS_NOTE[kind], who)
        return
    permitted = {
        "note": bool(who & {Party.HOLDER, Party.ADMIN}),
        "comment": Party.OWNER in who and request.outcome is not None,
        "reply": bool(who & {Party.OWNER, Party.HOLDER}),
    }
    if not permitted.get(kind, False):
        raise TransitionRefused("forbidden", request.status)
    if kind == "reply" and request.status in FINAL:
        raise TransitionRefused("final", request.status)


async def write(update: Update, context: AppContext) -> int | None:
    """Store what the user wrote, then deliver it; say "sent" only after it is stored."""
    message = update.effective_message
    assert message is not None
    texts = await context.texts(update)
    composing = composing_of(context)
    if composing is None:
        return ConversationHandler.END
    request_id, kind = composing
    text = (message.text or message.caption or "").strip()
    attachment = attachment_of(message)
    if len(text) > context.services.settings.requests.max_message_length:
        await message.reply_text(texts("thread.too_long"))
        return None
    if not text and (attachment is None or kind not in ("reply", "note")):
        await message.reply_text(texts("thread.text_only"))
        return None
    done = await WRITERS[kind](update, context, request_id, text, attachment)
    if done:
        stop_composing(context)
        return ConversationHandler.END
    return None


async def reply(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> bool:
    """A message in the thread, to the other side: stored with its delivery through the
    outbox (which the desk wakes after the commit), then "sent"."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        request, _ = await context.services.desk.post(
            actor, request_id, text=text, attachment=attachment
        )
    except (NotFound, TransitionRefused):
        await notify(update, context, texts("requests.not_found"))
        return True
    await _send(update, context, texts("thread.sent", number=request.number))
    return True


async def note(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> bool:
    """An internal note: stored, seen by officials and admins only."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        request, _ = await context.services.desk.post(
            actor, request_id, text=text, attachment=attachment, internal=True
        )
    except (NotFound, TransitionRefused):
        await notify(update, context, texts("requests.not_found"))
        return True
    await _send(update, context, texts("thread.noted", number=request.number))
    return True


async def with_note(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> bool:
    """Ask, resolve or return: the transition with the words as its note and in the thread,
    and its notices, in one transaction."""
    kind = (composing_of(context) or (0, ""))[1]
    actor = await context.actor(update)
    words = NewMessage(actor.telegram_id, "official", text, internal=kind == "return")
    request = await perform(update, context, request_id, NEEDS_NOTE[kind], note=text, post=words)
    if request is None:
        return True
    texts = await context.texts(update)
    await _send(update, context, texts(f"thread.{NOTICE[kind]}", number=request.number))
    return True


async def comment(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> bool:
    """The entrepreneur's comment on how the request was handled."""
    actor = await context.actor(update)
    texts = await context.texts(update)
    try:
        await context.services.desk.rate(actor, request_id, rating=None, comment=text)
    except (NotFound, TransitionRefused):
        await notify(update, context, texts("requests.not_found"))
        return True
    await _send(update, context, texts("requests.comment_saved"))
    return True


async def off_script(update: Update, context: AppContext) -> None:
    """Stickers, voice and the like while writing: say what can be sent."""
    texts = await context.texts(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts("thread.unsupported"))


async def cancel(update: Update, context: AppContext) -> int:
    """Stop writing; nothing is sent."""
    stop_composing(context)
    texts = await context.texts(update)
    await _send(update, context, texts("thread.cancelled"))
    return ConversationHandler.END


# -- who is writing what (per user, in memory: a restart ends the dialogue) -------------


def composing_of(context: AppContext) -> tuple[int, str] | None:
    """The request and kind of text this user is writing, if any."""
    value = dialogue_state.user_data(context).get(dialogue_state.COMPOSE)
    return None if value is None else (int(value[0]), str(value[1]))


def start_composing(context: AppContext, request_id: int, kind: str) -> None:
    dialogue_state.enter(context, dialogue_state.COMPOSE, (request_id, kind))


def stop_composing(context: AppContext) -> bool:
    """Forget what the user was writing; whether they were writing anything."""
    return dialogue_state.forget(context)


async def _send(update: Update, context: AppContext, text: str) -> Message:
    assert update.effective_chat is not None
    return await context.bot.send_message(update.effective_chat.id, text)


WRITERS = {
    "reply": reply,
    "note": note,
    "ask": with_note,
    "resolve": with_note,
    "return": with_note,
    "comment": comment,
}
NOTICE = {"ask": "asked", "resolve": "resolved", "return": "returned"}


MEDIA = filters.PHOTO | filters.Document.ALL
ENTRY = f"^{RequestButton.prefix}:\\d+:({'|'.join(KINDS)})$"

ENTRY_POINTS: list[BaseHandler[Any, Any, Any]] = [CallbackQueryHandler(begin, pattern=ENTRY)]
STATES: dict[object, list[BaseHandler[Any, Any, Any]]] = {
    WRITING: [MessageHandler((filters.TEXT & ~filters.COMMAND) | MEDIA, write)]
}
