"""Writing on a request: replies both ways, internal notes, and the actions that need words
(ask for information, mark resolved, return) — each stored with its delivery to the other side
(outbox rows in the same transaction, see bot/dispatch.py) and with the writer's receipt
("sent", "saved": bot/receipts.py), which the outbox sends right after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translator
from bot.lifecycle import FINAL, Action, Party, TransitionRefused, check
from bot.requests import NotFound, ReceiptText, parties
from bot.roles import Actor
from handlers import dialogue_state
from handlers.access import refuse
from handlers.cards import RequestButton, attachment_of, notify, send_here
from handlers.context import AppContext
from handlers.dialogue_state import COMPOSE
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
    assert query is not None
    button = context.button(RequestButton)
    request = await writable(update, context, button.request_id, button.action)
    if request is None:
        return ConversationHandler.END
    await query.answer()
    await dialogue_state.enter(
        update, context, COMPOSE, request_id=request.id, action=button.action, number=request.number
    )
    texts = await context.texts(update)
    await send_here(update, context, texts(f"thread.ask_{button.action}", number=request.number))
    return WRITING


async def writable(
    update: Update, context: AppContext, request_id: int, kind: str
) -> Request | None:
    """The request, if the user may write ``kind`` on it now; otherwise say why not."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        request = await context.services.desk.find(actor, request_id=request_id)
        may_write(actor, request, kind)
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return None
    except TransitionRefused as exc:
        await refused(update, context, exc)
        return None
    return request


async def refused(update: Update, context: AppContext, exc: TransitionRefused) -> None:
    """Say why the request does not take this now: not the user's to do, or it moved on
    (with its status now), as the buttons say."""
    if exc.reason == "forbidden":
        await refuse(update, context)
        return
    texts = await context.texts(update)
    status = texts(f"requests.status.{exc.status}")
    await notify(update, context, texts("requests.stale", status=status))


async def may_resume(update: Update, context: AppContext, state: Mapping[str, Any]) -> bool:
    """After a restart: whether the user may still write what they had begun (said if not)."""
    request = await writable(update, context, int(state["request_id"]), str(state["action"]))
    if request is None:
        await dialogue_state.forget(update, context)
    return request is not None


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
    """Store what the user wrote (with its delivery and the "sent" receipt).
    The dialogue ends as soon as the text is stored: were the bot to stop before "sent",
    the user's next message would not be taken for the same reply again."""
    message = update.effective_message
    assert message is not None
    texts = await context.texts(update)
    composing = composing_of(update, context)
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
    await WRITERS[kind](update, context, request_id, text, attachment)
    await dialogue_state.forget(update, context)  # refused: nothing more to write there
    return ConversationHandler.END


async def reply(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> None:
    """A message in the thread, to the other side: stored with its delivery and the "sent"
    receipt through the outbox (which the desk wakes after the commit)."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        await context.services.desk.post(
            actor, request_id, text=text, attachment=attachment, receipt=_sent(texts)
        )
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    except TransitionRefused as exc:
        await refused(update, context, exc)
        return
    await dialogue_state.forget(update, context)


def _sent(texts: Translator) -> ReceiptText:
    """The receipt of a reply: "sent"; to the admins when nobody holds the request (submitted,
    returned), as they hold the queue."""

    def text(request: Request) -> str:
        sent = "thread.sent" if request.official_id is not None else "thread.sent_to_admins"
        return texts(sent, number=request.number)

    return text


def _saved(texts: Translator, key: str) -> ReceiptText:
    """The receipt ``key`` with the request's number."""
    return lambda request: texts(key, number=request.number)


async def note(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> None:
    """An internal note: stored, seen by officials and admins only."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        await context.services.desk.post(
            actor,
            request_id,
            text=text,
            attachment=attachment,
            internal=True,
            receipt=_saved(texts, "thread.noted"),
        )
    except NotFound:
        await notify(update, context, texts("requests.not_found"))
        return
    except TransitionRefused as exc:
        await refused(update, context, exc)
        return
    await dialogue_state.forget(update, context)


async def with_note(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> None:
    """Ask, resolve or return: the transition with the words as its note and in the thread,
    its notices and the official's receipt, in one transaction."""
    kind = (composing_of(update, context) or (0, ""))[1]
    actor = context.actor
    texts = await context.texts(update)
    words = NewMessage(actor.telegram_id, "official", text, internal=kind == "return")
    receipt = _saved(texts, f"thread.{NOTICE[kind]}")
    request = await perform(
        update, context, request_id, NEEDS_NOTE[kind], note=text, post=words, receipt=receipt
    )
    if request is None:
        return
    await dialogue_state.forget(update, context)


async def comment(
    update: Update, context: AppContext, request_id: int, text: str, attachment: Attachment | None
) -> None:
    """The entrepreneur's comment on how the request was handled."""
    actor = context.actor
    texts = await context.texts(update)
    try:
        await context.services.desk.rate(
            actor, request_id, rating=None, comment=text, receipt=texts("requests.comment_saved")
        )
    except (NotFound, TransitionRefused):
        await notify(update, context, texts("requests.not_found"))
        return
    await dialogue_state.forget(update, context)


async def off_script(update: Update, context: AppContext) -> None:
    """Stickers, voice and the like while writing: say what can be sent."""
    texts = await context.texts(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts("thread.unsupported"))


# -- who is writing what (bot/dialogues.py keeps it, in memory and in the database) ------------


def composing_of(update: Update, context: AppContext) -> tuple[int, str] | None:
    """The request and kind of text this user is writing, if any."""
    if dialogue_state.active(update, context) != COMPOSE:
        return None
    state = dialogue_state.state(update, context)
    return int(state["request_id"]), str(state["action"])


def step(state: Mapping[str, Any]) -> int:
    """Where a stored dialogue of writing stands: always at the text."""
    return WRITING


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
