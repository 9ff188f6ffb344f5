"""Per-entity changes between consecutive periods: MRR movements and user lifecycle.

Both compare each entity (a customer, a user) with itself one step earlier, so both read
the entity's whole history (a "new" customer is one never seen paying before), and both
do it with window functions over the entity's change points, never a loop over days:

* ``movement``: the entity's value (a sum over its open rows, as a state metric) changes
  only on the local days where one of its rows starts or ends. Those days' net deltas,
  running-summed per entity, give the value after (``cur``) and before (``prev``) each
  change; ``prev``/``cur`` classify it as new, expansion, contraction, churn or reactivation.
* ``lifecycle``: the distinct (entity, period index) pairs of activity, with the previous
  and next active period of the same entity (LAG/LEAD), classify each entity per period as
  new, returning, resurrecting or (in the period after its last activity) dormant.

Output columns as for ``event.event_group``: grain, period, gset, d_<dim>...,
``value__<metric>`` and ``n__<metric>`` per member.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from daypulse.calendar import day_num
from daypulse.compile import rows as R
from daypulse.compile.base import INF_DAY, Ctx, union_all, value_type
from daypulse.compile.plan import bucket
from daypulse.project.model import LifecycleMetric, MovementMetric

# -- keys: members that can share one query ---------------------------------------------------


def movement_key(project, m: MovementMetric) -> tuple:
    return ("movement", project.table(m.table), m.entity, m.column, m.unit, m.start, m.end,
            json.dumps(m.where, sort_keys=True, default=str), tuple(m.dimensions.items()),
            tuple(tuple(b) for b in m.breakdowns))


def lifecycle_key(project, m: LifecycleMetric) -> tuple:
    return ("lifecycle", project.table(m.table), m.time, m.column,
            json.dumps(m.where, sort_keys=True, default=str), tuple(m.dimensions.items()),
            tuple(tuple(b) for b in m.breakdowns))


def _out(agg: ir.Table, grain: str, gset, dims, values: dict) -> ir.Table:
    out = {"grain": ibis.literal(grain, "string"), "period": agg.period.cast("int64"),
           "gset": ibis.literal(",".join(gset), "string")}
    for d in dims:
        out[f"d_{d}"] = agg[d] if d in gset else ibis.null("string")
    out.update(values)
    return agg.select(**out)


# -- movements ----------------------------------------------------------------------------------

def _entity_days(ctx: Ctx, name: str, m: MovementMetric, now_epoch: int | None,
                 exact_from: date, last: date) -> ir.Table:
    """Rows as (entity, sd, ed, v, dims): the row counts on local days [sd, ed)."""
    cal = ctx.cal
    t, table_local = R.metric_table(ctx.src, ctx.project, name, m)
    start_ts, local = R.time_column(t, m.start, name, "start", table_local)
    se = R.epoch(ctx.src, start_ts)
    hi = R.instant_of_day_start(cal, last + timedelta(days=1), local)
    preds = [start_ts.notnull(), se < hi]
    if now_epoch is not None:
        preds.append(se < now_epoch)  # today: only what had started by now
    cols = {"entity": R.column(t, m.entity, name, "entity"),
            "sd": R.local_day(cal, se, exact_from, last, local),
            "v": R.measured(t, m, name)}
    if m.end:
        end_ts, local = R.time_column(t, m.end, name, "end", table_local)
        ee = R.epoch(ctx.src, end_ts)
        still_open = end_ts.isnull()
        if now_epoch is not None:
            still_open = still_open | (ee >= now_epoch)
        cols["ed"] = ibis.cases((still_open, INF_DAY),
                                else_=R.local_day(cal, ee, exact_from, last, local)).cast("int64")
    else:
        cols["ed"] = ibis.literal(INF_DAY, "int64")
    cols.update(R.dims_columns(t, m, name))
    rows = t.filter(*preds).select(**cols)
    return rows.filter(rows.v.notnull(), rows.entity.notnull(), rows.sd < rows.ed)


def _earliest_day(ctx: Ctx, name: str, m: MovementMetric) -> date | None:
    """The (UTC or wall-clock) date of the earliest start: one small aggregate query."""
    t, local = R.metric_table(ctx.src, ctx.project, name, m)
    ts, _ = R.time_column(t, m.start, name, "start", local)
    first = ts.min().to_pyarrow().as_py()
    return first.date() if first is not None else None


def movement_group(ctx: Ctx, members: list[tuple[str, MovementMetric]],
                   now_epoch: int | None) -> ir.Table:
    plan = ctx.plan
    name0, m0 = members[0]
    last = plan.last_day
    # Local days must be exact over the whole history read: whether a customer paid before
    # depends on rows far back (a 40-minute row across midnight, dated with the wrong DST
    # offset, would vanish). The CASE over offsets grows by two branches a year at most.
    exact_from = min(plan.first_day, _earliest_day(ctx, name0, m0) or plan.first_day)
    rows = _entity_days(ctx, name0, m0, now_epoch, exact_from - timedelta(days=2), last)
    dims = list(m0.dimensions)
    parts = []
    for gset in R.grouping_sets(m0):
        keys = ["entity", *gset]
        plus = rows.select(*keys, day=rows.sd, d=rows.v)
        ended = rows.filter(rows.ed <= day_num(last))
        minus = ended.select(*keys, day=ended.ed, d=-ended.v)
        deltas = union_all([plus, minus])
        deltas = deltas.group_by([*keys, "day"]).aggregate(d=deltas.d.sum())
        deltas = deltas.filter(deltas.d != 0)
        history = ibis.cumulative_window(group_by=keys, order_by="day")
        ch = deltas.mutate(cur=deltas.d.sum().over(history))
        ch = ch.mutate(prev=ch.cur - ch.d, pos=ibis.cases((ch.cur > 0, 1), else_=0))
        ch = ch.mutate(paid_before=ch.pos.sum().over(history) - ch.pos)
        ch = ch.mutate(**_classify(ch))
        for g, span in plan.spans.items():
            r = ch.filter(ch.day.between(day_num(span.first), day_num(span.last)))
            r = r.mutate(period=bucket(ctx.cal, g, r.day, span.first, span.last))
            if any(m.cohort == "existing" for _, m in members):
                # The starting cohort: paying when the period began. A customer leaves it at
                # its first churn in the period: what it does after (a reactivation, and any
                # later movement of that reactivated MRR) is not the cohort's.
                w = ibis.window(group_by=[*keys, "period"], order_by="day")
                so_far = ibis.cumulative_window(group_by=[*keys, "period"], order_by="day")
                churn = ibis.cases((r.a_churn.notnull(), 1), else_=0)
                r = r.mutate(cohort=r.prev.first().over(w) > 0,
                             churned_before=churn.sum().over(so_far) - churn)
                r = r.mutate(cohort=r.cohort & (r.churned_before == 0))
            aggs = {}
            for name, m in members:
                amount = r[f"a_{m.movement}"]
                hit = amount.notnull()
                if m.cohort == "existing":
                    hit = hit & r.cohort
                vtype = "int64" if m.measure == "count" else vtype_of(ctx, name, m)
                moved = r.count(where=hit)
                value = moved if m.measure == "count" else amount.sum(where=hit)
                aggs[f"value__{name}"] = value.cast(vtype).fill_null(0)
                aggs[f"n__{name}"] = moved
            agg = r.group_by(["period", *gset]).aggregate(**aggs)
            parts.append(_out(agg, g, gset, dims, {c: agg[c] for c in aggs}))
    return union_all(parts)


def _classify(ch: ir.Table) -> dict[str, ir.Value]:
    """The amount of each kind of movement a change is (NULL when it is not that kind)."""
    was, now = ch.prev > 0, ch.cur > 0
    first_time = ch.paid_before == 0
    return {
        "a_new": ibis.cases((~was & now & first_time, ch.cur)),
        "a_reactivation": ibis.cases((~was & now & ~first_time, ch.cur)),
        "a_expansion": ibis.cases((was & (ch.cur > ch.prev), ch.cur - ch.prev)),
        "a_contraction": ibis.cases((was & now & (ch.cur < ch.prev), ch.prev - ch.cur)),
        "a_churn": ibis.cases((was & ~now, ch.prev)),
    }


def vtype_of(ctx: Ctx, name: str, m: MovementMetric) -> str:
    t, _ = R.metric_table(ctx.src, ctx.project, name, m)
    return value_type(m, R.measured(t, m, name).type())


# -- lifecycle ----------------------------------------------------------------------------------

def lifecycle_group(ctx: Ctx, members: list[tuple[str, LifecycleMetric]]) -> ir.Table:
    plan, cal = ctx.plan, ctx.cal
    name0, m0 = members[0]
    last = plan.last_day
    # The period before the first one decides "returning": its days must be exact.
    exact_from = min(cal.period_start(g, s.first - timedelta(days=1)) for g, s in plan.spans.items())
    exact_from -= timedelta(days=1)
    t, local = R.metric_table(ctx.src, ctx.project, name0, m0)
    ts, local = R.time_column(t, m0.time, name0, "time", local)
    e = R.epoch(ctx.src, ts)
    hi = R.instant_of_day_start(cal, last + timedelta(days=1), local)
    cols = {"entity": R.column(t, m0.column, name0, "column"),
            "day": R.local_day(cal, e, exact_from, last, local)}
    cols.update(R.dims_columns(t, m0, name0))
    rows = t.filter(ts.notnull(), e < hi).select(**cols)
    rows = rows.filter(rows.entity.notnull())
    dims = list(m0.dimensions)
    parts = []
    for gset in R.grouping_sets(m0):
        keys = ["entity", *gset]
        for g, span in plan.spans.items():
            p = rows.select(*keys, pidx=period_index(cal, g, rows.day)).distinct()
            w = ibis.window(group_by=keys, order_by="pidx")
            p = p.mutate(prev=p.pidx.lag().over(w), nxt=p.pidx.lead().over(w))
            status = ibis.cases((p.prev.isnull(), "new"), (p.prev == p.pidx - 1, "returning"),
                                else_="resurrecting")
            active = p.select(*keys, pidx=p.pidx, status=status)
            gone = p.filter(p.nxt.isnull() | (p.nxt > p.pidx + 1))
            dormant = gone.select(*keys, pidx=gone.pidx + 1, status=ibis.literal("dormant"))
            st = union_all([active, dormant])
            periods = _period_map(cal, g, span.periods)
            j = st.join(periods, st.pidx == periods.pidx)
            aggs = {}
            for name, m in members:
                n = j.count(where=j.status == m.status)
                aggs[f"value__{name}"] = n
                aggs[f"n__{name}"] = n
            agg = j.group_by(["period", *gset]).aggregate(**aggs)
            parts.append(_out(agg, g, gset, dims, {c: agg[c] for c in aggs}))
    return union_all(parts)


def _period_map(cal, grain: str, periods) -> ir.Table:
    return ibis.memtable({"pidx": [python_period_index(cal, grain, p) for p in periods],
                          "period": [day_num(p) for p in periods]},
                         schema={"pidx": "int64", "period": "int64"})


def python_period_index(cal, grain: str, d: date) -> int:
    """Consecutive integers for consecutive periods (the same numbering as period_index)."""
    if grain == "day":
        return day_num(d)
    if grain == "week":
        return (day_num(d) + _week_shift(cal)) // 7
    months = d.year * 12 + d.month - 1
    return {"month": months, "quarter": months // 3, "year": d.year}[grain]


def _week_shift(cal) -> int:
    # 1970-01-01 was a Thursday: day + 3 is a multiple of 7 on Mondays (see plan.bucket).
    return 3 if cal.week_start == "monday" else 4


def period_index(cal, grain: str, day: ir.IntegerValue) -> ir.IntegerValue:
    """The period index of local day number ``day``, in SQL, for any span of history."""
    if grain == "day":
        return day
    if grain == "week":
        return (day + _week_shift(cal)) // 7
    months = civil_month_index(day)
    return {"month": months, "quarter": months // 3, "year": months // 12}[grain]


def civil_month_index(day: ir.IntegerValue) -> ir.IntegerValue:
    """year * 12 + month - 1 of a day number, in integer arithmetic every engine shares
    (H. Hinnant's civil_from_days; every operand is non-negative, so truncating and flooring
    divisions agree)."""
    z = day + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    # March-based year: months mp 0..9 are Mar..Dec of year yoe, 10..11 Jan..Feb of the next.
    year = yoe + era * 400 + ibis.cases((mp >= 10, 1), else_=0)
    month0 = ibis.cases((mp < 10, mp + 2), else_=mp - 10)
    return (year * 12 + month0).cast("int64")
