"""Announcements once stored: the confirm, send, schedule and cancel buttons, /broadcasts,
and delivery through Telegram with one progress message.

Status changes are conditional updates, so a second press, or a second admin, cannot start
a broadcast twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
)

from bot.broadcasts import (
    Audience,
    AudienceKind,
    BroadcastStatus,
    PaidCost,
    Tally,
    render,
)
from bot.cities import city_name
from bot.delivery import Media
from bot.dispatch import official_label
from bot.i18n import Html, Translator
from handlers.access import refuse_stale
from handlers.callback_data import CallbackData
from handlers.cards import send_with_media
from handlers.context import AppContext
from handlers.errors import is_not_modified
from handlers.liaison_bot import LiaisonBot
from storage.broadcasts import Broadcast

LISTED = 10  # past broadcasts shown by /broadcasts


@dataclass(frozen=True, slots=True)
class BroadcastAction(CallbackData, prefix="bc"):
    broadcast_id: int
    action: str  # confirm, send, time, schedule, discard, cancel


async def on_action(update: Update, context: AppContext) -> None:
    """Confirm, send, schedule, discard or cancel; each acts at most once on the stored row."""
    query = update.callback_query
    assert query is not None
    texts = await context.texts(update)
    action = context.button(BroadcastAction)
    broadcast = await context.services.broadcasts.store.get(action.broadcast_id)
    handler = ACTIONS.get(action.action)
    if broadcast is None or handler is None:
        await refuse_stale(update, context)
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
    count = await context.services.broadcasts.store.count_audience(
        broadcast.audience, broadcast.scope
    )
    await message.edit_text(
        texts("broadcasts.confirm_now", count=counted(count, broadcast, texts))
        + cost_line(broadcast, count, texts),
        reply_markup=action_buttons(broadcast.id, texts, "send", "discard"),
    )


async def send_now(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> None:
    """Start sending; only the first press (of any admin) wins. A paid one the bot's Star
    balance does not cover is refused with the figures and stays a draft."""
    broadcaster = context.services.broadcasts
    if broadcast.status is BroadcastStatus.DRAFT and not await affordable(
        message, broadcast, context, texts
    ):
        return
    if not await broadcaster.begin(broadcast.id):
        await _show_state(message, broadcast, texts)
        return
    # Reserved before any await, so that a tick in between does not resume it as orphaned.
    ours = broadcaster.reserve(broadcast.id)
    await broadcaster.show_progress_in(broadcast.id, message.chat_id, message.message_id)
    await message.edit_text(texts("broadcasts.starting", id=broadcast.id))
    if ours:
        launch(context.application, broadcast.id)


async def schedule(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> None:
    """Schedule the draft for the time chosen; the tick starts it when due."""
    if broadcast.status is BroadcastStatus.DRAFT and not await affordable(
        message, broadcast, context, texts
    ):
        return
    if not await context.services.broadcasts.schedule(broadcast.id):
        await _show_state(message, broadcast, texts)
        return
    assert broadcast.scheduled_at is not None
    at = local_time(broadcast.scheduled_at, context)
    await message.edit_text(
        texts("broadcasts.scheduled", id=broadcast.id, at=at),
        reply_markup=action_buttons(broadcast.id, texts, "cancel"),
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


def cost_line(broadcast: Broadcast, count: int, texts: Translator) -> str:
    """For a paid broadcast, what it costs in Stars; nothing for a free one."""
    if not broadcast.paid:
        return ""
    cost = PaidCost(count)
    return "\n\n" + texts("broadcasts.paid_cost", count=count, stars=stars_text(cost.stars))


async def affordable(
    message: Message, broadcast: Broadcast, context: AppContext, texts: Translator
) -> bool:
    """A free broadcast, or a paid one the bot's Star balance covers (getMyStarBalance);
    otherwise the admin is told the cost and the balance, and nothing starts."""
    if not broadcast.paid:
        return True
    count = await context.services.broadcasts.store.count_audience(
        broadcast.audience, broadcast.scope
    )
    try:
        cost = PaidCost(count, balance=await star_balance(context.bot))
    except TelegramError as exc:
        await message.edit_text(
            texts("broadcasts.balance_unknown", error=exc.message),
            reply_markup=action_buttons(broadcast.id, texts, "discard"),
        )
        return False
    if cost.affordable:
        return True
    assert cost.balance is not None
    await message.edit_text(
        texts(
            "broadcasts.paid_refused",
            stars=stars_text(cost.stars),
            balance=stars_text(cost.balance),
        ),
        reply_markup=action_buttons(broadcast.id, texts, "confirm", "discard"),
    )
    return False


async def star_balance(bot: LiaisonBot) -> float:
    """The bot's Telegram Stars, nanostars included."""
    amount = await bot.get_my_star_balance()
    return amount.amount + (amount.nanostar_amount or 0) / 1e9


