"""The event loop the bot runs on: uvloop where it is installed, asyncio's own otherwise.

The bot is CPU-bound on its event loop under load (docs/requests.md, "Where the time goes"):
scheduling callbacks and socket I/O took about a fifth of its CPU on asyncio's pure-Python
loop. uvloop (libuv, in C) runs the same code unchanged in a fraction of that. It is a
dependency on Linux and macOS; elsewhere the standard loop is used.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


def use_fast_event_loop() -> bool:
    """Make new event loops uvloop's; whether it is available."""
    try:
        import uvloop
    except ImportError:
        log.info("uvloop is not installed: running on asyncio's own event loop")
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
