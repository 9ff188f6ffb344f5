"""`daypulse churn`: score customers (DESIGN §8), keep the scores and alerts, and read them back:
who is at risk, why, and what was done about it."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from daypulse.churn.listing import alert_record, reasons, record, value_text
from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _date, _dimension_values, _info, _instant, _project, _store, out
from daypulse.errors import UsageError

churn_app = typer.Typer(help=(
    "Churn risk: every customer scored each day from explainable signals (inactivity, engagement,"
    " logins, progress, frustration, payment issues), with alerts. Without a subcommand, scores"
    " yesterday (or --date / --days-back), stores the scores and raises or clears alerts."
    " See docs/churn.md."), invoke_without_command=True)
app.add_typer(churn_app, name="churn")

LEVELS = ("low", "medium", "high", "critical")


@churn_app.callback()
def churn(
    ctx: typer.Context,
    config: ConfigOpt = None,
    on: Annotated[str | None, typer.Option("--date", help="Score one local day (YYYY-MM-DD).")] = None,
    days_back: Annotated[int | None, typer.Option("--days-back", min=1, max=3660,
                         help="The last N complete days, ending yesterday, in one batch.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be stored and alerted;"
                                          " write nothing.")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Pretend it is this instant (ISO 8601).")] = None,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Score one tenant's customers only (the"
                                               " churn dimension tenant); the others' scores stay.")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="Score only customers with this"
                                                      " dimension value: branch=north (repeatable).")] = None,
) -> None:
    """Score yesterday (project zone), store the scores, raise and clear alerts."""
    if ctx.invoked_subcommand is not None:
        return
    from daypulse.checks import ready_to_score
    from daypulse.churn.config import churn_config
    from daypulse.churn.run import narrowed, run_churn

    if on and days_back:
        raise UsageError("--date and --days-back: give one of them")
    only = _dimension_values("--filter", filter_) | ({"tenant": tenant} if tenant else {})
    project = _project(config)
    if churn_config(project) is None:
        raise UsageError("the project has no churn: section in daypulse.yml (see docs/churn.md)")
    now = _instant("--as-of", as_of)
    yesterday = project.calendar.today(now) - timedelta(days=1)
    day = _date("--date", on)
    if day is not None:
        first = last = project.not_in_future(day, "--date", now)
    else:
        last = yesterday
        first = last - timedelta(days=(days_back or 1) - 1)
    if only:
        narrowed(project, churn_config(project), only)  # a dimension churn does not keep: said before anything opens
    source = ready_to_score(project, config)
    store = _store(project)  # opened only once the flags and the source are good
    who = "".join(f", {k} {v}" for k, v in only.items())
    _info(f"scoring {first} to {last} in {project.timezone}{who}" + (" [dry run]" if dry_run else ""))
    why = "--date" if on else f"--days-back {days_back}" if days_back else "yesterday"
    outcome = run_churn(project, store, first, last, dry_run=dry_run, source=source, only=only,
                        params={"why": why, **({"only": only} if only else {})})
    levels = ", ".join(f"{n} {lv}" for lv in reversed(LEVELS) if (n := outcome.levels.get(lv)))
    days = (last - first).days + 1
    _info(f"{len(outcome.records)} scores over {days} day(s); on {last}: {levels or 'nobody scored'}")
    since = sum(a.cleared is not None for a in outcome.opened)
    _info(f"alerts: {len(outcome.opened)} opened ({since} of them cleared since), {len(outcome.cleared)} open"
          f" before {first} cleared; {outcome.still_open} open on {last}"
          + (" (dry run: nothing written)" if dry_run else f" (run {outcome.run_id})"))
    if dry_run:
        for a in outcome.opened[:50]:
            out.print(f"  would open {a.type} for {a.entity} on {a.opened} ({a.severity})", highlight=False)


@churn_app.command("list")
def churn_list(
    config: ConfigOpt = None,
    on: Annotated[str | None, typer.Option("--date", help="The day (default: the latest scored).")] = None,
    level: Annotated[list[str] | None, typer.Option("--level", help="low, medium, high or critical"
                                                    " (repeatable; default: all).")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="Only customers with this dimension"
                                                      " value: tenant=acme (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl (the DESIGN §8 record).")] = "table",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows in the table.")] = 50,
) -> None:
    """Who is at risk on a day, riskiest first, with the signals that make the score."""
    from daypulse.store import churn as stored

    levels = _levels(level)
    if fmt not in ("table", "jsonl"):
        raise UsageError(f"--format: {fmt!r} is not table or jsonl")
    dims = _dimension_values("--filter", filter_)
    project = _project(config)
    store = _store(project, create=False)
    day = _date("--date", on) or stored.latest_day(store)
    if day is None:
        raise UsageError("no churn scores in the store yet (run `daypulse churn` first)")
    rows = stored.scores_on(store, day, levels, dims)
    if fmt == "jsonl":
        for r in rows:
            sys.stdout.write(json.dumps(record(r)) + "\n")
        return
    t = Table("customer", "score", "level", "top reasons", *sorted({k for r in rows for k in r.dims}),
              title=f"churn risk on {day}: {len(rows)} customers", title_justify="left")
    for r in rows[:limit]:
        t.add_row(r.entity, f"{r.score:.1f}", r.level, reasons(r.signals),
                  *[str(r.dims.get(k, "")) for k in sorted({k for x in rows for k in x.dims})])
    out.print(t)
    if len(rows) > limit:
        out.print(f"... and {len(rows) - limit} more (--limit, or --format jsonl)", highlight=False)


@churn_app.command("explain")
def churn_explain(
    entity: Annotated[str, typer.Argument(help="The customer (the churn entity key, e.g. a user id).")],
    config: ConfigOpt = None,
    days: Annotated[int, typer.Option("--days", min=1, help="How many days of history.")] = 30,
) -> None:
    """One customer: the score history, each signal's value and points, and their alerts."""
    from daypulse.store import churn as stored

    project = _project(config)
    store = _store(project, create=False)
    latest = stored.latest_day(store)
    history = stored.history(store, entity, latest - timedelta(days=days - 1) if latest else None)
    if not history:
        raise UsageError(f"customer {entity!r} has no churn score (scored customers are those with an"
                         " open subscription; run `daypulse churn` first)")
    last = history[-1]
    out.print(f"customer {entity}: {last.score:.1f} ({last.level}) on {last.day}"
              + (f" · {', '.join(f'{k}={v}' for k, v in sorted(last.dims.items()))}" if last.dims else ""),
              highlight=False)
    t = Table("signal", "value", "risk", "weight", "points", title=f"signals on {last.day}", title_justify="left")
    for name, s in last.signals.items():
        t.add_row(name, value_text(s["value"]), f"{s['risk']:.2f}", f"{s['weight']:.1f}", f"{s['points']:.2f}")
    out.print(t)
    h = Table("day", "score", "level", title="score history", title_justify="left")
    for r in history:
        h.add_row(r.day.isoformat(), f"{r.score:.1f}", r.level)
    out.print(h)
    _print_alerts(stored.alerts(store, entity=entity), "alerts")


