"""Tiers: every official has a tier and a city, read and written by the rosters in every
spelling people use; a provincial leader may hold enterprises in any city."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.credit_code import make_credit_code
from bot.i18n import Translator
from bot.rosters import RosterKind, describe_report
from bot.tiers import parse_tier, round_of, tier_name
from storage.db import Database, open_database
from storage.models import Tier
from tests.test_rosters import exported, load

CODES = [make_credit_code(f"91210200MA{n:07d}") for n in range(3)]


@pytest.fixture
async def db(database_target: str) -> AsyncIterator[Database]:
    database = await open_database(database_target)
    yield database
    await database.close()


def test_tier_names() -> None:
    for names, tier in (
        (("province", "省级", "省", "Province"), Tier.PROVINCE),
        (("city", "市级", "市", "CITY"), Tier.CITY),
        (("county", "县级", "县", "区县"), Tier.COUNTY),
    ):
        assert {parse_tier(name) for name in names} == {tier}
    assert parse_tier("乡级") is None
    assert [tier_name(t, "zh") for t in Tier] == ["省级", "市级", "县级"]
    assert (tier_name("county", "en"), tier_name("", "zh")) == ("County", "")
    assert (round_of("province"), round_of("city"), round_of("county")) == (
        "province",
        "city",
        "city",
    )


async def test_import_reads_tier_and_city_in_every_spelling(db: Database) -> None:
    roster = (
        "编号,姓名,层级,城市\n"
        "P-1,省领导一,省级,\n"
        "P-2,省领导二,province,辽宁省\n"
        "P-3,省领导三,省,沈阳\n"
        "D-1,大连官员一,市级,大连\n"
        "D-2,大连官员二,city,大连市\n"
        "D-3,大连官员三,county,dalian\n"
        "D-4,大连官员四,县级,Dalian\n"
    )
    report = await load(db, RosterKind.OFFICIALS, roster)
    assert report.ok, report.problems
    stored = await db.fetch_all("SELECT external_id, level, city FROM officials ORDER BY 1")
    assert [tuple(r) for r in stored] == [
        ("D-1", "city", "dalian"),
        ("D-2", "city", "dalian"),
        ("D-3", "county", "dalian"),
        ("D-4", "county", "dalian"),
        ("P-1", "province", ""),
        ("P-2", "province", ""),
        ("P-3", "province", "shenyang"),
    ]


async def test_a_city_is_a_city_of_liaoning(db: Database) -> None:
    roster = "external_id,name,level,city\nD-1,甲,市级,\nD-2,乙,县级,北京\nP-1,丙,省级,辽宁省\n"
    report = await load(db, RosterKind.OFFICIALS, roster)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [(3, "city", "unknown_city")]
    text = describe_report(report, Translator("zh"))
    assert "第 3 行 · city：不是辽宁省的城市" in text
    assert await db.fetch_value("SELECT COUNT(*) FROM officials") == 0


async def test_export_carries_tier_and_city_by_name(db: Database, tmp_path: Path) -> None:
    roster = "编号,姓名,层级,城市\nP-1,省领导一,省级,辽宁省\nD-1,大连官员一,county,dalian\n"
    assert (await load(db, RosterKind.OFFICIALS, roster)).ok
    chinese = await exported(db, tmp_path, RosterKind.OFFICIALS, "zh")
    assert [(c[0], c[4], c[5]) for _, c in chinese.rows] == [
        ("P-1", "省级", ""),
        ("D-1", "县级", "大连市"),
    ]
    english = await exported(db, tmp_path, RosterKind.OFFICIALS, "en")
    assert [(c[4], c[5]) for _, c in english.rows] == [("Province", ""), ("County", "Dalian")]
    again = tmp_path / "again.csv"
    again.write_text("\n".join([",".join(chinese.header)] + [",".join(c) for _, c in chinese.rows]))
    report = await load(db, RosterKind.OFFICIALS, again.read_bytes())
    assert report.counts is not None and (report.counts.added, report.counts.changed) == (0, 0)


async def test_a_provincial_leader_holds_enterprises_in_any_city(db: Database) -> None:
    officials = "编号,姓名,层级,城市\nP-1,省领导一,省级,\nD-1,大连官员,市级,大连\n"
    enterprises = (
        "统一社会信用代码,企业名称,城市,发展阶段\n"
        f"{CODES[0]},沈阳企业,沈阳,初创型\n{CODES[1]},大连企业,大连,成长期\n"
        f"{CODES[2]},锦州企业,锦州市,成熟期\n"
    )
    assignments = "官员编号,统一社会信用代码,主责\n" + "".join(f"P-1,{code},是\n" for code in CODES)
    for kind, text in (
        (RosterKind.OFFICIALS, officials),
        (RosterKind.ENTERPRISES, enterprises),
        (RosterKind.ASSIGNMENTS, assignments),
    ):
        report = await load(db, kind, text)
        assert report.ok, report.problems
    held = await db.fetch_all(
        "SELECT e.city FROM assignments a JOIN enterprises e ON e.id = a.enterprise_id"
        " JOIN officials o ON o.id = a.official_id WHERE o.external_id = 'P-1' ORDER BY 1"
    )
    assert [r[0] for r in held] == ["dalian", "jinzhou", "shenyang"]
