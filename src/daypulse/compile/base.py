"""What every table metric's query shares: the context, value types, the rows a metric reads.

Each builder (one module per kind: ``event``, ``cumulative``, ``state``; MRR movements and
lifecycle in ``changes``) returns a table with columns::

    grain, period (day number of the period start), gset (the dimension names grouped by,
    comma-separated; '' for the total), d_<dimension>... (string or NULL), value, n

``n`` counts what contributes to the value (rows, or entities); a dimension value is
"seen" in a grain when some period has ``n > 0``, which is what zero-fill extends.

Rolling and running values use difference arrays over a dense day axis: each row (or each
entity's run of days) adds +x where it starts counting and -x where it stops, and one
running sum gives every day. Each (entity, day) pair is touched once, whatever the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from daypulse.calendar import Calendar
from daypulse.compile import rows as R
from daypulse.compile.plan import Plan
from daypulse.project.model import TableMetric

INF_DAY = 10**7  # "never ends", beyond any day number daypulse computes


@dataclass
class Ctx:
    src: R.Source
    project: object
    plan: Plan

    @property
    def cal(self) -> Calendar:
        return self.plan.cal


def value_type(m: TableMetric, col_type=None) -> str:
    if m.measure in ("count", "count_distinct"):
        return "int64"
    if m.measure == "avg":
        return "float64"
    if col_type is not None:
        if col_type.is_integer() or col_type.is_boolean():
            return "int64"
        if col_type.is_decimal():
            return str(col_type)
    return "float64"


def finish(t: ir.Table, grain, gset: tuple[str, ...], dims: list[str], vtype: str) -> ir.Table:
    cols = {"grain": grain if isinstance(grain, ir.Value) else ibis.literal(grain, "string"),
            "period": t.period.cast("int64"),
            "gset": ibis.literal(",".join(gset), "string")}
    for d in dims:
        cols[f"d_{d}"] = t[d] if d in gset else ibis.null("string")
    cols["value"] = t.value.cast(vtype)
    cols["n"] = t.n.cast("int64")
    return t.select(**cols)


def union_all(parts: list[ir.Table]) -> ir.Table:
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


# -- the rows of a table metric ------------------------------------------------------------

def base_rows(ctx: Ctx, name: str, m: TableMetric, time_col: str, first: date, last: date,
              extra: dict | None = None) -> tuple[ir.Table, list[str]]:
    """Rows whose ``time_col`` falls in local days [first, last]: day, v, dimensions."""
    t, local = R.metric_table(ctx.src, ctx.project, name, m)
    if getattr(m, "during", None) is not None:
        t = R.during(ctx.src, ctx.project, t, m, name, local)
    ts, local = R.time_column(t, time_col, name, "time", local)
    t = t.filter(R.prefilter(t, ts, first, last))
    e = R.epoch(ctx.src, ts)
    lo = R.instant_of_day_start(ctx.cal, first, local)
    hi = R.instant_of_day_start(ctx.cal, last + timedelta(days=1), local)
    cols = {"day": R.local_day(ctx.cal, e, first, last, local)}
    if m.column:
        cols["v"] = R.measured(t, m, name)
    cols.update(R.dims_columns(t, m, name, hour_of(ctx, m, e, first, last, local)))
    cols.update(extra or {})
    return t.filter(e >= lo, e < hi).select(**cols), list(m.dimensions)


def hour_of(ctx: Ctx, m: TableMetric, e, first: date, last: date, local: bool):
    """The local-hour expression, only built when a dimension asks for it."""
    if R.LOCAL_HOUR not in m.dimensions.values():
        return None
    return R.local_hour(ctx.cal, e, first, last, local)


def vtype_of(ctx: Ctx, name: str, m: TableMetric) -> str:
    if not m.column:
        return value_type(m)
    t, _ = R.metric_table(ctx.src, ctx.project, name, m)
    return value_type(m, R.measured(t, m, name).type())


# -- event: a measure over each period -----------------------------------------------------
