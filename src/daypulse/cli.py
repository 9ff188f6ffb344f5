"""The `daypulse` command. Commands parse arguments and call the layers below; nothing else.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or config (one clear line, no traceback).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Column, Table

from daypulse.cli_common import ConfigOpt, _date, _info, _project, _project_and_store, _store, err, out
from daypulse.errors import ConfigError, DaypulseError, UsageError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="daypulse: a company's daily business pulse, computed in its own database.")
db_app = typer.Typer(no_args_is_help=True, help="Manage daypulse's own store.")
app.add_typer(db_app, name="db")
manual_app = typer.Typer(no_args_is_help=True, help=(
    "Values people type in for kind: manual metrics (burn rate, runway...). A value holds"
    " from its day until the next one set for the metric."))
app.add_typer(manual_app, name="manual")

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
    from daypulse.store.read import exported

    return exported(v)


# -- check -------------------------------------------------------------------------------

@app.command()
def check(config: ConfigOpt = None,
          offline: Annotated[bool, typer.Option("--offline", help="Only validate the file.")] = False,
          list_: Annotated[bool, typer.Option("--list", help="Also list every metric with its"
                                              " formula (as `daypulse metrics`).")] = False,
          ) -> None:
    """Validate daypulse.yml (every problem, with file:line) and test the source and store."""
    from daypulse.checks import check_project

    project = _project(config)
    if list_:
        list_metrics(config=config)
    _info(f"{len(project.metrics)} metrics in {project.name!r}: the project file is valid")
    if offline:
        return
    check_project(project, _info, config)
    from daypulse.cli_delivery import check_channels

    check_channels(project, _info)


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


# -- manual ------------------------------------------------------------------------------

ManualMetricArg = Annotated[str, typer.Argument(
    metavar="METRIC", help="A kind: manual metric of the project.", show_default=False)]


@manual_app.command("set", context_settings={"ignore_unknown_options": True})  # VALUE -500
def manual_set(
    metric: ManualMetricArg,
    value: Annotated[str, typer.Argument(
        metavar="VALUE", help="The value, an exact decimal. Money is in cents, like all money"
                              " in daypulse: 4500000 is 45,000.00.", show_default=False)],
    start: Annotated[str | None, typer.Option(
        "--from", help="First day the value holds (YYYY-MM-DD; default: today in the project's"
                       " zone). It holds until the next value set for the metric.",
        show_default=False)] = None,
    note: Annotated[str | None, typer.Option(
        "--note", help="Where the number comes from (shown by `manual list`).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Set a manual metric's value from a day on; a value already set for that day is replaced.

    Example: daypulse manual set burn_rate 4500000 --from 2026-03-01 --note "March budget"
    (45,000.00 a month from March 1st). Re-running it changes nothing.
    """
    import os

    from daypulse.calendar import Calendar
    from daypulse.store.manual import parse_value, require_manual, set_value

    project = _project(config)
    require_manual(project, metric)
    amount = parse_value(project, metric, value)
    day = _date("--from", start) or Calendar(project.timezone, project.week_start).today()
    store = _store(project)  # opened only once the input is known to be good
    result = set_value(store, metric, day, amount, note=note,
                       set_by=os.environ.get("USER") or "cli")
    m = project.metrics[metric]
    shown = f"{metric} = {_manual_amount(m, result.value.value)} from {day}"
    if not result.changed:
        _info(f"{shown}: already set, nothing changed")
    elif result.previous:
        _info(f"{shown} (replacing {_manual_amount(m, result.previous.value)})")
    else:
        _info(f"{shown}")


