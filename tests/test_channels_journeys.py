"""Checking an official's WeChat ID or e-mail address, end to end through the stand-in: the
roster brings them in, "check a number or account" answers for them as typed, and an
official's export and erasure include them (issue #19, point 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.channels import normalize_email, normalize_wechat
from bot.rosters import RosterKind, export_roster
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_ID, OFFICIAL_ID, Cast, make_cast
from standin import TelegramStandin, TestUser
from storage.rosters import RosterRepository

pytestmark = pytest.mark.usefixtures("bot")

WECHAT, EMAIL = "WangJG_Gov", "Wang.JianGuo@ln.gov.cn"
ROSTER = """编号,姓名,职务,单位,层级,城市,分管领域,电话,微信号,邮箱
LN-001,王建国,副省长,辽宁省人民政府,省级,沈阳,营商环境、工业和信息化,,WangJG_Gov,Wang.JianGuo@ln.gov.cn
DL-002,李娜,副市长,大连市人民政府,市级,大连,科技、知识产权,,lina_dl lina-2 ,
"""


@pytest.fixture
async def cast(services: Services) -> Cast:
    """王建国 with one WeChat ID and one address on the roster, as an import stores them."""
    cast = await make_cast(services)
    for handle in (normalize_wechat(WECHAT), normalize_email(EMAIL)):
        await services.directory.add_channel(
            cast.official.id,
            channel=handle.channel,
            digest=services.verifier.channels.handle_digest(handle),
            hint=handle.hint,
        )
    return cast


async def check(user: TestUser, typed: str) -> str:
    """/check, then type ``typed``; the bot's first answer."""
    await user.send("/check")
    await user.expect_message()
    await user.send(typed)
    return (await user.expect_message()).text or ""


async def failures(services: Services) -> int:
    return int(await services.db.fetch_value("SELECT COUNT(*) FROM throttle_events"))


