"""Threshold rules: what a rule may say, and which rules the latest complete periods cross.

A rule is a metric at one grain for one set of dimension values, ``above`` or ``below`` a limit
in the metric's stored units (cents for money, a fraction for a ratio: 0.05 is 5 %), with a
severity. The API, the CLI (`daypulse thresholds`) and the dashboard's alert marks all go
through these functions; the store (``daypulse.store.thresholds``) only keeps the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from daypulse.calendar import GRAINS
from daypulse.project.model import unknown_metric
from daypulse.store.db import Store
from daypulse.store.manual import canonical
from daypulse.store.read import plain
from daypulse.store.thresholds import (
    DuplicateRule,
    RuleError,
    ThresholdRule,
    get,
    in_scope,
    insert_rule,
    latest_values,
    listing,
    remove,
)

__all__ = ["OPS", "SEVERITIES", "Breach", "DuplicateRule", "RuleError", "ThresholdRule", "add", "breaches",
           "check_rule", "get", "in_scope", "listing", "remove"]

OPS = ("above", "below")
SEVERITIES = ("warning", "critical")
MAX_DIGITS = 60  # a limit is a business number; longer is a typo (and beyond what SQLite keeps)


@dataclass(frozen=True)
class Breach:
    """A rule the latest stored value of its metric, grain and dimensions crosses."""

    threshold_id: int
    metric: str
    grain: str
    dims: dict[str, str]
    op: str
    limit: int | float
    severity: str
    note: str | None
    period_start: date  # the latest stored period
    value: int | float


# -- rules ----------------------------------------------------------------------------------

def check_rule(project, metric: str, grain: str, op: str, value, dims: dict[str, str] | None,
               severity: str) -> tuple[Decimal, dict[str, str]]:
    """The limit as an exact decimal and the dimension values, or RuleError naming the field."""
    if metric not in project.metrics:
        raise RuleError("metric", unknown_metric(project, [metric]))
    if grain not in GRAINS:
        raise RuleError("grain", f"unknown grain {grain!r} (one of {', '.join(GRAINS)})")
    if not project.grains_of(metric, [grain]):
        raise RuleError("grain", project.grain_problem([metric], grain))  # and how to opt in
    if op not in OPS:
        raise RuleError("op", f"{op!r} is not one of {', '.join(OPS)}")
    if severity not in SEVERITIES:
        raise RuleError("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    have = project.dimensions_of(metric)
    dims = dict(dims or {})
    for k, v in dims.items():
        if k not in have:
            raise RuleError(f"dims.{k}", f"metric {metric!r} has no dimension {k!r}"
                                         f" (its dimensions: {', '.join(sorted(have)) or 'none'})")
        if not isinstance(v, str) or not v.strip() or len(v) > 200:
            raise RuleError(f"dims.{k}", "a dimension value is a non-empty text of at most 200 characters")
    return limit_of(value), dims


def limit_of(value) -> Decimal:
    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleError("value", f"not a number: {value!r}") from None
    if isinstance(value, bool) or not d.is_finite():
        raise RuleError("value", f"not a finite number: {value!r}")
    d = canonical(d)
    if len(format(d, "f")) > MAX_DIGITS:
        raise RuleError("value", f"{value!r} has more than {MAX_DIGITS} digits")
    return d


def add(store: Store, project, *, metric: str, op: str, value, grain: str = "day",
        dims: dict[str, str] | None = None, severity: str = "warning", note: str | None = None,
        created_by: str) -> ThresholdRule:
    """Keep a new rule (checked against the project first); DuplicateRule if there is one already."""
    limit, dims = check_rule(project, metric, grain, op, value, dims, severity)
    return insert_rule(store, metric=metric, grain=grain, op=op, limit=limit, dims=dims, severity=severity,
                       note=(note or "").strip() or None, created_by=created_by)


# -- breaches -----------------------------------------------------------------------------

def breaches(project, store: Store, scope: dict[str, str] | None = None,
             grain: str | None = None, now: datetime | None = None) -> list[Breach]:
    """The rules the latest stored value of a period that is over (at the rule's grain, for its
    dimension values) crosses: critical first, then by metric. Rules of metrics no longer in
    the project, and values not stored (or NULL), raise nothing."""
    # Only periods that are over: a month so far is not "below" a monthly line on its 3rd day.
    cal = project.calendar
    today = cal.today(now)
    last_complete = {g: cal.shift(g, cal.period_start(g, today), 1) for g in GRAINS}
    last_complete["day"] = today - timedelta(days=1)
    out = []
    for rule, period, current, limit in latest_values(store, last_complete, grain):
        if rule.metric not in project.metrics or current is None or not in_scope(rule.dims, scope):
            continue
        if (current > limit) if rule.op == "above" else (current < limit):
            out.append(Breach(rule.id, rule.metric, rule.grain, rule.dims, rule.op, rule.limit, rule.severity,
                              rule.note, period, _whole(plain(current))))
    out.sort(key=lambda b: (b.severity != "critical", b.metric, b.threshold_id))
    return out


def _whole(v) -> int | float:
    return int(v) if isinstance(v, float) and v.is_integer() else v
