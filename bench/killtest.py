"""Kill test: SIGKILL the whole bot at random moments while entrepreneurs file requests and
officials acknowledge, answer and resolve them.

The bot runs as a subprocess (``python -m bot run``) against the stand-in in this process, on
one SQLite database kept across restarts, under Telegram's flood limits. Simulated users act as
people do: they read what the bot last said and answer it after a short pause; whoever gets no
answer in time starts again (``/new``, which offers the saved draft, or ``/inbox``). Every
receipt any user was shown must be in the database afterwards:

- "received, number LN-…": the request, with its history rows;
- an official's card turning to "acknowledged": the ``acknowledged`` history row;
- "sent to LN-…" after a reply: the reply in ``request_messages`` (as many replies on the
  request as "sent" receipts for it: a late "sent" may answer an earlier try);
- "LN-… marked resolved": the ``resolved`` history row;

and ``PRAGMA integrity_check`` must be ok.

And what users receive, counted in the stand-in's chats once the load has stopped and the bot
has sent what it had queued (at most ``DRAIN_SECONDS``):

- every stored request: its submitter received its receipt ("已收到您的诉求，编号 …");
- every reply the official was told was "sent", and every official reply stored: the
  entrepreneur received it;
- a receipt or reply received more than once: each repeat carries the "（重发）" mark.

With ``--hold S`` the stand-in holds every sendMessage S seconds before carrying it out (a slow
network), so that kills catch sends in flight: what Telegram got from a bot that died waiting
for the answer is sent again after the restart, marked, and counted as a duplicate.

With ``--storage postgresql`` the bot runs on a fresh database on a PostgreSQL server
(``--server``, default the local one; dropped at the end). With ``--standby`` as well, two bots
run on it, one active and one standing by (runtime/standby.py); each kill is of the active one,
found by its ``/healthz``, and the killed one is started again at once, as the new standby: the
two take turns. The figures add each takeover's time, from the kill to the standby's first
poll (issue 21: within 15 s).

    python -m bench.killtest [--kills 200] [--users 20] [--officials 4] [--seed 1] [--hold 0]
        [--storage sqlite|postgresql] [--standby] [--server postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg

from bench.broadcasts import start_bot, write_config
from bot.clock import SystemClock
from bot.config import load_settings
from bot.credit_code import make_credit_code
from bot.services import Services
from scenarios.roster import add_contact, bind_official
from standin import RateLimits, TelegramStandin, TestUser
from standin.markup import inline_buttons
from standin.state import StoredMessage
from storage.db import Database, open_database
from storage.models import Stage

FIRST_USER = 20_000_000
FIRST_OFFICIAL = 21_000_000
NUMBER = re.compile(r"LN-\d{8}-\d{4}")
ANSWER_WITHIN = 5.0  # seconds a simulated user waits for the bot before starting again
# What the bot says to a press or a message it has no conversation for (after a restart).
STALE = "这个按钮已失效，请重新打开菜单。"
WHAT_NEXT = "请选择您要做的事："
REPLY_MARK = "答复"  # how the officials' replies begin (their resolutions do not)
RECEIVED = "已收到您的诉求"  # in the receipt of a request
THREAD_HEAD = "💬 "  # how a thread message begins
RESENT = "（重发）"  # how a message sent again after a crash or a time-out begins
AFTER_START_SECONDS = 5.0  # a 429 this soon after a start counts as one of the restart's
DRAIN_SECONDS = 120.0  # the longest wait, once the load stops, for the queued to go out
TAKEOVER_SECONDS = 15.0  # issue 21: the standby takes over within this
ROLE_SECONDS = 60.0  # the longest wait for a started bot to say it is active or standing by
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/test"  # trust auth, as in the test suite
HELD_FOREVER = 10**9  # "every call", for the stand-in's injected delay
replies = itertools.count(1)


@dataclass
class Receipts:
    """What users were told was done, to be found in the database afterwards."""

    requests: list[str] = field(default_factory=list)
    acks: list[str] = field(default_factory=list)
    replies: list[tuple[str, str]] = field(default_factory=list)
    resolves: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Copies:
    """How one kind of message reached its readers: one entry per message that should have."""

    expected: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: int = 0  # messages received more than once
    repeats: int = 0  # copies beyond the first
    unmarked_repeats: int = 0  # copies beyond the first without the "resent" mark

    @staticmethod
    def count(expected: list[str], shown: list[str]) -> Copies:
        """``expected`` as found (as a substring) in the texts ``shown``."""
        lost, duplicated, repeats, unmarked = [], 0, 0, 0
        for wanted in expected:
            copies = [text for text in shown if wanted in text]
            if not copies:
                lost.append(wanted)
            elif len(copies) > 1:
                duplicated += 1
                repeats += len(copies) - 1
                unmarked += max(0, sum(not c.startswith(RESENT) for c in copies) - 1)
        return Copies(len(expected), lost, duplicated, repeats, unmarked)

    def __str__(self) -> str:
        return (
            f"{self.expected - len(self.lost)} of {self.expected} received, {len(self.lost)} lost,"
            f" {self.duplicated} received twice or more ({self.repeats} repeats,"
            f" {self.unmarked_repeats} without the mark)"
        )


@dataclass(frozen=True)
class Delivered:
    """What users received, counted in the stand-in's chats."""

    receipts: Copies  # every stored request's receipt, to its submitter
    replies: Copies  # every reply the official was told was sent, to the entrepreneur
    stored_replies: Copies  # every official reply stored, to the entrepreneur
    outbox: dict[str, int]  # rows left by kind and status (pending ones go at the next start)

    @property
    def lost_total(self) -> int:
        copies = (self.receipts, self.replies, self.stored_replies)
        return sum(len(c.lost) + c.unmarked_repeats for c in copies)


