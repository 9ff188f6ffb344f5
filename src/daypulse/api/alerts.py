"""Threshold rules (a scoped token reads those of its own dimension values) and the alerts they raise."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from daypulse.alerts import thresholds as rules
from daypulse.alerts.metric_alerts import all_rules
from daypulse.api.deps import (
    Admin,
    CompanyAdmin,
    GrainName,
    Id,
    Number,
    ProjectDep,
    StoreDep,
    Viewer,
    asked_dims,
    scope_text,
)
from daypulse.api.problems import conflict, missing, responses
from daypulse.scopes import within
from daypulse.store import alert_events as events
from daypulse.store import tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses=responses(401, 403, 422, 503))




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


def _dims_filter(request: Request, project, who: Principal) -> dict[str, str]:
    """Dimension filters (``?tenant=acme``): a scoped token asking outside its scope is refused."""
    asked = asked_dims(request)
    known = set().union(*(project.dimensions_of(m) for m in project.metrics))
    for dim, value in asked.items():
        if dim not in known:
            raise HTTPException(422, f"{dim}: no metric has a dimension {dim!r}"
                                     f" (dimensions: {', '.join(sorted(known)) or 'none'})")
        if dim in who.scope and who.scope[dim] != value:
            raise HTTPException(403, f"this token sees {scope_text(who)} only")
    return asked


@router.get("/config/thresholds", summary="Threshold rules (a scoped token: those of its scope)",
            description="Dimension filters are query parameters named after the dimension: `?tenant=acme`.")
def thresholds(request: Request, who: Viewer, project: ProjectDep, store: StoreDep) -> list[dict]:
    asked = _dims_filter(request, project, who)
    return [_rule(r) for r in rules.listing(store, scope=who.scope or None)
            if rules.in_scope(r.dims, asked)]


@router.post("/config/thresholds", status_code=201, summary="Add a threshold rule (admin)",
             responses=conflict("the same rule (metric, grain, op, dimensions) exists"))
def add_threshold(who: CompanyAdmin, project: ProjectDep, store: StoreDep, body: ThresholdBody,
                  response: Response) -> dict:
    try:
        rule = rules.add(store, project, metric=body.metric, op=body.op, value=body.value,
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
               summary="Remove a threshold rule (admin)", responses=missing("no such rule"))
def remove_threshold(who: CompanyAdmin, store: StoreDep, id: Id) -> Response:
    gone = rules.remove(store, id)
    if gone is None:
        raise HTTPException(404, f"no threshold {id} (see /api/v1/config/thresholds)")
    tokens.audit(store, who.name, "threshold.remove", str(id), _rule(gone))
    return Response(status_code=204)


@router.get("/alerts", summary="Thresholds the latest stored values cross (within the token's scope)",
            description="Dimension filters are query parameters named after the dimension: `?tenant=acme`.")
def alerts(request: Request, who: Viewer, project: ProjectDep, store: StoreDep,
           grain: GrainName | None = None) -> list[dict]:
    asked = _dims_filter(request, project, who)
    found = rules.breaches(project, store, scope=who.scope or None, grain=grain)
    return [{"threshold_id": b.threshold_id, "metric": b.metric, "grain": b.grain, "dims": b.dims, "op": b.op,
             "limit": b.limit, "value": b.value, "period_start": b.period_start.isoformat(),
             "severity": b.severity, "note": b.note} for b in found if rules.in_scope(b.dims, asked)]


def _rule(r) -> dict:
    return {"id": r.id, "metric": r.metric, "grain": r.grain, "op": r.op, "value": r.limit, "dims": r.dims,
            "severity": r.severity, "note": r.note, "created_by": r.created_by, "created_at": r.created_at.isoformat()}


# -- metric alert rules and their events (docs/alerts.md) -------------------------------------------

class Ack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="What is known: 'card processor outage'.")


@router.get("/alerts/rules", summary="Metric alert rules: daypulse.yml's alerts:, then the stored thresholds",
            description="A scoped token sees the rules on its own dimension values.")
def alert_rules(who: Viewer, project: ProjectDep, store: StoreDep) -> list[dict]:
    return [asdict(r) for r in all_rules(project, store) if within(r.dims, who.scope)]


@router.get("/alerts/events", summary="The events the rules raised, newest first (the DESIGN §9 records)",
            description="`state` is open, acknowledged or resolved. A scoped token sees its own dimension"
            " values' events.")
def alert_events(who: Viewer, store: StoreDep, open: bool = False,
                 rule: Annotated[str | None, Query(max_length=200)] = None) -> list[dict]:
    return [events.record(r) for r in events.events(store, open_only=open, rule=rule) if within(r.dims, who.scope)]


@router.post("/alerts/events/{id}/ack", summary="Acknowledge an event that is not resolved, with a note (admin)",
             responses={**missing("no such event (within the token's scope)"),
                        409: {**responses(409)[409], "description": "the event is resolved or acknowledged"}})
def acknowledge(who: Admin, store: StoreDep, id: Id, body: Ack) -> dict:
    found = events.event(store, id)
    if found is None or not within(found.dims, who.scope):
        raise HTTPException(404, f"no alert event {id} (see /api/v1/alerts/events)")
    done = events.acknowledge(store, id, who.name, body.note.strip())
    if done is None:
        raise HTTPException(409, f"alert event {id} is {events.state(found)} already")
    tokens.audit(store, who.name, "alert.ack", str(id), {"note": done.ack_note, "rule": done.rule})
    return events.record(done)
