"""Benchmark: many enterprises file a request and an official replies, all at once, through the
whole application and the local Telegram stand-in, against a bare python-telegram-bot echo
handler measured in the same run.

Each enterprise sends 6 updates (/new, category, description, done, urgency, submit) and its
official 2 (reply button, reply text): 8 updates per enterprise. The echo users send 8 texts
each. Latency is from a user's update to the bot's answer to it (as the user sees it).

    python -m bench.requests [--enterprises 40] [--rounds 3] [--storage sqlite|postgresql|both]

``--storage postgresql`` runs the application on a throwaway PostgreSQL database
(bench/backends.py); ``--storage both`` runs it on each backend in every round, back to back
with the same echo bots, and reports PostgreSQL's throughput over SQLite's per round.

The application is measured twice: as deployed (with the delivery engine's pacing, bot/pacing.py:
about 26 messages a second overall and 1 a second per chat) and with the pacing lifted, which is
the cost of our handling alone and the figure compared with the echo bot.

The echo bot runs three times: with python-telegram-bot's defaults (updates one after the other,
as its echobot example does), with the application's update processor and timeouts, and, for
comparison only, with those and the application's own transport (runtime/transport.py) and event
loop (runtime/eventloop.py): what the application's handling costs over the same plumbing. All
bots get no rate limiter, the same stand-in, the same users and number of updates, and an
uncounted warm-up round first. Each round measures the bots back to back; the ratio is taken per
round against the faster of the two bare echo bots of that round, and the median over rounds is
reported.

Each bot runs in a process of its own, the stand-in and the simulated users in this one: the
bot's CPU time (all its threads, SQLite's included) over the measured window is then its own,
as it would be against the real Telegram, and is reported per update next to the CPU time the
stand-in and the users spent.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.backends import (
    DEFAULT_ADMIN_URL,
    LABELS,
    POSTGRESQL,
    SQLITE,
    add_arguments,
    chosen,
    server_cpu_seconds,
    throwaway_database,
)
from bot.config import Settings, TelegramSettings
from bot.credit_code import make_credit_code
from bot.pacing import Pacer, PacingLimits
from bot.services import Services
from runtime.application import build_application, running
from runtime.eventloop import use_fast_event_loop
from runtime.sequencing import PerUserUpdateProcessor
from runtime.standby import ActiveLock
from runtime.transport import AiohttpRequest
from scenarios.roster import bind_official
from standin import TelegramStandin, TestUser
from standin.waiting import wait_for
from storage.models import Stage
from storage.postgres import Fence

TOKEN = "123456789:BENCH-token"
ECHOES = {
    "echo": "bare PTB echo",
    "echo-like-app": "bare PTB echo, app's processor",
    "echo-app-stack": "echo on the app's transport+loop",
}
UPDATES_PER_ENTERPRISE = 8
# The Telegram profiles the simulated users write with; the set-up records them as the bot
# would have when these users registered, so that their first update is not a change of name.
ENTERPRISE_FIRST_NAME, OFFICIAL_FIRST_NAME, LANGUAGE_CODE = "企业", "官员", "zh-hans"
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@dataclass
class Run:
    name: str
    updates: int
    seconds: float
    latencies: list[float]
    api_calls: int = 0  # Bot API calls the bot made while handling them (not getUpdates)
    cpu_seconds: float = 0.0  # the bot process's CPU time over the measured window
    standin_cpu_seconds: float = 0.0  # the stand-in's and the simulated users' (other process)
    server_cpu_seconds: float = 0.0  # PostgreSQL's processes' on this machine, if it runs here

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds / self.updates * 1000

    @property
    def standin_cpu_ms_per_update(self) -> float:
        return self.standin_cpu_seconds / self.updates * 1000

    @property
    def server_cpu_ms_per_update(self) -> float:
        return self.server_cpu_seconds / self.updates * 1000

    @property
    def calls_per_update(self) -> float:
        return self.api_calls / self.updates

    @property
    def rate(self) -> float:
        return self.updates / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class Timer:
    def __init__(self) -> None:
        self.latencies: list[float] = []

    async def __call__(self, action: Awaitable[Any], answer: Callable[[], Awaitable[Any]]) -> Any:
        start = time.perf_counter()
        await action
        result = await answer()
        self.latencies.append(time.perf_counter() - start)
        return result


# Updates one simulated user may send at once before the flood guard steps in: out of reach.
BENCH_FLOOD_BURST = 100_000
# The handling alone, without Telegram's pacing: limits no run comes near.
UNPACED = PacingLimits(
    global_per_second=1e9,
    global_burst=10**9,
    private_per_second=1e9,
    private_burst=10**9,
    group_per_minute=1e9,
    group_burst=10**9,
    global_cap=10**9,
)


# -- the application ------------------------------------------------------------------------


def settings_for(urls: tuple[str, str], folder: Path, database_url: str | None) -> Settings:
    storage: dict[str, str] = {"path": str(folder / "bench.sqlite3")}
    if database_url is not None:
        storage["url"] = database_url
    return Settings.model_validate(
        {
            "telegram": {
                "token": TOKEN,
                "base_url": urls[0],
                "base_file_url": urls[1],
                "poll_timeout": 1,
            },
            "storage": storage,
            "admins": {"telegram_ids": [1]},
            # The cards must go out whatever the hour the bench runs at (not 21:00-08:00 only).
            "quiet_hours": {"start": "00:00:00", "end": "00:00:00"},
            # An official here answers ten requests back to back, far faster than a person
            # types: the flood guard would rightly stop them (bench/flood.py measures it).
            "delivery": {"flood_burst": BENCH_FLOOD_BURST},
        }
    )


async def make_enterprises(services: Services, count: int) -> list[tuple[int, int]]:
    """``count`` enterprises with a contact each; one official per 10 enterprises.
    Returns (contact id, official's Telegram id) pairs."""
    now = services.clock.now()
    pairs = []
    for n in range(count):
        group, official_tid = n // 10, 500_000 + n // 10
        if n % 10 == 0:
            official = await services.directory.add_official(
                external_id=f"B-{group}", name=f"官员{group}", title="处长", now=now
            )
            await bind_official(services, official, official_tid)
            await _registered(services, official_tid, OFFICIAL_FIRST_NAME)
        enterprise = await services.directory.add_enterprise(
            name=f"基准企业{n}",
            credit_code=make_credit_code(f"9121010{n:06d}0000"),
            city="shenyang",
            stage=Stage.GROWTH,
            now=now,
        )
        contact = 600_000 + n
        await _registered(services, contact, ENTERPRISE_FIRST_NAME)
        await services.directory.add_contact(enterprise.id, telegram_id=contact, now=now)
        await services.directory.assign(official.id, enterprise.id, now=now)
        pairs.append((contact, official_tid))
    return pairs


async def _registered(services: Services, telegram_id: int, first_name: str) -> None:
    """Record the user's Telegram profile as the one they will write with."""
    await services.accounts.seen(
        telegram_id,
        first_name=first_name,
        username=None,
        telegram_language=LANGUAGE_CODE,
        now=services.clock.now(),
    )


async def one_enterprise(
    standin: TelegramStandin, contact_id: int, official_id: int, timer: Timer, lock: asyncio.Lock
) -> None:
    """The whole journey: intake, then the official's reply reaching the enterprise."""
    user = _user(standin, contact_id, ENTERPRISE_FIRST_NAME)
    ask = await timer(user.send("/new"), user.expect_message)
    await timer(user.press(ask, "政策落实"), user.expect_message)
    added = await timer(user.send("补贴迟迟没有兑现，影响资金周转。"), user.expect_message)
    urgency = await timer(user.press(added, "✅ 写完了"), user.expect_message)
    summary = await timer(user.press(urgency, "一般"), user.expect_message)
    received = await timer(user.press(summary, "✅ 提交"), user.expect_message)
    number = received.text.split("编号 ")[1].split("。")[0]
    official = _user(standin, official_id, OFFICIAL_FIRST_NAME)
    # Officials serve ten enterprises each: one writes at a time, like a person would.
    async with lock:
        card = await _seen(standin, official, number, "新诉求")
        await timer(
            official.press(card, "💬 回复"), lambda: _seen(standin, official, number, "请发送")
        )
        answer = f"{number} 已收到，正在协调。"
        await timer(official.send(answer), lambda: _seen(standin, official, number, "已发送"))
    await _seen(standin, user, number, "正在协调")


def _user(standin: TelegramStandin, telegram_id: int, first_name: str) -> TestUser:
    """The simulated user, with the profile the set-up recorded for them."""
    return standin.user(
        telegram_id, first_name=first_name, language_code=LANGUAGE_CODE, started=True
    )


async def _seen(standin: TelegramStandin, user: TestUser, number: str, words: str) -> Any:
    """The bot message to ``user`` about ``number`` that says ``words`` (other enterprises'
    messages arrive in between, so "the next message" is not enough)."""

    def find() -> Any:
        # The chat's own records, not ``user.messages``: its copies would cost more than the bot.
        for message in reversed(user.chat.messages.values()):
            text = message.text or ""
            if message.from_bot and number in text and words in text:
                return message
        return None

    found = await wait_for(user.chat.signal, find, 30)
    assert found is not None, f"{words!r} about {number} never came"
    return found


def application_name(backend: str, *, rate_limited: bool) -> str:
    name = "application (rate limiter)" if rate_limited else "application"
    return name if backend == SQLITE else f"{name}, {LABELS[backend]}"


async def bench_application(
    count: int, *, rate_limited: bool, backend: str = SQLITE, admin_url: str = DEFAULT_ADMIN_URL
) -> Run:
    standin = TelegramStandin(bot_username="liaison_bot")
    await standin.start(host="127.0.0.1", port=0)
    kind = "app-limited" if rate_limited else "app"
    try:
        with tempfile.TemporaryDirectory() as folder, _database(backend, admin_url) as url:
            database = url or Path(folder) / "bench.sqlite3"
            async with BotProcess(kind, standin, count, Path(folder), url) as bot:
                timer = Timer()
                # Everyone has started the bot before: a card to an official the stand-in does
                # not know yet would be refused ("chat not found"), as Telegram would.
                for contact, official in bot.pairs:
                    _user(standin, contact, ENTERPRISE_FIRST_NAME)
                    _user(standin, official, OFFICIAL_FIRST_NAME)
                locks = {official: asyncio.Lock() for _, official in bot.pairs}
                before = _handling_calls(standin)
                async with Window(bot) as window:
                    try:
                        await asyncio.gather(
                            *(one_enterprise(standin, c, o, timer, locks[o]) for c, o in bot.pairs)
                        )
                    except AssertionError:
                        _explain(standin, database)
                        raise
                calls = _handling_calls(standin) - before
    finally:
        await standin.stop()
    name = application_name(backend, rate_limited=rate_limited)
    return window.run(name, count * UPDATES_PER_ENTERPRISE, timer.latencies, calls)


@contextmanager
def _database(backend: str, admin_url: str) -> Iterator[str | None]:
    """A throwaway PostgreSQL database's URL, or None for SQLite (a file in the run's folder)."""
    if backend != POSTGRESQL:
        yield None
        return
    with throwaway_database(admin_url, "requests") as url:
        yield url


def _explain(standin: TelegramStandin, database: Path | str) -> None:
    """When a message never came: what the outbox holds undelivered, and the failed calls."""
    query = (
        "SELECT id, recipient_id, kind, status, attempts, not_before, last_error FROM outbox"
        " WHERE status != 'sent'"
    )
    if isinstance(database, str):
        with psycopg.connect(database) as server:
            rows: list[Any] = server.execute(query).fetchall()
    else:
        with sqlite3.connect(database) as db:
            rows = db.execute(query).fetchall()
    print(f"outbox rows not sent: {rows}", file=sys.stderr)
    failed = [(c.method, c.status, c.body[:200]) for c in standin.calls if c.status != 200]
    print(f"Bot API calls that failed: {failed}", file=sys.stderr)


def _handling_calls(standin: TelegramStandin) -> int:
    return sum(1 for call in standin.calls if call.method != "getUpdates")


class BotProcess:
    """A bot in a process of its own, so that its CPU time is its own: the stand-in and the
    simulated users (Telegram's side of the wire) run in this process and are not counted."""

    def __init__(
        self,
        kind: str,
        standin: TelegramStandin,
        count: int,
        folder: Path,
        database_url: str | None = None,
    ) -> None:
        urls = (standin.api_base_url, standin.file_base_url)
        self._args = (kind, urls, count, folder, database_url)
        self.pairs: list[tuple[int, int]] = []

    async def __aenter__(self) -> BotProcess:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=serve_bot, args=(*self._args, theirs))
        self._process.start()
        theirs.close()  # so that a bot process that dies is an EOFError here, not a wait
        self.pairs = await self.ask(None)  # sent once the bot polls and the data is in
        return self

    async def ask(self, question: str | None) -> Any:
        if question is not None:
            self._conn.send(question)
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._conn.poll, 120):
            raise TimeoutError(f"the bot process did not answer {question!r}")
        return self._conn.recv()

    async def __aexit__(self, *exc: object) -> None:
        self._conn.send("stop")
        await asyncio.get_running_loop().run_in_executor(None, self._process.join, 60)
        if self._process.is_alive():
            self._process.kill()