@dataclass(frozen=True)
class Result:
    kills: int
    receipts: Receipts
    lost: dict[str, list[str]]
    integrity: str
    attempts: int
    delivered: Delivered | None = None
    takeovers: list[float] = field(default_factory=list)  # --standby: kill to first poll, s

    @property
    def lost_total(self) -> int:
        stored = sum(len(v) for v in self.lost.values())
        return stored + (0 if self.delivered is None else self.delivered.lost_total)


async def seed(config: Path, users: int, officials: int) -> None:
    """``officials`` officials, each designated for an equal share of ``users`` enterprises."""
    services = await Services.open(load_settings(config), SystemClock())
    try:
        now = services.clock.now()
        holders = []
        for k in range(officials):
            official = await services.directory.add_official(
                external_id=f"LN-K{k:02d}", name=f"官员{k}", title="副省长", body="辽宁省人民政府",
                level="province", city="shenyang", responsibilities="营商环境", now=now,
            )  # fmt: skip
            await bind_official(services, official, FIRST_OFFICIAL + k)
            holders.append(official)
        for i in range(users):
            firm = await services.directory.add_enterprise(
                name=f"压测企业{i}", credit_code=make_credit_code(f"9121010000{i:07d}"),
                city="shenyang", stage=Stage.GROWTH, industry="装备制造", now=now,
            )  # fmt: skip
            await services.directory.assign(holders[i % officials].id, firm.id, now=now)
            await add_contact(services, firm, FIRST_USER + i)
    finally:
        await services.close()


def labels(message: StoredMessage) -> list[str]:
    return [str(b.get("text", "")) for b in inline_buttons(message.reply_markup)]


async def expect(
    user: TestUser,
    wanted: Callable[[StoredMessage], bool],
    within: float = ANSWER_WITHIN,
) -> StoredMessage:
    """The next message ``wanted`` matches, skipping others (notices, late answers)."""
    deadline = time.monotonic() + within
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no answer in time")
        message = await user.expect_message(timeout=left)
        if wanted(message):
            return message


async def press(user: TestUser, message: StoredMessage, label: str) -> None:
    """Press a button; a button the restarted bot no longer knows means starting again."""
    answer = await user.expect_callback_answer(await user.press(message, label), ANSWER_WITHIN)
    if answer.get("text") == STALE:
        raise AssertionError("the conversation was lost with the bot")


async def pause(rng: random.Random) -> None:
    """A person reads and types: Telegram's one message a second per chat is kept."""
    await asyncio.sleep(rng.uniform(0.5, 1.5))


