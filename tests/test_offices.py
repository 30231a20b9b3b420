"""Offices and managed admins (issue 18, points 1 and 2), end to end through the stand-in: a
province admin appoints a city admin by a one-time link, lists the admins of each office and
revokes one; a city admin appoints for their own city only; a revoked admin's next command or
press is refused; every appointment and revocation is in the audit log."""

from __future__ import annotations

import re

from bot.offices import PROVINCE, office_of_holder, parse_office
from bot.services import Services
from bot.tables import read_table
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    DALIAN_ADMIN_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    appoint_admin,
    make_cast,
)
from standin import TelegramStandin, TestUser
from storage.requests import NewRequest
from storage.scope import Scope
from tests.reminder_support import new_request
from tests.test_broadcasts import announcements, compose, send_now, wait_done
from tests.test_rosters import ENTERPRISES_CSV

LINK = re.compile(r"https://t\.me/\w+\?start=(inv_[\w-]+)")
NEWCOMER_ID = 900201
SHENYANG_ADMIN_ID = 900301


async def audit_actions(services: Services) -> list[tuple[int | None, str, str, str]]:
    rows = await services.db.fetch_all(
        "SELECT actor_id, action, subject, result FROM audit_log"
        " WHERE action LIKE 'admin.%' ORDER BY id"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def open_link(user: TestUser, text: str) -> str:
    found = LINK.search(text)
    assert found is not None, text
    await user.send(f"/start {found.group(1)}")
    return (await user.expect_message()).text or ""


def test_offices_are_the_province_and_each_city() -> None:
    assert parse_office("省") == PROVINCE
    assert parse_office("大连") == "dalian"
    assert parse_office("沈抚示范区") == "shenfu"
    assert parse_office("北京") is None


async def test_holder_office_is_the_province_for_a_provincial_leader(services: Services) -> None:
    cast = await make_cast(services)
    assert office_of_holder(cast.official) == PROVINCE  # 王建国, vice-governor (seat: Shenyang)
    assert office_of_holder(cast.other_official) == "dalian"  # 李娜, vice-mayor of Dalian


async def test_province_admin_appoints_lists_and_revokes_a_city_admin(
    services: Services, standin: TelegramStandin
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, language_code="zh-hans")
    await admin.send("/appoint 大连")
    invitation = (await admin.expect_message()).text or ""
    assert "大连市" in invitation and "一次性" in invitation

    newcomer = standin.user(NEWCOMER_ID, first_name="陈<静>", language_code="zh-hans")
    assert "您已成为大连市管理员" in await open_link(newcomer, invitation)
    assert "管理员您好" in ((await newcomer.expect_message()).text or "")  # and the menu
    assert (await services.actor(NEWCOMER_ID)).office == "dalian"
    # A link is used once.
    stranger = standin.user(NEWCOMER_ID + 1, language_code="zh-hans")
    assert "已被使用" in await open_link(stranger, invitation)
    assert not (await services.actor(NEWCOMER_ID + 1)).is_admin

    await admin.send("/admins")
    listing = await admin.expect_message()
    text = listing.text or ""
    assert f"辽宁省：{ADMIN_ID}（配置文件）" in text
    assert f"大连市：陈<静>（{NEWCOMER_ID}）" in text  # escaped on the way, shown as typed
    assert "沈阳市：暂无" in text

    await admin.press(listing, "撤销 陈<静>（大连市）")
    after = await admin.expect_edit(listing)
    assert "大连市：暂无" in (after.text or "")
    assert not (await services.actor(NEWCOMER_ID)).is_admin
    # The revoked admin's next command is refused.
    await newcomer.send("/queue")
    assert (await newcomer.expect_message()).text == "您没有权限执行此操作。"

    assert await audit_actions(services) == [
        (ADMIN_ID, "admin.invite", "dalian", ""),
        (ADMIN_ID, "admin.appoint", str(NEWCOMER_ID), "dalian"),
        (ADMIN_ID, "admin.revoke", str(NEWCOMER_ID), "dalian"),
    ]


async def test_a_revoked_admins_next_press_is_refused(
    services: Services, standin: TelegramStandin
) -> None:
    await make_cast(services)
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    city_admin = standin.user(DALIAN_ADMIN_ID, language_code="zh-hans")
    await city_admin.send("/admins")
    listing = await city_admin.expect_message()  # with a button to revoke themselves
    admin_id = await services.db.fetch_value(
        "SELECT id FROM admins WHERE telegram_id = ?", (DALIAN_ADMIN_ID,)
    )
    revoked = await services.offices.revoke(
        admin_id, by=ADMIN_ID, by_office=PROVINCE, now=services.clock.now()
    )
    assert revoked is not None
    query = await city_admin.press(listing, "撤销 User（大连市）")
    answer = await city_admin.expect_callback_answer(query)
    assert answer.get("text") == "您没有权限执行此操作。"


async def test_a_city_admin_appoints_and_revokes_for_their_own_city_only(
    services: Services, standin: TelegramStandin
) -> None:
    await make_cast(services)
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    await appoint_admin(services, SHENYANG_ADMIN_ID, "shenyang")
    city_admin = standin.user(DALIAN_ADMIN_ID, language_code="zh-hans")

    await city_admin.send("/appoint 沈阳")
    assert (await city_admin.expect_message()).text == "您没有权限执行此操作。"
    await city_admin.send("/appoint 省")
    assert (await city_admin.expect_message()).text == "您没有权限执行此操作。"
    await city_admin.send("/appoint")  # their own city
    invitation = (await city_admin.expect_message()).text or ""
    assert "大连市" in invitation
    newcomer = standin.user(NEWCOMER_ID, first_name="新人", language_code="zh-hans")
    await open_link(newcomer, invitation)
    assert (await services.actor(NEWCOMER_ID)).office == "dalian"

    # /admins: only their office, and a revoke button for its admins only.
    await city_admin.send("/admins")
    listing = await city_admin.expect_message()
    text = listing.text or ""
    assert "大连市" in text and "沈阳市" not in text and "辽宁省" not in text
    assert str(SHENYANG_ADMIN_ID) not in text and str(ADMIN_ID) not in text

    # A forged press on the Shenyang admin's appointment is refused, and changes nothing.
    shenyang_row = await services.db.fetch_value(
        "SELECT id FROM admins WHERE telegram_id = ?", (SHENYANG_ADMIN_ID,)
    )
    query = await city_admin.press_data(listing, f"adm:{shenyang_row}")
    answer = await city_admin.expect_callback_answer(query)
    assert answer.get("text") == "您没有权限执行此操作。"
    assert (await services.actor(SHENYANG_ADMIN_ID)).office == "shenyang"

    await city_admin.press(listing, "撤销 新人（大连市）")
    await city_admin.expect_edit(listing)
    assert not (await services.actor(NEWCOMER_ID)).is_admin
    assert (DALIAN_ADMIN_ID, "admin.revoke", str(NEWCOMER_ID), "dalian") in await audit_actions(
        services
    )


async def test_rolls_and_escalation_fall_back_to_the_province(services: Services) -> None:
    cast = await make_cast(services)
    offices = services.offices
    # No Dalian admin yet: the Dalian vice-mayor's overdue requests reach the province.
    assert await offices.escalation_admins(cast.other_official) == (ADMIN_ID,)
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    assert await offices.escalation_admins(cast.other_official) == (DALIAN_ADMIN_ID,)
    assert await offices.escalation_admins(cast.official) == (ADMIN_ID,)
    rolls = await offices.rolls(Scope(city="dalian"))
    assert [(r.office, r.telegram_ids) for r in rolls] == [("dalian", (DALIAN_ADMIN_ID,))]


# -- a city admin at work: their city only (issue 18, points 3 and 5) -----------------------------


async def city_world(services: Services, standin: TelegramStandin) -> tuple[str, str]:
    """The cast, a Dalian admin, and two requests nobody holds (no designated official): Alice's
    (Shenyang) and Bob's (Dalian), submitted as the intake does; their numbers."""
    cast = await make_cast(services)
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    for user_id in (ALICE_ID, BOB_ID, OFFICIAL_ID, OTHER_OFFICIAL_ID, ADMIN_ID, DALIAN_ADMIN_ID):
        standin.user(user_id, started=True, language_code="zh-hans")
    await services.db.execute("DELETE FROM assignments")
    numbers = []
    for enterprise, contact in ((cast.alice_enterprise, ALICE_ID), (cast.bob_enterprise, BOB_ID)):
        new = NewRequest(
            enterprise_id=enterprise.id, submitted_by=contact, category="policy", urgent=False,
            summary="补贴没兑现", description="补贴没兑现", details={},
        )  # fmt: skip
        submitted = await services.desk.submit(await services.actor(contact), new)
        assert submitted.request.official_id is None
        numbers.append(submitted.request.number)
    await services.courier.deliver_now()  # the queue's cards: both to the province, Bob's to Dalian
    for user_id, cards in ((ADMIN_ID, 2), (DALIAN_ADMIN_ID, 1)):
        for _ in range(cards):
            await standin.user(user_id).expect_message()
    return numbers[0], numbers[1]


async def test_a_city_admin_sees_their_citys_queue_stats_and_ledger_only(
    services: Services, standin: TelegramStandin
) -> None:
    shenyang, dalian = await city_world(services, standin)
    city_admin = standin.user(DALIAN_ADMIN_ID, language_code="zh-hans")
    await city_admin.send("/queue")
    queue = (await city_admin.expect_message()).text or ""
    assert dalian in queue and shenyang not in queue and "共 1 条" in queue
    admin = standin.user(ADMIN_ID, language_code="zh-hans")
    await admin.send("/queue")
    assert "共 2 条" in ((await admin.expect_message()).text or "")  # the province: both

    await city_admin.send("/stats")
    stats = (await city_admin.expect_message()).text or ""
    assert stats.startswith("📊 台账统计 · 大连市")  # the cut the office forces
    assert "收集诉求 1 件" in stats and "沈阳" not in stats
    await admin.send("/stats")
    assert "收集诉求 2 件" in ((await admin.expect_message()).text or "")

    await city_admin.send("/ledger")
    ledger = await city_admin.expect_message()
    assert ledger.caption == "台账：1 件诉求"
    await city_admin.expect_message()  # the .csv
    await city_admin.send(f"/open {shenyang}")
    assert (await city_admin.expect_message()).text == "没有找到这条诉求。请检查编号是否正确。"
    await city_admin.send(f"/open {dalian}")
    assert dalian in ((await city_admin.expect_message()).text or "")


async def test_a_city_admin_hears_of_their_citys_unassigned_requests_only(
    services: Services, standin: TelegramStandin
) -> None:
    shenyang, dalian = await city_world(services, standin)
    heard = [m.text or "" for m in standin.user(DALIAN_ADMIN_ID).messages]
    assert len(heard) == 1 and dalian in heard[0] and shenyang not in heard[0]
    heard = [m.text or "" for m in standin.user(ADMIN_ID).messages]
    assert len(heard) == 2 and shenyang in heard[0] and dalian in heard[1]  # the province too


async def test_a_city_admins_announcement_reaches_their_city_only(
    services: Services, standin: TelegramStandin
) -> None:
    await city_world(services, standin)
    city_admin = standin.user(DALIAN_ADMIN_ID, language_code="zh-hans")
    summary = await compose(city_admin, "大连市政策宣讲会", "全部企业")
    assert "接收人数：1（仅大连市）" in (summary.text or "")
    await send_now(city_admin, summary)
    await wait_done(standin, services, 1)
    assert len(announcements(standin.user(BOB_ID))) == 1
    assert announcements(standin.user(ALICE_ID)) == []

    # Everyone, officials included: Dalian's official only, not the vice-governor in Shenyang.
    summary = await compose(city_admin, "大连市干部会议", "全部官员")
    assert "接收人数：1（仅大连市）" in (summary.text or "")
    await send_now(city_admin, summary)
    await wait_done(standin, services, 2)
    assert len(announcements(standin.user(OTHER_OFFICIAL_ID))) == 1
    assert announcements(standin.user(OFFICIAL_ID)) == []

    # The province lists every office's announcements; another city's admin none of Dalian's.
    await appoint_admin(services, SHENYANG_ADMIN_ID, "shenyang")
    other = standin.user(SHENYANG_ADMIN_ID, language_code="zh-hans")
    await other.send("/broadcasts")
    assert (await other.expect_message()).text == "还没有发送过公告。"
    admin = standin.user(ADMIN_ID, language_code="zh-hans")
    await admin.send("/broadcasts")
    listed = (await admin.expect_message()).text or ""
    assert "公告 #1" in listed and "公告 #2" in listed
    assert standin.errors == []


async def test_a_city_admins_roster_names_the_rows_of_other_cities(
    services: Services, standin: TelegramStandin
) -> None:
    await make_cast(services)
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    city_admin = standin.user(DALIAN_ADMIN_ID, language_code="zh-hans")
    await city_admin.send_document(ENTERPRISES_CSV.encode(), "e.csv", caption="企业名册")
    report = (await city_admin.expect_message()).text or ""
    assert report.splitlines()[1:] == [
        "第 2 行 · city：不属于您管理的城市（市管理员只能导入本市的官员、企业和包联关系）（沈阳市）"
    ], report
    await city_admin.send_document(
        ENTERPRISES_CSV.splitlines()[0].encode() + b"\n" + ENTERPRISES_CSV.splitlines()[2].encode(),
        "e.csv",
        caption="企业名册",
    )
    assert (
        await city_admin.expect_message()
    ).text == "✅ 企业名册已导入：共 1 行，新增 0，更新 0。"


async def test_escalation_goes_to_the_holders_office(
    services: Services, standin: TelegramStandin
) -> None:
    cast = await make_cast(services)
    await appoint_admin(services, DALIAN_ADMIN_ID, "dalian")
    # 李娜 (Dalian) holds Bob's request; 王建国 (vice-governor) Alice's.
    for enterprise, official, contact in (
        (cast.bob_enterprise, cast.other_official, BOB_ID),
        (cast.alice_enterprise, cast.official, ALICE_ID),
    ):
        await new_request(
            services, enterprise_id=enterprise.id, official_id=official.id, submitted_by=contact
        )
    rows = await services.db.fetch_all(
        "SELECT r.number, o.name FROM requests r JOIN officials o ON o.id = r.official_id"
    )
    assert len(rows) == 2
    assert await services.offices.escalation_admins(cast.other_official) == (DALIAN_ADMIN_ID,)
    assert await services.offices.escalation_admins(cast.official) == (ADMIN_ID,)


async def test_a_city_admin_exports_their_citys_roster_and_the_province_everyone(
    services: Services, standin: TelegramStandin
) -> None:
    """/roster 企业: the enterprises roster as an .xlsx the import reads back; a Dalian admin's
    holds Dalian's enterprises only and says so; the province's holds them all."""
    await city_world(services, standin)
    city_admin = standin.user(DALIAN_ADMIN_ID, language_code="zh-hans")
    await city_admin.send("/roster 企业")
    sent = await city_admin.expect_message()
    assert sent.document is not None and sent.caption is not None
    assert "（仅大连市）" in sent.caption
    cities = {row[1][2] for row in read_table(sent.document, "enterprises.xlsx").rows}
    assert cities == {"大连市"}
    admin = standin.user(ADMIN_ID, language_code="zh-hans")
    await admin.send("/roster enterprises")
    everyone = await admin.expect_message()
    assert everyone.document is not None
    assert {"大连市", "沈阳市"} <= {r[1][2] for r in read_table(everyone.document, "e.xlsx").rows}
    await city_admin.send("/roster")
    assert "/roster 官员" in ((await city_admin.expect_message()).text or "")
    assert standin.errors == []
