"""Taking up, after a restart, a dialogue of one conversation of its own (the impostor report,
the announcement composer): the same store as the conversation of requests (bot/dialogues.py,
the ``dialogues`` table), the same rule (fresh, else it says it expired).

The conversation keeps who is at which step in memory; every step is also written to the
store. :class:`TakeUp`, the last entry point of such a conversation, takes the first update
after a restart of a user whose stored dialogue is of its kind, at the step the state shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, ConversationHandler

from handlers.cards import answer_query, send_here
from handlers.context import AppContext, BotData
from handlers.journeys import StoredStep

Handler = BaseHandler[Any, Any, Any]


class TakeUp(StoredStep):
    """The first update, after a restart, of a user whose stored dialogue is ``kind``: handled
    as the step it had reached (``step`` of its state, or the fallbacks) would have handled it;
    a dialogue left longer than the timeout is forgotten and ``expired`` (a text key) said."""

    def __init__(
        self,
        bot_data: BotData,
        kind: str,
        step: Callable[[Mapping[str, Any]], object],
        states: Mapping[object, Sequence[Handler]],
        fallbacks: Sequence[Handler],
        expired: str,
    ) -> None:
        super().__init__(self._never)
        self._bot_data = bot_data
        self.kind = kind
        self.step = step
        self.states = states
        self.fallbacks = fallbacks
        self.expired = expired

    @staticmethod
    async def _never(update: Update, context: AppContext) -> None:  # handle_update is ours
        raise AssertionError("TakeUp handles its updates itself")

    def check_update(self, update: object) -> tuple[Handler, object] | None:
        services = getattr(self._bot_data, "services", None)
        if services is None or not isinstance(update, Update) or update.effective_user is None:
            return None
        stored = services.dialogues.stored(update.effective_user.id)
        if stored is None or stored.kind != self.kind:
            return None
        for handler in [*self.states.get(self.step(stored.state), ()), *self.fallbacks]:
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
        assert update.effective_user is not None
        stored = dialogues.stored(update.effective_user.id)
        if stored is None or stored.kind != self.kind:
            return ConversationHandler.END
        if not dialogues.fresh(stored):
            await dialogues.forget(stored.telegram_id)
            await answer_query(update)
            texts = await context.texts(update)
            await send_here(update, context, texts(self.expired))
            return ConversationHandler.END
        dialogues.take_up(stored.telegram_id)
        step = await handler.handle_update(update, application, check, context)
        return self.step(stored.state) if step is None else step
