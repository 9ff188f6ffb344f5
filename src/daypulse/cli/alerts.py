"""`daypulse alerts`: metric alert rules (daypulse.yml's ``alerts:`` and the thresholds kept in
the store), the events they raise, acknowledging one, and evaluating them now."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _info, _instant, _project, _store, out
from daypulse.errors import UsageError

alerts_app = typer.Typer(no_args_is_help=True, help=(
    "Metric alerts: rules (threshold, change, anomaly; N periods in a row) over the stored values of"
    " periods that are over, and the events they raise. See docs/alerts.md."))
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("rules")
def alerts_rules(config: ConfigOpt = None,
                 fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table") -> None:
    """The rules: those of daypulse.yml's alerts:, then the thresholds kept in the store."""
    from dataclasses import asdict

    from daypulse.alerts.metric_alerts import all_rules

    project = _project(config)
    rules = all_rules(project, _store(project))
    if fmt == "json":
        sys.stdout.write(json.dumps([asdict(r) for r in rules], indent=2) + "\n")
        return
    t = Table("rule", "watches", "fires when", "severity", title=f"{len(rules)} alert rules", title_justify="left")
    for r in rules:
        where = ", ".join(f"{k}={v}" for k, v in r.dims.items())
        t.add_row(r.name, f"{r.metric} by {r.grain}" + (f" ({where})" if where else ""),
                  _says(r) + (f", {r.periods} {r.grain}s in a row" if r.periods > 1 else ""), r.severity)
    out.print(t)


@alerts_app.command("check")
def alerts_check(config: ConfigOpt = None,
                 as_of: Annotated[str | None, typer.Option("--as-of", help="Pretend it is this instant"
                                                           " (ISO 8601).")] = None) -> None:
    """Evaluate every rule now over the periods that are over; keep the events opened and resolved.
    (`daypulse compute` does this after every run.)"""
    from daypulse.alerts.metric_alerts import evaluate

    project = _project(config)
    outcomes = evaluate(project, _store(project), _instant("--as-of", as_of))
    for o in outcomes:
        _info(f"{o.rule.name}: {o.open_now} open" + (f", {o.opened} opened" if o.opened else "")
              + (f", {o.resolved} resolved" if o.resolved else "")
              + (f"; not judged: {o.unjudged[-1]}" + (f" (and {len(o.unjudged) - 1} more)" if len(o.unjudged) > 1
                                                      else "") if o.unjudged else ""))


@alerts_app.command("list")
def alerts_list(config: ConfigOpt = None,
                open_only: Annotated[bool, typer.Option("--open", help="Only events not resolved.")] = False,
                rule: Annotated[str | None, typer.Option("--rule", help="One rule's events.")] = None,
                fmt: Annotated[str, typer.Option("--format", help="table or jsonl (the DESIGN §9 records).")]
                = "table") -> None:
    """The events the rules raised, newest first: open, acknowledged or resolved."""
    from daypulse.store import alert_events as stored

    if fmt not in ("table", "jsonl"):
        raise UsageError(f"--format: {fmt!r} is not table or jsonl")
    project = _project(config)
    store = _store(project)
    rows = stored.events(store, open_only=open_only, rule=rule)
    if fmt == "jsonl":
        for r in rows:
            sys.stdout.write(json.dumps(stored.record(r)) + "\n")
        return
    from daypulse.alerts.metric_alerts import all_rules
    from daypulse.report import format as F

    kinds = {r.name: r.kind for r in all_rules(project, store)}
    t = Table("id", "rule", "period", "value", "limit", "state", title=f"{len(rows)} alert events"
              + (" (not resolved)" if open_only else ""), title_justify="left")
    for r in rows:
        rec = stored.record(r)
        fmt = project.metrics[r.metric].format if r.metric in project.metrics else None
        value = F.value(rec["value"], fmt) if fmt else _num(rec["value"])
        # An anomaly is held against a score (z), not an amount of the metric.
        limit = F.limit(rec["limit"], fmt) if fmt and kinds.get(r.rule) != "anomaly" else _num(rec["limit"])
        state = rec["state"] + (f" {rec['resolved_period']}" if rec["resolved_period"] else "") \
            + (f": {r.ack_note}" if r.ack_note else "")
        where = "".join(f" · {k}={v}" for k, v in r.dims.items())
        t.add_row(str(r.id), f"{r.rule} ({r.metric}{where})", f"{rec['period']} ({r.grain})", value, limit, state)
    out.print(t)


@alerts_app.command("ack")
def alerts_ack(event_id: Annotated[int, typer.Argument(help="The event's id (see `daypulse alerts list`).")],
               note: Annotated[str, typer.Option("--note", help="What is known: 'card processor outage'.",
                                                 show_default=False)],
               config: ConfigOpt = None) -> None:
    """Acknowledge an event that is not resolved, with a note (it stays until its rule clears)."""
    import getpass

    from daypulse.store import alert_events as stored
    from daypulse.store import tokens

    if not note.strip():
        raise UsageError("--note: say what is known (e.g. 'known: card processor outage')")
    project = _project(config)
    store = _store(project, create=False)
    found = stored.event(store, event_id)
    if found is None:
        raise UsageError(f"no alert event {event_id} (see `daypulse alerts list`)")
    done = stored.acknowledge(store, event_id, getpass.getuser(), note.strip())
    if done is None:
        raise UsageError(f"alert event {event_id} is {stored.state(found)} already")
    tokens.audit(store, "cli", "alert.ack", str(event_id), {"note": note.strip()})
    _info(f"alert event {event_id} ({done.rule}, {done.period}) acknowledged: {done.ack_note}")


def _says(r) -> str:
    if r.kind == "threshold":
        return f"{r.op} {_num(r.value)}"
    if r.kind == "change":
        amount = f"{r.value:.0%}" if r.by == "percent" else _num(r.value)
        verb = {"above": "rises by more than", "below": "falls by more than", "any": "moves by more than"}[r.op]
        return f"{verb} {amount} vs {'the period before' if r.compare == 'previous' else 'a week before'}"
    return f"unusual ({'high' if r.op == 'above' else 'low' if r.op == 'below' else 'either way'}, z > {r.value:g})"


def _num(v) -> str:
    return "—" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
