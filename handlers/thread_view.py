"""The full thread of a request (📜): its whole description, then its messages in order, with
who wrote each and when, the files as files, a page at a time.

Only those who see the request (its enterprise's contacts, its holder, admins) may open it;
anyone else gets "not found", as for a number that does not exist. Internal notes are shown
to the holder and admins only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.broadcasts import CAPTION_LIMIT, TEXT_LIMIT, visible_length
from bot.delivery import Media
from bot.dispatch import official_label
from bot.i18n import Html, Translator, escape
from bot.requests import NotFound
from bot.services import Services
from bot.threads import Thread, split_text
from handlers.access import refuse_stale
from handlers.cards import ThreadButton, notify, send_with_media
from handlers.context import AppContext
from storage.requests import Message

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Piece:
    """One message of the view: a text, or a file with its caption."""

    text: str
    media: Media | None = None
    markup: InlineKeyboardMarkup | None = None


async def show_thread(update: Update, context: AppContext) -> None:
    """The user sees the request's whole description, then a page of its messages."""
    query = update.callback_query
    assert query is not None
    button = context.button(ThreadButton)
    if button.page < 0:
        await refuse_stale(update, context)
        return
    actor = context.actor
    texts = await context.texts(update)
    try:
        thread = await context.services.desk.thread(actor, button.request_id, page=button.page)
    except NotFound:
        log.warning("user %s asked for the thread of a request they cannot see", actor.telegram_id)
        await notify(update, context, texts("requests.not_found"))
        return
    if thread.page > 0 and not thread.messages:  # a page we never offered
        await refuse_stale(update, context)
        return
    await query.answer()
    assert update.effective_chat is not None
    for piece in await pieces(context.services, thread, texts):
        await send_with_media(
            context.bot,
            update.effective_chat.id,
            piece.text,
            piece.media,
            reply_markup=piece.markup,
        )


async def pieces(services: Services, thread: Thread, texts: Translator) -> list[Piece]:
    """The page as messages: the description (first page only), the texts gathered into as
    few messages as fit, each file on its own, and a "more" button when there is more."""
    number = thread.request.number
    out = _description(thread, texts) if thread.page == 0 else []
    if thread.total == 0:
        return [*out, Piece(texts("thread_view.empty", number=number))]
    layout = Layout(
        texts(
            "thread_view.messages_title",
            number=number,
            first=thread.first,
            last=thread.last,
            total=thread.total,
        )
    )
    senders = Senders(services, thread, texts)
    for index, message in enumerate(thread.messages, thread.first):
        head = {
            "index": index,
            "sender": await senders.label(message),
            "at": message.at.astimezone(services.settings.locale.tz).strftime("%Y-%m-%d %H:%M"),
            "note": Html(texts("thread_view.note_mark") if message.internal else ""),
        }
        text = message.text
        if message.file_id is not None:
            caption = texts("thread_view.caption", number=number, **head)
            with_text = f"{caption}\n{escape(text)}" if text else caption
            fits = visible_length(with_text) <= CAPTION_LIMIT
            media = Media(message.media_kind or "document", message.file_id)
            layout.file(Piece(with_text if fits else caption, media))
            text = "" if fits else text
        for part in split_text(text):
            layout.text(texts("thread_view.entry", text=part, **head))
    return [*out, *layout.done(), *([_more(thread, texts)] if thread.more else [])]


def _description(thread: Thread, texts: Translator) -> list[Piece]:
    """The whole description, in as many messages as it needs."""
    parts = split_text(thread.request.description)
    return [
        Piece(
            texts(
                "thread_view.description",
                number=thread.request.number,
                part=i,
                parts=len(parts),
                text=part,
            )
        )
        for i, part in enumerate(parts, 1)
    ]


class Layout:
    """The messages of a page as they fill: texts gathered while they fit, files alone."""

    def __init__(self, title: str) -> None:
        self._pieces: list[Piece] = []
        self._block = title

    def text(self, entry: str) -> None:
        if self._block and visible_length(f"{self._block}\n\n{entry}") > TEXT_LIMIT:
            self._flush()
        self._block = f"{self._block}\n\n{entry}" if self._block else entry

    def file(self, piece: Piece) -> None:
        self._flush()
        self._pieces.append(piece)

    def done(self) -> list[Piece]:
        self._flush()
        return self._pieces

    def _flush(self) -> None:
        if self._block:
            self._pieces.append(Piece(self._block))
        self._block = ""


def _more(thread: Thread, texts: Translator) -> Piece:
    request = thread.request
    button = InlineKeyboardButton(
        texts("thread_view.more"), callback_data=ThreadButton(request.id, thread.page + 1).pack()
    )
    left = thread.total - thread.last
    text = texts("thread_view.more_left", number=request.number, left=left)
    return Piece(text, markup=InlineKeyboardMarkup([[button]]))


class Senders:
    """Who wrote a message, as the thread shows it: an official under their verified name,
    the enterprise by its name."""

    def __init__(self, services: Services, thread: Thread, texts: Translator) -> None:
        self._services = services
        self._thread = thread
        self._texts = texts
        self._known: dict[tuple[str, int | None], str] = {}

    async def label(self, message: Message) -> str:
        key = (message.sender_role, message.sender_id)
        if key not in self._known:
            self._known[key] = await self._find(message)
        return self._known[key]

    async def _find(self, message: Message) -> str:
        services, texts = self._services, self._texts
        if message.sender_role == "enterprise":
            enterprise = await services.enterprises.get(self._thread.request.enterprise_id)
            return enterprise.name if enterprise else ""
        if message.sender_role == "admin":
            return texts("thread_view.admin")
        official = None
        if message.sender_id is not None:
            official = await services.officials.by_telegram_id(message.sender_id)
        return (
            texts("thread_view.official") if official is None else official_label(official, texts)
        )


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CallbackQueryHandler(show_thread, pattern=ThreadButton.pattern()),
]
