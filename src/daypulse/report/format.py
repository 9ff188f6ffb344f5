"""Numbers as people read them, by the metric's format: one place for every renderer.

Money is stored in cents and shown in currency units; rates are fractions shown as percents,
and a change of a rate is in percentage points ("pp"); durations are seconds.
"""

from __future__ import annotations

from decimal import Decimal

EMPTY = "—"
MINUS = "−"  # a real minus sign: it lines up with + in proportional fonts


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


def change(v, fmt: str, currency: str = "$") -> str:
    """A difference with its sign: +12, −$3.40, +1.2 pp."""
    if v is None:
        return EMPTY
    x = float(v) if isinstance(v, Decimal) else v
    text = f"{abs(x) * 100:.1f} pp" if fmt == "percent" else value(abs(x), fmt, currency)
    return ("+" if x > 0 else MINUS if x < 0 else "±") + text


def pct(p: float | None) -> str:
    if p is None:
        return EMPTY
    if abs(p) >= 10:  # +1,250% rather than +1250.0%
        return f"{'+' if p > 0 else MINUS}{abs(p) * 100:,.0f}%"
    return f"{'+' if p > 0 else MINUS if p < 0 else '±'}{abs(p) * 100:.1f}%"


def duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def arrow(change_value, verdict: str) -> str:
    """▲/▼ follow the number's direction; the verdict colours it elsewhere."""
    if change_value is None or verdict == "none":
        return ""
    if change_value > 0:
        return "▲"
    if change_value < 0:
        return "▼"
    return "•"
