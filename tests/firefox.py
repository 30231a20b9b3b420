"""Headless Firefox for the sandbox's page, driven over WebDriver BiDi.

Debian's ``firefox-esr`` speaks WebDriver BiDi itself (``--remote-debugging-port``), so there is
no geckodriver and nothing to download: this is a small client over aiohttp's websocket with just
what the page's test needs (navigate, wait for an element, click it and type as a user would,
read text). ``scripts/browser.sh`` installs the browser. The profile is fresh and temporary, and
the remote agent's recommended preferences (on by default) keep the browser from calling home.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")
TIMEOUT_S = 10.0
PREFS = {
    "intl.accept_languages": "zh-CN, zh",
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.page": 0,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
}
# Runs in the page: the first element matching the selector (and containing the text), once it
# exists, scrolled into view; rejects after the time-out. Polls on animation frames so that
# waiting costs the test nothing but the browser's own time.
FIND = """(selector, text, timeoutMs) => new Promise((resolve, reject) => {
  const deadline = performance.now() + timeoutMs;
  const look = () => {
    const found = [...document.querySelectorAll(selector)]
      .find((node) => node.textContent.includes(text));
    if (found) { found.scrollIntoView({ block: "center" }); resolve(found); }
    else if (performance.now() > deadline) reject(new Error(`no ${selector} with "${text}"`));
    else requestAnimationFrame(look);
  };
  look();
})"""
ENTER = "\ue007"


class BiDiError(Exception):
    """The browser answered a command with an error."""


Node = dict[str, Any]
"""A BiDi remote reference to an element of the page (its ``sharedId``)."""


def local_value(value: str | float | Node) -> dict[str, Any]:
    """A function argument as BiDi serialises it."""
    if isinstance(value, dict):
        return {"sharedId": value["sharedId"]}
    if isinstance(value, str):
        return {"type": "string", "value": value}
    return {"type": "number", "value": value}


def firefox_path() -> str | None:
    """The system Firefox, or None when it is not installed."""
    return shutil.which("firefox-esr") or shutil.which("firefox")


class FirefoxPage:
    """One tab of a WebDriver BiDi session."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.context = ""
        self.errors: list[str] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.socket:
            message = json.loads(frame.data)
            future = self._waiting.pop(message.get("id", 0), None)
            if future is not None and not future.done():
                future.set_result(message)
            elif message.get("method") == "log.entryAdded":
                entry = message["params"]
                if entry.get("level") == "error":
                    self.errors.append(entry.get("text", ""))
        for future in self._waiting.values():
            future.set_exception(BiDiError("the browser closed the connection"))

    async def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self.socket.send_json({"id": number, "method": method, "params": params})
        answer = await asyncio.wait_for(future, TIMEOUT_S * 2)
        if answer.get("type") == "error":
            raise BiDiError(f"{method}: {answer['error']}: {answer.get('message')}")
        result: dict[str, Any] = answer["result"]
        return result

    async def open(self, width: int, height: int) -> None:
        await self.command("session.subscribe", {"events": ["log.entryAdded"]})
        self.context = (await self.command("browsingContext.create", {"type": "tab"}))["context"]
        await self.resize(width, height)

    async def resize(self, width: int, height: int) -> None:
        viewport = {"width": width, "height": height}
        await self.command(
            "browsingContext.setViewport", {"context": self.context, "viewport": viewport}
        )

    async def goto(self, url: str) -> None:
        params = {"context": self.context, "url": url, "wait": "complete"}
        await self.command("browsingContext.navigate", params)

    async def call(self, function: str, *args: str | float | Node) -> dict[str, Any]:
        """Call a JavaScript function in the page; its BiDi remote value."""
        answer = await self.command(
            "script.callFunction",
            {
                "functionDeclaration": function,
                "arguments": [local_value(a) for a in args],
                "awaitPromise": True,
                "target": {"context": self.context},
            },
        )
        if answer["type"] == "exception":
            raise BiDiError(answer["exceptionDetails"]["text"])
        result: dict[str, Any] = answer["result"]
        return result

    async def wait_for(self, selector: str, text: str = "") -> Node:
        """The element (a BiDi node reference) once it is in the page."""
        return await self.call(FIND, selector, text, TIMEOUT_S * 1000)

    async def text(self, selector: str, text: str = "") -> str:
        node = await self.wait_for(selector, text)
        value: str = (await self.call("(node) => node.innerText", node))["value"]
        return value

    async def count(self, selector: str) -> int:
        answer = await self.call(
            "(selector) => document.querySelectorAll(selector).length", selector
        )
        return int(answer["value"])

    async def click(self, selector: str, text: str = "") -> None:
        """A real mouse click in the middle of the element."""
        node = await self.wait_for(selector, text)
        origin = {"type": "element", "element": {"sharedId": node["sharedId"]}}
        await self._act(
            {
                "type": "pointer",
                "id": "mouse",
                "parameters": {"pointerType": "mouse"},
                "actions": [
                    {"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                    {"type": "pointerDown", "button": 0},
                    {"type": "pointerUp", "button": 0},
                ],
            }
        )

    async def type(self, text: str) -> None:
        """Key presses into the focused element; ENTER presses Enter."""
        keys: list[dict[str, str]] = []
        for key in text:
            keys += [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]
        await self._act({"type": "key", "id": "keyboard", "actions": keys})

    async def screenshot(self) -> bytes:
        """The viewport as a PNG."""
        shot = await self.command("browsingContext.captureScreenshot", {"context": self.context})
        return base64.b64decode(shot["data"])

    async def _act(self, source: dict[str, Any]) -> None:
        params = {"context": self.context, "actions": [source]}
        await self.command("input.performActions", params)


async def _listening(stderr: asyncio.StreamReader) -> str:
    while line := (await stderr.readline()).decode(errors="replace"):
        if found := LISTENING.search(line):
            return found.group(1)
    raise BiDiError("firefox exited before it listened for WebDriver BiDi")


async def _drain(stderr: asyncio.StreamReader) -> None:
    while await stderr.readline():
        pass


def write_prefs(profile: Path) -> None:
    lines = (f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in PREFS.items())
    (profile / "user.js").write_text("".join(lines))


@asynccontextmanager
async def firefox(width: int = 1280, height: int = 800) -> AsyncIterator[FirefoxPage]:
    """A headless Firefox with a fresh profile, one tab open at that size."""
    path = firefox_path()
    assert path is not None, "no firefox on PATH (scripts/browser.sh installs firefox-esr)"
    with tempfile.TemporaryDirectory(prefix="firefox-") as profile:
        write_prefs(Path(profile))
        process = await asyncio.create_subprocess_exec(
            path,
            "--headless",
            "--no-remote",
            "--profile",
            profile,
            "--remote-debugging-port=0",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stderr is not None
        try:
            url = await asyncio.wait_for(_listening(process.stderr), TIMEOUT_S * 3)
            drain = asyncio.create_task(_drain(process.stderr))
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{url}/session", max_msg_size=0) as socket,
            ):
                page = FirefoxPage(socket)
                await page.command("session.new", {"capabilities": {}})
                await page.open(width, height)
                try:
                    yield page
                finally:
                    with contextlib.suppress(BiDiError, TimeoutError):
                        await page.command("browser.close", {})
                    page._reader.cancel()
            await asyncio.wait_for(process.wait(), TIMEOUT_S)
            await drain
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
