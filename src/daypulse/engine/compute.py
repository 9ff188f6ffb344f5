"""Compute metric values for a date range: compile, execute in the source, zero-fill.

One query per table metric covers every requested grain and dimension grouping; ratios are
recomputed from their parts' values for the same period and dimension values. Nothing here
reads source rows into Python: only aggregated values come back.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import ibis

from daypulse.calendar import SECONDS_PER_DAY, day_num, zone
from daypulse.compile import builders
from daypulse.compile import rows as R
from daypulse.compile.base import Ctx
from daypulse.compile.event import rolling_key
from daypulse.compile.plan import Plan
from daypulse.compile.sqlmetric import run_sql_metric
from daypulse.errors import DaypulseError, SourceError, UsageError
from daypulse.project import expr as arithmetic
from daypulse.project.kinds import kind_of
from daypulse.project.model import (
    DerivedMetric,
    Project,
    RatioMetric,
    SqlMetric,
    StateMetric,
    depends_on,
)
from daypulse.values import MetricValue

ManualSeries = dict[str, list[tuple[date, object]]]

@dataclass
class MetricTiming:
    metric: str
    seconds: float
    rows: int


def compute_values(project: Project, start: date, end: date, metrics: Iterable[str] | None = None,
                   grains: Iterable[str] | None = None, as_of: datetime | None = None,
                   source: R.Source | None = None,
                   on_metric: Callable[[MetricTiming], None] | None = None,
                   manual: ManualSeries | None = None,
                   churn: Callable[[str, date, date], dict] | None = None) -> list[MetricValue]:
    """Values of ``metrics`` (all by default) for the periods intersecting [start, end].

    ``manual``: the store's typed-in values of ``kind: manual`` metrics, {metric: [(from, value)]}
    sorted by date (``store.manual.series``); without it those metrics are NULL.
    ``churn``: (metric, first day, last day) -> the store's counts of a ``kind: churn`` metric,
    {(day, dims): n} (``engine.churn_counts``); without it those metrics are NULL.
    """
    if end < start:
        raise UsageError(f"the end date {end} is before the start date {start}")
    # "Now" is a whole second: rows are compared on whole epoch seconds, so a sub-second
    # as_of would put a row starting within that second on either side.
    as_of = (as_of or datetime.now(UTC)).replace(microsecond=0)
    project.not_in_future(start, "start", as_of)
    cal = project.calendar
    today = cal.today(as_of)
    now = int(as_of.timestamp())
    wanted = project.resolve(metrics)
    src = source or R.Source.open(project.source)
    order = project.with_parts(wanted)
    # Each metric at its grains (its grains:, else compute.grains); ``grains`` picks among them.
    grains = tuple(grains or project.computed_grains(order))
    grains_of = {n: project.grains_of(n, grains) for n in order}
    results: dict[str, dict[str, dict]] = {n: {} for n in order}
    seen: dict[str, dict[str, set]] = {n: {} for n in order}
    reported: set[str] = set()

    def report(names: list[str], t0: float, n_rows: int) -> None:
        fresh = [n for n in names if n not in reported]
        reported.update(fresh)
        if on_metric and fresh:
            seconds = (time.perf_counter() - t0) / len(fresh)
            for n in fresh:
                on_metric(MetricTiming(n, seconds, n_rows))

    table_like = [n for n in order if kind_of(project.metrics[n]).in_source]
    for key, members in _jobs(project, table_like, grains_of).items():
        job_grains = tuple(g for g in grains if any(g in gs for gs in members.values()))
        plan = Plan.build(cal, start, end, today, job_grains, now)
        t0 = time.perf_counter()
        if key[0] == "single":
            (name,) = members
            raw = _execute(members, _run, src, project, name, project.metrics[name], plan, as_of)
            by_member = {name: _columns(raw)}
        else:
            ctx = Ctx(src, project, plan)
            raw = _execute(members, _run_group, ctx, key, members, as_of)
            cols = raw.to_pydict()
            by_member = {n: _member_columns(cols, n) for n in members}
        for n, rows in by_member.items():
            values, keys = _collect(rows, members[n], drop_empty=key[0] != "single")
            results[n].update(values)
            seen[n].update(keys)
        report(list(members), t0, len(next(iter(by_member.values()))["grain"]))
    for name in order:  # parts come first in this order
        m = project.metrics[name]
        if m.kind == "manual":
            if not grains_of[name]:
                continue
            plan = Plan.build(cal, start, end, today, grains_of[name], now)
            results[name] = _manual(plan, (manual or {}).get(name, []))
            seen[name] = {g: {()} for g in grains_of[name]}
            continue
        if m.kind == "churn":
            if grains_of[name]:
                results[name], seen[name] = _churn(Plan.build(cal, start, end, today, grains_of[name], now), name,
                                                   churn)
            continue
        if m.kind not in ("ratio", "derived"):
            continue
        g = tuple(x for x in grains_of[name] if all(x in results[p] for p in depends_on(m)))
        grains_of[name] = g
        if g:
            t0 = time.perf_counter()
            results[name], seen[name] = _derived(project, results, seen, name,
                                                 Plan.build(cal, start, end, today, g, now))
            report([name], t0, 0)
    plans = {n: Plan.build(cal, start, end, today, grains_of[n], now) if grains_of[n] else None
             for n in wanted}
    out = []
    for name in wanted:
        if plans[name] is not None:
            out += _zero_filled(project, name, plans[name], results[name], seen[name])
    return out


def _run_group(ctx, key, members: dict[str, set], as_of: datetime) -> list[dict]:
    first = ctx.project.metrics[next(iter(members))]
    now = _now_epoch(ctx.project, first, ctx.plan, as_of) if key[0] == "movement" else None
    return builders.group_query(ctx, key, members, now).to_pyarrow()


def _execute(members, query, *args):
    """Compile and run a query; an engine error names the metrics instead of a traceback."""

    try:
        return query(*args)
    except DaypulseError:
        raise
    except Exception as exc:  # the engines' and Ibis's many exception types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        names = ", ".join(repr(n) for n in members)
        raise SourceError(f"metric {names}: the source could not compute it: {first}",
                          metric=next(iter(members), None)) from exc


def _jobs(project: Project, names: list[str], grains_of: dict) -> dict[tuple, dict[str, set]]:
    """The queries to run: {group key: {metric: grains it takes from that query}}.

    Event metrics on the same table, time column and dimensions share a scan; rolling
    distinct counts of one column share a pass over (entity, day) pairs, and a plain daily
    distinct count of that column (DAU beside WAU and MAU) is read from the same pass as a
    1-day window instead of a COUNT(DISTINCT) of its own.
    """
    jobs: dict[tuple, dict[str, set]] = {}
    for n in names:
        if grains_of[n]:
            key = builders.group_key(project, n, project.metrics[n])
            jobs.setdefault(key, {})[n] = set(grains_of[n])
    for key, members in list(jobs.items()):
        if key[0] != "event":
            continue
        for n, gs in list(members.items()):
            m = project.metrics[n]
            rolling = rolling_key(project, m)
            if m.measure == "count_distinct" and not m.approx and "day" in gs and rolling in jobs:
                jobs[rolling][n] = {"day"}
                gs.discard("day")
                if not gs:
                    del members[n]
        if not members:
            del jobs[key]
    return jobs


def _member_columns(cols: dict[str, list], name: str) -> dict[str, list]:
    """One member's value and n columns out of a shared query's result."""
    out = {k: v for k, v in cols.items() if not k.startswith(("value__", "n__"))}
    out["value"], out["n"] = cols[f"value__{name}"], cols[f"n__{name}"]
    return out


def _columns(raw) -> dict[str, list]:
    """A query's rows as {column: values} (Arrow does this in C; kind: sql gives dicts)."""
    if isinstance(raw, list):
        keys = list(raw[0]) if raw else ["grain", "period", "gset", "value", "n"]
        return {k: [r.get(k) for r in raw] for k in keys}
    return raw.to_pydict()


