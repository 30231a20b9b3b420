"""/stats: the seeds' provincial round gives the seeds' figures, and the three rates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.i18n import Translator
from bot.ledger import BadFilter, parse_filter
from bot.services import Services
from bot.stats import Round, Tally, compute_stats, percent, render_rounds, render_stats
from bot.tables import read_table
from scenarios.roster import ADMIN_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin
from storage.ledger import LedgerFilter, LedgerRepository
from storage.stats import Cut
from tests.ledger_data import load_city_round, load_provincial_round
from tests.reminder_support import domain_settings, local, open_domain
from tests.round_flows import load_both_rounds_through_the_flows

# Opens the bot's database (tests/postgres.py: on SQLite and on PostgreSQL).
pytestmark = pytest.mark.storage


def test_rates_and_their_definitions() -> None:
    tally = Tally(
        received=10, resolved=6, solved=4, response_due=8, responded_on_time=6, rated=5, satisfied=4
    )
    assert percent(tally.resolution_rate) == "40.0%"  # solved, not merely resolved (办结)
    assert percent(tally.response_rate) == "75.0%"
    assert percent(tally.satisfaction_rate) == "80.0%"
    assert percent(Tally().resolution_rate) == "—"


async def test_provincial_round_from_the_seeds(services: Services) -> None:
    now = services.clock.now()
    await load_provincial_round(services, now=now)
    stats = await compute_stats(services.stats, now=now)
    assert (stats.officials, stats.enterprises_linked, stats.enterprises_visited) == (33, 660, 291)
    assert (stats.total.received, stats.total.resolved, stats.total.solved) == (681, 325, 325)
    assert percent(stats.total.resolution_rate) == "47.7%"
    assert sum(t.received for t in stats.by_category.values()) == 681
    assert sum(t.received for t in stats.by_city.values()) == 681
    assert set(stats.by_stage) == {"startup", "growth", "mature"}
    assert len(stats.ranking) == 33
    # 1 in 10 was acknowledged after its one-day deadline.
    assert (stats.total.responded_on_time, stats.total.response_due) == (612, 681)
    assert percent(stats.total.response_rate) == "89.9%"
    # 3 in 4 of the solved rated 5, the rest 3.
    assert stats.total.rated == 325
    assert stats.total.overdue == 350 and len(stats.overdue) == 20
    text = render_stats(stats, Translator("zh"), for_official=False)
    assert "解决率 47.7%" in text and "沈阳市" in text and "政策落实" in text


def figures(r: Round) -> tuple[object, ...]:
    """A round as the source material gives it: officials, enterprises, visited, requests,
    resolved, 办结率."""
    t = r.tally
    return (
        r.officials,
        r.enterprises,
        r.visited,
        t.received,
        t.resolved,
        percent(t.completion_rate),
    )


async def test_both_rounds_in_one_database(services: Services) -> None:
    """Both rounds loaded through the roster import into one database give both rows of the
    source material's figures, side by side and as cuts by tier."""
    now = services.clock.now()
    await load_provincial_round(services, now=now)
    await load_city_round(services, now=now)
    stats = await compute_stats(services.stats, now=now)
    assert stats.rounds is not None
    province, cities = stats.rounds.province, stats.rounds.cities
    assert figures(province) == (33, 660, 291, 681, 325, "47.7%")
    assert figures(cities) == (4833, 9340, 0, 2327, 1127, "48.4%")
    assert (stats.officials, stats.enterprises_linked, stats.total.received) == (4866, 10000, 3008)
    # The cut by tier gives the provincial round; the city and county tiers, the cities' round.
    leaders = await compute_stats(services.stats, now=now, cut=Cut(tier="province"))
    assert (leaders.officials, leaders.enterprises_linked, leaders.enterprises_visited) == (
        33,
        660,
        291,
    )
    assert (leaders.total.received, leaders.total.resolved) == (681, 325)
    assert percent(leaders.total.completion_rate) == "47.7%" and leaders.rounds is None
    city, county = [
        await compute_stats(services.stats, now=now, cut=Cut(tier=tier))
        for tier in ("city", "county")
    ]
    assert city.officials + county.officials == 4833
    assert city.enterprises_linked + county.enterprises_linked == 9340
    assert city.total + county.total == cities.tally
    # Each city's round adds up to the cities' round; one city's cut holds its enterprises'
    # requests whoever holds them: its own round's and the provincial leaders'.
    assert sum((r.tally for r in stats.rounds.by_city), Tally()) == cities.tally
    assert sum(r.officials for r in stats.rounds.by_city) == 4833
    dalian = next(r for r in stats.rounds.by_city if r.key == "dalian")
    cut = await compute_stats(services.stats, now=now, cut=Cut(city="dalian"))
    own = await compute_stats(services.stats, now=now, cut=Cut(city="dalian", tier="city"))
    dalian_county = await compute_stats(
        services.stats, now=now, cut=Cut(city="dalian", tier="county")
    )
    assert own.total + dalian_county.total == dalian.tally
    assert cut.total == stats.by_city["dalian"]
    assert cut.total.received > dalian.tally.received  # the provincial leaders' part
    assert cut.by_tier["province"].received == cut.total.received - dalian.tally.received
    assert set(stats.by_tier) == {"province", "city", "county"}
    assert stats.by_tier["province"] == province.tally
    assert stats.by_tier["city"] + stats.by_tier["county"] == cities.tally
    whole = render_stats(stats, Translator("zh"), for_official=False)
    assert len(whole) < 4096 and len(render_rounds(stats, Translator("en"))) < 4096
    by_tier = whole.split("按层级")[1]
    assert "\n省级：681 件，解决 325（47.7%）" in by_tier.split("\n\n")[0]
    text = render_rounds(stats, Translator("zh"))
    assert (
        "省级包联</b>：官员 33 · 企业 660 · 走访 291 · 诉求 681 · 办结 325（办结率 47.7%）" in text
    )
    assert (
        "市县包联</b>：官员 4833 · 企业 9340 · 走访 0 · 诉求 2327 · 办结 1127（办结率 48.4%）"
        in text
    )
    assert "合计</b>：官员 4866 · 企业 10000 · 走访 291 · 诉求 3008 · 办结 1452" in text
    ranking = text.split("城市排名")[1].splitlines()[1:]
    assert len(ranking) == 15 and ranking[0].startswith("1. ")


