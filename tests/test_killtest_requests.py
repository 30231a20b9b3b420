"""Smoke variant of bench/killtest.py: a few SIGKILLs of the bot while entrepreneurs file
requests and an official acknowledges, answers and resolves them.

Every receipt shown to a user (request number, acknowledged card, "sent", "resolved") must be
stored; the database stays sound.
"""

from __future__ import annotations

import random
from pathlib import Path

from bench.killtest import run


async def test_a_few_sigkills_lose_no_acknowledged_request_or_reply(tmp_path: Path) -> None:
    result = await run(3, 4, 1, random.Random(7), tmp_path, gaps=(3.0, 6.0), settle=8.0)
    seen = result.receipts
    assert seen.requests, "no user was shown a request number: the load never reached a receipt"
    assert seen.replies, "the official never got a reply through: the officials' side is untested"
    assert result.lost == {"requests": [], "acks": [], "replies": [], "resolves": []}
    assert result.integrity == "ok"
