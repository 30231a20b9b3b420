"""Offices and managed admins (issue 18, points 1 and 2), end to end through the stand-in: a
province admin appoints a city admin by a one-time link, lists the admins of each office and
revokes one; a city admin appoints for their own city only; a revoked admin's next command or
press is refused; every appointment and revocation is in the audit log."""

from __future__ import annotations

import re

from bot.offices import PROVINCE, office_of_holder, parse_office
from bot.services import Services
from scenarios.roster import ADMIN_ID, DALIAN_ADMIN_ID, appoint_admin, make_cast
from standin import TelegramStandin, TestUser
from storage.scope import Scope

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
