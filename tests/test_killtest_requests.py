"""Smoke variant of bench/killtest.py: a few SIGKILLs of the bot while entrepreneurs file requests.

Every request number shown to a user must be stored with its history; the database stays sound.
"""

from __future__ import annotations

import random
from pathlib import Path

from bench.killtest import run


async def test_a_few_sigkills_lose_no_acknowledged_request(tmp_path: Path) -> None:
    seen, lost, integrity = await run(3, 4, random.Random(7), tmp_path)
    assert seen > 0, "no user was shown a request number: the load never reached a receipt"
    assert lost == 0
    assert integrity == "ok"
