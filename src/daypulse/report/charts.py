"""Charts for reports, drawn server-side with matplotlib's Agg renderer into PNG bytes in memory.

``render_chart(spec)`` takes one of three data shapes and returns a :class:`Png`:

* :class:`LineData` - a metric over days/weeks/months, the comparison span overlaid (dashed grey);
* :class:`BarData` - a breakdown (values per dimension value), in the order given;
* :class:`HeatmapData` - rows (weekdays, dates) x columns (hours "00".."23").

Design choices:

* Email first: drawn for a ``width_px`` CSS width (560 by default, fits a 600 px email) at ``dpi`` times
  the pixels (2 = sharp on retina screens); ``Png.width``/``height`` are the CSS size to put in the
  ``<img>`` tag. The background is opaque white (the PNG has no alpha channel at all), so the forced dark
  modes of Gmail and Outlook cannot turn transparent areas dark under dark text.
* No global state: a ``matplotlib.figure.Figure`` with its own ``FigureCanvasAgg``, never ``pyplot``, and
  no change to ``matplotlib.rcParams``; every text is given its font (DejaVu Sans, shipped with
  matplotlib), size and colour explicitly. Rendering is therefore thread-safe and does not depend on the
  process's matplotlib backend.
* Deterministic: the same data gives the same bytes (no timestamp or software metadata; month names are
  not taken from the locale), so snapshot tests can compare PNGs.
* Values are formatted by the metric's format: ``integer``, ``number``, ``currency`` (in cents),
  ``percent`` (a fraction: 0.25 is 25%) and ``duration`` (seconds). Three styles:
  axis ticks are compact (``$1.2k``, ``12%``, ``3m``), labels on the chart are short (``$1,235``,
  ``12.5%``, ``3m 5s``), the alt text is exact (currency with cents: 123456 cents is ``$1,234.56``).
  See :func:`format_value`.
* The alt text says in words what the chart shows, with the latest value and the trend (line), every
  value (bar, the first 12) or the busiest cell (heatmap).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from PIL import Image

__all__ = ["BarData", "HeatmapData", "LineData", "Png", "format_value", "render_chart"]

FORMATS = ("integer", "number", "currency", "percent", "duration")


@dataclass(frozen=True)
class LineData:
    """A metric over days/weeks/months, with the comparison period overlaid."""

    title: str  # e.g. "New signups, last 30 days"
    x: list[date]  # period starts
    values: list[float | None]  # None = no value (gap)
    compare: list[float | None] | None  # same length: the previous span, drawn dashed grey
    compare_label: str | None  # e.g. "previous 30 days"
    fmt: str  # integer | number | currency (cents) | percent (a fraction) | duration (seconds)
    good: str  # up | down (only for colouring the last point / annotation)
    grain: str = "day"


@dataclass(frozen=True)
class BarData:
    """A breakdown: values per dimension value (call outcomes, staff), in the order given."""

    title: str
    labels: list[str]
    values: list[float | None]
    fmt: str
    compare: list[float | None] | None = None  # previous period's values, drawn as a thin marker
    horizontal: bool = True


@dataclass(frozen=True)
class HeatmapData:
    """Time of day: rows (e.g. weekday or date labels) x columns (hours "00".."23")."""

    title: str
    rows: list[str]
    cols: list[str]
    values: list[list[float | None]]  # rows x cols
    fmt: str


@dataclass(frozen=True)
class Png:
    data: bytes  # PNG file bytes (RGB, no alpha), width*dpi x height*dpi pixels
    alt: str  # alt text: what the chart shows in words incl. the latest value and the trend
    width: int  # CSS pixels
    height: int


def render_chart(spec: LineData | BarData | HeatmapData, *, width_px: int = 560, dpi: int = 2) -> Png:
    """Draw ``spec`` as a PNG ``width_px`` CSS pixels wide, rendered at ``dpi`` times the pixels.

    Empty data (no points, or every value None) gives a "No data for this period" placeholder.
    """
    if not isinstance(width_px, int) or not 200 <= width_px <= 2000:
        raise ValueError(f"width_px must be a whole number of pixels from 200 to 2000, not {width_px!r}")
    if not isinstance(dpi, int) or not 1 <= dpi <= 4:
        raise ValueError(f"dpi is a scale factor from 1 to 4, not {dpi!r}")
    if isinstance(spec, LineData):
        return _line_chart(spec, width_px, dpi)
    if isinstance(spec, BarData):
        return _bar_chart(spec, width_px, dpi)
    if isinstance(spec, HeatmapData):
        return _heatmap(spec, width_px, dpi)
    raise TypeError(f"render_chart: expected LineData, BarData or HeatmapData, not {type(spec).__name__}")


# -- value formatting ------------------------------------------------------------------------------

def format_value(value: float | None, fmt: str, style: str = "exact") -> str:
    """``value`` in words for a metric of format ``fmt``.

    ``style="exact"`` (alt text): 1,234 / 1,234.57 / $1,234.56 / 12.5% / 3m 5s;
    ``"average"``: as exact, with one decimal more for integers (30.1);
    ``"short"`` (labels on the chart): 1,234 / 12.3k / $12.34 / $1,235 / $12.3k / 12.5% / 3m 5s.
    None is "no value".
    """
    _check_fmt(fmt)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    v = float(value)
    if fmt == "duration":
        return _duration(v)
    if fmt == "percent":
        p = v * 100
        return _strip(f"{p:,.1f}") + "%" if abs(p) < 1000 else f"{p:,.0f}%"
    if style == "short":
        return _short(v, fmt, abs(v))
    if fmt == "currency":
        return f"{'-' if v < 0 else ''}${abs(v) / 100:,.2f}"
    if fmt == "integer":
        if style == "average" or v != round(v):
            return _strip(f"{v:,.1f}")
        return f"{v:,.0f}"
    return _strip(f"{v:,.2f}")


def _short(v: float, fmt: str, top: float) -> str:
    """A label on the chart; ``top`` is the largest magnitude among the chart's labels, so that they all
    use the same style: $356, $8.8k, $13.7k rather than $8,760 next to $13.7k."""
    if fmt in ("duration", "percent"):
        return format_value(v, fmt)
    sign = "-" if v < 0 else ""
    a = abs(v) / 100 if fmt == "currency" else abs(v)
    big = (top / 100 if fmt == "currency" else top) >= 10_000
    prefix = "$" if fmt == "currency" else ""
    if big and a >= 999.5:
        return sign + prefix + _si(a)
    if fmt == "currency":
        return f"{sign}${a:,.2f}" if top / 100 < 100 else f"{sign}${a:,.0f}"
    if fmt == "integer" or a >= 100:
        return f"{sign}{a:,.0f}"
    return sign + _strip(f"{a:,.1f}" if a >= 10 else f"{a:,.2f}")


def _check_fmt(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt {fmt!r} is not one of {', '.join(FORMATS)}")


def _strip(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def _si(v: float) -> str:
    """12.3k, 123k, 1.2M for v >= 1000 (v not negative)."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= div * 0.9995:
            x = v / div
            return (f"{x:.1f}" if x < 99.95 else f"{x:.0f}") + suffix
    return f"{v:.0f}"


