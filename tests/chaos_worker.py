"""One scheduler process for the chaos test: a pass per instant read from stdin.

    python tests/chaos_worker.py PROJECT_DIR

Each line on stdin is an ISO instant; the worker runs ``run_pass(now=instant)`` and answers
``done <sent> <retrying> <failed> <lost> <reconciled>`` (or ``error <text>``) on stdout. The test
drives two of these in lock-step and kills one with SIGKILL in the middle of a pass.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import datetime
from pathlib import Path


def main() -> None:
    folder = Path(sys.argv[1])
    os.chdir(folder)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from daypulse.delivery.runner import run_pass, worker_id
    from daypulse.project import load_project
    from daypulse.store.db import open_store

    project = load_project(folder / "daypulse.yml")
    store = open_store(project.store)
    worker = worker_id()
    print("ready", flush=True)
    for line in sys.stdin:
        now = datetime.fromisoformat(line.strip())
        try:
            r = run_pass(project, store, now, worker=worker, base_dir=folder, info=lambda m: None)
            print(f"done {r.sent} {r.retrying} {r.failed} {r.lost} {r.reconciled}", flush=True)
        except Exception as err:  # the test counts these; a pass must never crash
            print(f"error {type(err).__name__}: {err}".replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
