"""``kind: event`` (and ``window: N``): rows counted, summed or distinct-counted by when they happened;
metrics on one table share one scan, rolling distinct counts of one column share one pass."""

from __future__ import annotations

import json
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from daypulse import warehouse
from daypulse.calendar import day_num
from daypulse.compile import rows as R
from daypulse.compile.base import Ctx, base_rows, finish, hour_of, union_all, vtype_of
from daypulse.compile.plan import bucket, day_spine, hour_key
from daypulse.project.model import EventMetric, TableMetric


def event(ctx: Ctx, name: str, m: EventMetric) -> ir.Table:
    """One event metric: the measure over each period (a scan group of one)."""
    t = event_group(ctx, [(name, m)])
    return t.rename(value=f"value__{name}", n=f"n__{name}")


def event_group(ctx: Ctx, members: list[tuple[str, EventMetric]],
                grains_of: dict[str, set[str]] | None = None) -> ir.Table:
    """Several event metrics on the same table, time column and dimensions, in ONE scan.

    Each metric keeps its own ``where`` as a filtered aggregate (``FILTER (WHERE ...)``);
    the output has ``value__<name>`` and ``n__<name>`` columns instead of ``value``/``n``.
    """
    plan = ctx.plan
    name0, m0 = members[0]
    spec = ctx.project.table(m0.table)
    t = warehouse.table(ctx.src.con, spec.name)
    local = spec.timestamps == "local"
    preds = {name: R.where_filter(t, m.where, name) for name, m in members}
    if all(preds.values()):  # read only rows some metric needs
        t = t.filter(ibis.or_(*[ibis.and_(*p) for p in preds.values()]))
    if m0.during is not None:  # the same for every member (it is part of the group key)
        t = R.during(ctx.src, ctx.project, t, m0, name0, local)
    ts, local = R.time_column(t, m0.time, name0, "time", local)
    t = t.filter(R.prefilter(t, ts, plan.first_day, plan.last_day))
    e = R.epoch(ctx.src, ts)
    lo = R.instant_of_day_start(ctx.cal, plan.first_day, local)
    hi = R.instant_of_day_start(ctx.cal, plan.last_day + timedelta(days=1), local)
    cols = {"day": R.local_day(ctx.cal, e, plan.first_day, plan.last_day, local)}
    cols.update(R.dims_columns(t, m0, name0, hour_of(ctx, m0, e, plan.first_day, plan.last_day,
                                                    local)))
    if "hour" in plan.spans:
        cols["hour_ix"] = R.hour_of_day(ctx.cal, e, cols["day"], plan.first_day, plan.last_day, local)
    for i, (name, m) in enumerate(members):
        if m.column:
            cols[f"c{i}"] = R.measured(t, m, name)
        if preds[name]:
            cols[f"w{i}"] = ibis.and_(*preds[name])
    base = t.filter(e >= lo, e < hi).select(**cols)
    dims = list(m0.dimensions)
    parts = []
    for g, span in plan.spans.items():
        rows = base
        if (span.first, span.last) != (plan.first_day, plan.last_day):
            rows = base.filter(base.day.between(day_num(span.first), day_num(span.last)))
        rows = rows.mutate(period=hour_key(rows.day, rows.hour_ix) if g == "hour"
                           else bucket(ctx.cal, g, rows.day, span.first, span.last))
        aggs = {}
        for i, (name, m) in enumerate(members):
            if grains_of is not None and g not in grains_of[name]:
                continue  # this member's grain is computed elsewhere (see rolling_key)
            w = rows[f"w{i}"] if f"w{i}" in rows.columns else None
            v = rows[f"c{i}"] if m.column else None
            aggs[f"value__{name}"] = _filtered_measure(rows, v, w, m).cast(vtype_of(ctx, name, m))
            aggs[f"n__{name}"] = (rows.count(where=w) if v is None else v.count(where=w))
        for gset in R.grouping_sets(m0):
            agg = rows.group_by(["period", *gset]).aggregate(**aggs)
            out = {"grain": ibis.literal(g, "string"), "period": agg.period.cast("int64"),
                   "gset": ibis.literal(",".join(gset), "string")}
            for d in dims:
                out[f"d_{d}"] = agg[d] if d in gset else ibis.null("string")
            for name, m in members:  # the same columns in every branch of the union
                v, n = f"value__{name}", f"n__{name}"
                out[v] = agg[v] if v in aggs else ibis.null(vtype_of(ctx, name, m))
                out[n] = agg[n] if n in aggs else ibis.literal(0, "int64")
            parts.append(agg.select(**out))
    return union_all(parts)


