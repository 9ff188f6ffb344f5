"""A report's content from the store: values, comparisons, sparklines, what changed, charts.

The period's values (and those its comparisons, sparklines, anomaly history and charts read)
are computed first when they are missing or were computed with an older definition, so a
report never shows stale numbers. Everything after that reads stored values only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from daypulse import judgement
from daypulse.calendar import Calendar
from daypulse.describe import describe
from daypulse.engine.run import run_compute
from daypulse.project.kinds import kind_of
from daypulse.report import whatchanged
from daypulse.report.alerts_block import alerts_section
from daypulse.report.churn import churn_section
from daypulse.report.cohorts import cohort_section
from daypulse.report.definition import ReportDefinition, load_report
from daypulse.report.model import Breakdown, BreakdownRow, Comparison, Line, Report, Section
from daypulse.store import labels as stored_labels
from daypulse.store import read
from daypulse.values import dims_key, in_format


@dataclass(frozen=True)
class Period:
    grain: str
    start: date
    end: date  # last local day
    complete: bool  # False when the period is not over yet (a report "so far")


def resolve_period(project, grain: str, today: date, on: date | None) -> Period:
    """The period a report covers: the one containing ``on`` (not after ``today``), else the last
    complete one."""
    cal = project.calendar
    if on is None:
        current = cal.period_start(grain, today)
        start = cal.period_start(grain, current - timedelta(days=1))
    else:
        project.not_in_future(on, "--date", today=today)
        start = cal.period_start(grain, on)
    end = cal.period_end(grain, start)
    return Period(grain, start, end, end < today)


def build_report(project, store, name: str, *, on: date | None = None,
                 as_of: datetime | None = None, with_charts: bool = True,
                 compute: bool = True, info=None, filter: dict[str, str] | None = None) -> Report:
    """``filter`` narrows the report to dimension values (a subscription's tenant), on top of
    the report's own ``filter``."""
    spec = load_report(project, name, filter)
    as_of = as_of or datetime.now(UTC)
    cal = project.calendar
    today = cal.today(as_of)
    period = resolve_period(project, spec.period, today, on)
    notes = []
    metrics = [m for m in spec.metrics if m in project.metrics]
    left_out = [m for m in spec.metrics if m not in project.metrics]
    if left_out:
        notes.append("Not in this project, left out: " + ", ".join(left_out) + ".")
    unavailable = [m for m in metrics if spec.period not in project.grains_of(m, [spec.period])]
    if unavailable:
        notes.append(f"Not computed by {spec.period}, left out: " + ", ".join(unavailable)
                     + f" ({spec.period} is not in their grains:, or in compute.grains).")
        metrics = [m for m in metrics if m not in unavailable]
    if not period.complete:
        notes.append(f"The period is not over yet: values so far (as of {as_of:%Y-%m-%d %H:%M} UTC).")
    notes += _not_stored(project, spec)
    first = _first_needed(project, cal, spec, period)
    day_grain_from = _first_day_needed(spec, period)
    if compute:
        _ensure_fresh(project, store, spec, metrics, period, first, day_grain_from, today, as_of, info)
    key = dims_key(spec.filter)
    vals = read.values(store, metrics, spec.period, first, period.start, key)
    sections = [_section(project, store, cal, spec, period, s, vals, key) for s in spec.sections]
    sections = [s for s in sections if s.lines or s.breakdowns]
    if spec.alerts is not None:
        block, said = alerts_section(project, store, spec.alerts, period.start, period.end, dict(spec.filter))
        sections += [block] if block else []
        notes += said
    if spec.cohorts is not None:
        block, said = cohort_section(project, store, spec.cohorts, period.end, dict(spec.filter), today)
        sections += [block] if block else []
        notes += said
    if spec.churn is not None:
        at_risk, said = churn_section(project, store, spec.churn, period.start, period.end, dict(spec.filter))
        sections += [at_risk] if at_risk else []
        notes += said
    lines = [ln for s in sections for ln in s.lines]
    has_data = any(ln.value not in (None, 0) for ln in lines) or any(s.breakdowns for s in sections)
    if not has_data:
        notes.insert(0, "No data for this period: every metric is empty or zero.")
    changes, anomalies = whatchanged.find(project, store, cal, spec, period, lines, vals, key)
    sections = [replace(s, lines=[replace(ln, anomaly=anomalies.get(ln.metric)) for ln in s.lines])
                for s in sections]
    charts = []
    if with_charts and spec.charts:
        from daypulse.report.chartdata import build_charts  # lazy: matplotlib, only with charts

        charts = build_charts(project, store, cal, spec, period, key)
    title = spec.title + (f" — {_filter_words(stored_labels.shown(store, spec.filter))}" if spec.filter else "")
    return Report(name=name, title=title, project=project.name, timezone=project.timezone,
                  grain=spec.period, start=period.start, end=period.end,
                  period_label=period_label(period), generated_at=as_of, filter=dict(spec.filter),
                  sections=sections, changes=changes, charts=charts, notes=notes, has_data=has_data)


def period_label(p: Period) -> str:
    if p.grain == "day":
        return f"{p.start:%A} {p.start.day} {p.start:%B %Y}"
    if p.grain == "week":
        return f"Week of {p.start.day} {p.start:%B %Y} ({p.start.day} {p.start:%b} – {p.end.day} {p.end:%b})"
    if p.grain == "quarter":
        return f"Q{(p.start.month - 1) // 3 + 1} {p.start.year} ({p.start:%B} – {p.end:%B})"
    return f"{p.start:%B %Y}"


def _first_needed(project, cal: Calendar, spec: ReportDefinition, period: Period) -> date:
    """The earliest period start (in the report's grain) anything in the report reads."""
    back = max([spec.spark, spec.changes.history * (7 if spec.period == "day" else 1) + 1]
               + [c.periods * 2 for c in spec.charts if c.kind == "line"] + [2])
    first = cal.shift(spec.period, period.start, back)
    if "last_year" in spec.compare:
        first = min(first, cal.comparison_start("last_year", spec.period, period.start))
    for m in {m for m in spec.metrics if m in project.metrics}:  # what each comparison's noise reads
        for key in spec.compare:
            first = min([first, *judgement.plan(cal, key, spec.period, project.metrics[m], period.start,
                                                spec.changes.history).dates])
    return first


def _first_day_needed(spec: ReportDefinition, period: Period) -> date | None:
    """Heatmaps read day-grain values by hour."""
    days = [c.periods for c in spec.charts if c.kind == "heatmap"]
    return period.end - timedelta(days=max(days) - 1) if days else None


def _ensure_fresh(project, store, spec, metrics, period, first, day_from, today, as_of, info) -> None:
    """Compute what the report reads when it is missing or stale (a definition changed)."""

    cal = project.calendar
    last = min(period.end, today)
    plans = [(spec.period, first, last)]
    if day_from is not None:
        plans.append(("day", day_from, last))
    for grain, lo, hi in plans:
        hashes = {m: project.definition_hash(m) for m in metrics if grain in project.grains_of(m, [grain])}
        periods = cal.periods(grain, lo, hi)
        # A period not over at as_of is never fresh: it is recomputed "so far".
        over_at = {p: datetime.fromtimestamp(cal.day_start(cal.period_end(grain, p) + timedelta(days=1)), UTC)
                   for p in periods}
        expected = len(periods)
        have = read.fresh_counts(store, hashes, grain, lo, hi, {p: t for p, t in over_at.items() if t <= as_of})
        stale = [m for m in hashes if have.get(m, 0) < expected]
        if stale:
            if info:
                info(f"computing {len(stale)} metric(s) at {grain} grain for {lo}..{hi} before the report")
            run_compute(project, store, lo, hi, metrics=stale, grains=[grain], as_of=as_of,
                        params={"why": f"report {spec.title}"})


def _section(project, store, cal, spec, period, s, vals, key) -> Section:
    lines = []
    for metric in s.metrics:
        if metric not in project.metrics or ((metric, period.start) not in vals and not _stored(vals, metric)):
            continue
        m = project.metrics[metric]
        value = in_format(vals.get((metric, period.start)), m.format)

        def get(day, metric=metric, fmt=m.format):
            return in_format(vals.get((metric, day)), fmt)

        deltas = []
        for cmp in spec.compare:
            p = judgement.plan(cal, cmp, spec.period, m, period.start, spec.changes.history)
            if p.base is not None:
                deltas.append(Comparison.of(cmp, p.label, p.judge(get, m.good, m.format)))
        spark = [in_format(vals.get((metric, cal.shift(spec.period, period.start, n))), m.format)
                 for n in range(spec.spark - 1, -1, -1)] if spec.spark else []
        lines.append(Line(metric, m.label or metric, (m.description or "").strip(),
                          describe(project, metric), m.format, m.good, value, deltas, spark))
    breakdowns = [b for b in (_breakdown(project, store, cal, spec, period, b, key) for b in s.breakdowns) if b]
    return Section(s.title, lines, breakdowns)


def _not_stored(project, spec: ReportDefinition) -> list[str]:
    """A note for each table or chart that cannot be shown under the report's filter, as its
    metric is not stored by the filter's dimensions and its own together (never a silent gap)."""
    out = []
    for title, metric, by in [*((b.title or f"{b.metric} by {b.by}", b.metric, b.by)
                                for s in spec.sections for b in s.breakdowns),
                              *((c.title or f"chart of {c.metric} by {c.by}", c.metric, c.by)
                                for c in spec.charts if c.by)]:
        if spec.filter and metric in project.metrics and (
                problem := project.not_stored(metric, {*spec.filter, by})):
            out.append(f"{title} is not shown for {_filter_words(spec.filter)}: {problem}.")
    return out


def _filter_words(flt: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in flt.items())


def _stored(vals, metric) -> bool:
    return any(k[0] == metric for k in vals)


def _breakdown(project, store, cal, spec, period, b, key) -> Breakdown | None:
    names = [n for n in [b.metric, *b.also] if n in project.metrics]
    if b.metric not in project.metrics:
        return None
    # Its change column compares as the metric's line does (a month-to-date one: the same day last month).
    prev = judgement.base_start(cal, "previous", spec.period, period.start,
                                judgement.to_date_reset(project.metrics[b.metric], spec.period)) or period.start
    rows = read.by_dimension(store, names, spec.period, prev, period.start, b.by, spec.filter)
    if not rows:
        return None
    fmts = [project.metrics[n].format for n in names]
    zeros = {n: kind_of(project.metrics[n]).zero(project, project.metrics[n]) for n in names}
    keys = sorted({v for (m, p, v) in rows if p == period.start})
    shown = stored_labels.of(store, b.by, keys)  # a staff member's name for its id (dimensions: labels:)
    main = {v: in_format(rows.get((b.metric, period.start, v)), fmts[0]) for v in keys}
    order = sorted(keys, key=lambda v: (main[v] is None, -(main[v] or 0), shown.get(v, v), v))
    if b.by == "hour" or all(v.isdigit() for v in keys):
        order = sorted(keys)  # hours read best in order
    out = []
    for v in order[:b.top]:
        cur = main[v]
        before = in_format(rows.get((b.metric, prev, v)), fmts[0]) if prev != period.start else None
        # A count with no row for this value is 0 (a caller with no completed calls), not unknown.
        out.append(BreakdownRow(shown.get(v, v), [in_format(rows.get((n, period.start, v), zeros[n]), f)
                                                  for n, f in zip(names, fmts)],
                                None if cur is None or before is None else cur - before, key=v))
    totals = read.values(store, names, spec.period, period.start, period.start, dims_key(spec.filter))
    return Breakdown(b.title or f"{project.metrics[b.metric].label or b.metric} by {b.by}", b.by,
                     [project.metrics[n].label or n for n in names], fmts, out,
                     [in_format(totals.get((n, period.start)), f) for n, f in zip(names, fmts)])
