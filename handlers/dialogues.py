"""The one conversation of requests: the intake (/new), writing on a request, site visits
(/visit) and registering an enterprise (/register) share it.

They began as one ConversationHandler so that a user who started one left the other; that is
now the rule of every dialogue (handlers/journeys.py: a new journey ends every dialogue of the
user, in every store), and they stay one conversation because they share their stored steps.

The conversation keeps who is at which step in memory; a restart forgets it. The short
dialogues are also stored (bot/dialogues.py), and :class:`Resume` takes a stored one up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BaseHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import dialogue_state, intake, registration, thread, visits
from handlers.cards import answer_query, send_here
from handlers.context import AppContext, BotData
from handlers.dialogue_state import COMPOSE, INTAKE, REGISTRATION, VISIT
from handlers.journeys import Conversation, StoredStep
from storage.dialogues import Dialogue

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
SHORT_STATES: dict[object, list[Handler]] = {
    **thread.STATES,
    **visits.STATES,
    **registration.STATES,
}
RESUMABLE_STATES: dict[object, list[Handler]] = {**intake.STATES, **SHORT_STATES}
# What must still hold before a stored dialogue goes on (each says why not).
STILL_ALLOWED: dict[str, Callable[[Update, AppContext, Mapping[str, Any]], Awaitable[bool]]] = {
    COMPOSE: thread.may_resume
}


class Resume(StoredStep):
    """The first update, after a restart, of a user whose dialogue was stored (a short one, or
    an intake draft touched within the conversation timeout): handled as the step they had
    reached (or its fallbacks) would have handled it."""

    def __init__(self, bot_data: BotData) -> None:
        super().__init__(off_script)
        self._bot_data = bot_data

    def check_update(self, update: object) -> tuple[Handler, object] | None:
        """The step's handler that takes the update, if the user has a stored dialogue."""
        services = getattr(self._bot_data, "services", None)
        if services is None or not isinstance(update, Update) or update.effective_user is None:
            return None
        stored = services.dialogues.stored(update.effective_user.id)
        if stored is None or stored.kind not in STEPS:  # another conversation's (TakeUp)
            return None
        for handler in [*RESUMABLE_STATES[STEPS[stored.kind](stored.state)], *FALLBACKS]:
            check = handler.check_update(update)
            if check is not None and check is not False:
                return handler, check
        return None

    async def handle_update(
        self,
        update: Any,
        application: Application[Any, Any, Any, Any, Any, Any],
        check_result: Any,
        context: Any,
    ) -> object:
        handler, check = check_result
        return await resume(update, context, application, handler, check)


async def resume(
    update: Update,
    context: AppContext,
    application: Application[Any, Any, Any, Any, Any, Any],
    handler: Handler,
    check: object,
) -> object:
    """Take up the stored dialogue if it is fresh (and still allowed), else say it expired."""
    dialogues = context.services.dialogues
    assert update.effective_user is not None
    stored = dialogues.stored(update.effective_user.id)
    if stored is None or stored.kind not in STEPS:
        return ConversationHandler.END
    if not dialogues.fresh(stored):
        await dialogues.forget(stored.telegram_id)
        await expired(update, context, stored)
        return ConversationHandler.END
    dialogues.take_up(stored.telegram_id)
    allowed = STILL_ALLOWED.get(stored.kind)
    if handler not in FALLBACKS and allowed and not await allowed(update, context, stored.state):
        return ConversationHandler.END
    step = await handler.handle_update(update, application, check, context)
    return STEPS[stored.kind](stored.state) if step is None else step


async def expired(update: Update, context: AppContext, stored: Dialogue) -> None:
    """Say plainly that what the user sent was not taken, and how to start again."""
    await answer_query(update)
    texts = await context.texts(update)
    key = {INTAKE: "intake", COMPOSE: "thread", VISIT: "visits", REGISTRATION: "registration"}[
        stored.kind
    ]
    await send_here(update, context, texts(f"{key}.expired", number=stored.state.get("number")))


def handlers(timeout_seconds: float, bot_data: BotData) -> list[Handler]:
    """A fresh conversation per Application: it keeps who is where in memory, which must not
    outlive the Application (a restart forgets it; the drafts and dialogues stored remain).
    After timeout_seconds without an answer the conversation ends; the intake draft stays
    saved, a short dialogue is dropped."""
    return [
        Conversation(
            entry_points=[
                *intake.ENTRY_POINTS,
                *thread.ENTRY_POINTS,
                *visits.ENTRY_POINTS,
                *registration.ENTRY_POINTS,
                # Last, and only for a stored dialogue nobody took up since the start: with
                # allow_reentry the entry points are tried before the current state's.
                Resume(bot_data),
            ],
            states={
                **intake.STATES,
                **SHORT_STATES,
                # Run with the last update, which may be a button press as well as a message.
                ConversationHandler.TIMEOUT: [TypeHandler(Update, intake.timed_out)],
            },
            fallbacks=FALLBACKS,
            allow_reentry=True,
            conversation_timeout=timeout_seconds,
            name="requests",
        )
    ]
