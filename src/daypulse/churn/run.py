"""A range of days scored and kept: the batch from the source, the alerts decided from those live
before it, and both written to the store in one transaction, recorded as a ``churn`` run like a
compute. ``dry_run`` computes and decides the same and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from daypulse.churn.alerts import Alert
from daypulse.churn.batch import score_range
from daypulse.churn.config import ChurnConfig, churn_config
from daypulse.churn.population import scored_population
from daypulse.compile.rows import Source
from daypulse.engine.run import run_compute
from daypulse.errors import UsageError
from daypulse.project.model import Project
from daypulse.scopes import within
from daypulse.store import churn as stored
from daypulse.store import values as sv
from daypulse.store.db import Store


@dataclass
class ChurnOutcome:
    first: date
    last: date
    records: list[dict]
    opened: list[Alert]
    cleared: list[Alert]
    run_id: int | None = None
    levels: dict[str, int] = field(default_factory=dict)  # customers per level on the last day
    still_open: int = 0  # alerts open at the end of the range (opened before it or in it)


def run_churn(project: Project, store: Store, first: date, last: date, *, dry_run: bool = False,
              source: Source | None = None, params: dict | None = None,
              only: dict[str, str] | None = None) -> ChurnOutcome:
    """``only``: score the customers with these dimension values (a tenant) and replace theirs
    alone; the other customers' scores and alerts stay as they are."""
    cfg = churn_config(project)
    if cfg is None:
        raise UsageError("the project has no churn: section in daypulse.yml (see docs/churn.md)")
    only = only or {}
    if only:
        cfg = narrowed(project, cfg, only)
    batch = score_range(project, first, last, source, cfg)
    live = [_alert(r) for r in stored.live_alerts(store, first) if within(r.dims, only)]
    decision = batch.alerts(live)
    records = list(batch.records())
    levels: dict[str, int] = {}
    for r in records:
        if r["day"] == last.isoformat():
            levels[r["level"]] = levels.get(r["level"], 0) + 1
    gone = {a.id for a in decision.cleared}
    still_open = (sum(a.open for a in decision.opened)
                  + sum(a.open and a.id not in gone for a in live))
    out = ChurnOutcome(first, last, records, decision.opened, decision.cleared, levels=levels,
                       still_open=still_open)
    if dry_run:
        return out
    dims = {(r["entity"], r["day"]): r["dimensions"] for r in records}
    opened = [stored.NewAlert(a.entity, a.type, a.opened, a.severity, a.cleared, a.reason,
                              dims.get((a.entity, a.opened.isoformat()), {}), a.snapshot or {})
              for a in decision.opened]
    cleared = [stored.Cleared(a.id, a.cleared, a.reason) for a in decision.cleared if a.id is not None]
    run_id = sv.start_run(store, "churn", params or {}, first, last)
    try:
        stored.replace_range(store, first, last, records, opened, cleared, run_id, only=only)
    except BaseException as exc:
        sv.fail_run(store, run_id, f"{type(exc).__name__}: {exc}")
        raise
    out.run_id = run_id
    _count(project, store, first, last, source, run_id)
    return out


def _count(project: Project, store: Store, first: date, last: date, source: Source | None, run_id: int) -> None:
    """The churn metrics (``kind: churn``) of the days just scored, and of their weeks and
    months, counted again from the new scores."""
    names = [n for n, m in project.metrics.items() if m.kind == "churn"]
    if names:
        run_compute(project, store, first, last, metrics=names, source=source,
                    params={"why": f"churn run {run_id}"})


def narrowed(project: Project, cfg: ChurnConfig, only: dict[str, str]) -> ChurnConfig:
    """The churn settings scoring only the customers with ``only``'s dimension values."""
    dims = scored_population(project, cfg).dimensions
    for name in only:
        if name not in dims:
            raise UsageError(f"churn scores are not kept by {name} (dimensions: {', '.join(dims) or 'none'})")
    where = {**cfg.scored.where, **{dims[k]: v for k, v in only.items()}}
    return cfg.model_copy(update={"scored": cfg.scored.model_copy(update={"where": where})})


def _alert(row) -> Alert:
    """A stored alert whose episode goes on into the range (its clearing, if any, is re-decided)."""
    return Alert(row.entity, row.type, row.opened, row.severity, resolved_by_hand=row.resolved_at is not None,
                 id=row.id, snapshot=row.snapshot)
