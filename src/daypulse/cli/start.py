"""Getting started: `daypulse demo` (a demo company end to end) and `daypulse init`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from daypulse.cli.app import app
from daypulse.cli.common import _info, _progress, _project, _store, out
from daypulse.errors import UsageError

# -- demo, init --------------------------------------------------------------------------------

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
        from daypulse.cli.serve import serve as serve_command
        from daypulse.store import tokens

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
