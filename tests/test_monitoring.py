"""``/healthz`` and ``/metrics`` on a server of their own (``[metrics] port``): polling mode's
only way to them. Over real HTTP on loopback, against the bot polling the stand-in; the same
routes on the webhook's server are tested in tests/test_webhook.py. Both files run on either
backend (``BOT_TEST_STORAGE=postgresql``): the gauges are read from the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FakeClock
from bot.config import Settings
from bot.pacing import ScaledClock
from bot.roles import Actor
from runtime.application import BotApplication, build_application, running
from runtime.monitoring import StandbyMonitor, monitor_of
from scenarios.roster import ALICE_ID, make_cast
from storage.requests import NewRequest

if TYPE_CHECKING:
    from standin import TelegramStandin

WEN_ID = 780001
# Later than any request's deadline to acknowledge and to resolve.
OVERDUE_LATER = timedelta(days=60)


@pytest.fixture
async def watched(
    settings: Settings, clock: FakeClock, pacing_clock: ScaledClock
) -> AsyncIterator[tuple[BotApplication, str]]:
    """The bot polling, its monitoring on a port of its own (port 0: any free one)."""
    metrics = settings.metrics.model_copy(update={"port": 0})
    watched_settings = settings.model_copy(update={"metrics": metrics})
    app = build_application(watched_settings, clock=clock, pacing_clock=pacing_clock)
    async with running(app, poll_timeout=1):
        port = monitor_of(app).port
        assert port is not None
        yield app, f"http://127.0.0.1:{port}"
    assert monitor_of(app).port is None  # stopped with the bot


async def scrape(base: str) -> dict[str, float]:
    """GET /metrics, parsed by prometheus-client's own parser: sample name -> value."""
    async with aiohttp.ClientSession() as session, session.get(base + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {
        sample.name + "".join(f"[{v}]" for v in sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_polling_bot_serves_healthz_and_metrics_on_their_own_port(
    standin: TelegramStandin, watched: tuple[BotApplication, str]
) -> None:
    base = watched[1]
    async with aiohttp.ClientSession() as session, session.get(base + "/healthz") as resp:
        assert (resp.status, await resp.text()) == (200, "ok active")
    before = await scrape(base)
    assert before["liaison_instance_role[active]"] == 1
    assert before["liaison_requests_overdue"] == 0
    wen = standin.user(WEN_ID, first_name="Wen", language_code="en")
    await wen.send("/start")
    assert "Enterprise Liaison" in (await wen.expect_message()).text

    async def counted() -> bool:
        handled = (await scrape(base))["liaison_updates_handled_total"]
        return handled > before["liaison_updates_handled_total"]

    await standin.wait_for_async(counted)


async def test_without_a_port_there_is_no_server_of_their_own(bot: BotApplication) -> None:
    assert monitor_of(bot).port is None


async def test_an_overdue_request_is_counted_once_past_its_deadline(
    watched: tuple[BotApplication, str], clock: FakeClock
) -> None:
    """``liaison_requests_overdue`` read from the database (either backend) at each scrape."""
    app, base = watched
    services = app.bot_data.services
    cast = await make_cast(services)
    owner = Actor(telegram_id=ALICE_ID, enterprises=(cast.alice_enterprise,))
    new = NewRequest(
        enterprise_id=cast.alice_enterprise.id,
        submitted_by=ALICE_ID,
        category="payments",
        urgent=False,
        summary="货款拖欠",
        description="",
        details={},
    )
    await services.desk.submit(owner, new)
    assert (await scrape(base))["liaison_requests_overdue"] == 0
    clock.advance(OVERDUE_LATER)
    assert (await scrape(base))["liaison_requests_overdue"] == 1


async def test_a_standby_says_so_and_turns_the_webhook_away(settings: Settings) -> None:
    """What a standby serves (runtime/standby.py) while it waits: /healthz 200 ``ok standby``,
    /metrics with its role, and 503 on the webhook's path for Telegram to deliver again."""
    metrics = settings.metrics.model_copy(update={"port": 0})
    webhook = settings.webhook.model_copy(update={"port": 0, "path": "telegram"})
    monitor = StandbyMonitor(metrics, webhook)
    await monitor.start()
    try:
        own, hook = (f"http://127.0.0.1:{port}" for port in monitor.ports)
        async with aiohttp.ClientSession() as session:
            for base in (own, hook):
                async with session.get(base + "/healthz") as resp:
                    assert (resp.status, await resp.text()) == (200, "ok standby")
            async with session.post(hook + "/telegram", json={"update_id": 1}) as resp:
                assert resp.status == 503
                assert resp.headers["Retry-After"] == "1"
        scraped = await scrape(own)
        assert scraped["liaison_instance_role[standby]"] == 1
        assert scraped["liaison_instance_role[active]"] == 0
    finally:
        await monitor.stop()
    assert monitor.ports == []
