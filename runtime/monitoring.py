"""``GET /healthz`` and ``GET /metrics``: what an operator's monitoring watches.

``/healthz`` answers 200 "ok" while the database answers a trivial read, 503 otherwise.
``/metrics`` (unless ``[metrics] enabled = false``) gives the metrics below in Prometheus' text
format, 503 when the database does not answer. Both are served on the webhook's server
(runtime/webhook.py) and, when ``[metrics] port`` is set, on a server of their own that starts
and stops with the bot (the only way to reach them in polling mode).

The exposition is prometheus-client's (a well-kept library, not a format written by hand); each
application has a :class:`~prometheus_client.CollectorRegistry` of its own, so that several bots
in one process (the tests) never share a series. The domain knows nothing of it: the counters
are plain numbers the runtime and the handlers already keep, read when Prometheus scrapes, and
the gauges are read from the database at that moment.

=====================================  =======  ==============================================
``liaison_updates_handled_total``      counter  updates taken and handled to the end
``liaison_updates_dropped_total``      counter  updates dropped as a flood (bot/flood.py)
``liaison_telegram_429_total``         counter  429s (``RetryAfter``) Telegram answered
``liaison_outbox_backlog``             gauge    outbox rows due and not sent yet
``liaison_outbox_oldest_age_seconds``  gauge    how long the oldest of them has been due (0: none)
``liaison_requests_overdue``           gauge    open requests past a deadline
``liaison_instance_role``              enum     ``active`` or ``standby``
=====================================  =======  ==============================================

``/healthz`` says the role in its body: ``ok active`` from the bot that runs, ``ok standby``
(also 200: a healthy process doing what it should) from one waiting to take over on a
PostgreSQL database (runtime/standby.py, :class:`StandbyMonitor`: the role is all it reports,
the work and its figures being the active's).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Enum, Gauge
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot.config import MetricsSettings, WebhookSettings
from bot.services import Services
from handlers.ratelimit import RateLimiter
from runtime.sequencing import PerUserUpdateProcessor

if TYPE_CHECKING:
    from runtime.application import BotApplication

log = logging.getLogger(__name__)

ACTIVE, STANDBY = "active", "standby"
ROLES = [ACTIVE, STANDBY]


class _Counts(Collector):
    """The counters, read from where they are kept when the registry is collected."""

    def __init__(self, app: BotApplication) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        processor = self._app.update_processor
        handled = dropped = 0
        if isinstance(processor, PerUserUpdateProcessor):
            handled = processor.handled
            dropped = processor.dropped
        limiter = self._app.bot.rate_limiter
        retry_afters = limiter.retry_afters if isinstance(limiter, RateLimiter) else 0
        yield _counter("liaison_updates_handled", "Updates taken and handled to the end.", handled)
        yield _counter(
            "liaison_updates_dropped", "Updates dropped as a flood (sent faster than a person).",
            dropped,
        )  # fmt: skip
        yield _counter(
            "liaison_telegram_429", "429 answers (RetryAfter) received from the Bot API.",
            retry_afters,
        )  # fmt: skip


def _counter(name: str, documentation: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


class Metrics:
    """One application's registry: :meth:`scrape` reads the database and renders the text."""

    def __init__(self, app: BotApplication) -> None:
        self._app = app
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Counts(app))
        self._backlog = self._gauge(
            "liaison_outbox_backlog", "Outbox rows due and not sent yet (pending or being sent)."
        )
        self._oldest = self._gauge(
            "liaison_outbox_oldest_age_seconds",
            "How long the oldest outbox row due and not sent has been due (0 when none is).",
        )
        self._overdue = self._gauge(
            "liaison_requests_overdue", "Open requests past a deadline (to acknowledge or resolve)."
        )
        self._role = Enum(
            "liaison_instance_role",
            "The instance's role: active (it holds the database and runs) or standby.",
            states=ROLES,
            registry=self.registry,
        )

    def _gauge(self, name: str, documentation: str) -> Gauge:
        return Gauge(name, documentation, registry=self.registry)

    async def scrape(self) -> bytes:
        """The gauges read now from the database, then every metric in the text format;
        raises when the database does not answer."""
        services: Services = self._app.bot_data.services
        now = services.clock.now()
        count, oldest = await services.outbox.repository.backlog(now)
        self._backlog.set(count)
        self._oldest.set(0 if oldest is None else max((now - oldest).total_seconds(), 0.0))
        self._overdue.set(await services.stats.overdue_count(now=now))
        self._role.state(ACTIVE if self._app.running else STANDBY)
        return generate_latest(self.registry)


