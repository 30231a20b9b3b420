"""The composition root: builds the python-telegram-bot Application and runs it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.clock import Clock
from bot.config import Settings
from bot.flood import FloodGuard
from bot.i18n import translate
from bot.logs import quiet_http_loggers
from bot.pacing import Pacer, PacingClock
from bot.services import Services
from handlers import register_handlers, schedule_jobs
from handlers.context import AppContext, BotData
from handlers.errors import record_transport_failures
from handlers.liaison_bot import LiaisonBot, LiaisonUpdater
from handlers.menu import set_default_commands
from handlers.ratelimit import RateLimiter
from handlers.reminders import start_alarm
from runtime.monitoring import attach_monitor
from runtime.sequencing import PerUserUpdateProcessor
from runtime.transport import AiohttpRequest

if TYPE_CHECKING:
    from storage.postgres import Fence

log = logging.getLogger(__name__)

# Sent explicitly: Telegram remembers the last list when it is omitted.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

BotApplication = Application[Any, AppContext, Any, Any, BotData, Any]


class MissingToken(Exception):
    """No Telegram token: the operator must get one from @BotFather (or run the sandbox)."""


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    pacing_clock: PacingClock | None = None,
    fence: Fence | None = None,
) -> BotApplication:
    """An Application with our handlers, opening storage in post_init and closing it after.

    ``pacing_clock`` is the time the pacing of sends and the flood guard run on: real time
    unless a test or benchmark speeds it up together with its stand-in's limits. ``fence``:
    on PostgreSQL, the active instance's lock every write checks (runtime/standby.py).
    """
    if settings.telegram.token is None:
        raise MissingToken
    quiet_http_loggers()
    tg, delivery = settings.telegram, settings.delivery
    pacer = Pacer(delivery.limits(), pacing_clock)
    limiter = RateLimiter(
        pacer, max_retry_after=tg.max_retry_after_seconds, max_wait=delivery.max_wait_seconds
    )
    guard = FloodGuard(
        delivery.flood_updates_per_second, delivery.flood_burst, delivery.flood_quiet_seconds
    )

    async def open_services(app: BotApplication) -> None:
        pacer.starting()
        # Fenced from its first session: before anything is recovered, resumed or sent.
        services = await Services.open(settings, clock=clock, fence=fence)
        services.bot_username = app.bot.username
        app.bot_data.services = services
        record_transport_failures(limiter, services)
        await set_default_commands(app.bot)
        await start_alarm(app)
        await monitor.start()
        log.info(
            "bot @%s ready, schema version %s", app.bot.username, await services.db.schema_version()
        )

    async def close_services(app: BotApplication) -> None:
        await monitor.stop()
        services = getattr(app.bot_data, "services", None)
        if services is not None:
            await services.close()

    bot = LiaisonBot(
        tg.token.get_secret_value(),  # type: ignore[union-attr]
        base_url=tg.base_url,
        base_file_url=tg.base_file_url,
        request=AiohttpRequest.for_calls(tg),
        get_updates_request=AiohttpRequest.for_updates(tg),
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.locale.tz),
        rate_limiter=limiter,
    )

    async def slow_down(update: Update) -> None:
        await _slow_down(bot, app.bot_data.services, update)

    app: BotApplication = (
        ApplicationBuilder()
        # The bot comes with the updater, whose failed polls it reports (handlers/liaison_bot.py).
        .updater(LiaisonUpdater(bot=bot, update_queue=asyncio.Queue()))
        .context_types(ContextTypes(context=AppContext, bot_data=BotData))
        # One user's updates in order (conversations need it), different users at once.
        .concurrent_updates(
            PerUserUpdateProcessor(guard=guard, on_flood=slow_down, now=pacer.clock.now)
        )
        .post_init(open_services)
        .post_shutdown(close_services)
        .build()
    )
    monitor = attach_monitor(app, settings.metrics)
    register_handlers(app, settings)
    schedule_jobs(app, settings)
    return app


async def _slow_down(bot: LiaisonBot, services: Services, update: Update) -> None:
    """The one answer a flooding user gets: slow down (in a private chat only)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private":
        return
    language = await services.accounts.language_of(user.id)
    await bot.send_text(chat.id, translate(language, "common.slow_down"))


def run_polling(app: BotApplication, settings: Settings) -> None:
    """Run until interrupted; python-telegram-bot owns the event loop here.

    ``run_polling`` calls deleteWebhook first (a webhook left by webhook mode would make
    getUpdates fail with 409), keeping pending updates.
    """
    app.run_polling(
        drop_pending_updates=False,
        allowed_updates=ALLOWED_UPDATES,
        timeout=settings.telegram.poll_timeout,
    )


@asynccontextmanager
async def running(app: BotApplication, *, poll_timeout: int = 10) -> AsyncIterator[BotApplication]:
    """Run the bot inside an event loop someone else owns (tests, the sandbox, benchmarks).

    ``post_init`` and ``post_shutdown`` only run by themselves under ``run_polling``, so
    they are called here explicitly.
    """
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(
        poll_interval=0, timeout=poll_timeout, allowed_updates=ALLOWED_UPDATES
    )
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def services_of(app: BotApplication) -> Services:
    return app.bot_data.services


__all__ = ["ALLOWED_UPDATES", "BotApplication", "MissingToken", "Update", "build_application"]
