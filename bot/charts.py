"""Charts as PNG images: requests per week (received vs resolved), requests by category, and
for the province view the cities ranked on the three rates (a picture for a meeting's screen).

Matplotlib's own fonts have no Chinese characters, so every chart is drawn with a CJK font
file named explicitly (``[charts] font_path``, else a Debian font that ``scripts/fonts.sh``
installs), with DejaVu Sans as the fallback for any glyph the CJK font lacks. Drawing uses
the Agg canvas directly, never pyplot, and runs in a worker thread; matplotlib's style
settings are global, so one drawing at a time holds them.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.cities import city_name
from bot.i18n import Translator
from bot.stats import Round, Rounds
from storage.charts import CategoryCount, ChartRepository
from storage.stats import WHOLE, Cut

CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
FALLBACK_FAMILY = "DejaVu Sans"
RECEIVED_COLOUR = "#3b6fb6"
RESOLVED_COLOUR = "#4caf6e"
AVERAGE_COLOUR = "#c0392b"
# The three rates the cities are ranked on, each in its own panel: the Tally property, its label.
RANKED_RATES = (
    ("response_rate", "charts.response_rate"),
    ("resolution_rate", "charts.resolution_rate"),
    ("satisfaction_rate", "charts.satisfaction_rate"),
)
_DRAWING = threading.Lock()


class MissingFont(RuntimeError):
    """No CJK font to draw Chinese labels with; the message says how to get one."""


def find_font(configured: Path | None) -> Path:
    """The configured font, else the first known CJK font installed."""
    if configured is not None:
        return configured
    for candidate in CJK_FONTS:
        if candidate.is_file():
            return candidate
    known = ", ".join(str(path) for path in CJK_FONTS)
    raise MissingFont(
        f"no CJK font for charts: run scripts/fonts.sh or set [charts] font_path ({known})"
    )


@dataclass(frozen=True, slots=True)
class Weekly:
    weeks: tuple[date, ...]  # the Monday of each week, oldest first
    received: tuple[int, ...]
    resolved: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ChartData:
    weekly: Weekly
    categories: tuple[CategoryCount, ...]
    rounds: Rounds | None = None  # the province view's: the cities ranked

    @property
    def empty(self) -> bool:
        return not any(c.received for c in self.categories) and not any(self.weekly.received)


def by_week(days: dict[date, int], mondays: Sequence[date]) -> tuple[int, ...]:
    """Daily counts added up into the weeks that start on ``mondays``."""
    totals = dict.fromkeys(mondays, 0)
    for day, count in days.items():
        monday = day - timedelta(days=day.weekday())
        if monday in totals:
            totals[monday] += count
    return tuple(totals.values())


async def chart_data(
    repo: ChartRepository,
    *,
    now: datetime,
    tz: ZoneInfo,
    weeks: int,
    official_id: int | None,
    cut: Cut = WHOLE,
    rounds: Rounds | None = None,
) -> ChartData:
    """The last ``weeks`` weeks (this one included) and the categories of every request (of
    this official, of this cut); ``rounds`` adds the cities' ranking."""
    local = now.astimezone(tz)
    this_monday = local.date() - timedelta(days=local.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    since = datetime.combine(mondays[0], datetime.min.time(), tz)
    offset = local.utcoffset() or timedelta()
    received, resolved = [
        await repo.per_day(moment, since=since, utc_offset=offset, official_id=official_id, cut=cut)
        for moment in ("created_at", "resolved_at")
    ]
    return ChartData(
        weekly=Weekly(tuple(mondays), by_week(received, mondays), by_week(resolved, mondays)),
        categories=tuple(await repo.per_category(official_id=official_id, cut=cut)),
        rounds=rounds,
    )


@cache
def _family(font: Path) -> str:
    font_manager.fontManager.addfont(str(font))
    return str(font_manager.FontProperties(fname=str(font)).get_name())


@contextmanager
def _style(font: Path) -> Iterator[None]:
    with (
        _DRAWING,
        matplotlib.rc_context(
            {"font.family": [_family(font), FALLBACK_FAMILY], "axes.unicode_minus": False}
        ),
    ):
        yield


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)  # attaches itself: the figure is drawn by Agg, whatever the backend
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_weekly(weekly: Weekly, texts: Translator, font: Path) -> bytes:
    """Grouped bars per week: requests received and requests resolved."""
    with _style(font):
        figure = Figure(figsize=(9, 4.8), dpi=110, layout="constrained")
        axes = figure.add_subplot()
        positions = range(len(weekly.weeks))
        width = 0.4
        axes.bar([x - width / 2 for x in positions], weekly.received, width,
                 label=texts("charts.received"), color=RECEIVED_COLOUR)  # fmt: skip
        axes.bar([x + width / 2 for x in positions], weekly.resolved, width,
                 label=texts("charts.resolved"), color=RESOLVED_COLOUR)  # fmt: skip
        axes.set_xticks(list(positions), [monday.strftime("%m-%d") for monday in weekly.weeks])
        axes.tick_params(axis="x", labelrotation=45)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(texts("charts.weekly_title"))
        axes.set_xlabel(texts("charts.week_of"))
        axes.set_ylabel(texts("charts.requests"))
        axes.legend()
        return _png(figure)


