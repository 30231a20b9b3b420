"""Isolation: many enterprises, officials and admins acting at random (issue 8, point 7; the
offices of issue 18, point 5).

A hypothesis ``RuleBasedStateMachine`` drives the real bot through the stand-in: entrepreneurs
file requests through the intake, anyone presses any request button (their own requests' or,
forged, anybody's), writes replies, notes and resolutions, opens requests by number, lists
them, and tries to hand them to an official. After every step it checks that

- nobody was shown (in any message or edit in their chat, or any button answer) a request's
  number, description or thread message unless they are, or once were, entitled to it: a
  contact of its enterprise, an official who held it, the province's admin, or the admin of
  its enterprise's city (Dalian's, who also lists, reads histories and trails, and announces);
- a Dalian admin's announcement reaches nobody outside Dalian;
- no request changed (row, history, thread) by the hand of somebody who was not entitled to
  it when they acted;
- every receipt shown ("received, number …", "sent to …") is in the database.

The bot and the stand-in run in a thread with their own event loop, because hypothesis drives
the machine synchronously; each example gets fresh enterprises, officials and users. Runs are
derandomized for CI; ``ISOLATION_EXAMPLES`` and ``ISOLATION_STEPS`` ask for more (see
docs/hardening.md, section 7).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bot.clock import FakeClock
from bot.config import Settings
from bot.credit_code import make_credit_code
from bot.pacing import ScaledClock
from bot.services import Services
from runtime.application import BotApplication, build_application, running
from scenarios.roster import ADMIN_ID, add_contact, appoint_admin, bind_official
from standin import RateLimits, TelegramStandin, TestUser
from standin.markup import inline_buttons
from standin.state import StoredMessage
from storage.models import Stage
from tests.conftest import START, TIME_SCALE, TOKEN, register_settings_secrets
from tests.driving import settle
from tests.postgres import storage_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.storage,
]  # end to end (`./test -m "not slow"` skips it), on both databases

EXAMPLES = int(os.environ.get("ISOLATION_EXAMPLES", "10"))
STEPS = int(os.environ.get("ISOLATION_STEPS", "30"))
NUMBER = re.compile(r"LN-\d{8}-\d{4}")
TOKEN_MARK = re.compile(r"⟦[DR]\d+⟧")  # secret words put in descriptions and thread messages
# Buttons that act at once, and those that ask for words first (handlers/requests.py, thread.py).
PRESSES = ("ack", "solved", "unsolved", "withdraw", "assign", "history", "open", "skip")
WRITES = ("reply", "note", "ask", "resolve", "return", "comment")
PERSON = st.integers(0, 8)  # an index into the example's nine people, sorted by id
ANNOUNCEMENT = re.compile(r"⟦B\d+⟧")  # secret words put in a city admin's announcements
FOOTER = "政府工作人员绝不会向您索要钱款"
CITY = "dalian"  # the third firm's city, and its admin's
ANNOUNCEMENTS = 2  # a Dalian admin's announcements in one example, at most
T = TypeVar("T")
serial = itertools.count(1)
tally: Counter[str] = Counter()  # what the run did, printed at the end (pytest -s)


class BotThread:
    """The stand-in and the bot on an event loop of their own, called from synchronous code."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stack = AsyncExitStack()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def __enter__(self) -> BotThread:
        self.thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.stack.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()

    async def _start(self) -> None:
        # Telegram's limits on, on a clock both sides share, faster than real time.
        fake = FakeClock(START)
        pacing = ScaledClock(TIME_SCALE, offset=lambda: (fake.now() - START).total_seconds())
        self.standin = TelegramStandin(
            bot_username="liaison_bot", limits=RateLimits(), clock=pacing.now
        )
        await self.standin.start(host="127.0.0.1", port=0)
        self.stack.push_async_callback(self.standin.stop)
        settings = register_settings_secrets(
            Settings.model_validate(
                {
                    "telegram": {
                        "token": TOKEN,
                        "base_url": self.standin.api_base_url,
                        "base_file_url": self.standin.file_base_url,
                        "poll_timeout": 1,
                    },
                    "storage": storage_for(self.directory),
                    "admins": {"telegram_ids": [ADMIN_ID]},
                    "security": {"hash_key": "test-hash-key-0123456789"},
                }
            )
        )
        app = build_application(settings, clock=fake, pacing_clock=pacing)
        self.bot: BotApplication = await self.stack.enter_async_context(
            running(app, poll_timeout=1)
        )
        self.services: Services = app.bot_data.services


