"""The `daypulse` command line. Commands parse arguments and call the layers below; nothing else.

One module per command group (compute, project, manual, report, delivery, serve, thresholds);
``common`` holds what they share (the consoles, ``--config``, loading the project and store).
"""

from daypulse.cli.main import app, main

__all__ = ["app", "main"]
