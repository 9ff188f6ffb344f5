"""The API's operations: compute runs, manual values, thresholds and alerts, the project's settings.

Everything changed here is company-wide (a backfill rewrites every tenant's numbers, a burn rate
is the company's), so changes need an admin token *without* a scope, and are audit-logged. A
scoped token reads the runs history, and the thresholds and alerts of its own dimension values.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from daypulse.api.problems import responses
from daypulse.api.routes import RESERVED, Admin, Viewer, _asked
from daypulse.errors import UsageError
from daypulse.store import tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses=responses(401, 403, 422, 503))
GrainName = Literal["day", "week", "month", "quarter", "year"]
Number = StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=100)]
MAX_RUN_DAYS = 366  # a year per request: a longer backfill is `daypulse compute`, or several runs
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _conflict(what: str) -> dict:
    return {409: {**responses(409)[409], "description": what}}


def _missing(what: str) -> dict:
    return {404: {**responses(404)[404], "description": what}}


# -- who may change company-wide things ------------------------------------------------------

def _scope_text(who: Principal) -> str:
    return ", ".join(f"{k} {v!r}" for k, v in sorted(who.scope.items()))


def company_admin(who: Admin) -> Principal:
    if who.scope:
        raise HTTPException(403, f"this token sees {_scope_text(who)} only; runs, manual values and settings"
                                 " are company-wide and need an admin token without a scope")
    return who


def company_viewer(who: Viewer) -> Principal:
    if who.scope:
        raise HTTPException(403, f"this token sees {_scope_text(who)} only; manual values are company-wide")
    return who


CompanyAdmin = Annotated[Principal, Depends(company_admin)]
CompanyViewer = Annotated[Principal, Depends(company_viewer)]


# -- runs ------------------------------------------------------------------------------------

class RunBody(BaseModel):
    """A range (start, and end: default yesterday) or the last ``days_back`` days; neither is an
    incremental run (the days since the last complete one, as `daypulse compute` does)."""

    model_config = ConfigDict(extra="forbid")
    start: date | None = None
    end: date | None = None
    days_back: int | None = Field(None, ge=1, le=MAX_RUN_DAYS)
    metrics: list[Annotated[str, Field(max_length=200)]] | None = Field(None, max_length=200)
    grains: list[GrainName] | None = Field(None, max_length=5)
    dry_run: bool = False


@router.post("/runs", status_code=202, summary="Start a compute or backfill in the background (admin)",
             responses=_conflict("a run started through the API is still running"))
def start_run(request: Request, who: CompanyAdmin, body: RunBody, response: Response) -> dict:
    from daypulse.engine.background import RunInProgress, RunRequest
    from daypulse.engine.background import start_run as start
    from daypulse.store import runs

    project, store = request.app.state.project, request.app.state.store
    _check_metrics(project, body.metrics)
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
    """The days a run covers, checked as `daypulse compute` checks its flags."""
    from daypulse.engine.run import incremental_range

    today = project.calendar.today()
    yesterday = today - timedelta(days=1)
    if body.days_back and (body.start or body.end):
        raise HTTPException(422, "days_back: give start (and end) or days_back, not both")
    if body.end and not body.start:
        raise HTTPException(422, "start: end needs a start")
    if body.start:
        first, last, why = body.start, body.end or yesterday, "the range asked for"
        if last < first and first <= today:
            raise HTTPException(422, "end: must be on or after start")
    elif body.days_back:
        first, last, why = yesterday - timedelta(days=body.days_back - 1), yesterday, f"the last {body.days_back} days"
    else:
        rng = incremental_range(project, store)
        first, last, why = rng.start, rng.end, rng.why
    if first > today:
        raise HTTPException(422, f"start: {first} is in the future (today is {today} in {project.timezone})")
    if (last - first).days + 1 > MAX_RUN_DAYS:
        field = "end" if body.start else "start"
        raise HTTPException(422, f"{field}: at most {MAX_RUN_DAYS} days per run ({first} to {last} is"
                                 f" {(last - first).days + 1}); split it, or use `daypulse compute`")
    return first, last, why


@router.get("/runs", summary="Compute runs, newest first")
def run_history(request: Request, who: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    from daypulse.store import runs

    return [_run(r, who) for r in runs.history(request.app.state.store, limit)]


@router.get("/runs/{id}", summary="One run's state", responses=_missing("no such run"))
def run_status(request: Request, who: Viewer, id: Id) -> dict:
    from daypulse.store import runs

    found = runs.get(request.app.state.store, id)
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


# -- manual values ---------------------------------------------------------------------------

class ManualBody(BaseModel):
    """The value as an exact decimal: a string ("4500000", "14.5") or a number; money in cents."""

    model_config = ConfigDict(extra="forbid")
    value: Number
    note: str | None = Field(None, max_length=2000)


def _manual_metric(request: Request, name: str, known_only: bool = True) -> None:
    """Refuse a metric that is not a manual one: 404 if the project has no such metric (unless
    ``known_only`` is False: values of a metric since removed from the project can still be
    listed and removed, as with the CLI), 422 if it is computed."""
    from daypulse.store.manual import require_manual

    project = request.app.state.project
    if name not in project.metrics:
        if not known_only:
            return
        raise HTTPException(404, f"no metric {name!r} (see /api/v1/metrics)")
    try:
        require_manual(project, name)
    except UsageError as exc:
        raise HTTPException(422, f"metric: {exc}") from None


@router.get("/manual-values", summary="Values typed in for kind: manual metrics (company-wide)",
            responses=_missing("no such metric"))
def manual_values(request: Request, who: CompanyViewer,
                  metric: Annotated[str | None, Query(max_length=200)] = None) -> list[dict]:
    from daypulse.store.manual import list_values

    if metric is not None:
        _manual_metric(request, metric, known_only=False)
    found = list_values(request.app.state.store, metric)
    if metric is not None and not found:
        _manual_metric(request, metric)
    return [_manual(v) for v in found]


@router.put("/manual-values/{metric}/{date}", summary="Set a manual metric's value from a day on (admin)",
            responses=_missing("no such metric"))
def set_manual_value(request: Request, who: CompanyAdmin, metric: Annotated[str, Path(max_length=200)],
                     on: Annotated[date, Path(alias="date")], body: ManualBody) -> dict:
    from daypulse.store.manual import parse_value, set_value

    project, store = request.app.state.project, request.app.state.store
    _manual_metric(request, metric)
    raw = repr(body.value) if isinstance(body.value, float) else str(body.value)
    try:
        result = set_value(store, metric, on, parse_value(project, metric, raw), note=body.note, set_by=who.name)
    except UsageError as exc:  # the CLI's wording names its VALUE argument; here it is the body's value
        message = str(exc)
        raise HTTPException(422, "value:" + message[6:] if message.startswith("VALUE:") else message) from None
    if result.changed:
        tokens.audit(store, who.name, "manual.set", f"{metric}@{on.isoformat()}", {
            "value": str(result.value.value), "note": result.value.note,
            "previous": str(result.previous.value) if result.previous else None})
    return {**_manual(result.value), "previous": str(result.previous.value) if result.previous else None,
            "changed": result.changed}


@router.delete("/manual-values/{metric}/{date}", status_code=204, response_class=Response,
               summary="Remove the value set for a day (admin)", responses=_missing("no such metric or value"))
def unset_manual_value(request: Request, who: CompanyAdmin, metric: Annotated[str, Path(max_length=200)],
                       on: Annotated[date, Path(alias="date")]) -> Response:
    from daypulse.store.manual import unset_value

    store = request.app.state.store
    _manual_metric(request, metric, known_only=False)
    if not unset_value(store, metric, on):
        _manual_metric(request, metric)
        raise HTTPException(404, f"no value of {metric} is set from {on}")
    tokens.audit(store, who.name, "manual.unset", f"{metric}@{on.isoformat()}")
    return Response(status_code=204)


def _manual(v) -> dict:
    return {"metric": v.metric, "effective_from": v.effective_from.isoformat(), "value": str(v.value),
            "note": v.note, "set_by": v.set_by, "set_at": v.set_at.isoformat()}


# -- thresholds and alerts -------------------------------------------------------------------

class ThresholdBody(BaseModel):
    """``value`` in the metric's stored units: cents for money, a fraction for a ratio (0.05)."""

    model_config = ConfigDict(extra="forbid")
    metric: str = Field(max_length=200)
    grain: GrainName = "day"
    op: Literal["above", "below"]
    value: Number
    dims: dict[Annotated[str, Field(max_length=100)], Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=10)
    severity: Literal["warning", "critical"] = "warning"
    note: str | None = Field(None, max_length=2000)