async def file_request(user: TestUser, receipts: Receipts, rng: random.Random) -> None:
    """Answer whatever the intake asks, resuming a saved draft, until the receipt comes."""
    await user.send("/new")
    while True:
        message = await user.expect_message(timeout=ANSWER_WITHIN)
        text, buttons = message.text or "", labels(message)
        if "已收到您的诉求" in text:
            receipts.requests.extend(NUMBER.findall(text))
            return
        if text == WHAT_NEXT:
            raise AssertionError("the conversation was lost with the bot")
        step = next(
            (b for b in ("继续填写", "政策落实", "✅ 写完了", "一般", "✅ 提交") if b in buttons),
            None,
        )
        if step is None and not text.startswith("请描述遇到的问题"):
            continue  # a notice about an earlier request, or a late answer
        await pause(rng)
        if step is None:
            await user.send(f"补贴至今未兑现（{user.id}）")
        else:
            await press(user, message, step)


async def handle_one(user: TestUser, receipts: Receipts, rng: random.Random) -> None:
    """Open a request from the inbox, acknowledge it if needed, reply, then resolve it."""
    await user.send("/inbox")
    listing = await expect(
        user, lambda m: "待办诉求" in (m.text or "") or "没有待办" in (m.text or "")
    )
    numbers = [b for b in labels(listing) if NUMBER.fullmatch(b)]
    if not numbers:
        await asyncio.sleep(2)
        return
    number = rng.choice(numbers)
    await pause(rng)
    await press(user, listing, number)
    card = await expect(
        user, lambda m: (m.text or "").startswith(number) and "💬 回复" in labels(m)
    )
    if "✅ 受理" in labels(card):
        await pause(rng)
        await press(user, card, "✅ 受理")
        card = await user.expect_edit(card, timeout=ANSWER_WITHIN)
        if "已受理" in (card.text or ""):
            receipts.acks.append(number)
    reply = f"{REPLY_MARK}{next(replies)}：已协调相关部门（{number}）"
    await write_on(user, card, number, "💬 回复", reply, f"已发送到 {number}", rng)
    receipts.replies.append((number, reply))
    await write_on(user, card, number, "🏁 办结", f"办结：{reply}", f"{number} 已标记为办结", rng)
    receipts.resolves.append(number)


async def write_on(
    user: TestUser,
    card: StoredMessage,
    number: str,
    button: str,
    words: str,
    done: str,
    rng: random.Random,
) -> None:
    """Press a card's button that asks for words, send them, and wait for ``done``."""
    await pause(rng)
    await press(user, card, button)
    await expect(user, lambda m: number in (m.text or "") and (m.text or "").startswith("请"))
    await pause(rng)
    await user.send(words)
    await expect(user, lambda m: done in (m.text or ""))


async def keep_working(
    job: Callable[[TestUser, Receipts, random.Random], Awaitable[None]],
    user: TestUser,
    receipts: Receipts,
    stop: asyncio.Event,
    rng: random.Random,
) -> int:
    """Repeat ``job`` until stopped; a missing answer means the bot died: start again."""
    attempts = 0
    while not stop.is_set():
        attempts += 1
        try:
            await job(user, receipts, rng)
        except AssertionError:
            await asyncio.sleep(0.2)
    return attempts


async def kill_and_restart(
    kills: int,
    gaps: tuple[float, float],
    settle: float,
    config: Path,
    log: Path,
    standin: TelegramStandin,
    rng: random.Random,
    until: Callable[[], bool] | None = None,
    finish: Callable[[], Awaitable[None]] | None = None,
) -> list[float]:
    """SIGKILL the bot ``kills`` times, ``gaps`` seconds apart, then let it run ``settle``
    seconds (less once ``until()`` holds), then ``finish()`` (the load stops, the queued goes
    out); the seconds from each restart to its first poll."""
    restarts = []
    bot = start_bot(config, log)
    try:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(*gaps))
            bot.send_signal(signal.SIGKILL)
            await asyncio.to_thread(bot.wait)
            started = time.perf_counter()
            bot = start_bot(config, log)
            starts, polls = len(standin.calls_to("getMe")), len(standin.calls_to("getUpdates"))
            while len(standin.calls_to("getMe")) == starts:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            while len(standin.calls_to("getUpdates")) == polls:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            restarts.append(time.perf_counter() - started)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not (until is not None and until()):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        if finish is not None:
            await finish()
    finally:
        await stop_bot(bot)
    return restarts


