"""The bot's own profile: getMe, command lists per scope, descriptions, the menu button."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from standin.errors import bad_request
from standin.state import World

if TYPE_CHECKING:
    from standin.methods import Handler

JSON = dict[str, Any]
CommandKey = tuple[str, int | None, int | None, str]
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
LANGUAGE = re.compile(r"[a-z]{2}")
DESCRIPTION_LIMITS = {"description": 512, "short_description": 120}


async def get_me(world: World, params: JSON) -> JSON:
    """getMe."""
    return {
        **world.bot.as_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def log_out(world: World, params: JSON) -> bool:
    """logOut and close: nothing to release here."""
    return True


def command_key(world: World, scope: Any, language_code: Any) -> CommandKey:
    """Where a command list is stored: scope type, its chat and user, and the language."""
    scope = scope if scope is not None else {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    language = str(language_code or "")
    if language and not LANGUAGE.fullmatch(language):
        raise bad_request("invalid language code specified")
    chat_id = scope.get("chat_id")
    if chat_id is not None:
        chat_id = world.known_chat(chat_id).id
    user_id = scope.get("user_id")
    return scope["type"], chat_id, int(user_id) if user_id is not None else None, language


async def set_my_commands(world: World, params: JSON) -> bool:
    """setMyCommands: at most 100 commands of lowercase letters, digits and underscores."""
    commands = params["commands"]
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not COMMAND.fullmatch(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description") or "")) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    key = command_key(world, params.get("scope"), params.get("language_code"))
    world.commands[key] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    return True


async def get_my_commands(world: World, params: JSON) -> list[JSON]:
    """getMyCommands: the list stored for exactly that scope and language."""
    key = command_key(world, params.get("scope"), params.get("language_code"))
    return list(world.commands.get(key, []))


async def delete_my_commands(world: World, params: JSON) -> bool:
    """deleteMyCommands."""
    world.commands.pop(command_key(world, params.get("scope"), params.get("language_code")), None)
    return True


def _description_setter(kind: str) -> Handler:
    """setMyDescription or setMyShortDescription, stored per language."""

    async def set_description(world: World, params: JSON) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > DESCRIPTION_LIMITS[kind]:
            raise bad_request(f"{kind.replace('_', ' ')} is too long")
        command_key(world, None, params.get("language_code"))
        world.descriptions[(kind, str(params.get("language_code") or ""))] = text
        return True

    return set_description


def _description_getter(kind: str) -> Handler:
    async def get_description(world: World, params: JSON) -> JSON:
        language = str(params.get("language_code") or "")
        return {kind: world.descriptions.get((kind, language), "")}

    return get_description


async def set_chat_menu_button(world: World, params: JSON) -> bool:
    """setChatMenuButton: per chat, or the default without chat_id."""
    chat_id = params.get("chat_id")
    key = world.known_chat(chat_id).id if chat_id is not None else None
    button = params.get("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    world.menu_buttons[key] = button
    return True


async def get_chat_menu_button(world: World, params: JSON) -> JSON:
    """getChatMenuButton."""
    chat_id = params.get("chat_id")
    key = world.known_chat(chat_id).id if chat_id is not None else None
    return world.menu_buttons.get(key) or world.menu_buttons.get(None) or {"type": "default"}


METHODS = {
    "getMe": get_me,
    "logOut": log_out,
    "close": log_out,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setMyDescription": _description_setter("description"),
    "getMyDescription": _description_getter("description"),
    "setMyShortDescription": _description_setter("short_description"),
    "getMyShortDescription": _description_getter("short_description"),
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
}