def _dims_filter(request: Request, who: Principal) -> dict[str, str]:
    """Dimension filters (``?tenant=acme``): a scoped token asking outside its scope is refused."""

    project = request.app.state.project
    asked = {k: v for k, v in _asked(request).items() if k not in RESERVED | {"grain"}}
    known = set().union(*(project.dimensions_of(m) for m in project.metrics))
    for dim, value in asked.items():
        if dim not in known:
            raise HTTPException(422, f"{dim}: no metric has a dimension {dim!r}"
                                     f" (dimensions: {', '.join(sorted(known)) or 'none'})")
        if dim in who.scope and who.scope[dim] != value:
            raise HTTPException(403, f"this token sees {_scope_text(who)} only")
    return asked


@router.get("/config/thresholds", summary="Threshold rules (a scoped token: those of its scope)",
            description="Dimension filters are query parameters named after the dimension: `?tenant=acme`.")
def thresholds(request: Request, who: Viewer) -> list[dict]:
    from daypulse.alerts import thresholds as rules

    asked = _dims_filter(request, who)
    return [_rule(r) for r in rules.listing(request.app.state.store, scope=who.scope or None)
            if rules.in_scope(r.dims, asked)]


@router.post("/config/thresholds", status_code=201, summary="Add a threshold rule (admin)",
             responses=_conflict("the same rule (metric, grain, op, dimensions) exists"))
