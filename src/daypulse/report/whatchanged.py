"""What changed: the largest moves, values unusual for their own history, and their drivers.

* A **move** is a change against the previous period (for a period-to-date value, the same
  point of the previous month) that is news: beyond the metric's noise
  (``daypulse.judgement``) and at least ``changes.min_change`` (10% by default) of the base,
  ranked by that relative size; tiny counts (fewer than 10 on both sides) are not news.
* An **anomaly** is judged against the metric's own history for the same weekday (daily
  reports: the last 8 Fridays for a Friday) or the previous periods (weekly, monthly), with
  a robust score: z = (x − median) / (1.4826 × MAD), so one odd week in the history does not
  hide the next. The scale has a floor (1 for counts, a dollar for money, half a point for
  rates) so a metric that is always 0 does not turn every 1 into an alarm. Fewer than
  ``min_history`` values: no verdict.
* **Drivers** of a move: the dimension values whose own moves make it up, from the dimension
  (tenant, platform, staff...) where the largest single value explains the most, each with its
  share of the moves in the total's direction (the shares, with "others", sum to 100%), and the
  values that moved the other way named as offsets.
"""

from __future__ import annotations

import statistics

from daypulse import judgement
from daypulse.report import format as F
from daypulse.report.model import Change
from daypulse.store import labels as stored_labels
from daypulse.store import read

NOISE = 10  # counts below this on both sides are not a move


def find(project, store, cal, spec, period, lines, vals, key) -> tuple[list[Change], dict[str, str]]:

    rules = spec.changes
    moves, anomalies, texts = [], [], {}
    for ln in lines:
        prev = next((d for d in ln.deltas if d.key == "previous"), None)
        if prev and _is_move(ln, prev, rules.min_change):
            moves.append(Change("move", ln.metric, ln.label, _move_text(ln, prev),
                                prev.verdict, _relative(prev)))
        if rules.anomalies and ln.value is not None:
            # Daily: the same weekday in earlier weeks (a month-to-date value: the same day of
            # earlier months); else the previous periods.
            reset = judgement.to_date_reset(project.metrics[ln.metric], spec.period)
            starts = judgement.history_starts(cal, spec.period, period.start, rules.history, reset)
            history = [vals.get((ln.metric, s)) for s in starts]
            found = _anomaly(ln, [h for h in history if h is not None], rules, spec.period, period.start, reset)
            if found:
                z, text = found
                texts[ln.metric] = text
                anomalies.append(Change("anomaly", ln.metric, ln.label, f"{ln.label}: {text}",
                                        "bad" if (z > 0) != (ln.good == "up") else "good", abs(z)))
    moves.sort(key=lambda c: -c.score)
    moves = moves[:rules.top]
    if rules.drivers:
        rising = {ln.metric: (next(d for d in ln.deltas if d.key == "previous").change or 0) > 0
                  for ln in lines if any(d.key == "previous" for d in ln.deltas)}
        moves = [_with_drivers(project, store, cal, spec, period.start, c, rules.drivers, rising[c.metric])
                 for c in moves]
    anomalies.sort(key=lambda c: -c.score)
    return moves + anomalies, texts


def _relative(d) -> float:
    """The move's size against its base (for ranking): |change| / |base|, a move from 0 the largest."""
    return abs(d.change) / abs(d.base) if d.base else float("inf")


def _is_move(ln, d, min_change: float) -> bool:
    if d.change is None or d.verdict not in ("good", "bad") or _relative(d) < min_change:
        return False  # no change, or within the metric's noise
    return not (ln.fmt == "integer" and max(abs(ln.value or 0), abs(d.base or 0)) < NOISE)


