"""Notices a change causes are written with the change: a crash loses none and doubles none."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.delivery import Media, Outgoing
from bot.lifecycle import Action
from bot.requests import Change, Posted
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, make_cast
from storage.db import Transaction
from storage.requests import Attachment, NewRequest
from storage.requests import NewMessage as ThreadPost
from tests.postgres import CHILD_DATABASE, storage_for
from tests.reminder_support import act, domain_settings, local, open_domain, recorder

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage


class Crash(Exception):
    """Stands in for the process dying at this point."""


def a_request(enterprise_id: int) -> NewRequest:
    return NewRequest(
        enterprise_id=enterprise_id,
        submitted_by=ALICE_ID,
        category="policy",
        urgent=False,
        summary="补贴没有兑现",
        description="补贴没有兑现",
        details={},
    )


def crash_after_commit() -> None:
    """In place of the desk's wake-up of the outbox, which comes right after the commit."""
    raise Crash


async def submit(services: Services) -> int:
    cast = await make_cast(services)
    alice = await services.actor(ALICE_ID)
    return (await services.desk.submit(alice, a_request(cast.alice_enterprise.id))).request.id


async def restarted(tmp_path: Path, clock: FakeClock) -> Services:
    services = await open_domain(domain_settings(tmp_path), clock)
    await services.alarm.tick()
    await services.alarm.tick()
    return services


async def nothing_more_after_another_restart(tmp_path: Path, clock: FakeClock) -> None:
    again = await restarted(tmp_path, clock)
    try:
        assert recorder(again).sent == []
    finally:
        await again.close()


