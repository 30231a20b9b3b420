"""Take the README's sandbox screenshots with headless Chromium: python scripts/screenshots.py

Starts a fresh sandbox on a free loopback port and plays the walk-through (tests/walkthrough.py)
in the page, saving the pictures under docs/img/. Uses Debian's /usr/bin/chromium and its colour
emoji font (scripts/browser.sh installs both); never downloads a browser.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bot.config import Settings  # noqa: E402
from sandbox import Sandbox  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.walkthrough import WIDE, Walkthrough  # noqa: E402

OUT = ROOT / "docs" / "img"
TIMEOUT_MS = 15_000


async def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    settings = Settings.model_validate({"sandbox": {"port": 0}})
    async with Sandbox(settings) as sandbox, chromium() as browser:
        page = await browser.new_page(locale="zh-CN", viewport=WIDE, device_scale_factor=1)
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(sandbox.url)
        await page.wait_for_selector("body[data-ready]")
        print(f"sandbox at {sandbox.url}; screenshots:")
        taken = await Walkthrough(page, OUT).play()
    for path in taken:
        with Image.open(path) as image:
            size = f"{image.width}x{image.height}"
        print(f"  {path.relative_to(ROOT)}  {size}  {path.stat().st_size} B")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
