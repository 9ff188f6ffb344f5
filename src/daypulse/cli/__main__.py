"""``python -m daypulse.cli``: the same as the `daypulse` command."""

from daypulse.cli.main import main

main()
