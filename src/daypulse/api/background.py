"""The scheduler inside `daypulse serve`: a daemon thread running the scheduler's loop."""

from __future__ import annotations

import threading

from daypulse.delivery.config import delivery_settings
from daypulse.delivery.loop import run_forever


def start_scheduler(project, store, config, info) -> threading.Thread:
    thread = threading.Thread(target=run_forever, name="daypulse-scheduler", daemon=True,
                              args=(project, store, config, delivery_settings(project).tick, info))
    thread.start()
    return thread
