"""The scheduler inside `daypulse serve`: a daemon thread running a pass every delivery.tick."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


def start_scheduler(project, store, config, info) -> threading.Thread:
    from daypulse.delivery.config import delivery_settings
    from daypulse.delivery.runner import run_pass
    from daypulse.errors import DaypulseError
    from daypulse.spec import load_project
    from daypulse.spec.loader import config_path

    every = delivery_settings(project).tick.total_seconds()
    base = config_path(config).resolve().parent

    def loop() -> None:
        current = project
        while True:
            try:
                current = load_project(config)
            except DaypulseError as err:
                info(f"daypulse.yml cannot be read, the previous version is used: {err}")
            try:
                res = run_pass(current, store, datetime.now(UTC), base_dir=base, info=info)
                if res.due or res.sent or res.failed:
                    info(f"scheduler pass: {res.summary}")
            except DaypulseError as err:
                info(f"scheduler pass stopped: {err}")
            time.sleep(every - time.time() % every)

    thread = threading.Thread(target=loop, name="daypulse-scheduler", daemon=True)
    thread.start()
    return thread
