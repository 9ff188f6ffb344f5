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

from daypulse.report.charts.bar import bar_chart
from daypulse.report.charts.heatmap import heatmap
from daypulse.report.charts.line import line_chart
from daypulse.report.charts.model import BarData, HeatmapData, LineData, Png
from daypulse.report.format import FORMATS, format_value

__all__ = ["FORMATS", "BarData", "HeatmapData", "LineData", "Png", "format_value", "render_chart"]


def render_chart(data: LineData | BarData | HeatmapData, *, width_px: int = 560, dpi: int = 2) -> Png:
    """Draw ``data`` as a PNG ``width_px`` CSS pixels wide, rendered at ``dpi`` times the pixels.

    Empty data (no points, or every value None) gives a "No data for this period" placeholder.
    """
    if not isinstance(width_px, int) or not 200 <= width_px <= 2000:
        raise ValueError(f"width_px must be a whole number of pixels from 200 to 2000, not {width_px!r}")
    if not isinstance(dpi, int) or not 1 <= dpi <= 4:
        raise ValueError(f"dpi is a scale factor from 1 to 4, not {dpi!r}")
    if isinstance(data, LineData):
        return line_chart(data, width_px, dpi)
    if isinstance(data, BarData):
        return bar_chart(data, width_px, dpi)
    if isinstance(data, HeatmapData):
        return heatmap(data, width_px, dpi)
    raise TypeError(f"render_chart: expected LineData, BarData or HeatmapData, not {type(data).__name__}")
