"""Taking up, after a restart, a dialogue kept in the one dialogue store (bot/dialogues.py, the
``dialogues`` table, and the intake's ``drafts``): one rule for every conversation — fresh, it
goes on at the step it had reached; else it is forgotten and the user told it expired.

A conversation keeps who is at which step in memory; every step is also written to the store.
:class:`TakeUp`, the last entry point of a conversation, takes the first update after a restart
of a user whose stored dialogue is of one of its kinds. The conversation of requests
(handlers/dialogues.py) has four kinds, the impostor report, the announcement composer and the
checks one each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, ConversationHandler

from bot.dialogues import Dialogues
from handlers.cards import answer_query, send_here
from handlers.context import AppContext, BotData
from handlers.journeys import Conversation, StoredStep
from storage.dialogues import Dialogue

Handler = BaseHandler[Any, Any, Any]
Step = Callable[[Mapping[str, Any]], object]
# What must still hold before a stored dialogue goes on (it says why not itself).
StillAllowed = Callable[[Update, AppContext, Mapping[str, Any]], Awaitable[bool]]


class TakeUp(StoredStep):
    """The first update, after a restart, of a user whose stored dialogue is of a kind in
    ``steps``: handled as the step it had reached (``steps[kind]`` of its state, or the
    fallbacks) would have handled it, once ``still_allowed[kind]`` (if any) agrees. A dialogue
    left longer than the timeout is forgotten and ``expired[kind]`` (a text key, given the
    request's ``number`` when the state has one) said."""

    def __init__(
        self,
        bot_data: BotData,
        *,
        steps: Mapping[str, Step],
        states: Mapping[object, Sequence[Handler]],
        fallbacks: Sequence[Handler],
        expired: Mapping[str, str],
        still_allowed: Mapping[str, StillAllowed] | None = None,
    ) -> None:
        super().__init__(self._never)
        self._bot_data = bot_data
        self.steps = steps
        self.states = states
        self.fallbacks = fallbacks
        self.expired = expired
        self.still_allowed = still_allowed or {}

    @staticmethod
    async def _never(update: Update, context: AppContext) -> None:  # handle_update is ours
        raise AssertionError("TakeUp handles its updates itself")

    def _stored(self, update: Update, dialogues: Dialogues) -> Dialogue | None:
        """The user's stored dialogue, if it is of this conversation's kinds."""
        assert update.effective_user is not None
        stored = dialogues.stored(update.effective_user.id)
        return stored if stored is not None and stored.kind in self.steps else None

    def check_update(self, update: object) -> tuple[Handler, object] | None:
        """The step's handler that takes the update, if the user has a stored dialogue here."""
        services = getattr(self._bot_data, "services", None)
        if services is None or not isinstance(update, Update) or update.effective_user is None:
            return None
        stored = self._stored(update, services.dialogues)
        if stored is None:  # none, or another conversation's
            return None
        step = self.steps[stored.kind](stored.state)
        for handler in [*self.states.get(step, ()), *self.fallbacks]:
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
        dialogues = context.services.dialogues
        stored = self._stored(update, dialogues)
        if stored is None:
            return ConversationHandler.END
        if not dialogues.fresh(stored):
            await dialogues.forget(stored.telegram_id)
            await answer_query(update)
            texts = await context.texts(update)
            number = stored.state.get("number")
            await send_here(update, context, texts(self.expired[stored.kind], number=number))
            return ConversationHandler.END
        dialogues.take_up(stored.telegram_id)
        allowed = self.still_allowed.get(stored.kind)
        if (
            handler not in self.fallbacks
            and allowed
            and not await allowed(update, context, stored.state)
        ):
            return ConversationHandler.END
        step = await handler.handle_update(update, application, check, context)
        return self.steps[stored.kind](stored.state) if step is None else step


def stored_conversation(
    bot_data: BotData,
    *,
    name: str,
    entry_points: Sequence[Handler],
    states: Mapping[object, Sequence[Handler]],
    fallbacks: Sequence[Handler],
    steps: Mapping[str, Step],
    expired: Mapping[str, str],
    still_allowed: Mapping[str, StillAllowed] | None = None,
    **options: Any,
) -> Conversation:
    """A conversation whose dialogues are kept in the store: its entry points, then (last, and
    only for a stored dialogue nobody took up since the start: with ``allow_reentry`` the entry
    points are tried before the current state's) the :class:`TakeUp` of its kinds. Fresh per
    Application: it keeps who is where in memory, which must not outlive the Application."""
    take_up = TakeUp(
        bot_data,
        steps=steps,
        states=states,
        fallbacks=fallbacks,
        expired=expired,
        still_allowed=still_allowed,
    )
    return Conversation(
        entry_points=[*entry_points, take_up],
        states=states,
        fallbacks=fallbacks,
        allow_reentry=True,
        name=name,
        **options,
    )