def _run(src, project: Project, name: str, m, plan: Plan, as_of: datetime) -> list[dict]:
    if m.kind == "sql":
        return _sql_rows(src, project, name, m, plan)
    now = _now_epoch(project, m, plan, as_of) if m.kind == "state" else None
    return builders.QUERIES[m.kind](Ctx(src, project, plan), name, m, now).to_pyarrow()


def compiled_sql(project: Project, name: str, start: date, end: date,
                 grains: Iterable[str] = ("day",), source: R.Source | None = None) -> str:
    """The SQL daypulse sends for a metric (shown next to the number, and in `check`)."""

    cal = project.calendar
    m = project.metrics[name]
    if m.kind == "sql":
        return m.sql
    if not kind_of(m).in_source:  # computed from other values: say from which
        return {"ratio": lambda: f"-- {m.numerator} / {m.denominator}, per period and dimension value",
                "derived": lambda: f"-- {m.expr}, per period and dimension value",
                "manual": lambda: "-- typed in: the latest manual value set on or before the day (daypulse manual)",
                "churn": lambda: f"-- counted in daypulse's store: {kind_of(m).describe(project, m)}",
                }[m.kind]()
    src = source or R.Source.open(project.source)
    plan = Plan.build(cal, start, end, max(end, cal.today()), tuple(grains))
    expr = builders.QUERIES[m.kind](Ctx(src, project, plan), name, m, None)
    return str(ibis.to_sql(expr, dialect=src.backend))


