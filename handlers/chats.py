"""Where the bot listens: private chats only; who is reachable; every user recorded."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Chat, ChatMember, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, ChatMemberHandler, TypeHandler

from bot.i18n import Translator
from handlers.context import AppContext

log = logging.getLogger(__name__)


async def admit_update(update: Update, context: AppContext) -> None:
    """Record the user; leave group chats (after saying so once) and stop there."""
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE:
        await _leave_group(update, context, chat)
        raise ApplicationHandlerStop
    user = update.effective_user
    if user is None or user.is_bot or update.my_chat_member is not None:
        return
    await context.services.accounts.seen(
        user.id,
        first_name=user.first_name,
        username=user.username,
        telegram_language=user.language_code,
        now=context.services.clock.now(),
    )


async def _leave_group(update: Update, context: AppContext, chat: Chat) -> None:
    language: str = context.services.settings.locale.default_language
    if update.effective_user is not None:
        language = await context.services.accounts.language_of(update.effective_user.id)
    joined = update.my_chat_member is not None and update.my_chat_member.new_chat_member.status in (
        ChatMember.MEMBER,
        ChatMember.ADMINISTRATOR,
    )
    try:
        if joined or update.message is not None:
            await context.bot.send_message(chat.id, Translator(language)("common.private_only"))
        await context.bot.leave_chat(chat.id)
    except TelegramError as exc:
        log.info("could not leave chat %s: %s", chat.id, exc)


async def track_private_membership(update: Update, context: AppContext) -> None:
    """A user who blocks the bot is unreachable until they come back."""
    member = update.my_chat_member
    assert member is not None
    services = context.services
    user_id = member.chat.id
    if member.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT):
        await services.accounts.mark_unreachable(user_id, services.clock.now())
    else:
        await services.accounts.mark_reachable(user_id)


GUARDS: list[BaseHandler[Any, Any, Any]] = [TypeHandler(Update, admit_update)]

HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    ChatMemberHandler(track_private_membership, ChatMemberHandler.MY_CHAT_MEMBER)
]