def add_threshold(request: Request, who: CompanyAdmin, body: ThresholdBody, response: Response) -> dict:
    from daypulse.alerts import thresholds as rules

    store = request.app.state.store
    try:
        rule = rules.add(store, request.app.state.project, metric=body.metric, op=body.op, value=body.value,
                         grain=body.grain, dims=body.dims, severity=body.severity, note=body.note,
                         created_by=who.name)
    except rules.DuplicateRule as exc:
        raise HTTPException(409, str(exc)) from None
    except rules.RuleError as exc:
        raise HTTPException(422, str(exc)) from None
    tokens.audit(store, who.name, "threshold.add", str(rule.id), _rule(rule))
    response.headers["Location"] = f"/api/v1/config/thresholds/{rule.id}"
    return _rule(rule)


@router.delete("/config/thresholds/{id}", status_code=204, response_class=Response,
               summary="Remove a threshold rule (admin)", responses=_missing("no such rule"))
def remove_threshold(request: Request, who: CompanyAdmin, id: Id) -> Response:
    from daypulse.alerts import thresholds as rules

    store = request.app.state.store
    gone = rules.remove(store, id)
    if gone is None:
        raise HTTPException(404, f"no threshold {id} (see /api/v1/config/thresholds)")
    tokens.audit(store, who.name, "threshold.remove", str(id), _rule(gone))
    return Response(status_code=204)


@router.get("/alerts", summary="Thresholds the latest stored values cross (within the token's scope)",
            description="Dimension filters are query parameters named after the dimension: `?tenant=acme`.")
def alerts(request: Request, who: Viewer, grain: GrainName | None = None) -> list[dict]:
    from daypulse.alerts import thresholds as rules

    asked = _dims_filter(request, who)
    found = rules.breaches(request.app.state.project, request.app.state.store, scope=who.scope or None, grain=grain)
    return [{"threshold_id": b.threshold_id, "metric": b.metric, "grain": b.grain, "dims": b.dims, "op": b.op,
             "limit": b.limit, "value": b.value, "period_start": b.period_start.isoformat(),
             "severity": b.severity, "note": b.note} for b in found if rules.in_scope(b.dims, asked)]


def _rule(r) -> dict:
    return {"id": r.id, "metric": r.metric, "grain": r.grain, "op": r.op, "value": r.limit, "dims": r.dims,
            "severity": r.severity, "note": r.note, "created_by": r.created_by, "created_at": r.created_at.isoformat()}


# -- settings ----------------------------------------------------------------------------------

@router.get("/config", summary="The project's settings that are safe to show (admin)")
def settings(request: Request, who: CompanyAdmin) -> dict:
    from daypulse.delivery.config import channel_kinds, delivery_settings
    from daypulse.report.spec import report_names
    from daypulse.store.manual import manual_metrics

    project, store = request.app.state.project, request.app.state.store
    delivery = delivery_settings(project)
    # URLs, tokens and passwords stay out: the dialects say where data lives, not how to get in.
    return {"name": project.name, "timezone": project.timezone, "week_start": project.week_start,
            "source": {"dialect": project.source.split(":", 1)[0].split("+", 1)[0]},
            "store": {"dialect": store.dialect},
            "metrics": len(project.metrics), "manual_metrics": manual_metrics(project),
            "compute": {"lookback_days": project.compute.lookback_days, "initial_days": project.compute.initial_days,
                        "grains": list(project.compute.grains), "max_days_per_api_run": MAX_RUN_DAYS},
            "reports": report_names(project),
            "channels": [{"name": n, "kind": k} for n, k in sorted(channel_kinds(project).items())],
            "delivery": {"max_attempts": delivery.max_attempts, "lease_seconds": delivery.lease.total_seconds(),
                         "tick_seconds": delivery.tick.total_seconds(),
                         "ops_channel": delivery.ops.channel if delivery.ops else None}}
