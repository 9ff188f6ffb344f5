"""The runs history (``runs`` table) as the API and the dashboard show it, and the last word on
a run started in the background: whatever happened to its thread, it does not stay ``running``.

Runs are written by :func:`daypulse.store.values.start_run` and finished by the compute itself
(``replace_values`` marks it succeeded in the same transaction as the values); this module reads
them, and settles the ones a background thread left behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update

from daypulse.store.db import Store, aware
from daypulse.store.models import Run
from daypulse.store.values import now

# What start_run adds to params for spotting dead processes; not the business of API readers.
BOOKKEEPING = ("pid", "host")


@dataclass(frozen=True)
class RunRow:
    id: int
    kind: str  # compute | dry-run
    state: str  # running | succeeded | failed | interrupted
    params: dict  # metrics, grains, why, who started it
    started_at: datetime  # aware, UTC
    finished_at: datetime | None
    rows: int | None  # values written (a dry run: values computed)
    error: str | None
    range_start: date | None
    range_end: date | None

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


_COLUMNS = (Run.id, Run.kind, Run.state, Run.params, Run.started_at, Run.finished_at, Run.rows, Run.error,
            Run.range_start, Run.range_end)


def history(store: Store, limit: int = 100) -> list[RunRow]:
    """The latest ``limit`` runs, newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(*_COLUMNS).order_by(Run.id.desc()).limit(limit)).all()
    return [_row(r) for r in rows]


def get(store: Store, id: int) -> RunRow | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(Run.id == id)).first()
    return _row(row) if row else None


def succeed(store: Store, id: int, rows: int, details: dict | None = None) -> None:
    """A run that wrote nothing on purpose (a dry run) ends here; ``details`` join its params."""
    with store.engine.begin() as conn:
        params = conn.execute(select(Run.params).where(Run.id == id)).scalar_one()
        conn.execute(update(Run).where(Run.id == id, Run.state == "running").values(
            state="succeeded", finished_at=now(), rows=rows, params={**(params or {}), **(details or {})}))


def settle(store: Store, id: int, error: str | None) -> bool:
    """Fail the run if it is still ``running`` once its thread is done: the compute records its
    own failures, but an error before it got that far (or a bug) must not leave a run that looks
    alive for ever. True when this changed the run."""
    with store.engine.begin() as conn:
        return conn.execute(update(Run).where(Run.id == id, Run.state == "running").values(
            state="failed", finished_at=now(),
            error=(error or "the run stopped without recording an outcome")[:2000])).rowcount > 0


def _row(r) -> RunRow:
    params = {k: v for k, v in (r.params or {}).items() if k not in BOOKKEEPING}
    return RunRow(r.id, r.kind, r.state, params, aware(r.started_at), aware(r.finished_at), r.rows, r.error,
                  r.range_start, r.range_end)
