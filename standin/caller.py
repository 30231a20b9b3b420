"""Who is calling: the HTTP request a Bot API method is answering, for methods that care.

Telegram answers a long poll that another getUpdates cut short with 409 Conflict; a poll whose
client has already hung up (a bot stopped or killed mid-poll) is answered to nobody. The
method needs to tell the two apart, so :class:`~standin.botapi.BotApi` sets :data:`CURRENT`
around each call.
"""

from __future__ import annotations

from contextvars import ContextVar

from aiohttp import web

CURRENT: ContextVar[web.BaseRequest | None] = ContextVar("standin_caller", default=None)


def connected() -> bool:
    """Whether the client of the call being answered is still there (True outside a call)."""
    request = CURRENT.get()
    return request is None or request.transport is not None
