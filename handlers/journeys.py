"""One rule for every dialogue: a user is in at most one, the one they started last.

A dialogue is a conversation that takes what the user types: checking a spoken code (/verify)
or a number (/check), reporting an impostor (/report), composing an announcement (/broadcast),
and the conversation of requests (the intake /new, writing on a request, a site visit /visit,
registering an enterprise /register). Where a user stands in one is kept in up to three stores:
the state of its ConversationHandler (memory), bot/dialogues.py (memory, the ``dialogues``
table, and the intake's draft in ``drafts``: the conversation of requests, the impostor report,
the announcement being composed, the code or number check), and ``user_data`` (none now).

python-telegram-bot keeps each ConversationHandler's states apart: an update one of them does
not take goes on to the next, and a conversation the user walked away from keeps its state. A
user who typed /verify and then /new was in both, and the code check, first in line, took every
line of the description ("a code has 8 digits"). Hence the rule, applied here and nowhere else:
an update that starts a journey ends every dialogue of its user, in every store, before any
other handler sees it. A journey starts with

- any command, but those the dialogue the user is in takes as one of its steps (/cancel, /skip);
- any menu button;
- any button that opens a dialogue (an entry point of one: 💬 reply on a request's card,
  ⏰ schedule on an announcement's preview).

The journey then goes as it would from nowhere: the dialogue it opens (if it opens one) starts
afresh. The intake's draft is not thrown away (the next /new offers it, as after a timeout), but
it is no longer taken up by itself after a restart.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Any

from telegram import Update
from telegram.ext import Application, BaseHandler, ConversationHandler, filters
from telegram.warnings import PTBUserWarning

from handlers.context import AppContext
from handlers.menu import MenuAction

Handler = BaseHandler[Any, Any, Any]


class Taken(Enum):
    """What a dialogue makes of an update."""

    START = "start"  # one of its entry points: the update opens it
    STEP = "step"  # the step the user is at (or its fallbacks: /cancel) takes it


class StoredStep(BaseHandler[Any, Any, Any]):
    """An entry point that takes up a dialogue stored before a restart
    (handlers/stored_dialogue.py, ``TakeUp``): what it takes is a step of that dialogue, not the
    start of a journey."""


@dataclass(slots=True)
class _TimeoutData:
    """What python-telegram-bot's ``_trigger_timeout`` reads of a time-out (as its own
    ``_ConversationTimeoutContext``): whose conversation, and the update and context its
    TIMEOUT handlers run with."""

    conversation_key: Any
    update: Update
    application: Application[Any, Any, Any, Any, Any, Any]
    callback_context: Any


class _Timeout:
    """A conversation's pending time-out as a timer on the event loop.

    python-telegram-bot makes each one a JobQueue (APScheduler) job: a job object, a trigger,
    a uuid and the scheduler woken, on every step of every dialogue, and the job removed again
    at the next step; about a tenth of the bot's CPU on the requests benchmark
    (docs/requests.md). This offers what the conversation uses of a job: ``data``,
    ``schedule_removal()``, and being the ``job`` of the context ``_trigger_timeout`` gets."""

    __slots__ = ("data", "handle")

    def __init__(self, data: _TimeoutData) -> None:
        self.data = data
        self.handle: asyncio.TimerHandle | None = None

    @property
    def job(self) -> _Timeout:
        """``_trigger_timeout(context)`` reads ``context.job``: this is its own context."""
        return self

    def schedule_removal(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


class Conversation(ConversationHandler[Any]):
    """A dialogue: a ConversationHandler that a new journey can end, with the ``user_data``
    keys it keeps its answers under (ended with it).

    Conversations are per user and chat, not per message (``per_message=False``): their
    states take typed messages as well as button presses, which a per-message conversation
    cannot see; the buttons are matched by their prefix and each callback checks them again.
    PTB warns about that choice; it is made on purpose.

    A silent conversation times out (``conversation_timeout``) by a timer on the event loop
    rather than a JobQueue job (:class:`_Timeout`); what runs then is the library's own
    ``_trigger_timeout``, as with a job, and not once the application has stopped.
    """

    def __init__(self, *, user_data_keys: Iterable[str] = (), **kwargs: Any) -> None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
            super().__init__(per_message=False, **kwargs)
        self.user_data_keys = tuple(user_data_keys)

    def _schedule_job(
        self,
        new_state: object,
        application: Application[Any, Any, Any, Any, Any, Any],
        update: Update,
        context: Any,
        conversation_key: Any,
    ) -> None:
        if new_state == self.END or self.conversation_timeout is None:
            return
        timeout = self.conversation_timeout
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        job = _Timeout(_TimeoutData(conversation_key, update, application, context))
        job.handle = asyncio.get_running_loop().call_later(seconds, self._time_out, job)
        self.timeout_jobs[conversation_key] = job  # type: ignore[assignment]

    def _time_out(self, job: _Timeout) -> None:
        """The timer went off: run the TIMEOUT handlers as a task of the application (its
        errors go to the error handler, as a job's do)."""
        application = job.data.application
        if application.running:
            application.create_task(self._trigger_timeout(job))

    def taken_as(self, update: Update) -> Taken | None:
        """Whether this dialogue would open with the update, take it as a step, or leave it.

        Asks the conversation itself (entry points first, as ``allow_reentry`` has them, then
        the user's state, then the fallbacks), so the answer is the one it will act on."""
        check = self.check_update(update)
        if check is None:
            return None
        handler = check[2]
        if handler in self.entry_points and not isinstance(handler, StoredStep):
            return Taken.START
        return Taken.STEP

    async def leave(self, update: Update, user_data: MutableMapping[Any, Any] | None) -> bool:
        """End the user's conversation here: its state, its pending timeout, its user_data.
        Whether the user was in it."""
        key = self._get_key(update)
        was_in = key in self._conversations
        self._update_state(self.END, key)
        async with self._timeout_jobs_lock:
            job = self.timeout_jobs.pop(key, None)
        if job is not None:
            job.schedule_removal()
        if user_data is not None:
            for name in self.user_data_keys:
                user_data.pop(name, None)
        return was_in


MENU = MenuAction.pattern()


def _is_menu_button(update: Update) -> bool:
    query = update.callback_query
    return query is not None and query.data is not None and bool(MENU.match(query.data))


class JourneyStart(BaseHandler[Any, Any, Any]):
    """Runs before every other handler (in its own group, after the chat guards) and stops
    nothing: when the update starts a journey, the user first leaves every dialogue."""

    def __init__(self, conversations: Iterable[Conversation]) -> None:
        self.conversations = tuple(conversations)
        super().__init__(self.leave_dialogues)

    def check_update(self, update: object) -> bool | None:
        if not isinstance(update, Update) or update.effective_user is None:
            return None
        if update.effective_chat is None:
            return None  # a button under an inline-mode message: no conversation has it
        if update.message is None and update.callback_query is None:
            return None  # an edit, a membership change: nobody starts anything with those
        taken = {conversation.taken_as(update) for conversation in self.conversations}
        if Taken.START in taken:
            return True
        if Taken.STEP in taken:
            return None
        if update.message is not None:
            return bool(filters.COMMAND.check_update(update)) or None
        return _is_menu_button(update) or None

    async def leave_dialogues(self, update: Update, context: AppContext) -> None:
        """End every dialogue of the user, in every store. The database is written only if
        the user was in one: a command outside any dialogue costs nothing."""
        left = [await c.leave(update, context.user_data) for c in self.conversations]
        assert update.effective_user is not None
        await context.services.dialogues.leave(update.effective_user.id, was_in=any(left))


def install(app: Application[Any, Any, Any, Any, Any, Any], group: int) -> None:
    """Put the rule in ``group`` (which must run before the groups of the dialogues), over
    every conversation registered so far; refuse a ConversationHandler that is not a
    :class:`Conversation`, which the rule could not end."""
    found: list[Conversation] = []
    for handlers in app.handlers.values():
        for handler in handlers:
            if isinstance(handler, Conversation):
                found.append(handler)
            elif isinstance(handler, ConversationHandler):
                raise TypeError(f"{handler.name}: a dialogue must be a journeys.Conversation")
    app.add_handler(JourneyStart(found), group=group)
