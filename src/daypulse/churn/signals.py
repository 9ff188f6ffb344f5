"""Churn signals for every scored customer and every local day of a range, set-based, in the
source: one query per signal source -- sources on one table share it -- whatever the number of
customers or days (never a query or a Python loop per customer or per day).

- who is scored (:func:`population_query`): the scored metric's rows open at the end of each day,
  joined with a table of the range's days, one row per (customer, day) with its dimensions;
- activity, logins, progress, frustration (``churn.windows``): window sums over day numbers at
  those pairs -- the first such query carries the population and is the frame the others join;
- payment issues and trials: interval joins against the table of days.

Local days and "open at the end of D" are those of every metric (``churn.rows``).

The frame returned, one row per scored customer-day ordered by day and entity: ``entity``
(text), ``day``, ``d_<dimension>``, and per configured source ``inactivity``, ``active_last``,
``active_base`` (activity); ``logins_last``, ``logins_prev``; ``progress_last``,
``progress_prev``; ``frustration`` (NaN: no score); ``payment_issue``; ``trial_expiring``.
"""

from __future__ import annotations

from datetime import date, timedelta

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from daypulse.churn import rows as C
from daypulse.churn import windows as W
from daypulse.churn.config import ChurnConfig
from daypulse.churn.population import scored_population
from daypulse.compile import rows as R
from daypulse.errors import ConfigError, DaypulseError, Issue, SourceError
from daypulse.project.model import Project

TRIAL_DAYS = 3  # a trial ending in (end of D, end of D+3]
Ctx = C.Ctx


# -- who is scored --------------------------------------------------------------------------

def population_query(ctx: Ctx) -> ir.Table:
    """(entity, day, d_<dimension>..., first_day): every customer open at the end of each day of
    the range, with the local day of its first start ever (for "never active")."""
    pop, label = ctx.pop, "scored"
    t, preds, local = C.table(ctx, pop.table, pop.where, label)
    ent = R.column(t, pop.entity, label, "entity").cast("string")
    dims = {f"d_{d}": R.dimension_value(R.column(t, col, label, f"dimensions.{d}"))
            for d, col in pop.dimensions.items()}
    start_ts, s_local = R.time_column(t, pop.start, label, "start", local)
    firsts = t.filter(*preds, start_ts.notnull(), ent.notnull()).group_by(entity=ent).aggregate(
        first_e=R.epoch(ctx.src, start_ts).min())
    j = C.on_days(ctx, C.open_rows(ctx, t, preds, local, ent, pop.start, pop.end, label, extra=dims))
    if dims:
        grid = j.group_by(["entity", "day"]).aggregate(**{d: j[d].min() for d in dims})
    else:
        grid = j.select("entity", "day").distinct()
    out = grid.left_join(firsts, grid.entity == firsts.entity)
    return out.select(*[grid[c] for c in grid.columns], first_day=C.wide_day(ctx, firsts.first_e, s_local))


# -- open rows: payment issues, trials ------------------------------------------------------

def payment_query(ctx: Ctx) -> ir.Table:
    """(entity, day, payment_issue): pairs with a row open at the end of the day whose status is
    one of the payment-issue statuses (the others are false)."""
    spec = ctx.cfg.payment
    t, preds, local = C.table(ctx, spec.table, [spec.where], "payment")
    preds.append(R.column(t, spec.status, "payment", "status").isin(list(spec.statuses)))
    j = C.on_days(ctx, C.open_rows(ctx, t, preds, local, C.entity(ctx, t, spec, "payment"), spec.start,
                                   spec.end, "payment"))
    return j.select("entity", "day").distinct().mutate(payment_issue=ibis.literal(True))


def trial_query(ctx: Ctx) -> ir.Table:
    """(entity, day, trial_expiring): a trial ends in (end of D, end of D+3] and no paid row is
    open at the end of D. With ``t1`` = the end's epoch second - 1, that is day(t1) in
    [D+1, D+3] -- exact on whole seconds, across DST."""
    spec = ctx.cfg.trial
    t, preds, local = C.table(ctx, spec.table, [spec.where], "trial")
    ent = C.entity(ctx, t, spec, "trial")
    end_ts, local = R.time_column(t, spec.end, "trial", "end", local)
    t1 = R.epoch(ctx.src, end_ts) - 1
    first, last = ctx.first + timedelta(days=1), ctx.last + timedelta(days=TRIAL_DAYS)
    lo = R.instant_of_day_start(ctx.cal, first, local)
    hi = R.instant_of_day_start(ctx.cal, last + timedelta(days=1), local)
    ends = t.filter(*preds, end_ts.notnull(), ent.notnull(), t1 >= lo, t1 < hi).select(entity=ent, t1=t1)
    ends = ends.select("entity", td=R.local_day(ctx.cal, ends.t1, first, last, local))
    days = C.days(ctx)
    soon = ends.join(days, [days.day >= ends.td - TRIAL_DAYS, days.day <= ends.td - 1]).select("entity", "day")
    soon = soon.distinct()
    paid = spec.paid
    pt, p_preds, p_local = C.table(ctx, paid.table or spec.table, [paid.where], "trial.paid")
    p_ent = R.column(pt, paid.entity or ctx.cfg.entity_of(spec, ctx.pop), "trial.paid", "entity").cast("string")
    paid_rows = C.open_rows(ctx, pt, p_preds, p_local, p_ent, paid.start, paid.end, "trial.paid")
    paid_rows = paid_rows.select(p_entity="entity", p_sd="sd", p_ed="ed")
    out = soon.anti_join(paid_rows, [soon.entity == paid_rows.p_entity, paid_rows.p_sd <= soon.day,
                                     soon.day < paid_rows.p_ed])  # a paid row open at the end of D
    return out.mutate(trial_expiring=ibis.literal(True))