def _now_epoch(project: Project, m: StateMetric, plan: Plan, as_of: datetime) -> int | None:
    """``as_of`` when it falls before the end of the last computed day, else None."""
    local = project.table(m.table).timestamps == "local"
    last = plan.eval_day_range()[1]
    if local:
        wall = as_of.astimezone(zone(plan.cal.tz))
        now = int(wall.replace(tzinfo=UTC).timestamp())
        end = (day_num(last) + 1) * SECONDS_PER_DAY
    else:
        now = int(as_of.timestamp())
        end = plan.cal.day_start(last + timedelta(days=1))
    return now if now < end else None


def _sql_rows(src, project: Project, name: str, m: SqlMetric, plan: Plan) -> list[dict]:
    cal = plan.cal
    first, last = plan.first_day, plan.last_day
    daily = run_sql_metric(src, name, m, cal.day_start(first),
                           cal.day_start(last + timedelta(days=1)), project.timezone)
    gset_of = lambda rec: tuple(d for d in m.dimensions if rec.get(d) is not None)  # noqa: E731
    out, by_period = [], defaultdict(list)
    for rec in daily:
        if not first <= rec["day"] <= last:
            continue
        gset = gset_of(rec)
        dims = {f"d_{d}": (str(rec[d]) if d in gset else None) for d in m.dimensions}
        for g, span in plan.spans.items():
            if not span.first <= rec["day"] <= span.last:
                continue
            period = day_num(cal.period_start(g, rec["day"]))
            by_period[(g, period, gset, tuple(dims.items()))].append((rec["day"], rec["value"]))
    for (g, period, gset, dims), vals in by_period.items():
        vals = [v for _, v in sorted(vals, key=lambda x: x[0])]
        if g == "day":
            value = vals[-1]
        elif m.rollup == "sum":
            value = sum(v for v in vals if v is not None)
        else:  # last
            value = vals[-1]
        out.append({"grain": g, "period": period, "gset": ",".join(gset), **dict(dims),
                    "value": value, "n": 1})
    return out


def _collect(cols: dict[str, list], grains, drop_empty: bool = False) -> tuple[dict, dict]:
    """{grain: {(period, dims): value}} and {grain: {dims seen}} from a query's columns, for
    the grains this query computed for the metric. ``drop_empty``: rows where nothing
    contributed (n = 0) are left to zero-fill (a shared query's other members made them)."""
    values: dict[str, dict] = {g: {} for g in grains}
    seen: dict[str, set] = {g: {()} for g in grains}  # the total always has a row
    dim_cols = {k[2:]: v for k, v in cols.items() if k.startswith("d_")}
    names_of: dict[str, tuple[str, ...]] = {}
    rows = zip(cols["grain"], cols["period"], cols["gset"], cols["value"], cols["n"], strict=True)
    for i, (g, period, gset, value, n) in enumerate(rows):
        if g not in values or (drop_empty and not n):
            continue
        if gset not in names_of:
            names_of[gset] = tuple(sorted(d for d in gset.split(",") if d))
        dims = tuple((d, dim_cols[d][i]) for d in names_of[gset])
        values[g][(period, dims)] = value
        if n:
            seen[g].add(dims)
    return values, seen


