"""The windowed sources (activity, logins, progress, frustration): counts over the last 7, the
previous 7 and the 28 days before them, for every scored customer-day, in one query per table.

Sources reading the same table with the same time and customer columns (activity = every event,
logins = the events of kind login...) share one scan: each keeps its own ``where`` as a filtered
count. Their rows become daily counts per (customer, day) over [first - 34, last]; the scored
(customer, day) pairs are put in the same column set as rows of their own (counting 0); window
sums over RANGE frames of day numbers ("6 PRECEDING", "13 PRECEDING", "34 PRECEDING") read every
window of every pair in one sorted pass, and the scored rows are kept -- with the population's
dimensions, so this result is the frame the others are attached to. For
inactivity, a customer's last activity before the look-back is one more row (its local day read
with the zone's offsets of the ten years before), so all history is one aggregate.

A frustration source on a table of its own is sparse (a score now and then): each day's sum and
count of scores is spread over the 7 days whose window holds it (a join with the numbers 0..6),
without the population or a window pass; customer-days without a score get none.
"""

from __future__ import annotations

from datetime import timedelta

import ibis
import ibis.expr.types as ir

from daypulse.churn import rows as C
from daypulse.churn.config import ChurnConfig
from daypulse.churn.population import Population
from daypulse.compile import rows as R
from daypulse.errors import ConfigError, Issue
from daypulse.project.model import Project

LAST = 7  # "last 7" = [D-6, D]
TWO_WEEKS = 14  # with "previous 7" = [D-13, D-7]
ENGAGEMENT = 35  # the baseline [D-34, D-7] and the last 7
WINDOWED = ("activity", "logins", "progress", "frustration")
BACK = {"activity": ENGAGEMENT - 1, "logins": TWO_WEEKS - 1, "progress": TWO_WEEKS - 1, "frustration": LAST - 1}
OUTPUTS = {"activity": ("inactivity", "active_last", "active_base"), "logins": ("logins_last", "logins_prev"),
           "progress": ("progress_last", "progress_prev"), "frustration": ("frustration",)}


def windowed_groups(project: Project, cfg: ChurnConfig, pop: Population) -> list[tuple[str, ...]]:
    """The configured windowed sources, grouped by (table, time column, customer column)."""
    groups: dict[tuple, list[str]] = {}
    for name in WINDOWED:
        if (spec := getattr(cfg, name)) is not None:
            key = (project.table(spec.table), spec.time, cfg.entity_of(spec, pop))
            groups.setdefault(key, []).append(name)
    return [tuple(names) for names in groups.values()]


def is_sparse(names: tuple[str, ...]) -> bool:
    return names == ("frustration",)


def _member_where(t: ir.Table, name: str, where: dict) -> list:
    try:
        return R.where_filter(t, where, name)
    except ConfigError as err:
        raise ConfigError([Issue(f"churn.{name}.{i.message}", hint=i.hint) for i in err.issues]) from None


def _daily(ctx: C.Ctx, names: tuple[str, ...]):
    """Daily rows (entity, day, n_<source>... [, s, c]) of a group's table over [first - back,
    last]; and what the inactivity part needs (table, activity's predicates, entity, epoch,
    local flag, the look-back's first instant)."""
    specs = {n: getattr(ctx.cfg, n) for n in names}
    spec0, label = specs[names[0]], names[0]
    t, _, local = C.table(ctx, spec0.table, [], label)
    own = {n: _member_where(t, n, spec.where) for n, spec in specs.items()}
    ts, local = R.time_column(t, spec0.time, label, "time", local)
    ent = C.entity(ctx, t, spec0, label)
    e = R.epoch(ctx.src, ts)
    first = ctx.first - timedelta(days=max(BACK[n] for n in names))
    lo = R.instant_of_day_start(ctx.cal, first, local)
    hi = R.instant_of_day_start(ctx.cal, ctx.last + timedelta(days=1), local)
    cols = {"entity": ent, "e": e, **{f"w_{n}": ibis.and_(*own[n]) for n in names if own[n]}}
    if "frustration" in names:
        cols["s"] = R.column(t, specs["frustration"].score, "frustration", "score").cast("float64")
    some = [ibis.or_(*[ibis.and_(*p) for p in own.values()])] if all(own.values()) else []
    rows = t.filter(*some, R.prefilter(t, ts, first, ctx.last), ent.notnull(), e >= lo, e < hi).select(**cols)
    rows = rows.mutate(day=R.local_day(ctx.cal, rows.e, first, ctx.last, local))  # shallow: see C.open_rows
    aggs = {}
    for n in names:
        w = rows[f"w_{n}"] if own[n] else None
        if n == "frustration":
            aggs.update(s=rows.s.sum(where=w), c=rows.s.count(where=w))
        else:
            aggs[f"n_{n}"] = rows.count(where=w)
    daily = rows.group_by(["entity", "day"]).aggregate(**aggs)
    return daily, (t, own.get("activity", []), ent, e, local, lo)