def _filtered_measure(t: ir.Table, v, w, m: TableMetric):
    match m.measure:
        case "count":
            return t.count(where=w) if v is None else v.count(where=w)
        case "count_distinct":
            return v.approx_nunique(where=w) if m.approx else v.nunique(where=w)
        case "sum":
            return v.sum(where=w)
        case "avg":
            return v.cast("float64").mean(where=w)
        case "min":
            return v.min(where=w)
        case "max":
            return v.max(where=w)
    raise ValueError(m.measure)


def group_key(project, name: str, m) -> tuple | None:
    """Metrics with equal keys share one query: plain event metrics on the same table, time
    column and dimensions (``event_group``), and exact rolling distinct counts of the same
    column and filter with different windows, e.g. WAU and MAU (``rolling_group``)."""
    if not isinstance(m, EventMetric):
        return None
    if not m.window:
        return ("event", *_shape(project, m))
    if m.measure == "count_distinct":
        return rolling_key(project, m)
    return None


def rolling_key(project, m: EventMetric) -> tuple:
    """The rolling group a distinct count of this column and filter belongs to (a plain
    daily distinct count is the same thing as a 1-day window)."""

    return ("rolling", m.column, m.unit, json.dumps(m.where, sort_keys=True, default=str),
            *_shape(project, m))


def _shape(project, m: EventMetric) -> tuple:
    during = m.during.model_dump_json() if m.during else None
    return (project.table(m.table), m.time, tuple(m.dimensions.items()),
            tuple(tuple(b) for b in m.breakdowns), during)


def run_group(ctx: Ctx, key: tuple, members: list[tuple[str, EventMetric]],
              grains_of: dict[str, set[str]]) -> ir.Table:
    if key[0] == "event":
        return event_group(ctx, members, grains_of)
    return rolling_group(ctx, members, {n: m.window or 1 for n, m in members})


# -- running sums over a dense day axis, read at each period's day --------------------------

def read_at_eval_days(ctx: Ctx, daily: ir.Table, gset, dims, vtype) -> ir.Table:
    ev = ctx.plan.eval_table()
    j = daily.join(ev, daily.day == ev.day)
    j = j.select("grain", "period", *gset, "value", "n")
    return finish(j, j.grain, gset, dims, vtype)


def dense_running(deltas: ir.Table, gset: tuple[str, ...], first: date, last: date,
                   sums: list[str], reset=None) -> ir.Table:
    """Running sums of delta columns over every day in [first, last], per dimension value.

    ``reset(day)`` (optional) restarts the sums at each period boundary (month-to-date).
    """
    grid = day_spine(first, last)
    if gset:
        grid = grid.cross_join(deltas.select(*gset).distinct())
    keys = ["day", *gset]
    j = grid.left_join(deltas, [grid[k] == deltas[k] for k in keys]).select(
        *[grid[k] for k in keys], *[deltas[c].fill_null(0).name(c) for c in sums])
    group = list(gset) + (["_reset"] if reset is not None else [])
    if reset is not None:
        j = j.mutate(_reset=reset(j.day))
    w = ibis.cumulative_window(group_by=group or None, order_by="day")
    return j.select(*keys, **{c: j[c].sum().over(w) for c in sums})


def window_metric(ctx: Ctx, name: str, m: EventMetric) -> ir.Table:
    """Trailing ``window`` days ending with each day (WAU, MAU, 7-day sums...)."""
    n_days = m.window
    first_eval, last_eval = ctx.plan.eval_day_range()
    first = first_eval - timedelta(days=n_days - 1)
    base, dims = base_rows(ctx, name, m, m.time, first, last_eval)
    vtype = vtype_of(ctx, name, m)
    parts = []
    for gset in R.grouping_sets(m):
        if m.measure == "count_distinct":
            daily = _rolling_distinct(base, gset, [n_days], first, last_eval)
            daily = daily.select("day", *gset, value=daily[f"x{n_days}"],
                                 n=daily[f"x{n_days}"])
        else:
            daily = _rolling_partials(ctx, base, m, gset, n_days)
        parts.append(read_at_eval_days(ctx, daily, gset, dims, vtype))
    return union_all(parts)


