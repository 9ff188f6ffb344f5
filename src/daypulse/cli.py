"""The `daypulse` command. Commands parse arguments and call the layers below; nothing else.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or config (one clear line, no traceback).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from daypulse.errors import ConfigError, DaypulseError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="daypulse: a company's daily business pulse, computed in its own database.")
db_app = typer.Typer(no_args_is_help=True, help="Manage daypulse's own store.")
app.add_typer(db_app, name="db")

out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Project file (default: $DAYPULSE_CONFIG or ./daypulse.yml).",
    show_default=False)]


def _date(flag: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: not a date: {text!r} (expected YYYY-MM-DD)") from None


def _project(config: Path | None):
    from daypulse.spec import load_project

    return load_project(config)


def _store(project, create: bool = True):
    from daypulse.store.db import open_store

    return open_store(project.store, create=create)


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
    from daypulse.calendar import Calendar
    from daypulse.engine.compute import resolve_metrics, with_parts
    from daypulse.engine.run import Range, incremental_range, run_compute

    project = _project(config)
    now = _instant("--as-of", as_of)
    _check_grains(grain)
    names = resolve_metrics(project, metric)
    cal = Calendar(project.timezone, project.week_start)
    yesterday = cal.today(now) - timedelta(days=1)
    chosen = [x for x in (on, start or end, days_back) if x]
    if len(chosen) > 1:
        raise UsageError("use one of --date, --start/--end, --days-back")
    if on:
        d = _date("--date", on)
        rng = Range(d, d, f"the day {d}")
    elif start or end:
        s = _date("--start", start) if start else None
        e = _date("--end", end) if end else yesterday
        if s is None:
            raise UsageError("--end needs --start")
        if e < s:
            raise UsageError(f"--end {e} is before --start {s}")
        rng = Range(s, e, "the range asked for")
    elif days_back:
        rng = Range(yesterday - timedelta(days=days_back - 1), yesterday,
                    f"the last {days_back} days")
    else:
        rng = None  # incremental: needs the store's run history
    today = cal.today(now)
    if rng is not None and rng.start > today:
        raise UsageError(f"{rng.start} is in the future (today is {today} in {project.timezone})")
    store = _store(project)  # opened only once the flags are known to be good
    if rng is None:
        rng = incremental_range(project, store, now)
    _info(f"computing {rng.start} to {min(rng.end, today)} in {project.timezone} ({rng.why})"
          + (" [dry run]" if dry_run else ""))
    total = len(with_parts(project, names))
    with _progress(total, "metrics") as step:
        outcome = run_compute(project, store, rng.start, rng.end, metric, grain, dry_run=dry_run,
                              want_diff=show_diff or dry_run, as_of=now,
                              on_metric=lambda t: step(f"{t.metric} ({t.seconds:.2f}s)"),
                              params={"why": rng.why})
    _report_compute(project, outcome, dry_run, show_diff)


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
                t.add_row(c.metric, c.grain, str(c.period), c.dims_key or "(total)",
                          _fmt(c.old), _fmt(c.new))
            out.print(t)
            if len(changes) > 200:
                out.print(f"... and {len(changes) - 200} more")
    if dry_run:
        _info(f"dry run: {n} values computed in {secs:.2f}s; nothing written")
    else:
        _info(f"wrote {n} values in run {outcome.run_id} ({secs:.2f}s computing)")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _check_grains(grains) -> None:
    from daypulse.calendar import GRAINS

    for g in grains or []:
        if g not in GRAINS:
            raise UsageError(f"--grain: unknown grain {g!r} (one of {', '.join(GRAINS)})")


def _instant(flag: str, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{flag}: not an ISO instant: {text!r}") from None
    if t.tzinfo is None:
        raise UsageError(f"{flag}: give a zone offset, e.g. {text}+00:00")
    return t


# -- export ------------------------------------------------------------------------------

@app.command()
def export(
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv.")] = "jsonl",
    metric: Annotated[list[str] | None, typer.Option("--metric", "-m", help="Repeatable.")] = None,
    grain: Annotated[list[str] | None, typer.Option("--grain", "-g", help="Repeatable.")] = None,
    start: Annotated[str | None, typer.Option(help="First period start (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last period start (YYYY-MM-DD).")] = None,
) -> None:
    """Write stored values to stdout: one JSON object per line, or CSV."""
    from daypulse.store.values import export_rows

    if fmt not in ("jsonl", "csv"):
        raise UsageError(f"--format: {fmt!r} is not jsonl or csv")
    s, e = _date("--start", start), _date("--end", end)
    if s and e and e < s:
        raise UsageError(f"--end {e} is before --start {s}")
    _check_grains(grain)
    project = _project(config)
    if metric:
        from daypulse.engine.compute import resolve_metrics

        resolve_metrics(project, metric)
    store = _store(project, create=False)
    stream = sys.stdout
    writer = csv.writer(stream, lineterminator="\n") if fmt == "csv" else None
    if writer:
        writer.writerow(["metric", "grain", "period", "dimensions", "value"])
    try:
        _write_export(stream, writer, export_rows(store, metric, grain, s, e))
    except BrokenPipeError:  # `daypulse export | head` is fine
        sys.stderr.close()


def _write_export(stream, writer, rows) -> None:
    for m, g, p, dims, value in rows:
        value = _json_number(value)
        if writer:
            writer.writerow([m, g, p.isoformat(), ";".join(f"{k}={v}" for k, v in sorted(dims.items())),
                             "" if value is None else value])
        else:
            stream.write(json.dumps({"metric": m, "grain": g, "period": p.isoformat(),
                                     "dimensions": dims, "value": value}) + "\n")


def _json_number(v):
    if v is None:
        return None
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


# -- check -------------------------------------------------------------------------------

@app.command()
def check(config: ConfigOpt = None,
          offline: Annotated[bool, typer.Option("--offline", help="Only validate the file.")] = False,
          ) -> None:
    """Validate daypulse.yml (every problem, with file:line) and test the source and store."""
    from daypulse.checks import check_project

    project = _project(config)
    _info(f"{len(project.metrics)} metrics in {project.name!r}: the project file is valid")
    if offline:
        return
    check_project(project, _info, config)


# -- db ----------------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Create or migrate daypulse's tables to the current schema (safe to re-run)."""
    from daypulse.store.db import Store
    from daypulse.warehouse import redact

    project = _project(config)
    before, after = Store(project.store).upgrade()
    if before == after:
        _info(f"store {redact(project.store)} is up to date (schema {after})")
    else:
        _info(f"store {redact(project.store)} upgraded from {before or 'empty'} to {after}")