def stars_text(stars: float) -> str:
    return f"{stars:,.1f}"


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
    store = context.services.broadcasts.store
    lines = [
        await report_text(b, await store.tally(b.id), texts, context)
        for b in await store.recent(LISTED, context.actor.scope)
    ]
    await update.effective_message.reply_text(
        "\n\n".join(lines) if lines else texts("broadcasts.none_yet")
    )


def counted(count: int, broadcast: Broadcast, texts: Translator) -> Html:
    """The number of recipients, and for a city office's announcement whose they are
    ("12（仅大连市）")."""
    city = broadcast.scope.city
    if city is None:
        return Html(str(count))
    note = texts("offices.scope_note", office=city_name(city, texts.language))
    return Html(f"{count}{note}")


async def send_preview(bot: LiaisonBot, chat_id: int, broadcast: Broadcast, language: str) -> None:
    """The announcement exactly as its recipients will see it, to the admin composing it: text,
    or a photo or document with the text as caption."""
    media = None
    if broadcast.media_kind is not None:
        media = Media(broadcast.media_kind, broadcast.media_file_id or "")
    await send_with_media(bot, chat_id, render(broadcast.text_html, language), media)


class ProgressReporter:
    """One message to the admin, edited as the broadcast goes on, and the final report."""

    def __init__(self, context: AppContext, broadcast_id: int) -> None:
        self._context = context
        self._broadcast_id = broadcast_id
        self._texts: Translator | None = None
        self._last_shown = -float("inf")
        self._shown: str | None = None  # the digest of what the progress message shows

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
        await self._show(broadcast, text, action_buttons(broadcast.id, texts, "cancel"))

    async def finished(self, broadcast: Broadcast, tally: Tally) -> None:
        texts = await self._translator(broadcast)
        text = await report_text(broadcast, tally, texts, self._context)
        await self._show(broadcast, text, None)

    async def paused(self, broadcast: Broadcast, tally: Tally, resume_at: datetime) -> None:
        texts = await self._translator(broadcast)
        text = texts(
            "broadcasts.paused",
            id=broadcast.id,
            at=local_time(resume_at, self._context),
            remaining=tally.remaining,
        )
        await self._show(broadcast, text, action_buttons(broadcast.id, texts, "cancel"))

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
        one chat, so that the final report right after a progress update causes no 429. An
        edit to what the message already shows is not sent at all (Telegram would answer
        "message is not modified"): the digest of what it shows is kept with the broadcast,
        so this holds after a restart too, when a resumed broadcast's first report is the
        last one its previous process showed.
        """
        services = self._context.services
        store = services.broadcasts.store
        digest = shown_digest(text, markup)
        if digest == self._shown:
            return
        current = await store.get(broadcast.id) or broadcast
        has_message = current.progress_message_id is not None
        if has_message and await store.progress_shown(broadcast.id) == digest:
            self._shown = digest
            return
        loop = asyncio.get_running_loop()
        wait = self._last_shown + services.settings.broadcast.per_chat_interval_seconds
        await asyncio.sleep(max(0.0, wait - loop.time()))
        self._last_shown = loop.time()
        current = await store.get(broadcast.id) or broadcast
        bot = self._context.bot
        if current.progress_message_id is None or current.progress_chat_id is None:
            sent = await bot.send_message(broadcast.created_by, text, reply_markup=markup)
            await services.broadcasts.show_progress_in(broadcast.id, sent.chat_id, sent.message_id)
        else:
            try:
                await bot.edit_message_text(
                    text, current.progress_chat_id, current.progress_message_id, reply_markup=markup
                )
            except BadRequest as exc:
                if not is_not_modified(exc):
                    raise
                # It shows that already (an edit sent before a crash, or repeated after a
                # time-out): done, as if this edit had been made.
        await services.broadcasts.progress_shown_as(broadcast.id, digest)
        self._shown = digest


def shown_digest(text: str, markup: InlineKeyboardMarkup | None) -> str:
    """What a message shows, as a short digest: its text and its buttons."""
    buttons = "" if markup is None else markup.to_json()
    return hashlib.sha256(f"{text}\0{buttons}".encode()).hexdigest()[:32]


def launch(app: Application[Any, Any, Any, Any, Any, Any], broadcast_id: int) -> None:
    """Run a reserved broadcast in the background; normal updates keep being answered."""
    context = AppContext(app)
    services = context.services
    assert services.sender is not None, "the alarm gives the domain its sender at start"
    app.create_task(
        services.broadcasts.run(
            broadcast_id,
            services.sender,
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


async def describe_audience(audience: Audience, texts: Translator, context: AppContext) -> str:
    """The audience as the admin reads it: its kind and, by name in the reader's language,
    its city, stage, category or official (an industry is its own name)."""
    label = texts(f"broadcasts.audience.{audience.kind}")
    if not audience.value:
        return label
    return f"{label}: {await audience_value_name(audience, texts, context)}"


async def audience_value_name(audience: Audience, texts: Translator, context: AppContext) -> str:
    value = audience.value or ""
    if audience.kind is AudienceKind.CITY:
        return city_name(value, texts.language)
    if audience.kind is AudienceKind.STAGE:
        return texts(f"stage.{value}")
    if audience.kind is AudienceKind.CATEGORY:
        return texts(f"broadcasts.category.{value}")
    if audience.kind is AudienceKind.PORTFOLIO and value.isdigit():
        official = await context.services.officials.get(int(value))
        if official is not None:
            return official_label(official, texts)
    return value


async def report_text(
    broadcast: Broadcast, tally: Tally, texts: Translator, context: AppContext
) -> str:
    started = local_time(broadcast.started_at, context) if broadcast.started_at else "-"
    finished = local_time(broadcast.finished_at, context) if broadcast.finished_at else "-"
    return texts(
        "broadcasts.report",
        id=broadcast.id,
        status=texts(f"broadcasts.status.{broadcast.status}"),
        audience=await describe_audience(broadcast.audience, texts, context),
        total=tally.total,
        sent=tally.sent,
        failed=tally.failed,
        unreachable=tally.unreachable,
        unsent=tally.remaining,
        started=started,
        finished=finished,
    )


def local_time(moment: datetime, context: AppContext) -> str:
    return f"{moment.astimezone(context.services.settings.locale.tz):%Y-%m-%d %H:%M}"


def _duration(seconds: float, texts: Translator) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return (
        texts("broadcasts.eta_minutes", minutes=minutes, seconds=secs)
        if minutes
        else texts("broadcasts.eta_seconds", seconds=secs)
    )


def action_buttons(broadcast_id: int, texts: Translator, *actions: str) -> InlineKeyboardMarkup:
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


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CallbackQueryHandler(on_action, pattern=BroadcastAction.pattern()),
    CommandHandler("broadcasts", list_broadcasts),
]
