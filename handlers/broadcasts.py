"""/broadcast: compose an announcement, choose its audience, preview, confirm, watch it go out.

The conversation only collects the text and the audience; from the preview on, every button
acts on the broadcast row in the database (status changes are conditional updates, so a
second press, or a second admin, cannot start it twice).
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastStatus,
    DeliveryFailed,
    Outgoing,
    RateLimited,
    RecipientGone,
    Tally,
    fits,
    render,
)
from bot.config import CATEGORIES
from bot.i18n import Translator
from bot.roles import Actor
from handlers.callback_data import BadCallback, CallbackData
from handlers.context import AppContext
from handlers.menu import menu_pattern
from handlers.ratelimit import CALLER_HANDLES_RETRY_AFTER
from storage.broadcasts import Broadcast
from storage.models import Stage

log = logging.getLogger(__name__)

COMPOSE, AUDIENCE, VALUE, TIME = range(4)
DRAFT = "broadcast"  # user_data key of the announcement being composed
MAX_CHOICES = 40  # buttons offered for a city, an industry or an official
LISTED = 10  # past broadcasts shown by /broadcasts


@dataclass(frozen=True, slots=True)
class AudienceChoice(CallbackData, prefix="bca"):
    kind: AudienceKind


@dataclass(frozen=True, slots=True)
class ValueChoice(CallbackData, prefix="bcv"):
    index: int


@dataclass(frozen=True, slots=True)
class BroadcastAction(CallbackData, prefix="bc"):
    broadcast_id: int
    action: str  # confirm, send, time, schedule, discard, cancel


# --- Composing -----------------------------------------------------------------------------


async def ask_text(update: Update, context: AppContext) -> int:
    """Ask the admin for the announcement (text, or a photo or file with a caption)."""
    texts = await context.texts(update)
    if not await _is_admin(update, context):
        return ConversationHandler.END
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, texts("broadcasts.ask_text"))
    return COMPOSE


async def take_text(update: Update, context: AppContext) -> int:
    """Keep the announcement exactly as formatted and offer the audiences."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    texts = await context.texts(update)
    draft = _draft_of(message)
    if not draft["text_html"].strip():
        await message.reply_text(texts("broadcasts.empty"))
        return COMPOSE
    if not fits(draft["text_html"], with_media=draft["media_kind"] is not None):
        await message.reply_text(texts("broadcasts.too_long"))
        return COMPOSE
    context.user_data[DRAFT] = draft
    await message.reply_text(texts("broadcasts.ask_audience"), reply_markup=_kinds(texts))
    return AUDIENCE


async def choose_kind(update: Update, context: AppContext) -> int:
    """An audience that needs no value goes to the preview; others offer their values."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    await query.answer()
    texts = await context.texts(update)
    kind = AudienceChoice.parse(query.data).kind
    if not kind.needs_value:
        return await _preview(update, context, Audience(kind))
    choices = await _choices(context, kind, texts)
    if not choices:
        await query.edit_message_text(texts("broadcasts.no_choices"), reply_markup=_kinds(texts))
        return AUDIENCE
    context.user_data["choices"] = (kind, [value for value, _ in choices])
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
    assert query is not None and query.data is not None and context.user_data is not None
    await query.answer()
    kind, values = context.user_data.get("choices", (None, []))
    index = ValueChoice.parse(query.data).index
    if kind is None or not 0 <= index < len(values):
        return AUDIENCE
    return await _preview(update, context, Audience(kind, values[index]))


async def _preview(update: Update, context: AppContext, audience: Audience) -> int:
    """Store the draft, show it exactly as recipients will see it, and the recipient count."""
    assert context.user_data is not None and update.effective_user is not None
    draft = context.user_data.pop(DRAFT, None)
    texts = await context.texts(update)
    if draft is None:
        return ConversationHandler.END
    store = context.services.broadcasts.store
    broadcast = await store.create(
        created_by=update.effective_user.id,
        audience=audience,
        now=context.services.clock.now(),
        **draft,
    )
    chat_id = update.effective_user.id
    await send_announcement(
        context.bot,
        Outgoing(
            chat_id,
            render(broadcast.text_html, texts.language),
            broadcast.media_kind,
            broadcast.media_file_id,
        ),
    )
    count = await store.count_audience(audience)
    await context.bot.send_message(
        chat_id,
        texts("broadcasts.preview", audience=describe_audience(audience, texts), count=count),
        reply_markup=_actions(broadcast.id, texts, "confirm", "time", "discard"),
    )
    return ConversationHandler.END


async def ask_time(update: Update, context: AppContext) -> int:
    """Ask when to send: HH:MM today (or tomorrow once past) or YYYY-MM-DD HH:MM."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    await query.answer()
    texts = await context.texts(update)
    if not await _is_admin(update, context):
        return ConversationHandler.END
    context.user_data["schedule"] = BroadcastAction.parse(query.data).broadcast_id
    await query.edit_message_reply_markup(None)
    await context.bot.send_message(query.from_user.id, texts("broadcasts.ask_time"))
    return TIME


