"""The digest's chart: money collected per day over 30 days against what was promised for that
day, and the promise-kept rate per collector. A PNG drawn with matplotlib's Agg canvas (no
pyplot, no display, no global figure state), sent as a photo beside the digest's text.

Chinese labels need a CJK font, and matplotlib's own DejaVu has none (tofu boxes and a
"Glyph … missing" warning per character). The font ships as a pip dependency: Noto Sans SC
(SIL OFL) from ``pylopdf-fonts-zh-cn``, which also covers the traditional characters our
繁體 catalog uses; a system Noto Sans CJK (Debian's fonts-noto-cjk) is the fallback.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.domain.digest import CollectorLine, DayPoint

#: Collectors shown in the kept-rate panel (the lowest rates: the ones to talk to).
CHART_COLLECTORS = 12
_SYSTEM_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei")


class NoCjkFont(RuntimeError):
    """No font with Chinese glyphs is installed: the chart would show boxes."""


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The chart's words, already in the reader's language."""

    title: str
    collected: str
    promised: str
    rate_title: str
    no_rates: str


def _packaged_font() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    return path if path.is_file() else None


@cache
def cjk_font() -> str:
    """The family name of the CJK font the chart uses, registered with matplotlib."""
    from matplotlib import font_manager

    path = _packaged_font()
    if path is not None:
        font_manager.fontManager.addfont(str(path))
        return str(font_manager.FontProperties(fname=str(path)).get_name())
    for family in _SYSTEM_FAMILIES:
        try:
            font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
        except ValueError:
            continue
        return family
    raise NoCjkFont("install pylopdf-fonts-zh-cn (pip) or fonts-noto-cjk (apt)")


#: How wide a phone shows a photo in a chat, in CSS pixels (390 px screens, less the margins),
#: and the smallest text it should carry there: a chart is read on a phone.
PHONE_WIDTH = 360
PHONE_MIN_TEXT_PX = 12
#: The chart's size: 720 × 960 px (4.8 × 6.4 in at 150 dpi), so that 12 pt text is 25 px in
#: the image and 12.5 px on the phone, which halves it.
_FIGSIZE, _DPI = (4.8, 6.4), 150
_TEXT, _TITLE = 12, 13


def digest_chart(
    series: Sequence[DayPoint],
    collectors: Sequence[CollectorLine],
    labels: ChartLabels,
    *,
    money: Callable[[int], str] = lambda fen: f"{fen / 100:,.0f}",
) -> bytes:
    """The PNG (720 × 960 px): collected per day as bars, promised per day as a line (yuan),
    and below it the kept rate over 30 days of the collectors with the lowest rates. Every
    word is at least :data:`PHONE_MIN_TEXT_PX` tall when a phone shows it
    :data:`PHONE_WIDTH` px wide."""
    fig = digest_figure(series, collectors, labels, money=money)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def digest_figure(
    series: Sequence[DayPoint],
    collectors: Sequence[CollectorLine],
    labels: ChartLabels,
    *,
    money: Callable[[int], str] = lambda fen: f"{fen / 100:,.0f}",
) -> Any:
    """The chart as a matplotlib Figure (drawn by :func:`digest_chart`; the tests measure it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    family = cjk_font()
    fig = Figure(figsize=_FIGSIZE, dpi=_DPI)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, height_ratios=(1, 1))
    days = [p.day.strftime("%m-%d") for p in series]
    x = list(range(len(series)))
    top.bar(x, [p.collected / 100 for p in series], color="#2e7d32", label=labels.collected)
    top.plot(
        x,
        [p.promised / 100 for p in series],
        color="#ef6c00",
        marker="o",
        markersize=3,
        linewidth=1.5,
        label=labels.promised,
    )
    top.set_xticks(x[::10], days[::10])
    top.yaxis.set_major_locator(MaxNLocator(nbins=4))
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: money(int(v * 100))))
    top.set_title(labels.title, fontfamily=family, fontsize=_TITLE)
    # A fixed corner: "best" searches every point for the least overlap, slowly enough on a
    # busy machine that matplotlib warns (an error under the tests' warning rules).
    top.legend(loc="upper left", framealpha=0.85, prop={"family": family, "size": _TEXT})
    top.grid(axis="y", alpha=0.3)

    rated = sorted(
        (c for c in collectors if c.rate.percent is not None),
        key=lambda c: (c.rate.percent or 0, c.name),
    )[:CHART_COLLECTORS]
    bottom.set_title(labels.rate_title, fontfamily=family, fontsize=_TITLE)
    if rated:
        names = [c.name for c in reversed(rated)]
        values = [c.rate.percent or 0 for c in reversed(rated)]
        bars = bottom.barh(range(len(rated)), values, color="#1565c0")
        bottom.set_yticks(range(len(rated)), names, fontfamily=family)
        bottom.set_xlim(0, 125)
        bottom.set_xticks([0, 50, 100])
        for bar, value in zip(bars, values, strict=True):
            bottom.text(
                bar.get_width() + 1,
                bar.get_y() + bar.get_height() / 2,
                f"{value}%",
                va="center",
                fontfamily=family,
                fontsize=_TEXT,
            )
    else:
        bottom.text(
            0.5,
            0.5,
            labels.no_rates,
            ha="center",
            va="center",
            transform=bottom.transAxes,
            fontfamily=family,
            fontsize=_TEXT,
            wrap=True,
        )
        bottom.set_xticks([])
        bottom.set_yticks([])
    for axis in (top, bottom):
        for tick in (*axis.get_xticklabels(), *axis.get_yticklabels()):
            tick.set_fontfamily(family)
            tick.set_fontsize(_TEXT)
    # Fixed margins: tight_layout would draw the whole figure once more to measure it.
    fig.subplots_adjust(left=0.24, right=0.97, top=0.95, bottom=0.06, hspace=0.3)
    return fig
