"""Compute metric values for a date range: compile, execute in the source, zero-fill.

One query per table metric covers every requested grain and dimension grouping; ratios are
recomputed from their parts' values for the same period and dimension values. Nothing here
reads source rows into Python: only aggregated values come back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from daypulse.calendar import SECONDS_PER_DAY, Calendar, day_num, zone
from daypulse.compile import kinds
from daypulse.compile import rows as R
from daypulse.compile.plan import Plan
from daypulse.compile.sqlmetric import run_sql_metric
from daypulse.errors import UsageError
from daypulse.spec.model import (
    CumulativeMetric,
    EventMetric,
    Project,
    RatioMetric,
    SqlMetric,
    StateMetric,
    depends_on,
)

Dims = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MetricValue:
    metric: str
    grain: str
    period_start: date
    dims: Dims  # sorted (name, value) pairs; () is the total
    value: int | float | Decimal | None

    @property
    def dims_key(self) -> str:
        return ";".join(f"{k}={v}" for k, v in self.dims)


@dataclass
class MetricTiming:
    metric: str
    seconds: float
    rows: int


def metric_grains(project: Project, name: str, grains: Iterable[str]) -> tuple[str, ...]:
    m = project.metrics[name]
    allowed = m.grains
    if isinstance(m, SqlMetric) and m.rollup == "none":
        allowed = ["day"]
    return tuple(g for g in grains if allowed is None or g in allowed)


def with_parts(project: Project, names: Iterable[str]) -> list[str]:
    """The metrics and everything they are computed from, parts first."""
    out: list[str] = []

    def add(n: str) -> None:
        if n in out:
            return
        for part in depends_on(project.metrics[n]):
            add(part)
        out.append(n)

    for n in names:
        add(n)
    return out


def resolve_metrics(project: Project, names: Iterable[str] | None) -> list[str]:
    if not names:
        return list(project.metrics)
    unknown = [n for n in names if n not in project.metrics]
    if unknown:
        import difflib

        hints = [difflib.get_close_matches(n, list(project.metrics), n=1) for n in unknown]
        hint = "; ".join(f"did you mean {h[0]!r}?" for h in hints if h)
        raise UsageError(f"--metric: unknown metric {', '.join(map(repr, unknown))}"
                         + (f" ({hint})" if hint else ""))
    return list(dict.fromkeys(names))


def compute_values(project: Project, start: date, end: date, metrics: Iterable[str] | None = None,
                   grains: Iterable[str] | None = None, as_of: datetime | None = None,
                   source: R.Source | None = None,
                   on_metric: Callable[[MetricTiming], None] | None = None) -> list[MetricValue]:
    """Values of ``metrics`` (all by default) for the periods intersecting [start, end]."""
    if end < start:
        raise UsageError(f"the end date {end} is before the start date {start}")
    as_of = as_of or datetime.now(UTC)
    cal = Calendar(project.timezone, project.week_start)
    today = cal.today(as_of)
    if start > today:
        raise UsageError(f"{start} is in the future (today is {today} in {project.timezone})")
    grains = tuple(grains or project.compute.grains)
    wanted = resolve_metrics(project, metrics)
    src = source or R.Source.open(project.source)
    results: dict[str, dict[str, dict]] = {}
    seen: dict[str, dict[str, set]] = {}
    plans: dict[str, Plan] = {}
    order = with_parts(project, wanted)
    groups = _scan_groups(project, order, grains)
    for name in order:
        m = project.metrics[name]
        g = metric_grains(project, name, grains)
        if isinstance(m, RatioMetric):
            g = tuple(x for x in g if all(x in results[p] or not results[p] for p in
                                          (m.numerator, m.denominator)))
        if not g:
            results[name], seen[name], plans[name] = {}, {}, None
            continue
        if name in results:  # computed with its scan group
            continue
        plan = plans[name] = Plan.build(cal, start, end, today, g)
        t0 = time.perf_counter()
        members = groups.get(name, [name])
        if isinstance(m, RatioMetric):
            results[name], seen[name] = _ratio(results, seen, m, plan)
            n_rows = 0
        elif len(members) > 1:
            ctx = kinds.Ctx(src, project, plan)
            key = kinds.group_key(project, name, m)
            raw = kinds.run_group(ctx, key, [(n, project.metrics[n]) for n in members]) \
                .to_pyarrow().to_pylist()
            n_rows = len(raw)
            for n in members:
                plans[n] = plan
                results[n], seen[n] = _collect(_member_rows(raw, n), plan)
        else:
            raw = _run(src, project, name, m, plan, as_of)
            n_rows = len(raw)
            results[name], seen[name] = _collect(raw, plan)
        if on_metric:
            seconds = (time.perf_counter() - t0) / len(members)
            for n in members:
                on_metric(MetricTiming(n, seconds, n_rows))
    out = []
    for name in wanted:
        if plans[name] is not None:
            out += _zero_filled(project, name, plans[name], results[name], seen[name])
    return out


def _scan_groups(project: Project, names: list[str], grains) -> dict[str, list[str]]:
    """name -> the event metrics computed in the same scan (same table, time, dimensions)."""
    by_key: dict[tuple, list[str]] = defaultdict(list)
    for n in names:
        key = kinds.group_key(project, n, project.metrics[n])
        if key is not None:
            by_key[key + (metric_grains(project, n, grains),)].append(n)
    return {n: members for members in by_key.values() for n in members}


def _member_rows(raw: list[dict], name: str) -> list[dict]:
    value, n = f"value__{name}", f"n__{name}"
    return [{**r, "value": r[value], "n": r[n]} for r in raw if r[n]]


def _run(src, project: Project, name: str, m, plan: Plan, as_of: datetime) -> list[dict]:
    ctx = kinds.Ctx(src, project, plan)
    if isinstance(m, SqlMetric):
        return _sql_rows(src, project, name, m, plan)
    if isinstance(m, EventMetric):
        expr = kinds.window_metric(ctx, name, m) if m.window else kinds.event(ctx, name, m)
    elif isinstance(m, StateMetric):
        expr = kinds.state(ctx, name, m, _now_epoch(project, m, plan, as_of))
    elif isinstance(m, CumulativeMetric):
        expr = kinds.cumulative(ctx, name, m, project.metrics[m.of])
    else:
        raise TypeError(type(m))
    return expr.to_pyarrow().to_pylist()


def compiled_sql(project: Project, name: str, start: date, end: date,
                 grains: Iterable[str] = ("day",), source: R.Source | None = None) -> str:
    """The SQL daypulse sends for a metric (shown next to the number, and in `check`)."""
    import ibis

    cal = Calendar(project.timezone, project.week_start)
    m = project.metrics[name]
    if isinstance(m, SqlMetric):
        return m.sql
    if isinstance(m, RatioMetric):
        return f"-- {m.numerator} / {m.denominator}, per period and dimension value"
    src = source or R.Source.open(project.source)
    plan = Plan.build(cal, start, end, max(end, cal.today()), tuple(grains))
    ctx = kinds.Ctx(src, project, plan)
    if isinstance(m, EventMetric):
        expr = kinds.window_metric(ctx, name, m) if m.window else kinds.event(ctx, name, m)
    elif isinstance(m, StateMetric):
        expr = kinds.state(ctx, name, m, None)
    else:
        expr = kinds.cumulative(ctx, name, m, project.metrics[m.of])
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


def _collect(raw: list[dict], plan: Plan) -> tuple[dict, dict]:
    """{grain: {(period, dims): value}} and {grain: {dims seen}} from a query's rows."""
    values: dict[str, dict] = defaultdict(dict)
    seen: dict[str, set] = defaultdict(set)
    for rec in raw:
        gset = [d for d in rec["gset"].split(",") if d]
        dims = tuple(sorted((d, rec[f"d_{d}"]) for d in gset))
        values[rec["grain"]][(rec["period"], dims)] = rec["value"]
        if rec["n"]:
            seen[rec["grain"]].add(dims)
    for g in plan.spans:
        seen[g].add(())  # the total always has a row
    return dict(values), dict(seen)


