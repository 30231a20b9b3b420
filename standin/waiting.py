"""A wake-up signal that plain (non-async) code can fire, and a wait-for-condition helper.

``asyncio.Condition.notify`` needs its lock, which sync code such as ``TestUser.block()``
cannot take; replacing an ``asyncio.Event`` on every notification gives the same "wake everyone
who is waiting now" without it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signal:
    """Wakes every coroutine currently waiting in :meth:`wait`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Wait for the next notification; False when ``seconds`` pass first."""
        event = self._event
        try:
            async with asyncio.timeout(seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True


async def wait_for(signal: Signal, probe: Callable[[], T | None], seconds: float) -> T | None:
    """Return ``probe()`` once it is not None, re-checking on every notification."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = probe()
        if found is not None:
            return found
        remaining = deadline - loop.time()
        if remaining <= 0:
            return None
        await signal.wait(remaining)
