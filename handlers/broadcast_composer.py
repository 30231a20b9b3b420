"""/broadcast: compose an announcement, choose its audience, see the exact preview.

The conversation only collects the text, the audience and a time; from the preview on, every
button acts on the broadcast row in the database (see handlers/broadcasts.py). What it has
collected is kept in the dialogues store (bot/dialogues.py), so that a restart takes the
composer up at its step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastStatus,
    fits,
)
from bot.cities import BY_CODE, CITIES
from bot.config import CATEGORIES
from bot.i18n import Translator
from handlers import dialogue_state
from handlers.broadcasts import (
    BroadcastAction,
    action_buttons,
    cost_line,
    counted,
    describe_audience,
    local_time,
    send_preview,
)
from handlers.callback_data import CallbackData
from handlers.context import AppContext, BotData
from handlers.dialogue_state import BROADCAST
from handlers.journeys import Conversation
from handlers.menu import menu_pattern
from handlers.stored_dialogue import stored_conversation
from storage.models import Stage
from storage.scope import PROVINCE

COMPOSE, AUDIENCE, VALUE, TIME = range(4)
# Keys of the stored state: the announcement being composed, the audience kind and the values
# offered for it, the broadcast being scheduled.
DRAFT, CHOICES, SCHEDULE = "draft", "choices", "schedule"
MAX_CHOICES = 40  # buttons offered for a city, an industry or an official


@dataclass(frozen=True, slots=True)
class AudienceChoice(CallbackData, prefix="bca"):
    kind: AudienceKind


@dataclass(frozen=True, slots=True)
class ValueChoice(CallbackData, prefix="bcv"):
    index: int


def step(state: Mapping[str, Any]) -> int:
    """Where a stored composer stands."""
    if SCHEDULE in state:
        return TIME
    if CHOICES in state:
        return VALUE
    return AUDIENCE if DRAFT in state else COMPOSE


async def ask_text(update: Update, context: AppContext) -> int:
    """Ask the admin for the announcement (text, or a photo or file with a caption)."""
    texts = await context.texts(update)
    await dialogue_state.begin(update, context, BROADCAST, texts("broadcasts.ask_text"))
    return COMPOSE


async def take_text(update: Update, context: AppContext) -> int:
    """Keep the announcement exactly as formatted and offer the audiences."""
    message = update.effective_message
    assert message is not None
    texts = await context.texts(update)
    draft = _draft_of(message)
    if not draft["text_html"].strip():
        await message.reply_text(texts("broadcasts.empty"))
        return COMPOSE
    if not fits(draft["text_html"], with_media=draft["media_kind"] is not None):
        await message.reply_text(texts("broadcasts.too_long"))
        return COMPOSE
    await dialogue_state.advance(update, context, **{DRAFT: draft})
    await message.reply_text(texts("broadcasts.ask_audience"), reply_markup=_kinds(texts))
    return AUDIENCE


async def choose_kind(update: Update, context: AppContext) -> int:
    """An audience that needs no value goes to the preview; others offer their values."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    texts = await context.texts(update)
    kind = context.button(AudienceChoice).kind
    if not kind.needs_value:
        return await _preview(update, context, Audience(kind))
    choices = await _choices(context, kind, texts)
    if not choices:
        await query.edit_message_text(texts("broadcasts.no_choices"), reply_markup=_kinds(texts))
        return AUDIENCE
    await dialogue_state.advance(update, context, **{CHOICES: [kind, [v for v, _ in choices]]})
    buttons = [
        [InlineKeyboardButton(label, callback_data=ValueChoice(i).pack())]
        for i, (_, label) in enumerate(choices)
    ]
    await query.edit_message_text(
        texts(f"broadcasts.ask_{kind}"), reply_markup=InlineKeyboardMarkup(buttons)
    )
    return VALUE


