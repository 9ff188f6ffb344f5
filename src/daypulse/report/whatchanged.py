"""What changed: the largest moves, values unusual for their own history, and their drivers.

* A **move** is a change against the previous period of at least ``changes.min_change``
  (10% by default), ranked by its relative size; tiny counts (fewer than 10 on both sides)
  are not news.
* An **anomaly** is judged against the metric's own history for the same weekday (daily
  reports: the last 8 Fridays for a Friday) or the previous periods (weekly, monthly), with
  a robust score: z = (x − median) / (1.4826 × MAD), so one odd week in the history does not
  hide the next. The scale has a floor (1 for counts, a dollar for money, half a point for
  rates) so a metric that is always 0 does not turn every 1 into an alarm. Fewer than
  ``min_history`` values: no verdict.
* **Drivers** of a move: the dimension values whose own change explains most of it, from the
  dimension (tenant, platform, staff...) where the largest single value explains the most.
"""

from __future__ import annotations

import statistics
from datetime import timedelta

from daypulse.report import format as F
from daypulse.report.model import Change
from daypulse.store import read

FLOOR = {"integer": 1.0, "currency": 100.0, "percent": 0.005, "duration": 1.0, "number": 1.0}
NOISE = 10  # counts below this on both sides are not a move


def find(project, store, cal, spec, period, lines, vals, key) -> tuple[list[Change], dict[str, str]]:

    rules = spec.changes
    moves, anomalies, texts = [], [], {}
    prev_start = cal.comparison_start("previous", spec.period, period.start)
    for ln in lines:
        prev = next((d for d in ln.deltas if d.key == "previous"), None)
        if prev and _is_move(ln, prev, rules.min_change):
            moves.append(Change("move", ln.metric, ln.label, _move_text(ln, prev, spec.period),
                                prev.verdict, abs(prev.pct or 0)))
        if rules.anomalies and ln.value is not None:
            # Daily: the same weekday in earlier weeks; else the previous periods.
            starts = [period.start - timedelta(days=7 * k) if spec.period == "day"
                      else cal.shift(spec.period, period.start, k) for k in range(1, rules.history + 1)]
            history = [vals.get((ln.metric, s)) for s in starts]
            found = _anomaly(ln, [h for h in history if h is not None], rules, spec.period, period.start)
            if found:
                z, text = found
                texts[ln.metric] = text
                anomalies.append(Change("anomaly", ln.metric, ln.label, f"{ln.label}: {text}",
                                        "bad" if (z > 0) != (ln.good == "up") else "good", abs(z)))
    moves.sort(key=lambda c: -c.score)
    moves = moves[:rules.top]
    if rules.drivers:
        moves = [_with_drivers(project, store, spec, period.start, prev_start, c, rules.drivers)
                 for c in moves]
    anomalies.sort(key=lambda c: -c.score)
    return moves + anomalies, texts


def _is_move(ln, d, min_change: float) -> bool:
    if d.change is None or d.pct is None or abs(d.pct) < min_change:
        return False
    return not (ln.fmt == "integer" and max(abs(ln.value or 0), abs(d.base or 0)) < NOISE)


def _when(grain: str) -> str:
    return {"day": "the day before", "week": "the week before", "month": "the month before"}[grain]


def _move_text(ln, d, grain: str) -> str:
    verb = "rose" if d.change > 0 else "fell"
    how = F.change(abs(d.change), ln.fmt).lstrip("+") if ln.fmt == "percent" else F.pct(d.pct).lstrip("+" + F.MINUS)
    return (f"{ln.label} {verb} {how} to {F.value(ln.value, ln.fmt)}"
            f" (vs {F.value(d.base, ln.fmt)} {_when(grain)}).")


def _anomaly(ln, history: list, rules, grain: str, day) -> tuple[float, str] | None:
    if len(history) < rules.min_history:
        return None
    med = statistics.median(history)
    mad = statistics.median(abs(h - med) for h in history)
    scale = max(1.4826 * mad, FLOOR.get(ln.fmt, 1.0))
    z = (float(ln.value) - med) / scale
    if abs(z) < rules.threshold:
        return None
    side = "high" if z > 0 else "low"
    when = f"a {day:%A}" if grain == "day" else f"a {grain}"
    lo, hi = min(history), max(history)
    return z, (f"{F.value(ln.value, ln.fmt)} is unusually {side} for {when}"
               f" (the last {len(history)} were {F.value(lo, ln.fmt)}–{F.value(hi, ln.fmt)},"
               f" typically {F.value(med, ln.fmt)}).")


def ranked_moves(now: dict, before: dict, rising: bool) -> list[tuple[str, float]]:
    """(dimension value, change) of every value, the largest move in the direction of the total
    first; equal moves by value name, so a report says the same thing each time it is made."""
    deltas = {v: (now.get(v) or 0) - (before.get(v) or 0) for v in set(now) | set(before)}
    return sorted(deltas.items(), key=lambda kv: (-kv[1] if rising else kv[1], kv[0]))


def _with_drivers(project, store, spec, start, prev_start, c: Change, n: int) -> Change:
    m = project.metrics[c.metric]
    if m.format == "percent" or m.kind == "ratio" or (m.kind == "derived" and "/" in m.expr):
        return c  # a rate's (or any quotient's) per-value changes do not add up to its change
    dims = sorted(project.dimensions_of(c.metric) - set(spec.filter))
    best = None
    for dim in dims:
        rows = read.by_dimension(store, [c.metric], spec.period, prev_start, start, dim, spec.filter)
        now = {v: x for (_, p, v), x in rows.items() if p == start}
        before = {v: x for (_, p, v), x in rows.items() if p == prev_start}
        total = sum((now.get(v) or 0) - (before.get(v) or 0) for v in set(now) | set(before))
        if total == 0:
            continue
        ranked = ranked_moves(now, before, rising=total > 0)
        share = ranked[0][1] / total
        if best is None or share > best[0]:
            best = (share, dim, ranked, total)
    if best is None:
        return c
    _, dim, ranked, total = best
    drivers = []
    for v, d in ranked[:n]:
        if d == 0 or (d > 0) != (total > 0):
            break
        share = f" ({d / total:.0%} of the {'rise' if total > 0 else 'fall'})"
        drivers.append(f"{dim} {v} {F.change(d, m.format)}{share}")
    return Change(c.kind, c.metric, c.label, c.text, c.verdict, c.score, drivers)
