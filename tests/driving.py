"""Helpers for tests that drive the whole bot: what buttons exist, when the bot is idle,
and what the database holds."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from typing import Any

from telegram.ext import CommandHandler, ConversationHandler

import handlers
from bot.config import Settings
from handlers.callback_data import CallbackData
from runtime.application import BotApplication, build_application
from standin import TelegramStandin
from storage.db import Database


def callback_data_classes() -> dict[str, type[CallbackData]]:
    """Every callback data class in handlers/, by prefix (every module imported first)."""
    for module in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"handlers.{module.name}")
    found: dict[str, type[CallbackData]] = {}
    pending: list[type[CallbackData]] = [CallbackData]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "prefix" in cls.__dict__ and cls.__module__.startswith("handlers."):
            found[cls.prefix] = cls
    return found


def command_names() -> set[str]:
    """Every command a handler of the bot answers to (conversations' entry points and states
    included)."""
    settings = Settings.model_validate(
        {"telegram": {"token": "1:x"}, "security": {"hash_key": "k" * 24}}
    )
    app = build_application(settings)
    pending: list[Any] = [h for group in app.handlers.values() for h in group]
    names: set[str] = set()
    while pending:
        handler = pending.pop()
        if isinstance(handler, CommandHandler):
            names |= set(handler.commands)
        elif isinstance(handler, ConversationHandler):
            pending += [*handler.entry_points, *handler.fallbacks]
            pending += [h for state in handler.states.values() for h in state]
    return names


async def settle(standin: TelegramStandin, bot: BotApplication) -> None:
    """Wait until the bot fetched every update and no handler is running (idle 5 checks)."""
    quiet = 0
    while quiet < 5:
        busy = (
            standin.world.updates.pending
            or not bot.update_queue.empty()
            or bot.update_processor.current_concurrent_updates
        )
        quiet = 0 if busy else quiet + 1
        await asyncio.sleep(0.02)


async def snapshot(db: Database, *, skip: frozenset[str]) -> dict[str, list[Any]]:
    """Every row of every table but ``skip``, for comparing before and after."""
    return {
        name: sorted((tuple(row) for row in await db.fetch_all(f"SELECT * FROM {name}")), key=repr)
        for name in await db.tables()
        if name not in skip
    }
