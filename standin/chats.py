"""Reading chats and files: getChat, leaveChat, getFile."""

from __future__ import annotations

from typing import Any

from standin.errors import bad_request
from standin.state import Account, Chat, World

JSON = dict[str, Any]
ACCEPTED_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


async def get_chat(world: World, params: JSON) -> JSON:
    """getChat: a ChatFullInfo with the fields python-telegram-bot requires."""
    chat = world.known_chat(params["chat_id"])
    return {
        **chat.as_chat(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": ACCEPTED_GIFTS,
    }


async def leave_chat(world: World, params: JSON) -> bool:
    """leaveChat: groups only; queues the bot's own my_chat_member "left"."""
    chat = world.known_chat(params["chat_id"])
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    if not chat.bot_member:
        raise bad_request("USER_NOT_PARTICIPANT")
    set_bot_membership(world, chat, world.bot, "left")
    return True


async def get_file(world: World, params: JSON) -> JSON:
    """getFile: download it from ``/file/bot<token>/<file_path>``."""
    stored = world.files.get(str(params["file_id"]))
    if stored is None:
        raise bad_request("invalid file_id")
    return stored.as_file()


def set_bot_membership(world: World, chat: Chat, by: Account, status: str) -> None:
    """Change the bot's status in ``chat`` and queue the my_chat_member update about it.

    ``status`` is "member", "left" or "kicked" (in a private chat: the user blocked the bot).
    """
    old = "member" if chat.bot_member else "left"
    if chat.account is not None:
        old = "kicked" if chat.account.blocked else "member"
        chat.account.blocked = status == "kicked"
    else:
        chat.bot_member = status == "member"
    world.updates.put(
        "my_chat_member",
        {
            "chat": chat.as_chat(),
            "from": by.as_user(),
            "date": world.now(),
            "old_chat_member": _member(world, old),
            "new_chat_member": _member(world, status),
        },
    )


def _member(world: World, status: str) -> JSON:
    member: JSON = {"user": world.bot.as_user(), "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member


METHODS = {"getChat": get_chat, "leaveChat": leave_chat, "getFile": get_file}
