"""What a change means: which period a value is compared with, whether its move is news, and
which dimension values drive it. The one place the report builder, the dashboard's tiles, the
API's summary and Slack take their judgement from (the numbers come from the store; this
module only reads them).

* **The base.** A value is compared with the period before, the same weekday last week or a
  year before. A *period-to-date* value (a cumulative metric with a reset, such as signups
  this month, read by day) is compared with the same point of the previous reset period: 1 Dec
  with 1 Nov, 31 Mar with 28 Feb (clamped to the shorter month), never with 30 Nov, whose value
  is the whole of November. Read by month, a quarter-to-date value is compared with the same
  month of the previous quarter (February with November), a year-to-date one with that month
  (or quarter) a year before.
* **Noise.** A move is news, and gets a colour, only when it is beyond what the same move
  usually is: the same comparison in earlier periods (for a daily value, the same weekday in
  earlier weeks against its own day before: Saturday's usual fall from Friday is not news), as
  its median and robust scale 1.4826 × MAD, and at least a floor (one unit of a count, $1 of
  money, 0.5 pp of a rate). Everything else is neutral.
* **Drivers.** The dimension values whose own moves make up the total's, each with its share of
  the moves in the total's direction (so the listed shares and "others" sum to 100%), and the
  values that moved the other way named as offsets.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from datetime import date, timedelta

from daypulse.calendar import Calendar
from daypulse.values import Delta, is_number

# The smallest move that can be news, in stored units (money in cents, rates as fractions).
FLOOR = {"integer": 1.0, "currency": 100.0, "percent": 0.005, "duration": 1.0, "number": 1.0}
GRAIN_ORDER = ("day", "week", "month", "quarter", "year")
_LAST = {"week": "last week", "month": "last month", "quarter": "last quarter", "year": "last year"}
# Grains whose periods start on a day a coarser reset period also has in the one before: a month
# of a quarter-to-date value has the same month of the previous quarter; a week has no such week.
_ALIGNED = ("day", "month", "quarter")


def to_date_reset(metric, grain: str) -> str | None:
    """The reset of a period-to-date value (a cumulative metric read finer than its reset:
    signups this month, by day), else None."""
    reset = getattr(metric, "reset", None) if getattr(metric, "kind", None) == "cumulative" else None
    if reset is None or GRAIN_ORDER.index(grain) >= GRAIN_ORDER.index(reset):
        return None
    return reset


def base_start(cal: Calendar, key: str, grain: str, start: date, reset: str | None = None) -> date | None:
    """The start of the period the one at ``start`` is compared with under ``key`` (previous,
    same_weekday, last_year); for a period-to-date value (``reset``), the same point of the
    previous reset period. None where the comparison does not apply."""
    if reset is None or key == "last_year":
        return cal.comparison_start(key, grain, start)
    if key == "same_weekday" and reset == "week":
        return start - timedelta(days=7) if grain == "day" else None
    if key != "previous" or grain not in _ALIGNED:
        return None  # a week of a month-to-date value has no "same point" a week before
    return same_point(cal, reset, start, 1)  # by month: the same month of the previous quarter


def same_point(cal: Calendar, reset: str, day: date, k: int) -> date:
    """The day at the same point of the reset period ``k`` periods before: the same weekday for
    a week, the same day (and month of the quarter or year) otherwise, clamped to that month's
    length (31 Mar -> 28 Feb). Each is found from ``day`` itself, so one short month does not
    pull every earlier one to the 28th."""
    this = cal.period_start(reset, day)
    if reset == "week":
        return day - timedelta(days=7 * k)
    months = {"month": 1, "quarter": 3, "year": 12}[reset] * k
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    first = date(year, month + 1, 1)
    last = cal.period_end("month", first)
    target = first.replace(day=min(day.day, last.day))
    return min(target, this - timedelta(days=1)) if k == 1 else target


def base_label(key: str, grain: str, reset: str | None = None) -> str:
    """What a comparison compares, in words: "vs the day before", "vs the same day last month"."""
    if reset is not None and key == "previous" and grain in _ALIGNED:
        return f"vs the same {grain} {_LAST[reset]}"
    if key == "previous":
        return {"day": "vs the day before", "week": "vs the week before", "month": "vs the month before",
                "quarter": "vs the quarter before", "year": "vs the year before"}[grain]
    if key == "same_weekday":
        return "vs the same weekday last week"
    if key == "last_year":
        return "vs a year before"
    return f"vs {key}"


def history_starts(cal: Calendar, grain: str, start: date, n: int, reset: str | None = None) -> list[date]:
    """The ``n`` periods a value's usual range is read from: for a day, the same weekday in the
    earlier weeks (Mondays differ from Sundays); for a period-to-date value, the same point of
    the earlier reset periods; else the periods just before."""
    if reset is not None:
        return [same_point(cal, reset, start, k) for k in range(1, n + 1)] if grain in _ALIGNED else []
    if grain == "day":
        return [start - timedelta(days=7 * k) for k in range(1, n + 1)]
    return [cal.shift(grain, start, k) for k in range(1, n + 1)]


HISTORY = 8  # periods a value's usual range (its noise) is read from when nothing says otherwise


@dataclass(frozen=True)
class Plan:
    """What judging one value reads: its period, its base, and for each of the earlier periods
    its noise is read from (``past``), that period and its own base."""

    key: str
    grain: str
    start: date
    base: date | None
    past: list[tuple[date, date | None]]
    reset: str | None

    @property
    def dates(self) -> list[date]:
        return [self.start, *([self.base] if self.base else []), *(d for pair in self.past for d in pair if d)]

    @property
    def label(self) -> str:
        """What the comparison compares ("" without a base: nothing is compared)."""
        return base_label(self.key, self.grain, self.reset) if self.base else ""

    def judge(self, get, good: str, fmt: str) -> Delta:
        """The Delta of the value ``get(start)`` against ``get(base)``; ``get(day)`` reads a stored
        value (None when there is none)."""
        value = get(self.start)
        base = get(self.base) if self.base else None
        moves = [get(h) - get(b) for h, b in self.past
                 if b is not None and is_number(get(h)) and is_number(get(b))]
        return judge(value, base, good, fmt, moves, [get(h) for h, _ in self.past])


def plan(cal: Calendar, key: str, grain: str, metric, start: date, n: int = HISTORY) -> Plan:
    """The comparison ``key`` of the value at ``start``: its base (the same day last month for a
    month-to-date value) and the ``n`` earlier periods whose own moves are its noise."""
    reset = to_date_reset(metric, grain)
    past = [(h, base_start(cal, key, grain, h, reset)) for h in history_starts(cal, grain, start, n, reset)]
    return Plan(key, grain, start, base_start(cal, key, grain, start, reset), past, reset)


def scale(history: list, fmt: str) -> float:
    """The metric's noise: 1.4826 × the median absolute deviation of its recent values (a
    robust standard deviation: one odd week does not widen it), at least the format's floor."""
    xs = [float(h) for h in history if is_number(h)]
    floor = FLOOR.get(fmt, 1.0)
    if len(xs) < 2:
        return floor
    med = statistics.median(xs)
    return max(1.4826 * statistics.median(abs(x - med) for x in xs), floor)


