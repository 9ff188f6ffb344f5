"""`daypulse manual`: values people type in (burn rate, runway)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _date, _info, _project, _store, out
from daypulse.errors import UsageError

manual_app = typer.Typer(no_args_is_help=True, help=(
    "Values people type in for kind: manual metrics (burn rate, runway...). A value holds"
    " from its day until the next one set for the metric."))
app.add_typer(manual_app, name="manual")

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

    from daypulse.store.manual import parse_value, require_manual, set_value

    project = _project(config)
    require_manual(project, metric)
    amount = parse_value(project, metric, value)
    day = _date("--from", start) or project.calendar.today()
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
