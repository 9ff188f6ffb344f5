"""``kind: state``: rows open at the end of each day (subscriptions active, jobs running)."""

from __future__ import annotations

from datetime import timedelta

import ibis
import ibis.expr.types as ir

from daypulse.calendar import day_num
from daypulse.compile import rows as R
from daypulse.compile.base import INF_DAY, Ctx, union_all, vtype_of
from daypulse.compile.event import dense_running, read_at_eval_days
from daypulse.project.model import StateMetric


def state(ctx: Ctx, name: str, m: StateMetric, now_epoch: int | None) -> ir.Table:
    """Rows with start < E and (end is NULL or end >= E), E = end of day (or now, today).

    A row counts on local days [day(start), day(end)): +x at its first day, -x at day(end).
    """
    cal = ctx.cal
    first, last = ctx.plan.eval_day_range()
    t, local = R.metric_table(ctx.src, ctx.project, name, m)
    table_local = local
    start_ts, local = R.time_column(t, m.start, name, "start", table_local)
    se = R.epoch(ctx.src, start_ts)
    hi = R.instant_of_day_start(cal, last + timedelta(days=1), local)
    lo_day, hi_day = day_num(first), day_num(last)
    # Offsets are exact around the computed days; a start or end far outside them is
    # clamped to the range below, so an approximate day there cannot change a value.
    sd = R.local_day(cal, se, first, last, local)
    cols = {"sd": sd}
    preds = [start_ts.notnull(), se < hi]
    if now_epoch is not None:
        preds.append(se < now_epoch)  # today: only what had started by now
    if m.end:
        end_ts, local = R.time_column(t, m.end, name, "end", table_local)
        ee = R.epoch(ctx.src, end_ts)
        ed = R.local_day(cal, ee, first, last, local)
        still_open = end_ts.isnull()
        if now_epoch is not None:
            still_open = still_open | (ee >= now_epoch)  # ends later today: open now
        ed = ibis.cases((still_open, INF_DAY), else_=ed).cast("int64")
        lo = R.instant_of_day_start(cal, first + timedelta(days=1), local)
        if now_epoch is not None:
            lo = min(lo, now_epoch)  # the first day is today: open now is enough
        preds.append(end_ts.isnull() | (ee >= lo))  # still open at the end of the first day
        cols["ed"] = ed
    else:
        cols["ed"] = ibis.literal(INF_DAY, "int64")
    if m.column:
        cols["v"] = R.measured(t, m, name)
    cols.update(R.dims_columns(t, m, name))
    rows = t.filter(*preds).select(**cols)
    # Clamp to the computed days: start no earlier than the first, end no later than last+1.
    rows = rows.mutate(sd=ibis.greatest(rows.sd, lo_day), ed=ibis.least(rows.ed, hi_day + 1))
    rows = rows.filter(rows.sd < rows.ed)
    dims = list(m.dimensions)
    vtype = vtype_of(ctx, name, m)
    parts = []
    for gset in R.grouping_sets(m):
        if m.measure in ("min", "max"):
            daily = _state_extreme(ctx, rows, m, gset)
        else:
            daily = _state_running(rows, m, gset, first, last)
        parts.append(read_at_eval_days(ctx, daily, gset, dims, vtype))
    return union_all(parts)


def _state_running(rows, m, gset, first, last) -> ir.Table:
    if m.measure == "count_distinct":
        rows = _islands(rows.filter(rows.v.notnull()), gset)
        x = {"cnt": ibis.literal(1, "int64")}
    else:
        if m.column:
            rows = rows.filter(rows.v.notnull())
        x = {"cnt": ibis.literal(1, "int64")}
        if m.measure in ("sum", "avg"):
            x["sm"] = rows.v
    plus = rows.select(*gset, day=rows.sd, **x)
    minus = rows.select(*gset, day=rows.ed, **{k: -v for k, v in x.items()})
    cols = list(x)
    deltas = union_all([plus.select("day", *gset, *cols), minus.select("day", *gset, *cols)])
    deltas = deltas.group_by(["day", *gset]).aggregate(**{c: deltas[c].sum() for c in cols})
    run = dense_running(deltas, gset, first, last, cols)
    value = {"count": run.cnt, "count_distinct": run.cnt,
             "sum": run["sm"] if "sm" in cols else None,
             "avg": run["sm"].cast("float64") / run.cnt.nullif(0) if "sm" in cols else None,
             }[m.measure]
    return run.select("day", *gset, value=value, n=run.cnt)


def _islands(rows: ir.Table, gset) -> ir.Table:
    """Merge each entity's overlapping [sd, ed) intervals (gaps-and-islands)."""
    order = ["sd", "ed"]
    w = ibis.cumulative_window(group_by=["v", *gset], order_by=order)
    r = rows.select("v", "sd", "ed", *gset).mutate(_reach=rows.ed.max().over(w))
    lag_w = ibis.window(group_by=["v", *gset], order_by=order)
    prev = r._reach.lag().over(lag_w)
    r = r.mutate(_new=ibis.cases((prev.isnull() | (r.sd > prev), 1), else_=0))
    r = r.mutate(_island=r._new.sum().over(ibis.cumulative_window(group_by=["v", *gset],
                                                                  order_by=order)))
    return r.group_by(["v", "_island", *gset]).aggregate(sd=r.sd.min(), ed=r.ed.max())


def _state_extreme(ctx, rows, m, gset) -> ir.Table:
    ev = ctx.plan.eval_table().select("day").distinct().rename(eday="day")
    r = rows.filter(rows.v.notnull())
    j = ev.join(r, (r.sd <= ev.eday) & (r.ed > ev.eday))
    agg = j.v.min() if m.measure == "min" else j.v.max()
    out = j.group_by(["eday", *gset]).aggregate(value=agg, n=j.count())
    return out.rename(day="eday")
