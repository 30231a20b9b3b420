"""The one conversation of requests: the intake (/new), writing on a request, site visits
(/visit) and registering an enterprise (/register) share it.

They are one ConversationHandler on purpose: a user in the middle of one who presses the
other's button must leave the first, and two conversations in one handler group cannot
hand a user over to each other (the first that matches a typed message keeps it).
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from handlers import dialogue_state, intake, registration, thread, visits
from handlers.context import AppContext


async def cancel(update: Update, context: AppContext) -> int:
    """Leave what the user was doing: stop writing, a visit or a registration, or drop the
    intake draft."""
    if dialogue_state.active(context) == dialogue_state.INTAKE:
        return await intake.cancel(update, context)
    dialogue_state.forget(context)
    texts = await context.texts(update)
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, texts("thread.cancelled"))
    return ConversationHandler.END


async def off_script(update: Update, context: AppContext) -> None:
    """Unsupported content, or text where a button is expected: say so, and stay."""
    if dialogue_state.active(context) == dialogue_state.COMPOSE:
        await thread.off_script(update, context)
    elif dialogue_state.active(context) == dialogue_state.INTAKE:
        await intake.off_script(update, context)
    else:
        texts = await context.texts(update)
        assert update.effective_message is not None
        await update.effective_message.reply_text(texts("registration.off_script"))


def handlers(timeout_seconds: float) -> list[BaseHandler[Any, Any, Any]]:
    """A fresh conversation per Application: it keeps who is where in memory, which must not
    outlive the Application (a restart forgets it; the drafts in the database remain).
    After timeout_seconds without an answer the conversation ends; the draft stays saved."""
    # per_message=False on purpose: the states take typed messages as well as button presses,
    # which a per-message conversation cannot see. Buttons are matched by their prefix and
    # step instead, and each callback checks them again; PTB's warning about it is expected.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        conversation: ConversationHandler[Any] = ConversationHandler(
            entry_points=[
                *intake.ENTRY_POINTS,
                *thread.ENTRY_POINTS,
                *visits.ENTRY_POINTS,
                *registration.ENTRY_POINTS,
            ],
            states={
                **intake.STATES,
                **thread.STATES,
                **visits.STATES,
                **registration.STATES,
                ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, intake.timed_out)],
            },
            fallbacks=[
                CommandHandler("cancel", cancel),
                MessageHandler(~filters.COMMAND & ~filters.StatusUpdate.ALL, off_script),
            ],
            per_message=False,
            allow_reentry=True,
            conversation_timeout=timeout_seconds,
            name="requests",
        )
    return [conversation]
