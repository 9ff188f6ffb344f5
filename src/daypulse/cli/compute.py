"""`daypulse compute` and `daypulse export`: values into the store, and out of it."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _date, _dimension_values, _info, _instant, _progress, _project, _store, out
from daypulse.errors import ConfigError, SourceError, UsageError

# -- compute -----------------------------------------------------------------------------

@app.command()
def compute(
    config: ConfigOpt = None,
    on: Annotated[str | None, typer.Option("--date", help="Compute one local day (YYYY-MM-DD).")] = None,
    start: Annotated[str | None, typer.Option(help="First day of the range (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of the range (default: yesterday).")] = None,
    days_back: Annotated[int | None, typer.Option("--days-back", min=1,
                         help="The last N complete days, ending yesterday.")] = None,
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m",
                      help="Only this metric (repeatable; parts of ratios come along).")] = None,
    grain: Annotated[list[str] | None, typer.Option("--grain", "-g",
                     help="day, week, month, quarter or year (repeatable).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be written; write nothing.")] = False,
    show_diff: Annotated[bool, typer.Option("--diff", help="Show values that differ from the store.")] = False,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Pretend it is this instant (ISO 8601); for replays and tests.")] = None,
) -> None:
    """Compute metrics for a range and store them (replacing that range atomically).

    With no range it runs incrementally: the days since the last successful run, plus a
    look-back for late-arriving rows (compute.lookback_days, default 3).
    """
    from daypulse.checks import located, ready_to_compute
    from daypulse.engine.run import FLAGS, choose_range, incremental_range, run_compute

    project = _project(config)
    now = _instant("--as-of", as_of)
    _check_grains(grain)
    names = project.resolve(metric, "--metric")
    _check_computed(project, metric, grain)
    rng = choose_range(project, on=_date("--date", on), start=_date("--start", start), end=_date("--end", end),
                       days_back=days_back, now=now, names=FLAGS)
    today = project.calendar.today(now)
    source = ready_to_compute(project, names, config)  # the source and the metrics' queries
    store = _store(project)  # opened only once the flags, the source and the queries are good
    if rng is None:
        rng = incremental_range(project, store, now)
    _info(f"computing {rng.start} to {min(rng.end, today)} in {project.timezone} ({rng.why})"
          + (" [dry run]" if dry_run else ""))
    total = len(project.with_parts(names))
    try:
        with _progress(total, "metrics") as step:
            outcome = run_compute(project, store, rng.start, rng.end, metric, grain, dry_run=dry_run,
                                  want_diff=show_diff or dry_run, as_of=now,
                                  on_metric=lambda t: step(f"{t.metric} ({t.seconds:.2f}s)"),
                                  params={"why": rng.why}, source=source)
    except (ConfigError, SourceError) as exc:  # a query that failed in the source: at its line
        raise located(exc, config) from exc.__cause__
    _report_compute(project, outcome, dry_run, show_diff)
    if not dry_run:
        _alerts(project, store, now)


def _report_compute(project, outcome, dry_run: bool, show_diff: bool) -> None:
    n = len(outcome.values)
    secs = sum(t.seconds for t in outcome.timings)
    if outcome.stale_before:
        stale = ", ".join(f"{m} ({k})" for m, k in sorted(outcome.stale_before.items()))
        _info(f"stale values in the store (computed with an older definition): {stale}")
    if outcome.changes is not None:
        changes = outcome.changes
        if show_diff or dry_run:
            t = Table("metric", "grain", "period", "dimensions", "stored", "computed",
                      title=f"{len(changes)} changed, {outcome.unchanged} unchanged")
            for c in changes[:200]:
                period = project.calendar.hour_label(c.period, c.hour) if c.grain == "hour" else str(c.period)
                t.add_row(c.metric, c.grain, period, c.dims_key or "(total)",
                          _fmt(c.old), _fmt(c.new))
            out.print(t)
            if len(changes) > 200:
                out.print(f"... and {len(changes) - 200} more")
    if dry_run:
        _info(f"dry run: {n} values computed in {secs:.2f}s; nothing written")
    else:
        _info(f"wrote {n} values in run {outcome.run_id} ({secs:.2f}s computing)")


def _alerts(project, store, now) -> None:
    """The metric alert rules over the periods just closed (docs/alerts.md), when there are any."""
    from daypulse.alerts.metric_alerts import all_rules, evaluate

    rules = all_rules(project, store)
    if not rules:
        return
    outcomes = evaluate(project, store, now, rules)
    opened, resolved = sum(o.opened for o in outcomes), sum(o.resolved for o in outcomes)
    _info(f"alerts: {sum(o.open_now for o in outcomes)} open ({opened} opened, {resolved} resolved by this run;"
          " daypulse alerts list)")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _check_grains(grains) -> None:
    from daypulse.calendar import GRAINS

    for g in grains or []:
        if g not in GRAINS:
            raise UsageError(f"--grain: unknown grain {g!r} (one of {', '.join(GRAINS)})")


def _check_computed(project, metrics: list[str] | None, grains: list[str] | None) -> None:
    """Each --grain is one a metric asked for (any metric, without --metric) is computed at:
    quarter and year are opted in (compute.grains, or a metric's grains:)."""
    for g in dict.fromkeys(grains or []):
        problem = project.grain_problem(metrics or None, g)
        if problem:
            raise UsageError(f"--grain {g}: {problem}")




# -- export ------------------------------------------------------------------------------

@app.command()
def export(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv.")] = "jsonl",
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Repeatable.")] = None,
    grain: Annotated[list[str] | None, typer.Option("--grain", "-g", help="Repeatable.")] = None,
    start: Annotated[str | None, typer.Option(help="First period start (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last period start (YYYY-MM-DD).")] = None,
    filter_: Annotated[list[str] | None, typer.Option(
        "--filter", help="Only the rows whose dimensions are exactly these values: tenant=acme (repeatable).")] = None,
    latest: Annotated[bool, typer.Option(
        "--latest", help="Only each series' latest stored period (per metric, grain and dimension values).")] = False,
) -> None:
    """Write stored values to stdout: one JSON object per line, or CSV."""
    from daypulse.store.values import export_selection
    from daypulse.values import dims_key

    if fmt not in ("jsonl", "csv"):
        raise UsageError(f"--format: {fmt!r} is not jsonl or csv")
    s, e = _date("--start", start), _date("--end", end)
    if s and e and e < s:
        raise UsageError(f"--end {e} is before --start {s}")
    _check_grains(grain)
    dims = _export_filter(filter_)
    project = _project(config)
    if metric:
        project.resolve(metric, "--metric")
    _check_computed(project, metric, grain)
    _check_filter(project, metric, dims)
    store = _store(project, create=False)
    stream = sys.stdout
    writer = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(["metric", "grain", "period", "dimensions", "value"])
    try:
        _write_export(stream, writer, export_selection(store, metric, grain, s, e, latest=latest,
                                                       dims_key=dims_key(dims) if dims else None),
                      project.calendar)
    except BrokenPipeError:  # `daypulse export | head` is fine
        sys.stderr.close()


def _export_filter(items: list[str] | None) -> dict[str, str]:
    """``--filter dim=value`` options as {dimension: value}; a dimension given twice could match
    no row (a row has one value of each), so it is an error rather than the last one winning."""
    seen: dict[str, str] = {}
    for item in items or []:
        one = _dimension_values("--filter", [item])
        for k, v in one.items():
            if k in seen and seen[k] != v:
                raise UsageError(f"--filter {k}: given twice ({seen[k]!r} and {v!r}); a row has one value"
                                 " of each dimension")
            seen[k] = v
    return seen


def _check_filter(project, metrics: list[str] | None, dims: dict[str, str]) -> None:
    """Each filtered dimension exists: for every metric named with --metric (as the API's series
    filter asks of its metric), or, exporting every metric, for at least one of them."""
    for dim in dims:
        if metrics:
            for name in metrics:
                have = project.dimensions_of(name)
                if dim not in have:
                    raise UsageError(f"--filter {dim}: metric {name!r} has no dimension {dim!r}"
                                     f" (its dimensions: {', '.join(sorted(have)) or 'none'})")
        else:
            every = set().union(*(project.dimensions_of(n) for n in project.metrics))
            if dim not in every:
                raise UsageError(f"--filter {dim}: no metric has a dimension {dim!r}"
                                 f" (the dimensions: {', '.join(sorted(every)) or 'none'})")


def _write_export(stream, writer, rows, cal) -> None:
    """The export contract's lines. An hour's period is its start with the zone's offset then
    (``2026-11-01T01:00-04:00``), so the two 01:00s of an autumn day are two periods."""
    for m, g, p, hour, dims, value in rows:
        value = _json_number(value)
        period = cal.hour_label(p, hour) if g == "hour" else p.isoformat()
        if writer:
            writer.writerow([m, g, period, ";".join(f"{k}={v}" for k, v in sorted(dims.items())),
                             "" if value is None else value])
        else:
            stream.write(json.dumps({"metric": m, "grain": g, "period": period,
                                     "dimensions": dims, "value": value}) + "\n")


def _json_number(v):
    from daypulse.store.read import exported

    return exported(v)
