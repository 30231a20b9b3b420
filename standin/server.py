"""TelegramStandin: the local Telegram, started in-process for tests, benchmarks and the sandbox.

standin = TelegramStandin(bot_username="liaison_bot")
await standin.start()                      # loopback, a free port
app = (ApplicationBuilder().token("123:ABC").base_url(standin.api_base_url)
       .base_file_url(standin.file_base_url).build())
alice = standin.user(1001, first_name="Alice")
await alice.send("/start")
reply = await alice.expect_message()

Strict parameters: Telegram ignores a parameter a method does not take, so a bot can send one
for years without noticing. ``TelegramStandin(strict_parameters=True)`` answers such a call
400 "<name> is not a parameter of <method>" instead (a missing required parameter is 400 either
way, as at Telegram). Left unset, the option follows the environment variable
``STANDIN_STRICT_PARAMETERS`` ("1": strict); the test suite sets it (tests/conftest.py), so
every stand-in a test starts is strict, while the sandbox and the benchmarks behave like
Telegram. Either way every departure from the spec is listed in
:attr:`TelegramStandin.spec_violations`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiohttp import web

from standin import stars
from standin.botapi import ApiCall, BotApi
from standin.client import TestGroup, TestUser
from standin.control import ControlApi
from standin.limits import Faults, RateLimiter, RateLimits
from standin.profile import command_key
from standin.spec import Spec
from standin.state import Account, Chat, World
from standin.webhook import stop_delivery

UPLOAD_LIMIT = 50 * 1024 * 1024
SHUTDOWN_SECONDS = 1.0
CHECK_SECONDS = 0.05
STRICT_PARAMETERS_VARIABLE = "STANDIN_STRICT_PARAMETERS"


class TelegramStandin:
    """An HTTP server speaking the Bot API, plus the API tests use to play the users."""

    def __init__(
        self,
        *,
        bot_id: int = 7000000001,
        bot_username: str = "liaison_bot",
        bot_first_name: str = "Liaison",
        limits: RateLimits | None = None,
        valid_tokens: Collection[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        strict_ampersand: bool = True,
        strict_parameters: bool | None = None,
    ) -> None:
        if strict_parameters is None:
            strict_parameters = os.environ.get(STRICT_PARAMETERS_VARIABLE) == "1"
        bot = Account(bot_id, bot_first_name, username=bot_username, is_bot=True)
        self.world = World(bot=bot, clock=clock, strict_ampersand=strict_ampersand)
        self.limiter = RateLimiter(limits, clock)
        self.faults = Faults()
        self.api = BotApi(
            self.world,
            spec=Spec.load(),
            limiter=self.limiter,
            faults=self.faults,
            valid_tokens=valid_tokens,
            strict_parameters=strict_parameters,
        )
        self._users: dict[int, TestUser] = {}
        self._groups: dict[int, TestGroup] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        app = web.Application(client_max_size=UPLOAD_LIMIT)
        app.add_routes(self.api.routes() + ControlApi(self).routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        """Release long polls and delays, stop webhook delivery, close the server."""
        self.world.closing.set()
        self.world.updates.close()
        for chat in self.world.chats.values():
            chat.signal.notify()
        await stop_delivery(self.world)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramStandin:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base_url(self) -> str:
        """python-telegram-bot's ``base_url`` (it appends the token)."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """python-telegram-bot's ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    # -- simulated people -------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        started: bool = False,
    ) -> TestUser:
        """Create the user, or return the existing one (updating the fields given)."""
        account = self.world.accounts.get(user_id)
        if account is None:
            account = self.world.accounts[user_id] = Account(user_id, first_name or "User")
            self._users[user_id] = TestUser(self.world, account)
        fields = {
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
        }
        for name, value in fields.items():
            if value is not None:
                setattr(account, name, value)
        account.started = account.started or started
        return self._users[user_id]

    def group(self, chat_id: int, *, title: str = "Group") -> TestGroup:
        """Create the group (a supergroup when the id starts with -100), or return it."""
        if chat_id not in self._groups:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = self.world.chats[chat_id] = Chat(chat_id, kind, title=title)
            chat.bot_member = False
            self._groups[chat_id] = TestGroup(self.world, chat)
        return self._groups[chat_id]

    def migrate_group(self, chat_id: int, new_chat_id: int) -> TestGroup:
        """Upgrade a group to a supergroup: every later call to the old id answers 400 with
        ``migrate_to_chat_id``; the bot keeps its membership in the new chat."""
        old = self.world.chats[chat_id]
        new = self.group(new_chat_id, title=old.title or "Group")
        new.chat.bot_member = old.bot_member
        old.migrated_to = new_chat_id
        return new

    # -- what the bot did -------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every Bot API call so far, in order."""
        return self.api.calls

    @property
    def spec_violations(self) -> list[str]:
        """Every way a call so far departed from the Bot API spec, one line each."""
        return list(self.api.violations)

    @property
    def strict_parameters(self) -> bool:
        """Whether a parameter a method does not take is refused (see the module docstring)."""
        return self.api.strict_parameters

    @property
    def errors(self) -> list[ApiCall]:
        """The calls that were answered with an error."""
        return [call for call in self.api.calls if not call.ok]

    async def wait_for(
        self,
        predicate: Callable[[], object],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` is true.

        Checked after every Bot API call and at least every ``CHECK_SECONDS``, since the
        predicate may read what the bot's handlers change without calling the Bot API.
        """

        async def check() -> object:
            return predicate()

        await self.wait_for_async(check, timeout)

    async def wait_for_async(
        self,
        predicate: Callable[[], Awaitable[object]],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``await predicate()`` is true (e.g. a database row the bot writes).

        Checked after every Bot API call and at least every ``CHECK_SECONDS``, since what
        the predicate reads cannot signal the stand-in.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(f"  {c.method} {c.status} {c.params}" for c in self.calls[-10:])
                raise AssertionError(f"condition not met within {timeout}s; last calls:\n{recent}")
            await self.api.signal.wait(min(remaining, CHECK_SECONDS))

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.api.calls if call.method.lower() == method.lower()]

    @property
    def tokens(self) -> set[str]:
        """Every token the bot used."""
        return self.api.tokens

    @property
    def rate_limited(self) -> int:
        """How many calls flood control refused with 429."""
        return self.limiter.refused

    def commands(
        self,
        scope: str = "default",
        chat_id: int | None = None,
        language_code: str = "",
        user_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """The command list setMyCommands stored for that scope and language."""
        scope_json: dict[str, Any] = {"type": scope, "chat_id": chat_id, "user_id": user_id}
        key = command_key(
            self.world, {k: v for k, v in scope_json.items() if v is not None}, language_code
        )
        return list(self.world.commands.get(key, []))

    def description(self, language_code: str = "", *, short: bool = False) -> str:
        """What setMyDescription (or setMyShortDescription) stored."""
        kind = "short_description" if short else "description"
        return self.world.descriptions.get((kind, language_code), "")

    # -- verification marks and Stars -------------------------------------------------------

    def allow_verification(self, allowed: bool = True, *, custom_descriptions: bool = True) -> None:
        """Telegram approving (or withdrawing) the bot as its organisation's verifier."""
        self.world.verifier_allowed = allowed
        self.world.custom_descriptions_allowed = custom_descriptions

    def verification(self, user_id: int) -> str | None:
        """The description of the mark the bot gave this user, or None without one."""
        return self.world.verified.get(user_id)

    def set_star_balance(self, stars_: float) -> None:
        """The bot's Telegram Star balance (paid broadcasts spend 0.1 Star a message)."""
        stars.set_balance(self.world, stars_)

    @property
    def star_balance(self) -> float:
        return stars.balance(self.world)

    @property
    def paid_messages(self) -> int:
        """Messages sent with allow_paid_broadcast, each charged 0.1 Star."""
        return self.world.paid_messages

    # -- flood control and faults -----------------------------------------------------------

    def set_limits(self, limits: RateLimits | None) -> None:
        """Switch flood control on (or off with None) at runtime."""
        self.limiter.limits = limits

    def inject_error(
        self,
        method: str | None = None,
        *,
        chat_id: int | str | None = None,
        error_code: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching calls with this error instead of running them.

        ``retry_after`` and ``migrate_to_chat_id`` go into the answer's ``parameters``, as
        Telegram sends them with a 429 and with a call to a group that became a supergroup.
        """
        self.faults.add_error(
            method,
            chat_id=chat_id,
            error_code=error_code,
            description=description,
            retry_after=retry_after,
            migrate_to_chat_id=migrate_to_chat_id,
            times=times,
        )

    def inject_update(self, update: Any, *, assign_id: bool = True) -> Any:
        """Queue ``update`` as the bot's next update, exactly as given (any JSON value).

        For testing how a bot copes with what its library cannot read: an update whose
        ``message`` is a number, one missing required fields, or not an object at all. An
        object gets the next ``update_id`` unless ``assign_id`` is False; it is delivered by
        getUpdates or to the webhook like any other. Returns the update as queued.
        """
        return self.world.updates.put_raw(update, assign_id=assign_id)

    def inject_delay(
        self,
        method: str | None = None,
        seconds: float = 1.0,
        times: int = 1,
        *,
        chat_id: int | str | None = None,
    ) -> None:
        """Hold the next ``times`` matching calls for ``seconds`` before running them.

        The call still takes effect afterwards, like a request whose answer was lost to a
        client-side time-out.
        """
        self.faults.add_delay(method, seconds=seconds, chat_id=chat_id, times=times)