@manual_app.command("list")
def manual_list(
    metric: Annotated[str | None, typer.Argument(
        metavar="[METRIC]", help="Only this metric (default: every value set).",
        show_default=False)] = None,
    config: ConfigOpt = None,
) -> None:
    """List the values set, by metric and day (money in cents).

    On a terminal, a table (currency values also as amounts); piped, tab-separated lines
    with a header: metric, from, value, note, set_by, set_at.
    """
    from daypulse.calendar import zone
    from daypulse.store.manual import list_values

    project = _project(config)
    _check_manual_arg(project, metric)
    rows = list_values(_store(project, create=False), metric)
    if metric and not rows and metric not in project.metrics:
        _check_manual_arg(project, metric, strict=True)
    if not rows:
        _info(f"no value set for {metric}" if metric else "no manual values set")
        return
    tz = zone(project.timezone)
    if not out.is_terminal:  # for scripts and grep: every field whole, tab-separated
        print("\t".join(("metric", "from", "value", "note", "set_by", "set_at")))
        for r in rows:
            print("\t".join((r.metric, r.effective_from.isoformat(), str(r.value),
                             " ".join((r.note or "").split()), r.set_by or "",
                             r.set_at.astimezone(tz).isoformat(timespec="seconds"))))
        return
    t = Table("metric", "from", "value", "note", "set by", "set at",
              caption=f"set at: local time in {project.timezone}")
    for r in rows:
        m = project.metrics.get(r.metric)
        name = r.metric if m is not None else f"{r.metric} (not in the project)"
        t.add_row(name, str(r.effective_from), _manual_amount(m, r.value), r.note or "",
                  r.set_by or "", r.set_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"))
    out.print(t)


@manual_app.command("unset")
def manual_unset(
    metric: ManualMetricArg,
    start: Annotated[str, typer.Option(
        "--from", help="The day of the value to remove (YYYY-MM-DD, as `manual list` shows it).",
        show_default=False)],
    config: ConfigOpt = None,
) -> None:
    """Remove the value set for a day; the value before it then holds on through that day."""
    from daypulse.store.manual import list_values, unset_value

    project = _project(config)
    day = _date("--from", start)
    _check_manual_arg(project, metric)
    store = _store(project, create=False)
    if unset_value(store, metric, day):
        _info(f"removed the value of {metric} from {day}")
        return
    _check_manual_arg(project, metric, strict=True)
    days = ", ".join(str(v.effective_from) for v in list_values(store, metric))
    raise UsageError(f"--from: no value of {metric} is set from {day}"
                     + (f" (values are set from {days})" if days else " (it has no values)"))


def _check_manual_arg(project, metric: str | None, strict: bool = False) -> None:
    """A computed metric is refused at once; a name the project does not know is let through
    (values of a metric since removed from the project can still be listed and removed)
    unless ``strict``, i.e. once the store had nothing for it."""
    from daypulse.store.manual import require_manual

    if metric is not None and (strict or metric in project.metrics):
        require_manual(project, metric)


def _manual_amount(m, v: Decimal) -> str:
    if getattr(m, "format", None) == "currency":
        return f"{v} ({v / 100:,.2f})"
    return str(v)


# -- metrics -----------------------------------------------------------------------------

@app.command("metrics")
def list_metrics(
    config: ConfigOpt = None,
    packs: Annotated[bool, typer.Option(
        "--packs", help="List the built-in packs' metrics instead of a project's (no project"
                        " file needed).")] = False,
    fmt: Annotated[str, typer.Option(
        "--format", help="table, markdown or json.")] = "table",
) -> None:
    """List every metric with its formula in plain words, unit and good direction."""
    from daypulse.describe import metric_rows, packs_markdown

    if fmt not in ("table", "markdown", "json"):
        raise UsageError(f"--format: {fmt!r} is not one of table, markdown, json")
    if packs and fmt == "markdown":
        sys.stdout.write(packs_markdown())
        return
    if packs:
        from daypulse.spec.loader import project_from_dict
        from daypulse.spec.packs import PACKS

        project = project_from_dict({"source": "duckdb:///:memory:", "include": list(PACKS)})
    else:
        project = _project(config)
    rows = metric_rows(project)
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt == "markdown":
        sys.stdout.write("| metric | kind | formula | unit | good |\n|---|---|---|---|---|\n")
        for r in rows:
            sys.stdout.write(f"| `{r['metric']}` | {r['kind']} | {r['formula']} | {r['format']} |"
                             f" {r['good']} |\n")
        return
    t = Table("kind", "formula", "unit", "good")
    t.columns.insert(0, Column("metric", no_wrap=True))
    for r in rows:
        t.add_row(f"{r['metric']}\n[dim]{r['label']}[/dim]", r["kind"], r["formula"], r["format"],
                  r["good"])
    out.print(t)


# -- report ------------------------------------------------------------------------------

@app.command()
def report(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="daily, weekly, monthly, leads, leads-weekly, or a report defined"
                             " under reports: in daypulse.yml.", show_default=False)],
    on: Annotated[str | None, typer.Option(
        "--date", help="Report on the period containing this day (YYYY-MM-DD; default: the last"
                       " complete day, week or month in the project's zone).",
        show_default=False)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="text, markdown (md), html, slack (the Block Kit JSON that would be"
                               " posted) or json.")] = "text",
    out_path: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this file (HTML and Markdown also write their charts as PNG"
                            " files in a folder beside it) instead of printing.",
        show_default=False)] = None,
    charts: Annotated[bool, typer.Option(
        "--charts/--no-charts", help="Draw the report's charts.")] = True,
    send: Annotated[bool, typer.Option(
        "--send", help="Deliver the period to the report's active subscriptions now (each period"
                       " is still sent once per subscription).")] = False,
    subscription: Annotated[str | None, typer.Option(
        "--subscription", help="With --send: only this subscription (id or name).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="With --send: render and show exactly what would be sent, to whom;"
                          " send and record nothing.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Render a report; its period is computed first if missing or stale.

    Examples: daypulse report daily; daypulse report weekly --date 2026-03-02 --format html
    --out weekly.html; daypulse report daily --format slack; daypulse report daily --send
    --subscription 3 --dry-run.
    """
    from daypulse.report.content import build_report
    from daypulse.report.output import FORMATS, rendered, template_folder, write
    from daypulse.spec.loader import config_path

    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    day = _date("--date", on)
    if (subscription is not None or dry_run) and not send:
        raise UsageError("--subscription and --dry-run go with --send")
    if send:
        from daypulse.cli_delivery import send_report

        return send_report(name, day, subscription, dry_run, config)
    project, store = _project_and_store(config)
    rep = build_report(project, store, name, on=day, with_charts=charts and fmt != "text", info=_info)
    template_dir = template_folder(project, name, config_path(config).resolve().parent)
    if out_path is None:
        sys.stdout.write(rendered(rep, fmt, template_dir))
        if not rep.has_data:
            _info(f"{rep.title}, {rep.period_label}: no data for this period")
        return
    for path in write(rep, fmt, out_path, template_dir):
        _info(f"wrote {path}")


# -- demo --------------------------------------------------------------------------------

@app.command()
def demo(directory: Annotated[Path, typer.Option("--dir", help="Where to build the demo.")] = Path("demo"),
         days: Annotated[int, typer.Option(help="Days of history to generate.")] = 730,
         serve: Annotated[bool, typer.Option("--serve", help="Then serve its dashboard and API (Ctrl-C stops)."
                                             )] = False,
         port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for --serve.")] = 8000,
         ) -> None:
    """Build a demo company, compute every metric over its history, print a summary
    (and with --serve, open its dashboard on http://127.0.0.1:PORT/)."""
    from daypulse.demo import PROJECT_FILE
    from daypulse.demo.run import run_demo

    run_demo(directory, days=days, info=_info, console=out, progress=_progress)
    if serve:
        from daypulse.api import tokens
        from daypulse.cli_api import serve as serve_command

        config = directory / PROJECT_FILE
        _, token = tokens.create(_store(_project(config)), "demo admin", "admin")
        _info(f"dashboard: http://127.0.0.1:{port}/ - sign in with this admin token (made for the demo; more with"
              f" `daypulse tokens create` in {directory}):")
        sys.stdout.write(token + "\n")
        sys.stdout.flush()
        serve_command(host="127.0.0.1", port=port, scheduler=True, config=config)


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


def _register_delivery() -> None:
    from daypulse.cli_api import register as register_api
    from daypulse.cli_delivery import register
    from daypulse.cli_thresholds import register as register_thresholds

    register(app)
    register_api(app)
    register_thresholds(app)


_register_delivery()


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