async def test_both_rounds_through_the_bots_flows(tmp_path: Path) -> None:
    """Both rounds in one database, the rosters through the documented import and every visit
    and request through the bot's own services (the desk's submit, assign, acknowledge,
    resolve, confirm and rating; the site-visits service): the same two rows of figures."""
    clock = FakeClock(local(2026, 1, 5, 9))
    services = await open_domain(domain_settings(tmp_path), clock)
    try:
        await load_both_rounds_through_the_flows(services, clock)
        stats = await compute_stats(services.stats, now=clock.now())
        statuses = dict(
            await services.db.fetch_all("SELECT status, COUNT(*) FROM requests GROUP BY status")
        )
        visits = (await services.db.fetch_all("SELECT COUNT(*) FROM site_visits"))[0][0]
    finally:
        await services.close()
    assert stats.rounds is not None
    assert figures(stats.rounds.province) == (33, 660, 291, 681, 325, "47.7%")
    assert figures(stats.rounds.cities) == (4833, 9340, 0, 2327, 1127, "48.4%")
    assert (stats.officials, stats.enterprises_linked, stats.total.received) == (4866, 10000, 3008)
    assert (stats.total.resolved, stats.total.solved, stats.total.rated) == (1452, 1452, 1452)
    assert stats.by_tier["province"] == stats.rounds.province.tally
    # Each request went as far as its flow took it: closed as solved, or open with its official.
    assert statuses == {"closed": 1452, "in_progress": 1378, "acknowledged": 178}
    assert visits == 291


async def test_admin_and_official_see_stats(services: Services, standin: TelegramStandin) -> None:
    await make_cast(services)
    await load_provincial_round(services, now=services.clock.now())
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="en")
    await admin.send("/stats")
    message = await admin.expect_message()
    assert message.text is not None
    assert "resolution 47.7%" in message.text
    assert "Officials taking part 35 · enterprises linked 662 · visited 291" in message.text
    assert "Officials ranked" in message.text
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    await official.send("/stats")
    own = await official.expect_message()
    assert own.text is not None and own.text.startswith("📊 我的台账")
    assert "对接企业 1 家" in own.text and "官员排名" not in own.text
    stranger = standin.user(123, first_name="X")
    await stranger.send("/stats")
    assert "没有权限" in ((await stranger.expect_message()).text or "")
    assert standin.errors == []