def _duration(seconds: float) -> str:
    """45s, 2.5s, 3m 5s, 1h 2m, 2d 3h: at most two units."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 10 and s != round(s):
        return f"{sign}{_strip(f'{s:.1f}')}s"
    s = round(s)
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        m, sec = divmod(s, 60)
        return f"{sign}{m}m" + (f" {sec}s" if sec else "")
    if s < 86400:
        h, rest = divmod(s, 3600)
        m = round(rest / 60)
        if m == 60:
            h, m = h + 1, 0
        return f"{sign}{h}h" + (f" {m}m" if m else "")
    d, rest = divmod(s, 86400)
    h = round(rest / 3600)
    if h == 24:
        d, h = d + 1, 0
    return f"{sign}{d}d" + (f" {h}h" if h else "")


def _axis_labels(ticks: Sequence[float], fmt: str) -> list[str]:
    """Compact tick labels with as few decimals as keep them exact: 0, 500, 1k, 1.5k / $0, $50, $1.2k."""
    if fmt == "duration":
        return [_duration(t) if t else "0" for t in ticks]
    if fmt == "percent":
        xs, prefix, suffix, div = [t * 100 for t in ticks], "", "%", 1.0
    else:
        xs = [t / 100 for t in ticks] if fmt == "currency" else list(ticks)
        prefix = "$" if fmt == "currency" else ""
        top = max((abs(x) for x in xs), default=0)
        div, suffix = next(((d, u) for d, u in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if top >= max(d, 1e4)),
                           (1.0, ""))
        xs = [x / div for x in xs]
    decimals = 0
    while decimals < 4 and any(abs(x - round(x, decimals)) > 1e-9 * max(1.0, abs(x)) for x in xs):
        decimals += 1
    if fmt == "currency" and div == 1 and decimals:
        decimals = 2  # $0.50, not $0.5
    out = []
    for x in xs:
        x = 0.0 if abs(x) < 1e-12 else x
        sign = "-" if x < 0 else ""
        out.append(f"{sign}{prefix}{abs(x):,.{decimals}f}{suffix}")
    return out


# -- look -------------------------------------------------------------------------------------------

FONT = "DejaVu Sans"
BG = "#ffffff"
INK = "#1f2328"  # titles, values
MUTED = "#5f6368"  # axis labels
FAINT = "#9aa0a6"  # placeholder text, "no data"
GRID = "#e6e8eb"
AXIS = "#c3c7cc"
MAIN = "#1f5fcc"  # the series / bars
COMPARE = "#9aa0a6"  # the comparison span
GHOST = "#3c4043"  # previous-period marker on bars
GOOD = "#188038"
BAD = "#c5221f"
MISSING_CELL = "#e4e6e9"

PAD = 14  # outer padding, CSS px
TITLE_PT = 11.5
TEXT_PT = 8.5
SMALL_PT = 8.0
NO_DATA = "No data for this period"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")
_WEEKDAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}


def _font(size: float = TEXT_PT, weight: str = "normal") -> FontProperties:
    return FontProperties(family=FONT, size=size, weight=weight)


class _Canvas:
    """A figure of W x H CSS pixels rendered at ``scale`` times; places things in CSS pixels from the top left."""

    def __init__(self, width: int, height: int, scale: int):
        self.w, self.h, self.scale = width, height, scale
        dpi = 100 * scale
        # a hair over the exact size: Agg truncates the float figure size to whole pixels
        self.fig = Figure(figsize=((width * scale + 0.01) / dpi, (height * scale + 0.01) / dpi), dpi=dpi,
                          facecolor=BG)
        self.canvas = FigureCanvasAgg(self.fig)
        self._renderer = self.canvas.get_renderer()
        self._widths: dict[tuple[str, float, str], float] = {}

    def set_height(self, height: int) -> None:
        """Change the height before anything is placed (texts can be measured first)."""
        self.h = height
        dpi = 100 * self.scale
        self.fig.set_size_inches((self.w * self.scale + 0.01) / dpi, (height * self.scale + 0.01) / dpi)

    def text_width(self, s: str, size: float = TEXT_PT, weight: str = "normal") -> float:
        """Width of ``s`` in CSS pixels."""
        if not s:
            return 0.0
        key = (s, size, weight)
        if key not in self._widths:
            w, _, _ = self._renderer.get_text_width_height_descent(s, _font(size, weight), ismath=False)
            self._widths[key] = w / self.scale
        return self._widths[key]

    def fit(self, s: str, max_px: float, size: float = TEXT_PT, weight: str = "normal") -> str:
        """``s``, cut with "…" to fit ``max_px``."""
        if self.text_width(s, size, weight) <= max_px:
            return s
        lo, hi = 0, len(s)
        while lo < hi:  # the longest prefix that fits with the ellipsis
            mid = (lo + hi + 1) // 2
            if self.text_width(s[:mid].rstrip() + "…", size, weight) <= max_px:
                lo = mid
            else:
                hi = mid - 1
        return s[:lo].rstrip() + "…"

    def axes(self, left: float, top: float, right: float, bottom: float):
        """Axes whose plot area has these margins (CSS px) from the figure's edges."""
        ax = self.fig.add_axes((left / self.w, bottom / self.h, (self.w - left - right) / self.w,
                                (self.h - top - bottom) / self.h))
        ax.set_facecolor(BG)
        return ax

    def text(self, x: float, y: float, s: str, *, size: float = TEXT_PT, color: str = INK, weight: str = "normal",
             ha: str = "left", va: str = "top"):
        """Text at (x, y) CSS px from the top left."""
        return self.fig.text(x / self.w, 1 - y / self.h, s, fontproperties=_font(size, weight), color=color,
                             ha=ha, va=va)

    def title(self, title: str) -> None:
        self.text(PAD, PAD, self.fit(title, self.w - 2 * PAD, TITLE_PT, "bold"), size=TITLE_PT,
                  weight="bold")

    def png(self) -> bytes:
        self.canvas.draw()
        rgba = np.asarray(self.canvas.buffer_rgba())
        buf = io.BytesIO()
        # RGB without alpha: opaque whatever the mail client does; Pillow writes no time or software chunks
        Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(buf, format="PNG", compress_level=6)
        return buf.getvalue()


