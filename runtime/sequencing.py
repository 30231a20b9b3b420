"""Updates of one user in order, different users at the same time, floods kept out.

python-telegram-bot either processes every update one after the other, or all of them
concurrently. The first makes every user wait for everybody else's database writes and Bot
API calls; the second lets two updates of the same user race through a conversation. This
processor keeps a queue per user (per chat when there is no user): a user's updates are
handled strictly in the order they came, while other users' run alongside.

A user's updates wait in their own queue *before* they take one of the ``max_concurrent``
slots: python-telegram-bot's own semaphore (taken before :meth:`do_process_update`) is set out
of reach, so that one user's backlog never holds the slots other users need. A user who
sends far faster than a person types is judged by the :class:`~bot.flood.FloodGuard`: the
excess is dropped and ``on_flood`` answers the first dropped update once.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.flood import FloodGuard, Verdict

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64
# python-telegram-bot's semaphore, set out of reach: the slots are taken in do_process_update.
UNBOUNDED = 1_000_000

OnFlood = Callable[[Update], Awaitable[None]]


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = DEFAULT_CONCURRENCY,
        *,
        guard: FloodGuard | None = None,
        on_flood: OnFlood | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(UNBOUNDED)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._queued: dict[object, int] = {}  # updates holding or awaiting each user's lock
        self._guard = guard
        self._on_flood = on_flood
        self._now = now
        self.handled = 0  # updates taken and handled to the end, for the metrics

    @property
    def dropped(self) -> int:
        """Updates the flood guard dropped, for the metrics."""
        return 0 if self._guard is None else self._guard.dropped

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _key(update)
        verdict = self._judge(key, update)
        if verdict is not Verdict.TAKE:
            _discard(coroutine)
            if verdict is Verdict.WARN and isinstance(update, Update):
                await self._warn(key, update)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
            self.handled += 1
        finally:
            self._forget_if_idle(key)

    def _forget_if_idle(self, key: object) -> None:
        """Drop a user's lock once no update of theirs holds or awaits it.

        ``lock.locked()`` is no test of that: a released lock reads unlocked until the
        waiter it woke runs, and a lock dropped then would let the user's next update
        overtake the one still waiting."""
        left = self._queued.get(key, 1) - 1
        if left > 0:
            self._queued[key] = left
        else:
            self._queued.pop(key, None)
            self._locks.pop(key, None)

    def _judge(self, key: tuple[str, object], update: object) -> Verdict:
        if self._guard is None or not isinstance(update, Update) or key[0] != "user":
            return Verdict.TAKE
        now = self._now() if self._now is not None else asyncio.get_running_loop().time()
        message = update.effective_message
        album = message.media_group_id if message is not None else None
        return self._guard.judge(key, now, album=album)

    async def _warn(self, key: tuple[str, object], update: Update) -> None:
        log.warning("a %s sends faster than a person types: dropping the excess", key[0])
        if self._on_flood is None:
            return
        try:
            await self._on_flood(update)
        except Exception:
            log.exception("could not tell a flooding user to slow down")

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        self._locks.clear()
        self._queued.clear()


def _discard(coroutine: Awaitable[Any]) -> None:
    """A dropped update's handler coroutine is closed, never awaited."""
    if inspect.iscoroutine(coroutine):
        coroutine.close()


def _key(update: object) -> tuple[str, object]:
    """Whose queue an update joins: its user, else its chat, else its own."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("update", id(update))
