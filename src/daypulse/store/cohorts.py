"""Cohort grids kept per computation (DESIGN §9): each run's cells, written in one transaction
with the run's success; the latest run of a (by, measure, dimension values) is the current grid.
Cells are never updated: history stays as it was computed."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, insert, select, update

from daypulse.store.db import Store
from daypulse.store.models import CohortCell, Run

BATCH = 5000


def save(store: Store, run_id: int, cells: list, dims_key: str, dims: dict, as_of: date) -> int:
    """Write ``cells`` (``cohorts.grid.Cell``) for the run and mark the run succeeded, at once."""
    at = datetime.now(UTC)
    rows = [{"run_id": run_id, "by": c.by, "measure": c.measure, "dims_key": dims_key, "dims": dims,
             "cohort": c.cohort, "period": c.period, "unit": c.unit, "size": c.size, "retained": c.retained,
             "rate": c.rate, "as_of": as_of, "computed_at": at} for c in cells]
    with store.engine.begin() as conn:
        for i in range(0, len(rows), BATCH):
            conn.execute(insert(CohortCell), rows[i:i + BATCH])
        conn.execute(update(Run).where(Run.id == run_id).values(state="succeeded", finished_at=at, rows=len(rows)))
    return len(rows)


def latest(store: Store, by: str, measure: str, dims_key: str = "", run_id: int | None = None) -> list:
    """The cells of the latest run of a grid (or of ``run_id``), by cohort then period."""
    with store.engine.connect() as conn:
        if run_id is None:
            run_id = conn.execute(select(func.max(CohortCell.run_id)).where(
                CohortCell.by == by, CohortCell.measure == measure, CohortCell.dims_key == dims_key)).scalar()
        if run_id is None:
            return []
        q = (select(*CohortCell.__table__.c).where(CohortCell.run_id == run_id, CohortCell.by == by,
                                                   CohortCell.measure == measure, CohortCell.dims_key == dims_key)
             .order_by(CohortCell.cohort, CohortCell.period))
        return list(conn.execute(q))


def runs(store: Store, by: str, measure: str, dims_key: str = "") -> list[tuple[int, date, datetime]]:
    """(run id, as of, computed at) of every computation of a grid, newest first."""
    q = (select(CohortCell.run_id, func.max(CohortCell.as_of), func.max(CohortCell.computed_at))
         .where(CohortCell.by == by, CohortCell.measure == measure, CohortCell.dims_key == dims_key)
         .group_by(CohortCell.run_id).order_by(CohortCell.run_id.desc()))
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(q)]
