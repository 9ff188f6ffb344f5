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
  zero-fill standing in), but only for the groupings (dimension combinations) both parts
  have: a part without the dimension has no value there, not a zero.
* cumulative: the measure of ``of`` over [start of the reset period containing D, D];
  week/month: the value at the period's last day.
* movement: each entity (per dimension value: the key is (entity, dimension values)) has at
  the end of every day D the sum of ``column`` over its rows open at E (the state rule, E =
  start of D+1, or ``as_of`` if earlier). Day D compares V(D-1) ("before") with V(D)
  ("after"): new (before 0, after > 0, never above 0 at the end of any earlier day; history
  is walked day by day from the entity's first row), reactivation (the same, but above 0
  once before), expansion (before > 0, after > before), contraction (before > 0, 0 < after
  < before), churn (before > 0, after 0). ``sum`` adds the amounts, ``count`` counts
  (entity, day) movements; a week/month is the sum over its days (through as_of's date);
  ``cohort: existing`` keeps entities with V(day before the period) > 0, up to and including
  their first churn in the period (what follows a churn is not the starting cohort's).
* lifecycle: each entity (per dimension value) active (a row whose time is on a local day
  of the period, days clamped to as_of's date) in period P: new (no activity before P),
  returning (active in P-1), resurrecting (not in P-1, some activity before it); dormant:
  active in P-1, not in P. The value is the number of entities.
* derived: ``expr`` evaluated per period and dimension values (those of any part, in the
  groupings every part has, as for a ratio); a part
  without a row takes its zero-fill (0 for counts, sums, movements and lifecycle counts;
  None for avg/min/max, ratios, derived and manual). None propagates; x / 0 is None;
  int + - * int stays int, a division gives a float (or a Decimal, with a Decimal part).
* manual: the typed-in value (``manual={metric: [(from_date, value)]}``) of the latest
  date <= D; week/month: at the period's last day (or as_of's date). Total only.
* snapshot: rows (``where`` applied) whose ``time`` and ``column`` are not NULL; a row's day
  is its DATE, or the local date of its timestamp (as for events). Day D of a dimension
  value: the sum of ``column`` over its rows of D; None without one (gaps are empty, never
  carried). A week/month (days clamped to as_of's date): ``rollup: last`` reads the latest
  day of the period that has a row (of any dimension value): each value's sum on that day;
  ``sum``: the sum over all its rows of the period; ``avg``: that sum / the number of days
  the value has a row on (a float). A value is seen in a grain when a row of it is read
  (for ``last``: on a read day); zero-fill is None.
* ``column`` may be an arithmetic expression over the row's columns (``(a + b) / c``): its
  value per row, NULL if any operand is NULL or a divisor is 0; it is then measured as a column.
* ``"@hour"`` as a dimension column: the hour (``"00".."23"``) of the local wall time of
  the metric's ``time`` (for ``timestamps: local`` tables, of the naive value itself).
* A period's days are clamped to days <= the local date of ``as_of`` (periods starting
  after it are not computed).
* Dimensions: each on its own, plus declared breakdown combos, plus the total computed
  directly. Values become strings: NULL -> "(null)", booleans "true"/"false".
* Zero-fill: every period has a total row; in each grouping, every value *seen* (a row with
  it contributes to at least one output period of that grain in the range: for a measure
  with a column, a row whose column is not NULL) gets a row for every period of that
  grain; missing -> 0 for count/count_distinct/sum, None otherwise. For movement and
  lifecycle metrics a value is seen where it has a movement / entity of the status.
"""

from __future__ import annotations

import ast
import json
import operator
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

NULL_DIM = "(null)"
HOUR = "@hour"
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


def cell(row: dict, column: str):
    """A row's measured value: a column, or an arithmetic expression over its columns
    (``(likes + comments) / views``): NULL in, NULL out; a division by zero is NULL."""
    if column.isidentifier():
        return row.get(column)

    def ev(node):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return row.get(node.id)
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand)
            return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
        a, b = ev(node.left), ev(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Div):
            return None if b == 0 else a / b
        if isinstance(node.op, ast.Add):
            return a + b
        return a - b if isinstance(node.op, ast.Sub) else a * b

    return ev(ast.parse(column, mode="eval").body)


def measure(kind: str, column: str | None, rows: list[dict]):
    if kind == "count":
        if column is None:
            return len(rows)
        return sum(1 for r in rows if cell(r, column) is not None)
    values = [v for r in rows if (v := cell(r, column)) is not None]
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


def classify_movement(before, after, once_above_zero: bool):
    """(movement, amount) between two end-of-day values of one entity, or None."""
    if before == 0 and after > 0:
        return ("reactivation" if once_above_zero else "new"), after
    if before > 0 and after > before:
        return "expansion", after - before
    if before > 0 and 0 < after < before:
        return "contraction", before - after
    if before > 0 and after == 0:
        return "churn", before
    return None


class Maybe:
    """A number or NULL (None) for :func:`evaluate`: NULL in, NULL out; x / 0 is NULL."""

    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v.v if isinstance(v, Maybe) else v

    def _apply(self, other, fn, swap=False):
        a, b = self.v, Maybe(other).v
        if swap:
            a, b = b, a
        if a is None or b is None:
            return Maybe(None)
        if isinstance(a, float) or isinstance(b, float):
            a, b = float(a), float(b)
        return Maybe(fn(a, b))

    def __add__(self, o):
        return self._apply(o, operator.add)

    def __radd__(self, o):
        return self._apply(o, operator.add, swap=True)

    def __sub__(self, o):
        return self._apply(o, operator.sub)

    def __rsub__(self, o):
        return self._apply(o, operator.sub, swap=True)

    def __mul__(self, o):
        return self._apply(o, operator.mul)

    def __rmul__(self, o):
        return self._apply(o, operator.mul, swap=True)

    def __truediv__(self, o):
        return self._apply(o, _divide)

    def __rtruediv__(self, o):
        return self._apply(o, _divide, swap=True)

    def __neg__(self):
        return Maybe(None if self.v is None else -self.v)

    def __pos__(self):
        return self


def _divide(a, b):
    return None if b == 0 else a / b


def evaluate(expr: str, values: dict):
    """``expr`` (names, numbers, + - * /, parentheses) over ``values`` with NULL semantics."""
    assert re.fullmatch(r"[A-Za-z0-9_.+\-*/() ]+", expr), expr
    got = eval(expr, {"__builtins__": {}}, {k: Maybe(v) for k, v in values.items()})
    return Maybe(got).v


# -- the reference ------------------------------------------------------------------------------

class Reference:
    def __init__(self, project: dict, tables: dict[str, list[dict]], as_of: datetime,
                 manual: dict | None = None):
        self.project = project
        self.manual = manual or {}
        self.tables = tables
        self.zone = project.get("timezone", "UTC")
        self.week_start = project.get("week_start", "monday")
        self.as_of = as_utc(as_of).replace(microsecond=0)  # daypulse's "now" is a whole second
        self.as_of_date = self.as_of.astimezone(ZoneInfo(self.zone)).date()
        self.metrics = project["metrics"]
        self._parts: dict[tuple, dict] = {}
        self._dims: dict[tuple, tuple] = {}

    # tables
    def is_local(self, logical: str) -> bool:
        spec = (self.project.get("tables") or {}).get(logical)
        return isinstance(spec, dict) and spec.get("timestamps") == "local"

    def row_date(self, logical: str, ts: datetime | date) -> date:
        if not isinstance(ts, datetime):  # a DATE is a local calendar day already
            return ts
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

    def stored(self, name: str) -> set[frozenset]:
        """The dimension combinations a metric has: a ratio's or derived metric's, those of all
        its parts."""
        m, kind = self.metrics[name], self.kind(name)
        if kind in ("ratio", "derived"):
            parts = [m["numerator"], m["denominator"]] if kind == "ratio" else [
                t for t in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m["expr"]))
                if t in self.metrics]
            return set.intersection(*(self.stored(q) for q in parts)) if parts else {frozenset()}
        if kind == "manual":
            return {frozenset()}
        return {frozenset(g) for g in self.groupings(name)}

    def common(self, name: str, keys: set) -> set:
        """``keys`` ((period, dims)) in a grouping every part of ``name`` has."""
        stored = self.stored(name)
        return {k for k in keys if frozenset(d for d, _ in k[1]) in stored}

    def dims_key(self, m: dict, grouping: tuple[str, ...], row: dict) -> tuple:
        memo = (id(m), grouping, id(row))  # rows and metric dicts outlive the Reference
        if memo not in self._dims:
            dims = m.get("dimensions") or {}
            self._dims[memo] = tuple(sorted((d, self.dim_value(m, dims[d], row))
                                            for d in grouping))
        return self._dims[memo]

    def dim_value(self, m: dict, col: str, row: dict) -> str:
        if col == HOUR:  # the hour of the local wall time of the metric's time
            ts = row[m["time"]]
            wall = ts if self.is_local(m["table"]) else \
                as_utc(ts).astimezone(ZoneInfo(self.zone))
            return f"{wall.hour:02d}"
        return dim_string(row.get(col))

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
        kind = self.kind(name)
        if kind in ("ratio", "derived", "manual", "snapshot"):
            return None
        if kind in ("movement", "lifecycle"):
            return 0
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
            for k in self.common(name, set(num) | set(den)):
                nv = num.get(k, self.zero_of(m["numerator"]))
                dv = den.get(k, self.zero_of(m["denominator"]))
                out[k] = None if (nv is None or dv is None or dv == 0) else float(nv) / float(dv)
        elif kind == "derived":
            out = self.derived(name, grain, start, end)
        elif kind == "manual":
            out = self.manual_values(name, grain, start, end)
        elif kind == "movement":
            out = self.movement(name, grain, start, end)
        elif kind == "lifecycle":
            out = self.lifecycle(name, grain, start, end)
        elif kind == "snapshot":
            out = self.snapshot(name, grain, start, end)
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
                        # a row contributes through its measured value: a NULL one adds
                        # nothing (plain count without a column counts every row)
                        if column is None or cell(r, column) is not None:
                            seen.add(self.dims_key(base, grouping, r))
                if grouping == ():
                    seen = {()}
                for p, rows in contributing.items():
                    buckets: dict[tuple, list] = {k: [] for k in seen}
                    for r in rows:
                        k = self.dims_key(base, grouping, r)
                        if k in buckets:  # else only NULL values: never contributes
                            buckets[k].append(r)
                    for k, rs in buckets.items():
                        out[(p, k)] = measure(meas, column, rs) if rs else empty_value(meas)
        self._parts[key] = out
        return out


    # -- movement ----------------------------------------------------------------------------

    def end_values(self, name: str, upto: date) -> tuple[date, dict[date, dict]]:
        """(first day, {day: {key: value at the end of day}}) for the days from the day
        before the first row starts through ``upto``; key = (grouping, entity, dims).

        Walked one day at a time: a row counts at the end of day D when start < E and
        (end NULL or end >= E), E = the end of D (or as_of); NULL amounts add nothing.
        """
        m = self.metrics[name]
        table, ent, col = m["table"], m["entity"], m["column"]
        sig = json.dumps([table, ent, col, m["start"], m.get("end"), m.get("where"),
                          m.get("dimensions"), m.get("breakdowns")], sort_keys=True, default=str)
        cached = self._parts.get(("end_values", sig))
        if cached is None:
            # per row: start and end instants, its keys, its amount (NULL adds nothing)
            rows = []
            for r in self.filtered(name):
                if r.get(ent) is None or r.get(m["start"]) is None:
                    continue
                t = r.get(m["end"]) if m.get("end") else None
                rows.append((self.instant(table, r[m["start"]]),
                             None if t is None else self.instant(table, t),
                             [(g, r[ent], self.dims_key(m, g, r)) for g in self.groupings(name)],
                             r[col] if r[col] is not None else 0))
            starts = [self.row_date(table, r[m["start"]]) for r in self.filtered(name)
                      if r.get(ent) is not None and r.get(m["start"]) is not None]
            first = (min(starts) if starts else upto) - timedelta(days=1)
            cached = (first, {}, rows, sig)
            self._parts[("end_values", sig)] = cached
        first, by_day, rows, _ = cached
        for d in days(first, upto):
            if d in by_day:
                continue
            e = self.end_of_day(table, d)
            vals: dict[tuple, object] = {}
            for s, t, keys, amount in rows:
                if s < e and (t is None or t >= e):
                    for key in keys:
                        vals[key] = vals.get(key, 0) + amount
            by_day[d] = vals
        return first, by_day

    def day_moves(self, name: str, upto: date) -> dict[date, list]:
        """{day: [(key, movement, amount)]} from the day after the first through ``upto``."""
        m = self.metrics[name]
        first, by_day = self.end_values(name, upto)
        sig = self._parts[("end_values", json.dumps(
            [m["table"], m["entity"], m["column"], m["start"], m.get("end"), m.get("where"),
             m.get("dimensions"), m.get("breakdowns")], sort_keys=True, default=str))][3]
        if ("moves", sig, upto) not in self._parts:
            moves: dict[date, list] = {}
            positive_since: dict[tuple, date] = {}  # first day a key ended above 0
            for d in days(first, upto):
                moves[d] = []
                if d > first:
                    prev = d - timedelta(days=1)
                    for key in set(by_day[prev]) | set(by_day[d]):
                        before, after = by_day[prev].get(key, 0), by_day[d].get(key, 0)
                        once = key in positive_since and positive_since[key] < d
                        mv = classify_movement(before, after, once)
                        if mv:
                            moves[d].append((key, *mv))
                for key, v in by_day[d].items():
                    if v > 0:
                        positive_since.setdefault(key, d)
            self._parts[("moves", sig, upto)] = moves
        return self._parts[("moves", sig, upto)]

    def movement(self, name: str, grain: str, start: date, end: date) -> dict:
        m = self.metrics[name]
        kind, meas = m["movement"], m.get("measure", "sum")
        evaluated = self.evaluated(grain, start, end)
        upto = max(last for _, _, last in evaluated)
        first, by_day = self.end_values(name, upto)
        moves = self.day_moves(name, upto)

        def value(key, d):
            return by_day[d].get(key, 0) if d >= first else 0

        out: dict[tuple, object] = {}
        for grouping in self.groupings(name):
            per_period: dict[date, dict[tuple, list]] = {}
            seen = {()} if grouping == () else set()
            for p, lo, hi in evaluated:
                acc: dict[tuple, list] = {}
                left: set = set()  # starting customers that churned earlier in the period
                for d in days(lo, hi):
                    for key, mv, amount in moves.get(d, []):
                        g, _, dk = key
                        if g != grouping:
                            continue
                        if m.get("cohort", "all") == "existing":
                            if not value(key, lo - timedelta(days=1)) > 0 or key in left:
                                continue
                            if mv == "churn":
                                left.add(key)  # out of the cohort after this movement
                        if mv != kind:
                            continue
                        acc.setdefault(dk, []).append(amount)
                        seen.add(dk)
                per_period[p] = acc
            for p, acc in per_period.items():
                for dk in seen:
                    amounts = acc.get(dk, [])
                    out[(p, dk)] = len(amounts) if meas == "count" else sum(amounts)
        return out

    # -- lifecycle ---------------------------------------------------------------------------

    def activity(self, name: str) -> dict[tuple, set]:
        """{(grouping, entity, dims): local dates active} over all history through as_of's
        date (a day's rows count whatever their time in the day, as for events)."""
        m = self.metrics[name]
        sig = json.dumps([m["table"], m["time"], m["column"], m.get("where"),
                          m.get("dimensions"), m.get("breakdowns")], sort_keys=True, default=str)
        if ("activity", sig) not in self._parts:
            out: dict[tuple, set] = {}
            for r in self.filtered(name):
                ts, ent = r.get(m["time"]), r.get(m["column"])
                if ts is None or ent is None:
                    continue
                d = self.row_date(m["table"], ts)
                if d > self.as_of_date:
                    continue
                for g in self.groupings(name):
                    out.setdefault((g, ent, self.dims_key(m, g, r)), set()).add(d)
            self._parts[("activity", sig)] = (sig, out)
        return self._parts[("activity", sig)]

    def lifecycle(self, name: str, grain: str, start: date, end: date) -> dict:
        sig, activity = self.activity(name)
        evaluated = self.evaluated(grain, start, end)
        key = ("statuses", sig, grain, start, end)
        if key not in self._parts:
            # {(grouping, dims, period): {status: entities}}
            statuses: dict[tuple, dict[str, int]] = {}
            for (g, _, dk), dates in activity.items():
                active = {period_start(grain, d, self.week_start) for d in dates}
                first_active = min(active)
                for p, _, _ in evaluated:
                    prev = period_start(grain, p - timedelta(days=1), self.week_start)
                    now, before = p in active, prev in active
                    st = ("new" if now and first_active == p else
                          "returning" if now and before else
                          "resurrecting" if now else
                          "dormant" if before else None)
                    if st:
                        c = statuses.setdefault((g, dk, p), {})
                        c[st] = c.get(st, 0) + 1
            self._parts[key] = statuses
        statuses = self._parts[key]
        status = self.metrics[name]["status"]
        out: dict[tuple, object] = {}
        for grouping in self.groupings(name):
            seen = {dk for (g, dk, _), c in statuses.items() if g == grouping and status in c}
            if grouping == ():
                seen = {()}
            for p, _, _ in evaluated:
                for dk in seen:
                    out[(p, dk)] = statuses.get((grouping, dk, p), {}).get(status, 0)
        return out

    # -- snapshot ----------------------------------------------------------------------------

    def snapshot(self, name: str, grain: str, start: date, end: date) -> dict:
        m = self.metrics[name]
        col, rollup = m["column"], m.get("rollup", "last")
        dated = {d: kept for d, rs in self.by_date(name).items()
                 if (kept := [r for r in rs if r.get(col) is not None])}
        out: dict[tuple, object] = {}
        for grouping in self.groupings(name):
            per_period: dict[date, dict[tuple, dict[date, list]]] = {}
            seen = {()} if grouping == () else set()
            for p, lo, hi in self.evaluated(grain, start, end):
                with_rows = sorted(d for d in dated if lo <= d <= hi)
                read = with_rows[-1:] if rollup == "last" else with_rows
                by_key: dict[tuple, dict[date, list]] = {}
                for d in read:
                    for r in dated[d]:
                        k = self.dims_key(m, grouping, r)
                        by_key.setdefault(k, {}).setdefault(d, []).append(r[col])
                per_period[p] = by_key
                seen |= set(by_key)
            for p, by_key in per_period.items():
                for k in seen:
                    on_days = by_key.get(k)
                    if not on_days:
                        out[(p, k)] = None
                        continue
                    total = sum(v for vs in on_days.values() for v in vs)
                    out[(p, k)] = float(total) / len(on_days) if rollup == "avg" else total
        return out

    # -- derived and manual --------------------------------------------------------------------

    def derived(self, name: str, grain: str, start: date, end: date) -> dict:
        expr = self.metrics[name]["expr"]
        parts = [t for t in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr))
                 if t in self.metrics]
        got = {q: self.compute(q, grain, start, end) for q in parts}
        keys = self.common(name, set().union(*(set(v) for v in got.values())))
        return {k: evaluate(expr, {q: got[q].get(k, self.zero_of(q)) for q in parts})
                for k in keys}

    def manual_values(self, name: str, grain: str, start: date, end: date) -> dict:
        series = sorted(self.manual.get(name, []))
        out = {}
        for p, _, last in self.evaluated(grain, start, end):
            held = [v for d, v in series if d <= last]
            out[(p, ())] = held[-1] if held else None
        return out


def expected_values(project: dict, tables: dict[str, list[dict]], start: date, end: date,
                    grains=DEFAULT_GRAINS, as_of: datetime | None = None,
                    metrics=None, manual: dict | None = None) -> dict[tuple, object]:
    """{(metric, grain, period_start, dims): value} for every metric and grain."""
    ref = Reference(project, tables, as_of or datetime.now(UTC), manual)
    out = {}
    for name in metrics or project["metrics"]:
        for grain in grains:
            for (p, k), v in ref.compute(name, grain, start, end).items():
                out[(name, grain, p, k)] = v
    return out