async def stop_bot(bot: subprocess.Popen[bytes]) -> None:
    """Stop the bot as an operator would (SIGINT); SIGKILL it if it has not ended in 30 s."""
    bot.send_signal(signal.SIGINT)
    try:
        await asyncio.to_thread(bot.wait, 30)
    except subprocess.TimeoutExpired:
        bot.kill()
        await asyncio.to_thread(bot.wait)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Instance:
    """One of two bots on a PostgreSQL database, its ``/healthz`` on a port of its own."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log, self.port = config, log, free_port()
        self.process = start_bot(config, log, {"BOT_METRICS__PORT": str(self.port)})

    def restarted(self) -> Instance:
        return Instance(self.config, self.log)

    async def role(self) -> str | None:
        """``active`` or ``standby`` as its /healthz says; None when it does not answer."""
        url = f"http://127.0.0.1:{self.port}/healthz"
        timeout = aiohttp.ClientTimeout(total=2)
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as resp,
            ):
                text = await resp.text()
                return text.removeprefix("ok ") if resp.status == 200 else None
        return None

    async def becomes(self, role: str, within: float = ROLE_SECONDS) -> None:
        deadline = time.monotonic() + within
        while await self.role() != role:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot ended ({self.process.returncode}); see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bot is not {role} after {within} s; see {self.log}")
            await asyncio.sleep(0.05)


async def kill_the_active(
    kills: int,
    gaps: tuple[float, float],
    settle: float,
    config: Path,
    directory: Path,
    standin: TelegramStandin,
    rng: random.Random,
    until: Callable[[], bool] | None = None,
    finish: Callable[[], Awaitable[None]] | None = None,
) -> list[float]:
    """Two bots on one PostgreSQL database: SIGKILL the active one ``kills`` times, ``gaps``
    seconds apart, starting it again at once (it stands by: the two take turns), then as
    :func:`kill_and_restart`; the seconds from each kill to the standby's first poll."""
    bots = [Instance(config, directory / "bot-a.log")]
    takeovers = []
    try:
        await bots[0].becomes("active")
        bots.append(Instance(config, directory / "bot-b.log"))
        await bots[1].becomes("standby")
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(*gaps))
            active = 0 if await bots[0].role() == "active" else 1
            standby = bots[1 - active]
            if await bots[active].role() != "active":
                raise RuntimeError("neither bot says it is active")
            bots[active].process.send_signal(signal.SIGKILL)
            killed = time.perf_counter()
            await asyncio.to_thread(bots[active].process.wait)
            await standby.becomes("active", within=ROLE_SECONDS)
            polls = len(standin.calls_to("getUpdates"))
            while len(standin.calls_to("getUpdates")) == polls:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            takeovers.append(time.perf_counter() - killed)
            bots[active] = bots[active].restarted()
            await bots[active].becomes("standby")
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not (until is not None and until()):  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        if finish is not None:
            await finish()
    finally:
        for bot in bots:
            await stop_bot(bot.process)
    return takeovers


@contextlib.contextmanager
def server_database(server: str, name: str) -> Iterator[str]:
    """A fresh database ``name`` on the PostgreSQL ``server`` (dropped at the end); its URL."""

    def admin(statement: str) -> None:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(statement.encode())

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.partition('?')[0].rpartition('/')[0]}/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def integrity_of(db: Database) -> str:
    """SQLite's ``PRAGMA integrity_check``; a PostgreSQL server checks its own pages (the
    result says so, and counts as ok)."""
    if db.dialect == "postgresql":
        return "ok (PostgreSQL: no integrity_check to run)"
    return str(await db.fetch_value("PRAGMA integrity_check"))


async def lost_receipts(db: Database, receipts: Receipts) -> dict[str, list[str]]:
    """Every receipt whose row is not in the database, by kind."""

    async def has(sql: str, *params: object) -> bool:
        return bool(await db.fetch_value(sql, params))

    history = (
        "SELECT count(*) FROM request_history h JOIN requests r ON r.id = h.request_id"
        " WHERE r.number = ?"
    )
    lost: dict[str, list[str]] = {"requests": [], "acks": [], "replies": [], "resolves": []}
    for number in set(receipts.requests):
        if not await has(history, number):
            lost["requests"].append(number)
    for kind, status in (("acks", "acknowledged"), ("resolves", "resolved")):
        for number in set(getattr(receipts, kind)):
            if not await has(history + " AND h.to_status = ?", number, status):
                lost[kind].append(number)
    # A "sent" may answer an earlier try whose answer came late, so count: as many replies
    # stored on each request as "sent" receipts for it.
    sent = Counter(number for number, _ in receipts.replies)
    for number, count in sent.items():
        stored = await db.fetch_value(
            "SELECT count(*) FROM request_messages m JOIN requests r ON r.id = m.request_id"
            " WHERE r.number = ? AND m.sender_role = 'official' AND m.text LIKE ?",
            (number, f"{REPLY_MARK}%"),
        )
        lost["replies"] += [number] * max(0, count - int(stored))
    return lost


