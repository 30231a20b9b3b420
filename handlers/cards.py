"""How a request looks in a chat, its buttons, and telling the people around it what happened.

A card is rendered for one viewer: the buttons are those the viewer's relation to the request
(owner, holder, admin) allows now. Messages to other users go out in their own language; a
user who blocked the bot is marked unreachable instead of failing the update.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.deadlines import is_estimated
from bot.delivery import Media
from bot.dispatch import official_label
from bot.i18n import Html, Translator, escape
from bot.lifecycle import FINAL, Action, Party, allowed
from bot.services import Services
from handlers.callback_data import CallbackData
from handlers.context import AppContext
from handlers.liaison_bot import LiaisonBot, Markup
from storage.outbox import NewMessage
from storage.requests import Attachment, Request

log = logging.getLogger(__name__)

MAX_CARD_DESCRIPTION = 2500


@dataclass(frozen=True, slots=True)
class RequestButton(CallbackData, prefix="rq"):
    request_id: int
    action: str


@dataclass(frozen=True, slots=True)
class ThreadButton(CallbackData, prefix="tv"):
    """A page of the request's full thread (0: with the whole description first)."""

    request_id: int
    page: int


@dataclass(frozen=True, slots=True)
class AssignButton(CallbackData, prefix="ra"):
    request_id: int
    official_id: int


@dataclass(frozen=True, slots=True)
class RateButton(CallbackData, prefix="rr"):
    request_id: int
    stars: int


# Buttons besides the lifecycle's own actions: they open a dialogue or a view.
REPLY, NOTE, OPEN, HISTORY, GROUP = "reply", "note", "open", "history", "group"
# The lifecycle actions that get a button (the others happen by themselves).
BUTTON_ACTIONS = (
    Action.ACKNOWLEDGE,
    Action.ASK_INFO,
    Action.RESOLVE,
    Action.RETURN,
    Action.CONFIRM,
    Action.REJECT,
    Action.ASSIGN,
    Action.WITHDRAW,
)


def local_date(services: Services, moment: datetime | None) -> str:
    """A moment as the local date users read (due dates are the end of a working day)."""
    if moment is None:
        return "—"
    return moment.astimezone(services.settings.locale.tz).strftime("%Y-%m-%d")


def due_date(
    services: Services, request: Request, moment: datetime | None, texts: Translator
) -> str:
    """A due date as users read it, marked 预计 / estimated when it counts a day whose status
    is an estimate (next year's holiday schedule not published or loaded yet)."""
    shown = local_date(services, moment)
    if is_estimated(services.calendar, request.created_at, moment):
        shown += texts("holidays.estimated_mark")
    return shown


async def card_text(services: Services, request: Request, texts: Translator) -> str:
    """The request as its card shows it, for any viewer."""
    enterprise = await services.enterprises.get(request.enterprise_id)
    holder = (
        None if request.official_id is None else await services.officials.get(request.official_id)
    )
    details = "".join(
        texts("requests.detail_line", question=texts(f"intake.question_label.{key}"), answer=value)
        for key, value in request.details.items()
    )
    # The whole description is under the thread button (📜).
    cut = len(request.description) > MAX_CARD_DESCRIPTION
    description = escape(request.description[:MAX_CARD_DESCRIPTION])
    description += texts("requests.card_cut") if cut else ""
    counts = await services.requests.thread_counts(request.id)
    thread = texts("requests.card_thread", files=counts.files, messages=counts.messages)
    return texts(
        "requests.card",
        number=request.number,
        enterprise=enterprise.name if enterprise else "",
        category=texts(f"intake.category.{request.category}"),
        urgency=texts(f"intake.urgency.{'urgent' if request.urgent else 'normal'}"),
        status=texts(f"requests.status.{request.status}"),
        holder=official_label(holder, texts),
        details=Html(details),
        description=Html(description),
        thread=Html(thread if counts.files or counts.messages else ""),
        acknowledge_due=due_date(services, request, request.acknowledge_due_at, texts),
        resolve_due=due_date(services, request, request.resolve_due_at, texts),
        flag=Html(texts("requests.flagged") if request.flagged else ""),
    )


