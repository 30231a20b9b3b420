"""Hostile input: hypothesis-generated updates through the whole application (issue 8, point 6).

Hypothesis draws a fixed (derandomized) list of actions: unicode and HTML-like text, overlong
text, forged callback data with real prefixes, commands with junk arguments, media, edits and
group messages, from every role. They are all sent through the stand-in to the real bot. Then:
no update reached the global error handler, the stand-in answered no call with an error (no
400 such as "can't parse entities"), and a new user still gets the normal /start greeting.

``FUZZ_UPDATES`` sets how many updates one run sends (see docs/hardening.md, section 6).
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services import Services
from runtime.application import BotApplication
from scenarios.roster import ADMIN_ID, ALICE_ID, BOB_ID, OFFICIAL_ID, OTHER_OFFICIAL_ID, make_cast
from tests.driving import callback_data_classes, command_names, settle

pytestmark = pytest.mark.slow  # an end-to-end suite: `./test -m "not slow"` skips it

if TYPE_CHECKING:
    from standin import TelegramStandin
    from standin.client import TestUser

FUZZ_UPDATES = int(os.environ.get("FUZZ_UPDATES", "1000"))
BATCH = 50
STRANGER_ID = 600900
# Each group message comes from a new group: the bot answers there and leaves, and the
# bot-side limit of 20 messages a minute per group would otherwise pace the whole run.
groups = itertools.count(-1001000000000, -1)
PREFIXES = tuple(sorted(callback_data_classes()))
COMMANDS = (*sorted(command_names()), "nosuch")
HTML_BITS = (
    "<b>", "</b>", "<i>", "<a href=\"", "<a href='javascript:x'>", "</a>", "&", "&amp;", "&#",
    "&lt;", "<", ">", "<pre><code class=\"", "<tg-spoiler>", "<br>", "\"", "'", "\\", "\x00",
    "\u202e", "\u200b", "\ufeff", "🇨🇳", "👨‍👩‍👧", "政企直通", "\n",
)  # fmt: skip

text = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(HTML_BITS), st.text(max_size=8)), max_size=12).map("".join),
    st.integers(4000, 5000).map(lambda n: "長" * n),
    st.just(""),
)
number = st.one_of(st.integers(-(2**63), 2**63), st.integers(-3, 20)).map(str)
junk = st.one_of(number, st.text(max_size=20), st.sampled_from(("", ":", "::", "a:b:c")))
callback = st.one_of(
    st.builds(
        lambda p, parts: ":".join((p, *parts)),
        st.sampled_from(PREFIXES),
        st.lists(junk, max_size=4),
    ),
    st.text(max_size=64),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)
command = st.builds(
    lambda c, suffix, args: f"/{c}{suffix} {args}".rstrip(),
    st.sampled_from(COMMANDS),
    st.sampled_from(("", "@liaison_bot", "@other_bot")),
    st.one_of(junk, text),
)
action = st.one_of(
    st.tuples(st.just("text"), text),
    st.tuples(st.just("text"), command),
    st.tuples(st.just("press"), callback),
    st.tuples(st.just("edit"), text),
    st.tuples(st.just("group"), st.one_of(text, command)),
    st.tuples(st.just("photo"), st.one_of(st.none(), text)),
    st.tuples(st.just("document"), st.sampled_from(("a.pdf", "x.exe", "无.txt", "", "a" * 300))),
    st.tuples(st.just("sticker"), st.sampled_from(("👍", "", "x"))),
    st.tuples(st.just("voice"), st.integers(0, 100_000)),
    st.tuples(st.just("location"), st.tuples(st.floats(-90, 90), st.floats(-180, 180))),
    st.tuples(st.just("contact"), st.tuples(text, number)),
)
step = st.tuples(st.integers(0, 5), action)


def generate(count: int) -> list[tuple[int, tuple[str, Any]]]:
    """``count`` steps drawn by hypothesis, the same every run (derandomized)."""
    drawn: list[tuple[int, tuple[str, Any]]] = []

    @settings(
        max_examples=max(1, count // BATCH),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(step, min_size=BATCH, max_size=BATCH))
    def draw(steps: list[tuple[int, tuple[str, Any]]]) -> None:
        drawn.extend(steps)

    draw()
    return drawn[:count]


async def perform(
    standin: TelegramStandin, user: TestUser, anchor: int, act: tuple[str, Any]
) -> None:
    kind, value = act
    if kind == "text":
        await user.send(value)
    elif kind == "press":
        await user.press_data(anchor, value)
    elif kind == "edit":
        sent = await user.send("x")
        await user.edit(sent["message_id"], value or "y")
    elif kind == "group":
        group = standin.group(next(groups), title="<b>Fuzz & co")
        await group.add_bot(user)
        await group.send(user, value or "z")
    elif kind == "photo":
        await user.send_photo(b"\x89PNG fuzz", caption=value)
    elif kind == "document":
        await user.send_document(b"%PDF fuzz", filename=value or "d")
    elif kind == "sticker":
        await user.send_sticker(value)
    elif kind == "voice":
        await user.send_voice(duration=value)
    elif kind == "location":
        await user.send_location(*value)
    else:
        await user.send_contact(value[1], value[0] or "n")


async def test_hostile_updates_never_break_the_bot(
    standin: TelegramStandin,
    bot: BotApplication,
    services: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    steps = generate(FUZZ_UPDATES)
    await make_cast(services)
    ids = (ADMIN_ID, OFFICIAL_ID, OTHER_OFFICIAL_ID, ALICE_ID, BOB_ID, STRANGER_ID)
    users = [standin.user(i, first_name=f"U{i}", language_code="zh-hans") for i in ids]
    standin.set_limits(None)  # Telegram's flood limits would only make the bot wait
    anchors = []
    for user in users:
        await user.send("/start")
        anchors.append((await user.expect_message()).message_id)
    caplog.set_level(logging.WARNING)
    started = time.perf_counter()
    sent = 0
    for who, act in steps:
        await perform(standin, users[who], anchors[who], act)
        sent += 1
        if sent % BATCH == 0:
            await settle(standin, bot)
    await settle(standin, bot)
    elapsed = time.perf_counter() - started
    print(f"fuzz: {sent} updates in {elapsed:.1f} s, {sent / elapsed:.0f} updates/s")
    failures = [r for r in caplog.records if r.name == "handlers.errors"]
    assert failures == [], failures[0].getMessage() + str(failures[0].exc_info)
    private = [e for e in standin.errors if e.params.get("chat_id", 0) > 0]
    assert private == [], private[:3]
    # The bot answers a group it was just added to and leaves; messages written before it left
    # then get 403 "not a member" on answering and "USER_NOT_PARTICIPANT" on leaving again (as
    # on Telegram), which the bot catches and logs.
    expected = ("not a member", "USER_NOT_PARTICIPANT")
    odd = [e for e in standin.errors if not any(m in e.body for m in expected)]
    assert odd == [], odd[:3]
    newcomer = standin.user(600901, first_name="Guest", language_code="zh-hans")
    await newcomer.send("/start")
    assert "政企直通" in (await newcomer.expect_message()).text
