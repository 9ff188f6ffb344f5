"""A cohort grid computed and kept: recorded as a ``cohorts`` run, its cells written with the
run's success in one transaction (a failure leaves nothing half-written, the run failed)."""

from __future__ import annotations

from datetime import date

from daypulse.cohorts.compute import compute_cohorts
from daypulse.cohorts.grid import Cell
from daypulse.compile.rows import Source
from daypulse.project.model import Project
from daypulse.store import cohorts as stored
from daypulse.store import runs
from daypulse.store import values as sv
from daypulse.store.db import Store
from daypulse.values import dims_key


def run_cohorts(project: Project, store: Store, by: str, measure: str, last: date, *, cohorts: int = 12,
                dims: dict[str, str] | None = None, source: Source | None = None) -> tuple[list[Cell], int]:
    dims = dims or {}
    run_id = sv.start_run(store, "cohorts", {"by": by, "measure": measure, "cohorts": cohorts, "filter": dims},
                          None, last)
    try:
        cells = compute_cohorts(project, by, measure, last, cohorts=cohorts, dims=dims, source=source)
        stored.save(store, run_id, cells, dims_key(dims), dims, last)
    except BaseException as exc:
        sv.fail_run(store, run_id, f"{type(exc).__name__}: {exc}")
        raise
    return cells, run_id


def current_grid(project: Project, store: Store, by: str, measure: str, last: date, *, cohorts: int = 12,
                 dims: dict[str, str] | None = None) -> tuple[list[Cell], int]:
    """The grid complete to ``last``: the latest kept computation when it is of that day and has
    those cohorts, else computed now and kept (as a report computes what it reads first)."""
    dims = dims or {}
    first = project.calendar.shift(by, project.calendar.period_start(by, last), cohorts - 1)
    for run_id, as_of, _ in stored.runs(store, by, measure, dims_key(dims))[:1]:
        asked = (runs.get(store, run_id).params or {}).get("cohorts", 0)
        # The latest computation of that day covering at least these cohorts (an empty cohort
        # keeps no cell: the run's own parameters say how far back it looked).
        if as_of == last and asked >= cohorts:
            cells = [Cell(r.cohort, r.by, r.measure, r.size, r.period, r.unit, r.retained, r.rate)
                     for r in stored.latest(store, by, measure, dims_key(dims), run_id) if r.cohort >= first]
            return cells, run_id
    return run_cohorts(project, store, by, measure, last, cohorts=cohorts, dims=dims)
