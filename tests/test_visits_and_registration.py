"""Site visits and enterprise registration, end to end through the stand-in."""

from __future__ import annotations

from datetime import date

import pytest

from bot.credit_code import make_credit_code
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_CODE, OFFICIAL_ID, OTHER_OFFICIAL_ID, make_cast
from standin import TelegramStandin, TestUser
from storage.models import EnterpriseStatus

pytestmark = pytest.mark.usefixtures("bot")


async def test_official_records_a_visit(standin: TelegramStandin, services: Services) -> None:
    cast = await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    await official.send("/visit")
    ask = await official.expect_message()
    assert "走访了哪家企业" in ask.text
    # Only his own enterprise is offered; Bob's, forged, changes nothing.
    forged = await official.press_data(ask, f"vs:enterprise:{cast.bob_enterprise.id}")
    await official.expect_callback_answer(forged)
    await official.expect_no_message(within=0.2)
    await official.press(ask, "沈阳北方精密机械有限公司")
    when = await official.expect_message()
    await official.send("2099-01-01")
    assert "不晚于今天" in (await official.expect_message()).text
    await official.press(when, "昨天")
    await official.expect_message()
    await official.send("企业反映用电紧张，已约定下周协调供电公司。")
    assert "已记录：2026-03-01" in (await official.expect_message()).text
    visits = await services.visits.of_enterprise(cast.alice_enterprise.id)
    assert [(v.official_id, v.visited_on) for v in visits] == [(cast.official.id, date(2026, 3, 1))]
    other = standin.user(
        OTHER_OFFICIAL_ID, first_name="李娜", language_code="zh-hans", started=True
    )
    await other.send("/visit")
    assert "大连海湾" in str((await other.expect_message()).reply_markup)
    assert standin.errors == []