async def take_time(update: Update, context: AppContext) -> int:
    """Remember the time on the draft and ask for the second confirmation."""
    message = update.effective_message
    assert message is not None and message.text is not None and context.user_data is not None
    texts = await context.texts(update)
    services = context.services
    at = parse_time(message.text, services.clock.now(), services.settings.locale.tz)
    if at is None or at <= services.clock.now():
        await message.reply_text(texts("broadcasts.bad_time"))
        return TIME
    broadcast_id = context.user_data.pop("schedule", 0)
    await services.broadcasts.store.set_schedule(broadcast_id, at)
    broadcast = await services.broadcasts.store.get(broadcast_id)
    if broadcast is None or broadcast.status is not BroadcastStatus.DRAFT:
        await message.reply_text(texts("common.stale_button"))
        return ConversationHandler.END
    await message.reply_text(
        texts(
            "broadcasts.confirm_schedule",
            at=_local(at, context),
            count=await services.broadcasts.store.count_audience(broadcast.audience),
        ),
        reply_markup=_actions(broadcast_id, texts, "schedule", "discard"),
    )
    return ConversationHandler.END


async def stop_composing(update: Update, context: AppContext) -> int:
    """Leave the composer; nothing was stored."""
    assert update.effective_message is not None and context.user_data is not None
    context.user_data.pop(DRAFT, None)
    texts = await context.texts(update)
    await update.effective_message.reply_text(texts("common.cancelled"))
    return ConversationHandler.END


# --- Buttons on a stored broadcast --------------------------------------------------------------


async def on_action(update: Update, context: AppContext) -> None:
    """Confirm, send, schedule, discard or cancel; each acts at most once on the stored row."""
    query = update.callback_query
    assert query is not None and query.data is not None
    texts = await context.texts(update)
    try:
        action = BroadcastAction.parse(query.data)
    except BadCallback:
        log.warning("forged broadcast button from user %s", query.from_user.id)
        await query.answer(texts("common.stale_button"), show_alert=True)
        return
    if not await _is_admin(update, context):
        return
    broadcast = await context.services.broadcasts.store.get(action.broadcast_id)
    if broadcast is None:
        await query.answer(texts("common.stale_button"), show_alert=True)
        return
    handler = ACTIONS.get(action.action)
    if handler is None:
        await query.answer(texts("common.stale_button"), show_alert=True)
        return
    await handler(query.message, broadcast, context, texts)  # type: ignore[arg-type]
    await query.answer()


