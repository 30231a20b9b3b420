"""Every button prefix pressed by someone without rights, on someone else's object (issue 8,
point 7), and every command typed by someone it is not for.

Who may press what and type what comes from the access policy (bot/roles.py); the policy
must name every button prefix in handlers/ and every command a handler answers to, and a
button without a case here fails ``test_every_prefix_has_a_case``. Each attempt goes through
the stand-in to the real bot; the attacker must see a refusal (an alert, a message or the
pressed message turned into one) and no table may change. Buttons of a conversation's step,
pressed inside the conversation with somebody else's object or a value never offered, are
refused the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import timedelta

import pytest

from bot.broadcasts import Audience, AudienceKind
from bot.credit_code import make_credit_code
from bot.i18n import Translator
from bot.impostors import Claim
from bot.registration import Application, register
from bot.roles import BUTTON_RULES, COMMAND_BUTTONS, COMMAND_RULES, Role, permits
from bot.services import Services
from handlers.access import REFUSALS
from handlers.menu import COMMANDS, MENU
from runtime.application import BotApplication
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    DALIAN_ADMIN_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    Cast,
    appoint_admin,
    make_cast,
)
from standin import TelegramStandin
from storage.models import Stage
from storage.requests import NewRequest
from tests.driving import callback_data_classes, command_names, settle, snapshot

STRANGER_ID = 600100
REGISTRANT_ID = 600200
SHENYANG_ADMIN_ID = 900301
# What the commands that take an object are given: Alice's request (make_world files it), and
# Alice herself.
OBJECTS = {"open": "LN-20260302-0001", "export_user": str(ALICE_ID), "delete_user": str(ALICE_ID)}
# Tables that record that something happened rather than what is: a refused press may add to
# them (the update id, a throttle count, an audit line).
VOLATILE = frozenset({"processed_updates", "throttle_events", "audit_log"})
# Every request button action, the ones that open a dialogue included (handlers/thread.py).
REQUEST_ACTIONS = (
    "ack", "solved", "unsolved", "withdraw", "assign", "history", "open", "skip",
    "reply", "note", "ask", "resolve", "return", "comment",
)  # fmt: skip


# One user of each kind, with no rights beyond that kind's.
USERS = {Role.ENTREPRENEUR: BOB_ID, Role.OFFICIAL: OTHER_OFFICIAL_ID, Role.GUEST: STRANGER_ID}


@dataclass(frozen=True)
class World:
    """Objects that belong to somebody: Alice's firm and request, a notice, a report, …"""

    cast: Cast
    request: int
    notice: int
    pending: int
    broadcast: int
    report: int
    issue: int
    appointment: int  # the Shenyang admin's (admins.id)


@dataclass(frozen=True)
class Attempt:
    who: int
    data: str
    first: str = "/start"  # sent before: "/new" or "/visit" to be inside that conversation


def menu_attempts(world: World) -> list[Attempt]:
    """Each menu button pressed by each kind of user the policy does not allow it."""
    every = sorted({a for actions in MENU.values() for a in actions})
    return [
        Attempt(who, f"menu:{action}")
        for role, who in USERS.items()
        for action in every
        if not permits({role}, COMMAND_RULES[action])
    ]


def request_attempts(world: World) -> list[Attempt]:
    return [
        Attempt(who, f"rq:{world.request}:{action}")
        for who in (BOB_ID, OTHER_OFFICIAL_ID, STRANGER_ID, DALIAN_ADMIN_ID)
        for action in REQUEST_ACTIONS
    ]


def issue_actions(world: World) -> list[tuple[str, str]]:
    """Every systemic-issue button action, with its argument."""
    request = str(world.request)
    return [
        ("list", "o0"), ("show", ""), ("status", "resolved"), ("note", ""),
        ("unlink", request), ("link", request), ("new", request),
    ]  # fmt: skip


