"""A compute or backfill started from the API: recorded at once, run in a thread.

One at a time per process: a backfill holds the source and the store's write lock for its
whole length, and two of them would only queue behind each other (PostgreSQL) or time out on
the lock (SQLite). The run is recorded before the thread starts, so the caller gets its id to
poll; however the thread ends, the run ends ``succeeded`` or ``failed`` with its error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

from daypulse.engine.run import run_compute
from daypulse.errors import DaypulseError
from daypulse.project.model import Project
from daypulse.store import runs
from daypulse.store import values as sv
from daypulse.store.db import Store


class RunInProgress(DaypulseError):
    """Another background run of this process has not finished."""

    def __init__(self, run_id: int | None):
        self.run_id = run_id
        super().__init__(f"run {run_id} is still running: wait for it (GET /api/v1/runs/{run_id})"
                         if run_id else "another run is starting")


@dataclass(frozen=True)
class RunRequest:
    start: date
    end: date
    metrics: list[str] | None = None
    grains: list[str] | None = None
    dry_run: bool = False
    why: str = "the range asked for"
    by: str | None = None  # who asked (a token's name)


class _Slot:
    """The one background run this process may have."""

    def __init__(self):
        self._lock = threading.Lock()
        self.run_id: int | None = None
        self.thread: threading.Thread | None = None

    def take(self) -> None:
        if not self._lock.acquire(blocking=False):
            raise RunInProgress(self.run_id)

    def give_back(self) -> None:
        self.run_id, self.thread = None, None
        self._lock.release()

    @property
    def busy(self) -> bool:
        return self._lock.locked()


SLOT = _Slot()


def start_run(project: Project, store: Store, asked: RunRequest) -> int:
    """Record the run and start it in a daemon thread; its id. RunInProgress while another runs."""
    SLOT.take()
    try:
        params = {"metrics": asked.metrics or None, "grains": asked.grains or None, "why": asked.why,
                  "by": asked.by, "via": "api"}
        run_id = sv.start_run(store, "dry-run" if asked.dry_run else "compute", params, asked.start, asked.end)
        SLOT.run_id = run_id
        SLOT.thread = threading.Thread(target=_work, args=(project, store, asked, run_id), daemon=True,
                                       name=f"daypulse-run-{run_id}")
        SLOT.thread.start()
    except BaseException:
        SLOT.give_back()
        raise
    return run_id


def wait_idle(timeout: float = 60) -> bool:
    """Wait for the background run (if any) to end; False if it is still running after ``timeout``
    seconds. For shutdown and tests."""
    thread = SLOT.thread
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()


def _work(project: Project, store: Store, asked: RunRequest, run_id: int) -> None:
    error = None
    try:
        outcome = run_compute(project, store, asked.start, asked.end, asked.metrics, asked.grains,
                              dry_run=asked.dry_run, want_diff=asked.dry_run,
                              run_id=None if asked.dry_run else run_id)
        if asked.dry_run:
            runs.succeed(store, run_id, len(outcome.values),
                         {"changed": len(outcome.changes or []), "unchanged": outcome.unchanged})
    except BaseException as exc:  # noqa: BLE001 - a thread's error goes nowhere else: it is the run's outcome
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, DaypulseError) else str(exc)
    finally:
        try:
            runs.settle(store, run_id, error)
        finally:
            SLOT.give_back()
