"""Reading updates from Telegram without trusting them, for long polling and the webhook.

python-telegram-bot turns a getUpdates answer into ``Update`` objects all at once: one update
it cannot read fails the whole answer, which it logs at CRITICAL with the content of every
update in it (an invite link, a typed code) and fetches again at once, for ever, since the
offset never moves (issue 17 measured 42 MB of log in 23 s). Here each update is read on its
own (:func:`read_updates`): one that cannot be read is counted, logged by its ``update_id``
only, never its content, and skipped, the next offset moving past it.

:class:`PollGuard` keeps what the bot's ``get_updates`` needs between polls (see
``handlers/liaison_bot.py``): the offset past skipped updates, and a pause before polling
again, doubling from :data:`FIRST_PAUSE_SECONDS` up to :data:`MAX_PAUSE_SECONDS`, while polls
are stuck: answered 409 Conflict (another instance polling with this token), or bringing
back at once what cannot be skipped (an answer that is not a list of updates, an update with
no ``update_id``). Garbage with an id needs no pause: once skipped it is gone, and a pause
would only hold up the real updates queued behind it. Each kind of trouble gets one log
line, then at most one per :data:`LOG_INTERVAL_SECONDS` saying how many more there were: a
log never grows faster than that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from telegram import Bot, Update
from telegram.error import TelegramError

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 1.0
# The longest pause between two polls while something is wrong (python-telegram-bot's own
# limit for network errors is 30 s too).
MAX_PAUSE_SECONDS = 30.0
LOG_INTERVAL_SECONDS = 600.0
SHOWN_IDS = 5  # update ids named in one log line

CONFLICT = "conflict"
GARBAGE = "garbage"
FAILURE = "failure"


# --- Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadUpdate:
    """One update as read: the Update, or why not (``problem``: a class name, never content)."""

    update: Update | None
    update_id: int | None  # None when the value is not an update object with an integer id
    problem: str = ""


def update_id_of(data: object) -> int | None:
    """The integer ``update_id`` of an update object; None for anything else."""
    if not isinstance(data, dict):
        return None
    value = data.get("update_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def read_update(data: object, bot: Bot) -> ReadUpdate:
    """Turn one update's JSON into an Update, or say (without its content) why it cannot be."""
    update_id = update_id_of(data)
    if update_id is None:
        return ReadUpdate(None, None, "not an update object")
    try:
        update = Update.de_json(cast("dict[str, Any]", data), bot)
    except Exception as exc:  # whatever shape the library trips over; its message may quote
        return ReadUpdate(None, update_id, type(exc).__name__)  # the content: not kept
    return ReadUpdate(update, update_id)


@dataclass(frozen=True)
class ReadUpdates:
    """A getUpdates answer, read update by update."""

    updates: tuple[Update, ...]
    skipped: int = 0
    skipped_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    next_offset: int | None = None  # past every update with an id, read or skipped
    readable: bool = True  # False: the answer was not a list of updates at all


def read_updates(result: object, bot: Bot) -> ReadUpdates:
    if not isinstance(result, list):
        return ReadUpdates((), readable=False, problems=[type(result).__name__])
    updates: list[Update] = []
    skipped_ids: list[int] = []
    problems: list[str] = []
    highest: int | None = None
    for data in result:
        read = read_update(data, bot)
        if read.update_id is not None:
            highest = read.update_id if highest is None else max(highest, read.update_id)
        if read.update is not None:
            updates.append(read.update)
            continue
        if read.update_id is not None:
            skipped_ids.append(read.update_id)
        if read.problem not in problems:
            problems.append(read.problem)
    return ReadUpdates(
        tuple(updates),
        skipped=len(result) - len(updates),
        skipped_ids=skipped_ids,
        problems=problems,
        next_offset=None if highest is None else highest + 1,
    )


# --- Pacing and logging ----------------------------------------------------------------------


class Backoff:
    """Pauses that double from ``first`` up to ``maximum`` until reset."""

    def __init__(self, first: float, maximum: float) -> None:
        self._first = first
        self._maximum = maximum
        self._next = first

    def next(self) -> float:
        pause = self._next
        self._next = min(self._next * 2, self._maximum)
        return pause

    def reset(self) -> None:
        self._next = self._first


class LogThrottle:
    """One line per kind of trouble, then at most one per ``interval`` seconds.

    ``allow(key)`` answers whether to log now, and how many lines were held back since the
    last one (for that line to say so).
    """

    def __init__(self, interval: float, now: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._now = now
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str) -> tuple[bool, int]:
        now = self._now()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False, 0
        self._last[key] = now
        return True, self._held.pop(key, 0)

    def clear(self, key: str) -> None:
        """The trouble is over: the next one is logged at once."""
        self._last.pop(key, None)
        self._held.pop(key, None)


