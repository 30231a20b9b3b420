"""The JSON control API under ``/_standin/`` for the browser sandbox.

    GET  /_standin/users                          the simulated users
    POST /_standin/users                          {"id", "first_name", "username"?,
                                                   "language_code"?}
    POST /_standin/users/{id}/actions             {"action": ..., ...} (see ``ACTIONS``)
    GET  /_standin/chats/{id}/messages?since=V&timeout=25
                                                  long poll: messages changed after version V
    GET  /_standin/files/{file_path}              a stored file, for <img> and download links
    POST /_standin/faults                         {"method"?, "chat_id"?, "error_code"?,
                                                   "description"?, "retry_after"?,
                                                   "migrate_to_chat_id"?, "delay_seconds"?,
                                                   "times"?}: answer the next matching calls
                                                   with that error, or hold them that long
    POST /_standin/verification                   {"allowed": bool}: Telegram approves (or not)
                                                   the bot as a verifier (verifyUser)
    POST /_standin/stars                          {"balance": Stars}: the bot's Star balance
    POST /_standin/updates                        {"update": any JSON, "assign_id"?: true}:
                                                  queue it as the bot's next update exactly as
                                                  given (a broken one tests the bot's defences);
                                                  an object gets the next update_id unless
                                                  "assign_id" is false

Message text is returned as safe HTML (``render.render_html``), never as the bot's markup.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from standin.client import TestUser
from standin.render import render_html
from standin.state import Account, StoredMessage
from standin.waiting import wait_for

if TYPE_CHECKING:
    from standin.server import TelegramStandin

JSON = dict[str, Any]
PREFIX = "/_standin"
MAX_POLL_SECONDS = 60.0
Action = Callable[[TestUser, JSON], Awaitable[Any]]

ACTIONS: dict[str, Action] = {
    "send_text": lambda user, body: user.send(str(body["text"])),
    "press": lambda user, body: user.press(int(body["message_id"]), str(body["callback_data"])),
    "send_photo": lambda user, body: user.send_photo(
        base64.b64decode(body["data_base64"]), caption=body.get("caption")
    ),
    "send_document": lambda user, body: user.send_document(
        base64.b64decode(body["data_base64"]),
        filename=str(body.get("filename", "file.bin")),
        caption=body.get("caption"),
    ),
    "share_user": lambda user, body: user.share_user(int(body["request_id"]), int(body["user_id"])),
}
SETTINGS: dict[str, Callable[[TestUser, JSON], object]] = {
    "set_language": lambda user, body: user.set_language(body.get("language_code")),
    "block": lambda user, body: user.block(),
    "unblock": lambda user, body: user.unblock(),
}


def account_json(account: Account, verified: str | None = None) -> JSON:
    """A user as the page shows it; ``verified``: the description of the bot's mark, if any."""
    return {
        **account.as_user(),
        "started": account.started,
        "blocked": account.blocked,
        "verified": verified,
    }


def message_json(message: StoredMessage) -> JSON:
    """A message as the sandbox page shows it."""
    text = message.text if message.text is not None else message.caption
    entities = message.entities if message.text is not None else message.caption_entities
    photo = message.files.get("photo")
    document = message.files.get("document")
    return {
        "message_id": message.message_id,
        "from_bot": message.from_bot,
        "text": text,
        "html": render_html(text or "", entities),
        "reply_markup": message.markup,
        "photo": f"{PREFIX}/files/{photo.file_path}" if photo else None,
        "document": {"url": f"{PREFIX}/files/{document.file_path}", "filename": document.filename}
        if document
        else None,
        "edited": message.edit_count,
        "deleted": message.deleted,
        "version": message.version,
    }