def _style_axes(ax, *, left_spine: bool = False, bottom_spine: bool = True) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.spines["left"].set_visible(left_spine)
    ax.spines["bottom"].set_visible(bottom_spine)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(AXIS)
        ax.spines[side].set_linewidth(0.8)
    ax.tick_params(which="both", labelsize=TEXT_PT, labelcolor=MUTED, labelfontfamily=FONT, color=AXIS,
                   width=0.8)


PLACEHOLDER_HEIGHT = 150


def _placeholder(c: _Canvas, title: str) -> None:
    """The title over a light panel saying there is no data (``c`` is PLACEHOLDER_HEIGHT high)."""
    c.title(title)
    top = PAD + 30
    ax = c.axes(PAD, top, PAD, PAD)
    ax.set_facecolor("#f4f5f7")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    c.text(c.w / 2, (c.h - PAD + top) / 2, NO_DATA, size=10, color=MUTED, ha="center", va="center")


def _nums(values: Sequence[float | None] | None) -> np.ndarray | None:
    if values is None:
        return None
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


# -- line chart -------------------------------------------------------------------------------------

def _line_chart(spec: LineData, width: int, scale: int) -> Png:
    _check_fmt(spec.fmt)
    n = len(spec.x)
    if len(spec.values) != n or (spec.compare is not None and len(spec.compare) != n):
        raise ValueError(f"{spec.title}: x, values and compare must be of the same length")
    if spec.good not in ("up", "down"):
        raise ValueError(f"{spec.title}: good must be up or down, not {spec.good!r}")
    xs = [d.date() if isinstance(d, datetime) else d for d in spec.x]
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise ValueError(f"{spec.title}: x must be in increasing order")
    vals = _nums(spec.values)
    comp = _nums(spec.compare)
    if comp is not None and np.isnan(comp).all():
        comp = None
    alt, trend = _line_alt(spec, xs, vals, comp)
    if n == 0 or np.isnan(vals).all():
        c = _Canvas(width, PLACEHOLDER_HEIGHT, scale)
        _placeholder(c, spec.title)
        return Png(c.png(), alt, width, PLACEHOLDER_HEIGHT)
    height = max(round(width * 0.46), 220)
    c = _Canvas(width, height, scale)

    xn = np.array([d.toordinal() for d in xs], dtype=float)
    last = int(np.flatnonzero(~np.isnan(vals))[-1])
    colour = MAIN if trend is None else GOOD if trend == spec.good else BAD
    # y range: counts from zero; ticks at nice values, the range ending on ticks
    both = vals if comp is None else np.concatenate([vals, comp])
    lo, hi = float(np.nanmin(both)), float(np.nanmax(both))
    ticks = _y_ticks(lo, hi, spec.fmt)
    labels = _axis_labels(ticks, spec.fmt)
    last_label = _short(float(vals[last]), spec.fmt, abs(float(vals[last])))

    # layout (CSS px)
    top = PAD + 24
    if comp is not None:
        top += 20
        _line_legend(c, spec, colour, trend, comp, vals)
    top += 6
    left = PAD + max(c.text_width(s) for s in labels) + 8
    right = PAD + 10 + c.text_width(last_label, TEXT_PT, "bold")
    x_ticks = _date_ticks(xs, spec.grain, width - left - right)
    lines = max((t[1].count("\n") + 1 for t in x_ticks), default=1)
    bottom = PAD + 6 + 12 * lines
    c.title(spec.title)
    ax = c.axes(left, top, right, bottom)
    _style_axes(ax)

    ax.set_ylim(min(ticks[0], lo), max(ticks[-1], hi))
    ax.set_yticks(ticks, labels)
    ax.yaxis.grid(True, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0, pad=6)
    ax.tick_params(axis="x", length=3, pad=4)
    if n == 1:
        ax.set_xlim(xn[0] - 1, xn[0] + 1)
    else:
        ax.set_xlim(xn[0], xn[-1])
    ax.set_xticks([float(d.toordinal()) for d, _ in x_ticks], [s for _, s in x_ticks])
    for t in ax.get_xticklabels():
        t.set_linespacing(1.1)

    if comp is not None:
        ax.plot(xn, comp, color=COMPARE, linewidth=1.5, linestyle=(0, (4, 2.5)), zorder=2, clip_on=False)
        _isolated(ax, xn, comp, COMPARE, 3)
    ax.plot(xn, vals, color=MAIN, linewidth=2.2, zorder=3, solid_capstyle="round", solid_joinstyle="round",
            clip_on=False)
    _isolated(ax, xn, vals, MAIN, 4)
    ax.plot([xn[last]], [vals[last]], marker="o", markersize=7, color=colour, markeredgecolor=BG,
            markeredgewidth=1.5, zorder=5, clip_on=False)
    ax.annotate(last_label, xy=(xn[last], vals[last]), xytext=(6, 0), textcoords="offset points", ha="left",
                va="center", color=colour if trend is not None else INK, fontproperties=_font(TEXT_PT, "bold"),
                annotation_clip=False, zorder=6)
    return Png(c.png(), alt, width, height)


