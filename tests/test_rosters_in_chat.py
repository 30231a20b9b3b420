"""Rosters sent to the bot as files: an admin's are imported or reported row by row; a file
that is too large, not a spreadsheet or not an admin's imports nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from bot.config import RosterSettings, Settings
from bot.services import Services
from scenarios.roster import ADMIN_ID, ALICE_CODE, ALICE_ID, make_cast
from standin import TelegramStandin
from tests.test_rosters import ASSIGNMENTS_CSV, ENTERPRISES_CSV, OFFICIALS_CSV

LIMIT_MB = 0.01


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rosters": RosterSettings(max_file_mb=LIMIT_MB, max_unpacked_mb=0.1)}
    )


def xlsx(text: str) -> bytes:
    workbook = Workbook()
    for line in text.strip().splitlines():
        workbook.active.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def count(services: Services, table: str) -> int:
    return int(await services.db.fetch_value(f"SELECT COUNT(*) FROM {table}"))


async def test_admin_imports_the_three_rosters(
    services: Services, standin: TelegramStandin
) -> None:
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send_document(xlsx(OFFICIALS_CSV), "名单.xlsx")  # told by its columns
    assert (await admin.expect_message()).text == "✅ 官员名册已导入：共 2 行，新增 2，更新 0。"
    await admin.send_document(ENTERPRISES_CSV.encode("gbk"), "e.csv", caption="企业名册")
    assert (await admin.expect_message()).text == "✅ 企业名册已导入：共 2 行，新增 2，更新 0。"
    await admin.send_document(ASSIGNMENTS_CSV.encode(), "a.csv")
    assert (await admin.expect_message()).text == "✅ 联系分工已导入：共 3 行，新增 3，更新 0。"
    await admin.send_document(ASSIGNMENTS_CSV.encode(), "a.csv")
    assert (await admin.expect_message()).text == "✅ 联系分工已导入：共 3 行，新增 0，更新 0。"
    assert (await count(services, "officials"), await count(services, "assignments")) == (2, 3)
    audit = await services.db.fetch_all(
        "SELECT actor_id, action, subject, result, detail FROM audit_log ORDER BY id"
    )
    assert tuple(audit[0]) == (ADMIN_ID, "roster.import", "officials", "imported", "名单.xlsx")
    assert standin.errors == []


async def test_bad_rows_are_reported_and_nothing_is_imported(
    services: Services, standin: TelegramStandin
) -> None:
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    bad = (
        f"credit_code,name,city,stage\n{ALICE_CODE},甲公司,<b>Gotham</b>,成长期\n"
        f"{ALICE_CODE},甲公司,沈阳,巨头\n"
    )
    await admin.send_document(bad.encode(), "enterprises.csv")
    report = (await admin.expect_message()).text or ""
    assert report.splitlines() == [
        "❌ Enterprises roster not imported (nothing from this file was stored): 3 problems."
        " Fix them and send the file again.",
        "Line 2 · city: not a Liaoning city (one of the 14 cities or the Shenfu zone)"
        " (<b>Gotham</b>)",
        "Line 3 · credit_code: duplicate of line 2",
        "Line 3 · stage: stage must be Start-up / Growth / Mature (or startup / growth / mature)"
        " (巨头)",
    ]
    assert await count(services, "enterprises") == 0
    assert standin.errors == []


async def test_files_that_are_not_rosters_import_nothing(
    services: Services, standin: TelegramStandin
) -> None:
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send_document(b"%PDF-1.4 not a workbook", "officials.xlsx")
    assert (await admin.expect_message()).text == (
        "❌ 无法读取文件 officials.xlsx：这不是真正的 Excel .xlsx 文件。没有导入任何内容。"
    )
    big = OFFICIALS_CSV + "".join(f"X-{n},某某{n}\n" for n in range(1000))
    await admin.send_document(big.encode(), "officials.csv")
    assert ((await admin.expect_message()).text or "").startswith("❌ 文件太大（上限 0.01 MB）")
    bomb = xlsx(OFFICIALS_CSV + "X-1," + "某" * 200_000)  # a few KB that unpack to 600 KB
    assert len(bomb) < LIMIT_MB * 2**20
    await admin.send_document(bomb, "officials.xlsx")
    assert (await admin.expect_message()).text == (
        "❌ 无法读取文件 officials.xlsx：解压后的内容超过上限（[rosters] max_unpacked_mb）。"
        "没有导入任何内容。"
    )
    await admin.send_document(b"%PDF-1.4", "report.pdf")
    assert (await admin.expect_message()).text == "请发送 .xlsx 或 .csv 格式的名册文件。"
    await admin.send_document(b"a,b\n1,2\n", "roster.csv")
    assert "看不出 roster.csv 是哪一份名册" in ((await admin.expect_message()).text or "")
    assert await count(services, "officials") == 0
    assert standin.errors == []


async def test_a_document_from_anyone_else_is_not_used(
    services: Services, standin: TelegramStandin
) -> None:
    await make_cast(services)
    before = await count(services, "officials")
    alice = standin.user(ALICE_ID, first_name="Alice", language_code="zh-hans")
    await alice.send_document(OFFICIALS_CSV.encode(), "officials.csv")
    assert "您没有权限" in ((await alice.expect_message()).text or "")
    assert await count(services, "officials") == before
    assert await count(services, "audit_log") == 0
    assert standin.errors == []
