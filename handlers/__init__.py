"""Telegram I/O: thin handlers that parse an update, call the domain and render the answer."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.config import Settings
from handlers import broadcasts, chats, common, errors, fallback, start


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The whole routing table, in order. Earlier groups run first; within a group the first
    matching handler wins."""
    # Group -1: record the user, keep the bot out of group chats.
    app.add_handlers(chats.GUARDS, group=-1)

    # Conversations come first so that their states see the user's messages before anything
    # generic does.

    # Announcements: the composer conversation, its buttons and /broadcasts (admins only).
    app.add_handlers(broadcasts.HANDLERS)

    # Deep links and greetings (the invite link before plain /start).
    app.add_handlers(start.HANDLERS)
    # Help, language, cancel and who is reachable.
    app.add_handlers(common.HANDLERS)
    app.add_handlers(chats.HANDLERS)

    # Last: whatever nobody else took gets a plain answer.
    app.add_handlers(fallback.HANDLERS)
    app.add_error_handler(errors.on_error)


def schedule_jobs(app: Application[Any, Any, Any, Any, Any, Any], settings: Settings) -> None:
    """Repeating alarm clocks; each asks the database what is due."""
    broadcasts.schedule_ticks(app, settings.broadcast.tick_seconds)
