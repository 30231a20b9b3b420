"""Shared fixtures: the local Telegram stand-in, the real bot running against it, a fake clock.

End-to-end tests act as Telegram users on the stand-in (over HTTP on loopback, exactly as
the bot talks to Telegram) and assert what each user sees and what is stored.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
import uvloop

from bot.clock import FakeClock
from bot.config import Settings
from bot.pacing import ScaledClock
from bot.services import Services
from runtime.application import BotApplication, build_application, running
from scenarios.roster import ADMIN_ID
from tests import postgres
from tests.secrets_guard import GUARD
from tests.secrets_guard import pytest_sessionfinish as guard_sessionfinish
from tests.secrets_guard import pytest_sessionstart as pytest_sessionstart

if TYPE_CHECKING:
    from standin import TelegramStandin

os.environ.setdefault("PTB_TIMEDELTA", "true")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
# Every stand-in the suite starts refuses a parameter the Bot API method does not take
# (standin/server.py, "Strict parameters"): real Telegram would ignore it silently.
os.environ.setdefault("STANDIN_STRICT_PARAMETERS", "1")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    guard_sessionfinish(session, exitstatus)
    postgres.drop_all()


TOKEN = "123456789:TEST-token-never-logged"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday, a working day, mid-morning in Shenyang.
START = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on the event loop the bot runs on in production
    (runtime/eventloop.py)."""
    return {"uvloop": uvloop.new_event_loop}


# Telegram's limits run this many times faster than real time in the tests: the stand-in
# and the bot's pacing read one clock, which also moves when a test moves its fake clock.
TIME_SCALE = 10.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def pacing_clock(clock: FakeClock) -> ScaledClock:
    return ScaledClock(TIME_SCALE, offset=lambda: (clock.now() - START).total_seconds())


@pytest.fixture
async def standin(pacing_clock: ScaledClock) -> AsyncIterator[TelegramStandin]:
    """The stand-in with Telegram's flood limits on (about 1 message a second per chat with
    short bursts, 30 a second overall, 429 beyond), on the scaled clock."""
    from standin import TelegramStandin
    from standin.limits import RateLimits

    server = TelegramStandin(
        bot_username="liaison_bot", limits=RateLimits(), clock=pacing_clock.now
    )
    await server.start(host="127.0.0.1", port=0)
    try:
        yield server
    finally:
        await server.stop()
    # Every Bot API call the bot made in the test took only parameters its method takes and
    # carried every required one, whether or not the bot noticed the 400.
    assert server.spec_violations == [], server.spec_violations


def register_settings_secrets(settings: Settings) -> Settings:
    """Tell the suite's log guard (tests/secrets_guard.py) the secrets these settings carry."""
    if settings.telegram.token is not None:
        token = settings.telegram.token.get_secret_value()
        GUARD.register("bot token", token)
        GUARD.register("bot token (secret part)", token.partition(":")[2])
    GUARD.register("security hash key", settings.security.hash_key.get_secret_value())
    webhook_secret = settings.webhook.secret_token
    if webhook_secret is not None:
        GUARD.register("webhook secret", webhook_secret.get_secret_value())
    return settings


@pytest.fixture
def storage_section(tmp_path: Path) -> dict[str, str]:
    """The ``[storage]`` settings of a test's database: a SQLite file in the test's folder, or
    with ``BOT_TEST_STORAGE=postgresql`` a database on the server (tests/postgres.py)."""
    return postgres.storage_for(tmp_path) | {"backup_dir": str(tmp_path / "backups")}


@pytest.fixture(autouse=True)
def _postgres_databases() -> Iterator[None]:
    """Give back the server databases a test held (the PostgreSQL run only)."""
    yield
    if postgres.on_postgres():
        postgres.release_all()


@pytest.fixture
def database_target(storage_section: dict[str, str]) -> str:
    """What a test that opens the database itself opens: the file, or the server's database."""
    return storage_section.get("url", storage_section["path"])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run, only the tests that touch the database (every test whose
    fixtures open it, and the modules marked ``storage`` that open it through
    ``tests.postgres.storage_for``) and are not about SQLite itself."""
    if not postgres.on_postgres():
        return
    kept, skipped = [], []
    for item in items:
        touches = (
            "storage_section" in getattr(item, "fixturenames", ())
            or item.get_closest_marker("storage") is not None
        )
        (kept if touches and item.get_closest_marker("sqlite_only") is None else skipped).append(
            item
        )
    config.hook.pytest_deselected(items=skipped)
    items[:] = kept


@pytest.fixture
def settings(tmp_path: Path, standin: TelegramStandin, storage_section: dict[str, str]) -> Settings:
    return register_settings_secrets(
        Settings.model_validate(
            {
                "telegram": {
                    "token": TOKEN,
                    "base_url": standin.api_base_url,
                    "base_file_url": standin.file_base_url,
                    "poll_timeout": 1,
                },
                "storage": storage_section,
                "admins": {"telegram_ids": [ADMIN_ID]},
                "security": {"hash_key": "test-hash-key-0123456789"},
                # A test's restart is no kill under load, and its steps expect the first
                # answers after a start at once (in order with the first wake-up's notices);
                # the cautious start is tested in test_pacing.py and measured by
                # bench.killtest.
                "delivery": {"start_with_bursts_spent": False},
            }
        )
    )


@pytest.fixture
async def bot(
    settings: Settings, clock: FakeClock, pacing_clock: ScaledClock
) -> AsyncIterator[BotApplication]:
    app = build_application(settings, clock=clock, pacing_clock=pacing_clock)
    async with running(app, poll_timeout=1):
        yield app


@pytest.fixture
def services(bot: BotApplication) -> Services:
    return bot.bot_data.services