def held_note(count: int) -> str:
    return f" ({count} more since the last such line)" if count else ""


class PollGuard:
    """What the bot's ``get_updates`` keeps between polls: the offset past skipped updates,
    the pause before the next poll, the counts, and when to log."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self.skipped_updates = 0
        self.conflicts = 0
        self.failures = 0
        self._failed_in_row = 0
        self._offset: int | None = None
        self._garbage = Backoff(FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS)
        self._conflict = Backoff(FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS)
        self._log = LogThrottle(LOG_INTERVAL_SECONDS, now)

    def offset(self, requested: int | None) -> int | None:
        """The offset to ask for: the Updater's, moved past updates skipped here (the
        Updater only knows the updates it was given)."""
        if self._offset is None or (requested is not None and requested < 0):
            return requested
        return self._offset if requested is None else max(requested, self._offset)

    def answered(self, result: object, bot: Bot) -> tuple[tuple[Update, ...], float]:
        """Read a getUpdates answer: the updates to handle, and the pause before the next
        poll (0 unless the poll was stuck)."""
        self._conflict.reset()
        if self._failed_in_row:
            log.info("getUpdates answers again after %d failed calls", self._failed_in_row)
            self._failed_in_row = 0
            self._log.clear(FAILURE)
        read = read_updates(result, bot)
        if read.next_offset is not None:
            self._offset = max(self._offset or 0, read.next_offset)
        # Stuck: the answer is not a list, or it holds only updates without an id to move the
        # offset past, so the next poll would bring the same at once. Garbage with ids is
        # gone once skipped: pausing then would only hold up the updates queued behind it.
        stuck = not read.readable or (read.skipped > 0 and read.next_offset is None)
        pause = self._garbage.next() if stuck else 0.0
        if not stuck:
            self._garbage.reset()
        if not read.readable:
            allowed, held = self._log.allow(GARBAGE)
            if allowed:
                log.warning(
                    "getUpdates answered something that is not a list of updates (%s);"
                    " ignored, polling again in %.0f s%s",
                    ", ".join(read.problems),
                    pause,
                    held_note(held),
                )
            return (), pause
        if read.skipped:
            self.skipped_updates += read.skipped
            allowed, held = self._log.allow(GARBAGE)
            if allowed:
                shown = ", ".join(map(str, read.skipped_ids[:SHOWN_IDS]))
                more = len(read.skipped_ids) - SHOWN_IDS
                log.warning(
                    "skipped %d update%s that could not be read (update_id %s%s: %s);"
                    " content not logged; %d skipped since start%s%s",
                    read.skipped,
                    "" if read.skipped == 1 else "s",
                    shown or "unknown",
                    f" and {more} more" if more > 0 else "",
                    ", ".join(read.problems),
                    self.skipped_updates,
                    f"; polling again in {pause:.0f} s" if pause else "",
                    held_note(held),
                )
        return read.updates, pause

    def conflicted(self, error: TelegramError) -> float:
        """409 Conflict: another poller on this token (or a webhook set meanwhile)."""
        self.conflicts += 1
        pause = self._conflict.next()
        allowed, held = self._log.allow(CONFLICT)
        if allowed:
            log.warning(
                "getUpdates answered 409 (%s): another instance is using this bot's token,"
                " and only one may poll; polling again in %.0f s, then less often (every"
                " %.0f s at most) while it lasts%s",
                error.message,
                pause,
                MAX_PAUSE_SECONDS,
                held_note(held),
            )
        return pause

    def unreadable(self, error: Exception) -> float:
        """An answer the request layer could not take apart (e.g. no "result")."""
        pause = self._garbage.next()
        allowed, held = self._log.allow(GARBAGE)
        if allowed:
            log.warning(
                "getUpdates answered something unreadable (%s); ignored, polling again in %.0f s%s",
                type(error).__name__,
                pause,
                held_note(held),
            )
        return pause

    def failed(self, error: TelegramError) -> None:
        """A failed getUpdates call (network, server): python-telegram-bot retries it with
        its own backoff; here it only gets its line instead of a traceback per call."""
        self.failures += 1
        self._failed_in_row += 1
        allowed, held = self._log.allow(FAILURE)
        if allowed:
            log.warning(
                "getUpdates failed (%s: %s); retrying%s",
                type(error).__name__,
                error.message,
                held_note(held),
            )
