"""The short dialogues: writing on a request, recording a site visit, registering an enterprise,
reporting an impostor, composing an announcement, checking a code or a number.

Who is in which, and what they have told it so far, is read from memory while the bot runs;
every step is also written to the database (one statement), so that a restart forgets nothing.
At start the stored dialogues are loaded; each waits there until its user's next update takes
it up (fresh) or finds it expired, or until the user starts something else (see
handlers/journeys.py, which calls :meth:`Dialogues.leave`) or cancels.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from bot.clock import Clock
from bot.uow import UnitOfWork
from storage.dialogues import INTAKE, Dialogue, DialogueRepository

COMPOSE, VISIT, REGISTRATION = "compose", "visit", "registration"
# Dialogues of conversations of their own (handlers/stored_dialogue.py takes every kind up).
REPORT, BROADCAST, VERIFY = "report", "broadcast", "verify"
__all__ = [
    "BROADCAST",
    "COMPOSE",
    "INTAKE",
    "REGISTRATION",
    "REPORT",
    "VERIFY",
    "VISIT",
    "Dialogues",
]


class Dialogues:
    """One dialogue per user: starting one replaces any other."""

    def __init__(
        self, repository: DialogueRepository, clock: Clock, *, timeout: timedelta, uow: UnitOfWork
    ) -> None:
        self._repository = repository
        self._uow = uow
        self._clock = clock
        self._timeout = timeout
        self._live: dict[int, Dialogue] = {}
        self._stored: dict[int, Dialogue] = {}  # from before the start, not taken up yet

    async def load(self) -> None:
        """Read the dialogues a previous run left, to be taken up by their users: the short
        ones, and the intake drafts still fresh (an older draft waits for /new). A user with
        both is where they went last."""
        since = self._clock.now() - self._timeout
        found = [*await self._repository.all(), *await self._repository.drafts_since(since)]
        self._stored = {}
        for dialogue in sorted(found, key=lambda d: d.updated_at):
            self._stored[dialogue.telegram_id] = dialogue

    def current(self, telegram_id: int) -> Dialogue | None:
        """The dialogue the user is in since the bot started."""
        return self._live.get(telegram_id)

    def stored(self, telegram_id: int) -> Dialogue | None:
        """The dialogue the user was in when the bot stopped, if nothing has replaced it."""
        return self._stored.get(telegram_id)

    def fresh(self, dialogue: Dialogue) -> bool:
        """Whether the dialogue may still go on: it was touched within the timeout."""
        return self._clock.now() - dialogue.updated_at < self._timeout

    def take_up(self, telegram_id: int) -> Dialogue | None:
        """Make the stored dialogue the user's current one again."""
        dialogue = self._stored.pop(telegram_id, None)
        if dialogue is not None and dialogue.kind != INTAKE:  # the intake is the default
            self._live[telegram_id] = dialogue
        return dialogue

    async def enter(self, telegram_id: int, kind: str, state: Mapping[str, Any]) -> None:
        """Start dialogue ``kind``, leaving any other."""
        dialogue = Dialogue(telegram_id, kind, dict(state), self._clock.now())
        await self._repository.save(dialogue)
        self._stored.pop(telegram_id, None)
        self._live[telegram_id] = dialogue

    async def advance(self, telegram_id: int, **changes: Any) -> None:
        """Add what the user just told the current dialogue to its state."""
        current = self._live.get(telegram_id)
        if current is not None:
            await self.enter(telegram_id, current.kind, {**current.state, **changes})

    async def forget(self, telegram_id: int) -> bool:
        """Leave the dialogue, here and in the database; whether the user was in one."""
        had = self._live.pop(telegram_id, None) or self._stored.pop(telegram_id, None)
        if had is not None:
            await self._repository.delete(telegram_id)
        return had is not None

    async def leave(self, telegram_id: int, *, was_in: bool) -> None:
        """The user started another journey: end their dialogue wherever it is kept. A short
        one is forgotten; the intake's draft stays for the next /new, but is no longer taken up
        by itself after a restart. ``was_in``: a conversation held a state for the user; with
        neither that nor anything kept here, there is nothing to write."""
        live = self._live.pop(telegram_id, None)
        stored = self._stored.pop(telegram_id, None)
        if was_in or live is not None or stored is not None:
            async with self._uow.transaction() as tx:
                await self._repository.leave(tx, telegram_id, self._clock.now())

    def drop(self, telegram_id: int) -> None:
        """Forget the user's dialogue in memory only (their rows were erased)."""
        self._live.pop(telegram_id, None)
        self._stored.pop(telegram_id, None)
