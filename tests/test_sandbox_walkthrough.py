"""The README's walk-through still plays in the sandbox page and gives every picture it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from sandbox import Sandbox
from tests.browser import chromium, chromium_path
from tests.walkthrough import WIDE, Walkthrough

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_path() is None, reason="Debian's chromium is not installed (scripts/browser.sh)"
    ),
]
ROOT = Path(__file__).resolve().parent.parent
PICTURE = re.compile(r"[\w-]+\.png")
TIMEOUT_MS = 15_000


def pictures_named_in(*documents: str) -> set[str]:
    return {name for doc in documents for name in PICTURE.findall((ROOT / doc).read_text())}


async def test_walkthrough_takes_every_picture_the_docs_show(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings.model_validate(
        {"sandbox": {"port": 0}, "storage": {"path": str(tmp_path / "unused.sqlite3")}}
    )
    async with Sandbox(settings, clock=clock) as sandbox, chromium() as browser:
        page = await browser.new_page(locale="zh-CN", viewport=WIDE)
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(sandbox.url)
        await page.wait_for_selector("body[data-ready]")
        taken = await Walkthrough(page, tmp_path).play()
        assert problems == []
        assert sandbox.standin.errors == []

    named = pictures_named_in("README.md", "docs/sandbox.md")
    assert {path.name for path in taken} == named
    assert named == {path.name for path in (ROOT / "docs" / "img").glob("*.png")}
    assert all(path.stat().st_size < 100_000 for path in taken), "pictures stay small"
