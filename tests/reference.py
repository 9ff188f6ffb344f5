"""An independent, pure-Python reference for daypulse's metric semantics (DESIGN §2).

It shares no code with the engine (no ibis, no ``daypulse.calendar``): only ``zoneinfo`` and
``datetime`` and plain loops, written for clarity, not speed. Given a project dict (the shape
of daypulse.yml), in-memory rows per logical table, a date range, grains and an ``as_of``
instant, :func:`expected_values` returns

    {(metric, grain, period_start, dims): value}

with ``dims`` a tuple of sorted ``(name, value)`` pairs, ``()`` for the total.

Rules (the engine's contract, restated):

* Local day D in zone Z is the UTC interval [start of D, start of D+1); start of D is the
  first instant whose local date is D (Santiago springs forward at 00:00, so its day then
  starts at 01:00 local). The local date of an instant is ``ts.astimezone(Z).date()``; naive
  timestamps are UTC. Tables with ``timestamps: local`` hold naive local wall times: their
  local date is ``ts.date()`` and day D ends at naive ``D+1 00:00``.
* event: measure over rows whose time is in day D (NULL times never count); week/month:
  over the whole period (distinct counts recounted).
* window N: rows in days [D-(N-1), D]; week/month: the value at the period's last day.
* state: rows with start < E and (end NULL or end >= E), E = start of D+1 (or ``as_of`` if
  earlier); week/month: the value at the period's last day.
* ratio: numerator / denominator for the same grain, period, dims; None if the denominator
  is 0/None or the numerator is None; for dims present in either part (the other part's
  zero-fill standing in).
* cumulative: the measure of ``of`` over [start of the reset period containing D, D];
  week/month: the value at the period's last day.
* A period's days are clamped to days <= the local date of ``as_of`` (periods starting
  after it are not computed).
* Dimensions: each on its own, plus declared breakdown combos, plus the total computed
  directly. Values become strings: NULL -> "(null)", booleans "true"/"false".
* Zero-fill: every period has a total row; in each grouping, every value *seen* (a row with
  it contributes to at least one output period of that grain in the range) gets a row for
  every period of that grain; missing -> 0 for count/count_distinct/sum, None otherwise.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

NULL_DIM = "(null)"
ZERO_MEASURES = ("count", "count_distinct", "sum")
DEFAULT_GRAINS = ("day", "week", "month")


# -- calendar ---------------------------------------------------------------------------------

def as_utc(ts: datetime) -> datetime:
    """An aware UTC datetime; naive values are UTC by definition."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def local_date(ts: datetime, zone: str) -> date:
    return as_utc(ts).astimezone(ZoneInfo(zone)).date()


@cache
def day_start(zone: str, d: date) -> datetime:
    """The first UTC instant whose local date in ``zone`` is ``d`` (aware, UTC)."""
    tz = ZoneInfo(zone)
    midnight = datetime.combine(d, time(0))
    candidates = []
    for fold in (0, 1):
        u = midnight.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if u.astimezone(tz).date() == d:
            candidates.append(u)
    # Midnight exists: the earlier reading of it. Midnight in a gap: fold=0 reads it with the
    # offset before the change, which lands after the change; walk back to the change.
    s = min(candidates)
    while (s - timedelta(seconds=1)).astimezone(tz).date() == d:
        s -= timedelta(seconds=1)
    assert (s - timedelta(microseconds=1)).astimezone(tz).date() < d
    return s


def add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


def period_start(grain: str, d: date, week_start: str) -> date:
    if grain == "day":
        return d
    if grain == "week":
        first = 0 if week_start == "monday" else 6  # date.weekday(): Monday 0 .. Sunday 6
        return d - timedelta(days=(d.weekday() - first) % 7)
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if grain == "year":
        return date(d.year, 1, 1)
    raise ValueError(grain)


def period_last_day(grain: str, d: date, week_start: str) -> date:
    s = period_start(grain, d, week_start)
    if grain == "day":
        return s
    if grain == "week":
        return s + timedelta(days=6)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return add_months(s, months) - timedelta(days=1)


def periods(grain: str, first: date, last: date, week_start: str) -> list[date]:
    """Starts of the periods of ``grain`` that intersect [first, last]."""
    out = []
    p = period_start(grain, first, week_start)
    while p <= last:
        out.append(p)
        p = period_last_day(grain, p, week_start) + timedelta(days=1)
    return out


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# -- filters and measures -----------------------------------------------------------------------

