"""Smoke variant of bench/killtest.py: a few SIGKILLs of the bot while entrepreneurs file
requests and an official acknowledges, answers and resolves them.

Every receipt shown to a user (request number, acknowledged card, "sent", "resolved") must be
stored; every stored request's receipt and every reply must reach its reader (a repeat marked
"（重发）"); the database stays sound.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench.killtest import Receipts, run

pytestmark = pytest.mark.slow  # an end-to-end suite: `./test -m "not slow"` skips it


async def test_a_few_sigkills_lose_no_acknowledged_request_or_reply(tmp_path: Path) -> None:
    result = await run(
        3, 4, 1, random.Random(7), tmp_path, gaps=(3.0, 6.0), settle=40.0, until=worked
    )
    seen = result.receipts
    assert seen.requests, f"the load never reached a receipt: {result}"
    assert seen.replies, f"the official never got a reply through: {result}"
    assert result.lost == {"requests": [], "acks": [], "replies": [], "resolves": []}
    assert result.integrity == "ok"
    # What users received: every stored request's receipt, every reply told "sent" and every
    # stored reply; a repeat only with the "resent" mark.
    received = result.delivered
    assert received is not None
    for copies in (received.receipts, received.replies, received.stored_replies):
        assert copies.expected and copies.lost == [], f"{copies}"
        assert copies.unmarked_repeats == 0, f"{copies}"


def worked(receipts: Receipts) -> bool:
    """Both sides got something done: a request filed and a reply sent."""
    return bool(receipts.requests and receipts.replies)
