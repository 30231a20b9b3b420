"""Checking numbers and accounts, contact notices, business cards and impostor reports."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.services import Services
from scenarios.roster import (
    ADMIN_ID,
    ALICE_ID,
    BOB_ID,
    OFFICIAL_ID,
    OTHER_OFFICIAL_ID,
    Cast,
    make_cast,
)
from standin import StoredMessage, TelegramStandin, TestUser

pytestmark = pytest.mark.usefixtures("bot")


@pytest.fixture
async def cast(services: Services) -> Cast:
    cast = await make_cast(services)
    phone = "+8613800138000"
    await services.directory.add_phone(
        cast.official.id, phone_hash=services.verifier.phones.digest(phone), last4="8000"
    )
    return cast


@pytest.mark.parametrize("typed", ["138 0013 8000", "+86-138-0013-8000", "0086 13800138000"])
async def test_a_registered_number_in_any_format_is_recognised(
    standin: TelegramStandin, services: Services, cast: Cast, typed: str
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await alice.send("/check")
    await alice.expect_message()
    await alice.send(typed)
    reply = (await alice.expect_message()).text or ""
    assert "王建国" in reply and "来电显示可以伪造" in reply
    rows = await services.db.fetch_all("SELECT phone_hash, last4 FROM official_phones")
    assert "13800138000" not in rows[0]["phone_hash"]
    assert standin.errors == []


async def test_unknown_and_malformed_numbers(standin: TelegramStandin, cast: Cast) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await alice.send("/check")
    await alice.expect_message()
    await alice.send("12345")
    assert "不像是中国的电话号码" in ((await alice.expect_message()).text or "")
    await alice.send("139 0000 1111")
    assert "不是任何已登记官员的号码" in ((await alice.expect_message()).text or "")
    hint = await alice.expect_message()
    assert "举报" in str(hint.data.get("reply_markup"))


async def test_a_shared_account_is_checked(standin: TelegramStandin, cast: Cast) -> None:
    standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    standin.user(600009, first_name="假冒者", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await alice.send("/check")
    await alice.expect_message()
    await alice.share_user(1, OFFICIAL_ID)
    assert "属于已登记官员" in ((await alice.expect_message()).text or "")
    await alice.send("/check")
    await alice.expect_message()
    await alice.share_user(1, 600009)
    assert "不属于任何已登记官员" in ((await alice.expect_message()).text or "")
    assert standin.errors == []


async def test_contact_notice_answer_and_who_is_contacting(
    standin: TelegramStandin, services: Services, clock: FakeClock, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    bob = standin.user(BOB_ID, first_name="Bob", language_code="zh-hans")
    await alice.send("/who")
    assert "没有官员预告联系您" in ((await alice.expect_message()).text or "")
    await official.send("/notice")
    ask = await official.expect_message()
    await official.press(ask, "沈阳北方精密机械有限公司")
    ask = await official.expect_edit(ask)
    await official.press(ask, "电话")
    ask = await official.expect_edit(ask)
    await official.press(ask, "30 分钟内")
    done = await official.expect_edit(ask)
    assert "1 位联系人" in (done.text or "")
    incoming = await alice.expect_message()
    assert "王建国" in (incoming.text or "") and "…8000" in (incoming.text or "")
    await alice.press(incoming, "现在方便")
    answered = await official.expect_message()
    assert "现在方便" in (answered.text or "")
    clock.advance(timedelta(minutes=3))
    await alice.send("/who")
    who = (await alice.expect_message()).text or ""
    assert "王建国" in who and "3 分钟前" in who and "…8000" in who
    await bob.send("/who")
    assert "没有官员预告" in ((await bob.expect_message()).text or "")
    # Bob may not answer a notice meant for Alice's enterprise.
    query = await bob.press(incoming, "现在方便")
    assert (await bob.expect_callback_answer(query)).get("show_alert")
    clock.advance(timedelta(minutes=30))
    await alice.send("/who")
    assert "没有官员预告" in ((await alice.expect_message()).text or "")
    assert standin.errors == []


async def test_card_link_opens_the_card_until_revoked(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    guest = standin.user(600010, first_name="Guest", language_code="en")
    await official.send("/card")
    card = await official.expect_message()
    assert "photo" in card.data
    found = re.search(r"start=(card_[A-Za-z0-9_-]+)", card.caption or "")
    assert found is not None
    await alice.send(f"/start {found.group(1)}")
    shown = (await alice.expect_message()).text or ""
    assert "经本机器人核实" in shown and "是贵企业（沈阳北方精密机械有限公司）的对接官员" in shown
    await guest.send(f"/start {found.group(1)}")
    assert "verified by this bot" in ((await guest.expect_message()).text or "")
    await official.press(card, "作废此链接")
    await official.expect_edit(card)
    await alice.send(f"/start {found.group(1)}")
    assert "该名片链接已作废" in ((await alice.expect_message()).text or "")
    await alice.send("/start card_nonsense")
    assert "该名片链接无效" in ((await alice.expect_message()).text or "")
    assert standin.errors == []


async def _card_link(official: TestUser) -> tuple[StoredMessage, str]:
    await official.send("/card")
    card = await official.expect_message()
    found = re.search(r"start=(card_[A-Za-z0-9_-]+)", card.caption or "")
    assert found is not None
    return card, found.group(1)


async def test_revoked_and_replaced_card_links_say_revoked_unknown_says_invalid(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    guest = standin.user(600011, first_name="Guest", language_code="en")
    card, first = await _card_link(official)
    await official.press(card, "作废此链接")
    await official.expect_edit(card)
    # Revoked, before any new link: both languages say revoked and point to /verify.
    await alice.send(f"/start {first}")
    revoked_zh = await alice.expect_message()
    assert "该名片链接已作废" in (revoked_zh.text or "") and "/verify" in (revoked_zh.text or "")
    assert "无效" not in (revoked_zh.text or "")
    assert "举报" in str(revoked_zh.data.get("reply_markup"))
    await guest.send(f"/start {first}")
    revoked_en = (await guest.expect_message()).text or ""
    assert "This card link was revoked" in revoked_en and "/verify" in revoked_en
    assert "new card link" in revoked_en and "not valid" not in revoked_en
    # A new link replaces it: the new one shows the card, the old one still says revoked.
    card2, second = await _card_link(official)
    assert second != first
    await alice.send(f"/start {second}")
    assert "经本机器人核实" in ((await alice.expect_message()).text or "")
    await alice.send(f"/start {first}")
    assert "该名片链接已作废" in ((await alice.expect_message()).text or "")
    await guest.send(f"/start {first}")
    assert "This card link was revoked" in ((await guest.expect_message()).text or "")
    # Revoking the second and issuing a third: both old links say revoked.
    await official.press(card2, "作废此链接")
    await official.expect_edit(card2)
    _, third = await _card_link(official)
    for old in (first, second):
        await alice.send(f"/start {old}")
        assert "该名片链接已作废" in ((await alice.expect_message()).text or "")
    await alice.send(f"/start {third}")
    assert "经本机器人核实" in ((await alice.expect_message()).text or "")
    # An unknown token is invalid, not revoked, in both languages.
    await alice.send("/start card_nonsense")
    unknown_zh = (await alice.expect_message()).text or ""
    assert "该名片链接无效" in unknown_zh and "已作废" not in unknown_zh
    await guest.send("/start card_AAAAAAAAAAAAAAAA")
    unknown_en = (await guest.expect_message()).text or ""
    assert "not valid" in unknown_en and "revoked" not in unknown_en
    # Stored: the live token, and only hashes of the two old ones, each with a revoked_at.
    rows = await services.db.fetch_all(
        "SELECT token_hash, official_id, revoked_at FROM retired_card_tokens"
    )
    assert len(rows) == 2 and all(row["official_id"] == cast.official.id for row in rows)
    assert all(row["revoked_at"] is not None for row in rows)
    dumped = " ".join(row["token_hash"] for row in rows)
    for token in (first, second, third):
        assert token.removeprefix("card_") not in dumped
    stored = await services.officials.get(cast.official.id)
    assert stored is not None and stored.card_token == third.removeprefix("card_")
    results = await services.db.fetch_all(
        "SELECT result FROM audit_log WHERE action = 'card.open' ORDER BY id"
    )
    assert [row["result"] for row in results].count("revoked") == 6
    assert standin.errors == []


async def test_impostor_report_alerts_and_one_confirmed_warning(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    for user in (official, admin):
        await user.send("/start")
        await user.expect_message()
    await alice.send("/verify")
    await alice.expect_message()
    await alice.send("0000 0000")
    refused = await alice.expect_message()
    await alice.press(refused, "🚨 举报冒充")
    ask = await alice.expect_message()
    await alice.press(ask, "王建国")
    ask = await alice.expect_edit(ask)
    await alice.press(ask, "微信")
    await alice.expect_edit(ask)
    await alice.send("wxid_<fake>")
    asked = await alice.expect_message()
    await alice.press(asked, "费用或转账")
    await alice.expect_edit(asked)
    await alice.send("要求先交 5000 元“服务费” & 保证金")
    assert "举报已收到" in ((await alice.expect_message()).text or "")
    alert = await admin.expect_message()
    assert "wxid_<fake>" in (alert.text or "") and "5000" in (alert.text or "")
    assert "wxid_<fake>" in ((await official.expect_message()).text or "")
    await admin.press(alert, "⚠️ 提醒该官员对接的全部企业")
    assert "1 位联系人" in ((await admin.expect_message()).text or "")
    await admin.press(alert, "确认发送提醒")
    assert "已向 1 位" in ((await admin.expect_message()).text or "")
    assert "防冒充提醒" in ((await alice.expect_message()).text or "")
    stored = await services.db.fetch_one("SELECT * FROM impostor_reports")
    assert stored is not None and stored["asked_for"] == "money" and stored["warned_at"]
    assert stored["claimed_official_id"] == cast.official.id
    assert standin.errors == []


async def test_unknown_lookups_count_towards_the_throttle(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    for last in range(5):
        await alice.send("/check")
        await alice.expect_message()
        await alice.send(f"139 0000 000{last}")
        assert "不是任何已登记官员" in ((await alice.expect_message()).text or "")
        await alice.expect_message()
    await alice.send("/check")
    await alice.expect_message()
    await alice.send("138 0013 8000")
    assert "失败次数过多" in ((await alice.expect_message()).text or "")
    results = await services.db.fetch_all(
        "SELECT result FROM audit_log WHERE action = 'verification.lookup_phone' ORDER BY id"
    )
    assert [r["result"] for r in results] == ["unknown"] * 5 + ["throttled"]


async def test_card_names_the_enterprise_when_the_user_has_several(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    await services.directory.add_contact(
        cast.bob_enterprise.id, name="Alice", telegram_id=ALICE_ID, now=services.clock.now()
    )
    other = standin.user(OTHER_OFFICIAL_ID, first_name="李娜", language_code="zh-hans")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await other.send("/card")
    card = await other.expect_message()
    found = re.search(r"start=(card_[A-Za-z0-9_-]+)", card.caption or "")
    assert found is not None
    await alice.send(f"/start {found.group(1)}")
    shown = (await alice.expect_message()).text or ""
    assert "是贵企业（大连海湾新材料科技有限公司）的对接官员" in shown


RAW_CODES = re.compile(
    r"\b(phone|wechat|visit|telegram|other|money|personal_data|link)\b|channel_|asked_"
)
# (channel pressed, request pressed) in Alice's Chinese, and what each reader should see.
REPORTS = {
    "zh": [
        (("电话", "个人信息、验证码或密码"), ("方式：电话", "要求：个人信息、验证码或密码")),
        (("Telegram", "点链接或装 App"), ("方式：Telegram", "要求：点链接或装 App")),
        (("其他", "其他"), ("方式：其他", "要求：其他")),
    ],
    "en": [
        (("微信", "费用或转账"), ("By: WeChat", "Asked for: Fees or a transfer")),
        (("上门", "其他"), ("By: In person", "Asked for: Something else")),
    ],
}


async def _report_impostor(alice: TestUser, channel: str, asked: str) -> None:
    await alice.send("/report")
    ask = await alice.expect_message()
    await alice.press(ask, "王建国")
    ask = await alice.expect_edit(ask)
    await alice.press(ask, channel)
    await alice.expect_edit(ask)
    await alice.send("+86 139 0000 1111")
    question = await alice.expect_message()
    await alice.press(question, asked)
    await alice.expect_edit(question)
    await alice.send("/skip")
    assert "举报已收到" in ((await alice.expect_message()).text or "")


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_impostor_alerts_name_channel_and_request_in_the_readers_language(
    standin: TelegramStandin, services: Services, cast: Cast, language: str
) -> None:
    """Admins and the impersonated official read words, never the stored codes."""
    code = "zh-hans" if language == "zh" else "en"
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code=code)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code=code)
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    for user, telegram_id in ((official, OFFICIAL_ID), (admin, ADMIN_ID)):
        await user.send("/start")
        await user.expect_message()
        await services.accounts.set_language(telegram_id, language)
    for (channel, asked), (says_channel, says_asked) in REPORTS[language]:
        await _report_impostor(alice, channel, asked)
        for alert in (await admin.expect_message(), await official.expect_message()):
            text = alert.text or ""
            assert says_channel in text and says_asked in text, text
            assert RAW_CODES.search(text) is None, text
    stored = await services.db.fetch_all("SELECT channel, asked_for FROM impostor_reports")
    assert all(row["channel"] and row["asked_for"] for row in stored)
    assert standin.errors == []
