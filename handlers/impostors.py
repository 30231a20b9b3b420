"""Reporting an impostor: a short conversation, alerts, and the admins' portfolio warning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot.i18n import Translator
from bot.impostors import Claim
from bot.services import Services
from bot.verification import IMPOSTOR_KIND
from handlers import dialogue_state
from handlers.access import refuse_stale
from handlers.callback_data import CallbackData
from handlers.cards import message_to, send_through_outbox
from handlers.common import cancel
from handlers.context import AppContext, BotData
from handlers.dialogue_state import REPORT
from handlers.journeys import Conversation
from handlers.menu import menu_pattern
from handlers.stored_dialogue import stored_conversation
from handlers.verification import notify
from storage.outbox import NewMessage
from storage.verification import Report

CLAIMED, CHANNEL, CONTACT, ASKED, DETAILS = range(5)
CHANNELS = ("phone", "wechat", "visit", "telegram", "other")
ASKED_FOR = ("money", "personal_data", "link", "other")
MAX_TEXT = 500


@dataclass(frozen=True, slots=True)
class ReportStep(CallbackData, prefix="rpt"):
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class WarnPortfolio(CallbackData, prefix="warn"):
    report_id: int
    confirmed: bool


def _buttons(texts: Translator, field: str, values: tuple[str, ...]) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton(
            texts(f"report.{field}_{v}"), callback_data=ReportStep(field, v).pack()
        )
        for v in values
    ]
    return InlineKeyboardMarkup([row[i : i + 2] for i in range(0, len(row), 2)])


def step(state: Mapping[str, Any]) -> int:
    """Where a stored report stands (bot/dialogues.py keeps it): the first thing it lacks."""
    for field, at in (("name", CLAIMED), ("channel", CHANNEL), ("contact", CONTACT)):
        if field not in state:
            return at
    return ASKED if "asked" not in state else DETAILS


async def ask_claimed(update: Update, context: AppContext) -> int:
    """Ask who the impostor claimed to be: pick an official or type a name."""
    actor = context.actor
    texts = await context.texts(update)
    rows = []
    for enterprise in actor.enterprises:
        official = await context.services.officials.designated_for(enterprise.id)
        if official is not None:
            data = ReportStep("official", str(official.id)).pack()
            rows.append([InlineKeyboardButton(official.name, callback_data=data)])
    # No designated official to offer (an enterprise nobody holds yet): the name is typed.
    markup = InlineKeyboardMarkup(rows) if rows else None
    await dialogue_state.begin(update, context, REPORT, texts("report.ask_claimed"), markup)
    return CLAIMED


async def claimed_official(update: Update, context: AppContext) -> int:
    """Take a picked official and ask for the channel."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    texts = await context.texts(update)
    step = context.button(ReportStep)
    try:
        official = await context.services.officials.get(int(step.value))
    except ValueError:
        return CLAIMED
    if official is None:
        return CLAIMED
    await dialogue_state.advance(update, context, official_id=official.id, name=official.name)
    await query.edit_message_text(
        texts("report.ask_channel"), reply_markup=_buttons(texts, "channel", CHANNELS)
    )
    return CHANNEL


async def claimed_name(update: Update, context: AppContext) -> int:
    """Take a typed name and ask for the channel."""
    message = update.effective_message
    assert message is not None and message.text is not None
    texts = await context.texts(update)
    await dialogue_state.advance(update, context, official_id=None, name=message.text.strip()[:100])
    await message.reply_text(
        texts("report.ask_channel"), reply_markup=_buttons(texts, "channel", CHANNELS)
    )
    return CHANNEL