async def choose_value(update: Update, context: AppContext) -> int:
    """The city, stage, industry, category or official chosen: show the preview."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    kind, values = dialogue_state.state(update, context).get(CHOICES, (None, []))
    index = context.button(ValueChoice).index
    if kind is None or not 0 <= index < len(values):
        return AUDIENCE
    return await _preview(update, context, Audience(AudienceKind(kind), values[index]))


async def _preview(update: Update, context: AppContext, audience: Audience) -> int:
    """Store the draft, show it exactly as recipients will see it, and the recipient count."""
    assert update.effective_user is not None
    draft = dialogue_state.state(update, context).get(DRAFT)
    await dialogue_state.forget(update, context)
    texts = await context.texts(update)
    if draft is None:
        return ConversationHandler.END
    store = context.services.broadcasts.store
    broadcast = await context.services.broadcasts.create(
        created_by=update.effective_user.id,
        office=context.actor.office or PROVINCE,
        audience=audience,
        paid=context.services.settings.broadcast.paid,
        **draft,
    )
    chat_id = update.effective_user.id
    await send_preview(context.bot, chat_id, broadcast, texts.language)
    count = await store.count_audience(audience, broadcast.scope)
    await context.bot.send_message(
        chat_id,
        texts(
            "broadcasts.preview",
            audience=await describe_audience(audience, texts, context),
            count=counted(count, broadcast, texts),
        )
        + cost_line(broadcast, count, texts),
        reply_markup=action_buttons(broadcast.id, texts, "confirm", "time", "discard"),
    )
    return ConversationHandler.END


async def ask_time(update: Update, context: AppContext) -> int:
    """Ask when to send: HH:MM today (or tomorrow once past) or YYYY-MM-DD HH:MM."""
    query = update.callback_query
    assert query is not None
    texts = await context.texts(update)
    await query.answer()
    broadcast_id = context.button(BroadcastAction).broadcast_id
    await dialogue_state.enter(update, context, BROADCAST, **{SCHEDULE: broadcast_id})
    await query.edit_message_reply_markup(None)
    await context.bot.send_message(query.from_user.id, texts("broadcasts.ask_time"))
    return TIME


async def take_time(update: Update, context: AppContext) -> int:
    """Remember the time on the draft and ask for the second confirmation."""
    message = update.effective_message
    assert message is not None and message.text is not None
    texts = await context.texts(update)
    services = context.services
    at = parse_time(message.text, services.clock.now(), services.settings.locale.tz)
    if at is None or at <= services.clock.now():
        await message.reply_text(texts("broadcasts.bad_time"))
        return TIME
    broadcast_id = dialogue_state.state(update, context).get(SCHEDULE, 0)
    await dialogue_state.forget(update, context)
    await services.broadcasts.set_schedule(broadcast_id, at)
    broadcast = await services.broadcasts.store.get(broadcast_id)
    if broadcast is None or broadcast.status is not BroadcastStatus.DRAFT:
        await message.reply_text(texts("common.stale_button"))
        return ConversationHandler.END
    count = await services.broadcasts.store.count_audience(broadcast.audience, broadcast.scope)
    await message.reply_text(
        texts(
            "broadcasts.confirm_schedule",
            at=local_time(at, context),
            count=counted(count, broadcast, texts),
        )
        + cost_line(broadcast, count, texts),
        reply_markup=action_buttons(broadcast_id, texts, "schedule", "discard"),
    )
    return ConversationHandler.END


async def stop_composing(update: Update, context: AppContext) -> int:
    """Leave the composer; nothing was stored."""
    assert update.effective_message is not None
    await dialogue_state.forget(update, context)
    texts = await context.texts(update)
    await update.effective_message.reply_text(texts("common.cancelled"))
    return ConversationHandler.END


_TIME = re.compile(r"^\s*(?:(\d{4})-(\d{1,2})-(\d{1,2})\s+)?(\d{1,2}):(\d{2})\s*$")


def parse_time(text: str, now: datetime, tz: Any) -> datetime | None:
    """HH:MM (today, or tomorrow if already past) or YYYY-MM-DD HH:MM, in the local zone."""
    match = _TIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = match.groups()
    local_now = now.astimezone(tz)
    try:
        if year is None:
            at = local_now.replace(hour=int(hour), minute=int(minute), second=0, microsecond=0)
            return at if at > local_now else at + timedelta(days=1)
        return datetime(int(year), int(month), int(day), int(hour), int(minute), tzinfo=tz)
    except ValueError:
        return None


def _draft_of(message: Message) -> dict[str, Any]:
    if message.photo:
        return {
            "text_html": message.caption_html or "",
            "media_kind": "photo",
            "media_file_id": message.photo[-1].file_id,
        }
    if message.document is not None:
        return {
            "text_html": message.caption_html or "",
            "media_kind": "document",
            "media_file_id": message.document.file_id,
        }
    return {"text_html": message.text_html or "", "media_kind": None, "media_file_id": None}


async def _choices(
    context: AppContext, kind: AudienceKind, texts: Translator
) -> list[tuple[str, str]]:
    if kind is AudienceKind.STAGE:
        return [(s.value, texts(f"stage.{s.value}")) for s in Stage]
    if kind is AudienceKind.CATEGORY:
        return [(c, texts(f"broadcasts.category.{c}")) for c in CATEGORIES]
    choices = await context.services.broadcasts.store.choices(kind, context.actor.scope)
    if kind is AudienceKind.CITY:
        # By name in the reader's language, in the province's order (沈阳 first, 沈抚 last).
        present = {value for value, _ in choices}
        choices = [(c.code, c.name(texts.language)) for c in CITIES if c.code in present]
        choices += [(value, value) for value in sorted(present - BY_CODE.keys())]
    return choices[:MAX_CHOICES]


def _kinds(texts: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            texts(f"broadcasts.audience.{k}"), callback_data=AudienceChoice(k).pack()
        )
        for k in AudienceKind
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _composer(bot_data: BotData) -> Conversation:
    # One composer per admin in their private chat; the buttons it tracks are the ones it
    # just sent.
    return stored_conversation(
        bot_data,
        name="broadcast",
        entry_points=[
            CommandHandler("broadcast", ask_text),
            CallbackQueryHandler(ask_text, pattern=menu_pattern("broadcast")),
            CallbackQueryHandler(ask_time, pattern=rf"^{BroadcastAction.prefix}:\d+:time$"),
        ],
        states={
            COMPOSE: [
                MessageHandler(
                    (filters.TEXT & ~filters.COMMAND) | filters.PHOTO | filters.Document.ALL,
                    take_text,
                )
            ],
            AUDIENCE: [CallbackQueryHandler(choose_kind, pattern=AudienceChoice.pattern())],
            VALUE: [CallbackQueryHandler(choose_value, pattern=ValueChoice.pattern())],
            TIME: [MessageHandler(filters.TEXT & ~filters.COMMAND, take_time)],
        },
        fallbacks=[CommandHandler("cancel", stop_composing)],
        steps={BROADCAST: step},
        expired={BROADCAST: "broadcasts.expired"},
    )


def handlers(bot_data: BotData) -> list[BaseHandler[Any, Any, Any]]:
    """Fresh per Application: the composer keeps who is where in memory, and what it has
    collected in the dialogues store."""
    return [_composer(bot_data)]
