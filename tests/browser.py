"""Headless Chromium for the sandbox's page: Debian's system browser, driven by Playwright.

Never ``playwright install``: the browser is ``/usr/bin/chromium`` (``scripts/browser.sh``
installs it), started with no network features of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, async_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """The system Chromium, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    path = chromium_path()
    assert path is not None, "no chromium on PATH (scripts/browser.sh installs it)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


# Runs in the page: what is wrong with the layout at phone width (JSON list, empty when fine):
# the shown chat's composer must be on screen, the tabs and the page must not scroll sideways.
PHONE_LAYOUT = """() => {
  const problems = [];
  const composer = document.querySelector(".chat.active .composer").getBoundingClientRect();
  if (composer.bottom > window.innerHeight + 1) {
    problems.push(`composer ends at ${composer.bottom}px of ${window.innerHeight}px`);
  }
  const tabs = document.getElementById("tabs");
  if (tabs.scrollWidth > tabs.clientWidth + 1) problems.push("tabs scroll sideways");
  const page = document.documentElement;
  if (page.scrollWidth > window.innerWidth) problems.push("page scrolls sideways");
  return JSON.stringify(problems);
}"""
