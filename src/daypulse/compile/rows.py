"""The rows a table metric reads, with their local day, as an Ibis expression.

Every metric kind starts here: the physical table, the ``where`` filter (typed literals,
never text spliced into SQL), a loose pre-filter on the raw time column so engines can prune,
the exact UTC epoch second, the local ``day`` number and the dimension columns as strings.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import ibis
import ibis.common.exceptions as com
import ibis.expr.types as ir

from daypulse import warehouse
from daypulse.calendar import SECONDS_PER_DAY, Calendar, day_num
from daypulse.errors import ConfigError, Issue
from daypulse.project import expr as arithmetic
from daypulse.project.model import TableMetric

NULL_DIMENSION = "(null)"  # how a NULL dimension value is stored (values are strings)


@dataclass(frozen=True)
class Source:
    """An open source connection and what the compiler needs to know about it."""

    con: object
    backend: str  # duckdb | sqlite | postgres | pyspark | ...

    @classmethod
    def open(cls, url: str) -> Source:
        con = warehouse.connect(url)
        return cls(con, con.name)


def where_filter(t: ir.Table, where: dict, metric: str) -> list[ir.BooleanValue]:
    preds = []
    for col, cond in where.items():
        c = column(t, col, metric, "where")
        try:
            if isinstance(cond, dict):
                preds += [_op(c, op, value) for op, value in cond.items()]
            elif isinstance(cond, list):
                preds.append(c.isin(cond))
            elif cond is None:
                preds.append(c.isnull())
            else:
                preds.append(c == cond)
        except (com.IbisTypeError, TypeError, ValueError, AttributeError) as exc:  # like on a number
            raise ConfigError([Issue(f"where.{col}: {cond!r} cannot be compared with column"
                                     f" {col!r} of type {c.type()} ({exc})", metric=metric,
                                     hint="quote YAML values that look like numbers or"
                                     " booleans (NO, yes, 007)")]) from None
    return preds


def _op(c: ir.Column, op: str, v) -> ir.BooleanValue:
    match op:
        case "eq":
            return c.isnull() if v is None else c == v
        case "ne":
            return c.notnull() if v is None else c != v
        case "lt":
            return c < v
        case "le":
            return c <= v
        case "gt":
            return c > v
        case "ge":
            return c >= v
        case "in":
            return c.isin(list(v))
        case "not_in":
            return c.notin(list(v))
        case "is_null":
            return c.isnull() if v else c.notnull()
        case "like":
            return c.like(v)
    raise ValueError(f"unknown operator {op!r}")


def column(t: ir.Table, name: str, metric: str, setting: str) -> ir.Column:
    if name not in t.columns:
        raise ConfigError([Issue(f"{setting}: column {name!r} does not exist in the source table"
                                 f" (it has: {', '.join(t.columns)})", metric=metric)])
    return t[name]


def value_of(t: ir.Table, text: str, metric: str) -> ir.Column:
    """A measured ``column``: a column's name, or an arithmetic expression over the row's columns
    (``(likes + comments + shares) / views``, checked by :mod:`daypulse.project.expr`): NULL in
    gives NULL out, and a division by zero is NULL (which an average skips), as SQL has it."""
    if text.isidentifier():
        return column(t, text, metric, "column")

    def build(node):
        if isinstance(node, ast.Constant):
            return ibis.literal(node.value)
        if isinstance(node, ast.Name):
            return column(t, node.id, metric, "column")
        if isinstance(node, ast.UnaryOp):
            inner = build(node.operand)
            return -inner if isinstance(node.op, ast.USub) else inner
        a, b = build(node.left), build(node.right)
        if isinstance(node.op, ast.Div):
            return a.cast("float64") / b.cast("float64").nullif(0)
        return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b

    return build(arithmetic.parse(text))


def measured(t: ir.Table, m, metric: str) -> ir.Column:
    """The metric's ``column``, in the unit values are kept in: money given in major units
    (``unit: major``, dollars as DECIMAL, float or integer) becomes integer cents, each row
    rounded half to even (a float first rounded to 6 decimals of a cent, so 0.155 dollars,
    stored as 0.15499999..., is the 15.5 cents it was written as, then 16)."""
    c = value_of(t, m.column, metric)
    if getattr(m, "unit", "minor") != "major":
        return c
    if not c.type().is_numeric():
        raise ConfigError([Issue(f"column: unit: major needs a number column, and {m.column!r} is"
                                 f" {c.type()}", metric=metric)])
    if c.type().is_integer():
        return (c * 100).cast("int64")
    cents = c * 100
    if c.type().is_floating():
        cents = cents.round(6)
    whole = cents.floor()
    rest = cents - whole
    whole = whole.cast("int64")
    even = ibis.cases((whole % 2 == 0, whole), else_=whole + 1)  # % 2 == 0 holds for negatives too
    return ibis.cases((rest > 0.5, whole + 1), (rest < 0.5, whole), else_=even)


def time_column(t: ir.Table, name: str, metric: str, setting: str, local: bool):
    """A time column as a timestamp, and whether its wall clock is already local.

    A DATE is a local calendar day already (an order dated 2024-03-01 counts on that day in
    every zone), so it is read like a ``timestamps: local`` column.
    """
    c = column(t, name, metric, setting)
    if c.type().is_date():
        return c.cast("timestamp"), True
    if not c.type().is_timestamp():
        c = c.cast("timestamp")
    return c, local


def offset_expr(cal: Calendar, e: ir.IntegerValue, first: date, last: date):
    """The zone's UTC offset at epoch second ``e``: a literal, or a CASE over segments."""
    segs = cal.segments(first, last)
    if len(segs) == 1:
        return ibis.literal(segs[0].offset, type="int64")
    branches = [(e < nxt.since, cur.offset) for cur, nxt in zip(segs, segs[1:])]
    return ibis.cases(*branches, else_=segs[-1].offset).cast("int64")


