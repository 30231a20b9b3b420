"""Webhook delivery with the secret token header, and getWebhookInfo."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from telegram import Bot

from standin import TelegramStandin


async def test_updates_are_posted_to_the_webhook(tg: Bot, standin: TelegramStandin) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()
    failures = 1

    async def hook(request: web.Request) -> web.Response:
        nonlocal failures
        if failures:
            failures -= 1
            return web.Response(status=500)
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        await received.put((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        await tg.set_webhook(f"http://{host}:{port}/hook", secret_token="s3cret")
        await standin.user(1001).send("via webhook")
        secret, update = await asyncio.wait_for(received.get(), timeout=5)
        assert (secret, update["message"]["text"]) == ("s3cret", "via webhook")
        info = await tg.get_webhook_info()
        assert (info.url, info.pending_update_count) == (f"http://{host}:{port}/hook", 0)
        assert info.last_error_message == (
            "Wrong response from the webhook: 500 Internal Server Error"
        )
        assert await tg.delete_webhook()
        assert (await tg.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()