def _move_text(ln, d) -> str:
    """"Signups rose 12.0% to 112 (vs 100 the day before)": a % only where it means something
    (a positive base, no sign change, not a rate), else the change itself (+$500, 1.2 pp)."""
    verb = "rose" if d.change > 0 else "fell"
    how = F.pct(d.pct).lstrip("+" + F.MINUS) if d.pct is not None else F.change(abs(d.change), ln.fmt).lstrip("+")
    return (f"{ln.label} {verb} {how} to {F.value(ln.value, ln.fmt)}"
            f" (vs {F.value(d.base, ln.fmt)} {d.label.removeprefix('vs ')}).")


def _anomaly(ln, history: list, rules, grain: str, day, reset: str | None = None) -> tuple[float, str] | None:
    if len(history) < rules.min_history:
        return None
    med = statistics.median(history)
    z = (float(ln.value) - med) / judgement.scale(history, ln.fmt)  # the noise the colours use
    if abs(z) < rules.threshold:
        return None
    side = "high" if z > 0 else "low"
    # What the history is: the same weekday, or (month-to-date) the same day of earlier months.
    when = (f"day {day.day} of a {reset}" if reset and grain == "day" else f"this point of a {reset}" if reset
            else f"a {day:%A}" if grain == "day" else f"a {grain}")
    lo, hi = min(history), max(history)
    return z, (f"{F.value(ln.value, ln.fmt)} is unusually {side} for {when}"
               f" (the last {len(history)} were {F.value(lo, ln.fmt)} to {F.value(hi, ln.fmt)},"
               f" typically {F.value(med, ln.fmt)}).")


NOT_ADDITIVE = {"avg", "min", "max", "count_distinct"}  # a total that is not the sum of its parts


def _adds_up(project, m) -> bool:
    """Whether a metric's values by a dimension sum to its total: not a rate, a quotient, an
    average or a distinct count (a user on two platforms counts once in the total)."""
    if m.format == "percent" or m.kind == "ratio" or (m.kind == "derived" and "/" in m.expr):
        return False
    if m.kind == "cumulative" and m.of in project.metrics:
        return _adds_up(project, project.metrics[m.of])
    if m.kind == "snapshot" and m.rollup == "avg":
        return False  # each value averages over its own days with rows
    return getattr(m, "measure", None) not in NOT_ADDITIVE


def _with_drivers(project, store, cal, spec, start, c: Change, n: int, rising: bool) -> Change:
    m = project.metrics[c.metric]
    if not _adds_up(project, m):
        return c  # its per-value changes do not add up to its change
    base = judgement.base_start(cal, "previous", spec.period, start, judgement.to_date_reset(m, spec.period))
    if base is None:
        return c
    best = None
    for dim in sorted(project.dimensions_of(c.metric) - set(spec.filter)):
        rows = read.by_dimension(store, [c.metric], spec.period, min(base, start), max(base, start), dim,
                                 spec.filter)
        found = judgement.drivers({v: x for (_, p, v), x in rows.items() if p == start},
                                  {v: x for (_, p, v), x in rows.items() if p == base}, n)
        if found and found.parts and (found.parts[0][1] > 0) == rising \
                and (best is None or found.parts[0][2] > best[1].parts[0][2]):
            best = (dim, found)
    if best is None:
        return c
    dim, found = best
    shown = stored_labels.of(store, dim, [v for v, *_ in [*found.parts, *found.offsets]])  # names for ids
    shares = judgement.whole_percents([s for *_, s in found.parts] + ([found.others[1]] if found.others else []))
    of = "of the rise" if found.parts[0][1] > 0 else "of the fall"
    drivers = [f"{dim} {shown.get(v, v)} {F.change(d, m.format)} ({p}% {of})"
               for (v, d, _), p in zip(found.parts, shares, strict=False)]
    if found.others:
        drivers.append(f"others {F.change(found.others[0], m.format)} ({shares[-1]}% {of})")
    drivers += [f"offset by {dim} {shown.get(v, v)} {F.change(d, m.format)}" for v, d in found.offsets]
    return Change(c.kind, c.metric, c.label, c.text, c.verdict, c.score, drivers)
