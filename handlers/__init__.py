"""Telegram I/O: thin handlers that parse an update, call the domain and render the answer."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from handlers import chats, common, dialogues, errors, fallback, requests, start, verification


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The whole routing table, in order. Earlier groups run first; within a group the first
    matching handler wins."""
    # Group -1: record the user, keep the bot out of group chats.
    app.add_handlers(chats.GUARDS, group=-1)

    # Conversations come first so that their states see the user's messages before anything
    # generic does.
    # Verifying an official: typing a code, checking a number or an account.
    app.add_handlers(verification.HANDLERS)
    # Requests: the intake (/new) and writing on a request (reply, note, ask, resolve, return).
    app.add_handlers(dialogues.HANDLERS)

    # Deep links and greetings (the invite link before plain /start).
    app.add_handlers(start.HANDLERS)
    # Help, language, cancel and who is reachable.
    app.add_handlers(common.HANDLERS)
    app.add_handlers(chats.HANDLERS)
    # Request buttons that act at once, the lists (/my, /inbox, /queue) and /open.
    app.add_handlers(requests.HANDLERS)

    # Last: whatever nobody else took gets a plain answer.
    app.add_handlers(fallback.HANDLERS)
    app.add_error_handler(errors.on_error)