def _ratio(results, seen, m: RatioMetric, plan: Plan) -> tuple[dict, dict]:
    values, keys = {}, {}
    for g, span in plan.spans.items():
        num, den = results[m.numerator].get(g, {}), results[m.denominator].get(g, {})
        both = seen[m.numerator].get(g, set()) & seen[m.denominator].get(g, set())
        keys[g] = both
        values[g] = {}
        for p in span.periods:
            for dims in both:
                n = num.get((day_num(p), dims), 0)
                d = den.get((day_num(p), dims), 0)
                values[g][(day_num(p), dims)] = (
                    None if n is None or not d else float(n) / float(d))
    return values, keys


def _zero_filled(project: Project, name: str, plan: Plan, values: dict,
                 seen: dict) -> list[MetricValue]:
    """A row for every period, for the total and every dimension value seen in the grain."""
    zero = _zero(project, project.metrics[name])
    out = []
    for g, span in plan.spans.items():
        by_key = values.get(g, {})
        for p in span.periods:
            pn = day_num(p)
            for dims in sorted(seen.get(g, {()})):
                out.append(MetricValue(name, g, p, dims, by_key.get((pn, dims), zero)))
    return out


def _zero(project: Project, m):
    if isinstance(m, RatioMetric):
        return None
    if isinstance(m, CumulativeMetric):
        m = project.metrics[m.of]
    if isinstance(m, SqlMetric):
        return 0
    return 0 if m.measure in ("count", "count_distinct", "sum") else None