def shown_to(users: list[TestUser]) -> dict[int, list[str]]:
    """What the bot sent to each user, as the stand-in's chats hold it."""
    return {u.id: [m.text or "" for m in u.chat.messages.values() if m.from_bot] for u in users}


async def delivered(db: Database, people: list[TestUser], receipts: Receipts) -> Delivered:
    """Receipts of stored requests, and replies, as their readers received them."""
    shown = shown_to(people)
    every = [text for texts in shown.values() for text in texts]
    stored = await db.fetch_all("SELECT number, submitted_by FROM requests ORDER BY id")
    receipts_of = Copies.count(
        [f"{RECEIVED}，编号 {row[0]}" for row in stored],
        [t for row in stored for t in shown.get(row[1], []) if row[0] in t],
    )
    told = sorted({reply for _, reply in receipts.replies})
    # Thread messages only: a resolution's notice quotes the reply in its note.
    thread = [t for t in every if t.removeprefix(RESENT).startswith(THREAD_HEAD)]
    stored_replies = await db.fetch_all(
        "SELECT text FROM request_messages WHERE sender_role = 'official' AND text LIKE ?",
        (f"{REPLY_MARK}%",),
    )
    rows = await db.fetch_all(
        "SELECT kind, status, count(*) FROM outbox WHERE status != 'sent' GROUP BY kind, status"
    )
    return Delivered(
        receipts=receipts_of,
        replies=Copies.count(told, thread),
        stored_replies=Copies.count([row[0] for row in stored_replies], thread),
        outbox={f"{row[0]}:{row[1]}": row[2] for row in rows},
    )


async def drained(target: Path | str, within: float) -> None:
    """Wait (at most ``within`` seconds) until no receipt or thread message is left to send."""
    deadline = time.monotonic() + within
    db = await open_database(target)
    try:
        while time.monotonic() < deadline:
            left = await db.fetch_value(
                "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')"
                " AND kind IN ('receipt', 'thread')"
            )
            if not left:
                return
            await asyncio.sleep(0.5)
    finally:
        await db.close()


