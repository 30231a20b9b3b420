"""The sandbox page in headless Chromium: an entrepreneur starts the bot and presses a button."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import demo
from bot.clock import FakeClock
from bot.config import Settings
from bot.sandbox import Sandbox
from tests.browser import chromium, chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None, reason="Debian's chromium is not installed (scripts/browser.sh)"
)
TIMEOUT_MS = 10_000


async def test_entrepreneur_starts_and_presses_a_button(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings.model_validate(
        {"sandbox": {"port": 0}, "storage": {"path": str(tmp_path / "unused.sqlite3")}}
    )
    async with Sandbox(settings, clock=clock) as sandbox, chromium() as browser:
        page = await browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 800})
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        await page.goto(sandbox.url)
        await page.wait_for_selector("body[data-ready]")
        chat = page.locator(f"#chat-{demo.ENTREPRENEUR.telegram_id}")

        await chat.locator("input.text").fill("/start")
        await chat.locator("input.text").press("Enter")
        greeting = chat.locator(".message.bot").first
        await greeting.locator(".text b").wait_for()
        assert await greeting.locator(".text b").inner_text() == "沈阳远航精密机械有限公司"
        assert "您好" in await greeting.locator(".text").inner_text()
        assert await chat.locator(".message.user .text").first.inner_text() == "/start"

        await greeting.locator(".inline-keyboard button", has_text="帮助").click()
        help_text = chat.locator(".message.bot").nth(1).locator(".text")
        await help_text.locator("b").wait_for()
        assert await help_text.locator("b").inner_text() == "企业"
        assert "核验官员身份" in await help_text.inner_text()

        other = page.locator(f"#chat-{demo.OFFICIAL.telegram_id}")
        assert await other.locator(".message").count() == 0, "each chat is its own user"
        assert problems == []
        assert sandbox.standin.errors == []
