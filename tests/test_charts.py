"""Report charts: PNG bytes in memory, opaque light background, deterministic, alt text in words."""

from __future__ import annotations

import hashlib
import io
import math
import subprocess
import sys
import threading
from datetime import date, timedelta

import pytest
from PIL import Image

from daypulse.report.charts import BarData, HeatmapData, LineData, Png, format_value, render_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
END = date(2026, 11, 20)
DAYS = [END - timedelta(days=29 - i) for i in range(30)]


def signups(**kw) -> LineData:
    values = [20 + (i * 7) % 11 + i // 3 for i in range(30)]
    values[-1] = 34
    compare = [18 + (i * 5) % 9 + i // 4 for i in range(30)]
    args = {"title": "New signups, last 30 days", "x": DAYS, "values": values, "compare": compare,
            "compare_label": "previous 30 days", "fmt": "integer", "good": "up"}
    return LineData(**(args | kw))


def outcomes(**kw) -> BarData:
    args = {"title": "Calls by outcome", "labels": ["interested", "not_interested", "voicemail", "no_answer"],
            "values": [120, 80, 64, 41], "fmt": "integer"}
    return BarData(**(args | kw))


def by_hour(**kw) -> HeatmapData:
    rows = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    cols = [f"{h:02d}" for h in range(24)]
    values = [[round(30 * math.exp(-((h - 10.5) ** 2) / 12)) + d for h in range(24)] for d in range(7)]
    values[1][10] = 42
    args = {"title": "Calls by hour", "rows": rows, "cols": cols, "values": values, "fmt": "integer"}
    return HeatmapData(**(args | kw))


def decode(png: Png, width_px: int = 560, dpi: int = 2) -> Image.Image:
    assert png.data.startswith(PNG_SIGNATURE)
    img = Image.open(io.BytesIO(png.data))
    img.load()
    assert img.format == "PNG"
    assert img.size == (width_px * dpi, png.height * dpi)
    assert png.width == width_px
    return img


def assert_opaque_light(img: Image.Image) -> None:
    """No transparency anywhere (dark-mode mail clients) and light corners."""
    assert img.mode in ("RGB", "RGBA")
    if img.mode == "RGBA":
        assert img.getchannel("A").getextrema() == (255, 255)
    rgb = img.convert("RGB")
    w, h = rgb.size
    for xy in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (w // 2, 1)]:
        assert min(rgb.getpixel(xy)) >= 240, xy


ALL = {
    "line": signups(),
    "bar": outcomes(),
    "bar_compare": outcomes(compare=[100, 90, None, 45]),
    "bar_vertical": outcomes(horizontal=False),
    "heatmap": by_hour(),
}


@pytest.mark.parametrize("name", list(ALL))
def test_renders_opaque_light_png_of_the_asked_size(name):
    png = render_chart(ALL[name])
    img = decode(png)
    assert_opaque_light(img)
    assert 100 <= png.height <= 900
    assert png.alt


@pytest.mark.parametrize("width_px,dpi", [(600, 1), (400, 2), (560, 3)])
def test_other_sizes(width_px, dpi):
    for spec in (signups(), outcomes(), by_hour()):
        decode(render_chart(spec, width_px=width_px, dpi=dpi), width_px, dpi)


@pytest.mark.parametrize("name", list(ALL))
def test_same_data_same_bytes(name):
    assert render_chart(ALL[name]).data == render_chart(ALL[name]).data


def test_different_data_different_bytes():
    assert render_chart(signups()).data != render_chart(signups(values=[v + 1 for v in signups().values])).data


def test_line_alt_latest_and_trend():
    spec = signups()
    alt = render_chart(spec).alt
    avg_now = sum(spec.values) / 30
    avg_before = sum(spec.compare) / 30
    change = round((avg_now - avg_before) / avg_before * 100)
    assert alt.startswith("Line chart: New signups, last 30 days. Latest 34 on 2026-11-20, ")
    assert f"up {change}% on the previous 30 days" in alt
    assert f"(average {avg_now:.1f} vs {avg_before:.1f})" in alt


def test_line_alt_without_comparison_and_grains():
    spec = signups(compare=None, compare_label=None, values=[10.0] * 29 + [15.0])
    assert render_chart(spec).alt.endswith("Latest 15 on 2026-11-20, up 50% from 10 on 2026-10-22.")
    weeks = [date(2026, 9, 7) + timedelta(weeks=i) for i in range(10)]
    alt = render_chart(signups(x=weeks, values=[5] * 10, compare=None, grain="week")).alt
    assert "Latest 5 on the week of 2026-11-09, the same as 5 on the week of 2026-09-07." in alt
    months = [date(2026, m, 1) for m in range(1, 12)]
    alt = render_chart(signups(x=months, values=list(range(11)), compare=[None] * 11, grain="month")).alt
    assert "Latest 10 on November 2026" in alt


def test_currency_cents_in_alt_are_exact_dollars_and_cents():
    """Alt text: exact ($1,234.56); labels on the chart: short ($1,235, $12.3k); axis: compact ($1.2k)."""
    spec = signups(values=[100_000 + i for i in range(29)] + [123456], compare=None, fmt="currency")
    assert "Latest $1,234.56 on 2026-11-20" in render_chart(spec).alt
    assert format_value(123456, "currency") == "$1,234.56"
    assert format_value(123456, "currency", "short") == "$1,235"
    assert format_value(1_234_567, "currency", "short") == "$12.3k"
    assert format_value(-250, "currency") == "−$2.50"  # the real minus sign, as in reports


@pytest.mark.parametrize("value,fmt,exact,short", [
    (1234, "integer", "1,234", "1,234"),
    (123456, "integer", "123,456", "123k"),
    (12345, "integer", "12,345", "12.3k"),
    (3.14159, "number", "3.14", "3.14"),
    (0.25, "percent", "25%", "25%"),
    (0.1234, "percent", "12.3%", "12.3%"),
    (45, "duration", "45s", "45s"),
    (185, "duration", "3m 5s", "3m 5s"),
    (3720, "duration", "1h 2m", "1h 2m"),
    (86390, "duration", "1d", "1d"),  # rounds up to a whole day, never "24h"
    (None, "integer", "no value", "no value"),
])
def test_format_value(value, fmt, exact, short):
    assert format_value(value, fmt) == exact
    assert format_value(value, fmt, "short") == short


def test_percent_and_duration_alt():
    spec = signups(values=[0.2] * 29 + [0.25], compare=[0.18] * 30, fmt="percent")
    alt = render_chart(spec).alt
    assert "Latest 25% on 2026-11-20, up 2.2 points on the previous 30 days (average 20.2% vs 18%)" in alt
    spec = signups(values=[200] * 30, compare=[240] * 30, fmt="duration", good="down")
    assert "Latest 3m 20s on 2026-11-20, down 17% on the previous 30 days (average 3m 20s vs 4m)" in render_chart(
        spec).alt


def test_gaps_are_drawn_and_counted():
    values = list(signups().values)
    for i in (3, 4, 10, 12):
        values[i] = None
    png = render_chart(signups(values=values))
    decode(png)
    assert png.alt.endswith("No value for 4 of 30 days.")
    assert png.data != render_chart(signups()).data
    # a trailing gap: the latest value is the last one there is
    values[-1] = None
    assert f"Latest {values[-2]} on 2026-11-19," in render_chart(signups(values=values)).alt


@pytest.mark.parametrize("spec", [
    signups(values=[None] * 30),
    signups(x=[], values=[], compare=[]),
    signups(values=[None] * 30, compare=None),
    outcomes(labels=[], values=[]),
    outcomes(values=[None] * 4),
    by_hour(values=[[None] * 24 for _ in range(7)]),
    by_hour(rows=[], values=[]),
], ids=["line-none", "line-empty", "line-none-nocompare", "bar-empty", "bar-none", "heatmap-none", "heatmap-empty"])
def test_empty_data_gives_a_placeholder(spec):
    png = render_chart(spec)
    assert_opaque_light(decode(png))
    assert png.alt.endswith("No data for this period.")


@pytest.mark.parametrize("spec", [
    signups(values=[34] + [None] * 29, compare=None),  # one point
    signups(x=[END], values=[5], compare=[3]),  # one period
    signups(values=[0] * 30, compare=[0] * 30),  # all zero
    signups(values=[-5.5 + i for i in range(30)], fmt="number", compare=None),  # negative
    signups(values=[7] * 30, fmt="percent", compare=None),
    signups(values=[None, 3] * 15, compare=None),  # isolated points
    signups(x=[date(2025, 1, 1) + timedelta(days=i) for i in range(400)], values=list(range(400)), compare=None),
    signups(x=[date(2026, 1, 5) + timedelta(weeks=i) for i in range(52)], values=list(range(52)), compare=None,
            grain="week"),
    signups(x=[date(2020 + i // 4, i % 4 * 3 + 1, 1) for i in range(12)], values=list(range(12)), compare=None,
            grain="quarter"),
    outcomes(values=[-30, 10, None, 55], compare=[-10, None, 5, 60]),
    outcomes(values=[0, 0, 0, 0]),
    outcomes(labels=[f"Sales representative {i}" for i in range(10)], values=list(range(10)),
             compare=[None, *range(9)], horizontal=False),  # slanted labels
    by_hour(rows=["Mon"], cols=["09"], values=[[3]]),
    by_hour(values=[[7] * 24 for _ in range(7)]),
], ids=["one-point", "one-period", "zeros", "negative", "flat-percent", "isolated", "400-days", "52-weeks",
        "quarters", "bar-negative", "bar-zeros", "bar-slanted", "heatmap-1x1", "heatmap-flat"])
def test_edge_cases_render(spec):
    assert_opaque_light(decode(render_chart(spec)))


def test_many_bars_and_long_labels():
    labels = [f"Staff member {i} with a really quite long name that goes on" for i in range(25)]
    spec = BarData("Revenue by staff", labels, [float(i * 123_456) for i in range(25)], "currency")
    png = render_chart(spec)
    decode(png)
    assert png.height > 25 * 15  # every bar has a readable row
    assert png.alt.startswith(f"Bar chart: Revenue by staff: {labels[0]} $0.00, {labels[1]} $1,234.56,")
    assert png.alt.endswith(", and 13 more.")


def test_bar_alt():
    alt = render_chart(outcomes(compare=[100, None, 50, 45])).alt
    assert alt == ("Bar chart: Calls by outcome: interested 120 (previously 100), not_interested 80, "
                   "voicemail 64 (previously 50), no_answer 41 (previously 45).")


def test_heatmap_24_columns_fits_and_says_busiest():
    png = render_chart(by_hour())
    img = decode(png)
    assert img.size[0] == 1120
    assert png.alt.startswith("Heatmap: Calls by hour: busiest 10:00–11:00 on Tuesday (42)")


def test_heatmap_with_missing_cells_and_many_rows():
    rows = [(END - timedelta(days=30 - i)).isoformat() for i in range(31)]
    values = [[None if h < 6 else (h * 7 + d) % 50 for h in range(24)] for d in range(31)]
    png = render_chart(HeatmapData("Orders by hour", rows, [f"{h:02d}" for h in range(24)], values, "integer"))
    assert_opaque_light(decode(png))
    assert "2026-10-21" in png.alt


def test_decimals_datetimes_and_numeric_hours_are_accepted():
    from datetime import datetime
    from decimal import Decimal

    line = signups(x=[datetime(d.year, d.month, d.day) for d in DAYS], values=[Decimal(v) for v in signups().values])
    assert render_chart(line).alt == render_chart(signups()).alt
    heat = by_hour(cols=list(range(24)), values=[[Decimal(v) for v in r] for r in by_hour().values])
    png = render_chart(heat)
    assert png.data == render_chart(by_hour(cols=[str(h) for h in range(24)])).data
    assert "busiest 10:00–11:00 on Tuesday (42)" in png.alt


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="same length"):
        render_chart(signups(values=[1, 2]))
    with pytest.raises(ValueError, match="fmt"):
        render_chart(outcomes(fmt="dollars"))
    with pytest.raises(ValueError, match="rows of"):
        render_chart(by_hour(values=[[1] * 23] * 7))
    with pytest.raises(ValueError, match="width_px"):
        render_chart(outcomes(), width_px=10)
    with pytest.raises(TypeError):
        render_chart("a chart")  # type: ignore[arg-type]


def test_threads_render_the_same_bytes():
    specs = [signups(), outcomes(), by_hour()] * 2
    expected = [render_chart(s).data for s in specs]
    got: list[bytes | None] = [None] * len(specs)

    def run(i):
        got[i] = render_chart(specs[i]).data

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(specs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == expected


def test_no_pyplot_no_global_state_same_bytes_in_another_process():
    code = """
import sys
import matplotlib
before = {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}  # (reading it imports pyplot)
from datetime import date
from daypulse.report.charts import BarData, HeatmapData, LineData, render_chart
line = render_chart(LineData("t", [date(2026, 1, 1), date(2026, 1, 2)], [1, 2], [2, 1], "prev", "integer", "up"))
render_chart(BarData("t", ["a"], [1], "integer"))
render_chart(HeatmapData("t", ["Mon"], ["00"], [[1]], "integer"))
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
after = {k: matplotlib.rcParams[k] for k in matplotlib.rcParams if k != "backend"}
assert {k for k in before if before[k] != after[k]} == set(), "rcParams changed"
print(hashlib.sha256(line.data).hexdigest())
"""
    out = subprocess.run([sys.executable, "-c", "import hashlib" + code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # and the bytes are the same in another process (another hash seed): fit for snapshot tests
    here = render_chart(LineData("t", [date(2026, 1, 1), date(2026, 1, 2)], [1, 2], [2, 1], "prev", "integer", "up"))
    assert out.stdout.strip() == hashlib.sha256(here.data).hexdigest()
