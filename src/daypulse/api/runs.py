"""Compute runs: start one in the background (company-wide: an unscoped admin), the history, one run's state."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from daypulse.api.deps import CompanyAdmin, Day, GrainName, Id, ProjectDep, StoreDep, Viewer, computed_at
from daypulse.api.problems import conflict, missing, responses
from daypulse.engine.background import RunInProgress, RunRequest
from daypulse.engine.background import start_run as start
from daypulse.engine.run import choose_range, incremental_range
from daypulse.errors import UsageError
from daypulse.store import runs, tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses=responses(401, 403, 422, 503))


MAX_RUN_DAYS = 366  # a year per request: a longer backfill is `daypulse compute`, or several runs


class RunBody(BaseModel):
    """A range (start, and end: default yesterday) or the last ``days_back`` days; neither is an
    incremental run (the days since the last complete one, as `daypulse compute` does)."""

    model_config = ConfigDict(extra="forbid")
    start: Day | None = None
    end: Day | None = None
    days_back: int | None = Field(None, ge=1, le=MAX_RUN_DAYS)
    metrics: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=200)
    grains: list[GrainName | Literal["hour"]] | None = Field(None, max_length=6)
    dry_run: bool = False


@router.post("/runs", status_code=202, summary="Start a compute or backfill in the background (admin)",
             responses=conflict("a run started through the API is still running"))
def start_run(who: CompanyAdmin, project: ProjectDep, store: StoreDep, body: RunBody, response: Response) -> dict:
    _check_metrics(project, body.metrics)
    computed_at(project, body.metrics or None, body.grains, "grains")
    first, last, why = _run_range(project, store, body)
    asked = RunRequest(first, last, body.metrics or None, body.grains or None, body.dry_run, why, who.name)
    try:
        run_id = start(project, store, asked)
    except RunInProgress as exc:
        raise HTTPException(409, str(exc)) from None
    tokens.audit(store, who.name, "run.start", str(run_id), {
        "start": first.isoformat(), "end": last.isoformat(), "metrics": asked.metrics, "grains": asked.grains,
        "dry_run": body.dry_run})
    response.headers["Location"] = f"/api/v1/runs/{run_id}"
    return _run(runs.get(store, run_id), who)


def _check_metrics(project, names: list[str] | None) -> None:
    try:
        project.resolve(names, "metrics")
    except UsageError as exc:
        raise HTTPException(422, str(exc)) from None


def _run_range(project, store, body: RunBody) -> tuple[date, date, str]:
    """The days a run covers, chosen as `daypulse compute` chooses them from its flags."""

    try:
        rng = choose_range(project, start=body.start, end=body.end, days_back=body.days_back)
    except UsageError as exc:
        raise HTTPException(422, str(exc)) from None
    rng = rng or incremental_range(project, store)
    if (rng.end - rng.start).days + 1 > MAX_RUN_DAYS:
        field = "end" if body.start else "start"
        raise HTTPException(422, f"{field}: at most {MAX_RUN_DAYS} days per run ({rng.start} to {rng.end} is"
                                 f" {(rng.end - rng.start).days + 1}); split it, or use `daypulse compute`")
    return rng.start, rng.end, rng.why


@router.get("/runs", summary="Compute runs, newest first")
def run_history(who: Viewer, store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    return [_run(r, who) for r in runs.history(store, limit)]


@router.get("/runs/{id}", summary="One run's state", responses=missing("no such run"))
def run_status(who: Viewer, store: StoreDep, id: Id) -> dict:
    found = runs.get(store, id)
    if found is None:
        raise HTTPException(404, f"no run {id} (see /api/v1/runs)")
    return _run(found, who)


def _run(r, who: Principal) -> dict:
    # A run's error text and parameters (who started it, why) are the company's, not a tenant's:
    # a scoped token sees that a run failed, not the message, as on the dashboard's runs page.
    company = not who.scope
    return {"id": r.id, "kind": r.kind, "state": r.state, "params": r.params if company else None,
            "range_start": r.range_start.isoformat() if r.range_start else None,
            "range_end": r.range_end.isoformat() if r.range_end else None,
            "started_at": r.started_at.isoformat(), "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "seconds": r.seconds, "rows": r.rows,
            "error": (r.error if company else "failed (details for the company's admins)") if r.error else None}