@dataclass(frozen=True)
class Filed:
    """A request the bot acknowledged with its number."""

    number: str
    id: int


@dataclass
class Cast:
    """One example's people: three firms (the first with two contacts; the third in Dalian),
    two officials designated for the first two firms, a stranger, and the admins (the
    province's, shared by all examples, and Dalian's, one per example)."""

    contacts: dict[int, int]  # entrepreneur's Telegram id -> enterprise id
    officials: dict[int, int]  # official's Telegram id -> official id
    stranger: int
    city_admin: int  # Dalian's admin, appointed for this example
    users: dict[int, TestUser] = field(default_factory=dict)


async def make_cast(standin: TelegramStandin, services: Services) -> Cast:
    n = next(serial)
    base = 610_000 + 100 * n
    now = services.clock.now()
    firms = [
        await services.directory.add_enterprise(
            name=f"隔离企业{n}-{k}", credit_code=make_credit_code(f"91210300{n:04d}{k:05d}"),
            city=CITY if k == 2 else "shenyang", stage=Stage.GROWTH, industry="装备制造", now=now,
        )
        for k in range(3)
    ]  # fmt: skip
    await appoint_admin(services, base + 30, CITY)
    contacts = {base + 1: firms[0].id, base + 2: firms[0].id, base + 3: firms[1].id}
    contacts[base + 4] = firms[2].id
    officials = {}
    for k in range(2):
        official = await services.directory.add_official(
            external_id=f"ISO-{n}-{k}", name=f"官员{n}-{k}", title="副市长", body="沈阳市人民政府",
            level="city", city="shenyang", responsibilities="营商环境", now=now,
        )  # fmt: skip
        await services.directory.assign(official.id, firms[k].id, now=now)
        await bind_official(services, official, base + 10 + k)
        officials[base + 10 + k] = official.id
    for telegram_id, firm_id in contacts.items():
        firm = next(f for f in firms if f.id == firm_id)
        await add_contact(services, firm, telegram_id)
    cast = Cast(contacts, officials, stranger=base + 20, city_admin=base + 30)
    for telegram_id in [*contacts, *officials, cast.stranger, ADMIN_ID, cast.city_admin]:
        cast.users[telegram_id] = standin.user(
            telegram_id, first_name=f"U{telegram_id}", language_code="zh-hans", started=True
        )
    return cast


def labels(message: StoredMessage) -> list[str]:
    return [str(b.get("text", "")) for b in inline_buttons(message.reply_markup)]