def _derived(project: Project, results, seen, name: str, plan: Plan) -> tuple[dict, dict]:
    """A ratio or derived metric from its parts' values for the same period and dimensions.

    A dimension value seen in any part gets a value; a part without a value there takes
    its zero-fill (0 for counts and sums), so a missing denominator makes a ratio NULL. Only
    for the dimension combinations every part is stored by (``groupings_of``): elsewhere a
    part's zero would be a made-up side, not a value with no rows.
    """
    m = project.metrics[name]
    stored = project.groupings_of(name)
    parts = depends_on(m)
    zeros = {p: _zero(project, project.metrics[p]) for p in parts}
    formula = arithmetic.compiled(m.expr) if isinstance(m, DerivedMetric) else None
    values, keys = {}, {}
    for g in plan.spans:
        of = {p: results[p].get(g, {}) for p in parts}
        keys[g] = {dims for dims in set().union(*(seen[p].get(g, set()) for p in parts))
                   if frozenset(d for d, _ in dims) in stored}
        values[g] = {}
        for pn, _, _ in plan.keys(g):
            for dims in keys[g]:
                got = {q: of[q].get((pn, dims), zeros[q]) for q in parts}
                if isinstance(m, RatioMetric):
                    n, d = got[m.numerator], got[m.denominator]
                    values[g][(pn, dims)] = None if n is None or not d else float(n) / float(d)
                else:
                    values[g][(pn, dims)] = formula(got)
    return values, keys


def _manual(plan: Plan, series: list[tuple[date, object]]) -> dict:
    """A typed-in value holds from its date until the next one; a period takes the value of
    its last day (or today), like a state metric."""

    dates = [d for d, _ in series]
    values: dict[str, dict] = {}
    for g, span in plan.spans.items():
        values[g] = {}
        for p, day in span.eval_days(plan.cal, plan.today):
            i = bisect.bisect_right(dates, day)
            values[g][(day_num(p), ())] = series[i - 1][1] if i else None
    return values


def _churn(plan: Plan, name: str, counts_of) -> tuple[dict, dict]:
    """A period takes the counts of its last scored day (churn scores complete days, so a
    running week shows yesterday's); a period with no scored day is NULL, and on a scored day a
    combination not counted is 0."""
    wanted = {g: span.eval_days(plan.cal, plan.today) for g, span in plan.spans.items()}
    days = [d for pairs in wanted.values() for d in (x for pair in pairs for x in pair)]
    counts = counts_of(name, min(days), max(days)) if counts_of and days else {}
    scored = sorted(d for d, dims in counts if dims == ())
    keys = {dims for _, dims in counts} | {()}
    values: dict[str, dict] = {}
    for g, pairs in wanted.items():
        values[g] = {}
        for p, day in pairs:
            i = bisect.bisect_right(scored, day)
            on = scored[i - 1] if i and scored[i - 1] >= p else None
            for dims in keys:
                values[g][(day_num(p), dims)] = None if on is None else counts.get((on, dims), 0)
    return values, {g: set(keys) for g in wanted}


def _zero_filled(project: Project, name: str, plan: Plan, values: dict,
                 seen: dict) -> list[MetricValue]:
    """A row for every period, for the total and every dimension value seen in the grain."""
    zero = _zero(project, project.metrics[name])
    out = []
    for g in plan.spans:
        by_key = values.get(g, {})
        keys = sorted(seen.get(g, {()}))
        for pn, p, hour in plan.keys(g):
            out += [MetricValue(name, g, p, dims, by_key.get((pn, dims), zero), hour) for dims in keys]
    return out


def _zero(project: Project, m):
    return kind_of(m).zero(project, m)