class Monitor:
    """One application's ``/healthz`` and ``/metrics``: the routes, and their own server when
    ``[metrics] port`` is set."""

    def __init__(self, app: BotApplication, settings: MetricsSettings) -> None:
        self._app = app
        self._settings = settings
        self.metrics = Metrics(app) if settings.enabled else None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the bound port of the own server, while it runs

    def routes(self) -> list[web.RouteDef]:
        routes = [web.get("/healthz", self.health)]
        if self.metrics is not None:
            routes.append(web.get("/metrics", self.scrape))
        return routes

    async def health(self, request: web.Request) -> web.Response:
        services = getattr(self._app.bot_data, "services", None)
        try:
            ok = services is not None and await services.processed_updates.healthy()
        except Exception:  # any failure to read means unhealthy; the probe must not crash
            log.exception("monitoring: health check failed")
            ok = False
        if ok:
            return web.Response(status=200, text=f"ok {ACTIVE}")
        return web.Response(status=503, text="unavailable")

    async def scrape(self, request: web.Request) -> web.Response:
        assert self.metrics is not None
        try:
            body = await self.metrics.scrape()
        except Exception:  # the gauges are read from the database: no answer, no scrape
            log.exception("monitoring: the metrics could not be read")
            return web.Response(status=503, text="unavailable")
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        """Serve the routes on ``[metrics] listen``:``port`` (none when no port is set)."""
        if self._settings.port is None or self._runner is not None:
            return
        self._runner, self.port = await serve(
            self.routes(), self._settings.listen, self._settings.port
        )
        log.info("monitoring: /healthz and /metrics on %s:%s", self._settings.listen, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self.port = None
        if runner is not None:
            await runner.cleanup()


class StandbyMonitor:
    """A standby's ``/healthz`` (200 ``ok standby``) and ``/metrics`` (its role only), on the
    ``[metrics]`` port and, in webhook mode, on the webhook's, whose path answers 503 so that
    Telegram (or the reverse proxy, trying the other instance) delivers it again later."""

    def __init__(self, settings: MetricsSettings, webhook: WebhookSettings | None) -> None:
        self._settings = settings
        self._webhook = webhook
        self.registry = CollectorRegistry(auto_describe=True)
        role = Enum(
            "liaison_instance_role",
            "The instance's role: active (it holds the database and runs) or standby.",
            states=ROLES,
            registry=self.registry,
        )
        role.state(STANDBY)
        self._runners: list[web.AppRunner] = []
        self.ports: list[int] = []  # the bound ports, while it serves

    def routes(self) -> list[web.RouteDef]:
        routes = [web.get("/healthz", self.health)]
        if self._settings.enabled:
            routes.append(web.get("/metrics", self.scrape))
        return routes

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(status=200, text=f"ok {STANDBY}")

    async def scrape(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def not_now(self, request: web.Request) -> web.Response:
        return web.Response(status=503, headers={"Retry-After": "1"}, text=STANDBY)

    async def start(self) -> None:
        if self._settings.port is not None:
            await self._serve(self.routes(), self._settings.listen, self._settings.port)
        if self._webhook is not None:
            path = "/" + self._webhook.path.strip("/")
            routes = [web.post(path, self.not_now), *self.routes()]
            await self._serve(routes, self._webhook.listen, self._webhook.port)

    async def _serve(self, routes: list[web.RouteDef], listen: str, port: int) -> None:
        runner, bound = await serve(routes, listen, port)
        self._runners.append(runner)
        self.ports.append(bound)
        log.info("standby: /healthz on %s:%s", listen, bound)

    async def stop(self) -> None:
        runners, self._runners, self.ports = self._runners, [], []
        for runner in runners:
            await runner.cleanup()


async def serve(routes: list[web.RouteDef], listen: str, port: int) -> tuple[web.AppRunner, int]:
    """A small aiohttp server of ``routes`` on ``listen``:``port``; its runner and bound port."""
    server = web.Application()
    server.add_routes(routes)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, listen, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, bound_port(site, port)


def bound_port(site: web.TCPSite, configured: int) -> int:
    """The port a site listens on (the one the system chose for port 0)."""
    server = site._server  # aiohttp exposes the bound socket only here
    sockets = getattr(server, "sockets", None)
    if sockets:
        return int(sockets[0].getsockname()[1])
    return configured


_MONITORS: weakref.WeakKeyDictionary[BotApplication, Monitor] = weakref.WeakKeyDictionary()


def attach_monitor(app: BotApplication, settings: MetricsSettings) -> Monitor:
    """Give the application its monitor (built with it, in runtime/application.py)."""
    monitor = _MONITORS[app] = Monitor(app, settings)
    return monitor


def monitor_of(app: BotApplication) -> Monitor:
    return _MONITORS[app]
