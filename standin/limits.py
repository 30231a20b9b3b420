"""Flood control (429 with retry_after) and fault injection for tests.

Rate limits are counted over the sending methods; edits count against their chat only.
Paid broadcasts (``allow_paid_broadcast``) are counted in a window of their own, at up to
1000 a second, not in the 30-a-second one; each still counts against its chat.
A refused call spends nothing, so a bot that waits ``retry_after`` gets through.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from standin.errors import MIGRATED, ApiError, too_many_requests

SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "sendSticker",
        "sendVoice",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendDice",
        "copyMessages",
        "forwardMessages",
    }
)
EDITING = frozenset(
    {"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"}
)
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected error",
    403: "Forbidden: injected error",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class RateLimits:
    """Telegram-like flood limits; ``None`` switches a limit off."""

    global_per_second: float | None = 30
    paid_per_second: float | None = 1000
    per_chat_per_second: float | None = 1
    per_chat_burst: int = 3


class RateLimiter:
    """A sliding one-second window overall and a token bucket per chat."""

    def __init__(self, limits: RateLimits | None, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self.refused = 0
        self._recent: deque[float] = deque()
        self._recent_paid: deque[float] = deque()
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, method: str, chat_id: Any, *, paid: bool = False) -> None:
        """Count one call, or raise the 429 Telegram would answer. A paid broadcast counts
        in its own window instead of the overall one."""
        limits = self.limits
        counts_globally = method in SENDING
        if limits is None or not (counts_globally or method in EDITING):
            return
        now = self.clock()
        window, limit = (
            (self._recent_paid, limits.paid_per_second)
            if paid
            else (self._recent, limits.global_per_second)
        )
        waits = [_window_wait(window, limit, now) if counts_globally else 0.0]
        if chat_id is not None:
            waits.append(self._chat_wait(limits, str(chat_id), now))
        wait = max(waits)
        if wait > 0:
            self.refused += 1
            raise too_many_requests(max(1, math.ceil(wait)))
        if counts_globally and limit is not None:
            window.append(now)
        if chat_id is not None and limits.per_chat_per_second is not None:
            tokens, _ = self._buckets[str(chat_id)]
            self._buckets[str(chat_id)] = (tokens - 1, now)

    def _chat_wait(self, limits: RateLimits, chat: str, now: float) -> float:
        rate = limits.per_chat_per_second
        if rate is None:
            return 0.0
        tokens, last = self._buckets.get(chat, (float(limits.per_chat_burst), now))
        tokens = min(float(limits.per_chat_burst), tokens + (now - last) * rate)
        self._buckets[chat] = (tokens, now)
        return 0.0 if tokens >= 1 else (1 - tokens) / rate


def _window_wait(recent: deque[float], limit: float | None, now: float) -> float:
    """Seconds until a sliding one-second window of ``limit`` calls has room."""
    if limit is None:
        return 0.0
    while recent and recent[0] <= now - 1.0:
        recent.popleft()
    if len(recent) < limit:
        return 0.0
    return recent[0] + 1.0 - now


@dataclass
class Fault:
    """One injected failure or delay, for ``times`` matching calls."""

    method: str | None
    chat_id: Any
    times: int
    error: ApiError | None = None
    delay: float = 0.0

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


class Faults:
    """Injected errors and delays, used up in the order they were added."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add_error(
        self,
        method: str | None,
        *,
        chat_id: Any,
        error_code: int,
        description: str | None,
        retry_after: int | None,
        migrate_to_chat_id: int | None = None,
        times: int,
    ) -> None:
        if migrate_to_chat_id is not None:
            description = description or f"Bad Request: {MIGRATED}"
        if error_code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        description = description or DEFAULT_DESCRIPTIONS.get(error_code, "Injected error")
        error = ApiError(
            error_code,
            description,
            retry_after=retry_after,
            migrate_to_chat_id=migrate_to_chat_id,
        )
        self.pending.append(Fault(method, chat_id, times, error=error))

    def add_delay(self, method: str | None, *, seconds: float, chat_id: Any, times: int) -> None:
        self.pending.append(Fault(method, chat_id, times, delay=seconds))

    async def apply(self, method: str, params: dict[str, Any], closing: asyncio.Event) -> None:
        """Sleep for a matching delay, then raise a matching error, using each up once."""
        delay = self._take(method, params, want_error=False)
        if delay is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay.delay):
                    await closing.wait()
        failure = self._take(method, params, want_error=True)
        if failure is not None and failure.error is not None:
            raise failure.error

    def _take(self, method: str, params: dict[str, Any], *, want_error: bool) -> Fault | None:
        for fault in self.pending:
            if (fault.error is not None) == want_error and fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self.pending.remove(fault)
                return fault
        return None
