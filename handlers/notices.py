"""Contact notices: an official announces a call, the firm answers; "who is contacting me?"."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import Html
from bot.phones import mask_last4
from bot.roles import Actor
from handlers.access import refuse
from handlers.callback_data import CallbackData
from handlers.context import AppContext
from handlers.menu import menu_pattern
from handlers.verification import local_time, notify, official_card, report_button
from storage.models import Official
from storage.verification import Notice

log = logging.getLogger(__name__)

CHANNELS = ("phone", "wechat", "visit", "telegram")
WINDOWS_MINUTES = (30, 120, 480)
ANSWERS = ("available", "later", "message")


@dataclass(frozen=True, slots=True)
class NoticeDraft(CallbackData, prefix="ntc"):
    enterprise_id: int
    channel: str  # "-" until chosen
    minutes: int  # 0 until chosen


@dataclass(frozen=True, slots=True)
class NoticeAnswer(CallbackData, prefix="nta"):
    notice_id: int
    answer: str


def _rows(buttons: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def ask_enterprise(update: Update, context: AppContext) -> None:
    """Offer the official's enterprises to announce a contact to."""
    actor = context.actor
    texts = await context.texts(update)
    assert update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    official = actor.official
    assert official is not None, "the policy lets only officials announce a contact"
    buttons = []
    for enterprise_id in await context.services.officials.portfolio_ids(official.id):
        enterprise = await context.services.enterprises.get(enterprise_id)
        if enterprise is not None:
            data = NoticeDraft(enterprise.id, "-", 0).pack()
            buttons.append(InlineKeyboardButton(enterprise.name, callback_data=data))
    text = texts("notice.pick_enterprise" if buttons else "notice.no_enterprises")
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=_rows(buttons))


async def draft_step(update: Update, context: AppContext) -> None:
    """Move the notice on one step: channel, then window, then send it."""
    query = update.callback_query
    assert query is not None
    texts = await context.texts(update)
    draft = context.button(NoticeDraft)  # one of the official's firms (the policy's PORTFOLIO)
    await query.answer()
    if draft.channel not in CHANNELS:
        buttons = [
            InlineKeyboardButton(
                texts(f"notice.channel_{c}"),
                callback_data=NoticeDraft(draft.enterprise_id, c, 0).pack(),
            )
            for c in CHANNELS
        ]
        await query.edit_message_text(texts("notice.pick_channel"), reply_markup=_rows(buttons))
    elif draft.minutes not in WINDOWS_MINUTES:
        buttons = [
            InlineKeyboardButton(
                texts("notice.window", minutes=m),
                callback_data=NoticeDraft(draft.enterprise_id, draft.channel, m).pack(),
            )
            for m in WINDOWS_MINUTES
        ]
        await query.edit_message_text(texts("notice.pick_window"), reply_markup=_rows(buttons))
    else:
        await _send_notice(update, context, draft)


async def _send_notice(update: Update, context: AppContext, draft: NoticeDraft) -> None:
    """Store the notice, message the enterprise's contacts, and tell the official how many."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    assert actor.official is not None
    notice = await services.notices.announce(
        actor.official.id,
        draft.enterprise_id,
        channel=draft.channel,
        window=timedelta(minutes=draft.minutes),
    )
    sent = 0
    for contact in await services.enterprises.contacts(draft.enterprise_id):
        if contact.telegram_id is not None:
            sent += await _announce(context, actor.official, notice, contact.telegram_id)
    await query.edit_message_text(texts("notice.sent", count=sent))


async def _announce(context: AppContext, official: Official, notice: Notice, to: int) -> bool:
    """One contact's copy of the notice: the card, masked number, window, answer buttons."""
    texts = await context.texts_of(to)
    card = await official_card(context, official, Actor(telegram_id=to), texts)
    answers = [
        InlineKeyboardButton(
            texts(f"notice.answer_{a}"), callback_data=NoticeAnswer(notice.id, a).pack()
        )
        for a in ANSWERS
    ]
    return await notify(
        context,
        to,
        "notice.incoming",
        card=Html(card),
        channel=texts(f"notice.channel_{notice.channel}"),
        number=mask_last4(notice.phone_last4) if notice.phone_last4 else "—",
        until=local_time(context, texts, notice.window_end),
        reply_markup=_rows(answers),
    )


async def answer_notice(update: Update, context: AppContext) -> None:
    """Store the contact's answer and pass it on to the official."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    choice = context.button(NoticeAnswer)
    notice = await services.verification.notice(choice.notice_id)
    if notice is None or choice.answer not in ANSWERS or not actor.speaks_for(notice.enterprise_id):
        log.warning("refused a notice answer from user %s", actor.telegram_id)
        await refuse(update, context)
        return
    await services.notices.answer(notice, actor.telegram_id, choice.answer)
    await query.answer(texts("notice.answer_saved"))
    official = await services.officials.get(notice.official_id)
    enterprise = await services.enterprises.get(notice.enterprise_id)
    if official is not None and official.telegram_id is not None and enterprise is not None:
        answer_texts = await context.texts_of(official.telegram_id)
        await notify(
            context,
            official.telegram_id,
            "notice.answered",
            enterprise=enterprise.name,
            answer=answer_texts(f"notice.answer_{choice.answer}"),
        )


async def who_is_contacting(update: Update, context: AppContext) -> None:
    """List the officials who announced contacting the user's enterprises, or say nobody did."""
    actor = context.actor
    texts = await context.texts(update)
    services = context.services
    assert update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    now = services.clock.now()
    lines = []
    for notice in await services.verification.active_notices(actor.enterprise_ids, now):
        official = await services.officials.get(notice.official_id)
        if official is None:
            continue
        lines.append(
            texts(
                "notice.active",
                name=official.name,
                title=official.title,
                minutes=int((now - notice.created_at).total_seconds() // 60),
                channel=texts(f"notice.channel_{notice.channel}"),
                number=mask_last4(notice.phone_last4) if notice.phone_last4 else "—",
                until=local_time(context, texts, notice.window_end),
            )
        )
    if lines:
        await context.bot.send_message(update.effective_chat.id, "\n\n".join(lines))
    else:
        await context.bot.send_message(
            update.effective_chat.id, texts("notice.nobody"), reply_markup=report_button(texts)
        )


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("notice", ask_enterprise),
    CallbackQueryHandler(ask_enterprise, pattern=menu_pattern("notice")),
    CallbackQueryHandler(draft_step, pattern=NoticeDraft.pattern()),
    CallbackQueryHandler(answer_notice, pattern=NoticeAnswer.pattern()),
    CommandHandler("who", who_is_contacting),
    CallbackQueryHandler(who_is_contacting, pattern=menu_pattern("who")),
]