async def test_admin_cuts_stats_by_city_and_tier(
    services: Services, standin: TelegramStandin
) -> None:
    await load_provincial_round(services, now=services.clock.now())
    await load_city_round(services, now=services.clock.now())
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send("/stats")
    whole, rounds = await admin.expect_message(), await admin.expect_message()
    assert (whole.text or "").startswith("📊 台账统计\n")
    assert "省级包联：官员 33 · 企业 660 · 走访 291 · 诉求 681 · 办结 325（办结率 47.7%）" in (
        rounds.text or ""
    )
    assert "城市排名" in (rounds.text or "")
    await admin.send("/stats 大连 市级")
    dalian = (await admin.expect_message()).text or ""
    assert dalian.startswith("📊 台账统计 · 大连市 · 市级\n")
    assert "官员排名" in dalian and "省领导" not in dalian
    await admin.send("/stats province")
    leaders = (await admin.expect_message()).text or ""
    assert leaders.startswith("📊 台账统计 · 省级\n") and "收集诉求 681 件 · 办结 325 件" in leaders
    await admin.send("/stats 北京")
    assert "看不懂“北京”" in ((await admin.expect_message()).text or "")
    assert standin.errors == []


async def test_admin_gets_the_ledger_files(services: Services, standin: TelegramStandin) -> None:
    await load_provincial_round(services, now=services.clock.now())
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send("/ledger 2025-10-01 2026-04-01 沈阳")
    xlsx = await admin.expect_message()
    csv_file = await admin.expect_message()
    assert xlsx.document is not None and csv_file.document is not None
    table = read_table(csv_file.document, "ledger.csv")
    assert table.header[:3] == ("诉求编号", "企业名称", "统一社会信用代码")
    assert len(table.rows) == 46  # the requests of Shenyang's enterprises
    assert all(row[1][3] == "沈阳市" for row in table.rows)
    workbook = read_table(xlsx.document, "ledger.xlsx")
    assert [r[1][:13] for r in workbook.rows] == [r[1][:13] for r in table.rows]
    assert csv_file.caption == f"台账：{len(table.rows)} 件诉求"
    official = standin.user(OFFICIAL_ID, first_name="X")
    await official.send("/ledger")
    assert "没有权限" in ((await official.expect_message()).text or "")
    assert standin.errors == []


async def test_ledger_cut_by_city_and_tier(services: Services, standin: TelegramStandin) -> None:
    """/ledger 大连 市级: the Dalian enterprises' requests held by city officials, and the
    provincial round as the province tier's rows."""
    now = services.clock.now()
    await load_provincial_round(services, now=now)
    await load_city_round(services, now=now)
    tz = services.settings.locale.tz
    assert parse_filter(["2026-01-01", "大连市", "省级"], tz) == LedgerFilter(
        since=datetime(2026, 1, 1, tzinfo=tz), city="dalian", tier="province"
    )
    with pytest.raises(BadFilter):
        parse_filter(["乡级"], tz)
    expected = await services.db.fetch_value(
        "SELECT COUNT(*) FROM requests r JOIN enterprises e ON e.id = r.enterprise_id"
        " JOIN officials o ON o.id = r.official_id WHERE e.city = 'dalian' AND o.level = 'city'"
    )
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send("/ledger 大连 市级")
    await admin.expect_message()
    csv_file = await admin.expect_message()
    assert csv_file.document is not None
    table = read_table(csv_file.document, "ledger.csv")
    assert len(table.rows) == expected > 0
    assert {row[1][3] for row in table.rows} == {"大连市"}
    assert all(row[1][7].startswith("市官员") for row in table.rows)
    repo = LedgerRepository(services.db)
    rows = [row async for row in repo.rows(LedgerFilter(tier="province"))]
    assert len(rows) == 681
    assert standin.errors == []
