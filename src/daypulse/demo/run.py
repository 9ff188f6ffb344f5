"""`daypulse demo`: build the demo company, compute its whole history, print a summary."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

from daypulse.demo import DATABASE_FILE, PROJECT_FILE, generate, project_yaml


def run_demo(directory: Path, *, days: int, info, console, progress) -> None:
    from rich.table import Table

    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.engine.run import run_compute
    from daypulse.project import load_project
    from daypulse.store.db import open_store

    t0 = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    summary = generate(directory / DATABASE_FILE, days=days)
    first, last = date.fromisoformat(summary["start"]), date.fromisoformat(summary["end"])
    rows = sum(summary["tables"].values())
    info(f"generated the demo company in {directory / DATABASE_FILE}: {rows:,} rows,"
         f" {first} to {last} ({time.perf_counter() - t0:.1f}s)")
    (directory / PROJECT_FILE).write_text(project_yaml())
    store_file = directory / "daypulse.db"
    for suffix in ("", "-wal", "-shm"):  # a fresh demo replaces the previous one
        Path(f"{store_file}{suffix}").unlink(missing_ok=True)
    project = load_project(directory / PROJECT_FILE, SECTIONS, DERIVED)
    store = open_store(project.store)
    _type_in_finance(store, first, last)
    names = list(project.metrics)
    t1 = time.perf_counter()
    with progress(len(project.with_parts(names)), "metrics") as step:
        outcome = run_compute(project, store, first, last,
                              on_metric=lambda t: step(f"{t.metric} ({t.seconds:.2f}s)"),
                              params={"why": "demo"})
    info(f"computed {len(names)} metrics x day/week/month: {len(outcome.values):,} values"
         f" in {time.perf_counter() - t1:.1f}s, stored in {store_file}")
    _print_summary(project, outcome.values, last, console, Table)
    _set_thresholds(project, store)
    _evaluate_alerts(project, store, last, info)
    _score_churn(project, store, max(first, last - timedelta(days=CHURN_DAYS - 1)), last, info)
    _cohorts(project, store, last, info)
    t2 = time.perf_counter()
    written = _write_reports(project, store, directory / "reports", last)
    info(f"wrote the daily, weekly and churn reports ({len(written)} files, {time.perf_counter() - t2:.1f}s):"
         f" {', '.join(str(p) for p in written if p.suffix in ('.html', '.md'))}")
    _deliver(project, store, directory, last, info)
    info(f"done in {time.perf_counter() - t0:.1f}s. Next:")
    for step in next_steps(directory):
        info(f"  {step}")


def next_steps(directory: Path) -> list[str]:
    """What a newcomer does after the demo: look at it, read it, take it apart."""
    return [f"daypulse demo --dir {directory} --serve    the dashboard on http://127.0.0.1:8000/ (it prints a"
            " sign-in token)",
            f"open {directory / 'reports' / 'daily.html'}    the reports it wrote (daily, weekly, churn; .md too)",
            f"cd {directory} && daypulse metrics    every metric's definition; then daypulse churn list"
            " --level critical (who may leave), daypulse export --metric mrr --latest"]


def _write_reports(project, store, folder: Path, last: date) -> list[Path]:
    """The daily report for the last day, the weekly one for the last complete week and the
    churn risk report of the last day, as HTML (charts as PNG files beside it) and Markdown."""
    from daypulse.report.content import build_report
    from daypulse.report.output import write

    cal = project.calendar
    written = []
    week = last if cal.period_end("week", last) == last else cal.period_start("week", last) - timedelta(days=1)
    for name, on in (("daily", last), ("weekly", week), *((("churn", last),) if project.churn else ())):
        report = build_report(project, store, name, on=on)
        for fmt, suffix in (("html", "html"), ("markdown", "md")):
            written += write(report, fmt, folder / f"{name}.{suffix}")
    return written


def _deliver(project, store, directory: Path, last: date, info) -> None:
    """One scheduler pass the morning after the last day: the exec-digest subscription
    (00:01 Asia/Kolkata, to outbox/) gets the last day's report, as it would in production."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from daypulse.delivery.runner import run_pass

    morning = datetime.combine(last + timedelta(days=1), datetime.min.time(), ZoneInfo("Asia/Kolkata"))
    result = run_pass(project, store, morning + timedelta(minutes=5), base_dir=directory.resolve(),
                      info=lambda msg: None)
    info(f"scheduler pass at {morning:%Y-%m-%d} 00:05 IST: {result.summary} (see {directory / 'outbox'};"
         " `daypulse deliveries list`)")


CHURN_DAYS = 60  # days of churn scores: two months of history for each customer's chart


