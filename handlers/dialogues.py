"""The one conversation of requests: the intake (/new) and writing on a request share it.

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

from handlers import intake, thread
from handlers.context import AppContext

# Minutes without an answer after which the conversation ends; the draft stays saved.
TIMEOUT_SECONDS = 60 * 60


async def cancel(update: Update, context: AppContext) -> int:
    """Leave what the user was doing: stop writing, or drop the intake draft."""
    if thread.composing_of(context) is not None:
        return await thread.cancel(update, context)
    return await intake.cancel(update, context)


async def off_script(update: Update, context: AppContext) -> None:
    """Unsupported content, or text where a button is expected: say so, and stay."""
    if thread.composing_of(context) is not None:
        await thread.off_script(update, context)
    else:
        await intake.off_script(update, context)


# per_message=False on purpose: the states take typed messages as well as button presses,
# which a per-message conversation cannot see. Buttons are matched by their prefix and step
# instead, and each callback checks them again; PTB's warning about this is expected.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
    CONVERSATION = ConversationHandler(
        entry_points=[*intake.ENTRY_POINTS, *thread.ENTRY_POINTS],
        states={
            **intake.STATES,
            **thread.STATES,
            ConversationHandler.TIMEOUT: [MessageHandler(filters.ALL, intake.timed_out)],
        },
        fallbacks=[
            CommandHandler("cancel", cancel),
            MessageHandler(~filters.COMMAND & ~filters.StatusUpdate.ALL, off_script),
        ],
        per_message=False,
        allow_reentry=True,
        conversation_timeout=TIMEOUT_SECONDS,
        name="requests",
    )

HANDLERS: list[BaseHandler[Any, Any, Any]] = [CONVERSATION]
