"""Commands every user has: /help, /language and /cancel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.i18n import LANGUAGES, Translator
from handlers.access import refuse_stale
from handlers.callback_data import CallbackData
from handlers.context import AppContext
from handlers.errors import edit_pressed
from handlers.menu import menu_keyboard, menu_pattern, set_user_commands


@dataclass(frozen=True, slots=True)
class LanguageChoice(CallbackData, prefix="lang"):
    language: str


async def show_help(update: Update, context: AppContext) -> None:
    """Explain what this user's roles can do, with their menu."""
    actor = context.actor
    texts = await context.texts(update)
    text = "\n\n".join(texts(f"help.{role}") for role in sorted(actor.roles))
    await _answer_query(update)
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, text, reply_markup=menu_keyboard(actor, texts)
    )


async def ask_language(update: Update, context: AppContext) -> None:
    """Offer the two languages as buttons."""
    texts = await context.texts(update)
    await _answer_query(update)
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, texts("language.ask"), reply_markup=language_keyboard()
    )


async def choose_language(update: Update, context: AppContext) -> None:
    """Store the chosen language (the presser's own, whoever sent the button) and confirm in
    it."""
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    choice = context.button(LanguageChoice)
    if choice.language not in LANGUAGES:
        await refuse_stale(update, context)
        return
    await query.answer()
    await context.services.accounts.set_language(update.effective_user.id, choice.language)
    await context.forget_user(update)
    texts = Translator(choice.language)
    await edit_pressed(query, texts("language.set"))
    await set_user_commands(context.bot, context.actor, texts)


async def cancel(update: Update, context: AppContext) -> int:
    """Leave whatever the user was doing; nothing is left half-done."""
    assert update.effective_user is not None
    await context.services.dialogues.forget(update.effective_user.id)
    texts = await context.texts(update)
    assert update.effective_message is not None
    await update.effective_message.reply_text(texts("common.cancelled"))
    return ConversationHandler.END


def language_keyboard() -> InlineKeyboardMarkup:
    labels = {"zh": "中文", "en": "English"}
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(labels[code], callback_data=LanguageChoice(code).pack())
                for code in LANGUAGES
            ]
        ]
    )


async def _answer_query(update: Update) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer()


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("help", show_help),
    CallbackQueryHandler(show_help, pattern=menu_pattern("help")),
    CommandHandler("language", ask_language),
    CallbackQueryHandler(ask_language, pattern=menu_pattern("language")),
    CallbackQueryHandler(choose_language, pattern=LanguageChoice.pattern()),
    # Outside any conversation /cancel still answers, so the user knows where they are.
    CommandHandler("cancel", cancel),
]
