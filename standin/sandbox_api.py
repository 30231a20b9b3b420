"""What the sandbox page needs beyond the control API: one long poll per chat view.

GET /_standin/chats/{id}/view?since=V&timeout=25
    the messages changed after version V (as ``control.message_json``, plus what a user
    message shows besides text), the reply keyboard the bot shows now, and the user's
    command list (the "/" menu)
GET /_standin/callbacks/{query_id}?timeout=5
    the bot's answerCallbackQuery for a press (text, show_alert), or null
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from standin.control import MAX_POLL_SECONDS, PREFIX, message_json
from standin.state import Chat, StoredMessage
from standin.waiting import wait_for

if TYPE_CHECKING:
    from standin.server import TelegramStandin

JSON = dict[str, Any]
MAX_ANSWER_SECONDS = 15.0


def view_message_json(message: StoredMessage) -> JSON:
    """``message_json`` plus what the page shows for shared users and stickers."""
    data = message_json(message)
    shared = message.data.get("users_shared")
    if shared:
        data["shared_users"] = [u.get("first_name") or str(u["user_id"]) for u in shared["users"]]
    sticker = message.data.get("sticker")
    if sticker:
        data["sticker"] = sticker.get("emoji", "")
    return data


class SandboxApi:
    """Read-only views for the page, over the same world the control API acts on."""

    def __init__(self, standin: TelegramStandin) -> None:
        self.standin = standin

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(PREFIX + "/chats/{chat_id}/view", self.chat_view),
            web.get(PREFIX + "/callbacks/{query_id}", self.callback_answer),
        ]

    async def chat_view(self, request: web.Request) -> web.Response:
        """Long poll: wait until the chat changed after ``since``, then the whole view."""
        chat = self.standin.world.chats.get(int(request.match_info["chat_id"]))
        if chat is None:
            raise web.HTTPNotFound(text="no such chat")
        since = int(request.query.get("since", 0))
        timeout = min(float(request.query.get("timeout", 0)), MAX_POLL_SECONDS)
        closing = self.standin.world.closing
        await wait_for(
            chat.signal,
            lambda: True if chat.version > since or closing.is_set() else None,
            timeout,
        )
        changed = [view_message_json(m) for m in chat.messages.values() if m.version > since]
        return web.json_response(
            {
                "version": chat.version,
                "messages": changed,
                "reply_keyboard": chat.reply_keyboard,
                "commands": self.commands_for(chat),
            }
        )

    def commands_for(self, chat: Chat) -> list[JSON]:
        """The chat's own command list, else the default one in the user's language."""
        started = chat.account is not None and chat.account.started
        own = self.standin.commands("chat", chat_id=chat.id) if started else []
        if own:
            return own
        language = (chat.account.language_code or "") if chat.account else ""
        return self.standin.commands(language_code=language[:2]) or self.standin.commands()

    async def callback_answer(self, request: web.Request) -> web.Response:
        """The answer to one button press, once the bot gave it."""
        world = self.standin.world
        query = world.callback_queries.get(request.match_info["query_id"])
        if query is None:
            raise web.HTTPNotFound(text="no such callback query")
        timeout = min(float(request.query.get("timeout", 5)), MAX_ANSWER_SECONDS)
        answer = await wait_for(world.callback_signal, lambda: query.answer, timeout)
        return web.json_response({"answer": answer})
