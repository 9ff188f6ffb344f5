"""``kind: cumulative``: an event metric running from the start of each week, month, quarter or year."""

from __future__ import annotations

import ibis.expr.types as ir

from daypulse.compile import rows as R
from daypulse.compile.base import Ctx, base_rows, union_all, vtype_of
from daypulse.compile.event import combine_partials, daily_partials, dense_running, read_at_eval_days
from daypulse.compile.plan import bucket
from daypulse.project.model import CumulativeMetric, EventMetric


def cumulative(ctx: Ctx, name: str, m: CumulativeMetric, of: EventMetric) -> ir.Table:
    cal = ctx.cal
    first_eval, last_eval = ctx.plan.eval_day_range()
    first = cal.period_start(m.reset, first_eval)
    base, dims = base_rows(ctx, name, of, of.time, first, last_eval)
    vtype = vtype_of(ctx, name, of)

    def reset(day):
        return bucket(cal, m.reset, day, first, last_eval)

    parts = []
    for gset in R.grouping_sets(of):
        if of.measure == "count_distinct":
            # An entity counts from its first day in the reset period on.
            firsts = base.filter(base.v.notnull()).mutate(_reset=reset(base.day))
            firsts = firsts.group_by(["v", "_reset", *gset]).aggregate(day=firsts.day.min())
            deltas = firsts.group_by(["day", *gset]).aggregate(cnt=firsts.count())
            daily = dense_running(deltas, gset, first, last_eval, ["cnt"], reset=reset)
            daily = daily.select("day", *gset, value=daily.cnt, n=daily.cnt)
        elif of.measure in ("min", "max"):
            daily = _running_extreme(ctx, base, of, gset, first, last_eval, reset)
        else:
            partial = daily_partials(base, of, ["day", *gset])
            cols = ["cnt"] + (["sm"] if "sm" in partial.columns else [])
            run = dense_running(partial, gset, first, last_eval, cols, reset=reset)
            value = {"count": run.cnt, "sum": run.sm if "sm" in cols else None,
                     "avg": run.sm.cast("float64") / run.cnt.nullif(0) if "sm" in cols else None
                     }[of.measure]
            daily = run.select("day", *gset, value=value, n=run.cnt)
        parts.append(read_at_eval_days(ctx, daily, gset, dims, vtype))
    return union_all(parts)


def _running_extreme(ctx, base, m, gset, first, last, reset) -> ir.Table:
    # min/max do not subtract; a range join of the (small) daily partials does it.
    daily = daily_partials(base, m, ["day", *gset])
    daily = daily.mutate(_reset=reset(daily.day))
    ev = ctx.plan.eval_table().select("day").distinct().rename(eday="day")
    ev = ev.mutate(_ereset=reset(ev.eday))
    j = ev.join(daily, (daily.day <= ev.eday) & (daily._reset == ev._ereset))
    out = j.group_by(["eday", *gset]).aggregate(value=combine_partials(j, m), n=j.cnt.sum())
    return out.rename(day="eday")


# -- state: what is open at the end of each day ---------------------------------------------