CASES: dict[str, Callable[[World], list[Attempt]]] = {
    "rq": request_attempts,
    "ra": lambda w: [
        Attempt(BOB_ID, f"ra:{w.request}:{w.cast.other_official.id}"),
        Attempt(OFFICIAL_ID, f"ra:{w.request}:{w.cast.other_official.id}"),
        # A city admin: a Shenyang request, even to one of their own city's officials.
        Attempt(DALIAN_ADMIN_ID, f"ra:{w.request}:{w.cast.other_official.id}"),
    ],
    "rr": lambda w: [
        Attempt(BOB_ID, f"rr:{w.request}:5"),
        Attempt(OFFICIAL_ID, f"rr:{w.request}:1"),
    ],
    "tv": lambda w: [
        Attempt(BOB_ID, f"tv:{w.request}:0"),
        Attempt(OTHER_OFFICIAL_ID, f"tv:{w.request}:1"),
        Attempt(STRANGER_ID, f"tv:{w.request}:0"),
        Attempt(BOB_ID, f"tv:{w.request}:-1"),
        Attempt(DALIAN_ADMIN_ID, f"tv:{w.request}:0"),
    ],
    "pg": lambda w: [
        Attempt(BOB_ID, "pg:inbox:0"),
        Attempt(BOB_ID, "pg:queue:0"),
        Attempt(OTHER_OFFICIAL_ID, "pg:my:0"),
    ],
    "in": lambda w: [
        Attempt(BOB_ID, f"in:enterprise:{w.cast.alice_enterprise.id}", "/new"),
        Attempt(ALICE_ID, "in:category:tax", "/new"),
        Attempt(STRANGER_ID, "in:confirm:yes"),
    ],
    "vs": lambda w: [
        Attempt(OTHER_OFFICIAL_ID, f"vs:enterprise:{w.cast.alice_enterprise.id}", "/visit"),
        Attempt(STRANGER_ID, "vs:date:0"),
    ],
    "rg": lambda w: [Attempt(STRANGER_ID, "rg:confirm:yes")],
    "rd": lambda w: [
        Attempt(BOB_ID, f"rd:{w.pending}:1"),
        Attempt(OFFICIAL_ID, f"rd:{w.pending}:0"),
        Attempt(DALIAN_ADMIN_ID, f"rd:{w.pending}:1"),  # a Jinzhou registration
    ],
    "menu": menu_attempts,
    "ntc": lambda w: [
        Attempt(OTHER_OFFICIAL_ID, f"ntc:{w.cast.alice_enterprise.id}:phone:30"),
        Attempt(BOB_ID, f"ntc:{w.cast.alice_enterprise.id}:-:0"),
    ],
    "nta": lambda w: [
        Attempt(BOB_ID, f"nta:{w.notice}:available"),
        Attempt(OTHER_OFFICIAL_ID, f"nta:{w.notice}:later"),
    ],
    "code": lambda w: [
        Attempt(OTHER_OFFICIAL_ID, f"code:{w.cast.alice_enterprise.id}"),
        Attempt(BOB_ID, "code:0"),
    ],
    "card": lambda w: [Attempt(BOB_ID, "card:revoke"), Attempt(ADMIN_ID, "card:revoke")],
    "rpt": lambda w: [Attempt(STRANGER_ID, f"rpt:official:{w.cast.official.id}")],
    "warn": lambda w: [
        Attempt(BOB_ID, f"warn:{w.report}:1"),
        Attempt(OFFICIAL_ID, f"warn:{w.report}:0"),
        Attempt(DALIAN_ADMIN_ID, f"warn:{w.report}:1"),  # a report from a Shenyang firm
    ],
    "bc": lambda w: [
        Attempt(who, f"bc:{w.broadcast}:{action}")
        for who in (OFFICIAL_ID, DALIAN_ADMIN_ID)  # the province office's announcement
        for action in ("confirm", "send", "time", "schedule", "discard", "cancel")
    ],
    "bca": lambda w: [Attempt(BOB_ID, "bca:everyone")],
    "bcv": lambda w: [Attempt(OFFICIAL_ID, "bcv:0")],
    "lang": lambda w: [Attempt(STRANGER_ID, "lang:xx")],
    "audit": lambda w: [
        Attempt(BOB_ID, f"audit:request:{w.request}:0"),
        Attempt(OFFICIAL_ID, f"audit:user:{ALICE_ID}:0"),
        Attempt(DALIAN_ADMIN_ID, f"audit:request:{w.request}:0"),
        Attempt(DALIAN_ADMIN_ID, f"audit:user:{ALICE_ID}:0"),
    ],
    "si": lambda w: [
        Attempt(who, f"si:{action}:{w.issue}:{arg}")
        for who in (OFFICIAL_ID, BOB_ID, DALIAN_ADMIN_ID)  # the province office's issue
        for action, arg in issue_actions(w)
    ],
    "pd": lambda w: [
        Attempt(BOB_ID, f"pd:{ALICE_ID}:1"),
        Attempt(OFFICIAL_ID, f"pd:{ALICE_ID}:1"),
        Attempt(DALIAN_ADMIN_ID, f"pd:{ALICE_ID}:1"),  # a Shenyang firm's contact
    ],
    "adm": lambda w: [
        Attempt(BOB_ID, f"adm:{w.appointment}"),
        Attempt(OFFICIAL_ID, f"adm:{w.appointment}"),
        Attempt(DALIAN_ADMIN_ID, f"adm:{w.appointment}"),  # another city's admin
    ],
}