class Window:
    """Wall-clock time of a block, and the CPU time the bot, this process and (if it runs on
    this machine) the PostgreSQL server spent in it. The server serves only the bot here, so
    what it spent is the bot's work, whichever backend runs (about nothing on SQLite)."""

    def __init__(self, bot: BotProcess) -> None:
        self._bot = bot

    async def __aenter__(self) -> Window:
        self._bot_cpu = await self._bot.ask("cpu")
        self._server_cpu = server_cpu_seconds()
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.server_cpu = server_cpu_seconds() - self._server_cpu
        self.bot_cpu = await self._bot.ask("cpu") - self._bot_cpu

    def run(self, name: str, updates: int, latencies: list[float], calls: int) -> Run:
        return Run(
            name, updates, self.seconds, latencies, calls, self.bot_cpu, self.cpu, self.server_cpu
        )


def serve_bot(
    kind: str,
    urls: tuple[str, str],
    count: int,
    folder: Path,
    database_url: str | None,
    conn: Any,
) -> None:
    """The bot process: start the bot, then answer the benchmark until it says stop.

    The application (on ``database_url``, else a SQLite file in ``folder``) and the echo on its
    stack run on the event loop the command line gives the
    deployed bot; the bare echoes on asyncio's own. With ``BENCH_PROFILE`` set to a folder, the
    application is profiled (cProfile, thread CPU clock) into a file there per run.
    """
    logging.basicConfig(level=logging.WARNING)
    if kind.startswith("app") or kind == "echo-app-stack":
        use_fast_event_loop()
    profiles = os.environ.get("BENCH_PROFILE")
    if not profiles or not kind.startswith("app"):
        asyncio.run(_serve_bot(kind, urls, count, folder, database_url, conn))
        return
    profiler = cProfile.Profile(time.thread_time)
    profiler.runcall(asyncio.run, _serve_bot(kind, urls, count, folder, database_url, conn))
    profiler.dump_stats(Path(profiles) / f"{kind}-{os.getpid()}.prof")


