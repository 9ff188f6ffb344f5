"""The line chart: a metric over days, weeks or months with the comparison span dashed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from daypulse.report.charts.canvas import (
    BAD,
    BG,
    COMPARE,
    GOOD,
    GRID,
    INK,
    MAIN,
    MONTH_NAMES,
    MONTHS,
    MUTED,
    NO_DATA,
    PAD,
    PLACEHOLDER_HEIGHT,
    SMALL_PT,
    TEXT_PT,
    Canvas,
    font,
    nums,
    placeholder,
    style_axes,
)
from daypulse.report.charts.model import LineData, Png
from daypulse.report.format import axis_labels, check_format, format_value, short_value, strip_zeros

# -- line chart -------------------------------------------------------------------------------------

def line_chart(spec: LineData, width: int, scale: int) -> Png:
    check_format(spec.fmt)
    n = len(spec.x)
    if len(spec.values) != n or (spec.compare is not None and len(spec.compare) != n):
        raise ValueError(f"{spec.title}: x, values and compare must be of the same length")
    if spec.good not in ("up", "down"):
        raise ValueError(f"{spec.title}: good must be up or down, not {spec.good!r}")
    xs = [d.date() if isinstance(d, datetime) else d for d in spec.x]
    if any(b <= a for a, b in zip(xs, xs[1:])):
        raise ValueError(f"{spec.title}: x must be in increasing order")
    vals = nums(spec.values)
    comp = nums(spec.compare)
    if comp is not None and np.isnan(comp).all():
        comp = None
    alt, trend = _line_alt(spec, xs, vals, comp)
    if n == 0 or np.isnan(vals).all():
        c = Canvas(width, PLACEHOLDER_HEIGHT, scale)
        placeholder(c, spec.title)
        return Png(c.png(), alt, width, PLACEHOLDER_HEIGHT)
    height = max(round(width * 0.46), 220)
    c = Canvas(width, height, scale)

    xn = np.array([d.toordinal() for d in xs], dtype=float)
    last = int(np.flatnonzero(~np.isnan(vals))[-1])
    colour = MAIN if trend is None else GOOD if trend == spec.good else BAD
    # y range: counts from zero; ticks at nice values, the range ending on ticks
    both = vals if comp is None else np.concatenate([vals, comp])
    lo, hi = float(np.nanmin(both)), float(np.nanmax(both))
    ticks = _y_ticks(lo, hi, spec.fmt)
    labels = axis_labels(ticks, spec.fmt)
    last_label = short_value(float(vals[last]), spec.fmt, abs(float(vals[last])))

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
    style_axes(ax)

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
                va="center", color=colour if trend is not None else INK, fontproperties=font(TEXT_PT, "bold"),
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


def _line_legend(c: Canvas, spec: LineData, colour: str, trend: str | None, comp: np.ndarray,
                 vals: np.ndarray) -> None:
    handles = [Line2D([], [], color=MAIN, linewidth=2.2),
               Line2D([], [], color=COMPARE, linewidth=1.5, linestyle=(0, (4, 2.5)))]
    change = _change_words(float(np.nanmean(vals)), float(np.nanmean(comp)), spec.fmt, short=True)
    # what the second legend entry has room for: less the change, the first entry, the handles and spaces
    room = c.w - 2 * PAD - c.text_width(change or "", SMALL_PT, "bold") - c.text_width("this period", SMALL_PT) - 104
    names = ["this period", c.fit(spec.compare_label or "previous period", max(room, 40), SMALL_PT)]
    c.fig.legend(handles, names, loc="upper left", bbox_to_anchor=(PAD / c.w, 1 - (PAD + 23) / c.h),
                 ncol=2, frameon=False, prop=font(SMALL_PT), labelcolor=MUTED, handlelength=2.2,
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
        s = f"{MONTHS[d.month - 1]} {d.day}"
        if multi_year and d.year not in seen:
            seen.add(d.year)
            s += f"\n{d.year}"
        return s

    def month_label(d: date, seen: set[int]) -> str:
        s = MONTHS[d.month - 1]
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
        return f"{MONTH_NAMES[d.month - 1]} {d.year}"
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
        size = strip_zeros(f"{abs(delta):.1f}") + (" pts" if short else " points")
        flat = abs(delta) < 0.05
    elif before == 0:
        size, flat = ("from 0", False)
    else:
        rel = (now - before) / abs(before) * 100
        size = (strip_zeros(f"{abs(rel):.1f}") if abs(rel) < 10 else f"{abs(rel):,.0f}") + "%"
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
