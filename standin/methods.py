"""Every Bot API method the stand-in implements, by its canonical name.

Telegram matches method names case-insensitively; :func:`lookup` does the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from standin import chats, editing, profile, sending, stars, updates, verifying, webhook
from standin.state import World

Handler = Callable[[World, dict[str, Any]], Awaitable[Any]]

METHODS: dict[str, Handler] = {
    **profile.METHODS,  # getMe, commands, descriptions, menu button, logOut/close
    **updates.METHODS,  # getUpdates
    **webhook.METHODS,  # setWebhook, deleteWebhook, getWebhookInfo
    **sending.METHODS,  # sendMessage, sendPhoto, ... copyMessage, forwardMessage
    **editing.METHODS,  # editMessage*, deleteMessage, answerCallbackQuery
    **chats.METHODS,  # getChat, leaveChat, getFile
    **verifying.METHODS,  # verifyUser, removeUserVerification
    **stars.METHODS,  # getMyStarBalance
}
_BY_LOWER_NAME = {name.lower(): name for name in METHODS}


def lookup(name: str) -> str | None:
    """The canonical name of an implemented method, whatever the case of ``name``."""
    return _BY_LOWER_NAME.get(name.lower())