def keyboard(request: Request, who: frozenset[Party], texts: Translator) -> InlineKeyboardMarkup:
    """The buttons this viewer may press now."""
    names: list[str] = []
    if request.status not in FINAL and who & {Party.OWNER, Party.HOLDER}:
        names.append(REPLY)
    names += [a.value for a in allowed(request.status, who) if a in BUTTON_ACTIONS]
    if who & {Party.HOLDER, Party.ADMIN}:
        names.append(NOTE)
    names.append(HISTORY)
    if Party.ADMIN in who:
        names.append(GROUP)
    buttons = [
        InlineKeyboardButton(
            texts(f"requests.button.{name}"), callback_data=RequestButton(request.id, name).pack()
        )
        for name in names
    ]
    buttons.append(
        InlineKeyboardButton(
            texts("requests.button.thread"), callback_data=ThreadButton(request.id, 0).pack()
        )
    )
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows)


def message_to(
    services: Services,
    telegram_id: int,
    kind: str,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> NewMessage:
    """One message to another user as the outbox queues it, with its buttons (if any)."""
    keyboard = None if markup is None else json.dumps(markup.to_dict(), ensure_ascii=False)
    return services.outbox.message(
        telegram_id, kind, text, at=services.clock.now(), markup=keyboard
    )


async def send_through_outbox(services: Services, messages: Sequence[NewMessage]) -> None:
    """Queue messages to other users and wake delivery: they go out at once, paced with
    everything else the bot sends, retried after flood control and across a restart (never
    dropped, as a direct send to someone who is not talking to the bot could be)."""
    await services.outbox.send_later(list(messages), now=services.clock.now())
    services.deliver_soon()


async def send_with_media(
    bot: LiaisonBot, chat_id: int, text: str, media: Media | None, **kwargs: Any
) -> None:
    """A text message, or a photo or document (by its file_id) with the text as its caption."""
    if media is None:
        await bot.send_text(chat_id, text, **kwargs)
    elif media.kind == "photo":
        await bot.send_photo(chat_id, media.file_id, caption=text, **kwargs)
    else:
        await bot.send_document(chat_id, media.file_id, caption=text, **kwargs)


def reply_button(request_id: int, texts: Translator) -> InlineKeyboardMarkup:
    """The button under a thread message that opens the answer to it."""
    data = RequestButton(request_id, REPLY).pack()
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts("requests.button.reply"), callback_data=data)]]
    )


def status_line(request: Request) -> Callable[[Translator], str]:
    """A headline saying what the request's status is now."""

    def headline(texts: Translator) -> str:
        return texts(
            "requests.now", number=request.number, status=texts(f"requests.status.{request.status}")
        )

    return headline


def attachment_of(message: Message) -> Attachment | None:
    """A photo (largest size) or a document of a message, with its caption."""
    caption = message.caption or ""
    if message.photo:
        return Attachment("photo", message.photo[-1].file_id, None, caption)
    if message.document is not None:
        return Attachment("document", message.document.file_id, message.document.file_name, caption)
    return None


# -- answering the user who acted ---------------------------------------------------------------


async def notify(update: Update, context: AppContext, text: str) -> None:
    """An alert on a button press, a message otherwise."""
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, text)


async def answer_query(update: Update) -> None:
    """Stop the button's spinner (every press is answered once)."""
    if update.callback_query is not None:
        await update.callback_query.answer()


async def send_here(
    update: Update, context: AppContext, text: str, markup: Markup | None = None
) -> None:
    """A new message in the chat the update came from (its answer is not parsed: nobody
    reads it)."""
    assert update.effective_chat is not None
    await context.bot.send_text(update.effective_chat.id, text, markup)
