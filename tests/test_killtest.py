"""SIGKILL of the whole bot process mid-broadcast: it resumes by itself on restart.

The bot runs as a real subprocess (``python -m bot run``) against the stand-in with Telegram's
flood limits; the broadcast is killed part-way, a new process is started on the same database,
and each recipient must have the announcement at most twice, with at most
``duplicate_bound`` recipients twice (the documented bound: the recipients that can be in
``sending``) and none missing.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bench.broadcasts import (
    FIRST_RECIPIENT,
    delivered,
    resumed_within_bound,
    seed,
    start_bot,
    status_of,
    write_config,
)
from bot.broadcasts import BroadcastStatus
from standin import RateLimits, TelegramStandin

pytestmark = pytest.mark.slow  # an end-to-end suite: `./test -m "not slow"` skips it

RECIPIENTS = 200
DEADLINE_SECONDS = 40.0
# The stand-in counts flood-limit hits on its own clock, in this test's process: on a loaded
# machine its event loop can stall and then take several paced requests in one window. A sender
# that ignored the pace would hit the limit on hundreds of the 200+ sends, so a handful still
# proves the pacing; on an idle machine the count is 0.
TOLERATED_FLOOD_HITS = 5


async def test_sigkill_mid_broadcast_resumes_without_duplicates(tmp_path: Path) -> None:
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    db_path = tmp_path / "kill.sqlite3"
    broadcast_id = await seed(db_path, RECIPIENTS)
    ids = range(FIRST_RECIPIENT, FIRST_RECIPIENT + RECIPIENTS)
    for user_id in ids:
        standin.user(user_id, started=True, language_code="zh-hans")
    config = write_config(tmp_path, standin, db_path)
    with config.open("a", encoding="utf-8") as out:  # resume on the first tick, not 5 s later
        out.write("[broadcast]\ntick_seconds = 0.5\n")
    bot = start_bot(config, tmp_path / "bot.log")
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while sum(delivered(standin, ids)) < RECIPIENTS * 0.3:
            assert bot.poll() is None, (tmp_path / "bot.log").read_text()
            assert time.monotonic() < deadline, "the broadcast did not start"
            await asyncio.sleep(0.05)
        bot.send_signal(signal.SIGKILL)
        await asyncio.to_thread(bot.wait, 10)
        before = sum(delivered(standin, ids))
        assert before < RECIPIENTS
        bot = start_bot(config, tmp_path / "bot.log")
        while await status_of(db_path, broadcast_id) is not BroadcastStatus.DONE:
            assert bot.poll() is None, (tmp_path / "bot.log").read_text()
            assert time.monotonic() < deadline, "the broadcast did not resume"
            await asyncio.sleep(0.2)
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.to_thread(bot.wait, 30)
        await standin.stop()
    counts = delivered(standin, ids)
    assert resumed_within_bound(counts), f"never: {counts.count(0)}, twice: {counts.count(2)}"
    assert standin.rate_limited <= TOLERATED_FLOOD_HITS