def local_day(cal: Calendar, e: ir.IntegerValue, first: date, last: date, local: bool):
    """Local day number of epoch second ``e`` (for ``timestamps: local`` the wall clock)."""
    if local:
        return e // SECONDS_PER_DAY
    return (e + offset_expr(cal, e, first, last)) // SECONDS_PER_DAY


def hour_of_day(cal: Calendar, e: ir.IntegerValue, day, first: date, last: date,
                local: bool) -> ir.IntegerValue:
    """Which hour of its local day (0, 1, ...) epoch second ``e`` falls in, ``day`` being its
    local day number: whole hours since the day began. The day's start is ``day * 86400``
    minus the zone's offset then, which changes only at a few days: a CASE over those runs.
    Counting from the start (not reading the wall clock) keeps the repeated autumn hour apart."""
    if local:
        return (e % SECONDS_PER_DAY) // 3600
    runs: list[tuple[int, int]] = []  # (first day number of the run, day * 86400 - start)
    d = first - timedelta(days=1)
    while d <= last + timedelta(days=1):
        ahead = day_num(d) * SECONDS_PER_DAY - cal.day_start(d)
        if not runs or runs[-1][1] != ahead:
            runs.append((day_num(d), ahead))
        d += timedelta(days=1)
    if len(runs) == 1:
        ahead = ibis.literal(runs[0][1], type="int64")
    else:
        branches = [(day < nxt[0], cur[1]) for cur, nxt in zip(runs, runs[1:])]
        ahead = ibis.cases(*branches, else_=runs[-1][1]).cast("int64")
    return (e - (day * SECONDS_PER_DAY - ahead)) // 3600


def instant_of_day_start(cal: Calendar, d: date, local: bool) -> int:
    """The epoch second (UTC, or wall-clock for local tables) at which local day d begins."""
    return day_num(d) * SECONDS_PER_DAY if local else cal.day_start(d)


def prefilter(t: ir.Table, ts: ir.TimestampColumn, first: date, last: date):
    """A loose range on the raw column (two days of margin) that indexes and pruning can use.

    The exact boundaries are applied on integer epoch seconds afterwards; this one only has
    to never exclude a row that belongs in [first, last] in any zone.
    """
    lo = datetime.combine(first - timedelta(days=2), datetime.min.time())
    hi = datetime.combine(last + timedelta(days=3), datetime.min.time())
    if ts.type().timezone is not None:
        lo, hi = lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC)
    return (ts >= ibis.literal(lo, type=ts.type())) & (ts < ibis.literal(hi, type=ts.type()))