async def _picked(
    update: Update, context: AppContext, field: str, allowed: tuple[str, ...]
) -> str | None:
    """The value of a pressed report button for ``field``, or None if it is not one of ours."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    step = context.button(ReportStep)
    if step.field != field or step.value not in allowed:
        return None
    return step.value


async def channel(update: Update, context: AppContext) -> int:
    """Take the channel and ask for the number or account."""
    value = await _picked(update, context, "channel", CHANNELS)
    if value is None:
        return CHANNEL
    await dialogue_state.advance(update, context, channel=value)
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(
        (await context.texts(update))("report.ask_contact")
    )
    return CONTACT


async def contact(update: Update, context: AppContext) -> int:
    """Take the number or account they used and ask what they asked for."""
    message = update.effective_message
    assert message is not None and message.text is not None
    texts = await context.texts(update)
    await dialogue_state.advance(update, context, contact=message.text.strip()[:100])
    await message.reply_text(
        texts("report.ask_asked"), reply_markup=_buttons(texts, "asked", ASKED_FOR)
    )
    return ASKED


async def asked(update: Update, context: AppContext) -> int:
    """Take what they asked for and ask for details."""
    value = await _picked(update, context, "asked", ASKED_FOR)
    if value is None:
        return ASKED
    await dialogue_state.advance(update, context, asked=value)
    assert update.callback_query is not None
    await update.callback_query.edit_message_text(
        (await context.texts(update))("report.ask_details")
    )
    return DETAILS


async def details(update: Update, context: AppContext) -> int:
    """Store the report, then tell the user, the admins and the impersonated official."""
    message = update.effective_message
    assert message is not None and message.text is not None
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    draft = dialogue_state.state(update, context)
    text = "" if message.text.strip() == "/skip" else message.text.strip()[:MAX_TEXT]
    claim = Claim(
        enterprise_id=actor.enterprises[0].id if actor.enterprises else None,
        claimed_official_id=draft.get("official_id"),
        claimed_name=draft.get("name", ""),
        channel=draft.get("channel", ""),
        contact=draft.get("contact", ""),
        asked_for=draft.get("asked", "other"),
        details=text,
    )
    report = await services.impostors.report(actor.telegram_id, claim)
    await dialogue_state.forget(update, context)
    await message.reply_text(texts("report.received"))
    await _alert(context, report.id)
    return ConversationHandler.END


async def _alert(context: AppContext, report_id: int) -> None:
    """Alert every admin (with the warning button) and the impersonated official, each in
    their own language."""
    services = context.services
    report = await services.verification.report(report_id)
    assert report is not None
    enterprise = (
        await services.enterprises.get(report.enterprise_id) if report.enterprise_id else None
    )
    facts = _Facts(report, enterprise.name if enterprise else "—")
    alerts = []
    # The office of the enterprise's city, and the province's.
    for admin_id in await services.offices.concerned(enterprise.city if enterprise else None):
        admin_texts = await context.texts_of(admin_id)
        markup = None
        if report.claimed_official_id is not None:
            button = InlineKeyboardButton(
                admin_texts("report.warn"), callback_data=WarnPortfolio(report.id, False).pack()
            )
            markup = InlineKeyboardMarkup([[button]])
        alerts.append(facts.alert(services, admin_id, admin_texts, "report.admin_alert", markup))
    official = (
        await services.officials.get(report.claimed_official_id)
        if report.claimed_official_id
        else None
    )
    if official is not None and official.telegram_id is not None:
        official_texts = await context.texts_of(official.telegram_id)
        alerts.append(
            facts.alert(services, official.telegram_id, official_texts, "report.official_alert")
        )
    await send_through_outbox(services, alerts)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What a report says, put into a reader's language: the stored channel and request are
    codes (``phone``, ``money``), shown as the words the reporter pressed."""

    report: Report
    enterprise: str

    def params(self, texts: Translator) -> dict[str, Any]:
        report = self.report
        return {
            "name": report.claimed_name,
            "enterprise": self.enterprise,
            "channel": _label(texts, "channel", report.channel, CHANNELS),
            "contact": report.contact or "—",
            "asked": _label(texts, "asked", report.asked_for, ASKED_FOR),
            "details": report.details or "—",
        }

    def alert(
        self,
        services: Services,
        telegram_id: int,
        texts: Translator,
        key: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> NewMessage:
        """The report told to one reader, in their language, as the outbox queues it."""
        return message_to(
            services, telegram_id, IMPOSTOR_KIND, texts(key, **self.params(texts)), markup
        )


def _label(texts: Translator, field: str, value: str, known: tuple[str, ...]) -> str:
    """The button label for a stored choice; "—" for anything else (never the code itself)."""
    return texts(f"report.{field}_{value}") if value in known else "—"


async def warn_portfolio(update: Update, context: AppContext) -> None:
    """Ask the admin to confirm, then warn every enterprise in the official's portfolio."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    choice = context.button(WarnPortfolio)
    report = await services.verification.report(choice.report_id)
    if report is None or report.claimed_official_id is None:
        await refuse_stale(update, context)
        return
    await query.answer()
    recipients = await services.verification.portfolio_contacts(
        report.claimed_official_id, actor.scope
    )
    if report.warned_at is not None:
        await query.edit_message_reply_markup(None)
        await context.bot.send_message(actor.telegram_id, texts("report.already_warned"))
    elif not choice.confirmed:
        data = WarnPortfolio(report.id, True).pack()
        yes = InlineKeyboardButton(texts("report.confirm"), callback_data=data)
        await query.edit_message_reply_markup(InlineKeyboardMarkup([[yes]]))
        ask = texts("report.confirm_ask", count=len(recipients))
        await context.bot.send_message(actor.telegram_id, ask)
    elif await services.impostors.mark_warned(report.id):
        await query.edit_message_reply_markup(None)
        sent = await _warn(context, actor.telegram_id, report, recipients)
        await context.bot.send_message(actor.telegram_id, texts("report.warned", count=sent))


async def _warn(context: AppContext, admin_id: int, report: Report, recipients: list[int]) -> int:
    """Send the impostor warning to each contact; audit how many it reached."""
    services = context.services
    sent = 0
    for telegram_id in recipients:
        sent += await notify(context, telegram_id, "report.warning", name=report.claimed_name)
    await services.audit.record(
        now=services.clock.now(),
        actor_id=admin_id,
        action="impostor.warn",
        subject=f"report:{report.id}",
        result=f"sent:{sent}",
    )
    return sent


def report_conversation(bot_data: BotData) -> Conversation:
    """Fresh per Application: the conversation keeps who is where in memory, and the report
    so far is stored (bot/dialogues.py), so that a restart takes it up at its step."""
    return stored_conversation(
        bot_data,
        name="impostor_report",
        entry_points=[
            CommandHandler("report", ask_claimed),
            CallbackQueryHandler(ask_claimed, pattern=menu_pattern("report")),
        ],
        states={
            CLAIMED: [
                CallbackQueryHandler(claimed_official, pattern=ReportStep.pattern()),
                MessageHandler(filters.TEXT & ~filters.COMMAND, claimed_name),
            ],
            CHANNEL: [CallbackQueryHandler(channel, pattern=ReportStep.pattern())],
            CONTACT: [MessageHandler(filters.TEXT & ~filters.COMMAND, contact)],
            ASKED: [CallbackQueryHandler(asked, pattern=ReportStep.pattern())],
            DETAILS: [
                MessageHandler(
                    filters.TEXT & (~filters.COMMAND | filters.Regex("^/skip$")), details
                )
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        steps={REPORT: step},
        expired={REPORT: "report.expired"},
    )


def handlers(bot_data: BotData) -> list[BaseHandler[Any, Any, Any]]:
    return [
        report_conversation(bot_data),
        CallbackQueryHandler(warn_portfolio, pattern=WarnPortfolio.pattern()),
    ]
