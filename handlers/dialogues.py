"""The one conversation of requests: the intake (/new), writing on a request, site visits
(/visit) and registering an enterprise (/register) share it.

They began as one ConversationHandler so that a user who started one left the other; that is
now the rule of every dialogue (handlers/journeys.py: a new journey ends every dialogue of the
user, in every store), and they stay one conversation because they share their stored steps.

The conversation keeps who is at which step in memory; a restart forgets it. The short
dialogues are also stored (bot/dialogues.py), and handlers/stored_dialogue.py takes a stored
one up, as it does every conversation's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import dialogue_state, intake, registration, thread, visits
from handlers.cards import send_here
from handlers.context import AppContext, BotData
from handlers.dialogue_state import COMPOSE, INTAKE, REGISTRATION, VISIT
from handlers.stored_dialogue import StillAllowed, stored_conversation

Handler = BaseHandler[Any, Any, Any]


async def cancel(update: Update, context: AppContext) -> int:
    """Leave what the user was doing: stop writing, a visit or a registration, or drop the
    intake draft."""
    if dialogue_state.active(update, context) == dialogue_state.INTAKE:
        return await intake.cancel(update, context)
    await dialogue_state.forget(update, context)
    texts = await context.texts(update)
    await send_here(update, context, texts("thread.cancelled"))
    return ConversationHandler.END


async def off_script(update: Update, context: AppContext) -> None:
    """Unsupported content, or text where a button is expected: say so, and stay."""
    active = dialogue_state.active(update, context)
    if active == COMPOSE:
        await thread.off_script(update, context)
    elif active == dialogue_state.INTAKE:
        await intake.off_script(update, context)
    else:
        texts = await context.texts(update)
        assert update.effective_message is not None
        await update.effective_message.reply_text(texts("registration.off_script"))


FALLBACKS: list[Handler] = [
    CommandHandler("cancel", cancel),
    MessageHandler(~filters.COMMAND & ~filters.StatusUpdate.ALL, off_script),
]


# -- after a restart ----------------------------------------------------------------------------

# Where a stored dialogue stands, as a state of the conversation.
STEPS: dict[str, Callable[[Mapping[str, Any]], int]] = {
    INTAKE: intake.step,
    COMPOSE: thread.step,
    VISIT: visits.step,
    REGISTRATION: registration.step,
}
# What the user is told when what they sent came too late to take their dialogue up.
EXPIRED = {
    INTAKE: "intake.expired",
    COMPOSE: "thread.expired",
    VISIT: "visits.expired",
    REGISTRATION: "registration.expired",
}
# What must still hold before a stored dialogue goes on (each says why not).
STILL_ALLOWED: dict[str, StillAllowed] = {COMPOSE: thread.may_resume}


def handlers(timeout_seconds: float, bot_data: BotData) -> list[Handler]:
    """A fresh conversation per Application: it keeps who is where in memory, which must not
    outlive the Application (a restart forgets it; the drafts and dialogues stored remain, and
    are taken up by handlers/stored_dialogue.py). After timeout_seconds without an answer the
    conversation ends; the intake draft stays saved, a short dialogue is dropped."""
    return [
        stored_conversation(
            bot_data,
            name="requests",
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
                # Run with the last update, which may be a button press as well as a message.
                ConversationHandler.TIMEOUT: [TypeHandler(Update, intake.timed_out)],
            },
            fallbacks=FALLBACKS,
            steps=STEPS,
            expired=EXPIRED,
            still_allowed=STILL_ALLOWED,
            conversation_timeout=timeout_seconds,
        )
    ]