def dimension_value(c: ir.Column) -> ir.StringValue:
    if c.type().is_boolean():
        c = ibis.cases((c, "true"), (~c, "false"), else_=ibis.null("string"))
    return c.cast("string").fill_null(NULL_DIMENSION)


def epoch(src: Source, ts: ir.TimestampColumn) -> ir.IntegerValue:
    return warehouse.epoch_seconds(src.backend, ts)


def metric_table(src: Source, project, name: str, m: TableMetric) -> tuple[ir.Table, bool]:
    """The physical table of a metric with its ``where`` applied; and whether it is local."""
    spec = project.table(m.table)
    t = warehouse.table(src.con, spec.name)
    preds = where_filter(t, m.where, name)
    if preds:
        t = t.filter(*preds)
    return t, spec.timestamps == "local"


def check_rows(src: Source, project, name: str, m) -> None:
    """Compile (never run) the rows a table metric reads, which every query of it starts from: its
    table with ``where`` applied, and ``during``'s semi-join. Raises what compiling its query
    would: a ConfigError for a ``where`` value its column cannot take, for tables whose
    timestamps differ... so a caller can refuse a project before it writes anything."""
    if not isinstance(m, TableMetric):
        return
    t, local = metric_table(src, project, name, m)
    if getattr(m, "during", None) is not None:
        during(src, project, t, m, name, local)


LOCAL_HOUR = "@hour"  # a dimension that is the hour of the local day of the metric's time


def dims_columns(t: ir.Table, m: TableMetric, name: str,
                 hour: ir.StringValue | None = None) -> dict[str, ir.StringValue]:
    out = {}
    for dim, col in m.dimensions.items():
        if col == LOCAL_HOUR:
            if hour is None:
                raise ConfigError([Issue(f"dimensions.{dim}: {LOCAL_HOUR} needs a metric with a"
                                         " time (kind: event)", metric=name)])
            out[dim] = hour
        else:
            out[dim] = dimension_value(column(t, col, name, f"dimensions.{dim}"))
    return out


def local_hour(cal: Calendar, e: ir.IntegerValue, first: date, last: date,
               local: bool) -> ir.StringValue:
    """The hour of the local day of epoch second ``e`` as '00'..'23' (sorts as text)."""
    wall = e if local else e + offset_expr(cal, e, first, last)
    hour = (wall % SECONDS_PER_DAY) // 3600
    return (hour + 100).cast("string").substr(1, 2)


def grouping_sets(m: TableMetric) -> list[tuple[str, ...]]:
    """The total, each dimension on its own, and the declared combinations."""
    sets: list[tuple[str, ...]] = [()]
    sets += [(d,) for d in m.dimensions]
    for combo in m.breakdowns:
        key = tuple(sorted(combo))
        if key not in sets:
            sets.append(key)
    return sets


def during(src: Source, project, t: ir.Table, m, name: str, local: bool) -> ir.Table:
    """``t`` restricted to rows whose entity had an open row in ``m.during.table`` at the
    row's time (start <= time < end, or no end): a semi-join the engine runs."""
    d = m.during
    spec = project.table(d.table)
    if (spec.timestamps == "local") != local:
        raise ConfigError([Issue(f"during: {d.table!r} and {m.table!r} must both use"
                                 " timestamps: local or both UTC", metric=name)])
    other = warehouse.table(src.con, spec.name)
    preds = where_filter(other, d.where, name)
    if preds:
        other = other.filter(*preds)
    te = epoch(src, time_column(t, m.time, name, "time", local)[0])
    starts = epoch(src, time_column(other, d.start, name, "during.start", local)[0])
    cond = [column(other, d.entity, name, "during.entity")
            == column(t, d.match or d.entity, name, "during.match"), starts <= te]
    if d.end:
        end_ts = time_column(other, d.end, name, "during.end", local)[0]
        cond.append(end_ts.isnull() | (epoch(src, end_ts) > te))
    return t.semi_join(other, cond)
