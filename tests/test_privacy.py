"""An admin exports or erases one user's personal data (docs/hardening.md §9), end to end.

张伟 (Alice) speaks for her firm, with a phone on the roster, a request, a message in its
thread and history; the official acknowledged it. After the erasure her request is still
there, whole, under a pseudonym, and nothing stored names or reaches her.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.broadcasts import Audience, AudienceKind
from bot.clock import FakeClock
from bot.dispatch import owners
from bot.lifecycle import Action
from bot.phones import PhoneHasher
from bot.privacy import subject_of
from bot.roles import Role
from bot.services import Services
from handlers.context import AppContext
from handlers.privacy import prune
from runtime.application import BotApplication
from scenarios.roster import ADMIN_ID, ALICE_CODE, BOB_ID, OFFICIAL_ID, bind_official
from standin import TelegramStandin
from standin.client import TestUser
from storage.db import Database
from storage.dialogues import Dialogue, DialogueRepository
from storage.models import Stage
from storage.privacy import ERASED
from storage.requests import NewRequest
from storage.verification import FAILURE_KINDS
from tests.postgres import INTEGRITY_ERRORS

ALICE_ID = 700001
NAME, USERNAME, PHONE = "张伟<b>", "zhangwei_sy", "+8613812345678"
KEY = b"test-hash-key-0123456789"


@dataclass(frozen=True)
class Story:
    request_id: int
    number: str
    phone_hash: str


async def alice_story(services: Services) -> Story:
    """Alice's firm, her roster entry with a phone, her request, her message, the official's ack."""
    now = services.clock.now()
    official = await services.directory.add_official(
        external_id="LN-001", name="王建国", title="副省长", body="辽宁省人民政府",
        level="province", city="shenyang", responsibilities="营商环境", now=now,
    )  # fmt: skip
    firm = await services.directory.add_enterprise(
        name="沈阳北方精密机械有限公司", credit_code=ALICE_CODE, city="shenyang",
        stage=Stage.GROWTH, industry="装备制造", now=now,
    )  # fmt: skip
    await services.directory.assign(official.id, firm.id, now=now)
    await bind_official(services, official, OFFICIAL_ID)
    await services.accounts.seen(
        ALICE_ID, first_name=NAME, username=USERNAME, telegram_language="zh-hans", now=now
    )
    phone_hash = PhoneHasher(KEY).digest(PHONE)
    await services.directory.add_contact(
        firm.id, name=NAME, telegram_id=ALICE_ID, phone_hash=phone_hash, phone_last4="5678",
        now=now,
    )  # fmt: skip
    alice = await services.actor(ALICE_ID)
    new = NewRequest(firm.id, ALICE_ID, "policy", False, "用电增容", "厂区用电增容审批迟迟未批", {})
    submitted = await services.desk.submit(alice, new)
    request_id = submitted.request.id
    await services.desk.act(await services.actor(OFFICIAL_ID), request_id, Action.ACKNOWLEDGE)
    await services.desk.post(alice, request_id, text="请尽快处理，谢谢")
    return Story(request_id, submitted.request.number, phone_hash)


@pytest.fixture
async def story(services: Services, standin: TelegramStandin) -> Story:
    for telegram_id in (ADMIN_ID, OFFICIAL_ID, ALICE_ID, BOB_ID):
        standin.user(telegram_id, language_code="zh-hans", started=True)
    told = await alice_story(services)
    await services.courier.deliver_now()
    official = standin.user(OFFICIAL_ID)
    assert "新诉求" in ((await official.expect_message()).text or "")
    assert "请尽快处理" in ((await official.expect_message()).text or "")  # her message
    return told


@pytest.fixture
def admin(standin: TelegramStandin) -> TestUser:
    return standin.user(ADMIN_ID, first_name="管理员", language_code="zh-hans")


async def values_naming_alice(db: Database, story: Story) -> list[str]:
    """Every stored value, in every table, that is Alice's id, name, username or phone."""
    found = []
    needles = ("张伟", USERNAME, story.phone_hash, PHONE[-8:])
    for table in await db.tables():
        for row in await db.fetch_all(f"SELECT * FROM {table}"):
            for column in row.keys():  # noqa: SIM118 (sqlite3.Row iterates values)
                value = row[column]
                if value == ALICE_ID or (
                    isinstance(value, str) and any(n in value for n in needles)
                ):
                    found.append(f"{table}.{column}")
    return found


async def test_a_draft_used_up_by_its_request_is_not_remembered(services: Services) -> None:
    """The intake's drafts are remembered by the process (bot/intake.py Drafts); the submit
    that uses one up in its transaction makes it forget it, so /new never offers it again."""
    await alice_story(services)
    alice = await services.actor(ALICE_ID)
    await services.drafts.keep(
        ALICE_ID, {"category": "ip", "enterprise_id": alice.enterprises[0].id}
    )
    assert await services.drafts.read(ALICE_ID) is not None
    new = NewRequest(alice.enterprises[0].id, ALICE_ID, "ip", False, "商标", "商标被抢注", {})
    await services.desk.submit(alice, new, from_draft=True)
    assert await services.requests.draft(ALICE_ID) is None
    assert await services.drafts.read(ALICE_ID) is None


