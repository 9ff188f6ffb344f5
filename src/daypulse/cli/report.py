"""`daypulse report` (render or send a report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _date, _dimension_values, _info, _project_and_store
from daypulse.errors import UsageError

# -- report ------------------------------------------------------------------------------

@app.command()
def report(
    name: Annotated[str, typer.Argument(
        metavar="NAME", help="daily, weekly, monthly, quarterly, leads, leads-weekly, or a report defined"
                             " under reports: in daypulse.yml.", show_default=False)],
    on: Annotated[str | None, typer.Option(
        "--date", help="Report on the period containing this day (YYYY-MM-DD; default: the last"
                       " complete day, week, month or quarter in the project's zone).",
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
    filter_: Annotated[list[str] | None, typer.Option(
        "--filter", help="Narrow the report to a dimension value, as a subscription's filter does:"
                         " branch=north (repeatable).", show_default=False)] = None,
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
    from daypulse.project.loader import config_path
    from daypulse.report.content import build_report
    from daypulse.report.output import FORMATS, rendered, template_folder, write

    if fmt not in FORMATS:
        raise UsageError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if fmt == "pdf" and out_path is None and not send:
        raise UsageError("--format pdf writes a file: give --out report.pdf")
    day = _date("--date", on)
    if (subscription is not None or dry_run) and not send:
        raise UsageError("--subscription and --dry-run go with --send")
    narrow = _dimension_values("--filter", filter_, "branch=north")
    if narrow and send:
        raise UsageError("--filter does not go with --send: a subscription's own filter decides what it gets")
    if send:
        from daypulse.cli.delivery import send_report

        return send_report(name, day, subscription, dry_run, config)
    project, store = _project_and_store(config)
    # Text draws them too: it describes each chart in a line (the alt text: latest value, trend).
    rep = build_report(project, store, name, on=day, with_charts=charts, info=_info, filter=narrow or None)
    template_dir = template_folder(project, name, config_path(config).resolve().parent)
    if out_path is None:
        sys.stdout.write(rendered(rep, fmt, template_dir))
        if not rep.has_data:
            _info(f"{rep.title}, {rep.period_label}: no data for this period")
        return
    for path in write(rep, fmt, out_path, template_dir):
        _info(f"wrote {path}")