def judge(value, base, good: str, fmt: str, moves: list | None = None, levels: list | None = None) -> Delta:
    """The value against its base: the change, a meaningful % and a verdict that is good or bad
    only when the change is news: beyond the usual ``moves`` (the same comparison in earlier
    periods) by their noise, in the change's own direction (the floor alone without them). A
    quantity whose recent ``levels`` go below zero (net new MRR) gets no %: "+737%" on a flow
    that swings around zero says nothing."""
    moves = [float(m) for m in moves or [] if is_number(m)]
    d = Delta.between(value, base, good, fmt=fmt)
    if d.change is not None and d.verdict in ("good", "bad"):
        typical = statistics.median(moves) if len(moves) >= 2 else 0.0
        surprise = float(d.change) - typical
        if abs(surprise) < scale(moves, fmt) or (surprise > 0) != (d.change > 0):
            d = replace(d, verdict="flat")
    if d.pct is not None and any(is_number(h) and h < 0 for h in levels or []):
        d = replace(d, pct=None)
    return d


@dataclass(frozen=True)
class Drivers:
    """Who made a total move: ``parts`` (value, change, share of the moves in the total's
    direction), ``others`` (the rest of those moves: change, share) and ``offsets`` (values that
    moved the other way, largest first)."""

    parts: list[tuple[str, float, float]]
    others: tuple[float, float] | None
    offsets: list[tuple[str, float]]


def whole_percents(shares: list[float]) -> list[int]:
    """Shares (summing to 1) as whole percents that sum to exactly 100 (largest remainders get
    the rounding): 3/7, 2/7, 2/7 are 43, 29, 28 rather than 43, 29, 29."""
    raw = [s * 100 for s in shares]
    out = [int(r) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in by_remainder[: round(sum(raw)) - sum(out)]:
        out[i] += 1
    return out


def drivers(now: dict, before: dict, top: int, offsets: int = 2) -> Drivers | None:
    """The values behind the total's move from ``before`` to ``now`` ({value: number}); None
    when the total did not move. Ties are broken by name, so a report says the same each time."""
    deltas = {v: float(now.get(v) or 0) - float(before.get(v) or 0) for v in set(now) | set(before)}
    total = sum(deltas.values())
    if total == 0:
        return None
    rising = total > 0
    along = sorted(((v, d) for v, d in deltas.items() if d and (d > 0) == rising),
                   key=lambda vd: (-abs(vd[1]), vd[0]))
    against = sorted(((v, d) for v, d in deltas.items() if d and (d > 0) != rising),
                     key=lambda vd: (-abs(vd[1]), vd[0]))
    gross = sum(d for _, d in along)
    parts = [(v, d, d / gross) for v, d in along[:top]]
    rest = sum(d for _, d in along[top:])
    return Drivers(parts, (rest, rest / gross) if rest else None, against[:offsets])