# --- Export -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_export_sends_the_admin_a_json_file_and_is_audited(
    services: Services, story: Story, admin: TestUser
) -> None:
    await admin.send(f"/export_user @{USERNAME}")
    sent = await admin.expect_message()
    assert sent.filename == f"personal-data-{ALICE_ID}.json"
    assert sent.document is not None
    exported = json.loads(sent.document)
    assert exported["telegram_id"] == ALICE_ID
    assert exported["user"][0]["first_name"] == NAME
    assert exported["user"][0]["created_at"].endswith("+08:00")
    assert exported["enterprise_contacts"][0]["phone_last4"] == "5678"
    assert story.phone_hash not in sent.document.decode()
    [request] = exported["requests_submitted"]
    assert (request["number"], request["description"]) == (story.number, "厂区用电增容审批迟迟未批")
    assert [m["text"] for m in exported["request_messages"]] == ["请尽快处理，谢谢"]
    assert exported["request_history"][0]["to_status"] == "submitted"
    [entry] = await services.audit.by_action("personal_data.export")
    assert (entry.actor_id, entry.subject) == (ADMIN_ID, subject_of(ALICE_ID, KEY))
    assert str(ALICE_ID) not in entry.subject


@pytest.mark.usefixtures("bot", "story")
async def test_export_of_someone_unknown_says_nothing_is_stored(admin: TestUser) -> None:
    await admin.send("/export_user 123456")
    assert "没有关于用户 123456 的个人数据" in ((await admin.expect_message()).text or "")
    await admin.send("/export_user")
    assert "用法" in ((await admin.expect_message()).text or "")


# --- Who may -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_non_admins_are_refused_and_a_forged_confirmation_erases_nothing(
    standin: TelegramStandin, services: Services, story: Story, admin: TestUser
) -> None:
    official = standin.user(OFFICIAL_ID)
    for command in (f"/export_user {ALICE_ID}", f"/delete_user {ALICE_ID}"):
        await official.send(command)
        refused = await official.expect_message()
        assert refused.text == "您没有权限执行此操作。" and refused.document is None
    bob = standin.user(BOB_ID)
    await bob.send("/help")
    own = await bob.expect_message()
    query = await bob.press_data(own, f"pd:{ALICE_ID}:1")
    answer = await bob.expect_callback_answer(query)
    assert answer.get("show_alert") is True
    assert await services.users.get(ALICE_ID) is not None
    assert await services.audit.by_action(ERASED) == []
    assert await services.audit.by_action("personal_data.export") == []


