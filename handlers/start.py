"""/start: greet each role with what it can do, and redeem invite links."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.i18n import Translator
from bot.invites import PAYLOAD_PREFIX, token_from_payload
from bot.offices import office_name
from bot.roles import Actor, Role
from handlers.context import AppContext
from handlers.menu import menu_keyboard, set_user_commands
from storage.invites import Redemption

INVITE_PAYLOAD = filters.Regex(f"^/start(@\\w+)? {PAYLOAD_PREFIX}")


async def start(update: Update, context: AppContext) -> None:
    """Greet the user with what their role can do and show their menu."""
    assert update.effective_message is not None
    actor = context.actor
    texts = await context.texts(update)
    await update.effective_message.reply_text(
        greeting(actor, texts), reply_markup=menu_keyboard(actor, texts)
    )
    await set_user_commands(context.bot, actor, texts)


async def start_with_invite(update: Update, context: AppContext) -> None:
    """Bind the user to the official or enterprise of an invite link, once."""
    assert update.effective_message is not None and update.effective_user is not None
    payload = context.args[0] if context.args else ""
    token = token_from_payload(payload) or ""
    services = context.services
    outcome, _ = await services.invites.redeem(
        token,
        telegram_id=update.effective_user.id,
        name=update.effective_user.full_name,
        now=services.clock.now(),
    )
    await services.audit.record(
        now=services.clock.now(),
        actor_id=update.effective_user.id,
        action="invite.redeem",
        result=outcome,
    )
    texts = await context.texts(update)
    if outcome not in (Redemption.OFFICIAL, Redemption.CONTACT, Redemption.ADMIN):
        await update.effective_message.reply_text(texts(f"invite.{outcome}"))
        return
    actor = await context.forget_user(update)
    if outcome is Redemption.ADMIN and actor.office is not None:
        joined = texts("offices.joined", office=office_name(actor.office, texts.language))
    else:
        joined = texts(f"invite.joined_{outcome}")
    await update.effective_message.reply_text(joined)
    await start(update, context)


def greeting(actor: Actor, texts: Translator) -> str:
    if actor.main_role is Role.OFFICIAL and actor.official is not None:
        return texts("start.official", name=actor.official.name)
    if actor.main_role is Role.ENTREPRENEUR:
        names = "、".join(e.name for e in actor.enterprises)
        return texts("start.entrepreneur", enterprises=names)
    if actor.main_role is Role.ADMIN and actor.office is not None:
        # Which office, and so what they may do: the whole province, or one city.
        office = office_name(actor.office, texts.language)
        scope = "province" if actor.is_province_admin else "city"
        return texts("start.admin") + "\n\n" + texts(f"offices.start_{scope}", office=office)
    return texts(f"start.{actor.main_role}")


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    # A deep link with an invite payload first; a plain /start after it.
    CommandHandler("start", start_with_invite, filters=INVITE_PAYLOAD),
    CommandHandler("start", start),
]