def _isolated(ax, xn: np.ndarray, ys: np.ndarray, colour: str, size: float) -> None:
    """A dot for each value between two gaps, which a line alone would not show."""
    ok = ~np.isnan(ys)
    prev = np.concatenate([[False], ok[:-1]])
    nxt = np.concatenate([ok[1:], [False]])
    alone = ok & ~prev & ~nxt
    if alone.any():
        ax.plot(xn[alone], ys[alone], linestyle="none", marker="o", markersize=size, color=colour, zorder=3,
                clip_on=False)


def _line_legend(c: _Canvas, spec: LineData, colour: str, trend: str | None, comp: np.ndarray,
                 vals: np.ndarray) -> None:
    handles = [Line2D([], [], color=MAIN, linewidth=2.2),
               Line2D([], [], color=COMPARE, linewidth=1.5, linestyle=(0, (4, 2.5)))]
    change = _change_words(float(np.nanmean(vals)), float(np.nanmean(comp)), spec.fmt, short=True)
    # what the second legend entry has room for: less the change, the first entry, the handles and spaces
    room = c.w - 2 * PAD - c.text_width(change or "", SMALL_PT, "bold") - c.text_width("this period", SMALL_PT) - 104
    names = ["this period", c.fit(spec.compare_label or "previous period", max(room, 40), SMALL_PT)]
    c.fig.legend(handles, names, loc="upper left", bbox_to_anchor=(PAD / c.w, 1 - (PAD + 23) / c.h),
                 ncol=2, frameon=False, prop=_font(SMALL_PT), labelcolor=MUTED, handlelength=2.2,
                 handletextpad=0.5, columnspacing=1.4, borderpad=0, borderaxespad=0)
    if change:
        c.text(c.w - PAD, PAD + 28.5, change, size=SMALL_PT, color=colour if trend else MUTED, ha="right",
               va="center", weight="bold")


def _y_ticks(lo: float, hi: float, fmt: str) -> list[float]:
    if fmt == "integer" and lo >= 0:
        lo = 0.0
    if hi == lo:
        pad = max(abs(hi) * 0.1, 1.0 if fmt in ("integer", "currency", "duration") else 0.01 if fmt == "percent"
                  else 0.1)
        lo, hi = (lo if lo == 0 else lo - pad), hi + pad
    if fmt == "duration":
        step = next((s for s in _DURATION_STEPS if (hi - lo) / s <= 5), _DURATION_STEPS[-1])
        while (hi - lo) / step > 5:
            step *= 2
        first, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
        return [first + i * step for i in range(round((end - first) / step) + 1)]
    steps = [1, 2, 5, 10] if fmt == "percent" else [1, 2, 2.5, 5, 10]
    loc = MaxNLocator(nbins=5, steps=steps, integer=fmt in ("integer", "currency"), min_n_ticks=3)
    ticks = [float(t) for t in loc.tick_values(lo, hi)]
    # keep only the ticks that bound the data
    while len(ticks) > 2 and ticks[1] <= lo:
        ticks.pop(0)
    while len(ticks) > 2 and ticks[-2] >= hi:
        ticks.pop()
    return [0.0 if abs(t) < 1e-12 else t for t in ticks]


_DURATION_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
                   172800, 604800)


