"""Every Bot API call the bot makes fits the Bot API spec.

The suite's stand-in is strict (tests/conftest.py sets ``STANDIN_STRICT_PARAMETERS``): a
parameter a method does not take is answered 400, a missing required one too, and the
``standin`` fixture fails any test whose calls departed from the spec, whether or not the bot
noticed the 400. So every end-to-end test checks every call it makes; this file checks that
the guard is on, and the one departure it found (python-telegram-bot's default parse mode on
calls with no text).
"""

from __future__ import annotations

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from runtime.application import BotApplication
from scenarios.roster import ALICE_ID
from standin import TelegramStandin
from standin.spec import Spec


def test_the_suite_runs_strict_stand_ins() -> None:
    assert TelegramStandin().strict_parameters


@pytest.mark.usefixtures("bot")
async def test_the_suites_stand_in_is_strict(standin: TelegramStandin) -> None:
    assert standin.strict_parameters


async def test_a_keyboard_edit_carries_no_parse_mode(
    standin: TelegramStandin, bot: BotApplication
) -> None:
    """The default parse mode (HTML) goes with texts and captions, not with a keyboard edit."""
    standin.user(ALICE_ID, first_name="Alice", started=True)
    button = InlineKeyboardButton("A", callback_data="a")
    before = len(standin.calls)
    sent = await bot.bot.send_message(
        ALICE_ID, "<b>hi</b>", reply_markup=InlineKeyboardMarkup([[button]])
    )
    await bot.bot.edit_message_reply_markup(ALICE_ID, sent.message_id, reply_markup=None)
    await bot.bot.edit_message_text("<i>bye</i>", ALICE_ID, sent.message_id)
    calls = [c for c in standin.calls[before:] if c.method != "getUpdates"]
    spec = Spec.load()
    assert [(c.method, c.params.get("parse_mode")) for c in calls] == [
        ("sendMessage", "HTML"),
        ("editMessageReplyMarkup", None),
        ("editMessageText", "HTML"),
    ]
    assert all(c.ok and not spec.violations(c.method, c.params) for c in calls)
