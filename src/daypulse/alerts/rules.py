"""Metric alert rules (DESIGN §9): what a rule says, and the episodes a series of complete
periods gives it (pure).

A rule watches one metric at one grain for one set of dimension values:

- ``threshold``: the value is ``above`` or ``below`` a limit (stored units: cents, a fraction);
- ``change``: the value against the previous period (or the same weekday a week before) rose
  (``above``) or fell (``below``) by more than ``value`` -- a fraction (0.5 = 50 %) with
  ``by: percent``, stored units with ``by: absolute``;
- ``anomaly``: the value is unusual for its history (the same weekday for daily values, else
  the periods before): the robust score z = (x - median) / (1.4826 x MAD) beyond ``value``
  (default 3.5) high (``above``), low (``below``) or either (``any``), as reports judge it.

De-noising: an event **opens** on the N-th breaching period in a row (``periods: N``), with that
period's value and limit; it stays open while the periods keep breaching and is **resolved** on
the first that does not; the rule is then re-armed: N breaching periods in a row open a new one.
A period without a value breaks a run (and resolves nothing: it is unknown).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date

from daypulse.judgement import scale

KINDS = ("threshold", "change", "anomaly")
OPS = ("above", "below", "any")
SEVERITIES = ("warning", "critical")
MIN_HISTORY = 4  # an anomaly needs this many earlier values to be judged
HISTORY = 8  # and reads at most this many


@dataclass(frozen=True)
class Rule:
    name: str
    metric: str
    kind: str = "threshold"
    op: str = "above"
    value: float = 0.0  # the limit, the change, or the z beyond which a value is unusual
    grain: str = "day"
    dims: dict[str, str] = field(default_factory=dict)
    by: str = "percent"  # change: percent | absolute
    compare: str = "previous"  # change: previous | same_weekday
    periods: int = 1  # N consecutive breaching periods open an event
    severity: str = "warning"
    note: str | None = None
    source: str = "daypulse.yml"  # or "threshold N" (a rule kept in the store)


@dataclass(frozen=True)
class Verdict:
    period: date
    value: float | None
    limit: float | None  # what the value was held against: the limit, the base moved by the change, z
    breach: bool | None  # None: not judged (no value, no base, too little history)
    why: str | None = None  # when not judged


@dataclass(frozen=True)
class Episode:
    opened: date  # the period it opened on (the N-th breaching one)
    value: float | None
    limit: float | None
    resolved: date | None  # the first period that did not breach, None: still open


def judge(rule: Rule, periods: list[date], values: dict[date, float | None],
          base_of: dict[date, date | None], history_of: dict[date, list[date]], fmt: str = "number") -> list[Verdict]:
    """Each period's verdict. ``base_of``: the period a change compares with; ``history_of``: the
    periods an anomaly is judged against (oldest first); ``fmt`` the metric's format, whose
    floor keeps the anomaly's noise from being 0 (as reports judge it: ``judgement.scale``)."""
    out = []
    for p in periods:
        v = values.get(p)
        if v is None:
            out.append(Verdict(p, None, None, None, "no value"))
            continue
        if rule.kind == "threshold":
            out.append(Verdict(p, v, rule.value, _crosses(rule.op, v, rule.value)))
        elif rule.kind == "change":
            b = values.get(base_of.get(p)) if base_of.get(p) else None
            if b is None:
                out.append(Verdict(p, v, None, None, "nothing to compare with"))
                continue
            if rule.by == "percent":
                if b == 0:
                    out.append(Verdict(p, v, None, None, "the base is 0"))
                    continue
                moved = (v - b) / abs(b)
            else:
                moved = v - b
            limit = b + (rule.value if rule.op == "above" else -rule.value) * (abs(b) if rule.by == "percent" else 1)
            hit = moved > rule.value if rule.op == "above" else moved < -rule.value if rule.op == "below" \
                else abs(moved) > rule.value
            out.append(Verdict(p, v, limit, hit))
        else:
            history = [x for x in (values.get(h) for h in history_of.get(p, [])) if x is not None]
            if len(history) < MIN_HISTORY:
                out.append(Verdict(p, v, None, None, f"not enough history ({len(history)} of {MIN_HISTORY}"
                                                     " earlier values)"))
                continue
            med = statistics.median(history)
            z = (v - med) / scale(history, fmt)  # the reports' noise: 1.4826 x MAD, at least one unit
            hit = z > rule.value if rule.op == "above" else z < -rule.value if rule.op == "below" \
                else abs(z) > rule.value
            out.append(Verdict(p, v, round(z, 2), hit))
    return out


def episodes(rule: Rule, verdicts: list[Verdict]) -> list[Episode]:
    """The events of a run of verdicts, oldest first (de-noised by ``rule.periods``)."""
    out: list[Episode] = []
    run = 0
    current: Episode | None = None
    for v in verdicts:
        if v.breach is None:  # unknown: breaks a run, resolves nothing
            run = 0
            continue
        if v.breach:
            run += 1
            if current is None and run >= rule.periods:
                current = Episode(v.period, v.value, v.limit, None)
        else:
            run = 0
            if current is not None:
                out.append(Episode(current.opened, current.value, current.limit, v.period))
                current = None
    if current is not None:
        out.append(current)
    return out


def _crosses(op: str, v: float, limit: float) -> bool:
    return v > limit if op == "above" else v < limit
