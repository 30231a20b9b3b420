"""The access policy applied to every update, before any handler runs.

Who the user is is found here, once per update (:meth:`bot.services.Services.actor`). A
button press is parsed into its typed button (``context.button(cls)`` hands it to the
handler); a press we never made or can no longer parse is answered in one way, with one log
line. The button or command is then checked against the policy of bot/roles.py, and refused
in one way when the user's roles do not allow it or the object the button names is not
theirs (somebody else's request looks like none at all). Handlers check what only they can:
the object a command names, the object's state, the values a dialogue offered.

The whole bot refuses with at most :data:`REFUSALS`.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.roles import Ownership, Rule, button_rule, command_rule, permits
from handlers.callback_data import BadCallback, parse_any
from handlers.context import AppContext

log = logging.getLogger(__name__)

# The refusals: not for you; a button that is stale or was never ours; nothing of that number
# (for somebody else's request too, so that its existence does not leak).
NOT_ALLOWED = "common.not_allowed"
STALE = "common.stale_button"
NOT_FOUND = "requests.not_found"
REFUSALS = (NOT_ALLOWED, STALE, NOT_FOUND)

COMMAND_START = "/"
BOT_MENTION = "@"


async def refuse(update: Update, context: AppContext, key: str = NOT_ALLOWED) -> None:
    """One of :data:`REFUSALS`: an alert on a button press, a message otherwise."""
    texts = await context.texts(update)
    if update.callback_query is not None:
        await update.callback_query.answer(texts(key), show_alert=True)
    elif update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, texts(key))


async def refuse_stale(update: Update, context: AppContext) -> None:
    """A press of a button we never made, or no longer can act on: one log line (who, not what
    the data said) and one answer."""
    user = update.effective_user
    log.warning("stale or forged button from user %s", user.id if user else None)
    await refuse(update, context, STALE)


def command_of(update: Update) -> str | None:
    """The command a message starts with (``/open@bot 12`` → ``open``), or None."""
    message = update.message
    if message is None or message.text is None or not message.text.startswith(COMMAND_START):
        return None
    word = message.text.split(maxsplit=1)[0]
    return word[len(COMMAND_START) :].split(BOT_MENTION, 1)[0].lower()


async def admit(update: Update, context: AppContext) -> None:
    """Find the user, parse the button; stop the update if the policy does not allow it."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    actor = await context.identify(update)
    query = update.callback_query
    rule: Rule | None
    subject: int | None = None
    if query is not None:
        try:
            button = parse_any(query.data or "")
        except BadCallback:
            await refuse_stale(update, context)
            raise ApplicationHandlerStop from None
        rule = button_rule(button.prefix, button.first)
        if rule is None:
            await refuse_stale(update, context)
            raise ApplicationHandlerStop
        context.pressed = button
        if rule.owner is not None:
            subject = getattr(button, rule.owner.value)
    else:
        name = command_of(update)
        rule = None if name is None else command_rule(name)
    if rule is None:
        return
    if not permits(actor, rule):
        why = "not for their roles"
    elif subject is not None and rule.owner is not None:
        theirs = await context.services.ownerships.owns(actor, rule.owner, subject)
        why = "" if theirs else f"on a {rule.owner.name.lower()} they cannot see"
    else:
        why = ""
    if why:
        log.warning("refused user %s: %s", user.id, why)
        # Somebody else's request looks like none at all.
        await refuse(update, context, NOT_FOUND if rule.owner is Ownership.REQUEST else NOT_ALLOWED)
        raise ApplicationHandlerStop


GATE: list[BaseHandler[Any, Any, Any]] = [TypeHandler(Update, admit)]