@pytest.fixture
async def first(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await open_domain(domain_settings(tmp_path), clock)
    yield services
    await services.close()


async def test_new_request_notice_survives_a_crash_right_after_the_commit(
    first: Services, tmp_path: Path, clock: FakeClock
) -> None:
    first.desk.wake = crash_after_commit
    with pytest.raises(Crash):
        await submit(first)
    await first.close()
    second = await restarted(tmp_path, clock)
    try:
        card, digest = recorder(second).to(OFFICIAL_ID)
        assert "新诉求" in card and "LN-20260302-0001" in card and "今日诉求提醒" in digest
        assert recorder(second).cards[OFFICIAL_ID] == [1, None]  # the request's card follows
    finally:
        await second.close()
    await nothing_more_after_another_restart(tmp_path, clock)


async def test_a_failing_effect_stores_neither_the_change_nor_its_notices(
    first: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(tx: Transaction, change: Change) -> int:
        raise Crash

    request_id = await submit(first)
    monkeypatch.setattr(first.desk.notifier, "queue_change", broken)
    with pytest.raises(Crash):
        await act(first, request_id, Action.RETURN, note="不归我管")
    request = await first.requests.get(request_id)
    assert request is not None and request.status == "assigned"
    kinds = [m.kind for m in await first.outbox.repository.to_recipient(ADMIN_ID)]
    assert kinds == []


async def test_returned_request_goes_to_the_admins_with_the_reason(
    first: Services, clock: FakeClock
) -> None:
    request_id = await submit(first)
    await act(first, request_id, Action.RETURN, note="应由大连负责 <IP>")
    await first.alarm.tick()
    [notice] = recorder(first).to(ADMIN_ID)
    assert "王建国" in notice and "应由大连负责 &lt;IP&gt;" in notice
    assert recorder(first).cards[ADMIN_ID] == [request_id]


async def test_escalation_is_planned_with_the_acknowledgement(
    first: Services, tmp_path: Path, clock: FakeClock
) -> None:
    """Acknowledged, then a crash before anything else ran: the resolve deadline's reminders
    were planned in the same transaction, so its escalation still comes."""
    request_id = await submit(first)
    first.desk.wake = crash_after_commit
    with pytest.raises(Crash):
        await act(first, request_id, Action.ACKNOWLEDGE)
    await first.close()
    clock.set(local(2026, 3, 24, 8, 0))  # the day after the resolve deadline (15 working days)
    second = await restarted(tmp_path, clock)
    try:
        escalations = recorder(second).to(ADMIN_ID)
        assert len(escalations) == 1 and "督办" in escalations[0]
        assert any("已提交督办" in text for text in recorder(second).to(ALICE_ID))
    finally:
        await second.close()
    await nothing_more_after_another_restart(tmp_path, clock)


async def test_auto_close_notices_survive_a_crash_right_after_the_close(
    first: Services, tmp_path: Path, clock: FakeClock
) -> None:
    request_id = await submit(first)
    await act(first, request_id, Action.RESOLVE, note="已协调")
    clock.set(local(2026, 3, 5, 10, 0))
    await first.alarm.tick()  # the entrepreneur is asked to confirm, and does not
    first.desk.wake = crash_after_commit
    clock.set(local(2026, 3, 9, 10, 0))
    with pytest.raises(Crash):
        await first.alarm.tick()
    await first.close()
    second = await restarted(tmp_path, clock)
    try:
        request = await second.reminders.request(request_id)
        assert request is not None and request.status == "closed" and request.auto_closed
        assert ["自动销号" in text for text in recorder(second).to(ALICE_ID)] == [True]
        assert ["自动销号" in text for text in recorder(second).to(OFFICIAL_ID)] == [True]
    finally:
        await second.close()
    await nothing_more_after_another_restart(tmp_path, clock)


KILLED_CHILD = """
import asyncio, os, signal, sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo
from bot.clock import FakeClock
from tests.reminder_support import domain_settings, open_domain
from tests.test_dispatch import submit

async def main() -> None:
    clock = FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    services = await open_domain(domain_settings(Path(sys.argv[1])), clock)

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    services.desk.wake = die
    await submit(services)

asyncio.run(main())
"""


async def test_sigkill_right_after_the_commit_loses_no_notice(
    tmp_path: Path, clock: FakeClock
) -> None:
    # On the PostgreSQL run the child opens this test's database, not one of its own.
    environment = os.environ | {CHILD_DATABASE: storage_for(tmp_path).get("url", "")}
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", KILLED_CHILD, str(tmp_path)],
        env=environment,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    second = await restarted(tmp_path, clock)
    try:
        card, _digest = recorder(second).to(OFFICIAL_ID)
        assert "新诉求" in card
    finally:
        await second.close()
    await nothing_more_after_another_restart(tmp_path, clock)


async def test_both_sides_are_told_of_each_step_through_the_outbox(
    first: Services, clock: FakeClock
) -> None:
    request_id = await submit(first)
    await act(first, request_id, Action.ACKNOWLEDGE)
    await act(first, request_id, Action.RESOLVE, note="已协调 <供电>")
    await act(first, request_id, Action.REJECT)
    await act(first, request_id, Action.WITHDRAW)
    await first.alarm.tick()
    acknowledged, resolved = recorder(first).to(ALICE_ID)
    assert "已由 王建国" in acknowledged and "受理" in acknowledged
    assert "已协调 &lt;供电&gt;" in resolved
    assert recorder(first).cards[ALICE_ID] == [request_id, request_id]
    new, reopened, withdrawn = recorder(first).to(OFFICIAL_ID)[:3]
    assert "新诉求" in new and "未解决" in reopened and "撤回" in withdrawn
    kinds = {m.kind for m in await first.outbox.repository.to_recipient(ALICE_ID)}
    assert kinds == {"update"}


async def test_the_words_of_a_resolution_are_stored_with_it(
    first: Services, tmp_path: Path, clock: FakeClock
) -> None:
    request_id = await submit(first)
    official = await first.actor(OFFICIAL_ID)
    words = ThreadPost(OFFICIAL_ID, "official", "已协调供电公司")
    first.desk.wake = crash_after_commit
    with pytest.raises(Crash):
        await first.desk.act(official, request_id, Action.RESOLVE, note=words.text, post=words)
    await first.close()
    second = await restarted(tmp_path, clock)
    try:
        [message] = await second.requests.messages(request_id, internal=True)
        assert (message.sender_id, message.text) == (OFFICIAL_ID, "已协调供电公司")
        request = await second.requests.get(request_id)
        assert request is not None and request.status == "resolved"
        assert any("已协调供电公司" in text for text in recorder(second).to(ALICE_ID))
    finally:
        await second.close()


def thread_messages_to(services: Services, chat_id: int) -> list[Outgoing]:
    return [m for m in recorder(services).messages if m.chat_id == chat_id]


async def test_a_reply_with_a_photo_survives_a_crash_right_after_the_commit(
    first: Services, tmp_path: Path, clock: FakeClock
) -> None:
    request_id = await submit(first)
    official = await first.actor(OFFICIAL_ID)
    photo = Attachment("photo", "photo-file-1", None, "现场 <照片>")
    first.desk.wake = crash_after_commit
    with pytest.raises(Crash):
        await first.desk.post(official, request_id, text="现场 <照片>", attachment=photo)
    await first.close()
    second = await restarted(tmp_path, clock)
    try:
        [reply] = [m for m in thread_messages_to(second, ALICE_ID) if m.kind == "thread"]
        assert "LN-20260302-0001" in reply.text and "王建国（副省长" in reply.text
        assert "现场 &lt;照片&gt;" in reply.text
        assert (reply.media, reply.reply_to) == (Media("photo", "photo-file-1"), request_id)
        request = await second.requests.get(request_id)
        assert request is not None and request.status == "in_progress"  # the reply started it
    finally:
        await second.close()
    await nothing_more_after_another_restart(tmp_path, clock)


async def test_the_enterprise_answer_that_ends_a_wait_survives_a_crash(
    first: Services, tmp_path: Path, clock: FakeClock
) -> None:
    request_id = await submit(first)
    await act(first, request_id, Action.ASK_INFO, note="请提供回执")
    alice = await first.actor(ALICE_ID)
    first.desk.wake = crash_after_commit
    with pytest.raises(Crash):
        await first.desk.post(alice, request_id, text="回执已补充")
    await first.close()
    second = await restarted(tmp_path, clock)
    try:
        [answer] = [m for m in thread_messages_to(second, OFFICIAL_ID) if m.kind == "thread"]
        assert "沈阳北方精密机械" in answer.text and "回执已补充" in answer.text
        assert (answer.media, answer.reply_to) == (None, request_id)
        request = await second.requests.get(request_id)
        assert request is not None and request.status == "in_progress"
    finally:
        await second.close()
    await nothing_more_after_another_restart(tmp_path, clock)


async def test_a_failing_post_effect_stores_neither_the_message_nor_its_delivery(
    first: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(tx: Transaction, posted: Posted) -> int:
        raise Crash

    request_id = await submit(first)
    official = await first.actor(OFFICIAL_ID)
    monkeypatch.setattr(first.desk.notifier, "queue_posted", broken)
    with pytest.raises(Crash):
        await first.desk.post(official, request_id, text="已联系")
    assert await first.requests.messages(request_id, internal=True) == []
    request = await first.requests.get(request_id)
    assert request is not None and request.status == "assigned"
    assert await first.outbox.repository.to_recipient(ALICE_ID) == []


async def test_an_internal_note_goes_to_nobody(first: Services) -> None:
    request_id = await submit(first)
    official = await first.actor(OFFICIAL_ID)
    await first.desk.post(official, request_id, text="企业材料齐全", internal=True)
    await first.alarm.tick()
    assert await first.outbox.repository.to_recipient(ALICE_ID) == []
    assert [m.kind for m in thread_messages_to(first, OFFICIAL_ID)] == ["new_request", "digest"]
