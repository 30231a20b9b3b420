"""Each role's main menu (inline buttons) and command list (the "/" menu in Telegram)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
)
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.i18n import LANGUAGES, Translator
from bot.roles import COMMAND_RULES, Actor, Role, permits
from handlers.callback_data import CallbackData

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MenuAction(CallbackData, prefix="menu"):
    action: str


def menu_pattern(action: str) -> str:
    """Pattern for a handler (or a conversation entry point) behind one menu button."""
    return f"^{MenuAction(action).pack()}$"


# Menu buttons per role, in display order; every action has a handler in handlers/.
MENU: dict[Role, tuple[str, ...]] = {
    Role.GUEST: ("register", "language", "help"),
    Role.ENTREPRENEUR: ("new", "my", "verify", "who", "check", "report", "language", "help"),
    Role.OFFICIAL: (
        "inbox",
        "visit",
        "code",
        "notice",
        "card",
        "stats",
        "charts",
        "language",
        "help",
    ),
    Role.ADMIN: ("queue", "issues", "stats", "charts", "ledger", "broadcast", "language", "help"),
}

COMMON_COMMANDS = ("start", "help", "language", "cancel")
COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.GUEST: ("register", *COMMON_COMMANDS),
    Role.ENTREPRENEUR: ("new", "my", "open", "verify", "who", "check", "report", *COMMON_COMMANDS),
    Role.OFFICIAL: (
        "inbox",
        "open",
        "visit",
        "code",
        "notice",
        "card",
        "stats",
        "charts",
        *COMMON_COMMANDS,
    ),
    Role.ADMIN: (
        "queue",
        "open",
        "issues",
        "stats",
        "charts",
        "ledger",
        "broadcast",
        "broadcasts",
        "history",
        "audit",
        "holidays",
        "export_user",
        "delete_user",
        "appoint",
        "admins",
        "roster",
        *COMMON_COMMANDS,
    ),
}


def actions_for(actor: Actor) -> list[str]:
    """The union of the menus of every role the user has, in a stable order."""
    seen: dict[str, None] = {}
    for role in (Role.ENTREPRENEUR, Role.OFFICIAL, Role.ADMIN, Role.GUEST):
        if role in actor.roles:
            seen.update(dict.fromkeys(MENU[role]))
    return list(seen)


def commands_for(actor: Actor) -> list[str]:
    seen: dict[str, None] = {}
    for role in (Role.ENTREPRENEUR, Role.OFFICIAL, Role.ADMIN, Role.GUEST):
        if role in actor.roles:
            seen.update(dict.fromkeys(COMMANDS[role]))
    # Of the admins' commands, a city admin's list leaves out the province's (/holidays).
    return [name for name in seen if permits(actor, COMMAND_RULES[name])]


def menu_keyboard(actor: Actor, texts: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(texts(f"menu.{action}"), callback_data=MenuAction(action).pack())
        for action in actions_for(actor)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return InlineKeyboardMarkup(rows)


def bot_commands(names: list[str], texts: Translator) -> list[BotCommand]:
    return [BotCommand(name, texts(f"commands.{name}")) for name in names]


async def set_default_commands(bot: ExtBot[None]) -> None:
    """The guests' command list, in Chinese by default and in English for English clients."""
    guest = list(COMMANDS[Role.GUEST])
    for language in LANGUAGES:
        # The default list has no language code (python-telegram-bot with Defaults sends an
        # empty string as "[]", which Telegram refuses).
        code = None if language == "zh" else language
        await bot.set_my_commands(
            bot_commands(guest, Translator(language)),
            scope=BotCommandScopeDefault(),
            language_code=code,
        )


async def set_user_commands(bot: ExtBot[None], actor: Actor, texts: Translator) -> None:
    """This user's command list: their roles' commands in their chosen language."""
    try:
        await bot.set_my_commands(
            bot_commands(commands_for(actor), texts),
            scope=BotCommandScopeChat(actor.telegram_id),
        )
    except TelegramError as exc:
        log.warning("could not set commands for a user: %s", exc)
