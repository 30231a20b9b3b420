"""Start and stop the sandbox's three parts together, with a demo database.

Nothing here talks to Telegram: the bot's ``base_url`` points at the stand-in on loopback and
its token is a fixed fake one the stand-in accepts.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType

from aiohttp import web
from pydantic import SecretStr

from bot.clock import Clock
from bot.config import Settings
from bot.services import Services
from runtime.application import BotApplication, build_application, running
from runtime.instance import InstanceLock
from sandbox import demo
from sandbox.page import page_app
from standin import TelegramStandin

log = logging.getLogger(__name__)

BOT_ID = 7000000001
BOT_USERNAME = "liaison_sandbox_bot"
BOT_NAME = "政企直通"
FAKE_TOKEN = f"{BOT_ID}:sandbox-not-a-telegram-token"
LOOPBACK = "127.0.0.1"
POLL_TIMEOUT = 10
PAGE_SHUTDOWN_SECONDS = 1.0
DATABASE_NAME = "sandbox.sqlite3"


def sandbox_settings(settings: Settings, *, standin: TelegramStandin, database: Path) -> Settings:
    """The operator's settings, pointed at the stand-in, the sandbox database and demo admin."""
    telegram = settings.telegram.model_copy(
        update={
            "token": SecretStr(FAKE_TOKEN),
            "username": BOT_USERNAME,
            "base_url": standin.api_base_url,
            "base_file_url": standin.file_base_url,
            "poll_timeout": POLL_TIMEOUT,
        }
    )
    admins = settings.admins.model_copy(
        update={"telegram_ids": (*settings.admins.telegram_ids, demo.ADMIN.telegram_id)}
    )
    storage = settings.storage.model_copy(
        update={"path": database, "backup_dir": database.parent / "backups"}
    )
    webhook = settings.webhook.model_copy(update={"enabled": False})
    # The stand-in approves the bot as a verifier: officials' accounts show Telegram's mark.
    verification = settings.verification.model_copy(update={"telegram_mark": True})
    # A demo plays at any hour: with quiet hours on, an official's card would wait until morning.
    quiet_hours = settings.quiet_hours.model_copy(
        update={"start": settings.quiet_hours.end, "weekends": False}
    )
    return settings.model_copy(
        update={
            "telegram": telegram,
            "admins": admins,
            "storage": storage,
            "webhook": webhook,
            "quiet_hours": quiet_hours,
            "verification": verification,
        }
    )


class Sandbox:
    """The stand-in, the bot running against it and the page, as one async context."""

    def __init__(
        self,
        settings: Settings,
        *,
        data: Path | None = None,
        port: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._operator_settings = settings
        self._data = data
        self._host = settings.sandbox.host
        self._port = settings.sandbox.port if port is None else port
        self._clock = clock
        self._stack = AsyncExitStack()
        self.standin = TelegramStandin(
            bot_id=BOT_ID,
            bot_username=BOT_USERNAME,
            bot_first_name=BOT_NAME,
            valid_tokens=[FAKE_TOKEN],
        )
        self.standin.allow_verification()  # as if Telegram had approved the organisation
        self.settings = settings
        self.application: BotApplication | None = None
        self.url = ""

    async def start(self) -> None:
        """Page first (it only reads the stand-in), then the stand-in, then the bot.

        Stopping runs backwards: the bot confirms its last updates while the stand-in still
        answers, the stand-in's closing wakes the page's long polls, then the page goes.
        """
        try:
            # One bot per database: another sandbox or bot on it already refuses this one
            # before anything starts (runtime/instance.py).
            database = self._database()
            self._stack.enter_context(InstanceLock(database))
            await self._start_page()
            await self.standin.start(LOOPBACK, 0)
            self._stack.push_async_callback(self.standin.stop)
            self.settings = sandbox_settings(
                self._operator_settings, standin=self.standin, database=database
            )
            self._add_personas()
            await self._seed()
            self.application = build_application(self.settings, clock=self._clock)
            await self._stack.enter_async_context(
                running(self.application, poll_timeout=POLL_TIMEOUT)
            )
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        await self._stack.aclose()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def database(self) -> Path:
        return self.settings.storage.path

    def _database(self) -> Path:
        if self._data is not None:
            return self._data / DATABASE_NAME if self._data.is_dir() else self._data
        tmp = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="liaison-sandbox-"))
        return Path(tmp) / DATABASE_NAME

    async def _start_page(self) -> None:
        runner = web.AppRunner(
            page_app(self.standin), access_log=None, shutdown_timeout=PAGE_SHUTDOWN_SECONDS
        )
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, self._host, self._port).start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"

    def _add_personas(self) -> None:
        for persona in demo.PERSONAS:
            self.standin.user(
                persona.telegram_id,
                first_name=persona.first_name,
                username=persona.username,
                language_code=demo.DEMO_LANGUAGE,
                started=True,
            )

    async def _seed(self) -> None:
        services = await Services.open(self.settings, clock=self._clock)
        try:
            if not await demo.is_seeded(services):
                await demo.seed(services)
        finally:
            await services.close()


def banner(sandbox: Sandbox, *, kept: bool) -> str:
    where = f"kept in {sandbox.database}" if kept else "fresh, deleted on exit"
    return "\n".join(
        [
            f"Sandbox ready: open {sandbox.url} in your browser.",
            f"  Listening on {sandbox.url} only"
            + (" (loopback: not reachable from other machines)." if _is_loopback(sandbox) else "."),
            "  The bot talks to a local Telegram stand-in; nothing is sent to Telegram.",
            "  Quiet hours are off, so every notice arrives at once, day or night.",
            f"  Demo database: {where}.",
            "  Press Ctrl-C to stop.",
        ]
    )


def _is_loopback(sandbox: Sandbox) -> bool:
    return sandbox.url.startswith(("http://127.", "http://localhost", "http://[::1]"))


async def serve(settings: Settings, *, data: Path | None = None, port: int | None = None) -> None:
    """Run the sandbox until Ctrl-C (SIGINT) or SIGTERM, then stop everything in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with Sandbox(settings, data=data, port=port) as sandbox:
            print(banner(sandbox, kept=data is not None), flush=True)
            await stop.wait()
            print("Stopping the sandbox…", flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    print("Sandbox stopped.", flush=True)
