"""Webhook mode: a small aiohttp server behind a reverse proxy that feeds the Application.

HTTP glue only: the secret header is checked in constant time (403 with an empty body
otherwise), a body that is not an update object (not JSON, an array, a number, no integer
``update_id``) is refused with 400, each ``update_id`` is recorded at receipt so a re-delivery
is answered 200 and dropped, and the update goes onto the Application's queue like a polled
one; an update the library cannot read is skipped (200) and logged by id only. ``GET /healthz``
and ``GET /metrics`` are served beside it (runtime/monitoring.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.config import Settings, WebhookSettings
from handlers.updates import LOG_INTERVAL_SECONDS, LogThrottle, held_note, read_update
from runtime.monitoring import bound_port, monitor_of

if TYPE_CHECKING:
    from runtime.application import BotApplication

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
PRUNE_EVERY = 100  # receipts between two prunes of old update ids


class WebhookReceiver:
    """The request handlers, bound to one running Application."""

    def __init__(self, app: BotApplication, settings: WebhookSettings) -> None:
        self._app = app
        secret = settings.secret_token
        self._secret = b"" if secret is None else secret.get_secret_value().encode()
        self._keep = timedelta(hours=settings.keep_update_ids_hours)
        self._receipts = 0
        self._refusals = LogThrottle(LOG_INTERVAL_SECONDS)

    def routes(self, path: str) -> list[web.RouteDef]:
        return [web.post("/" + path.strip("/"), self.receive), *monitor_of(self._app).routes()]

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        # Without a configured secret nobody is let in: anyone could post forged updates.
        return bool(self._secret) and hmac.compare_digest(given, self._secret)

    async def receive(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except (ValueError, RecursionError):  # not JSON (or nested deeper than it parses)
            data = None
        read = read_update(data, self._app.bot)
        if read.update_id is None:
            # Not an update object (not JSON, an array, a number, no integer update_id).
            allowed, held = self._refusals.allow("refused")
            if allowed:
                log.warning("webhook: a body that is not an update was refused%s", held_note(held))
            return web.Response(status=400)
        services = self._app.bot_data.services
        now = services.clock.now()
        if not await services.processed_updates.claim(read.update_id, now):
            log.info("webhook: update %s delivered again, dropped", read.update_id)
            return web.Response(status=200)
        self._receipts += 1
        if self._receipts % PRUNE_EVERY == 0:
            await services.processed_updates.prune(now - self._keep)
        if read.update is None:
            # An update Telegram would deliver again and again after a 400: taken and skipped,
            # like polling skips it; its content (an invite link, a code) is not logged.
            log.warning(
                "webhook: update %s could not be read (%s) and was skipped; content not logged",
                read.update_id,
                read.problem,
            )
            return web.Response(status=200)
        await self._app.update_queue.put(read.update)
        return web.Response(status=200)


def webhook_url(settings: WebhookSettings, port: int) -> str:
    """The configured public URL, or (tests, local use) the listening address itself."""
    if settings.url:
        return settings.url
    return f"http://{settings.listen}:{port}/{settings.path.strip('/')}"


@asynccontextmanager
async def running_webhook(app: BotApplication, settings: Settings) -> AsyncIterator[int]:
    """Serve the webhook, register it with Telegram, run the Application; yields the port."""
    from runtime.application import ALLOWED_UPDATES

    hook = settings.webhook
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    receiver = WebhookReceiver(app, hook)
    server = web.Application(client_max_size=hook.max_body_bytes)
    server.add_routes(receiver.routes(hook.path))
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, hook.listen, hook.port)
    try:
        await site.start()
        port = bound_port(site, hook.port)
        await app.start()
        secret = hook.secret_token.get_secret_value() if hook.secret_token else None
        await app.bot.set_webhook(
            webhook_url(hook, port),
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
        log.info("webhook mode: listening on %s:%s", hook.listen, port)
        yield port
    finally:
        await runner.cleanup()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def run_webhook(app: BotApplication, settings: Settings) -> None:
    """Run in webhook mode until SIGINT/SIGTERM (the CLI's ``run --webhook``)."""

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        async with running_webhook(app, settings):
            await stop.wait()

    asyncio.run(serve())
