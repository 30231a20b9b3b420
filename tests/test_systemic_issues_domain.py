"""Systemic issues without Telegram: text similarity, who sees which suggestion, grouping,
and the resolution notice to every linked enterprise through the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FakeClock
from bot.config import SystemicSettings
from bot.services import Services
from bot.similarity import rank, terms
from bot.systemic_issues import IssueRefused
from scenarios.roster import ADMIN_ID, ALICE_ID, BOB_ID, OFFICIAL_ID, add_contact, make_cast
from storage.requests import NewRequest
from storage.systemic_issues import IssueChanged, IssueStatus
from tests.reminder_support import domain_settings, open_domain, recorder

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage

SH = ZoneInfo("Asia/Shanghai")
CAROL_ID = 700003

POWER_ZH = "厂区用电增容申请提交三个月了，供电公司审批一直没有结果，新生产线无法投产"
PATENT_ZH = "我们的发明专利被同行企业仿冒侵权，请求知识产权部门协调维权"
PAYMENT_ZH = "某国有企业拖欠我公司货款120万元，多次催告无果"
LAND_ZH = "新项目用地指标迟迟不能落实，土地出让手续停滞"
POWER_EN = "Our application to increase the factory's power capacity has waited three months"
PATENT_EN = "A competitor copies our patented design and sells it under another brand"
PAYMENT_EN = "A state-owned customer has not paid our invoices of 1.2 million yuan since June"


def test_chinese_text_is_cut_into_characters_and_character_pairs() -> None:
    assert terms("用电增容") == {
        **{"用": 1, "电": 1, "增": 1, "容": 1},
        **{"用电": 1, "电增": 1, "增容": 1},
    }
    assert terms("电") == {"电": 1}
    assert terms("ＬＥＤ灯 Payments delayed") == {"led": 1, "灯": 1, "payment": 1, "delay": 1}


# Requests as enterprises word them, grouped by the problem they are about (a labelled set:
# each text's neighbours are the others of its group).
LABELLED = {
    "power": (
        "厂区用电增容申请提交三个月了，供电公司审批一直没有结果",
        "扩产需要增容用电 2000 千伏安",
        "新车间需要增加用电容量，供电公司一直不批",
        "工厂扩产缺电，变压器容量不够",
    ),
    "land": (
        "新项目用地指标迟迟不能落实，土地出让手续停滞",
        "扩建厂房的用地审批卡在自然资源局",
        "项目土地证办不下来",
    ),
    "payments": (
        "某国有企业拖欠我公司货款120万元，多次催告无果",
        "区政府工程款拖欠两年未付",
        "国企拖欠设备款 186 万元，已逾期 9 个月",
    ),
    "ip": (
        "我们的发明专利被同行企业仿冒侵权",
        "专利被仿冒，请求协调市场监管部门",
        "商标被抢注，需要知识产权部门帮助",
    ),
    "subsidy": (
        "稳岗补贴申请后一直未到账",
        "高新技术企业奖励资金没有兑现",
        "人才补贴政策落实不到位",
    ),
    "loans": (
        "银行贷款审批慢，流动资金紧张",
        "融资难，抵押物不足贷不到款",
        "申请的贴息贷款迟迟没有放款",
    ),
    "labour": ("招工难，技术工人缺口大", "缺少熟练焊工，招聘困难"),
}


def test_labelled_requests_find_their_own_kind() -> None:
    """Each text against all the others: the best match is of its own group for at least 3 in
    4, and at the default threshold nothing of another group is suggested."""
    texts = [(group, text) for group, items in LABELLED.items() for text in items]
    minimum = SystemicSettings().min_similarity
    right = 0
    for group, text in texts:
        others = [(g, t) for g, t in texts if t != text]
        ranked = rank(text, others, limit=len(others), minimum=0.0)
        right += ranked[0].item == group
        assert all(s.item == group for s in ranked if s.score >= minimum), text
    assert right >= 0.75 * len(texts)


def test_similar_chinese_request_ranks_above_unrelated_ones() -> None:
    documents = [("patent", PATENT_ZH), ("power", POWER_ZH), ("land", LAND_ZH)]
    found = rank("用电增容审批太慢，扩产等电", documents, limit=3, minimum=0.0)
    assert found[0].item == "power"
    assert found[0].score > 0.1 > found[1].score
    debt = rank(
        "国企拖欠货款半年未付", [("power", POWER_ZH), ("pay", PAYMENT_ZH)], limit=3, minimum=0
    )
    assert debt[0].item == "pay" and debt[0].score > debt[1].score


def test_similar_english_request_ranks_above_unrelated_ones() -> None:
    documents = [("patent", PATENT_EN), ("payment", PAYMENT_EN), ("power", POWER_EN)]
    found = rank(
        "Approval of extra power capacity for our factory is delayed",
        documents,
        limit=3,
        minimum=0.0,
    )
    assert found[0].item == "power" and found[0].score > 0.1 > found[1].score
    unpaid = rank("Unpaid invoices from a public customer", documents, limit=1, minimum=0.1)
    assert [s.item for s in unpaid] == ["payment"]


def test_nothing_similar_is_nothing_suggested() -> None:
    assert rank("你好", [("power", POWER_ZH)], limit=3, minimum=0.1) == []
    assert rank("", [("power", POWER_ZH)], limit=3, minimum=0.0) == []


@pytest.fixture
async def domain(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Services]:
    services = await open_domain(domain_settings(tmp_path), clock)
    yield services
    await services.close()


async def file(services: Services, telegram_id: int, text: str) -> int:
    actor = await services.actor(telegram_id)
    new = NewRequest(
        enterprise_id=actor.enterprises[0].id,
        submitted_by=telegram_id,
        category="factors",
        urgent=False,
        summary=text[:30],
        description=text,
        details={},
    )
    return (await services.desk.submit(actor, new)).request.id


async def test_suggestions_show_each_user_only_what_they_may_see(domain: Services) -> None:
    await make_cast(domain)
    admin, alice = await domain.actor(ADMIN_ID), await domain.actor(ALICE_ID)
    bobs = await file(domain, BOB_ID, POWER_ZH)
    await file(domain, BOB_ID, PATENT_ZH)
    issue = await domain.systemic.create(admin, "工业用电增容审批慢", request_id=bobs)

    for_alice = await domain.systemic.suggest(alice, "用电增容审批太慢")
    assert [s.item.id for s in for_alice.issues] == [issue.id]
    assert for_alice.requests == []  # never another enterprise's request

    for_admin = await domain.systemic.suggest(admin, "用电增容审批太慢")
    assert [s.item.id for s in for_admin.issues] == [issue.id]
    assert [s.item.id for s in for_admin.requests] == [bobs]
    assert for_admin.requests[0].item.systemic_issue_id == issue.id


async def test_resolving_tells_every_linked_enterprise_once(
    domain: Services, clock: FakeClock
) -> None:
    cast = await make_cast(domain)
    await add_contact(domain, cast.bob_enterprise, CAROL_ID)  # a second contact of Bob's firm
    admin = await domain.actor(ADMIN_ID)
    alices, bobs = await file(domain, ALICE_ID, POWER_ZH), await file(domain, BOB_ID, POWER_ZH)
    other = await file(domain, ALICE_ID, PATENT_ZH)
    issue = await domain.systemic.create(admin, "工业用电增容审批慢")
    await domain.systemic.link(admin, issue.id, alices)
    issue = await domain.systemic.link(admin, issue.id, bobs)
    assert (issue.linked, issue.enterprises) == (2, 2)
    await domain.systemic.note(admin, issue.id, "省电力公司已开通增容绿色通道")
    await domain.systemic.set_status(admin, issue.id, IssueStatus.IN_PROGRESS)
    resolved, told = await domain.systemic.set_status(admin, issue.id, IssueStatus.RESOLVED)
    assert (
        told == 3
        and resolved.status is IssueStatus.RESOLVED
        and resolved.resolved_at == clock.now()
    )

    await domain.alarm.tick()
    sent = recorder(domain)
    alice_number = (await domain.requests.get(alices)).number  # type: ignore[union-attr]
    other_number = (await domain.requests.get(other)).number  # type: ignore[union-attr]
    [to_alice] = sent.to(ALICE_ID)
    assert "工业用电增容审批慢" in to_alice and alice_number in to_alice
    assert "绿色通道" in to_alice and other_number not in to_alice
    assert len(sent.to(BOB_ID)) == 1 and len(sent.to(CAROL_ID)) == 1
    assert not [t for t in sent.to(OFFICIAL_ID) if "系统性问题" in t]

    # Reopened and resolved again: told again; nothing is sent twice for one resolution.
    await domain.systemic.set_status(admin, issue.id, IssueStatus.OPEN)
    await domain.systemic.set_status(admin, issue.id, IssueStatus.RESOLVED)
    await domain.alarm.tick()
    await domain.alarm.tick()
    assert len(sent.to(ALICE_ID)) == 2


async def test_resolution_waits_for_quiet_hours_to_end(domain: Services, clock: FakeClock) -> None:
    await make_cast(domain)
    admin = await domain.actor(ADMIN_ID)
    issue = await domain.systemic.create(
        admin, "用电增容", request_id=await file(domain, ALICE_ID, POWER_ZH)
    )
    clock.set(datetime(2026, 3, 2, 22, 30, tzinfo=SH))
    await domain.systemic.set_status(admin, issue.id, IssueStatus.RESOLVED)
    await domain.alarm.tick()
    assert recorder(domain).to(ALICE_ID) == []
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=SH))
    await domain.alarm.tick()
    assert len(recorder(domain).to(ALICE_ID)) == 1


async def test_only_admins_manage_issues(domain: Services) -> None:
    await make_cast(domain)
    admin, alice = await domain.actor(ADMIN_ID), await domain.actor(ALICE_ID)
    official = await domain.actor(OFFICIAL_ID)
    request_id = await file(domain, ALICE_ID, POWER_ZH)
    issue = await domain.systemic.create(admin, "用电增容")
    for actor in (alice, official):
        attempts = [
            domain.systemic.create(actor, "x"),
            domain.systemic.link(actor, issue.id, request_id),
            domain.systemic.set_status(actor, issue.id, IssueStatus.RESOLVED),
            domain.systemic.note(actor, issue.id, "x"),
            domain.systemic.view(actor, issue.id),
            domain.systemic.page(actor, resolved=False, page=0),
        ]
        for attempt in attempts:
            with pytest.raises(IssueRefused, match="forbidden"):
                await attempt
    assert (await domain.systemic.view(admin, issue.id)).requests == []


async def test_grouping_rules(domain: Services) -> None:
    await make_cast(domain)
    admin = await domain.actor(ADMIN_ID)
    request_id = await file(domain, ALICE_ID, POWER_ZH)
    first = await domain.systemic.create(admin, "  用电   增容  ", request_id=request_id)
    assert first.title == "用电 增容" and first.linked == 1
    with pytest.raises(IssueRefused, match="already_linked"):
        await domain.systemic.link(admin, first.id, request_id)
    second = await domain.systemic.create(admin, "供电审批")
    moved = await domain.systemic.link(admin, second.id, request_id)
    assert moved.linked == 1 and (await domain.systemic.view(admin, first.id)).issue.linked == 0
    kinds = [e.kind for e in (await domain.systemic.view(admin, first.id)).events]
    assert kinds == ["created", "link", "unlink"]
    for title in ("", "字" * 101):
        with pytest.raises(IssueRefused, match="title"):
            await domain.systemic.create(admin, title)
    with pytest.raises(IssueRefused, match="request_not_found"):
        await domain.systemic.link(admin, second.id, 99999)
    await domain.systemic.set_status(admin, second.id, IssueStatus.RESOLVED)
    with pytest.raises(IssueRefused, match="resolved"):
        await domain.systemic.unlink(admin, second.id, request_id)
    with pytest.raises(IssueRefused, match="same_status"):
        await domain.systemic.set_status(admin, second.id, IssueStatus.RESOLVED)
    page = await domain.systemic.page(admin, resolved=True, page=0)
    assert [i.id for i in page.items] == [second.id] and page.total == 1


async def test_a_link_made_meanwhile_is_not_lost_by_a_resolution(
    domain: Services, clock: FakeClock
) -> None:
    """The version guard: a resolution decided before a link is decided again with it."""
    await make_cast(domain)
    admin = await domain.actor(ADMIN_ID)
    alices, bobs = await file(domain, ALICE_ID, POWER_ZH), await file(domain, BOB_ID, POWER_ZH)
    issue = await domain.systemic.create(admin, "用电增容", request_id=alices)
    repo = domain.systemic.repo
    stale = await repo.get(issue.id)
    assert stale is not None
    await domain.systemic.link(admin, issue.id, bobs)
    with pytest.raises(IssueChanged):
        async with domain.db.transaction() as tx:
            await repo.set_status(
                tx, stale, IssueStatus.RESOLVED, actor_id=ADMIN_ID, now=clock.now()
            )
    await domain.systemic.set_status(admin, issue.id, IssueStatus.RESOLVED)
    clock.advance(timedelta(seconds=1))
    await domain.alarm.tick()
    assert len(recorder(domain).to(BOB_ID)) == 1