def draw_categories(categories: Sequence[CategoryCount], texts: Translator, font: Path) -> bytes:
    """Horizontal bars per category: received, and how many of them were resolved."""
    ordered = sorted(categories, key=lambda c: c.received)
    labels = [texts(f"ledger.category.{c.category}") for c in ordered]
    with _style(font):
        figure = Figure(figsize=(9, 4.8), dpi=110, layout="constrained")
        axes = figure.add_subplot()
        axes.barh(labels, [c.received for c in ordered], color=RECEIVED_COLOUR,
                  label=texts("charts.received"))  # fmt: skip
        axes.barh(labels, [c.resolved for c in ordered], height=0.4, color=RESOLVED_COLOUR,
                  label=texts("charts.resolved"))  # fmt: skip
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(texts("charts.category_title"))
        axes.set_xlabel(texts("charts.requests"))
        axes.legend(loc="lower right")
        return _png(figure)


def draw_city_ranking(rounds: Rounds, texts: Translator, font: Path) -> bytes:
    """Three panels side by side, one per rate: the cities' rounds ranked, best at the top,
    with all cities' rate as a dashed line."""
    cities = [r for r in rounds.by_city if r.tally.received]
    with _style(font):
        figure = Figure(figsize=(15, 7), dpi=110, layout="constrained")
        figure.suptitle(texts("charts.cities_title"), fontsize="x-large")
        for axes, (rate, label) in zip(
            figure.subplots(1, len(RANKED_RATES), sharex=True), RANKED_RATES, strict=True
        ):
            _ranking_panel(axes, cities, rounds.cities, rate, texts)
            axes.set_title(texts(label))
        return _png(figure)


def _ranking_panel(
    axes: Axes, cities: Sequence[Round], overall: Round, rate: str, texts: Translator
) -> None:
    def value(r: Round) -> float:
        return float(getattr(r.tally, rate) or 0.0) * 100

    ordered = sorted(cities, key=lambda r: (value(r), r.key))
    labels = [
        f"{len(ordered) - i}. {city_name(r.key, texts.language) or texts('stats.no_city')}"
        for i, r in enumerate(ordered)
    ]
    bars = axes.barh(labels, [value(r) for r in ordered], color=RECEIVED_COLOUR)
    axes.bar_label(bars, labels=[f"{value(r):.1f}%" for r in ordered], padding=3)
    axes.axvline(value(overall), color=AVERAGE_COLOUR, linestyle="--",
                 label=texts("charts.all_cities"))  # fmt: skip
    axes.set_xlim(0, 115)
    axes.set_xlabel("%")
    axes.legend(loc="lower right")


async def draw_charts(data: ChartData, texts: Translator, font: Path) -> list[tuple[bytes, str]]:
    """The charts with their captions, drawn off the event loop."""
    weekly = await asyncio.to_thread(draw_weekly, data.weekly, texts, font)
    categories = await asyncio.to_thread(draw_categories, data.categories, texts, font)
    pictures = [
        (weekly, texts("stats.charts_caption_weekly")),
        (categories, texts("stats.charts_caption_category")),
    ]
    if data.rounds is not None and any(r.tally.received for r in data.rounds.by_city):
        ranking = await asyncio.to_thread(draw_city_ranking, data.rounds, texts, font)
        pictures.append((ranking, texts("stats.charts_caption_cities")))
    return pictures
