"""The `daypulse` command: the command modules, in the order `--help` lists them, and ``main``.

Exit codes: 0 ok, 1 runtime failure, 2 bad input or config (one clear line, no traceback).
"""

from __future__ import annotations

import importlib
import sys

from daypulse.cli.app import app
from daypulse.errors import ConfigError, DaypulseError

# Each module adds its commands to the app when imported, so this order is the order of --help.
COMMAND_MODULES = ("compute", "project", "report", "start", "manual", "delivery", "serve", "thresholds", "churn",
                   "cohorts", "alerts")
for _name in COMMAND_MODULES:
    importlib.import_module(f"daypulse.cli.{_name}")


def main() -> None:
    # Typer handles its own usage errors (exit 2); daypulse's errors become one line each.
    try:
        app()
    except ConfigError as exc:
        for issue in exc.issues:
            print(str(issue), file=sys.stderr)
        sys.exit(exc.exit_code)
    except DaypulseError as exc:
        print(f"{exc.where}: error: {exc}" if exc.where else f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