def _union(parts: list[tuple[ir.Table, int, dict]], cols: dict[str, str]) -> ir.Table:
    """The scored pairs (``g`` = 1, counting 0) and the source's rows (``g`` = 0) in one column
    set, so one window pass reads every scored pair's windows. Each part is (table, g, values):
    a column in neither ``values`` nor the table is 0 for counts and sums, NULL for the others
    (days ``a`` and ``f``, dimensions). One SELECT per part: SQLite's parser has a fixed depth."""
    shaped = []
    for t, g, values in parts:
        out = {"entity": values.get("entity", t["entity"] if "entity" in t.columns else None),
               "day": values.get("day", t["day"] if "day" in t.columns else None).cast("int64"),
               "g": ibis.literal(g, "int8")}
        for c, typ in cols.items():
            zero = c.startswith("n_") or c in ("act", "s", "c")
            missing = ibis.literal(0, typ) if zero else ibis.null(typ)
            v = values.get(c, t[c] if c in t.columns else missing)
            out[c] = (v if isinstance(v, ir.Value) else ibis.literal(v, typ)).cast(typ)
        shaped.append(t.select(**out))
    return ibis.union(*shaped, distinct=False)


def _window(days_back: int | None):
    """RANGE BETWEEN ``days_back`` (None: unbounded) PRECEDING AND CURRENT ROW, per customer."""
    return ibis.range_window(preceding=days_back, following=0, group_by="entity", order_by="day")


def windowed_query(ctx: C.Ctx, grid: ir.Table, names: tuple[str, ...]) -> ir.Table:
    """(entity, day, d_<dimension>..., the OUTPUTS of ``names``) at every scored pair of
    ``grid`` (the population query), in no particular order:

    - activity: ``inactivity`` (days since the last active day on or before D, else since the
      first subscription start), ``active_last`` (active days in [D-6, D]), ``active_base``
      (active days in [D-34, D-7]);
    - logins, progress: rows in [D-6, D] (``_last``) and [D-13, D-7] (``_prev``);
    - frustration: the mean score of the rows of [D-6, D] (NULL scores skipped; none: NULL).
    """
    daily, (t, act_where, ent, e, local, lo) = _daily(ctx, names)
    dims = [c for c in grid.columns if c.startswith("d_")]
    types = {**dict.fromkeys(dims, "string"), **{f"n_{n}": "int64" for n in names if n in ("logins", "progress")}}
    if "frustration" in names:
        types.update(s="float64", c="int64")
    parts = [(grid, 1, {}), (daily, 0, {})]
    if "activity" in names:
        types.update(act="int64", a="int64", f="int64")
        active = daily.n_activity > 0
        parts = [(grid, 1, {"f": grid.first_day}),
                 (daily, 0, {"act": ibis.cases((active, 1), else_=0), "a": ibis.cases((active, daily.day))})]
        early = t.filter(*act_where, ent.notnull(), e < lo).group_by(entity=ent).aggregate(last_e=e.max())
        early_day = C.wide_day(ctx, early.last_e, local)  # the last activity before the look-back
        parts.append((early, 0, {"day": early_day, "a": early_day}))
    u = _union(parts, types)
    win = {}
    if "activity" in names:
        win.update(last_a=u.a.max().over(_window(None)), a7=u.act.sum().over(_window(LAST - 1)),
                   a35=u.act.sum().over(_window(ENGAGEMENT - 1)))
    for n in ("logins", "progress"):
        if n in names:
            win.update({f"{n}7": u[f"n_{n}"].sum().over(_window(LAST - 1)),
                        f"{n}14": u[f"n_{n}"].sum().over(_window(TWO_WEEKS - 1))})
    if "frustration" in names:
        win.update(s7=u.s.sum().over(_window(LAST - 1)), c7=u.c.sum().over(_window(LAST - 1)))
    u = u.select("entity", "day", "g", *dims, *(["f"] if "activity" in names else []), **win)
    u = u.filter(u.g == 1)
    out = {}
    if "activity" in names:
        out.update(inactivity=(u.day - u.last_a.fill_null(u.f).fill_null(u.day)).cast("int64"),
                   active_last=u.a7.cast("int64"), active_base=(u.a35 - u.a7).cast("int64"))
    for n in ("logins", "progress"):
        if n in names:
            out.update({f"{n}_last": u[f"{n}7"].cast("int64"), f"{n}_prev": (u[f"{n}14"] - u[f"{n}7"]).cast("int64")})
    if "frustration" in names:
        out["frustration"] = u.s7 / u.c7.nullif(0).cast("float64")
    return u.select("entity", "day", *dims, **out)


def sparse_query(ctx: C.Ctx, names: tuple[str, ...]) -> ir.Table:
    """(entity, day, frustration) for the customer-days whose last 7 days hold a score: each
    day's sum and count spread over the days [d, d+6] of the range it counts for."""
    daily, _ = _daily(ctx, names)
    k = ibis.memtable({"k": list(range(LAST))}, schema={"k": "int64"})
    j = daily.cross_join(k)
    spread = j.select("entity", "s", "c", day=j.day + j.k)
    spread = spread.filter(spread.day >= ctx.day(ctx.first), spread.day <= ctx.day(ctx.last))
    agg = spread.group_by(["entity", "day"]).aggregate(s=spread.s.sum(), c=spread.c.sum())
    agg = agg.filter(agg.c > 0)
    return agg.select("entity", "day", frustration=agg.s / agg.c.cast("float64"))