class Isolation(RuleBasedStateMachine):
    """Users acting at random on each other's requests; see the module docstring."""

    requests = Bundle("requests")

    def __init__(self, runner: BotThread) -> None:
        super().__init__()
        tally["examples"] += 1
        self.runner = runner
        self.standin = runner.standin
        self.services = runner.services
        self.cast = self.call(make_cast(self.standin, self.services))
        self.people = sorted(self.cast.users)
        self.filed: dict[str, Filed] = {}
        self.entitled: dict[str, set[int]] = {}  # number -> who may ever have seen it
        self.secrets: dict[str, str] = {}  # secret word -> the number it was written on
        self.receipts: list[tuple[str, str]] = []  # (number, thread text) the bot said "sent"
        self.dalian: set[int] = set()  # who a Dalian admin's announcement may reach
        self.announced = 0

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.runner.call(coroutine)

    # -- rules --------------------------------------------------------------------------------

    @initialize(target=requests)
    def file_one_request_per_firm(self) -> Any:
        """Each firm starts with a request, so every example has something to fight over."""
        return multiple(*(self._file(who) for who in (0, 2, 3)))

    @rule(target=requests, who=st.integers(0, 3))
    def file_request(self, who: int) -> Any:
        """An entrepreneur goes through the intake with a secret word in the description."""
        return multiple(self._file(who))

    def _file(self, who: int) -> Filed:
        user = self.cast.users[list(self.cast.contacts)[who]]
        secret = f"⟦D{next(serial)}⟧"
        number = self.call(self._intake(user, secret))
        request = self.call(self.services.requests.by_number(number))
        assert request is not None, f"receipt {number} shown but not stored"
        filed = Filed(number, request.id)
        self.filed[number] = filed
        tally["requests filed"] += 1
        self.entitled[number] = {ADMIN_ID} | (
            {self.cast.city_admin} if request.city == CITY else set()
        )
        self.secrets[secret] = number
        self.call(self._note_entitled())
        return filed

    @rule(who=PERSON, request=requests, action=st.sampled_from(PRESSES))
    def press(self, who: int, request: Filed, action: str) -> None:
        """Anyone presses a request button, as if it were on a card they had."""
        self.act(who, self._press(who, f"rq:{request.id}:{action}"), "press")

    @rule(who=PERSON, request=requests, kind=st.sampled_from(WRITES))
    def write(self, who: int, request: Filed, kind: str) -> None:
        """Anyone tries to write on a request; the words carry a secret word."""
        self.act(who, self._write(who, request, kind), "write")

    @rule(request=requests, action=st.sampled_from(PRESSES), pick=st.integers(0, 9))
    def party_presses(self, request: Filed, action: str, pick: int) -> None:
        """Somebody entitled to the request presses one of its buttons: the lifecycle moves."""
        who = self._party(request, pick)
        self.act(who, self._press(who, f"rq:{request.id}:{action}"), "press")

    @rule(request=requests, kind=st.sampled_from(WRITES), pick=st.integers(0, 9))
    def party_writes(self, request: Filed, kind: str, pick: int) -> None:
        """Somebody entitled to the request writes on it: the other side gets the words."""
        who = self._party(request, pick)
        self.act(who, self._write(who, request, kind), "write")

    def _party(self, request: Filed, pick: int) -> int:
        """The index of one of the request's parties now (the admin only if nobody else is)."""
        admins = {ADMIN_ID, self.cast.city_admin}
        parties = sorted(self.call(self._parties())[request.number] - admins) or [ADMIN_ID]
        return self.people.index(parties[pick % len(parties)])

    @rule(who=PERSON, request=requests, official=st.integers(0, 1))
    def assign(self, who: int, request: Filed, official: int) -> None:
        """Anyone (the admin rightly) hands a request to an official."""
        official_id = list(self.cast.officials.values())[official]
        self.act(who, self._press(who, f"ra:{request.id}:{official_id}"), "assign")

    @rule(who=PERSON, request=requests, page=st.integers(0, 1))
    def read_thread(self, who: int, request: Filed, page: int) -> None:
        """Anyone presses a request's full-thread button (📜), as if they had its card."""
        self.act(who, self._press(who, f"tv:{request.id}:{page}"), "thread")

    @rule(who=PERSON, request=requests)
    def open_by_number(self, who: int, request: Filed) -> None:
        self.act(who, self._send(who, request.number), "open")

    @rule(who=PERSON, command=st.sampled_from(("/my", "/inbox", "/queue")))
    def list_requests(self, who: int, command: str) -> None:
        self.act(who, self._send(who, command), "list")

    @rule(request=requests, what=st.sampled_from(("/history", "/open", "/stats", "/issues")))
    def city_admin_reads(self, request: Filed, what: str) -> None:
        """Dalian's admin reads a request's history, opens it, reads the rates or the issues
        (the overdue list names requests), whichever city it is of."""
        command = f"{what} {request.number}" if what in ("/history", "/open") else what
        self.act(
            self.people.index(self.cast.city_admin),
            self._send_as(self.cast.city_admin, command),
            "city",
        )

    @rule(who=PERSON)
    def city_admin_audits(self, who: int) -> None:
        """Dalian's admin reads what somebody did (their requests' numbers among it)."""
        command = f"/audit {self.people[who]}"
        self.act(
            self.people.index(self.cast.city_admin),
            self._send_as(self.cast.city_admin, command),
            "city",
        )

    @precondition(lambda self: self.announced < ANNOUNCEMENTS)
    @rule()
    def city_admin_announces(self) -> None:
        """Dalian's admin announces to everyone (a few times an example): only Dalian's firms
        and officials hear it."""
        self.announced += 1
        secret = f"⟦B{next(serial)}⟧"
        self.call(self._announce(secret))
        tally["announcements by a city admin"] += 1

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def nobody_saw_what_they_may_not(self) -> None:
        for telegram_id, user in self.cast.users.items():
            if telegram_id == ADMIN_ID:
                continue
            for text in self._seen_by(user):
                for number in NUMBER.findall(text):
                    if number in self.entitled:
                        assert telegram_id in self.entitled[number], (
                            f"user {telegram_id} was shown {number}: {text!r}"
                        )
                for secret in TOKEN_MARK.findall(text):
                    number = self.secrets[secret]
                    assert telegram_id in self.entitled[number], (
                        f"user {telegram_id} was shown a message of {number}: {text!r}"
                    )

    @invariant()
    def a_city_announcement_stays_in_its_city(self) -> None:
        self.dalian = self.call(self._dalian())
        for telegram_id, user in self.cast.users.items():
            for text in self._seen_by(user):
                if FOOTER in text and ANNOUNCEMENT.search(text):
                    assert telegram_id in self.dalian, f"user {telegram_id} got {text!r}"
                    tally["announcements received in Dalian"] += 1

    @invariant()
    def every_receipt_is_stored(self) -> None:
        async def stored() -> tuple[set[str], set[tuple[str, str]]]:
            db = self.services.db
            numbers = {
                row[0]
                for row in await db.fetch_all(
                    "SELECT r.number FROM requests r"
                    " WHERE EXISTS (SELECT 1 FROM request_history h WHERE h.request_id = r.id)"
                )
            }
            messages = {
                (row[0], row[1])
                for row in await db.fetch_all(
                    "SELECT r.number, m.text FROM request_messages m"
                    " JOIN requests r ON r.id = m.request_id"
                )
            }
            return numbers, messages

        numbers, messages = self.call(stored())
        assert set(self.filed) <= numbers
        assert set(self.receipts) <= messages

    # -- acting -------------------------------------------------------------------------------

    def act(self, who: int, action: Coroutine[Any, Any, None], kind: str) -> None:
        """Run one user's action; requests they were not entitled to must not change."""
        telegram_id = self.people[who]
        before = self.call(self._rows())
        parties = self.call(self._parties())
        self.call(action)
        after = self.call(self._rows())
        for number, row in before.items():
            if telegram_id not in parties[number]:
                assert after[number] == row, f"user {telegram_id} changed {number}"
                tally[f"{kind}: others' requests checked unchanged"] += 1
            elif after[number] != row:
                tally[f"{kind}: changes by a party"] += 1
        tally["steps"] += 1
        self.call(self._note_entitled())

    async def _press(self, who: int, data: str) -> None:
        user = self.cast.users[self.people[who]]
        anchor = user.messages[-1] if user.messages else (await self._start(user))
        await user.press_data(anchor, data)
        await settle(self.standin, self.runner.bot)

    async def _send(self, who: int, text: str) -> None:
        await self.cast.users[self.people[who]].send(text)
        await settle(self.standin, self.runner.bot)

    async def _send_as(self, telegram_id: int, text: str) -> None:
        await self._send(self.people.index(telegram_id), text)

    async def _announce(self, secret: str) -> None:
        """/broadcast as Dalian's admin, to everyone, sent now; wait until it is delivered."""
        admin = self.cast.users[self.cast.city_admin]
        await settle(self.standin, self.runner.bot)

        async def say(text: str) -> StoredMessage:
            """Send ``text``; the bot's answer to it (cards that came before it skipped)."""
            sent = (await admin.send(text))["message_id"]
            while True:
                message = await admin.expect_message()
                if message.message_id > sent:
                    return message

        await say("/broadcast")
        kinds = await say(f"大连通知 {secret}")
        await admin.press(kinds, "所有人")
        await admin.expect_message()  # the preview
        summary = await admin.expect_message()
        await admin.press(summary, "▶️ 立即发送")
        confirm = await admin.expect_edit(summary)
        await admin.press(confirm, "✅ 确认发送")
        await admin.expect_edit(confirm)
        store, broadcasts = self.services.broadcasts.store, self.services.broadcasts

        async def done() -> bool:
            latest = (await store.recent(1))[0]
            return latest.status == "done" and not broadcasts.is_running(latest.id)

        await self.standin.wait_for_async(done, timeout=20)
        await settle(self.standin, self.runner.bot)

    async def _write(self, who: int, request: Filed, kind: str) -> None:
        """Press the button that asks for words; if asked, send them (with a secret word)."""
        user = self.cast.users[self.people[who]]
        seen = len(user.messages)
        await self._press(who, f"rq:{request.id}:{kind}")
        asked = any(request.number in (m.text or "") for m in user.messages[seen:])
        if not asked and kind != "comment":
            return
        if kind == "comment" and not any("意见" in (m.text or "") for m in user.messages[seen:]):
            return
        secret = f"⟦R{next(serial)}⟧"
        self.secrets[secret] = request.number
        words = f"{kind} {secret}"
        seen = len(user.messages)
        await user.send(words)
        await settle(self.standin, self.runner.bot)
        if any(f"已发送到 {request.number}" in (m.text or "") for m in user.messages[seen:]):
            self.receipts.append((request.number, words))
            tally["thread messages sent"] += 1

    async def _intake(self, user: TestUser, secret: str) -> str:
        """/new through to the receipt; the number shown."""
        await user.send("/new")
        for _ in range(12):
            message = await user.expect_message()
            text, buttons = message.text or "", labels(message)
            if "已收到您的诉求" in text:
                found = NUMBER.search(text)
                assert found is not None
                return found.group(0)
            step = next(
                (b for b in ("放弃草稿，重新开始", "政策落实", "✅ 写完了", "一般", "✅ 提交")
                 if b in buttons),
                None,
            )  # fmt: skip
            if step is not None:
                await user.press(message, step)
            elif text.startswith("请描述遇到的问题"):
                await user.send(f"补贴没有兑现 {secret}")
        raise AssertionError(f"the intake did not end with a receipt\n{user.dump()}")

    async def _start(self, user: TestUser) -> StoredMessage:
        await user.send("/start")
        return await user.expect_message()

    # -- what the database says ---------------------------------------------------------------

    async def _rows(self) -> dict[str, tuple[Any, ...]]:
        """Each request of this example: its row, its history and its thread."""
        db = self.services.db
        rows = {}
        for number, filed in self.filed.items():
            row = await db.fetch_one("SELECT * FROM requests WHERE id = ?", (filed.id,))
            history = await db.fetch_all(
                "SELECT * FROM request_history WHERE request_id = ?", (filed.id,)
            )
            thread = await db.fetch_all(
                "SELECT * FROM request_messages WHERE request_id = ?", (filed.id,)
            )
            rows[number] = (
                tuple(row or ()),
                [tuple(h) for h in history],
                [tuple(m) for m in thread],
            )
        return rows

    async def _dalian(self) -> set[int]:
        """Who is in Dalian: the contacts of its firms, its officials, its admin."""
        rows = await self.services.db.fetch_all(
            "SELECT c.telegram_id FROM enterprise_contacts c JOIN enterprises e"
            " ON e.id = c.enterprise_id WHERE e.city = ?1"
            " UNION SELECT telegram_id FROM officials WHERE city = ?1",
            (CITY,),
        )
        return {row[0] for row in rows} | {self.cast.city_admin}

    async def _parties(self) -> dict[str, set[int]]:
        """Who may act on each request now: its enterprise's contacts, its holder, the admin,
        and Dalian's admin for a Dalian firm's."""
        found = {}
        for number, filed in self.filed.items():
            request = await self.services.requests.get(filed.id)
            assert request is not None
            people = {ADMIN_ID, self.cast.city_admin} if request.city == CITY else {ADMIN_ID}
            people |= {
                c.telegram_id
                for c in await self.services.enterprises.contacts(request.enterprise_id)
                if c.telegram_id is not None
            }
            holder = await self.services.officials.get(request.official_id or 0)
            if holder is not None and holder.telegram_id is not None:
                people.add(holder.telegram_id)
            found[number] = people
        return found

    async def _note_entitled(self) -> None:
        for number, people in (await self._parties()).items():
            self.entitled[number] |= people

    def _seen_by(self, user: TestUser) -> Iterator[str]:
        """Every text the bot shows this user: messages (checked after every step, so an edit
        cannot hide what was shown before it) and button answers."""
        for message in user.chat.messages.values():
            if message.from_bot:
                yield message.data.get("text") or message.data.get("caption") or ""
        for query in self.standin.world.callback_queries.values():
            if query.user_id == user.id and query.answer:
                yield str(query.answer.get("text") or "")


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[BotThread]:
    with BotThread(tmp_path) as started:
        yield started


def test_nobody_sees_or_changes_what_is_not_theirs(
    runner: BotThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    started = time.perf_counter()
    run_state_machine_as_test(
        lambda: Isolation(runner),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"isolation: {dict(tally)} in {time.perf_counter() - started:.0f} s")
    failures = [r for r in caplog.records if r.name == "handlers.errors"]
    assert failures == [], f"{failures[0].getMessage()}\n{failures[0].exc_text}"
    assert [e for e in runner.standin.errors if "not modified" not in e.body] == []
