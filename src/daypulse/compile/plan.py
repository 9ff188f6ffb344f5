"""Which periods a computation covers, and which local day each period is read at.

An event metric's week or month is aggregated over the whole period. A "point" metric
(state, window, cumulative) takes the value of the period's last day, or of today for the
current period. Nothing is computed for days after today (the ``as_of`` local date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis

from daypulse.calendar import HOUR_SLOTS, Calendar, day_num


@dataclass(frozen=True)
class GrainSpan:
    grain: str
    periods: tuple[date, ...]  # period starts intersecting the requested range
    first: date  # first local day read
    last: date  # last local day read (period end, clamped to today)

    def keys(self, cal: Calendar, now: int | None = None) -> list[tuple[int, date, int]]:
        """(period key, period start, hour) of each period: one per day for the hour grain's
        every local hour that has begun by ``now`` (key ``day * HOUR_SLOTS + hour``)."""
        if self.grain != "hour":
            return [(day_num(p), p, 0) for p in self.periods]
        return [(day_num(d) * HOUR_SLOTS + i, d, i) for d in self.periods
                for i, s in enumerate(cal.hour_starts(d)) if now is None or s < now]

    def eval_days(self, cal: Calendar, today: date) -> list[tuple[date, date]]:
        """(period_start, local day whose value the period takes) for point metrics."""
        if self.grain == "day":
            return [(p, p) for p in self.periods]
        return [(p, min(cal.period_end(self.grain, p), today)) for p in self.periods]


@dataclass(frozen=True)
class Plan:
    cal: Calendar
    start: date
    end: date
    today: date
    grains: tuple[str, ...]
    spans: dict[str, GrainSpan] = field(default_factory=dict)
    now: int | None = None  # epoch second of "now": later hours of today are not computed

    @classmethod
    def build(cls, cal: Calendar, start: date, end: date, today: date,
              grains: tuple[str, ...], now: int | None = None) -> Plan:
        end = min(end, today)
        spans = {}
        for g in grains:
            periods = tuple(cal.periods(g, start, end))
            last = min(cal.period_end(g, periods[-1]), today)
            spans[g] = GrainSpan(g, periods, periods[0], last)
        return cls(cal, start, end, today, grains, spans, now)

    def keys(self, grain: str) -> list[tuple[int, date, int]]:
        return self.spans[grain].keys(self.cal, self.now)

    @property
    def first_day(self) -> date:
        return min(s.first for s in self.spans.values())

    @property
    def last_day(self) -> date:
        return max(s.last for s in self.spans.values())

    def eval_table(self) -> ibis.Table:
        """A small in-memory table (grain, period, day) of the days point metrics are read at."""
        rows = {"grain": [], "period": [], "day": []}
        for g, span in self.spans.items():
            for p, d in span.eval_days(self.cal, self.today):
                rows["grain"].append(g)
                rows["period"].append(day_num(p))
                rows["day"].append(day_num(d))
        return ibis.memtable(rows, schema={"grain": "string", "period": "int64", "day": "int64"})

    def eval_day_range(self) -> tuple[date, date]:
        days = [d for s in self.spans.values() for _, d in s.eval_days(self.cal, self.today)]
        return min(days), max(days)


def day_spine(first: date, last: date) -> ibis.Table:
    """Every local day number in [first, last]: the dense axis running sums are taken over."""
    n = (last - first).days + 1
    start = day_num(first)
    return ibis.memtable({"day": list(range(start, start + n))}, schema={"day": "int64"})


def bucket(cal: Calendar, grain: str, day, first: date, last: date):
    """The period-start day number of local day number ``day`` for a grain (set-based); the
    hour grain is keyed by :func:`hour_key` instead."""
    if grain == "day":
        return day
    if grain == "week":
        # 1970-01-01 was a Thursday: Monday-based weeks start at day - (day + 3) % 7.
        shift = 3 if cal.week_start == "monday" else 4
        return day - (day + shift) % 7
    periods = cal.periods(grain, first, last)
    if len(periods) == 1:
        return ibis.literal(day_num(periods[0]), type="int64")
    branches = [(day < day_num(nxt), day_num(cur)) for cur, nxt in zip(periods, periods[1:])]
    return ibis.cases(*branches, else_=day_num(periods[-1])).cast("int64")


def hour_key(day, hour):
    """The hour grain's period key of local day number ``day`` and its hour (see GrainSpan.keys)."""
    return day * HOUR_SLOTS + hour
