"""/stats: the seeds' provincial round gives the seeds' figures, and the three rates."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services import Services
from bot.stats import Tally, compute_stats, percent, render_stats
from bot.tables import read_table
from scenarios.roster import ADMIN_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin
from tests.ledger_data import load_provincial_round


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
