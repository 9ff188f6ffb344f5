"""The look shared by every chart: colours, fonts, the figure with its padding, the placeholder."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from PIL import Image

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

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")
WEEKDAYS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}


def font(size: float = TEXT_PT, weight: str = "normal") -> FontProperties:
    return FontProperties(family=FONT, size=size, weight=weight)


class Canvas:
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
            w, _, _ = self._renderer.get_text_width_height_descent(s, font(size, weight), ismath=False)
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
        return self.fig.text(x / self.w, 1 - y / self.h, s, fontproperties=font(size, weight), color=color,
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


def style_axes(ax, *, left_spine: bool = False, bottom_spine: bool = True) -> None:
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


def placeholder(c: Canvas, title: str) -> None:
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


def nums(values: Sequence[float | None] | None) -> np.ndarray | None:
    if values is None:
        return None
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