# -- metrics -----------------------------------------------------------------------------

@app.command("metrics")
def list_metrics(config: ConfigOpt = None) -> None:
    """List the project's metrics with their kind and definition."""
    from daypulse.describe import describe

    project = _project(config)
    t = Table("metric", "kind", "definition")
    for name, m in project.metrics.items():
        t.add_row(name, m.kind, describe(project, name))
    out.print(t)


# -- demo --------------------------------------------------------------------------------

@app.command()
def demo(directory: Annotated[Path, typer.Option("--dir", help="Where to build the demo.")] = Path("demo"),
         days: Annotated[int, typer.Option(help="Days of history to generate.")] = 730,
         serve: Annotated[bool, typer.Option("--serve", help="Serve the dashboard afterwards (later).")] = False,
         ) -> None:
    """Build a demo company, compute every metric over its history, print a summary."""
    from daypulse.demo.run import run_demo

    run_demo(directory, days=days, info=_info, console=out, progress=_progress)
    if serve:
        _info("the dashboard is not built yet; see `daypulse export` for the stored values")


@app.command()
def init(path: Annotated[Path, typer.Argument(help="Where to write the project file.")] = Path("daypulse.yml"),
         force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False) -> None:
    """Write a starter daypulse.yml to edit."""
    from importlib.resources import files

    if path.exists() and not force:
        raise UsageError(f"{path} exists (use --force to overwrite)")
    path.write_text(files("daypulse").joinpath("starter.yml").read_text())
    _info(f"wrote {path}: set source:, then run `daypulse check`")


# -- plumbing ----------------------------------------------------------------------------

def _info(msg: str) -> None:
    err.print(msg, highlight=False, markup=False) if err.is_terminal else print(msg, file=sys.stderr)


class _progress:
    """A progress bar on a terminal; plain log lines otherwise."""

    def __init__(self, total: int, what: str):
        self.total, self.what, self.done = total, what, 0
        self.bar = None

    def __enter__(self):
        if err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total)
        return self.step

    def step(self, label: str) -> None:
        self.done += 1
        if self.bar:
            self.bar.update(self.task, advance=1, description=label)
        else:
            print(f"[{self.done}/{self.total}] {label}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()
        return False


def main() -> None:
    # Typer handles its own usage errors (exit 2); daypulse's errors become one line each.
    try:
        app()
    except ConfigError as exc:
        for issue in exc.issues:
            print(str(issue), file=sys.stderr)
        sys.exit(exc.exit_code)
    except DaypulseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
