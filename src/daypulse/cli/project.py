"""The project file and the store: `daypulse check`, `daypulse metrics`, `daypulse db upgrade`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.table import Column, Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _info, _project, out
from daypulse.errors import UsageError

# -- check -------------------------------------------------------------------------------

@app.command()
def check(config: ConfigOpt = None,
          offline: Annotated[bool, typer.Option("--offline", help="Only validate the file.")] = False,
          list_: Annotated[bool, typer.Option("--list", help="Also list every metric with its"
                                              " formula (as `daypulse metrics`).")] = False,
          ) -> None:
    """Validate daypulse.yml (every problem, with file:line) and test the source and store."""
    from daypulse.checks import check_project, check_urls

    project = _project(config)
    check_urls(project, config)  # the file's source: and store: name engines daypulse has
    if list_:
        list_metrics(config=config)
    _info(f"{len(project.metrics)} metrics in {project.name!r}: the project file is valid")
    for warning in project.warnings:  # a pack metric left out for a column mapped to null...
        _info(str(warning))
    if offline:
        return
    check_project(project, _info, config)
    from daypulse.cli.delivery import check_channels

    check_channels(project, _info, config)


db_app = typer.Typer(no_args_is_help=True, help="Manage daypulse's own store.")
app.add_typer(db_app, name="db")

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
        from daypulse.project.loader import project_from_dict
        from daypulse.project.packs import PACKS

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
