"""The sandbox page in headless Firefox: an entrepreneur starts the bot and presses a button."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from sandbox import Sandbox, demo
from tests.browser import PHONE_LAYOUT
from tests.firefox import ENTER, firefox, firefox_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        firefox_path() is None, reason="Debian's firefox-esr is not installed (scripts/browser.sh)"
    ),
]


async def test_entrepreneur_starts_and_presses_a_button(tmp_path: Path, clock: FakeClock) -> None:
    """Then, at phone width, one chat shows at a time with its composer on screen."""
    settings = Settings.model_validate(
        {"sandbox": {"port": 0}, "storage": {"path": str(tmp_path / "unused.sqlite3")}}
    )
    async with Sandbox(settings, clock=clock) as sandbox, firefox() as page:
        await page.goto(sandbox.url)
        await page.wait_for("body[data-ready]")
        chat = f"#chat-{demo.ENTREPRENEUR.telegram_id}"
        assert await page.count(".chat") == len(demo.PERSONAS)

        await page.click(f"{chat} input.text")
        await page.type("/start" + ENTER)
        greeting = f"{chat} .message.bot:nth-child(2)"
        assert await page.text(f"{chat} .message.user .text") == "/start"
        assert await page.text(f"{greeting} .text b") == "沈阳远航精密机械有限公司"
        assert "您好" in await page.text(f"{greeting} .text")

        await page.click(f"{greeting} .inline-keyboard button", "帮助")
        help_text = f"{chat} .message.bot:nth-child(3) .text"
        assert await page.text(f"{help_text} b") == "企业"
        assert "核验官员身份" in await page.text(help_text)
        other = f"#chat-{demo.OFFICIAL.telegram_id}"
        assert await page.count(f"{other} .message.user") == 0, "each chat is its own user"

        await page.resize(390, 780)
        await page.click(f"#tab-{demo.OFFICIAL.telegram_id}")
        await page.wait_for(f"{other}.active")
        shown = "() => [...document.querySelectorAll('.chat')].filter((c) => c.offsetParent).length"
        assert (await page.call(shown))["value"] == 1
        assert (await page.call(PHONE_LAYOUT))["value"] == "[]"
        assert page.errors == []
        assert sandbox.standin.errors == []
