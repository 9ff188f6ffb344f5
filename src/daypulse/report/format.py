"""Numbers as people read them, by the metric's format: the one formatter of every renderer.

Money is stored in cents and shown in currency units; rates are fractions shown as percents,
and a change of a rate is in percentage points ("pp"); durations are seconds. Negative numbers
take a real minus sign (−) everywhere. Styles:

* :func:`value` - reports, Slack, the dashboard: $1,234.56, 12.5%, 3m 5s; :func:`change` and
  :func:`pct` with their signs (+12, −$3.40, +1.2 pp, +20.0%);
* :func:`format_value` - charts: ``"exact"`` (alt text: 1,234 / $1,234.56 / 12.5% / 3m 5s),
  ``"average"`` (one decimal more for integers) and ``"short"`` (labels on the chart: 12.3k, $1,235);
* :func:`axis_labels` - compact axis ticks with as few decimals as keep them exact (0, 500, 1.5k, $1.2k).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from daypulse.values import negligible

EMPTY = "—"
MINUS = "−"  # a real minus sign: it lines up with + in proportional fonts
FORMATS = ("integer", "number", "currency", "percent", "duration")


# What a stored value counts in, by format (the export's raw ``value``): money in cents, rates
# as fractions, durations in seconds.
UNITS = {"integer": "count", "number": "number", "currency": "cents", "percent": "fraction",
         "duration": "seconds"}


def limit(v, fmt: str) -> str:
    """A rule's limit: as the metric's values are shown, but a fractional limit of a count keeps
    its decimals ("above 2.5", never "above 2")."""
    if fmt == "integer" and isinstance(v, float) and not v.is_integer():
        return (MINUS if v < 0 else "") + f"{abs(v):,.6g}"
    return value(v, fmt)


def value(v, fmt: str, currency: str = "$") -> str:
    if v is None:
        return EMPTY
    x = float(v) if isinstance(v, Decimal) else v
    sign = MINUS if x < 0 else ""
    a = abs(x)
    match fmt:
        case "currency":
            return f"{sign}{currency}{a / 100:,.2f}"
        case "percent":
            return f"{sign}{a * 100:.1f}%"
        case "duration":
            return sign + duration(a)
        case "integer":
            return f"{sign}{round(a):,}"
    if float(a).is_integer():
        return f"{sign}{int(a):,}"
    return f"{sign}{a:,.2f}"


NO_CHANGE = "no change"


def change(v, fmt: str, currency: str = "$") -> str:
    """A difference with its sign: +12, −$3.40, +1.2 pp; "no change" when it shows as zero."""
    if v is None:
        return EMPTY
    if negligible(v, fmt):
        return NO_CHANGE
    x = float(v) if isinstance(v, Decimal) else v
    text = f"{abs(x) * 100:.1f} pp" if fmt == "percent" else value(abs(x), fmt, currency)
    return ("+" if x > 0 else MINUS) + text


def pct(p: float | None) -> str:
    """A relative change with its sign: +20.0%, −3.1%, +1,250%; "" when there is none to show
    (Delta gives none for a zero, negative or sign-changing base, a rate, or a rounding to 0)."""
    if p is None or abs(p) < 0.0005:
        return ""
    if abs(p) >= 10:  # +1,250% rather than +1250.0%
        return f"{'+' if p > 0 else MINUS}{abs(p) * 100:,.0f}%"
    return f"{'+' if p > 0 else MINUS}{abs(p) * 100:.1f}%"


def duration(seconds: float) -> str:
    """45s, 2.5s, 3m 5s, 1h 2m, 2d 3h: at most two units, a zero second unit left out."""
    sign = MINUS if seconds < 0 else ""
    s = abs(seconds)
    if s < 10 and s != round(s):
        return f"{sign}{strip_zeros(f'{s:.1f}')}s"
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
        if h < 24:  # 86,370 s and more round up to a whole day: "1d", never "24h"
            return f"{sign}{h}h" + (f" {m}m" if m else "")
        s = 86400
    d, rest = divmod(s, 86400)
    h = round(rest / 3600)
    if h == 24:
        d, h = d + 1, 0
    return f"{sign}{d}d" + (f" {h}h" if h else "")


def arrow(change_value, verdict: str, fmt: str = "number") -> str:
    """▲/▼ follow the number's direction; the verdict colours it elsewhere. A change that shows
    as zero in ``fmt`` is "•" ("• no change", never "▲ no change")."""
    if change_value is None or verdict == "none":
        return ""
    if negligible(change_value, fmt):
        return "•"
    if change_value > 0:
        return "▲"
    if change_value < 0:
        return "▼"
    return "•"


# -- charts ----------------------------------------------------------------------------------------

def format_value(value: float | None, fmt: str, style: str = "exact") -> str:
    """``value`` in words for a metric of format ``fmt``.

    ``style="exact"`` (alt text): 1,234 / 1,234.57 / $1,234.56 / 12.5% / 3m 5s;
    ``"average"``: as exact, with one decimal more for integers (30.1);
    ``"short"`` (labels on the chart): 1,234 / 12.3k / $12.34 / $1,235 / $12.3k / 12.5% / 3m 5s.
    None is "no value".
    """
    check_format(fmt)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no value"
    v = float(value)
    if fmt == "duration":
        return duration(v)
    if fmt == "percent":
        p = v * 100
        return strip_zeros(f"{p:,.1f}") + "%" if abs(p) < 1000 else f"{p:,.0f}%"
    if style == "short":
        return short_value(v, fmt, abs(v))
    if fmt == "currency":
        return f"{MINUS if v < 0 else ''}${abs(v) / 100:,.2f}"
    if fmt == "integer":
        if style == "average" or v != round(v):
            return strip_zeros(f"{v:,.1f}")
        return f"{v:,.0f}"
    return strip_zeros(f"{v:,.2f}")


def short_value(v: float, fmt: str, top: float) -> str:
    """A label on the chart; ``top`` is the largest magnitude among the chart's labels, so that they all
    use the same style: $356, $8.8k, $13.7k rather than $8,760 next to $13.7k."""
    if fmt in ("duration", "percent"):
        return format_value(v, fmt)
    sign = MINUS if v < 0 else ""
    a = abs(v) / 100 if fmt == "currency" else abs(v)
    big = (top / 100 if fmt == "currency" else top) >= 10_000
    prefix = "$" if fmt == "currency" else ""
    if big and a >= 999.5:
        return sign + prefix + _si(a)
    if fmt == "currency":
        return f"{sign}${a:,.2f}" if top / 100 < 100 else f"{sign}${a:,.0f}"
    if fmt == "integer" or a >= 100:
        return f"{sign}{a:,.0f}"
    return sign + strip_zeros(f"{a:,.1f}" if a >= 10 else f"{a:,.2f}")


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt {fmt!r} is not one of {', '.join(FORMATS)}")


def strip_zeros(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def _si(v: float) -> str:
    """12.3k, 123k, 1.2M for v >= 1000 (v not negative)."""
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= div * 0.9995:
            x = v / div
            return (f"{x:.1f}" if x < 99.95 else f"{x:.0f}") + suffix
    return f"{v:.0f}"


def axis_labels(ticks: Sequence[float], fmt: str) -> list[str]:
    """Compact tick labels with as few decimals as keep them exact: 0, 500, 1k, 1.5k / $0, $50, $1.2k."""
    if fmt == "duration":
        return [duration(t) if t else "0" for t in ticks]
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
        sign = MINUS if x < 0 else ""
        out.append(f"{sign}{prefix}{abs(x):,.{decimals}f}{suffix}")
    return out
