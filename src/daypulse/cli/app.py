"""The Typer application every command module adds its commands to (see daypulse.cli.main)."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="daypulse: a company's daily business pulse, computed in its own database.")