QUERIES = {"payment": payment_query, "trial": trial_query}
FLAGS = {"payment": "payment_issue", "trial": "trial_expiring"}  # false where no row came back


def query_names(ctx: Ctx) -> list[str]:
    """The queries a range takes: one per group of windowed sources (``activity+logins+progress``
    when they read one table; the first dense one computes who is scored), ``frustration`` on
    its own table, ``payment``, ``trial``; ``population`` when no dense group does it."""
    groups = W.windowed_groups(ctx.project, ctx.cfg, ctx.pop)
    dense = ["+".join(g) for g in groups if not W.is_sparse(g)]
    sparse = ["+".join(g) for g in groups if W.is_sparse(g)]
    return [*(dense or ["population"]), *sparse, *[n for n in QUERIES if getattr(ctx.cfg, n) is not None]]


def build(ctx: Ctx, name: str, grid: ir.Table | None = None) -> ir.Table:
    """One query of :func:`query_names` (or ``population``), built (not run); ``grid``: the
    population's query, for the dense groups (built here when not given). A setting the source
    cannot take is a ConfigError naming it (``churn.logins.where.kind: ...``)."""
    label = "scored" if name == "population" else name.split("+")[0]
    try:
        if name == "population":
            return population_query(ctx)
        if name in QUERIES:
            return QUERIES[name](ctx)
        names = tuple(name.split("+"))
        if W.is_sparse(names):
            return W.sparse_query(ctx, names)
        return W.windowed_query(ctx, grid if grid is not None else build(ctx, "population"), names)
    except ConfigError as err:
        raise ConfigError([Issue(i.message if i.message.startswith("churn.") else f"churn.{label}.{i.message}",
                                 hint=i.hint, level=i.level) for i in err.issues]) from None


def queries(ctx: Ctx) -> dict[str, ir.Table]:
    """Every query of the range, built (not run)."""
    grid = build(ctx, "population")
    return {name: grid if name == "population" else build(ctx, name, grid) for name in query_names(ctx)}


def execute(name: str, expr: ir.Table):
    """Run one query in the source (an Arrow table); an engine's error names the source."""
    try:
        return expr.to_pyarrow()
    except DaypulseError:
        raise
    except Exception as exc:  # the engines' and Ibis's many exception types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = "the scored customers" if name == "population" else f"churn.{name}"
        raise SourceError(f"{where}: the source could not compute it: {first}") from exc


def compute_signals(project: Project, cfg: ChurnConfig, first: date, last: date,
                    source: R.Source | None = None) -> pd.DataFrame:
    """The signals of every scored customer on every local day of [first, last], one row per
    customer-day in no particular order (module docstring)."""
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    src = source or R.Source.open(project.source)
    ctx = Ctx(src, project, cfg, scored_population(project, cfg), first, last)
    built = queries(ctx)
    base, *rest = built
    frame = execute(base, built[base]).to_pandas()
    if base == "population":
        frame = frame.drop(columns=["first_day"])
    keys = _Keys(frame, ctx.day(first), ctx.day(last))
    for name in rest:
        part = execute(name, built[name]).to_pandas()
        pos = keys.positions(part)
        for col in part.columns:
            if col in ("entity", "day") or col.startswith("d_"):
                continue
            if name in FLAGS:
                frame[col] = pos >= 0
            elif len(pos) and (pos >= 0).all():  # a dense group: every pair is there (ints stay ints)
                frame[col] = part[col].to_numpy()[pos]
            else:
                values = part[col].to_numpy(dtype="float64", na_value=np.nan)
                frame[col] = np.where(pos >= 0, values[np.maximum(pos, 0)], np.nan) if len(part) else np.nan
    frame["day"] = pd.to_datetime(frame["day"].astype("int64"), unit="D")
    return frame


class _Keys:
    """The frame's (entity, day) pairs as one integer each (entity code * days of the range +
    day offset), to attach a query's columns with one hash lookup instead of a merge."""

    def __init__(self, frame: pd.DataFrame, lo: int, hi: int):
        codes, uniques = pd.factorize(frame["entity"])
        self.lo, self.span, self.uniques = lo, hi - lo + 1, pd.Index(uniques)
        self.key = codes.astype("int64") * self.span + (frame["day"].to_numpy("int64") - lo)

    def positions(self, part: pd.DataFrame) -> np.ndarray:
        """For each frame row, the row of ``part`` with the same (entity, day), or -1."""
        codes = self.uniques.get_indexer(part["entity"])  # -1: a customer the frame does not score
        days = part["day"].to_numpy("int64") - self.lo
        ok = (codes >= 0) & (days >= 0) & (days < self.span)
        rows = np.flatnonzero(ok)
        if not len(rows):
            return np.full(len(self.key), -1)
        hit = pd.Index(codes[ok].astype("int64") * self.span + days[ok]).get_indexer(self.key)
        return np.where(hit >= 0, rows[np.maximum(hit, 0)], -1)
