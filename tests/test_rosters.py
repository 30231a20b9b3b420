"""Rosters: every row checked, all or nothing, idempotent, exported in the same columns."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.channels import ChannelHasher
from bot.cities import CITIES, parse_city
from bot.clock import FakeClock
from bot.credit_code import make_credit_code
from bot.i18n import Translator
from bot.rosters import (
    Report,
    RosterKind,
    describe_report,
    export_roster,
    import_roster,
    roster_kind,
)
from bot.tables import Table, UnreadableFile, read_table
from scenarios.roster import ALICE_CODE, BOB_CODE
from storage.db import Database, open_database
from storage.models import Stage
from storage.rosters import RosterRepository
from tests.conftest import START

ROOT = Path(__file__).resolve().parent.parent
KEY = ChannelHasher(b"test-hash-key-0123456789")

OFFICIALS_CSV = """编号,姓名,职务,单位,层级,城市,分管领域,电话,上级编号
LN-001,王建国,副省长,辽宁省人民政府,省级,沈阳,营商环境,139 1234 5678,
SY-002,张伟,副市长,沈阳市人民政府,市级,沈阳市,工业,024-23456789,LN-001
"""
ENTERPRISES_CSV = f"""credit_code,name,city,stage,industry,contacts
{ALICE_CODE},沈阳北方精密机械有限公司,shenyang,成长期,装备制造,刘总:13800001111
{BOB_CODE},大连海湾新材料科技有限公司,大连,初创型,新材料,王经理 13900002222; 小李
"""
ASSIGNMENTS_CSV = f"""官员编号,统一社会信用代码,主责
LN-001,{ALICE_CODE},是
SY-002,{BOB_CODE},是
LN-001,{BOB_CODE},否
"""


@pytest.fixture
async def db(database_target: str) -> AsyncIterator[Database]:
    database = await open_database(database_target)
    yield database
    await database.close()


async def load(db: Database, kind: RosterKind, data: str | bytes, name: str = "f.csv") -> Report:
    raw = data.encode() if isinstance(data, str) else data
    return await import_roster(
        db, RosterRepository(db), kind, raw, name, hasher=KEY, now=FakeClock(START).now()
    )


async def dump(db: Database) -> list[tuple[object, ...]]:
    rows = []
    for table in (
        "officials",
        "official_phones",
        "enterprises",
        "enterprise_contacts",
        "assignments",
    ):
        rows += [(table, *r) for r in await db.fetch_all(f"SELECT * FROM {table} ORDER BY 1, 2")]
    return rows


def test_cities() -> None:
    assert len(CITIES) == 15
    assert parse_city("沈阳") == parse_city("沈阳市") == parse_city("Shenyang") == "shenyang"
    assert parse_city("沈抚示范区") == "shenfu"
    assert parse_city("北京") is None


async def test_full_rosters_import_and_are_idempotent(db: Database) -> None:
    for kind, text in (
        (RosterKind.OFFICIALS, OFFICIALS_CSV),
        (RosterKind.ENTERPRISES, ENTERPRISES_CSV),
        (RosterKind.ASSIGNMENTS, ASSIGNMENTS_CSV),
    ):
        report = await load(db, kind, text)
        assert report.ok, report.problems
    before = await dump(db)
    assert len([r for r in before if r[0] == "enterprise_contacts"]) == 3
    assert len([r for r in before if r[0] == "official_phones"]) == 2
    supervisor = await db.fetch_value(
        "SELECT s.external_id FROM officials o JOIN officials s ON s.id = o.supervisor_id"
    )
    assert supervisor == "LN-001"
    for kind, text in (
        (RosterKind.OFFICIALS, OFFICIALS_CSV),
        (RosterKind.ENTERPRISES, ENTERPRISES_CSV),
        (RosterKind.ASSIGNMENTS, ASSIGNMENTS_CSV),
    ):
        again = await load(db, kind, text)
        assert again.counts is not None and (again.counts.added, again.counts.changed) == (0, 0)
    assert await dump(db) == before


async def test_gbk_and_utf8_bom_csv_and_xlsx_read_alike(db: Database) -> None:
    gbk = read_table(OFFICIALS_CSV.encode("gbk"), "o.csv")
    bom = read_table(OFFICIALS_CSV.encode("utf-8-sig"), "o.csv")
    workbook = Workbook()
    for line in OFFICIALS_CSV.strip().splitlines():
        workbook.active.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    xlsx = read_table(buffer.getvalue(), "o.xlsx")
    assert gbk == bom == xlsx
    assert gbk.header[0] == "编号" and gbk.rows[0][0] == 2


async def test_bad_rows_import_nothing_and_are_each_reported(db: Database) -> None:
    bad = f"""credit_code,name,city,stage
{ALICE_CODE},甲公司,沈阳,成长期
{ALICE_CODE[:-1]}X,乙公司,大连,成长期
{ALICE_CODE},甲公司,沈阳,成长期
{BOB_CODE},,北京,巨头
"""
    report = await load(db, RosterKind.ENTERPRISES, bad)
    assert not report.ok
    found = {(p.line, p.column, p.reason) for p in report.problems}
    assert found == {
        (3, "credit_code", "credit_code_check"),
        (4, "credit_code", "duplicate_row"),
        (5, "name", "required"),
        (5, "city", "unknown_city"),
        (5, "stage", "bad_stage"),
    }
    assert await db.fetch_value("SELECT COUNT(*) FROM enterprises") == 0
    text = describe_report(report, Translator("zh"))
    assert "第 3 行 · credit_code：统一社会信用代码校验位不对" in text
    assert "与第 2 行重复" in text


async def test_wrong_columns_are_reported(db: Database) -> None:
    report = await load(db, RosterKind.OFFICIALS, "id,full name\nA,B\n")
    assert {(p.line, p.column, p.reason) for p in report.problems} == {
        (1, "id", "unknown_column"),
        (1, "full name", "unknown_column"),
        (1, "external_id", "missing_column"),
        (1, "name", "missing_column"),
    }


async def test_assignment_needs_a_known_official_and_enterprise(db: Database) -> None:
    await load(db, RosterKind.OFFICIALS, OFFICIALS_CSV)
    await load(db, RosterKind.ENTERPRISES, ENTERPRISES_CSV)
    text = f"official,credit_code,primary\nNOPE-9,{ALICE_CODE},yes\nLN-001,{BOB_CODE},maybe\n"
    report = await load(db, RosterKind.ASSIGNMENTS, text)
    assert {(p.line, p.column, p.reason) for p in report.problems} == {
        (2, "official", "unknown_official"),
        (3, "primary", "bad_flag"),
    }
    assert await db.fetch_value("SELECT COUNT(*) FROM assignments") == 0


async def test_an_xlsx_that_is_really_something_else(db: Database) -> None:
    with pytest.raises(UnreadableFile, match="not a real Excel"):
        await load(db, RosterKind.OFFICIALS, "%PDF-1.4 not a workbook", name="roster.xlsx")
    with pytest.raises(UnreadableFile):
        read_table(b"\x00\x01\x02binary", "roster.csv")


def test_a_zip_that_is_not_a_workbook_is_not_an_xlsx() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("[Content_Types].xml", "<Types><broken")
    with pytest.raises(UnreadableFile) as caught:
        read_table(buffer.getvalue(), "roster.xlsx")
    assert caught.value.reason == "not_xlsx"


def test_the_kind_of_a_sent_roster() -> None:
    header = ("编号", "姓名", "电话")
    assert roster_kind("", header) is RosterKind.OFFICIALS
    assert roster_kind("", ("credit_code", "Name", "城市", "stage")) is RosterKind.ENTERPRISES
    assert roster_kind("", ("官员编号", "统一社会信用代码")) is RosterKind.ASSIGNMENTS
    assert roster_kind("分工表", header) is RosterKind.ASSIGNMENTS  # the caption wins
    assert roster_kind("官员与企业", header) is RosterKind.OFFICIALS  # ambiguous caption
    assert roster_kind("", ("a", "b")) is None


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
async def test_export_then_import_changes_nothing(
    db: Database, tmp_path: Path, suffix: str, language: str
) -> None:
    await load(db, RosterKind.OFFICIALS, OFFICIALS_CSV)
    await load(db, RosterKind.ENTERPRISES, ENTERPRISES_CSV)
    await load(db, RosterKind.ASSIGNMENTS, ASSIGNMENTS_CSV)
    before = await dump(db)
    repo = RosterRepository(db)
    for kind in RosterKind:
        path = tmp_path / f"{kind}{suffix}"
        await export_roster(repo, kind, path, language=language)
        report = await load(db, kind, path.read_bytes(), name=path.name)
        assert report.ok, report.problems
        assert report.counts is not None and report.counts.changed == 0
    assert await dump(db) == before


async def exported(db: Database, tmp_path: Path, kind: RosterKind, language: str) -> Table:
    path = tmp_path / f"{kind}-{language}.csv"
    await export_roster(RosterRepository(db), kind, path, language=language)
    return read_table(path.read_bytes(), path.name)


async def test_exports_write_the_names_people_use(db: Database, tmp_path: Path) -> None:
    """Cities, stages, levels and 主责 as the import took them, not the stored codes."""
    await load(db, RosterKind.OFFICIALS, OFFICIALS_CSV)
    await load(db, RosterKind.ENTERPRISES, ENTERPRISES_CSV)
    await load(db, RosterKind.ASSIGNMENTS, ASSIGNMENTS_CSV)
    enterprises = await exported(db, tmp_path, RosterKind.ENTERPRISES, "zh")
    assert enterprises.header == (
        "统一社会信用代码",
        "企业名称",
        "城市",
        "发展阶段",
        "行业",
        "联系人",
    )
    assert [cells[2:4] for _, cells in enterprises.rows] == [
        ("沈阳市", "成长期"),
        ("大连市", "初创型"),
    ]
    officials = await exported(db, tmp_path, RosterKind.OFFICIALS, "zh")
    assert officials.header[:6] == ("编号", "姓名", "职务", "单位", "层级", "城市")
    assert [cells[4:6] for _, cells in officials.rows] == [("省级", "沈阳市"), ("市级", "沈阳市")]
    assignments = await exported(db, tmp_path, RosterKind.ASSIGNMENTS, "zh")
    assert [cells[2] for _, cells in assignments.rows] == ["是", "否", "是"]
    english = await exported(db, tmp_path, RosterKind.ENTERPRISES, "en")
    assert english.header[:4] == ("credit_code", "name", "city", "stage")
    assert [cells[2:4] for _, cells in english.rows] == [
        ("Shenyang", "Growth"),
        ("Dalian", "Start-up"),
    ]
    everything = " ".join(
        cell
        for table in (enterprises, officials, assignments, english)
        for _, cells in table.rows
        for cell in cells
    )
    for code in ("shenyang", "dalian", "growth", "startup", "province", "yes"):
        assert code not in everything.split()


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_imports_take_the_codes_and_every_name_shown(db: Database, language: str) -> None:
    """Each stage and level by its code, by the name the bot shows in either language, and by
    the other names people write (初创期, 成长型, 省)."""
    texts = Translator(language)
    stages = {s.value: [s.value, texts(f"stage.{s.value}")] for s in Stage}
    stages["startup"] += ["初创期", "初创"]
    stages["growth"] += ["成长型"]
    rows, expected = [], {}
    spelled = [(code, name) for code, names in stages.items() for name in names]
    for n, (code, name) in enumerate(spelled):
        credit_code = make_credit_code(f"91210100MA{n:07d}")
        city = CITIES[n % len(CITIES)]
        rows.append(f"{credit_code},企业{n},{city.name(language)},{name},行业")
        expected[credit_code] = (city.code, code)
    report = await load(
        db, RosterKind.ENTERPRISES, "credit_code,name,city,stage,industry\n" + "\n".join(rows)
    )
    assert report.ok, report.problems
    stored = await db.fetch_all("SELECT credit_code, city, stage FROM enterprises")
    assert {r[0]: (r[1], r[2]) for r in stored} == expected
    levels = [
        "province",
        "city",
        "county",
        *(texts(f"level.{lv}") for lv in ("province", "city", "county")),
        "省",
    ]
    officials = "\n".join(f"T-{n},官员{n},,,{level},大连" for n, level in enumerate(levels))
    report = await load(
        db, RosterKind.OFFICIALS, "external_id,name,title,body,level,city\n" + officials
    )
    assert report.ok, report.problems
    stored = await db.fetch_all("SELECT level FROM officials ORDER BY external_id")
    assert sorted(r[0] for r in stored) == sorted(
        ["province", "city", "county", "province", "city", "county", "province"]
    )


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "BOT_STORAGE__PATH": str(tmp_path / "cli.sqlite3"),
        "PATH": "/usr/bin:/bin",
        "BOT_SECURITY__HASH_KEY": "test-hash-key-0123456789",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_import_export_and_invites(tmp_path: Path) -> None:
    (tmp_path / "o.csv").write_text(OFFICIALS_CSV, encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("credit_code,name,city,stage\n123,甲,沈阳,成长期\n", encoding="gbk")
    done = run_cli(tmp_path, "import", "officials", str(tmp_path / "o.csv"))
    assert done.returncode == 0 and "2 rows, 2 added" in done.stdout
    refused = run_cli(tmp_path, "import", "enterprises", str(bad))
    assert refused.returncode == 1
    assert "Line 2 · credit_code: a credit code has 18 characters (123)" in refused.stdout
    out = tmp_path / "officials.xlsx"
    assert run_cli(tmp_path, "export", "officials", str(out)).returncode == 0
    assert read_table(out.read_bytes(), out.name).rows[1][1][:2] == ("SY-002", "张伟")
    # One city's rows, as its office exports them (both officials are Shenyang's).
    assert run_cli(tmp_path, "export", "officials", str(out), "--city", "大连").returncode == 0
    assert read_table(out.read_bytes(), out.name).rows == ()
    assert run_cli(tmp_path, "export", "officials", str(out), "--city", "shenyang").returncode == 0
    assert [r[1][0] for r in read_table(out.read_bytes(), out.name).rows] == ["LN-001", "SY-002"]
    unknown = run_cli(tmp_path, "export", "officials", str(out), "--city", "火星")
    assert unknown.returncode != 0 and "no city '火星'" in unknown.stderr
    invites = run_cli(tmp_path, "invites", "--all-officials", str(tmp_path / "inv.csv"))
    assert "2 invite links" in invites.stdout
    sheet = (tmp_path / "inv.html").read_text(encoding="utf-8")
    assert sheet.count("data:image/png;base64,") == 2 and "王建国" in sheet
    links = read_table((tmp_path / "inv.csv").read_bytes(), "inv.csv")
    assert all("?start=inv_" in row[1][3] for row in links.rows)