def test_every_prefix_has_a_case() -> None:
    assert set(callback_data_classes()) == set(BUTTON_RULES) | COMMAND_BUTTONS == set(CASES)


def test_every_ownership_names_a_field_of_its_button() -> None:
    classes = callback_data_classes()
    for prefix, rule in BUTTON_RULES.items():
        if rule.owner is not None:
            assert rule.owner.value in {f.name for f in fields(classes[prefix])}, prefix  # type: ignore[arg-type]


def test_the_policy_names_every_command() -> None:
    assert command_names() == set(COMMAND_RULES)


def test_menus_offer_only_what_the_policy_allows() -> None:
    for role in Role:
        for name in {*MENU[role], *COMMANDS[role]}:
            assert permits({role}, COMMAND_RULES[name]), (role, name)


async def make_world(services: Services) -> World:
    """The cast, Bob with a second firm, and one object of each kind that is not theirs."""
    cast = await make_cast(services)
    now = services.clock.now()
    for telegram_id in (ADMIN_ID, REGISTRANT_ID):
        await services.accounts.seen(
            telegram_id, first_name="U", username=None, telegram_language="zh-hans", now=now
        )
    second = await services.directory.add_enterprise(
        name="大连第二工厂", credit_code=make_credit_code("91210200MA0TG9999"),
        city="dalian", stage=Stage.GROWTH, now=now,
    )  # fmt: skip
    await services.directory.add_contact(second.id, telegram_id=BOB_ID, now=now)
    alice = await services.actor(ALICE_ID)
    new = NewRequest(
        enterprise_id=cast.alice_enterprise.id, submitted_by=ALICE_ID, category="policy",
        urgent=False, summary="补贴没兑现", description="补贴没兑现", details={},
    )  # fmt: skip
    request = (await services.desk.submit(alice, new)).request
    notice = await services.notices.announce(
        cast.official.id, cast.alice_enterprise.id, channel="phone", window=timedelta(hours=1)
    )
    pending = await register(
        services.db,
        services.enterprises,
        Application("锦州待审企业", make_credit_code("91210700MA0AB1234"), "jinzhou",
                    Stage.STARTUP, "农业"),
        user_id=REGISTRANT_ID, name="Registrant", now=now,
    )  # fmt: skip
    broadcast = await services.broadcasts.create(
        created_by=ADMIN_ID, text_html="通知", media_kind=None, media_file_id=None,
        audience=Audience(AudienceKind.EVERYONE),
    )  # fmt: skip
    report = await services.impostors.report(ALICE_ID, Claim(
        enterprise_id=cast.alice_enterprise.id, claimed_official_id=cast.official.id,
        claimed_name=cast.official.name, channel="phone", contact="13800000000",
        asked_for="money", details="",
    ))  # fmt: skip
    issue = await services.systemic.create(
        await services.actor(ADMIN_ID), "补贴兑现慢", request_id=request.id
    )
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    await appoint_admin(services, SHENYANG_ADMIN_ID, "shenyang")
    appointment = await services.db.fetch_value(
        "SELECT id FROM admins WHERE telegram_id = ?", (SHENYANG_ADMIN_ID,)
    )
    return World(
        cast, request.id, notice.id, pending.id, broadcast.id, report.id, issue.id, appointment
    )