async def _serve_bot(
    kind: str,
    urls: tuple[str, str],
    count: int,
    folder: Path,
    database_url: str | None,
    conn: Any,
) -> None:
    if kind.startswith("app"):
        settings = settings_for(urls, folder, database_url)
        with held_as_deployed(settings) as fence:
            app = build_application(settings, fence=fence)
            if kind == "app":
                app.bot.rate_limiter.pacer = Pacer(UNPACED)
            async with running(app, poll_timeout=1):
                conn.send(await make_enterprises(app.bot_data.services, count))
                await _answer(conn)
    else:
        async with running(echo_application(urls, kind), poll_timeout=1):
            conn.send([])
            await _answer(conn)


@contextmanager
def held_as_deployed(settings: Settings) -> Iterator[Fence | None]:
    """On PostgreSQL, the bot runs as ``run`` deploys it: holding the database's instance lock
    (runtime/standby.py), every write transaction checking it (the fence). Without the lock the
    figure would be of a bot that no deployment runs. Nothing on SQLite."""
    if settings.storage.url is None:
        yield None
        return
    lock = ActiveLock(settings.storage.url.get_secret_value(), settings.failover, "bench")
    if not lock.try_acquire():
        raise RuntimeError("the benchmark's throwaway database has an active bot already")
    try:
        yield lock.fence()
    finally:
        lock.release()