async def run(
    kills: int,
    users: int,
    officials: int,
    rng: random.Random,
    directory: Path,
    gaps: tuple[float, float] = (2.0, 10.0),
    settle: float = 10.0,
    until: Callable[[Receipts], bool] | None = None,
    hold: float = 0.0,
    url: str | None = None,
    standby: bool = False,
) -> Result:
    """Prints the figures and returns them; after the last kill the load runs ``settle``
    seconds, or until ``until(receipts)`` holds. ``hold``: seconds every sendMessage is held;
    ``url``: a PostgreSQL database instead of a SQLite file; ``standby``: two bots on it."""
    standin = TelegramStandin(limits=RateLimits())
    await standin.start()
    if hold:
        standin.inject_delay("sendMessage", seconds=hold, times=HELD_FOREVER)
    db_path = directory / "kill.sqlite3"
    target: Path | str = db_path if url is None else url
    config = write_config(directory, standin, db_path, url=url)
    await seed(config, users, officials)
    people = [
        standin.user(FIRST_USER + i, first_name=f"用户{i}", language_code="zh-hans", started=True)
        for i in range(users)
    ]
    holders = [
        standin.user(
            FIRST_OFFICIAL + k, first_name=f"官员{k}", language_code="zh-hans", started=True
        )
        for k in range(officials)
    ]
    receipts = Receipts()
    stop = asyncio.Event()
    load = [
        *(
            keep_working(file_request, p, receipts, stop, random.Random(rng.random()))
            for p in people
        ),
        *(
            keep_working(handle_one, h, receipts, stop, random.Random(rng.random()))
            for h in holders
        ),
    ]
    tasks = [asyncio.create_task(job) for job in load]
    attempts = 0

    async def finish() -> None:
        """The load stops; what the bot queued goes out before it is stopped."""
        nonlocal attempts
        stop.set()
        attempts = sum(await asyncio.gather(*tasks))
        await drained(target, DRAIN_SECONDS)

    stop_when = None if until is None else lambda: until(receipts)
    restarts: list[float] = []
    takeovers: list[float] = []
    try:
        if standby:
            takeovers = await kill_the_active(
                kills, gaps, settle, config, directory, standin, rng, stop_when, finish
            )
        else:
            restarts = await kill_and_restart(
                kills, gaps, settle, config, directory / "bot.log", standin, rng, stop_when,
                finish,
            )  # fmt: skip
    finally:
        stop.set()
        attempts = attempts or sum(await asyncio.gather(*tasks))
        await standin.stop()
    db = await open_database(target)
    try:
        integrity = await integrity_of(db)
        lost = await lost_receipts(db, receipts)
        stored = await db.fetch_value("SELECT count(*) FROM requests")
        rows = await db.fetch_value("SELECT count(*) FROM request_history")
        received = await delivered(db, people, receipts)
    finally:
        await db.close()
    result = Result(kills, receipts, lost, integrity, attempts, received, takeovers)
    print(f"kills: {kills}, entrepreneurs: {users}, officials: {officials}, attempts: {attempts}")
    print(
        f"receipts seen: {len(set(receipts.requests))} requests, {len(set(receipts.acks))} acks,"
        f" {len(receipts.replies)} replies, {len(set(receipts.resolves))} resolutions"
    )
    print(f"stored: {stored} requests, {rows} history rows")
    print(f"receipts seen but not stored: {sum(len(v) for v in lost.values())} {lost}")
    print(f"receipts of stored requests, to their submitters: {received.receipts}")
    print(f"replies the official was told were sent, to the entrepreneur: {received.replies}")
    print(f"official replies stored, to the entrepreneur: {received.stored_replies}")
    print(f"outbox rows not sent, by kind and status: {received.outbox}")
    print(f"lost in all: {result.lost_total} (target 0); integrity_check: {integrity}")
    print(f"429s from the stand-in: {standin.rate_limited}{_refusals_after_starts(standin)}")
    if restarts:
        print(f"restart to first poll: median {statistics.median(restarts):.2f} s")
    if takeovers:
        print(
            f"takeovers (kill of the active to the standby's first poll): {len(takeovers)},"
            f" median {statistics.median(takeovers):.2f} s, longest {max(takeovers):.2f} s"
            f" (target < {TAKEOVER_SECONDS:.0f} s)"
        )
    return result


def _refusals_after_starts(standin: TelegramStandin) -> str:
    """When the 429s came: within the first seconds after a (re)start of the bot (its first
    getMe), when the new process cannot know what the killed one had just sent, or later."""
    starts = [call.at for call in standin.api.calls if call.method == "getMe"]
    refused = [call.at for call in standin.api.calls if call.status == 429]
    if not refused or not starts:
        return ""
    after = [at - max((s for s in starts if s <= at), default=at) for at in refused]
    early = sum(seconds < AFTER_START_SECONDS for seconds in after)
    return f"; within {AFTER_START_SECONDS:g} s of a start: {early}, later: {len(after) - early}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--officials", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hold", type=float, default=0.0, help="seconds each send is held")
    parser.add_argument("--storage", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--standby", action="store_true", help="two bots, one active (postgresql only)"
    )
    parser.add_argument(
        "--server", default=LOCAL_SERVER, help="where to create the PostgreSQL database"
    )
    args = parser.parse_args()
    if args.standby and args.storage != "postgresql":
        parser.error("--standby needs --storage postgresql")
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # resets when the bot dies
    started = time.perf_counter()
    name = f"{'standby' if args.standby else 'killtest'}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        url = None
        if args.storage == "postgresql":
            url = stack.enter_context(server_database(args.server, name))
        result = asyncio.run(
            run(
                args.kills,
                args.users,
                args.officials,
                random.Random(args.seed),
                Path(tmp),
                hold=args.hold,
                url=url,
                standby=args.standby,
            )
        )
    print(f"wall time: {time.perf_counter() - started:.0f} s")
    print(
        f"reproduce: python -m bench.killtest --kills {args.kills} --users {args.users}"
        f" --officials {args.officials} --seed {args.seed} --hold {args.hold}"
        f" --storage {args.storage}" + (" --standby" if args.standby else "")
    )
    slow = any(seconds >= TAKEOVER_SECONDS for seconds in result.takeovers)
    raise SystemExit(1 if result.lost_total or not result.integrity.startswith("ok") or slow else 0)


if __name__ == "__main__":
    main()