def refusal_texts() -> set[str]:
    return {Translator(language)(key) for key in REFUSALS for language in ("zh", "en")}


async def world_without_alarms(
    standin: TelegramStandin, bot: BotApplication, services: Services
) -> World:
    for telegram_id in (
        ADMIN_ID,
        OFFICIAL_ID,
        OTHER_OFFICIAL_ID,
        ALICE_ID,
        BOB_ID,
        DALIAN_ADMIN_ID,
    ):
        standin.user(telegram_id, first_name=f"U{telegram_id}", started=True)
    world = await make_world(services)
    assert bot.job_queue is not None
    bot.job_queue.scheduler.pause()  # no alarm clock: only the attempts may change anything
    return world


async def assert_refused(
    standin: TelegramStandin, bot: BotApplication, services: Services, attempt: Attempt
) -> None:
    """Make the attempt; the attacker sees a refusal and no table changes."""
    user = standin.user(attempt.who, first_name=f"U{attempt.who}", language_code="zh-hans")
    await user.send(attempt.first)
    await settle(standin, bot)
    anchor = user.messages[-1]
    before = await snapshot(services.db, skip=VOLATILE)
    seen = len(user.messages)
    shown: list[str | None] = []
    if attempt.data.startswith("/"):
        await user.send(attempt.data)
    else:
        query = await user.press_data(anchor, attempt.data)
        shown.append((await user.expect_callback_answer(query)).get("text"))
    await settle(standin, bot)
    shown += [m.text or m.caption for m in user.messages[seen:]]
    if user.messages[seen - 1].edit_count:
        shown.append(user.messages[seen - 1].text)
    where = f"{attempt} saw {shown}"
    assert refusal_texts() & set(shown), where
    after = await snapshot(services.db, skip=VOLATILE)
    assert after == before, f"{where}; changed: {[t for t in after if after[t] != before[t]]}"
    if attempt.first != "/start":
        await user.send("/cancel")
        await settle(standin, bot)


@pytest.mark.parametrize("prefix", sorted(callback_data_classes()))
async def test_a_press_without_rights_is_refused_and_changes_nothing(
    prefix: str, standin: TelegramStandin, bot: BotApplication, services: Services
) -> None:
    world = await world_without_alarms(standin, bot, services)
    attempts = CASES[prefix](world)
    assert attempts, f"no attempt for prefix {prefix!r}"
    for attempt in attempts:
        await assert_refused(standin, bot, services, attempt)
    assert [e for e in standin.errors if "not modified" not in e.body] == []


def command_attempts(role: Role) -> list[Attempt]:
    """Every command the policy does not allow this kind of user, with someone else's object
    where it takes one; and /open on Alice's request."""
    who = USERS[role]
    denied = {name for name, rule in COMMAND_RULES.items() if not permits({role}, rule)}
    names = sorted(denied | {"open"})
    return [Attempt(who, f"/{name} {OBJECTS.get(name, '')}".rstrip()) for name in names]


@pytest.mark.parametrize("role", list(USERS))
async def test_a_command_without_rights_is_refused_and_changes_nothing(
    role: Role, standin: TelegramStandin, bot: BotApplication, services: Services
) -> None:
    await world_without_alarms(standin, bot, services)
    for attempt in command_attempts(role):
        await assert_refused(standin, bot, services, attempt)


# What a Dalian admin types about Shenyang (Alice's firm and request, Alice herself) or what is
# the province's: each refused, nothing changed.
CITY_ADMIN_COMMANDS = (
    "/open LN-20260302-0001",
    "/history LN-20260302-0001",
    f"/audit {ALICE_ID}",
    f"/export_user {ALICE_ID}",
    f"/delete_user {ALICE_ID}",
    "/ledger 沈阳",
    "/holidays",
    "/appoint 沈阳",
    "/appoint 省",
)


async def test_a_city_admin_is_refused_outside_their_city(
    standin: TelegramStandin, bot: BotApplication, services: Services
) -> None:
    await world_without_alarms(standin, bot, services)
    for command in CITY_ADMIN_COMMANDS:
        await assert_refused(standin, bot, services, Attempt(DALIAN_ADMIN_ID, command))
