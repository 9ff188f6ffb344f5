"""`daypulse cohorts`: signup cohorts and their retention (DESIGN §9), computed in the source,
kept in the store per computation, printed as a triangle or written as the contract's records."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _date, _dimension_values, _info, _instant, _project, _store, out
from daypulse.errors import UsageError

HIGHLIGHT = (1, 4, 12)  # W1, W4 and W12, the executive dashboard's columns
# The periods the table shows (it fits 80 columns); --format jsonl has every cell.
SHOWN = {"users": (1, 2, 3, 4, 8, 12), "revenue": (1, 2, 3, 6, 12)}


@app.command("cohorts")
def cohorts(
    config: ConfigOpt = None,
    by: Annotated[str, typer.Option("--by", help="Signup cohorts by week or month.")] = "month",
    measure: Annotated[str, typer.Option("--measure", help="users (active in week k after signup) or revenue"
                                         " (the cohort's MRR at the end of period k over period 0).")] = "users",
    n: Annotated[int, typer.Option("--cohorts", min=1, max=520, help="How many cohorts, ending with the one"
                                   " holding the last complete day.")] = 12,
    on: Annotated[str | None, typer.Option("--date", help="The last complete local day (default: yesterday).")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", help="Only signups with this dimension value:"
                                                      " tenant=acme (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or jsonl (the DESIGN §9 records).")] = "table",
    as_of: Annotated[str | None, typer.Option("--as-of", help="Pretend it is this instant (ISO 8601).")] = None,
) -> None:
    """Signup cohorts and their retention: the triangle (W1, W4 and W12 marked), or one JSON
    object per cell. Each computation is kept in the store (a run of kind cohorts). See
    docs/cohorts.md."""
    from daypulse.cohorts.config import BY, MEASURES
    from daypulse.cohorts.run import run_cohorts

    if by not in BY:
        raise UsageError(f"--by: {by!r} is not one of {', '.join(BY)}")
    if measure not in MEASURES:
        raise UsageError(f"--measure: {measure!r} is not one of {', '.join(MEASURES)}")
    if fmt not in ("table", "jsonl"):
        raise UsageError(f"--format: {fmt!r} is not table or jsonl")
    dims = _dimension_values("--filter", filter_)
    project = _project(config)
    now = _instant("--as-of", as_of)
    yesterday = project.calendar.today(now) - timedelta(days=1)
    day = _date("--date", on)
    last = project.not_in_future(day, "--date", now) if day else yesterday
    last = min(last, yesterday)  # a day not over yet is not complete
    store = _store(project)
    cells, run_id = run_cohorts(project, store, by, measure, last, cohorts=n, dims=dims)
    if fmt == "jsonl":
        for c in cells:
            sys.stdout.write(json.dumps(c.record()) + "\n")
        return
    _info(f"{measure} retention of {n} {by}ly signup cohorts, complete to {last} ({project.timezone});"
          f" run {run_id}")
    out.print(_table(cells, by, measure))


def _table(cells, by: str, measure: str) -> Table:
    unit = "W" if cells and cells[0].unit == "week" else "M"
    have = {c.period for c in cells}
    periods = [k for k in SHOWN[measure] if k in have]
    t = Table("cohort", "size", *[f"[bold]{unit}{k}[/bold]" if unit == "W" and k in HIGHLIGHT else f"{unit}{k}"
                                  for k in periods],
              title=f"{'Customers active' if measure == 'users' else 'MRR retained'} by {by}ly signup cohort",
              title_justify="left")
    grid: dict = {}
    for c in cells:
        grid.setdefault(c.cohort, {})[c.period] = c
    for cohort, row in grid.items():
        size = row[0].size
        t.add_row(f"{cohort:%Y-%m}" if by == "month" else cohort.isoformat(),
                  f"{size:,}" if measure == "users" else f"${size / 100:,.0f}",
                  *[("" if k not in row or row[k].rate is None else f"{row[k].rate:.0%}") for k in periods])
    return t
