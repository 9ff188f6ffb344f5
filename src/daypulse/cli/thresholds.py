"""`daypulse thresholds`: the rules behind the dashboard's and the API's alerts (the
commands). The rules themselves are checked in ``daypulse.alerts.thresholds``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Column, Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _dimension_values, _info, _project, _store, out
from daypulse.errors import UsageError

thresholds_app = typer.Typer(no_args_is_help=True, help=(
    "Thresholds: a metric above or below a limit (in its stored units: cents for money, a fraction"
    " for ratios) is flagged on the dashboard and listed by GET /api/v1/alerts."))




def _flag(field: str) -> str:
    """The flag a rule's field came from: ``dims.tenant`` is ``--dim tenant``."""
    return f"--dim {field[5:]}" if field.startswith("dims.") else f"--{field}"


@thresholds_app.command("add", context_settings={"ignore_unknown_options": True})  # --value -5
def thresholds_add(
    metric: Annotated[str, typer.Option("--metric", "-m", help="The metric (see `daypulse metrics`).",
                                        show_default=False)],
    op: Annotated[str, typer.Option("--op", help="above or below.", show_default=False)],
    value: Annotated[str, typer.Option("--value", help="The limit in the metric's stored units: cents for"
                                       " money (500000 is 5,000.00), a fraction for ratios (0.05 is 5%).",
                                       show_default=False)],
    grain: Annotated[str, typer.Option("--grain", "-g", help="day, week, month, quarter or year.")] = "day",
    dim: Annotated[list[str] | None, typer.Option("--dim", help="Only these dimension values: tenant=acme"
                                                  " (repeatable; default: the total).")] = None,
    severity: Annotated[str, typer.Option("--severity", help="warning or critical.")] = "warning",
    note: Annotated[str | None, typer.Option("--note", help="Why the line is there, or what to do.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Add a rule. Example: daypulse thresholds add --metric signups --op below --value 20 --severity
    critical (flagged when the latest day has fewer than 20 signups)."""
    from daypulse.alerts import thresholds as rules
    from daypulse.store import tokens

    dims = _dimension_values("--dim", dim)
    project = _project(config)
    try:
        rules.check_rule(project, metric, grain, op, value, dims, severity)
    except rules.RuleError as exc:
        raise UsageError(f"{_flag(exc.field)}: {exc.message}") from None
    store = _store(project)  # opened only once the rule is known to be good
    try:
        rule = rules.add(store, project, metric=metric, op=op, value=value, grain=grain, dims=dims,
                         severity=severity, note=note, created_by="cli")
    except rules.DuplicateRule as exc:
        raise UsageError(exc.message) from None
    tokens.audit(store, "cli", "threshold.add", str(rule.id), {"rule": rule.describe(), "severity": severity})
    _info(f"threshold {rule.id}: {rule.describe()} ({rule.severity})")


@thresholds_app.command("list")
def thresholds_list(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    config: ConfigOpt = None,
) -> None:
    """Every rule, and whether the latest stored value crosses it now."""
    from daypulse.alerts import thresholds as rules

    if fmt not in ("table", "json"):
        raise UsageError(f"--format: {fmt!r} is not table or json")
    project = _project(config)
    store = _store(project, create=False)
    found = rules.listing(store)
    crossed = {b.threshold_id: b for b in rules.breaches(project, store)}
    if fmt == "json":
        sys.stdout.write(json.dumps([{
            "id": r.id, "metric": r.metric, "grain": r.grain, "op": r.op, "value": r.limit, "dims": r.dims,
            "severity": r.severity, "note": r.note, "created_by": r.created_by,
            "created_at": r.created_at.isoformat(),
            "breached": {"period_start": crossed[r.id].period_start.isoformat(), "value": crossed[r.id].value}
            if r.id in crossed else None} for r in found], indent=2) + "\n")
        return
    if not found:
        _info("no thresholds (add one with `daypulse thresholds add --metric M --op above --value N`)")
        return
    t = Table("id", "metric", "grain", "dimensions", "rule", "severity", Column("now", no_wrap=True), "note")
    for r in found:
        b = crossed.get(r.id)
        t.add_row(str(r.id), r.metric, r.grain, ", ".join(f"{k}={v}" for k, v in sorted(r.dims.items())) or "total",
                  f"{r.op} {r.limit}", r.severity, f"CROSSED ({b.value} on {b.period_start})" if b else "ok",
                  r.note or "")
    out.print(t)


@thresholds_app.command("remove")
def thresholds_remove(id: Annotated[int, typer.Argument(help="The rule's id (thresholds list).")],
                      config: ConfigOpt = None) -> None:
    """Remove a rule."""
    from daypulse.alerts import thresholds as rules
    from daypulse.store import tokens

    store = _store(_project(config), create=False)
    gone = rules.remove(store, id) if 0 < id <= 2**31 - 1 else None
    if gone is None:
        raise UsageError(f"no threshold {id} (see `daypulse thresholds list`)")
    tokens.audit(store, "cli", "threshold.remove", str(id), {"rule": gone.describe()})
    _info(f"removed threshold {id}: {gone.describe()}")


app.add_typer(thresholds_app, name="thresholds")
