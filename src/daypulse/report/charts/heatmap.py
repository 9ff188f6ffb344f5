"""The heatmap: rows of days by columns of hours, with a colour scale."""

from __future__ import annotations

import math

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, Normalize

from daypulse.report.charts.canvas import (
    BG,
    FONT,
    INK,
    MISSING_CELL,
    MUTED,
    NO_DATA,
    PAD,
    PLACEHOLDER_HEIGHT,
    SMALL_PT,
    TEXT_PT,
    WEEKDAYS,
    Canvas,
    font,
    placeholder,
)
from daypulse.report.charts.model import HeatmapData, Png
from daypulse.report.format import check_format, format_value, short_value

# -- heatmap ----------------------------------------------------------------------------------------

def _cmap() -> ListedColormap:
    # Blues without its near-white end, so that a low value stays distinguishable from a missing (grey) cell
    blues = colormaps["Blues"]
    cm = ListedColormap(blues(np.linspace(0.12, 0.95, 256)), name="daypulse_blues")
    return cm.with_extremes(bad=MISSING_CELL)


def heatmap(spec: HeatmapData, width: int, scale: int) -> Png:
    check_format(spec.fmt)
    nr, nc = len(spec.rows), len(spec.cols)
    if len(spec.values) != nr or any(len(r) != nc for r in spec.values):
        raise ValueError(f"{spec.title}: values must be {nr} rows of {nc} values")
    grid = np.array([[math.nan if v is None else float(v) for v in r] for r in spec.values], dtype=float)
    grid = grid.reshape(nr, nc)
    if not all(isinstance(x, str) for x in [*spec.rows, *spec.cols]):  # e.g. hours as numbers
        spec = HeatmapData(spec.title, [str(r) for r in spec.rows], [str(c) for c in spec.cols], spec.values, spec.fmt)
    alt = _heatmap_alt(spec, grid)
    if grid.size == 0 or np.isnan(grid).all():
        c = Canvas(width, PLACEHOLDER_HEIGHT, scale)
        placeholder(c, spec.title)
        return Png(c.png(), alt, width, PLACEHOLDER_HEIGHT)
    header = PAD + 24 + 18
    c = Canvas(width, PLACEHOLDER_HEIGHT, scale)  # the height once the labels are measured
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
    cell_labels = [[None if math.isnan(v) else short_value(float(v), spec.fmt, top).replace(",", "") for v in r]
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
                ax.text(j + 0.5, i + 0.5, s, ha="center", va="center", fontproperties=font(cell_pt),
                        color="#ffffff" if light < 0.5 else INK)
    _scale_legend(c, cmap, lo, hi, spec.fmt, PAD + 24, bool(np.isnan(grid).any()))
    return Png(c.png(), alt, width, height)


def _scale_legend(c: Canvas, cmap: ListedColormap, lo: float, hi: float, fmt: str, y: float,
                  missing: bool) -> None:
    """A small gradient, 'low … high', right-aligned in the row under the title."""
    top = max(abs(lo), abs(hi))
    hi_text = short_value(hi, fmt, top)
    lo_text = short_value(lo, fmt, top)
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
    name = WEEKDAYS.get(row.strip().lower()[:3])
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
