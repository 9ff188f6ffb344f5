"""The scheduler's loop, shared by `daypulse scheduler` and the thread in `daypulse serve`:
a pass every ``every``, on the wall clock's multiples of it, until ``stopped()``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from daypulse.delivery.config import DERIVED, SECTIONS
from daypulse.delivery.runner import run_pass
from daypulse.errors import DaypulseError
from daypulse.project import load_project
from daypulse.project.loader import config_path
from daypulse.report.stored import with_templates


def run_forever(project, store, config, every: timedelta, info: Callable[[str], None],
                stopped: Callable[[], bool] = lambda: False) -> None:
    """``project`` is re-read from ``config`` before every pass (its subscriptions may change; a
    file that no longer parses keeps the previous version), with the store's report templates
    (written over the API meanwhile). A pass stopped by the store or a name clash is reported
    and the loop goes on at the next tick."""

    base = config_path(config).resolve().parent
    step = every.total_seconds()
    while not stopped():
        started = datetime.now(UTC)
        try:
            project = load_project(config, SECTIONS, DERIVED)
        except DaypulseError as err:
            info(f"daypulse.yml cannot be read, the previous version is used: {err}")
        try:
            res = run_pass(with_templates(project, store), store, started, base_dir=base, info=info, tick=every)
            if res.due or res.sent or res.failed or res.retrying:
                info(f"pass at {started:%H:%M:%S} UTC: {res.summary}")
        except DaypulseError as err:
            info(f"pass at {started:%H:%M:%S} UTC stopped: {err}")
        deadline = time.monotonic() + step - (datetime.now(UTC).timestamp() % step)
        while not stopped() and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))
