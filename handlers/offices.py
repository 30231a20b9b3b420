"""/appoint and /admins (admins): appoint an office's admin by a one-time link, list the admins
of each office, revoke one. Who may do which for which office is bot/offices.py's rule
(:meth:`bot.roles.Actor.manages`); the revoke button is checked by the access policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.i18n import Html, Translator
from bot.offices import PROVINCE, NotYourOffice, Roll, office_name, parse_office
from bot.roles import Actor
from handlers.access import refuse, refuse_stale
from handlers.callback_data import CallbackData
from handlers.context import AppContext


@dataclass(frozen=True, slots=True)
class RevokeButton(CallbackData, prefix="adm"):
    admin_id: int  # the appointment's id (admins.id)


async def appoint(update: Update, context: AppContext) -> None:
    """/appoint 大连: a one-time link that makes whoever opens it an admin of that office. A
    city admin may leave the office out (their own)."""
    assert update.effective_chat is not None
    actor, texts = context.actor, await context.texts(update)
    services, chat = context.services, update.effective_chat.id
    words = " ".join(context.args or [])
    office = parse_office(words) if words else _own_city(actor)
    if office is None:
        await context.bot.send_message(chat, texts("offices.appoint_usage"))
        return
    try:
        issued = await services.offices.invite(
            office,
            by=actor.telegram_id,
            by_office=actor.office,
            now=services.clock.now(),
            ttl=timedelta(hours=services.settings.security.invite_ttl_hours),
        )
    except NotYourOffice:
        await refuse(update, context)
        return
    until = issued.expires_at.astimezone(services.settings.locale.tz)
    await context.bot.send_message(
        chat,
        texts(
            "offices.appoint_link",
            office=office_name(office, texts.language),
            link=issued.link(services.bot_username),
            until=f"{until:%Y-%m-%d %H:%M}",
        ),
    )


def _own_city(actor: Actor) -> str | None:
    return None if actor.office in (None, PROVINCE) else actor.office


async def list_admins(update: Update, context: AppContext) -> None:
    """/admins: the admins of each office in the admin's scope, a revoke button for each
    appointed one the admin manages."""
    assert update.effective_chat is not None
    text, markup = await _roster(context, await context.texts(update))
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def revoke(update: Update, context: AppContext) -> None:
    """The revoke button (the policy checked the admin manages that office): end it, say so,
    and show the list again."""
    query = update.callback_query
    assert query is not None
    actor, services = context.actor, context.services
    texts = await context.texts(update)
    try:
        record = await services.offices.revoke(
            context.button(RevokeButton).admin_id,
            by=actor.telegram_id,
            by_office=actor.office,
            now=services.clock.now(),
        )
    except NotYourOffice:
        await refuse(update, context)
        return
    if record is None:
        await refuse_stale(update, context)
        return
    await query.answer(texts("offices.revoked", name=record.name or record.telegram_id))
    text, markup = await _roster(context, texts)
    if query.message is not None:
        await query.edit_message_text(text, reply_markup=markup)


async def _roster(
    context: AppContext, texts: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    actor = context.actor
    rolls = await context.services.offices.rolls(actor.scope)
    lines = [texts("offices.list_title")]
    buttons: list[list[InlineKeyboardButton]] = []
    for roll in rolls:
        lines.append(_roll_text(roll, texts))
        for record in roll.appointed:
            if actor.manages(record.office) and len(buttons) < MAX_REVOKE_BUTTONS:
                # A button's label is plain text, not HTML: the name goes in as it is.
                label = texts(
                    "offices.revoke_button",
                    name=Html(record.name or record.telegram_id),
                    office=office_name(record.office, texts.language),
                )
                buttons.append(
                    [InlineKeyboardButton(label, callback_data=RevokeButton(record.id).pack())]
                )
    return "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None


# At most this many admins are named per office in /admins (16 offices × 8 names fit),
# and at most MAX_REVOKE_BUTTONS revoke buttons: one message of 4,096 characters, 100 buttons.
NAMED_PER_OFFICE = 8
MAX_REVOKE_BUTTONS = 50


def _roll_text(roll: Roll, texts: Translator) -> str:
    names = [texts("offices.bootstrap", telegram_id=i) for i in roll.bootstrap]
    names += [
        texts(
            "offices.appointed",
            name=record.name or record.telegram_id,
            telegram_id=record.telegram_id,
        )
        for record in roll.appointed
    ]
    shown = texts("offices.separator").join(names[:NAMED_PER_OFFICE])
    if len(names) > NAMED_PER_OFFICE:
        shown += texts("offices.more", count=len(names))
    return texts(
        "offices.roll",
        office=office_name(roll.office, texts.language),
        admins=Html(shown if names else texts("offices.none")),
    )


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("appoint", appoint),
    CommandHandler("admins", list_admins),
    CallbackQueryHandler(revoke, pattern=RevokeButton.pattern()),
]