def rolling_group(ctx: Ctx, members: list[tuple[str, EventMetric]],
                  windows: dict[str, int]) -> ir.Table:
    """Exact rolling distinct counts for several windows of one column, in one query.

    Output columns ``value__<name>``/``n__<name>`` as for ``event_group``.
    """
    widest = max(windows.values())
    first_eval, last_eval = ctx.plan.eval_day_range()
    first = first_eval - timedelta(days=widest - 1)
    name0, m0 = members[0]
    base, dims = base_rows(ctx, name0, m0, m0.time, first, last_eval)
    parts = []
    for gset in R.grouping_sets(m0):
        daily = _rolling_distinct(base, gset, sorted(set(windows.values())), first, last_eval)
        ev = ctx.plan.eval_table()
        j = daily.join(ev, daily.day == ev.day)
        out = {"grain": j.grain, "period": j.period.cast("int64"),
               "gset": ibis.literal(",".join(gset), "string")}
        for d in dims:
            out[f"d_{d}"] = j[d] if d in gset else ibis.null("string")
        for name, w in windows.items():
            out[f"value__{name}"] = j[f"x{w}"].cast("int64")
            out[f"n__{name}"] = j[f"x{w}"].cast("int64")
        parts.append(j.select(**out))
    return union_all(parts)


def _rolling_distinct(base, gset, windows: list[int], first, last) -> ir.Table:
    """Columns ``x<W>`` per window W: distinct entities over the W days ending each day.

    "Segments": for one entity with active days a1 < a2 < ..., day d is in the trailing
    window iff some ai is in (d - W, d]; [ai, min(a(i+1), ai + W)) are disjoint and cover
    exactly those d. So +1 at ai and -1 at the segment end, then a running sum. Each
    (entity, day) pair is touched once, for every window at the same time.
    """
    pairs = base.filter(base.v.notnull()).select("day", "v", *gset).distinct()
    nxt = pairs.day.lead().over(ibis.window(group_by=["v", *gset], order_by="day"))
    pairs = pairs.mutate(_next=nxt)
    cols = [f"x{w}" for w in windows]
    one, zero = ibis.literal(1, "int64"), ibis.literal(0, "int64")
    parts = [pairs.select("day", *gset, **dict.fromkeys(cols, one))]
    for w in windows:
        until = pairs.day + w
        end = ibis.least(pairs._next.fill_null(until), until)
        parts.append(pairs.select(day=end, **{g: pairs[g] for g in gset},
                                  **{c: (-one if c == f"x{w}" else zero) for c in cols}))
    deltas = union_all(parts)
    deltas = deltas.group_by(["day", *gset]).aggregate(**{c: deltas[c].sum() for c in cols})
    return dense_running(deltas, gset, first, last, cols)


def daily_partials(base: ir.Table, m: TableMetric, group: list[str]) -> ir.Table:
    """Per-day pieces that combine over any span: count, sum, min, max."""
    has_v = bool(m.column)
    aggs = {"cnt": base.v.count() if has_v else base.count()}
    if has_v and m.measure in ("sum", "avg"):
        aggs["sm"] = base.v.sum()
    if has_v and m.measure in ("min", "max"):
        aggs["mn"] = base.v.min()
        aggs["mx"] = base.v.max()
    return base.group_by(group).aggregate(**aggs)


def combine_partials(t: ir.Table, m: TableMetric):
    """The measure from combined partials (count and sum add up; min/max of mins/maxes)."""
    match m.measure:
        case "count":
            return t.cnt.sum()
        case "sum":
            return t.sm.sum()
        case "avg":
            return t.sm.sum().cast("float64") / t.cnt.sum().nullif(0)
        case "min":
            return t.mn.min()
        case "max":
            return t.mx.max()
    raise ValueError(f"measure {m.measure} cannot be combined from daily partials")


def _rolling_partials(ctx: Ctx, base, m, gset, n_days) -> ir.Table:
    daily = daily_partials(base, m, ["day", *gset])
    ev = ctx.plan.eval_table().select("day").distinct().rename(eday="day")
    j = ev.join(daily, (daily.day > ev.eday - n_days) & (daily.day <= ev.eday))
    out = j.group_by(["eday", *gset]).aggregate(value=combine_partials(j, m), n=j.cnt.sum())
    return out.rename(day="eday")


# -- cumulative: month-to-date (or week/quarter/year-to-date) -------------------------------