async def test_registration_with_a_wrong_code_then_approval(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    carol = standin.user(650001, first_name="Carol", language_code="zh-hans", started=True)
    await carol.send("/register")
    assert "登记名称" in (await carol.expect_message()).text
    await carol.send("营口港湾物流有限公司")
    assert "18 位" in (await carol.expect_message()).text
    await carol.send("91210800MA0XXXXX1A")
    wrong = (await carol.expect_message()).text
    assert "校验不通过" in wrong or "大写字母" in wrong
    await carol.send(ALICE_CODE[:17] + ("0" if ALICE_CODE[17] != "0" else "1"))
    mistyped = (await carol.expect_message()).text
    assert "校验不通过" in mistyped and "逐位核对" in mistyped
    assert ALICE_CODE[17] not in mistyped.replace("18", "")
    await carol.send(ALICE_CODE)
    cities = await carol.expect_message()
    assert "沈抚示范区" in str(cities.reply_markup)
    await carol.press(cities, "营口市")
    stage = await carol.expect_message()
    await carol.press(stage, "成熟期")
    await carol.expect_message()
    await carol.send("港口物流")
    summary = await carol.expect_message()
    assert "营口市" in summary.text and "成熟期" in summary.text
    await carol.press(summary, "✅ 提交审核")
    # The code belongs to Alice's firm already: refused with the reason.
    assert "已经登记过" in (await carol.expect_message()).text

    fresh = make_credit_code("91210800MA0YK3L01")
    await carol.send("/register")
    await carol.expect_message()
    await carol.send("营口港湾物流有限公司")
    await carol.expect_message()
    await carol.send(fresh.lower())
    cities = await carol.expect_message()
    await carol.press(cities, "营口市")
    await carol.press(await carol.expect_message(), "成熟期")
    await carol.expect_message()
    await carol.send("港口物流")
    await carol.press(await carol.expect_message(), "✅ 提交审核")
    assert "审核后会通知" in (await carol.expect_message()).text
    pending = await services.enterprises.by_credit_code(fresh)
    assert pending is not None and pending.status is EnterpriseStatus.PENDING
    assert pending.city == "yingkou" and pending.registered_by == 650001

    card = await admin.expect_message()
    assert "新的企业登记" in card.text and fresh in card.text
    intruder = await carol.press_data(card.message_id, f"rd:{pending.id}:1")
    await carol.expect_callback_answer(intruder)
    assert (await services.enterprises.get(pending.id)).status is EnterpriseStatus.PENDING  # type: ignore[union-attr]
    await admin.press(card, "✅ 通过")
    await admin.expect_edit(card)
    assert "已通过审核" in (await carol.expect_message()).text
    approved = await services.enterprises.get(pending.id)
    assert approved is not None and approved.status is EnterpriseStatus.ACTIVE
    twice = await admin.press_data(card.message_id, f"rd:{pending.id}:0")
    assert "已经处理过" in (await admin.expect_callback_answer(twice))["text"]
    await carol.send("/new")
    assert "诉求类别" in (await carol.expect_message()).text
    assert standin.errors == []


async def register_firm(user: TestUser, name: str, code: str) -> str:
    """Go through /register for ``name`` and submit it; the bot's last answer."""
    await user.send("/register")
    await user.expect_message()
    await user.send(name)
    await user.expect_message()
    await user.send(code)
    await user.press(await user.expect_message(), "营口市")
    await user.press(await user.expect_message(), "成熟期")
    await user.expect_message()
    await user.send("港口物流")
    await user.press(await user.expect_message(), "✅ 提交审核")
    return (await user.expect_message()).text or ""


@pytest.mark.usefixtures("bot")
async def test_a_rejected_registration_is_told_and_the_code_can_be_applied_for_again(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans", started=True)
    carol = standin.user(650001, first_name="Carol", language_code="zh-hans", started=True)
    dave = standin.user(650002, first_name="Dave", language_code="zh-hans", started=True)
    code = make_credit_code("91210800MA0YK3L02")
    assert "审核后会通知" in await register_firm(carol, "营口港湾物流", code)
    card = await admin.expect_message()
    await admin.press(card, "✖️ 驳回")
    await admin.expect_edit(card)
    told = (await carol.expect_message()).text or ""
    assert "营口港湾物流" in told and "未通过" in told
    rejected = await services.enterprises.by_credit_code(code)
    assert rejected is not None and rejected.status is EnterpriseStatus.REJECTED
    await carol.send("/new")
    assert "诉求类别" not in ((await carol.expect_message()).text or "")

    # The firm's real contact applies again with the right name: pending again, for them only.
    assert "审核后会通知" in await register_firm(dave, "营口港湾物流有限公司", code)
    again = await services.enterprises.by_credit_code(code)
    assert again is not None and again.id == rejected.id
    assert (again.status, again.name, again.registered_by) == (
        EnterpriseStatus.PENDING,
        "营口港湾物流有限公司",
        650002,
    )
    assert [c.telegram_id for c in await services.enterprises.contacts(again.id)] == [650002]
    assert "营口港湾物流有限公司" in ((await admin.expect_message()).text or "")
    assert standin.errors == []


@pytest.mark.usefixtures("bot")
async def test_a_visit_to_an_enterprise_taken_out_of_the_portfolio_meanwhile_is_not_recorded(
    standin: TelegramStandin, services: Services
) -> None:
    cast = await make_cast(services)
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans", started=True)
    await official.send("/visit")
    await official.press(await official.expect_message(), "沈阳北方精密机械有限公司")
    await official.press(await official.expect_message(), "今天")
    await official.expect_message()
    await services.db.execute(  # a roster import took the enterprise out of his portfolio
        "DELETE FROM assignments WHERE enterprise_id = ?", (cast.alice_enterprise.id,)
    )
    await official.send("企业反映用电紧张。")
    assert "不在您的联系企业名单中" in (await official.expect_message()).text
    assert await services.visits.of_enterprise(cast.alice_enterprise.id) == []
    await official.send("企业反映用电紧张。")  # the dialogue is over: no longer taken as notes
    assert "不在您的联系企业名单中" not in (await official.expect_message()).text