def _date_ticks(xs: list[date], grain: str, room: float) -> list[tuple[date, str]]:
    """Which x values get a label, and the labels: few enough not to overlap in ``room`` px."""
    if not xs:
        return []

    def most(n: int, label_px: float) -> int:
        return min(n, max(2, int(room // (label_px + 18))))
    multi_year = xs[0].year != xs[-1].year

    def every(cands: list[date], max_n: int, steps: Sequence[int]) -> list[date]:
        k = next((k for k in steps if math.ceil(len(cands) / k) <= max_n), steps[-1])
        while math.ceil(len(cands) / k) > max_n:
            k *= 2
        # weeks, months...: aligned on the end, so that the latest period is labelled
        return cands[::k] if grain == "day" else cands[::-1][::k][::-1]

    def day_label(d: date, seen: set[int]) -> str:
        s = f"{_MONTHS[d.month - 1]} {d.day}"
        if multi_year and d.year not in seen:
            seen.add(d.year)
            s += f"\n{d.year}"
        return s

    def month_label(d: date, seen: set[int]) -> str:
        s = _MONTHS[d.month - 1]
        if d.year not in seen:
            seen.add(d.year)
            s += f"\n{d.year}"
        return s

    seen: set[int] = set()
    if grain == "day":
        span = (xs[-1] - xs[0]).days
        if len(xs) <= most(8, 40):
            picks = xs
        elif span <= 210:
            mondays = [d for d in xs if d.weekday() == 0]
            picks = every(mondays, most(7, 40), (1, 2, 3, 4)) if len(mondays) >= 2 \
                else every(xs, most(7, 40), (1, 2, 3, 4, 5, 7))
        else:
            firsts = [d for d in xs if d.day == 1]
            return [(d, month_label(d, seen)) for d in every(firsts, most(8, 28), (1, 2, 3, 6, 12))]
        return [(d, day_label(d, seen)) for d in picks]
    if grain == "week":
        if len(xs) > 30:
            firsts = [b for a, b in zip(xs, xs[1:]) if a.month != b.month]
            return [(d, month_label(d, seen)) for d in every(firsts, most(8, 28), (1, 2, 3, 6, 12))]
        return [(d, day_label(d, seen)) for d in every(list(xs), most(7, 40), (1, 2, 3, 4))]
    if grain == "month":
        return [(d, month_label(d, seen)) for d in every(list(xs), most(12, 28), (1, 2, 3, 6, 12))]
    if grain == "quarter":
        return [(d, f"Q{(d.month - 1) // 3 + 1}\n{d.year}") for d in every(list(xs), most(10, 30), (1, 2, 4))]
    return [(d, str(d.year)) for d in every(list(xs), most(10, 30), (1, 2, 5, 10))]


def _when(d: date, grain: str) -> str:
    if grain == "week":
        return f"the week of {d.isoformat()}"
    if grain == "month":
        return f"{_MONTH_NAMES[d.month - 1]} {d.year}"
    if grain == "quarter":
        return f"Q{(d.month - 1) // 3 + 1} {d.year}"
    if grain == "year":
        return str(d.year)
    return d.isoformat()


def _change_words(now: float, before: float, fmt: str, short: bool = False) -> str | None:
    """'up 12%' / 'down 3.1 points' / 'about the same'; short: '▲ 12% avg. vs previous'."""
    if math.isnan(now) or math.isnan(before):
        return None
    if now == before:
        return "average unchanged" if short else "the same as"
    if fmt == "percent":
        delta = (now - before) * 100
        size = _strip(f"{abs(delta):.1f}") + (" pts" if short else " points")
        flat = abs(delta) < 0.05
    elif before == 0:
        size, flat = ("from 0", False)
    else:
        rel = (now - before) / abs(before) * 100
        size = (_strip(f"{abs(rel):.1f}") if abs(rel) < 10 else f"{abs(rel):,.0f}") + "%"
        flat = abs(rel) < 0.5
    if short:
        if flat:
            return "average about the same"
        return f"average {'▲' if now > before else '▼'} {size}"
    if flat:
        return "about the same as"
    return f"{'up' if now > before else 'down'} {size} on"


def _line_alt(spec: LineData, xs: list[date], vals: np.ndarray, comp: np.ndarray | None) -> tuple[str, str | None]:
    """The alt text and the trend ("up", "down" or None when flat or without a comparison)."""
    head = f"Line chart: {spec.title.rstrip('.')}."
    ok = np.flatnonzero(~np.isnan(vals))
    if len(ok) == 0:
        return f"{head} {NO_DATA}.", None
    last, first = int(ok[-1]), int(ok[0])
    latest = f"Latest {format_value(float(vals[last]), spec.fmt)} on {_when(xs[last], spec.grain)}"
    trend = None
    if comp is not None:
        now, before = float(np.nanmean(vals)), float(np.nanmean(comp))
        words = _change_words(now, before, spec.fmt)
        span = spec.compare_label or "previous period"
        avg = f"average {format_value(now, spec.fmt, 'average')} vs {format_value(before, spec.fmt, 'average')}"
        if words == "the same as":
            text = f"{latest}, the same as the {span} ({avg})."
        else:
            text = f"{latest}, {words} the {span} ({avg})."
        if now != before and words not in ("about the same as", "the same as"):
            trend = "up" if now > before else "down"
    elif last != first:
        a, b = float(vals[first]), float(vals[last])
        words = _change_words(b, a, spec.fmt)
        since = f"{format_value(a, spec.fmt)} on {_when(xs[first], spec.grain)}"
        if words in ("about the same as", "the same as"):
            text = f"{latest}, {words} {since}."
        else:
            text = f"{latest}, {words.removesuffix(' on')} from {since}."
    else:
        text = f"{latest}."
    missing = len(vals) - len(ok)
    if missing:
        unit = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}.get(
            spec.grain, "period")
        text += f" No value for {missing} of {len(vals)} {unit}s."
    return f"{head} {text}", trend


# -- bar chart --------------------------------------------------------------------------------------

def _bar_chart(spec: BarData, width: int, scale: int) -> Png:
    _check_fmt(spec.fmt)
    n = len(spec.labels)
    if len(spec.values) != n or (spec.compare is not None and len(spec.compare) != n):
        raise ValueError(f"{spec.title}: labels, values and compare must be of the same length")
    vals = _nums(spec.values)
    comp = _nums(spec.compare)
    if comp is not None and np.isnan(comp).all():
        comp = None
    alt = _bar_alt(spec, vals)
    if n == 0 or np.isnan(vals).all():
        c = _Canvas(width, PLACEHOLDER_HEIGHT, scale)
        _placeholder(c, spec.title)
        return Png(c.png(), alt, width, PLACEHOLDER_HEIGHT)
    header = PAD + 24 + (20 if comp is not None else 0)
    row = 26 if n <= 15 else 21 if n <= 30 else 17
    height = header + 4 + row * n + PAD if spec.horizontal else max(round(width * 0.46), 220)
    c = _Canvas(width, height, scale)
    c.title(spec.title)
    if comp is not None:
        handles = [Line2D([], [], color=MAIN, linewidth=7, solid_capstyle="butt"),
                   Line2D([], [], color=GHOST, linestyle="none", marker="|" if spec.horizontal else "_",
                          markersize=9 if spec.horizontal else 12, markeredgewidth=2)]
        c.fig.legend(handles, ["this period", "previous period"], loc="upper left",
                     bbox_to_anchor=(PAD / c.w, 1 - (PAD + 23) / c.h), ncol=2, frameon=False,
                     prop=_font(SMALL_PT), labelcolor=MUTED, handlelength=1.6, handletextpad=0.5,
                     columnspacing=1.4, borderpad=0, borderaxespad=0)
    top = float(np.nanmax(np.abs(vals)))
    value_labels = ["no data" if math.isnan(v) else _short(float(v), spec.fmt, top) for v in vals]
    if spec.horizontal:
        _hbars(c, spec, vals, comp, value_labels, header, row)
    else:
        _vbars(c, spec, vals, comp, value_labels, header)
    return Png(c.png(), alt, width, height)


def _value_range(vals: np.ndarray, comp: np.ndarray | None, widths: list[float], plot_px: float,
                 gap: float) -> tuple[float, float]:
    """Data limits (lo <= 0 <= hi) leaving room for each bar's value label past its end."""
    ends = np.where(np.isnan(vals), 0.0, vals)
    reach = ends if comp is None else np.fmax(ends, np.where(np.isnan(comp), 0.0, comp))
    reach_lo = ends if comp is None else np.fmin(ends, np.where(np.isnan(comp), 0.0, comp))
    hi = max(float(reach.max()), 0.0)
    lo = min(float(reach_lo.min()), 0.0)
    if hi == lo:
        hi = 1.0
    for _ in range(3):  # the labels' room depends on the scale, which depends on the room
        px = (hi - lo) / plot_px  # data per pixel
        new_hi, new_lo = hi, lo
        for v, r, rl, w in zip(ends, reach, reach_lo, widths):
            if v >= 0:
                new_hi = max(new_hi, max(v, r) + (gap + w) * px)
            else:
                new_lo = min(new_lo, min(v, rl) - (gap + w) * px)
        hi, lo = max(hi, new_hi), min(lo, new_lo)
    return lo, hi


def _hbars(c: _Canvas, spec: BarData, vals: np.ndarray, comp: np.ndarray | None, value_labels: list[str],
           header: float, row: float) -> None:
    n = len(vals)
    label_size = TEXT_PT if n <= 15 else SMALL_PT
    max_label = c.w * 0.36
    names = [c.fit(str(s), max_label, label_size) for s in spec.labels]
    left = PAD + max(c.text_width(s, label_size) for s in names) + 8
    ax = c.axes(left, header + 4, PAD, PAD)
    _style_axes(ax, left_spine=False, bottom_spine=False)
    plot_px = c.w - left - PAD
    widths = [c.text_width(s, label_size) for s in value_labels]
    lo, hi = _value_range(vals, comp, widths, plot_px, 5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(n - 0.5, -0.5)  # the first bar on top
    ys = np.arange(n)
    ax.barh(ys, np.where(np.isnan(vals), 0.0, vals), height=0.64, color=MAIN, zorder=2)
    if lo < 0:
        ax.axvline(0, color=AXIS, linewidth=0.8, zorder=3)
    if comp is not None:
        marker = row * 0.82 * 72 / 100  # points
        ax.plot(comp, ys, linestyle="none", marker="|", markersize=marker, markeredgewidth=2, color=GHOST, zorder=4)
    px = (hi - lo) / plot_px
    for y, v, text in zip(ys, vals, value_labels):
        if math.isnan(v):
            at = 0.0 if comp is None or math.isnan(comp[y]) else max(0.0, comp[y])
            ax.text(at + 5 * px, y, text, va="center", ha="left", color=FAINT, fontproperties=_font(label_size))
            continue
        end = v if comp is None or math.isnan(comp[y]) else (max(v, comp[y]) if v >= 0 else min(v, comp[y]))
        ax.text(end + (5 * px if v >= 0 else -5 * px), y, text, va="center", ha="left" if v >= 0 else "right",
                color=INK, fontproperties=_font(label_size))
    ax.set_xticks([])
    ax.set_yticks(ys, names)
    ax.tick_params(axis="y", length=0, pad=6, labelcolor=INK, labelsize=label_size)


def _vbars(c: _Canvas, spec: BarData, vals: np.ndarray, comp: np.ndarray | None, value_labels: list[str],
           header: float) -> None:
    n = len(vals)
    col = (c.w - 2 * PAD) / n
    size = TEXT_PT if n <= 12 else SMALL_PT
    rotate = any(c.text_width(str(s), size) > col - 6 for s in spec.labels)  # slanted rather than cut short
    left = PAD
    if rotate:  # labels slanted at 35 degrees, ending under their bar: the first ones need room on the left
        names = [c.fit(str(s), 110, size) for s in spec.labels]
        widths = [c.text_width(s, size) * math.cos(math.radians(35)) for s in names]
        left = PAD + max(0.0, max(w - (i + 0.5) * col for i, w in enumerate(widths)))
        col = (c.w - left - PAD) / n
        name_h = max(widths) * math.tan(math.radians(35)) + 14
    else:
        names = [str(s) for s in spec.labels]
        name_h = 14
    ax = c.axes(left, header + 4, PAD, PAD + name_h)
    _style_axes(ax)
    plot_h = c.h - header - 4 - PAD - name_h
    heights = [13.0] * n
    lo, hi = _value_range(vals, comp, heights, plot_h, 2)
    ax.set_ylim(lo, hi)
    ax.set_xlim(-0.5, n - 0.5)
    xs = np.arange(n)
    ax.bar(xs, np.where(np.isnan(vals), 0.0, vals), width=0.66, color=MAIN, zorder=2)
    if lo < 0:
        ax.axhline(0, color=AXIS, linewidth=0.8, zorder=3)
    if comp is not None:
        marker = min(col * 0.8, 40) * 72 / 100
        ax.plot(xs, comp, linestyle="none", marker="_", markersize=marker, markeredgewidth=2, color=GHOST, zorder=4)
    px = (hi - lo) / plot_h
    for x, v, text in zip(xs, vals, value_labels):
        if math.isnan(v):
            ax.text(x, 2 * px, text, va="bottom", ha="center", color=FAINT, fontproperties=_font(SMALL_PT))
            continue
        end = v if comp is None or math.isnan(comp[x]) else (max(v, comp[x]) if v >= 0 else min(v, comp[x]))
        ax.text(x, end + (2 * px if v >= 0 else -2 * px), text, va="bottom" if v >= 0 else "top", ha="center",
                color=INK, fontproperties=_font(size if col >= 40 else SMALL_PT))
    ax.set_yticks([])
    ax.set_xticks(xs, names)
    ax.tick_params(axis="x", length=0, pad=5, labelcolor=INK, labelsize=size)
    if rotate:
        for t in ax.get_xticklabels():
            t.set_rotation(35)
            t.set_ha("right")
            t.set_rotation_mode("anchor")


def _bar_alt(spec: BarData, vals: np.ndarray) -> str:
    head = f"Bar chart: {spec.title.rstrip('.')}"
    if len(vals) == 0 or np.isnan(vals).all():
        return f"{head}. {NO_DATA}."
    shown = 12
    parts = []
    for i, (label, v) in enumerate(zip(spec.labels, vals)):
        if i == shown:
            break
        s = f"{label} {format_value(None if math.isnan(v) else float(v), spec.fmt)}"
        if spec.compare is not None and spec.compare[i] is not None:
            s += f" (previously {format_value(spec.compare[i], spec.fmt)})"
        parts.append(s)
    more = len(vals) - shown
    tail = f", and {more} more" if more > 0 else ""
    return f"{head}: {', '.join(parts)}{tail}."


# -- heatmap ----------------------------------------------------------------------------------------

def _cmap() -> ListedColormap:
    # Blues without its near-white end, so that a low value stays distinguishable from a missing (grey) cell
    blues = colormaps["Blues"]
    cm = ListedColormap(blues(np.linspace(0.12, 0.95, 256)), name="daypulse_blues")
    return cm.with_extremes(bad=MISSING_CELL)


def _heatmap(spec: HeatmapData, width: int, scale: int) -> Png:
    _check_fmt(spec.fmt)
    nr, nc = len(spec.rows), len(spec.cols)
    if len(spec.values) != nr or any(len(r) != nc for r in spec.values):
        raise ValueError(f"{spec.title}: values must be {nr} rows of {nc} values")
    grid = np.array([[math.nan if v is None else float(v) for v in r] for r in spec.values], dtype=float)
    grid = grid.reshape(nr, nc)
    if not all(isinstance(x, str) for x in [*spec.rows, *spec.cols]):  # e.g. hours as numbers
        spec = HeatmapData(spec.title, [str(r) for r in spec.rows], [str(c) for c in spec.cols], spec.values, spec.fmt)
    alt = _heatmap_alt(spec, grid)
    if grid.size == 0 or np.isnan(grid).all():
        c = _Canvas(width, PLACEHOLDER_HEIGHT, scale)
        _placeholder(c, spec.title)
        return Png(c.png(), alt, width, PLACEHOLDER_HEIGHT)
    header = PAD + 24 + 18
    c = _Canvas(width, PLACEHOLDER_HEIGHT, scale)  # the height once the labels are measured
    row_size = TEXT_PT if nr <= 14 else SMALL_PT
    names = [c.fit(s, width * 0.28, row_size) for s in spec.rows]
    left = PAD + max(c.text_width(s, row_size) for s in names) + 8
    cell_w = (width - left - PAD) / nc
    cell_h = max(14.0, min(cell_w * 0.95, 26.0)) if nr <= 14 else max(11.0, min(cell_w * 0.8, 18.0))
    bottom = PAD + 16
    height = round(header + 4 + cell_h * nr + bottom)
    c.set_height(height)
    c.title(spec.title)
    lo, hi = float(np.nanmin(grid)), float(np.nanmax(grid))
    if lo >= 0:
        lo = 0.0
    if hi == lo:
        hi = lo + 1
    norm = Normalize(lo, hi)
    cmap = _cmap()
    ax = c.axes(left, header + 4, PAD, bottom)
    ax.pcolormesh(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, edgecolors=BG, linewidth=1.0)
    ax.set_xlim(0, nc)
    ax.set_ylim(nr, 0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.tick_params(length=0, labelsize=SMALL_PT, labelcolor=MUTED, labelfontfamily=FONT, pad=4)
    # column labels: all if they fit, else every 2nd/3rd/...
    col_w = max((c.text_width(s, SMALL_PT) for s in spec.cols), default=0) + 4
    step = max(1, math.ceil(col_w / cell_w))
    while step < nc and step not in (1, 2, 3, 4, 6, 8, 12) and nc % step:
        step += 1
    picks = list(range(0, nc, step))
    ax.set_xticks([i + 0.5 for i in picks], [spec.cols[i] for i in picks])
    ax.set_yticks([i + 0.5 for i in range(nr)], names)
    ax.tick_params(axis="y", labelsize=row_size, labelcolor=INK)

    # the values in the cells when they fit
    top = max(abs(lo), abs(hi))
    cell_labels = [[None if math.isnan(v) else _short(float(v), spec.fmt, top).replace(",", "") for v in r]
                   for r in grid]
    cell_pt = 7.0 if cell_w < 26 else SMALL_PT
    widest = max(c.text_width(s, cell_pt) for s in {s for r in cell_labels for s in r if s})
    # a small grid only: hundreds of numbers are noise (and slow to draw)
    if widest + 3 <= cell_w and cell_h >= 12 and nr * nc <= 8 * 24:
        for i, r in enumerate(cell_labels):
            for j, s in enumerate(r):
                if s is None:
                    continue
                rgb = cmap(norm(grid[i, j]))
                light = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
                ax.text(j + 0.5, i + 0.5, s, ha="center", va="center", fontproperties=_font(cell_pt),
                        color="#ffffff" if light < 0.5 else INK)
    _scale_legend(c, cmap, lo, hi, spec.fmt, PAD + 24, bool(np.isnan(grid).any()))
    return Png(c.png(), alt, width, height)


def _scale_legend(c: _Canvas, cmap: ListedColormap, lo: float, hi: float, fmt: str, y: float,
                  missing: bool) -> None:
    """A small gradient, 'low … high', right-aligned in the row under the title."""
    top = max(abs(lo), abs(hi))
    hi_text = _short(hi, fmt, top)
    lo_text = _short(lo, fmt, top)
    bar_w, bar_h = 90, 8
    x1 = c.w - PAD - c.text_width(hi_text, SMALL_PT) - 5
    x0 = x1 - bar_w
    c.text(c.w - PAD, y + bar_h / 2 + 1, hi_text, size=SMALL_PT, color=MUTED, ha="right", va="center")
    c.text(x0 - 5, y + bar_h / 2 + 1, lo_text, size=SMALL_PT, color=MUTED, ha="right", va="center")
    key = "Darker = more" + ("; grey = no data" if missing else "")
    c.text(PAD, y + bar_h / 2 + 1, key, size=SMALL_PT, color=MUTED, va="center")
    ax = c.fig.add_axes((x0 / c.w, 1 - (y + bar_h + 1) / c.h, bar_w / c.w, bar_h / c.h))
    ax.imshow(np.linspace(0, 1, 256).reshape(1, -1), cmap=cmap, aspect="auto", interpolation="bilinear",
              extent=(0, 1, 0, 1))
    ax.set_axis_off()


def _day_name(row: str) -> str:
    """'Tue' or 'tuesday' -> 'Tuesday'; other labels (dates) as they are."""
    name = _WEEKDAYS.get(row.strip().lower()[:3])
    return name if name and name.lower().startswith(row.strip().lower()) else row


def _hour_span(col: str) -> str:
    if col.isdigit() and len(col) <= 2 and int(col) < 24:
        h = int(col)
        return f"{h:02d}:00–{h + 1:02d}:00"
    return col


def _heatmap_alt(spec: HeatmapData, grid: np.ndarray) -> str:
    head = f"Heatmap: {spec.title.rstrip('.')}"
    if grid.size == 0 or np.isnan(grid).all():
        return f"{head}. {NO_DATA}."

    def cell(i: int, j: int) -> str:
        return f"{_hour_span(spec.cols[j])} on {_day_name(spec.rows[i])} ({format_value(grid[i, j], spec.fmt)})"

    most, least = ("busiest", "quietest") if spec.fmt == "integer" else ("highest", "lowest")
    busiest = f"{most} {cell(*np.unravel_index(int(np.nanargmax(grid)), grid.shape))}"
    quietest = f"{least} {cell(*np.unravel_index(int(np.nanargmin(grid)), grid.shape))}"
    span = f"{len(spec.rows)} rows ({spec.rows[0]} to {spec.rows[-1]}) by {len(spec.cols)} columns"
    return f"{head}: {busiest}; {quietest}; {span}."
