"""Charts as PNG images: requests per week (received vs resolved) and requests by category.

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.i18n import Translator
from storage.charts import CategoryCount, ChartRepository
from storage.scope import EVERYWHERE, Scope

CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
FALLBACK_FAMILY = "DejaVu Sans"
RECEIVED_COLOUR = "#3b6fb6"
RESOLVED_COLOUR = "#4caf6e"
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
    scope: Scope = EVERYWHERE,
) -> ChartData:
    """The last ``weeks`` weeks (this one included) and the categories of every request (a
    city office's: of its enterprises' requests)."""
    local = now.astimezone(tz)
    this_monday = local.date() - timedelta(days=local.weekday())
    mondays = [this_monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    since = datetime.combine(mondays[0], datetime.min.time(), tz)
    offset = local.utcoffset() or timedelta()
    received = await repo.per_day(
        "created_at", since=since, utc_offset=offset, official_id=official_id, scope=scope
    )
    resolved = await repo.per_day(
        "resolved_at", since=since, utc_offset=offset, official_id=official_id, scope=scope
    )
    return ChartData(
        weekly=Weekly(tuple(mondays), by_week(received, mondays), by_week(resolved, mondays)),
        categories=tuple(await repo.per_category(official_id=official_id, scope=scope)),
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


async def draw_charts(data: ChartData, texts: Translator, font: Path) -> list[tuple[bytes, str]]:
    """Both charts with their captions, drawn off the event loop."""
    weekly = await asyncio.to_thread(draw_weekly, data.weekly, texts, font)
    categories = await asyncio.to_thread(draw_categories, data.categories, texts, font)
    return [
        (weekly, texts("stats.charts_caption_weekly")),
        (categories, texts("stats.charts_caption_category")),
    ]
