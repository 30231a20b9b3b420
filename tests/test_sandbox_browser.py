"""The sandbox page in headless Chromium: an entrepreneur starts the bot and presses a button."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import Settings
from sandbox import Sandbox, demo
from tests.browser import PHONE_LAYOUT, chromium, chromium_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_path() is None, reason="Debian's chromium is not installed (scripts/browser.sh)"
    ),
]
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
        assert await other.locator(".message.user").count() == 0, "each chat is its own user"
        assert problems == []
        assert sandbox.standin.errors == []


FORMATTED = (
    "<b>bold</b> <i>italic</i> <a href='https://example.org/'>link</a> <code>code</code>\n"
    "<pre>pre line</pre><blockquote>quoted</blockquote> <tg-spoiler>secret</tg-spoiler>"
)
# The smallest valid PNG: 1x1, one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


async def test_page_shows_what_the_bot_sends_and_acts_as_the_user(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Formatting, edits in place, deletions, photos, files, reply keyboards, language."""
    settings = Settings.model_validate(
        {"sandbox": {"port": 0}, "storage": {"path": str(tmp_path / "unused.sqlite3")}}
    )
    user_id = demo.SECOND_ENTREPRENEUR.telegram_id
    async with Sandbox(settings, clock=clock) as sandbox, chromium() as browser:
        assert sandbox.application is not None
        bot = sandbox.application.bot
        page = await browser.new_page(locale="en-US", viewport={"width": 390, "height": 800})
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(sandbox.url)
        await page.wait_for_selector("body[data-ready]")
        await page.click(f"#tab-{user_id}")
        chat = page.locator(f"#chat-{user_id}")
        assert await chat.is_visible() and not await page.locator(".chat").first.is_visible()
        assert await page.evaluate(PHONE_LAYOUT) == "[]"

        formatted = await bot.send_message(user_id, FORMATTED)
        text = chat.locator(".message.bot .text").first
        await text.locator("tg-spoiler, .tg-spoiler").wait_for()
        for selector in ("b", "i", "a[href='https://example.org/']", "code", "pre", "blockquote"):
            assert await text.locator(selector).count() == 1, selector
        await bot.edit_message_text("<b>edited</b> text", chat_id=user_id,
                                    message_id=formatted.message_id)  # fmt: skip
        await chat.locator(".message.bot .edited").wait_for()
        assert await chat.locator(".message.bot").count() == 1, "edited in place"
        assert await text.inner_text() == "edited text"

        gone = await bot.send_message(user_id, "to be deleted")
        await chat.locator(".message.bot", has_text="to be deleted").wait_for()
        await bot.delete_message(user_id, gone.message_id)
        await chat.locator(".message.bot", has_text="to be deleted").wait_for(state="detached")

        await bot.send_photo(user_id, PNG, caption="<i>a photo</i>")
        await bot.send_document(user_id, b"ledger", filename="ledger.csv")
        await chat.locator(".message.bot img.photo").wait_for()
        assert await chat.locator(".message.bot a.document").inner_text() == "📄 ledger.csv"

        share = {"text": "Pick", "request_users": {"request_id": 7, "request_name": True}}
        await bot.send_message(user_id, "who?", reply_markup={"keyboard": [[share], ["Plain"]]})
        await chat.locator(".keyboard button", has_text="Pick").click()
        await page.locator(f"#picker button[data-user='{demo.OFFICIAL.telegram_id}']").click()
        await chat.locator(".message.user .service", has_text="周明远").wait_for()
        await chat.locator(".keyboard button", has_text="Plain").click()
        await chat.locator(".message.user .text", has_text="Plain").wait_for()

        await chat.locator("input.file").set_input_files(
            {"name": "photo.png", "mimeType": "image/png", "buffer": PNG}
        )
        await chat.locator(".message.user img.photo").wait_for()
        await chat.locator("button[data-lang='en']").click()
        await chat.locator("button[data-lang='en'][aria-pressed='true']").wait_for()
        assert sandbox.standin.world.accounts[user_id].language_code == "en"
        assert sandbox.standin.errors == []
