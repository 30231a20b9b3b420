"""Fixtures for the stand-in's own tests: a fresh stand-in, a plain Bot, two tiny bots.

The bots here are deliberately minimal python-telegram-bot Applications: an echo bot and a
button bot, enough to drive every stand-in feature through the real library over loopback.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from standin import TelegramStandin

os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

TOKEN = "123:ABC"
AnyApp = Application[Any, Any, Any, Any, Any, Any]
ALL_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def standin(clock: FakeClock) -> AsyncIterator[TelegramStandin]:
    server = TelegramStandin(bot_username="liaison_bot", clock=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def tg(standin: TelegramStandin) -> AsyncIterator[Bot]:
    """A plain Bot for calling methods directly."""
    async with Bot(
        TOKEN, base_url=standin.api_base_url, base_file_url=standin.file_base_url
    ) as bot:
        yield bot


async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet the user by name, in bold."""
    assert update.message is not None and update.effective_user is not None
    name = html.escape(update.effective_user.first_name)
    await update.message.reply_html(f"Hello, <b>{name}</b>!")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say the user's text back."""
    assert update.effective_message is not None and update.effective_message.text is not None
    prefix = "edited: " if update.edited_message else ""
    await update.effective_message.reply_text(prefix + update.effective_message.text)


async def show_menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer two choices and a link."""
    assert update.message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="choice:yes"),
                InlineKeyboardButton("No", callback_data="choice:no"),
            ],
            [InlineKeyboardButton("Docs", url="https://example.org/docs")],
        ]
    )
    await update.message.reply_text("Pick one", reply_markup=keyboard)


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press, then show the choice in place of the menu."""
    query = update.callback_query
    assert query is not None and query.data is not None
    choice = query.data.removeprefix("choice:")
    await query.answer(f"You chose {choice}")
    await query.edit_message_text(f"Chosen: <b>{choice}</b>", parse_mode=ParseMode.HTML)


async def note_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember my_chat_member updates for the test to inspect."""
    assert update.my_chat_member is not None
    context.bot_data.setdefault("members", []).append(update.my_chat_member)


def build_app(standin: TelegramStandin) -> AnyApp:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(standin.api_base_url)
        .base_file_url(standin.file_base_url)
        .build()
    )
    app.add_handler(CommandHandler("start", greet))
    app.add_handler(CommandHandler("menu", show_menu))
    app.add_handler(CallbackQueryHandler(choose, pattern=r"^choice:"))
    app.add_handler(ChatMemberHandler(note_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@asynccontextmanager
async def polling(app: AnyApp) -> AsyncIterator[AnyApp]:
    """Run ``app`` with long polling until the block ends, then shut it down cleanly."""
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=10, allowed_updates=ALL_UPDATES)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
async def echo_app(standin: TelegramStandin) -> AsyncIterator[AnyApp]:
    """The test bot, polling the stand-in."""
    async with polling(build_app(standin)) as app:
        yield app