class ControlApi:
    """Routes of the control API, acting through the stand-in's test API."""

    def __init__(self, standin: TelegramStandin) -> None:
        self.standin = standin

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/users", self.list_users),
            web.post(f"{PREFIX}/users", self.create_user),
            web.post(PREFIX + "/users/{user_id}/actions", self.act),
            web.get(PREFIX + "/chats/{chat_id}/messages", self.chat_messages),
            web.get(PREFIX + "/files/{path:.+}", self.file),
            web.post(f"{PREFIX}/faults", self.inject_fault),
            web.post(f"{PREFIX}/verification", self.set_verification),
            web.post(f"{PREFIX}/stars", self.set_stars),
            web.post(f"{PREFIX}/updates", self.inject_update),
        ]

    async def list_users(self, request: web.Request) -> web.Response:
        world = self.standin.world
        users = [account_json(a, world.verified.get(a.id)) for a in world.accounts.values()]
        return web.json_response({"users": users})

    async def create_user(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            user = self.standin.user(
                int(body["id"]),
                first_name=str(body["first_name"]),
                username=body.get("username"),
                language_code=body.get("language_code"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise web.HTTPBadRequest(text=f"bad user: {error!r}") from error
        return web.json_response(account_json(user.account))

    async def act(self, request: web.Request) -> web.Response:
        """Perform one user action; the answer carries the resulting message or query id."""
        user_id = int(request.match_info["user_id"])
        if user_id not in self.standin.world.accounts:
            raise web.HTTPNotFound(text=f"no user {user_id}")
        user = self.standin.user(user_id)
        body = await request.json()
        name = str(body.get("action"))
        try:
            if name in SETTINGS:
                SETTINGS[name](user, body)
                return web.json_response({"ok": True, "user": account_json(user.account)})
            if name not in ACTIONS:
                raise web.HTTPBadRequest(text=f"unknown action {name!r}")
            result = await ACTIONS[name](user, body)
        except (AssertionError, KeyError, TypeError, ValueError) as error:
            return web.json_response({"ok": False, "error": str(error)}, status=400)
        return web.json_response({"ok": True, "result": result})

    async def chat_messages(self, request: web.Request) -> web.Response:
        """Long poll: the messages whose version is above ``since``."""
        chat = self.standin.world.chats.get(int(request.match_info["chat_id"]))
        if chat is None:
            raise web.HTTPNotFound(text="no such chat")
        since = int(request.query.get("since", 0))
        timeout = min(float(request.query.get("timeout", 0)), MAX_POLL_SECONDS)
        closing = self.standin.world.closing
        await wait_for(
            chat.signal, lambda: True if chat.version > since or closing.is_set() else None, timeout
        )
        changed = [message_json(m) for m in chat.messages.values() if m.version > since]
        return web.json_response({"version": chat.version, "messages": changed})

    async def file(self, request: web.Request) -> web.Response:
        stored = self.standin.world.files.by_path(request.match_info["path"])
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def inject_fault(self, request: web.Request) -> web.Response:
        """Make the next matching Bot API calls fail (or wait), as ``inject_error`` does."""
        body = await request.json()
        try:
            method = body.get("method")
            chat_id = body.get("chat_id")
            times = int(body.get("times", 1))
            if "delay_seconds" in body:
                seconds = float(body["delay_seconds"])
                self.standin.inject_delay(method, seconds, times, chat_id=chat_id)
            else:
                self.standin.inject_error(
                    method,
                    chat_id=chat_id,
                    error_code=int(body.get("error_code", 400)),
                    description=body.get("description"),
                    retry_after=body.get("retry_after"),
                    migrate_to_chat_id=body.get("migrate_to_chat_id"),
                    times=times,
                )
        except (TypeError, ValueError) as error:
            return web.json_response({"ok": False, "error": str(error)}, status=400)
        return web.json_response({"ok": True})

    async def set_verification(self, request: web.Request) -> web.Response:
        """Approve or disapprove the bot as a verifier, as Telegram would."""
        body = await request.json()
        self.standin.allow_verification(bool(body.get("allowed", True)))
        return web.json_response({"ok": True})

    async def set_stars(self, request: web.Request) -> web.Response:
        """Set the bot's Star balance."""
        body = await request.json()
        try:
            self.standin.set_star_balance(float(body["balance"]))
        except (KeyError, TypeError, ValueError) as error:
            return web.json_response({"ok": False, "error": str(error)}, status=400)
        return web.json_response({"ok": True, "balance": self.standin.star_balance})

    async def inject_update(self, request: web.Request) -> web.Response:
        """Queue a raw update, as ``TelegramStandin.inject_update`` does."""
        body = await request.json()
        if not isinstance(body, dict) or "update" not in body:
            return web.json_response({"ok": False, "error": 'no "update"'}, status=400)
        update = self.standin.inject_update(
            body["update"], assign_id=bool(body.get("assign_id", True))
        )
        return web.json_response({"ok": True, "update": update})
