"""``kind: snapshot``: a pre-aggregated table with one row per day (and dimension values).

The value on day D is the sum of ``column`` over D's rows (one row per day and dimension
values, usually; several add up). A row's day is its DATE, or the local day of its timestamp
(the rules of every time column, ``rows.time_column``). Rows whose value is NULL are no rows.
A day without rows has no value (the kind's zero is None): gaps are never carried forward.

A longer period (``rollup``):

- ``last``: the values of the period's last day that has rows, the same day for the total and
  every dimension value (so the parts add up to the total); for the current period, its last
  day with rows so far;
- ``sum``: the sum over all its rows;
- ``avg``: that sum over the number of days with rows (of the dimension value).

One query: the rows of every grain's periods read once, then per grain a window gives each
period its last day with rows, and one GROUP BY per grouping set.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from daypulse.calendar import day_num
from daypulse.compile import rows as R
from daypulse.compile.base import Ctx, base_rows, finish, union_all, vtype_of
from daypulse.compile.plan import bucket
from daypulse.project.model import SnapshotMetric


def snapshot(ctx: Ctx, name: str, m: SnapshotMetric) -> ir.Table:
    plan = ctx.plan
    base, dims = base_rows(ctx, name, m, m.time, plan.first_day, plan.last_day)
    base = base.filter(base.v.notnull())
    vtype = "float64" if m.rollup == "avg" else vtype_of(ctx, name, m)
    parts = []
    for g, span in plan.spans.items():
        rows = base
        if (span.first, span.last) != (plan.first_day, plan.last_day):
            rows = base.filter(base.day.between(day_num(span.first), day_num(span.last)))
        rows = rows.mutate(period=bucket(ctx.cal, g, rows.day, span.first, span.last))
        if m.rollup == "last" and g != "day":
            rows = rows.mutate(_read=rows.day.max().over(ibis.window(group_by="period")))
        for gset in R.grouping_sets(m):
            parts.append(finish(_aggregate(rows, m, g, gset), g, gset, dims, vtype))
    return union_all(parts)


def _aggregate(rows: ir.Table, m: SnapshotMetric, grain: str, gset: tuple[str, ...]) -> ir.Table:
    """(period, dimension values, value, n) of one grouping set; ``n``: the rows read."""
    group = rows.group_by(["period", *gset])
    if m.rollup == "last" and grain != "day":
        read = rows.day == rows._read
        return group.aggregate(value=rows.v.sum(where=read), n=rows.v.count(where=read))
    if m.rollup == "avg":
        days = rows.day.nunique()
        return group.aggregate(value=rows.v.sum().cast("float64") / days.cast("float64"),
                               n=rows.v.count())
    return group.aggregate(value=rows.v.sum(), n=rows.v.count())
