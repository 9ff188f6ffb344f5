"""The data a chart is drawn from: a line, bars or a heatmap, and the PNG it becomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
    compare_label: str = "previous period"  # the markers' name in the legend


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