async def confirm(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> None:
    """The second confirmation before sending now."""
    if broadcast.status is not BroadcastStatus.DRAFT:
        await _show_state(message, broadcast, texts)
        return
    count = await context.services.broadcasts.store.count_audience(broadcast.audience)
    await message.edit_text(
        texts("broadcasts.confirm_now", count=count),
        reply_markup=_actions(broadcast.id, texts, "send", "discard"),
    )


async def send_now(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> None:
    """Start sending; only the first press (of any admin) wins."""
    broadcaster = context.services.broadcasts
    if not await broadcaster.store.begin(broadcast.id, now=context.services.clock.now()):
        await _show_state(message, broadcast, texts)
        return
    await broadcaster.store.set_progress_message(broadcast.id, message.chat_id, message.message_id)
    await message.edit_text(texts("broadcasts.starting", id=broadcast.id))
    if broadcaster.reserve(broadcast.id):
        launch(context.application, broadcast.id)


async def schedule(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> None:
    """Schedule the draft for the time chosen; the tick starts it when due."""
    if not await context.services.broadcasts.store.schedule(broadcast.id):
        await _show_state(message, broadcast, texts)
        return
    assert broadcast.scheduled_at is not None
    await message.edit_text(
        texts("broadcasts.scheduled", id=broadcast.id, at=_local(broadcast.scheduled_at, context)),
        reply_markup=_actions(broadcast.id, texts, "cancel"),
    )


async def cancel(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> None:
    """Discard a draft, unschedule, or stop sending within a second."""
    if not await context.services.broadcasts.cancel(broadcast.id):
        await _show_state(message, broadcast, texts)
        return
    if broadcast.status is not BroadcastStatus.SENDING:
        await message.edit_text(texts("broadcasts.discarded", id=broadcast.id))


ACTIONS = {
    "confirm": confirm,
    "send": send_now,
    "schedule": schedule,
    "discard": cancel,
    "cancel": cancel,
}


async def list_broadcasts(update: Update, context: AppContext) -> None:
    """The latest announcements with their reports."""
    assert update.effective_message is not None
    texts = await context.texts(update)
    if not await _is_admin(update, context):
        return
    store = context.services.broadcasts.store
    lines = [
        report_text(b, await store.tally(b.id), texts, context) for b in await store.recent(LISTED)
    ]
    await update.effective_message.reply_text(
        "\n\n".join(lines) if lines else texts("broadcasts.none_yet")
    )


# --- Delivery through Telegram --------------------------------------------------------------


class TelegramSender:
    """Sends one announcement; Telegram's errors become the domain's."""

    def __init__(self, bot: ExtBot[None]) -> None:
        self._bot = bot

    async def send(self, message: Outgoing) -> None:
        try:
            await send_announcement(self._bot, message, rate_limit_args=CALLER_HANDLES_RETRY_AFTER)
        except RetryAfter as exc:
            raise RateLimited(_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise RecipientGone(exc.message) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise RecipientGone(exc.message) from exc
            raise DeliveryFailed(exc.message) from exc
        except TelegramError as exc:
            raise DeliveryFailed(exc.message) from exc


async def send_announcement(bot: ExtBot[None], message: Outgoing, **kwargs: Any) -> None:
    """The announcement as one message: text, or a photo or document with the text as caption."""
    if message.media_kind == "photo":
        await bot.send_photo(
            message.chat_id, message.media_file_id or "", caption=message.text_html, **kwargs
        )
    elif message.media_kind == "document":
        await bot.send_document(
            message.chat_id, message.media_file_id or "", caption=message.text_html, **kwargs
        )
    else:
        await bot.send_message(message.chat_id, message.text_html, **kwargs)


class ProgressReporter:
    """One message to the admin, edited as the broadcast goes on, and the final report."""

    def __init__(self, context: AppContext, broadcast_id: int) -> None:
        self._context = context
        self._broadcast_id = broadcast_id
        self._texts: Translator | None = None
        self._last_shown = -float("inf")

    async def progress(self, broadcast: Broadcast, tally: Tally, eta_seconds: float) -> None:
        texts = await self._translator(broadcast)
        text = texts(
            "broadcasts.progress",
            id=broadcast.id,
            sent=tally.sent,
            failed=tally.failed,
            unreachable=tally.unreachable,
            remaining=tally.remaining,
            eta=_duration(eta_seconds, texts),
        )
        await self._show(broadcast, text, _actions(broadcast.id, texts, "cancel"))

    async def finished(self, broadcast: Broadcast, tally: Tally) -> None:
        texts = await self._translator(broadcast)
        await self._show(broadcast, report_text(broadcast, tally, texts, self._context), None)

    async def paused(self, broadcast: Broadcast, tally: Tally, resume_at: datetime) -> None:
        texts = await self._translator(broadcast)
        text = texts(
            "broadcasts.paused",
            id=broadcast.id,
            at=_local(resume_at, self._context),
            remaining=tally.remaining,
        )
        await self._show(broadcast, text, _actions(broadcast.id, texts, "cancel"))

    async def _translator(self, broadcast: Broadcast) -> Translator:
        if self._texts is None:
            accounts = self._context.services.accounts
            self._texts = Translator(await accounts.language_of(broadcast.created_by))
        return self._texts

    async def _show(
        self, broadcast: Broadcast, text: str, markup: InlineKeyboardMarkup | None
    ) -> None:
        """Edit the progress message, or send it first if this broadcast has none yet.

        Never more often than once per ``per_chat_interval_seconds``, Telegram's pace for
        one chat, so that the final report right after a progress update causes no 429.
        """
        services = self._context.services
        loop = asyncio.get_running_loop()
        wait = self._last_shown + services.settings.broadcast.per_chat_interval_seconds
        await asyncio.sleep(max(0.0, wait - loop.time()))
        self._last_shown = loop.time()
        store = services.broadcasts.store
        current = await store.get(broadcast.id) or broadcast
        bot = self._context.bot
        if current.progress_message_id is None or current.progress_chat_id is None:
            sent = await bot.send_message(broadcast.created_by, text, reply_markup=markup)
            await store.set_progress_message(broadcast.id, sent.chat_id, sent.message_id)
            return
        try:
            await bot.edit_message_text(
                text, current.progress_chat_id, current.progress_message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise


def launch(app: Application[Any, Any, Any, Any, Any, Any], broadcast_id: int) -> None:
    """Run a reserved broadcast in the background; normal updates keep being answered."""
    context = AppContext(app)
    services = context.services
    app.create_task(
        services.broadcasts.run(
            broadcast_id,
            TelegramSender(app.bot),
            ProgressReporter(context, broadcast_id),
            keep_going=lambda: app.running,
        ),
        name=f"broadcast-{broadcast_id}",
    )


async def tick(context: AppContext) -> None:
    """The alarm clock: resume what an earlier run left half-sent, start what is due."""
    broadcaster = context.services.broadcasts
    for broadcast_id in [*await broadcaster.to_resume(), *await broadcaster.due()]:
        launch(context.application, broadcast_id)


def schedule_ticks(app: Application[Any, Any, Any, Any, Any, Any], interval: float) -> None:
    assert app.job_queue is not None
    app.job_queue.run_repeating(tick, interval=interval, first=0, name="broadcasts")


# --- Rendering -------------------------------------------------------------------------------


def describe_audience(audience: Audience, texts: Translator) -> str:
    label = texts(f"broadcasts.audience.{audience.kind}")
    if audience.kind is AudienceKind.STAGE:
        return f"{label}: {texts(f'broadcasts.stage.{audience.value}')}"
    if audience.kind is AudienceKind.CATEGORY:
        return f"{label}: {texts(f'broadcasts.category.{audience.value}')}"
    return f"{label}: {audience.value}" if audience.value else label


def report_text(broadcast: Broadcast, tally: Tally, texts: Translator, context: AppContext) -> str:
    started = _local(broadcast.started_at, context) if broadcast.started_at else "-"
    finished = _local(broadcast.finished_at, context) if broadcast.finished_at else "-"
    return texts(
        "broadcasts.report",
        id=broadcast.id,
        status=texts(f"broadcasts.status.{broadcast.status}"),
        audience=describe_audience(broadcast.audience, texts),
        total=tally.total,
        sent=tally.sent,
        failed=tally.failed,
        unreachable=tally.unreachable,
        unsent=tally.remaining,
        started=started,
        finished=finished,
    )


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


def _local(moment: datetime, context: AppContext) -> str:
    return f"{moment.astimezone(context.services.settings.locale.tz):%Y-%m-%d %H:%M}"


def _duration(seconds: float, texts: Translator) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return (
        texts("broadcasts.eta_minutes", minutes=minutes, seconds=secs)
        if minutes
        else texts("broadcasts.eta_seconds", seconds=secs)
    )


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


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
        return [(s.value, texts(f"broadcasts.stage.{s.value}")) for s in Stage]
    if kind is AudienceKind.CATEGORY:
        return [(c, texts(f"broadcasts.category.{c}")) for c in CATEGORIES]
    return (await context.services.broadcasts.store.choices(kind))[:MAX_CHOICES]


def _kinds(texts: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            texts(f"broadcasts.audience.{k}"), callback_data=AudienceChoice(k).pack()
        )
        for k in AudienceKind
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def _actions(broadcast_id: int, texts: Translator, *actions: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts(f"broadcasts.button.{a}"),
                    callback_data=BroadcastAction(broadcast_id, a).pack(),
                )
                for a in actions
            ]
        ]
    )


async def _show_state(message: Message, broadcast: Broadcast, texts: Translator) -> None:
    """A stale button: say what the broadcast's state is now."""
    current = broadcast.status
    await message.reply_text(
        texts("broadcasts.already", id=broadcast.id, status=texts(f"broadcasts.status.{current}"))
    )


async def _is_admin(update: Update, context: AppContext) -> bool:
    actor: Actor = await context.actor(update)
    if actor.is_admin:
        return True
    texts = await context.texts(update)
    if update.callback_query is not None:
        await update.callback_query.answer(texts("common.not_allowed"), show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(texts("common.not_allowed"))
    return False


def _composer() -> ConversationHandler[Any]:
    # per_message=False on purpose: one composer per admin in their private chat; the
    # buttons it tracks are the ones it just sent. PTB warns about that choice; we made it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[
                CommandHandler("broadcast", ask_text),
                CallbackQueryHandler(ask_text, pattern=menu_pattern("broadcast")),
                CallbackQueryHandler(ask_time, pattern=r"^bc:\d+:time$"),
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
            allow_reentry=True,
            name="broadcast",
        )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Fresh per Application: the composer keeps who is where in memory."""
    return [
        _composer(),
        CallbackQueryHandler(on_action, pattern=BroadcastAction.pattern()),
        CommandHandler("broadcasts", list_broadcasts),
    ]
