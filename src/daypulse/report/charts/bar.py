"""The bar chart: a breakdown, values per dimension value, with the previous period marked."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D

from daypulse.report.charts.canvas import (
    AXIS,
    FAINT,
    GHOST,
    INK,
    MAIN,
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
from daypulse.report.charts.model import BarData, Png
from daypulse.report.format import check_format, format_value, short_value

# -- bar chart --------------------------------------------------------------------------------------

def bar_chart(spec: BarData, width: int, scale: int) -> Png:
    check_format(spec.fmt)
    n = len(spec.labels)
    if len(spec.values) != n or (spec.compare is not None and len(spec.compare) != n):
        raise ValueError(f"{spec.title}: labels, values and compare must be of the same length")
    vals = nums(spec.values)
    comp = nums(spec.compare)
    if comp is not None and np.isnan(comp).all():
        comp = None
    alt = _bar_alt(spec, vals)
    if n == 0 or np.isnan(vals).all():
        c = Canvas(width, PLACEHOLDER_HEIGHT, scale)
        placeholder(c, spec.title)
        return Png(c.png(), alt, width, PLACEHOLDER_HEIGHT)
    header = PAD + 24 + (20 if comp is not None else 0)
    row = 26 if n <= 15 else 21 if n <= 30 else 17
    height = header + 4 + row * n + PAD if spec.horizontal else max(round(width * 0.46), 220)
    c = Canvas(width, height, scale)
    c.title(spec.title)
    if comp is not None:
        handles = [Line2D([], [], color=MAIN, linewidth=7, solid_capstyle="butt"),
                   Line2D([], [], color=GHOST, linestyle="none", marker="|" if spec.horizontal else "_",
                          markersize=9 if spec.horizontal else 12, markeredgewidth=2)]
        c.fig.legend(handles, ["this period", spec.compare_label], loc="upper left",
                     bbox_to_anchor=(PAD / c.w, 1 - (PAD + 23) / c.h), ncol=2, frameon=False,
                     prop=font(SMALL_PT), labelcolor=MUTED, handlelength=1.6, handletextpad=0.5,
                     columnspacing=1.4, borderpad=0, borderaxespad=0)
    top = float(np.nanmax(np.abs(vals)))
    value_labels = ["no data" if math.isnan(v) else short_value(float(v), spec.fmt, top) for v in vals]
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


def _hbars(c: Canvas, spec: BarData, vals: np.ndarray, comp: np.ndarray | None, value_labels: list[str],
           header: float, row: float) -> None:
    n = len(vals)
    label_size = TEXT_PT if n <= 15 else SMALL_PT
    max_label = c.w * 0.36
    names = [c.fit(str(s), max_label, label_size) for s in spec.labels]
    left = PAD + max(c.text_width(s, label_size) for s in names) + 8
    ax = c.axes(left, header + 4, PAD, PAD)
    style_axes(ax, left_spine=False, bottom_spine=False)
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
            ax.text(at + 5 * px, y, text, va="center", ha="left", color=FAINT, fontproperties=font(label_size))
            continue
        end = v if comp is None or math.isnan(comp[y]) else (max(v, comp[y]) if v >= 0 else min(v, comp[y]))
        ax.text(end + (5 * px if v >= 0 else -5 * px), y, text, va="center", ha="left" if v >= 0 else "right",
                color=INK, fontproperties=font(label_size))
    ax.set_xticks([])
    ax.set_yticks(ys, names)
    ax.tick_params(axis="y", length=0, pad=6, labelcolor=INK, labelsize=label_size)


def _vbars(c: Canvas, spec: BarData, vals: np.ndarray, comp: np.ndarray | None, value_labels: list[str],
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
    style_axes(ax)
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
            ax.text(x, 2 * px, text, va="bottom", ha="center", color=FAINT, fontproperties=font(SMALL_PT))
            continue
        end = v if comp is None or math.isnan(comp[x]) else (max(v, comp[x]) if v >= 0 else min(v, comp[x]))
        ax.text(x, end + (2 * px if v >= 0 else -2 * px), text, va="bottom" if v >= 0 else "top", ha="center",
                color=INK, fontproperties=font(size if col >= 40 else SMALL_PT))
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
