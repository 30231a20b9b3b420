"""/export_user and /delete_user: an admin exports or erases one user's personal data.

Both are for admins only, checked on the command and again on the confirmation button, so a
forged or forwarded button cannot erase anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot.audit import find_user
from bot.i18n import Translator
from bot.privacy import is_user_id
from handlers.access import refuse, refuse_stale
from handlers.callback_data import CallbackData
from handlers.context import AppContext
from handlers.errors import edit_pressed
from storage.audit import AuditTrail
from storage.privacy import PersonalData

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErasureChoice(CallbackData, prefix="pd"):
    telegram_id: int
    erase: bool


async def export_user(update: Update, context: AppContext) -> None:
    """Send the admin a JSON file of everything stored about one user."""
    found = await _target(update, context)
    if found is None:
        return
    telegram_id, chat, texts = found
    admin = context.actor
    document = await context.services.privacy.export(telegram_id, admin_id=admin.telegram_id)
    if document is None:
        await context.bot.send_message(chat, texts("privacy.nothing_stored", id=telegram_id))
        return
    await context.bot.send_document(
        chat,
        document,
        filename=f"personal-data-{telegram_id}.json",
        caption=texts("privacy.exported", id=telegram_id),
    )


async def ask_erasure(update: Update, context: AppContext) -> None:
    """Show what erasing one user's personal data would do, with a confirmation button."""
    found = await _target(update, context)
    if found is None:
        return
    telegram_id, chat, texts = found
    data = await context.services.privacy.repository.collect(telegram_id)
    if not data.found:
        await context.bot.send_message(chat, texts("privacy.nothing_stored", id=telegram_id))
        return
    await context.bot.send_message(
        chat, _summary(data, texts), reply_markup=_confirmation(telegram_id, texts)
    )


async def on_choice(update: Update, context: AppContext) -> None:
    """Erase (or keep) after the admin confirmed; the admin is checked again here."""
    query = update.callback_query
    assert query is not None
    texts = await context.texts(update)
    choice = context.button(ErasureChoice)
    if not is_user_id(choice.telegram_id):
        await refuse_stale(update, context)
        return
    admin = context.actor
    await query.answer()
    if not choice.erase:
        await edit_pressed(query, texts("privacy.kept", id=choice.telegram_id))
        return
    privacy = context.services.privacy
    changed = await privacy.erase(choice.telegram_id, admin_id=admin.telegram_id)
    if changed is None:
        await edit_pressed(query, texts("privacy.nothing_stored", id=choice.telegram_id))
        return
    await edit_pressed(query, texts("privacy.erased", id=choice.telegram_id, rows=changed))


async def _target(update: Update, context: AppContext) -> tuple[int, int, Translator] | None:
    """The user named in the command (the policy lets only admins type it)."""
    texts = await context.texts(update)
    assert update.effective_chat is not None
    chat = update.effective_chat.id
    services = context.services
    who = " ".join(context.args or [])
    telegram_id = await find_user(who, AuditTrail(services.db), services.officials) if who else None
    if telegram_id is None or not is_user_id(telegram_id):
        await context.bot.send_message(chat, texts("privacy.usage"))
        return None
    if not await services.ownerships.may_see_user(
        context.actor, telegram_id
    ):  # another city's user
        await refuse(update, context)
        return None
    return telegram_id, chat, texts


def _summary(data: PersonalData, texts: Translator) -> str:
    user = data.kinds["user"][0] if data.kinds["user"] else {}
    return texts(
        "privacy.confirm",
        id=data.telegram_id,
        name=str(user.get("first_name") or "—"),
        username=str(user.get("username") or "—"),
        requests=len(data.kinds["requests_submitted"]),
        messages=len(data.kinds["request_messages"]),
        contacts=len(data.kinds["enterprise_contacts"]),
    )


def _confirmation(telegram_id: int, texts: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts("privacy.button.erase"),
                    callback_data=ErasureChoice(telegram_id, True).pack(),
                ),
                InlineKeyboardButton(
                    texts("privacy.button.keep"),
                    callback_data=ErasureChoice(telegram_id, False).pack(),
                ),
            ]
        ]
    )


async def prune(context: AppContext) -> None:
    """Every few hours: delete old drafts and throttle records."""
    deleted = await context.services.privacy.prune()
    if deleted:
        log.info("pruned %d old drafts and throttle records", deleted)


def schedule_pruning(app: Application[Any, Any, Any, Any, Any, Any], interval_hours: float) -> None:
    """First run at start (catching up after downtime), then every interval; 0 disables."""
    if interval_hours <= 0:
        return
    assert app.job_queue is not None
    app.job_queue.run_repeating(prune, interval=interval_hours * 3600, first=0, name="pruning")


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("export_user", export_user),
    CommandHandler("delete_user", ask_erasure),
    CallbackQueryHandler(on_choice, pattern=ErasureChoice.pattern()),
]