# --- The look-up --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["WangJG_Gov", "wangjg_gov", "  WANGJG_GOV  ", "ｗａｎｇｊｇ＿ｇｏｖ", "WangJG_Gov\n"]
)
@pytest.mark.usefixtures("cast")
async def test_a_registered_wechat_id_is_recognised_as_typed(
    standin: TelegramStandin, services: Services, typed: str
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    reply = await check(alice, typed)
    assert reply.startswith("✅ 该微信号是以下已登记官员的微信")
    assert "王建国\n副省长，辽宁省人民政府" in reply
    assert "是贵企业（沈阳北方精密机械有限公司）的对接官员" in reply
    assert await failures(services) == 0
    [entry] = await services.audit.by_action("verification.lookup_wechat")
    assert (entry.actor_id, entry.result) == (ALICE_ID, "official")
    assert standin.errors == []


@pytest.mark.parametrize(
    "typed", ["Wang.JianGuo@ln.gov.cn", " wang.jianguo@LN.GOV.CN ", "wang.jianguo＠ln.gov.cn"]
)
@pytest.mark.usefixtures("cast")
async def test_a_registered_address_is_recognised_as_typed(
    standin: TelegramStandin, services: Services, typed: str
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="en")
    reply = await check(alice, typed)
    assert reply.startswith("✅ This e-mail address is the work e-mail of a registered official")
    assert "王建国" in reply and "A sender's address can be forged" in reply
    [entry] = await services.audit.by_action("verification.lookup_email")
    assert entry.result == "official"


@pytest.mark.usefixtures("cast")
async def test_unknown_wechat_ids_and_addresses_are_suspicious_and_counted(
    standin: TelegramStandin, services: Services
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    for typed, answer in (
        ("WangJG_Gov1", "❌ 该微信号未登记在任何官员名下。请视为可疑"),  # a lookalike
        ("wang.jianguo@ln-gov.cn", "❌ 该邮箱未登记在任何官员名下。请视为可疑"),
    ):
        assert (await check(alice, typed)).startswith(answer)
        hint = await alice.expect_message()
        assert "举报" in (hint.text or "") and "举报" in str(hint.data.get("reply_markup"))
    assert await failures(services) == 2
    results = [
        e.result
        for action in ("verification.lookup_wechat", "verification.lookup_email")
        for e in await services.audit.by_action(action)
    ]
    assert results == ["unknown", "unknown"]
    guest = standin.user(700009, first_name="Guest", language_code="en")
    await guest.send("/check")
    assert "not allowed" in ((await guest.expect_message()).text or "")
    assert standin.errors == []


@pytest.mark.usefixtures("cast")
async def test_odd_input_is_asked_again_and_not_counted(
    standin: TelegramStandin, services: Services
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="en")
    await alice.send("/check")
    await alice.expect_message()
    for typed, answer in (
        ("wang jg", "That does not look like a WeChat ID"),  # a space inside
        ("wjg", "That does not look like a WeChat ID"),  # too short
        ("1wangjg_gov", "That does not look like a Chinese phone number"),  # starts with a digit
        ("wang@gov", "That does not look like an e-mail address"),
        ("王建国", "That does not look like a Chinese phone number, a WeChat ID"),
        ("<b>x</b>@y.cn", "That does not look like an e-mail address"),
    ):
        await alice.send(typed)
        assert ((await alice.expect_message()).text or "").startswith(answer), typed
    # Still in the same check: the next good value is answered.
    await alice.send("wangjg_gov")
    assert "WeChat of a registered official" in ((await alice.expect_message()).text or "")
    assert await failures(services) == 0
    assert standin.errors == []


async def test_nothing_typed_is_stored_in_clear(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await check(alice, "Unknown_Person9")
    rows = await services.db.fetch_all("SELECT digest, channel, hint FROM official_channels")
    assert sorted((r["channel"], r["hint"]) for r in rows) == [
        ("email", "w…@ln.gov.cn"),
        ("wechat", "w…ov"),
    ]
    values = []
    for table in await services.db.tables():
        for row in await services.db.fetch_all(f"SELECT * FROM {table}"):
            values += [str(value).lower() for value in row]
    dump = "|".join(values)
    for secret in ("wangjg_gov", "wang.jianguo", "unknown_person9"):
        assert secret not in dump


# --- The roster ---------------------------------------------------------------------------------


async def channel_rows(services: Services) -> list[tuple[str, ...]]:
    rows = await services.db.fetch_all(
        "SELECT o.external_id, c.channel, c.hint, c.digest FROM official_channels c"
        " JOIN officials o ON o.id = c.official_id ORDER BY c.digest"
    )
    return [tuple(row) for row in rows]


async def test_the_roster_brings_them_in_and_a_round_trip_keeps_them(
    standin: TelegramStandin, services: Services, tmp_path: Path
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send_document(ROSTER.encode(), "officials.csv")
    assert (await admin.expect_message()).text == "✅ 官员名册已导入：共 2 行，新增 0，更新 0。"
    stored = await channel_rows(services)
    assert [(r[0], r[1], r[2]) for r in sorted(stored)] == sorted(
        [
            ("LN-001", "wechat", "w…ov"),
            ("LN-001", "email", "w…@ln.gov.cn"),
            ("DL-002", "wechat", "l…dl"),
            ("DL-002", "wechat", "l…-2"),
        ]
    )
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    assert "王建国" in await check(alice, "wangjg_gov")
    assert "李娜" in await check(alice, "LINA-2")
    # Exported (the columns are there, empty: only digests are stored) and imported again:
    # nothing changes, and every ID and address still answers.
    path = tmp_path / "officials.xlsx"
    await export_roster(RosterRepository(services.db), RosterKind.OFFICIALS, path)
    await admin.send_document(path.read_bytes(), path.name)
    assert (await admin.expect_message()).text == "✅ 官员名册已导入：共 2 行，新增 0，更新 0。"
    assert await channel_rows(services) == stored
    assert "王建国" in await check(alice, "Wang.JianGuo@ln.gov.cn")
    assert standin.errors == []


async def test_malformed_ids_and_addresses_reject_the_file_row_by_row(
    standin: TelegramStandin, services: Services
) -> None:
    await make_cast(services)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    bad = (
        "external_id,name,wechat,e-mail\n"
        "LN-001,王建国,WangJG_Gov,wang@ln.gov.cn\n"
        "DL-002,李娜,1lina,lina@dl\n"
        "SY-003,赵强,zhao qiang,\n"
    )
    await admin.send_document(bad.encode(), "officials.csv")
    report = (await admin.expect_message()).text or ""
    assert report.splitlines() == [
        "❌ Officials roster not imported (nothing from this file was stored): 4 problems."
        " Fix them and send the file again.",
        "Line 3 · email: not a valid e-mail address (l…dl)",
        "Line 3 · wechat: not a valid WeChat ID (6–20 characters, starting with a letter;"
        " letters, digits, _ and -) (1…na)",
        # A space separates two values: "zhao" and "qiang", each too short.
        "Line 4 · wechat: not a valid WeChat ID (6–20 characters, starting with a letter;"
        " letters, digits, _ and -) (…)",
        "Line 4 · wechat: not a valid WeChat ID (6–20 characters, starting with a letter;"
        " letters, digits, _ and -) (q…ng)",
    ]
    assert await channel_rows(services) == []
    assert await services.officials.by_external_id("SY-003") is None
    assert standin.errors == []


# --- Privacy ------------------------------------------------------------------------------------


async def test_an_officials_export_and_erasure_include_them(
    standin: TelegramStandin, services: Services, cast: Cast
) -> None:
    admin = standin.user(ADMIN_ID, first_name="管理员", language_code="zh-hans")
    await admin.send(f"/export_user {OFFICIAL_ID}")
    sent = await admin.expect_message()
    assert sent.document is not None
    exported = json.loads(sent.document)
    assert exported["official_channels"] == [
        {"channel": "wechat", "hint": "w…ov"},
        {"channel": "email", "hint": "w…@ln.gov.cn"},
    ]
    digests = [row[3] for row in await channel_rows(services)]
    assert not any(d in sent.document.decode() for d in digests)
    await admin.send(f"/delete_user {OFFICIAL_ID}")
    confirm = await admin.expect_message()
    await admin.press(confirm, "确认删除")
    assert "已删除用户" in ((await admin.expect_edit(confirm)).text or "")
    assert await channel_rows(services) == []
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    assert "未登记在任何官员名下" in await check(alice, WECHAT)
    assert standin.errors == []