def like_regex(pattern: str) -> re.Pattern:
    out = []
    for ch in pattern:
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def _cmp(op: str, v, arg) -> bool:
    """One SQL comparison; NULL (None) never matches except through is_null."""
    if op == "is_null":
        return (v is None) == bool(arg)
    if v is None:
        return False
    if op == "eq":
        return v == arg
    if op == "ne":
        return v != arg
    if op == "lt":
        return v < arg
    if op == "le":
        return v <= arg
    if op == "gt":
        return v > arg
    if op == "ge":
        return v >= arg
    if op == "in":
        return any(a is not None and v == a for a in arg)
    if op == "not_in":
        # SQL: x NOT IN (..., NULL) is never true
        return all(a is not None for a in arg) and all(v != a for a in arg)
    if op == "like":
        return like_regex(arg).fullmatch(v) is not None
    raise ValueError(f"unknown operator {op}")


def row_matches(row: dict, where: dict) -> bool:
    for col, cond in (where or {}).items():
        v = row.get(col)
        if isinstance(cond, dict):
            if not all(_cmp(op, v, arg) for op, arg in cond.items()):
                return False
        elif isinstance(cond, list):
            if not _cmp("in", v, cond):
                return False
        elif cond is None:
            if v is not None:
                return False
        elif not _cmp("eq", v, cond):
            return False
    return True


def measure(kind: str, column: str | None, rows: list[dict]):
    if kind == "count":
        if column is None:
            return len(rows)
        return sum(1 for r in rows if r.get(column) is not None)
    values = [r[column] for r in rows if r.get(column) is not None]
    if kind == "count_distinct":
        return len(set(values))
    if kind == "sum":
        return sum(values) if values else 0
    if not values:
        return None
    if kind == "avg":
        return sum(values) / len(values)
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    raise ValueError(f"unknown measure {kind}")


def empty_value(kind: str):
    return 0 if kind in ZERO_MEASURES else None


def dim_string(v) -> str:
    if v is None:
        return NULL_DIM
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# -- the reference ------------------------------------------------------------------------------

