"""Business cards: an official's revocable deep link and QR code that open their verified card."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import qrcode
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.i18n import Html
from bot.verification import CARD_PAYLOAD_PREFIX, CardState, card_payload
from bot.verification import token_from_card_payload as card_token
from handlers.callback_data import CallbackData
from handlers.context import AppContext
from handlers.menu import menu_pattern
from handlers.verification import official_card, report_button

CARD_PAYLOAD = filters.Regex(f"^/start(@\\w+)? {CARD_PAYLOAD_PREFIX}")


@dataclass(frozen=True, slots=True)
class CardAction(CallbackData, prefix="card"):
    action: str  # "revoke" or "new"


def qr_png(link: str) -> bytes:
    """The link as a QR code image."""
    buffer = io.BytesIO()
    qrcode.make(link).save(buffer, format="PNG")
    return buffer.getvalue()


async def show_card(update: Update, context: AppContext) -> None:
    """Send the official their card link and QR code, making a link if they have none."""
    actor = context.actor
    texts = await context.texts(update)
    assert update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    official = actor.official
    assert official is not None, "the policy shows cards to officials only"
    token = await context.services.verifier.card_token(official, context.services.clock.now())
    link = f"https://t.me/{context.services.bot_username}?start={card_payload(token)}"
    revoke = InlineKeyboardButton(texts("card.revoke"), callback_data=CardAction("revoke").pack())
    await context.bot.send_photo(
        update.effective_chat.id,
        qr_png(link),
        caption=texts("card.yours", link=link),
        reply_markup=InlineKeyboardMarkup([[revoke]]),
    )


async def card_action(update: Update, context: AppContext) -> None:
    """Revoke the official's card link (old QR codes then say so)."""
    query = update.callback_query
    assert query is not None
    actor = context.actor
    texts = await context.texts(update)
    official = actor.official
    assert official is not None, "the policy lets only officials press card buttons"
    await query.answer()
    services = context.services
    await services.verifier.revoke_card(
        official.id, actor_id=actor.telegram_id, now=services.clock.now()
    )
    await query.edit_message_caption(texts("card.revoked_done"))


async def open_card(update: Update, context: AppContext) -> None:
    """Show whoever opened a card link the official's card from the bot's records."""
    message = update.effective_message
    assert message is not None and update.effective_user is not None
    texts = await context.texts(update)
    actor = context.actor
    services = context.services
    token = card_token(context.args[0] if context.args else "") or ""
    found = await services.verifier.open_card(token)
    await services.audit.record(
        now=services.clock.now(), actor_id=actor.telegram_id, action="card.open", result=found.state
    )
    if found.state is not CardState.SHOWN or found.official is None:
        await message.reply_text(texts(f"card.{found.state}"), reply_markup=report_button(texts))
        return
    card = await official_card(context, found.official, actor, texts)
    await message.reply_text(texts("card.shown", card=Html(card)))


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    # Before the plain /start (registered ahead of start.HANDLERS).
    CommandHandler("start", open_card, filters=CARD_PAYLOAD),
    CommandHandler("card", show_card),
    CallbackQueryHandler(show_card, pattern=menu_pattern("card")),
    CallbackQueryHandler(card_action, pattern=CardAction.pattern()),
]
