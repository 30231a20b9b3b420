"""/charts: requests per week and by category as pictures, Chinese labels drawn with a CJK font."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from pathlib import Path

import matplotlib
import pytest
from matplotlib.ft2font import FT2Font

from bot import charts
from bot.charts import (
    MissingFont,
    Weekly,
    by_week,
    chart_data,
    draw_categories,
    draw_city_ranking,
    draw_weekly,
    find_font,
)
from bot.i18n import Translator, catalog
from bot.services import Services
from bot.stats import Round, Rounds, Tally, compute_rounds
from scenarios.roster import ADMIN_ID, OFFICIAL_ID, make_cast
from standin import TelegramStandin
from storage.charts import CategoryCount, ChartRepository
from storage.stats import Cut
from tests.ledger_data import load_city_round, load_provincial_round

PNG = b"\x89PNG\r\n\x1a\n"
DEJAVU = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
MONDAYS = tuple(date(2026, 1, 5) + timedelta(weeks=n) for n in range(4))
WEEKLY = Weekly(MONDAYS, (3, 10, 0, 7), (1, 4, 2, 0))
CATEGORIES = tuple(
    CategoryCount(c, r, s)
    for c, r, s in (("policy", 12, 5), ("factors", 8, 3), ("payments", 20, 9), ("chain", 1, 0))
)

ROUNDS = Rounds(
    Round("province", 33, 660, 291, Tally(received=681, resolved=325, solved=325)),
    Round(
        "cities", 20, 40, 0, Tally(received=30, solved=12, response_due=30, responded_on_time=27)
    ),
    tuple(
        Round(code, 10, 20, 0, Tally(received=15, solved=n, rated=n, satisfied=n - 1))
        for code, n in (("shenyang", 5), ("shenfu", 7))
    ),
)


def glyph_warnings(draw: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert callable(draw)
        picture = draw()
    assert isinstance(picture, bytes) and picture.startswith(PNG)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chinese_labels_have_every_glyph(tmp_path: Path) -> None:
    font = find_font(None)
    texts = Translator("zh")
    assert glyph_warnings(lambda: draw_weekly(WEEKLY, texts, font)) == []
    assert glyph_warnings(lambda: draw_categories(CATEGORIES, texts, font)) == []
    labels = "".join(
        v for k, v in catalog("zh").items() if k.startswith(("charts.", "ledger.category."))
    )
    assert glyph_warnings(lambda: draw_city_ranking(ROUNDS, texts, font)) == []
    covered = FT2Font(str(font)).get_charmap()
    assert [c for c in labels if ord(c) not in covered] == []
    (tmp_path / "weekly.png").write_bytes(draw_weekly(WEEKLY, texts, font))


def test_a_font_without_chinese_is_caught() -> None:
    """The check above can fail: matplotlib's own font has no Chinese and says so."""
    missing = glyph_warnings(lambda: draw_categories(CATEGORIES, Translator("zh"), DEJAVU))
    assert missing and "DejaVu" in missing[0]
    assert glyph_warnings(lambda: draw_categories(CATEGORIES, Translator("en"), DEJAVU)) == []


def test_font_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_font(DEJAVU) == DEJAVU
    monkeypatch.setattr(charts, "CJK_FONTS", (Path("/nonexistent/font.ttc"),))
    with pytest.raises(MissingFont, match=r"scripts/fonts\.sh"):
        find_font(None)


def test_days_add_up_into_weeks() -> None:
    days = {date(2026, 1, 5): 2, date(2026, 1, 11): 1, date(2026, 1, 12): 4, date(2025, 12, 1): 9}
    assert by_week(days, MONDAYS) == (3, 4, 0, 0)


async def test_weeks_counted_in_local_days(services: Services) -> None:
    await load_provincial_round(services, now=services.clock.now())
    data = await chart_data(
        ChartRepository(services.db),
        now=services.clock.now(),
        tz=services.settings.locale.tz,
        weeks=52,
        official_id=None,
    )
    assert data.weekly.weeks[-1] == date(2026, 3, 2) and len(data.weekly.weeks) == 52
    assert sum(data.weekly.received) == 681 and sum(data.weekly.resolved) == 325
    assert sum(c.received for c in data.categories) == 681
    assert sum(c.resolved for c in data.categories) == 325


async def test_admin_and_official_receive_the_charts(
    services: Services, standin: TelegramStandin
) -> None:
    await make_cast(services)
    await load_provincial_round(services, now=services.clock.now())
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send("/charts")
    weekly, categories = await admin.expect_message(), await admin.expect_message()
    assert weekly.photo is not None and weekly.photo.startswith(PNG)
    assert categories.photo is not None and categories.photo.startswith(PNG)
    assert (weekly.caption, categories.caption) == ("每周诉求：收到与办结", "诉求类别分布")
    english = standin.user(ADMIN_ID + 1, first_name="X", language_code="en")
    await english.send("/charts")
    assert "not allowed" in ((await english.expect_message()).text or "")
    official = standin.user(OFFICIAL_ID, first_name="王建国", language_code="zh-hans")
    await official.send("/charts")
    assert "暂无数据" in ((await official.expect_message()).text or "")  # no request of his yet
    assert standin.errors == []


async def test_both_rounds_cut_and_ranked(
    services: Services, standin: TelegramStandin, tmp_path: Path
) -> None:
    """A cut counts its own requests; the whole programme adds the cities' ranking picture."""
    now = services.clock.now()
    await load_provincial_round(services, now=now)
    await load_city_round(services, now=now)
    repo, tz = ChartRepository(services.db), services.settings.locale.tz
    for cut, received, resolved in (
        (Cut(tier="province"), 681, 325),
        (Cut(), 3008, 1452),
    ):
        data = await chart_data(repo, now=now, tz=tz, weeks=52, official_id=None, cut=cut)
        assert (sum(data.weekly.received), sum(data.weekly.resolved)) == (received, resolved)
        assert sum(c.received for c in data.categories) == received
    rounds = await compute_rounds(services.stats, now=now)
    picture = draw_city_ranking(rounds, Translator("zh"), find_font(None))
    (tmp_path / "cities.png").write_bytes(picture)
    admin = standin.user(ADMIN_ID, first_name="Admin", language_code="zh-hans")
    await admin.send("/charts")
    pictures = [await admin.expect_message() for _ in range(3)]
    assert [p.caption for p in pictures] == ["每周诉求：收到与办结", "诉求类别分布", "各市三率排名"]
    assert all(p.photo is not None and p.photo.startswith(PNG) for p in pictures)
    await admin.send("/charts 大连 县级")
    assert [(await admin.expect_message()).caption for _ in range(2)] == [
        "每周诉求：收到与办结",
        "诉求类别分布",
    ]
    assert standin.errors == []
