"""What every churn query starts from: the context of a range, a source table with its
``where`` predicates, the customer column as text, a table of the range's days, local days of
instants far before the range, and rows open at the end of each day (as ``kind: state``).

Local days are the project zone's, as for every metric (``compile.rows``): an instant ``e`` is on
day ``(e + offset(e)) // 86400``, the offset a CASE over the zone's UTC offset segments, so a
day is 23 or 25 hours long across DST. "Open at the end of D" is ``start < E`` and (``end`` NULL or
``end >= E``), ``E`` the start of D + 1: a row counts on the days [day(start), day(end)).

Queries are built flat (one filter, then one select; epoch seconds read in one SELECT and made
local days in the next): SQLite's parser has a fixed depth, and the window queries nest deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from daypulse import warehouse
from daypulse.calendar import Calendar, day_num
from daypulse.churn.config import ChurnConfig
from daypulse.churn.population import Population
from daypulse.compile import rows as R
from daypulse.project.model import Project

HISTORY_YEARS = 10  # exact local days this far before the range (last activity, first start)


@dataclass(frozen=True)
class Ctx:
    src: R.Source
    project: Project
    cfg: ChurnConfig
    pop: Population
    first: date
    last: date

    @property
    def cal(self) -> Calendar:
        return self.project.calendar

    def day(self, d: date) -> int:
        return day_num(d)


def table(ctx: Ctx, logical: str, wheres: list[dict], label: str) -> tuple[ir.Table, list, bool]:
    """The physical table, the predicates of its ``where`` mappings (for the caller's one filter:
    every SELECT less matters, SQLite's parser has a fixed depth), whether it is local."""
    spec = ctx.project.table(logical)
    t = warehouse.table(ctx.src.con, spec.name)
    preds = [p for where in wheres for p in R.where_filter(t, where, label)]
    return t, preds, spec.timestamps == "local"


def entity(ctx: Ctx, t: ir.Table, source, label: str) -> ir.StringValue:
    return R.column(t, ctx.cfg.entity_of(source, ctx.pop), label, "entity").cast("string")


def days(ctx: Ctx, first: date | None = None, last: date | None = None) -> ir.Table:
    lo, hi = day_num(first or ctx.first), day_num(last or ctx.last)
    return ibis.memtable({"day": list(range(lo, hi + 1))}, schema={"day": "int64"})


def wide_day(ctx: Ctx, e: ir.IntegerValue, local: bool) -> ir.IntegerValue:
    """The local day of an instant anywhere in the ten years before the range (year-aligned
    bounds, so the zone's offsets are worked out once per process and year)."""
    lo = date(ctx.first.year - HISTORY_YEARS, 1, 1)
    hi = date(ctx.last.year + 1, 12, 31)
    return R.local_day(ctx.cal, e, lo, hi, local)


def open_rows(ctx: Ctx, t: ir.Table, preds: list, local: bool, ent: ir.StringValue, start: str,
              end: str | None, label: str, prefix: str = "", extra: dict | None = None) -> ir.Table:
    """(entity, sd, ed, extra...): rows open at the end of some day of the range, counting on days
    [sd, ed) clamped to [first, last + 1) (as ``kind: state`` does); sd >= ed (a row that ended
    on the day it started) matches no day in :func:`on_days`. The epoch seconds are read in one
    SELECT and turned into local days in the next, keeping each expression shallow (SQLite's
    parser has a fixed depth)."""
    start_ts, s_local = R.time_column(t, start, label, f"{prefix}start", local)
    se = R.epoch(ctx.src, start_ts)
    hi = R.instant_of_day_start(ctx.cal, ctx.last + timedelta(days=1), s_local)
    preds = [*preds, start_ts.notnull(), ent.notnull(), se < hi]
    cols = {"entity": ent, "se": se}
    e_local = s_local
    if end:
        end_ts, e_local = R.time_column(t, end, label, f"{prefix}end", local)
        ee = R.epoch(ctx.src, end_ts)
        lo = R.instant_of_day_start(ctx.cal, ctx.first + timedelta(days=1), e_local)
        preds.append(end_ts.isnull() | (ee >= lo))  # still open at the end of the first day
        cols["ee"] = ee
    rows = t.filter(*preds).select(**cols, **(extra or {}))
    past = ctx.day(ctx.last) + 1
    sd = ibis.greatest(R.local_day(ctx.cal, rows.se, ctx.first, ctx.last, s_local), ctx.day(ctx.first))
    if end:
        ed = ibis.cases((rows.ee.isnull(), past),
                        else_=ibis.least(R.local_day(ctx.cal, rows.ee, ctx.first, ctx.last, e_local), past))
    else:
        ed = ibis.literal(past, "int64")
    return rows.select("entity", *(extra or {}), sd=sd.cast("int64"), ed=ed.cast("int64"))


def on_days(ctx: Ctx, rows: ir.Table) -> ir.Table:
    """Each open row on each day of the range it is open at the end of: (rows' columns, day)."""
    d = days(ctx)
    return rows.join(d, [d.day >= rows.sd, d.day < rows.ed])
