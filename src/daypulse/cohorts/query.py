"""The cohort queries, set-based in the source: one per measure, whatever the number of cohorts
or customers (never a query per cohort or per customer).

- **Users**: each customer's signup day ``s`` (its earliest signup row's local day) joined with
  the local days ``d`` it was active, ``d`` in [s + 7, last]; ``k = (d - s) // 7`` is the week
  after signup; the result counts distinct customers per (signup day, k), and the signups per
  signup day. A customer has one signup day, so summing those counts over a cohort's days is the
  cohort's count.
- **Revenue**: the MRR rows open at the end of each period's last day (as ``kind: state``: start
  before the end of the day, no end or an end at or after it) joined with the customers' signup
  days; the result sums MRR per (signup day, period end).

Local days are the project zone's, exact across daylight-saving changes, as for every metric.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import pandas as pd

from daypulse import warehouse
from daypulse.calendar import day_num
from daypulse.cohorts.config import Events, Revenue, Sources
from daypulse.compile import rows as R
from daypulse.errors import SourceError, UsageError
from daypulse.project.model import Project

HISTORY_YEARS = 10  # signups this far before the first cohort are placed on exact local days


def _table(src, project: Project, logical: str, where: dict, label: str):
    """The table with its ``where`` predicates; a table the source does not have is a setup
    problem of the project (its mapping, or cohorts: in daypulse.yml), said as such."""
    spec = project.table(logical)
    try:
        t = warehouse.table(src.con, spec.name)
    except SourceError as exc:
        raise UsageError(f"{label}: {exc} (cohorts read the packs' signups, dau and mrr; see docs/cohorts.md)"
                         ) from None
    return t, R.where_filter(t, where, label), spec.timestamps == "local"


def _span(first: date, last: date) -> tuple[date, date]:
    return date(first.year - HISTORY_YEARS, 1, 1), date(last.year + 1, 12, 31)


def signup_days(src, project: Project, s: Events, first: date, last: date, dims: dict[str, str]):
    """(entity, s): each customer signed up in [first, last] with its signup day number."""
    t, preds, local = _table(src, project, s.table, s.where, "cohorts.signups")
    for name, value in dims.items():
        if name not in s.dimensions:
            raise UsageError(f"cohorts: signups have no dimension {name!r}"
                              f" (dimensions: {', '.join(s.dimensions) or 'none'})")
        preds.append(R.dimension_value(R.column(t, s.dimensions[name], "cohorts.signups", "dimensions")) == value)
    ent = R.column(t, s.entity, "cohorts.signups", "entity").cast("string")
    ts, t_local = R.time_column(t, s.time, "cohorts.signups", "time", local)
    hi = R.instant_of_day_start(project.calendar, last + timedelta(days=1), t_local)
    rows = t.filter(*preds, ts.notnull(), ent.notnull()).select(entity=ent, e=R.epoch(src, ts))
    rows = rows.filter(rows.e < hi)
    lo, top = _span(first, last)
    days = rows.select("entity", s=R.local_day(project.calendar, rows.e, lo, top, t_local).cast("int64"))
    first_day = days.group_by("entity").aggregate(s=days.s.min())
    return first_day.filter(first_day.s >= day_num(first))


def user_counts(src, project: Project, srcs: Sources, first: date, last: date,
                dims: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(signups per signup day: s, n), (customers active per signup day and week: s, k, n)."""
    signed = signup_days(src, project, srcs.signups, first, last, dims)
    a = srcs.activity
    t, preds, local = _table(src, project, a.table, a.where, "cohorts.activity")
    ent = R.column(t, a.entity, "cohorts.activity", "entity").cast("string")
    ts, t_local = R.time_column(t, a.time, "cohorts.activity", "time", local)
    cal = project.calendar
    lo_e = R.instant_of_day_start(cal, first + timedelta(days=7), t_local)
    hi_e = R.instant_of_day_start(cal, last + timedelta(days=1), t_local)
    ev = t.filter(*preds, ts.notnull(), ent.notnull()).select(entity=ent, e=R.epoch(src, ts))
    ev = ev.filter(ev.e >= lo_e, ev.e < hi_e)
    active = ev.select("entity", d=R.local_day(cal, ev.e, first, last, t_local).cast("int64")).distinct()
    j = signed.join(active, [signed.entity == active.entity, active.d >= signed.s + 7])
    weeks = j.select(s=signed.s, k=((active.d - signed.s) // 7).cast("int64"), entity=signed.entity)
    counts = weeks.group_by(["s", "k"]).aggregate(n=weeks.entity.nunique())
    sizes = signed.group_by("s").aggregate(n=signed.entity.count())
    return _execute(sizes, "the signups"), _execute(counts, "the activity")


def revenue_sums(src, project: Project, srcs: Sources, first: date, last: date, dims: dict[str, str],
                 ends: list[date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(signups per signup day: s, n), (MRR in cents per signup day at the end of each day of
    ``ends``: s, end, mrr)."""
    r: Revenue = srcs.revenue
    signed = signup_days(src, project, srcs.signups, first, last, dims)
    t, preds, local = _table(src, project, r.table, r.where, "cohorts.revenue")
    ent = R.column(t, r.entity, "cohorts.revenue", "entity").cast("string")
    start_ts, s_local = R.time_column(t, r.start, "cohorts.revenue", "start", local)
    cols = {"entity": ent, "se": R.epoch(src, start_ts), "v": R.column(t, r.column, "cohorts.revenue", "column")}
    if r.end:
        end_ts, _ = R.time_column(t, r.end, "cohorts.revenue", "end", local)
        cols["ee"] = R.epoch(src, end_ts)
    rows = t.filter(*preds, start_ts.notnull(), ent.notnull()).select(**cols)
    cal = project.calendar
    # The instant each period ends (the start of the day after its last day), per end day.
    at = ibis.memtable({"end": [day_num(d) for d in ends],
                        "cut": [R.instant_of_day_start(cal, d + timedelta(days=1), s_local) for d in ends]},
                       schema={"end": "int64", "cut": "int64"})
    cond = [rows.se < at.cut]
    if r.end:
        cond.append(rows.ee.isnull() | (rows.ee >= at.cut))
    open_ = rows.join(at, cond)
    j = open_.join(signed, open_.entity == signed.entity).select(s=signed.s, end=open_.end, v=open_.v)
    sums = j.group_by(["s", "end"]).aggregate(mrr=j.v.sum())
    sizes = signed.group_by("s").aggregate(n=signed.entity.count())
    return _execute(sizes, "the signups"), _execute(sums, "the MRR")


def _execute(expr, what: str) -> pd.DataFrame:
    try:
        return expr.to_pandas()
    except Exception as exc:  # the source's own message, with what was being read
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"cohorts: the source could not compute {what}: {first}") from exc