class Reference:
    def __init__(self, project: dict, tables: dict[str, list[dict]], as_of: datetime):
        self.project = project
        self.tables = tables
        self.zone = project.get("timezone", "UTC")
        self.week_start = project.get("week_start", "monday")
        self.as_of = as_utc(as_of)
        self.as_of_date = self.as_of.astimezone(ZoneInfo(self.zone)).date()
        self.metrics = project["metrics"]
        self._parts: dict[tuple, dict] = {}

    # tables
    def is_local(self, logical: str) -> bool:
        spec = (self.project.get("tables") or {}).get(logical)
        return isinstance(spec, dict) and spec.get("timestamps") == "local"

    def row_date(self, logical: str, ts: datetime) -> date:
        return ts.date() if self.is_local(logical) else local_date(ts, self.zone)

    def end_of_day(self, logical: str, d: date):
        """The instant day d ends (start of d+1), or as_of if earlier, in the table's terms."""
        if self.is_local(logical):
            e = datetime.combine(d + timedelta(days=1), time(0))
            a = self.as_of.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
            return min(e, a)
        return min(day_start(self.zone, d + timedelta(days=1)), self.as_of)

    def instant(self, logical: str, ts: datetime):
        return ts if self.is_local(logical) else as_utc(ts)

    # metrics
    def kind(self, name: str) -> str:
        return self.metrics[name].get("kind", "event")

    def groupings(self, name: str) -> list[tuple[str, ...]]:
        m = self.metrics[name]
        if self.kind(name) == "cumulative":
            return self.groupings(m["of"])
        dims = m.get("dimensions") or {}
        out = [()] + [(d,) for d in dims]
        for combo in m.get("breakdowns") or []:
            key = tuple(sorted(combo))
            if key not in out:
                out.append(key)
        return out

    def dims_key(self, m: dict, grouping: tuple[str, ...], row: dict) -> tuple:
        dims = m.get("dimensions") or {}
        return tuple(sorted((d, dim_string(row.get(dims[d]))) for d in grouping))

    def evaluated(self, grain: str, start: date, end: date) -> list[tuple[date, date, date]]:
        """(period_start, first day, last day) per period, days clamped to as_of's date."""
        out = []
        for p in periods(grain, start, end, self.week_start):
            if p > self.as_of_date:
                continue
            last = min(period_last_day(grain, p, self.week_start), self.as_of_date)
            out.append((p, p, last))
        return out

    def filtered(self, name: str) -> list[dict]:
        """The rows of a table metric that pass its ``where`` (cached)."""
        if ("rows", name) not in self._parts:
            m = self.metrics[name]
            self._parts[("rows", name)] = [r for r in self.tables[m["table"]]
                                           if row_matches(r, m.get("where"))]
        return self._parts[("rows", name)]

    def by_date(self, name: str) -> dict[date, list[dict]]:
        """An event metric's filtered rows by local date (rows with NULL time dropped)."""
        if ("dates", name) not in self._parts:
            m = self.metrics[name]
            buckets: dict[date, list[dict]] = {}
            for r in self.filtered(name):
                ts = r.get(m["time"])
                if ts is not None:
                    buckets.setdefault(self.row_date(m["table"], ts), []).append(r)
            self._parts[("dates", name)] = buckets
        return self._parts[("dates", name)]

    def contributing(self, name: str, first: date, last: date) -> list[dict]:
        """Rows of a table metric that make up its value for the period [first, last]."""
        m = self.metrics[name]
        kind = self.kind(name)
        table = m.get("table")
        if kind == "event":
            window = m.get("window")
            if window:  # value at the last day, over the trailing window
                lo, hi = last - timedelta(days=window - 1), last
            else:
                lo, hi = first, last
            buckets = self.by_date(name)
            return [r for d in days(lo, hi) for r in buckets.get(d, [])]
        if kind == "state":
            e = self.end_of_day(table, last)
            out = []
            for r in self.filtered(name):
                s = r.get(m["start"])
                if s is None or not self.instant(table, s) < e:
                    continue
                end_col = m.get("end")
                t = r.get(end_col) if end_col else None
                if t is None or self.instant(table, t) >= e:
                    out.append(r)
            return out
        if kind == "cumulative":
            reset_start = period_start(m.get("reset", "month"), last, self.week_start)
            return self.contributing(m["of"], reset_start, last)
        raise ValueError(f"not a table metric: {name}")

    def base(self, name: str) -> dict:
        """The table metric whose measure a metric uses (itself, or ``of`` for cumulative)."""
        m = self.metrics[name]
        return self.base(m["of"]) if self.kind(name) == "cumulative" else m

    def zero_of(self, name: str):
        if self.kind(name) == "ratio":
            return None
        return 0 if self.base(name).get("measure", "count") in ("count", "count_distinct", "sum") \
            else None

    def compute(self, name: str, grain: str, start: date, end: date) -> dict:
        key = (name, grain, start, end)
        if key in self._parts:
            return self._parts[key]
        kind = self.kind(name)
        out: dict[tuple, object] = {}
        if kind == "ratio":
            m = self.metrics[name]
            num = self.compute(m["numerator"], grain, start, end)
            den = self.compute(m["denominator"], grain, start, end)
            # Dimension values of either part; a part that lacks one counts as its zero-fill
            # (0 for counts and sums, None for avg/min/max).
            for k in set(num) | set(den):
                nv = num.get(k, self.zero_of(m["numerator"]))
                dv = den.get(k, self.zero_of(m["denominator"]))
                out[k] = None if (nv is None or dv is None or dv == 0) else float(nv) / float(dv)
        elif kind == "sql":
            # By design: the SQL is the definition. tests/test_sql_metric.py checks kind: sql
            # against the equivalent event metric on every backend instead.
            raise ValueError("kind: sql is checked in test_sql_metric.py, not by the reference")
        else:
            base = self.base(name)
            meas, column = base.get("measure", "count"), base.get("column")
            evaluated = self.evaluated(grain, start, end)
            contributing = {p: self.contributing(name, first, last)
                            for p, first, last in evaluated}
            for grouping in self.groupings(name):
                seen = set()
                for rows in contributing.values():
                    for r in rows:
                        seen.add(self.dims_key(base, grouping, r))
                if grouping == ():
                    seen = {()}
                for p, rows in contributing.items():
                    buckets: dict[tuple, list] = {k: [] for k in seen}
                    for r in rows:
                        buckets[self.dims_key(base, grouping, r)].append(r)
                    for k, rs in buckets.items():
                        out[(p, k)] = measure(meas, column, rs) if rs else empty_value(meas)
        self._parts[key] = out
        return out


def expected_values(project: dict, tables: dict[str, list[dict]], start: date, end: date,
                    grains=DEFAULT_GRAINS, as_of: datetime | None = None,
                    metrics=None) -> dict[tuple, object]:
    """{(metric, grain, period_start, dims): value} for every metric and grain."""
    ref = Reference(project, tables, as_of or datetime.now(UTC))
    out = {}
    for name in metrics or project["metrics"]:
        for grain in grains:
            for (p, k), v in ref.compute(name, grain, start, end).items():
                out[(name, grain, p, k)] = v
    return out
