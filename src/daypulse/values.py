"""A stored number and its key: the one shape the engine produces and the store keeps.

A leaf: the engine, the store, reports and the API all speak of metric values, so the type
lives below all of them (nothing here imports the rest of daypulse).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple, Self

Dims = tuple[tuple[str, str], ...]
Number = int | float | Decimal | None


class MetricValue(NamedTuple):
    """One stored number. A tuple: millions are made per run, so construction must be cheap."""

    metric: str
    grain: str
    period_start: date
    dims: Dims  # sorted (name, value) pairs; () is the total
    value: int | float | Decimal | None
    hour: int = 0  # the hour grain's hour of the local day (0, 1, ...); 0 for other grains

    @property
    def dims_key(self) -> str:
        """``name=value;...`` sorted by name ('' for the total); backslashes, ``;`` and ``=`` in
        values are escaped with a backslash so two different dimension sets never share a key."""
        return ";".join(f"{k}={_escape(v)}" for k, v in self.dims)


def dims_key(dims: dict[str, str]) -> str:
    """The stored key of a set of dimension values ({} is the total), as ``MetricValue.dims_key``."""
    return MetricValue("", "", date.min, tuple(sorted(dims.items())), None).dims_key


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace("=", "\\=")


def in_format(v, fmt: str):
    """A stored value as its metric's format means it: SQLite hands back floats, but counts and
    cents are whole numbers (12.0 is 12)."""
    if isinstance(v, float) and fmt in ("integer", "currency") and v.is_integer():
        return int(v)
    return v


def is_number(v) -> bool:
    """A value arithmetic can use: an int, float or Decimal (not None, not a bool)."""
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


@dataclass(frozen=True)
class Delta:
    """A value against a base (the previous period, the same weekday last week...): the change,
    the change as a fraction of the base where that means something, and whether the move is
    good or bad for the metric. Reports, dashboard tiles and the API's summary all build it
    with :meth:`between` (through ``daypulse.judgement.judge``, which adds the noise)."""

    base: Number  # the compared value
    change: Number  # value - base (None when either is missing)
    pct: float | None  # change / base: None when the base is not positive, the value is negative
    #                    (a sign change), the metric is a rate (its change is in points) or it rounds to 0
    verdict: str  # good | bad | flat | none: the direction judged by the metric's good direction

    @classmethod
    def between(cls, value: Number, base: Number, good: str, *, fmt: str = "number") -> Self:
        """The direction's verdict; whether the move is news (beyond its noise) is
        ``daypulse.judgement.judge``'s, which calls this."""
        change = value - base if is_number(value) and is_number(base) else None
        if change is None:
            return cls(base, None, None, "none")
        pct = None
        if not negligible(change, fmt) and fmt != "percent" and base > 0 and value >= 0:
            pct = change / base
            if abs(pct) < 0.0005:  # would show as 0.0%
                pct = None
        return cls(base, change, pct, "flat" if negligible(change, fmt) else verdict(change, good))


def negligible(change: Number, fmt: str) -> bool:
    """Whether a change shows as zero in the metric's format (rounded as it is shown: 0.5 of a
    count shows as 0)."""
    if not is_number(change):
        return False
    a = abs(float(change))
    shown = {"integer": round(a), "currency": round(a / 100, 2), "percent": round(a * 100, 1),
             "duration": round(a, 1)}.get(fmt, round(a, 2))
    return shown == 0


def verdict(change: Number, good: str) -> str:
    """good | bad | flat | none: a change judged by the metric's good direction (up or down)."""
    if change is None:
        return "none"
    if change == 0:
        return "flat"
    return "good" if (change > 0) == (good == "up") else "bad"