@churn_app.command("alerts")
def churn_alerts(
    config: ConfigOpt = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open alerts.")] = False,
    types: Annotated[list[str] | None, typer.Option("--type", help="inactivity, engagement_drop,"
                                                    " high_frustration, payment_risk or trial_expiring"
                                                    " (repeatable).")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="tenant=acme (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl.")] = "table",
) -> None:
    """The churn alerts raised, newest first: open, cleared (the condition went away) or resolved
    by hand (with the action taken)."""
    from daypulse.churn.alerts import ALERT_TYPES
    from daypulse.store import churn as stored

    for t in types or []:
        if t not in ALERT_TYPES:
            raise UsageError(f"--type: unknown alert type {t!r} (one of {', '.join(ALERT_TYPES)})")
    if fmt not in ("table", "jsonl"):
        raise UsageError(f"--format: {fmt!r} is not table or jsonl")
    dims = _dimension_values("--filter", filter_)
    project = _project(config)
    store = _store(project, create=False)
    rows = stored.alerts(store, open_only=open_only, types=types, dims=dims)
    if fmt == "jsonl":
        for a in rows:
            sys.stdout.write(json.dumps(alert_record(a)) + "\n")
        return
    _print_alerts(rows, f"{len(rows)} churn alerts" + (" (open)" if open_only else ""))


@churn_app.command("resolve")
def churn_resolve(
    alert_id: Annotated[int, typer.Argument(help="The alert's id (see `daypulse churn alerts`).")],
    action: Annotated[str, typer.Option("--action", help="What was done: 'called, offered a discount'.",
                                        show_default=False)],
    config: ConfigOpt = None,
) -> None:
    """Mark an open alert handled, with the action taken. No second alert of that type opens for
    the customer until the condition has cleared once."""
    import getpass

    from daypulse.store import churn as stored
    from daypulse.store import tokens

    if not action.strip():
        raise UsageError("--action: say what was done (e.g. 'called, offered a discount')")
    project = _project(config)
    store = _store(project, create=False)
    found = stored.alert(store, alert_id)
    if found is None:
        raise UsageError(f"no churn alert {alert_id} (see `daypulse churn alerts`)")
    done = stored.resolve(store, alert_id, action.strip(), getpass.getuser())
    if done is None:
        state = "resolved" if found.resolved_at else f"cleared on {found.cleared}"
        raise UsageError(f"churn alert {alert_id} is not open ({state})")
    tokens.audit(store, "cli", "churn.resolve", str(alert_id), {"action": action.strip()})
    _info(f"churn alert {alert_id} ({done.type}, customer {done.entity}) resolved: {done.action}")


# -- shared by the commands --------------------------------------------------------------------

def _levels(given: list[str] | None) -> list[str] | None:
    for lv in given or []:
        if lv not in LEVELS:
            raise UsageError(f"--level: unknown level {lv!r} (one of {', '.join(LEVELS)})")
    return given or None


def _print_alerts(rows, title: str) -> None:
    t = Table("id", "customer", "type", "severity", "opened", "state", "action", title=title, title_justify="left")
    for a in rows:
        r = alert_record(a)
        state = r["state"] + (f" {r['cleared']} ({r['reason']})" if r["state"] == "cleared" else "")
        t.add_row(str(a.id), a.entity, a.type, a.severity, r["opened"], state, a.action or "")
    out.print(t)