async def _answer(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    while (question := await loop.run_in_executor(None, conn.recv)) != "stop":
        assert question == "cpu"
        conn.send(time.process_time())


# -- the baseline -----------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(update.effective_message.text or "")


async def one_echo_user(standin: TelegramStandin, user_id: int, timer: Timer) -> None:
    user = standin.user(user_id, first_name="echo", started=True)
    for n in range(UPDATES_PER_ENTERPRISE):
        await timer(user.send(f"message {n}"), user.expect_message)


def echo_application(urls: tuple[str, str], kind: str) -> Application[Any, Any, Any, Any, Any, Any]:
    """The echo bot with PTB's defaults (``echo``), with the application's update processor and
    timeouts (``echo-like-app``), or with those and the application's transport and event loop
    (``echo-app-stack``); without a rate limiter each, like the compared run."""
    builder = ApplicationBuilder().token(TOKEN).base_url(urls[0]).base_file_url(urls[1])
    tg = TelegramSettings()
    if kind != "echo":
        builder = builder.concurrent_updates(PerUserUpdateProcessor())
    if kind == "echo-like-app":
        builder = (
            builder.connect_timeout(tg.connect_timeout)
            .read_timeout(tg.send_timeout)
            .get_updates_read_timeout(tg.read_timeout)
        )
    if kind == "echo-app-stack":
        builder = builder.request(AiohttpRequest.for_calls(tg)).get_updates_request(
            AiohttpRequest.for_updates(tg)
        )
    app: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


async def bench_echo(count: int, kind: str = "echo") -> Run:
    standin = TelegramStandin(bot_username="liaison_bot")
    await standin.start(host="127.0.0.1", port=0)
    try:
        async with BotProcess(kind, standin, count, Path(".")) as bot:
            timer = Timer()
            before = _handling_calls(standin)
            async with Window(bot) as window:
                await asyncio.gather(
                    *(one_echo_user(standin, 900_000 + n, timer) for n in range(count))
                )
            calls = _handling_calls(standin) - before
    finally:
        await standin.stop()
    return window.run(ECHOES[kind], count * UPDATES_PER_ENTERPRISE, timer.latencies, calls)


async def one_round(
    count: int, limited: bool, backends: tuple[str, ...], admin_url: str
) -> dict[str, Run]:
    """The bots back to back: the two bare echoes, the application on each backend, the echo on
    the application's stack, and the rate-limited application on each backend."""
    runs = [await bench_echo(count), await bench_echo(count, "echo-like-app")]
    for backend in backends:
        runs.append(
            await bench_application(count, rate_limited=False, backend=backend, admin_url=admin_url)
        )
    runs.append(await bench_echo(count, "echo-app-stack"))
    for backend in backends if limited else ():
        runs.append(
            await bench_application(count, rate_limited=True, backend=backend, admin_url=admin_url)
        )
    return {run.name: run for run in runs}


def _per_round(name: str, ratios: list[float]) -> str:
    return (
        f"{name}, per round: {', '.join(f'{r:.2f}' for r in ratios)};"
        f" median {statistics.median(ratios):.2f}"
    )


async def main(
    count: int, rounds: int, limited: bool, backends: tuple[str, ...], admin_url: str
) -> None:
    await one_round(count, False, backends, admin_url)  # warm-up: imports, connections, caches
    runs: dict[str, list[Run]] = {}
    ratios: dict[str, list[float]] = {backend: [] for backend in backends}
    same_stack: dict[str, list[float]] = {backend: [] for backend in backends}
    pg_over_sqlite: list[float] = []
    for _ in range(rounds):
        done = await one_round(count, limited, backends, admin_url)
        for run in done.values():
            runs.setdefault(run.name, []).append(run)
        echo_rate = max(done[ECHOES["echo"]].rate, done[ECHOES["echo-like-app"]].rate)
        app = {b: done[application_name(b, rate_limited=False)].rate for b in backends}
        for backend in backends:
            ratios[backend].append(app[backend] / echo_rate)
            same_stack[backend].append(app[backend] / done[ECHOES["echo-app-stack"]].rate)
        if len(backends) == 2:
            pg_over_sqlite.append(app[POSTGRESQL] / app[SQLITE])
    print(f"{count} enterprises x {UPDATES_PER_ENTERPRISE} updates, {rounds} rounds (medians)")
    print(
        f"{'':36} {'updates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'API calls/update':>17}"
        f" {'bot CPU ms/update':>18} {'stand-in+users CPU':>19} {'PG server CPU':>14}"
    )
    for name, measured in runs.items():
        rate = statistics.median(r.rate for r in measured)
        p50 = statistics.median(r.p50 for r in measured) * 1000
        p99 = statistics.median(r.p99 for r in measured) * 1000
        calls = statistics.median(r.calls_per_update for r in measured)
        cpu = statistics.median(r.cpu_ms_per_update for r in measured)
        other = statistics.median(r.standin_cpu_ms_per_update for r in measured)
        server = statistics.median(r.server_cpu_ms_per_update for r in measured)
        print(
            f"{name:36} {rate:10.1f} {p50:8.1f} {p99:8.1f} {calls:17.2f} {cpu:18.2f} {other:19.2f}"
            f" {server:14.2f}"
        )
    for backend in backends:
        on = "" if backend == SQLITE else f" ({LABELS[backend]})"
        print(
            _per_round(f"throughput ratio application{on} / faster echo", ratios[backend])
            + " (floor 0.6, aim 0.8: issue 16, point 8)"
        )
        print(
            _per_round(
                f"for comparison, application{on} / echo on the application's transport and loop",
                same_stack[backend],
            )
        )
    if pg_over_sqlite:
        print(
            _per_round("throughput PostgreSQL / SQLite, the application", pg_over_sqlite)
            + " (target >= 0.7)"
        )
    storage = (
        ""
        if backends == (SQLITE,)
        else f" --storage {'both' if len(backends) == 2 else backends[0]}"
    )
    plain = "" if limited else " --no-limited"
    print(
        f"reproduce: python -m bench.requests --enterprises {count} --rounds {rounds}"
        f"{plain}{storage}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-limited", action="store_true", help="skip the rate-limited run")
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(
        main(
            args.enterprises,
            args.rounds,
            not args.no_limited,
            chosen(args.storage),
            args.postgres_url,
        )
    )