def _score_churn(project, store, first: date, last: date, info) -> None:
    """Every subscriber scored on each of the last days (one batch), with the alerts decided."""
    from daypulse.churn.run import run_churn

    t = time.perf_counter()
    outcome = run_churn(project, store, first, last, params={"why": "demo"})
    levels = ", ".join(f"{outcome.levels.get(lv, 0)} {lv}" for lv in ("critical", "high", "medium", "low"))
    info(f"scored churn risk from {first} to {last}: on {last}, {levels}; {outcome.still_open} alerts open"
         f" ({time.perf_counter() - t:.1f}s; daypulse churn list)")


def _cohorts(project, store, last: date, info) -> None:
    """The grids the dashboard's cohort page shows, kept in the store."""
    from daypulse.cohorts.run import run_cohorts

    t = time.perf_counter()
    for by in ("month", "week"):
        for measure in ("users", "revenue"):
            run_cohorts(project, store, by, measure, last, cohorts=12)
    info(f"computed the signup cohorts (monthly and weekly, customers and MRR) to {last}"
         f" ({time.perf_counter() - t:.1f}s; daypulse cohorts --by month)")


def _evaluate_alerts(project, store, last: date, info) -> None:
    """The alert rules (the thresholds just set) over the history, as the nightly compute does."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from daypulse.alerts.metric_alerts import evaluate

    morning = datetime.combine(last + timedelta(days=1), datetime.min.time(), ZoneInfo(project.timezone))
    outcomes = evaluate(project, store, morning + timedelta(hours=1))
    info(f"alerts: {sum(o.open_now for o in outcomes)} open, {sum(o.opened for o in outcomes)} raised in the"
         f" last weeks by {len(outcomes)} rules (daypulse alerts list)")


def _set_thresholds(project, store) -> None:
    """The executive dashboard seed's alert lines (payment failures, job failures, error rate,
    churn), so the demo's dashboard shows its alert indicators."""
    from daypulse.alerts.thresholds import add

    for metric, op, value, severity, note in (
            ("payment_failure_rate", "above", 0.25, "warning", "more than 1 payment in 4 failing"),
            ("failed_payments", "above", 12, "warning", "chase the card updates"),
            ("job_failure_rate", "above", 0.05, "critical", "background jobs are failing"),
            ("error_rate", "above", 0.01, "critical", "more than 1% of API requests fail"),
            ("customer_churn_rate", "above", 0.005, "warning", "a churn spike")):
        add(store, project, metric=metric, op=op, value=value, severity=severity, note=note, created_by="demo")


def _type_in_finance(store, first: date, last: date) -> None:
    """What a finance team would have typed in with `daypulse manual set`: burn rate and
    runway, revised once a quarter."""
    from decimal import Decimal

    from daypulse.store.manual import set_value

    burn, runway, day = 3_800_000, 26, first
    while day <= last:
        set_value(store, "burn_rate", day, Decimal(burn), note="demo: quarterly plan", set_by="demo")
        set_value(store, "runway", day, Decimal(runway), note="demo: quarterly plan", set_by="demo")
        burn, runway, day = burn + 350_000, max(runway - 2, 9), day + timedelta(days=91)


HEADLINE = ("signups", "subscriptions_created", "subscriptions_cancelled", "active_subscriptions", "mrr",
            "net_new_mrr", "customer_churn_rate", "dau", "captures", "calls", "failed_payments", "ai_cost")


def _print_summary(project, values, end, console, Table) -> None:
    """The headline: a dozen metrics on the last day, the day before, a week before and the month
    so far (every other metric is in the reports, the dashboard and `daypulse export`)."""
    day = {(v.metric, v.period_start): v.value for v in values
           if v.grain == "day" and not v.dims}
    month = {v.metric: v.value for v in values
             if v.grain == "month" and not v.dims and v.period_start == end.replace(day=1)}
    prev, week_ago = end - timedelta(days=1), end - timedelta(days=7)
    t = Table(title=f"{project.name}: {end} ({project.timezone})", title_justify="left")
    for col in ("metric", "value", "day before", "a week before", "month so far"):
        t.add_column(col, overflow="fold", justify="left" if col == "metric" else "right")
    for name in HEADLINE:
        m = project.metrics.get(name)
        if m is None or ((name, end) not in day and name not in month):
            continue
        t.add_row(m.label or name, _fmt(m, day.get((name, end))), _fmt(m, day.get((name, prev))),
                  _fmt(m, day.get((name, week_ago))), _fmt(m, month.get(name)))
    if t.row_count:
        console.print(t)


def _fmt(m, v) -> str:
    """As every report and page shows it (one formatter: $1,234.56, 12.5%, 4m 35s)."""
    from daypulse.report import format as F

    return F.value(v, m.format)