# --- Erasure ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("bot")
async def test_erasure_after_confirmation_anonymises_and_keeps_the_request_whole(
    standin: TelegramStandin, services: Services, story: Story, admin: TestUser
) -> None:
    before = await services.requests.history(story.request_id)
    # She is writing a reply when she is erased: that dialogue goes too.
    alice = standin.user(ALICE_ID, first_name=NAME, username=USERNAME)
    await alice.press_data(await alice.expect_message(), f"rq:{story.request_id}:reply")
    assert story.number in ((await alice.expect_message()).text or "")
    assert set(await values_naming_alice(services.db, story)) == {
        "users.telegram_id", "users.first_name", "users.username", "enterprise_contacts.name",
        "enterprise_contacts.phone_hash", "enterprise_contacts.telegram_id",
        "requests.submitted_by", "request_history.actor_id", "request_messages.sender_id",
        "outbox.recipient_id",  # she was told that her request was acknowledged
        "dialogues.telegram_id",
    }  # fmt: skip
    # And she has a draft, which the process remembers (bot/intake.py Drafts).
    await services.drafts.keep(ALICE_ID, {"category": "policy"})
    assert await services.drafts.read(ALICE_ID) == {"category": "policy"}
    await admin.send(f"/delete_user {ALICE_ID}")
    confirm = await admin.expect_message()
    assert "张伟&lt;b&gt;" in (confirm.html or "") and "1 件" in (confirm.text or "")
    await admin.press(confirm, "确认删除")
    done = await admin.expect_edit(confirm)
    assert "已删除用户 700001 的个人数据" in (done.text or "")

    # Nothing stored names Alice any more; the database is consistent.
    assert await values_naming_alice(services.db, story) == []
    assert services.dialogues.current(ALICE_ID) is None
    assert await services.drafts.read(ALICE_ID) is None  # not remembered past the erasure
    if services.db.dialect == "sqlite":  # PostgreSQL checks its foreign keys at each statement
        assert await services.db.fetch_all("PRAGMA foreign_key_check") == []
        assert await services.db.fetch_value("PRAGMA integrity_check") == "ok"
    # Her request stays whole, under one pseudonym.
    request = await services.requests.get(story.request_id)
    assert request is not None and request.number == story.number
    assert (request.summary, request.description) == ("用电增容", "厂区用电增容审批迟迟未批")
    pseudonym = request.submitted_by
    assert pseudonym < 0
    after = await services.requests.history(story.request_id)
    assert [(h.at, h.to_status, h.note) for h in after] == [
        (h.at, h.to_status, h.note) for h in before
    ]
    assert [h.actor_id for h in after] == [
        pseudonym if h.actor_id == ALICE_ID else h.actor_id for h in before
    ]
    assert OFFICIAL_ID in [h.actor_id for h in after]
    # She can no longer be reached: no one speaks for the firm, no audience holds her.
    assert await owners(services.enterprises, request) == []
    assert (await services.actor(ALICE_ID)).roles == frozenset({Role.GUEST})
    store = services.broadcasts.store
    assert await store.count_audience(Audience(AudienceKind.ENTREPRENEURS)) == 0
    # The official still sees the request.
    official = standin.user(OFFICIAL_ID)
    await official.send(f"/open {story.number}")
    card = await official.expect_message()
    assert story.number in (card.text or "") and "用电增容" in (card.text or "")
    # Admins read the history with the actor anonymised.
    await admin.send(f"/history {story.number}")
    history = (await admin.expect_message()).text or ""
    assert "已删除个人数据的用户" in history and "王建国" in history and "张伟" not in history
    # Audited without her id; a second press erases nothing more.
    [entry] = await services.audit.by_action(ERASED)
    assert (entry.actor_id, entry.subject) == (ADMIN_ID, subject_of(ALICE_ID, KEY))
    await admin.press_data(done, f"pd:{ALICE_ID}:1")
    stale = await admin.expect_edit(done)
    assert "没有关于用户 700001 的个人数据" in (stale.text or "")
    assert len(await services.audit.by_action(ERASED)) == 1


@pytest.mark.usefixtures("bot")
async def test_cancelling_keeps_everything(
    services: Services, story: Story, admin: TestUser
) -> None:
    await admin.send(f"/delete_user @{USERNAME}")
    confirm = await admin.expect_message()
    await admin.press(confirm, "取消")
    assert "未作改动" in ((await admin.expect_edit(confirm)).text or "")
    assert await services.users.get(ALICE_ID) is not None
    assert await services.audit.by_action(ERASED) == []


async def test_history_stays_append_only_but_for_pseudonymising_the_actor(
    services: Services, story: Story
) -> None:
    for sql in (
        "UPDATE request_history SET note = 'changed'",
        f"UPDATE request_history SET actor_id = 42 WHERE actor_id = {ALICE_ID}",
        f"UPDATE request_history SET actor_id = -5, note = 'x' WHERE actor_id = {ALICE_ID}",
        "DELETE FROM request_history",
    ):
        with pytest.raises(INTEGRITY_ERRORS, match="append-only"):
            async with services.db.transaction() as tx:
                await tx.execute(sql)
    async with services.db.transaction() as tx:
        await tx.execute(f"UPDATE request_history SET actor_id = -5 WHERE actor_id = {ALICE_ID}")


# --- Retention ----------------------------------------------------------------------------------


async def test_old_drafts_dialogues_and_throttle_records_are_pruned(
    bot: BotApplication, services: Services, clock: FakeClock
) -> None:
    now = clock.now()
    await services.requests.save_draft(ALICE_ID, {"category": "policy"}, now - timedelta(days=31))
    await services.requests.save_draft(BOB_ID, {"category": "ip"}, now - timedelta(days=29))
    dialogues = DialogueRepository(services.db)
    await dialogues.save(Dialogue(ALICE_ID, "visit", {}, now - timedelta(days=31)))
    await dialogues.save(Dialogue(BOB_ID, "visit", {}, now - timedelta(days=29)))
    for at in (now - timedelta(hours=49), now - timedelta(hours=47)):
        async with services.db.transaction() as tx:
            await services.verification.record_failure(tx, ALICE_ID, FAILURE_KINDS[0], at)
    assert await services.drafts.read(ALICE_ID) == {"category": "policy"}  # remembered now
    await prune(AppContext(bot))
    assert await services.requests.draft(ALICE_ID) is None
    assert await services.drafts.read(ALICE_ID) is None  # and forgotten with the pruning
    assert await services.requests.draft(BOB_ID) == {"category": "ip"}
    assert [d.telegram_id for d in await dialogues.all()] == [BOB_ID]
    failures = await services.verification.failures_of(ALICE_ID, now - timedelta(days=7))
    assert failures == [now - timedelta(hours=47)]
