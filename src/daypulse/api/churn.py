"""Churn risk (DESIGN §8) over HTTP: who is at risk on a day, one customer's history, the alerts,
and resolving one with the action taken. A scoped token sees the customers of its scope only
(their dimension values, as scored); a scope on a dimension churn does not score is refused, as
every customer would be another tenant's too."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from daypulse.api.deps import Admin, Day, ProjectDep, StoreDep, Viewer, asked_dims, scope_text
from daypulse.api.problems import missing, responses
from daypulse.churn.alerts import ALERT_TYPES
from daypulse.churn.config import churn_config
from daypulse.churn.listing import alert_record, reasons, record
from daypulse.churn.population import scored_population
from daypulse.project.model import Project
from daypulse.scopes import FilterRefused, visible_filter, within
from daypulse.store import churn as stored
from daypulse.store import tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses={**responses(401, 403, 422, 503),
                                **missing("the project scores no churn (no churn: section)")})

Level = Literal["low", "medium", "high", "critical"]
AlertType = Literal[ALERT_TYPES]  # type: ignore[valid-type]
FILTERS = "Dimension filters are query parameters named after the dimension: `?tenant=acme` (or `?filter=tenant=acme`)."


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action_taken: str = Field(min_length=1, max_length=2000, validation_alias=AliasChoices("action_taken", "action"),
                              description="What was done: 'called, offered a discount' (`action` is taken too).")


def _dims(request: Request, project: Project, who: Principal) -> dict[str, str]:
    """The dimension values a read covers: the filters asked, within the token's scope."""
    cfg = churn_config(project)
    if cfg is None:
        raise HTTPException(404, "the project has no churn: section in daypulse.yml (see docs/churn.md)")
    try:
        return visible_filter("churn scores", scored_population(project, cfg).dimensions, who.scope,
                              asked_dims(request))
    except FilterRefused as exc:
        raise HTTPException(403 if exc.forbidden else 422, str(exc)) from None


@router.get("/churn", summary="Who is at risk on a day, riskiest first (the DESIGN §8 records)",
            description="`date` defaults to the latest scored day. " + FILTERS
            + " Each record adds `reasons`: the signals that give the most points, in words.")
def churn_list(request: Request, who: Viewer, project: ProjectDep, store: StoreDep,
               date: Day | None = None,
               level: Annotated[list[Level] | None, Query()] = None,
               limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> dict:
    dims = _dims(request, project, who)
    day = date or stored.latest_day(store)
    if day is None:
        return {"day": None, "total": 0, "levels": {}, "customers": []}
    rows = stored.scores_on(store, day, level, dims)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.level] = counts.get(r.level, 0) + 1
    return {"day": day.isoformat(), "total": len(rows), "levels": counts,
            "customers": [{**record(r), "reasons": reasons(r.signals)} for r in rows[:limit]]}


# Declared before /churn/{entity}, which would otherwise take "alerts" for a customer.
@router.get("/churn/alerts", summary="Churn alerts, newest first: open, cleared or resolved",
            description="`state` is open, cleared (the condition went away: `reason`) or resolved (by a"
            " person, with the `action` taken). " + FILTERS)
def churn_alerts(request: Request, who: Viewer, project: ProjectDep, store: StoreDep,
                 open: bool = False,
                 type: Annotated[list[AlertType] | None, Query()] = None,
                 entity: str | None = Query(None, max_length=200)) -> list[dict]:
    dims = _dims(request, project, who)
    return [alert_record(a) for a in stored.alerts(store, open_only=open, types=type, entity=entity, dims=dims)]


@router.post("/churn/alerts/{id}/resolve", summary="Resolve an open churn alert with the action taken (admin)",
             description="A tenant admin resolves its own customers' alerts only. No second alert of that type"
             " opens for the customer until the condition has cleared once.",
             responses={**missing("no such alert (within the token's scope), or no churn: section"),
                        409: {**responses(409)[409], "description": "the alert is not open (cleared or resolved)"}})
def churn_resolve(request: Request, who: Admin, project: ProjectDep, store: StoreDep, id: int,
                  body: Resolution) -> dict:
    dims = _dims(request, project, who)
    found = stored.alert(store, id)
    if found is None or not within(found.dims, dims):  # another tenant's alert is not there for this token
        raise HTTPException(404, f"no churn alert {id} (see /api/v1/churn/alerts)")
    done = stored.resolve(store, id, body.action_taken.strip(), who.name)
    if done is None:
        state = "resolved" if found.resolved_at else f"cleared on {found.cleared}"
        raise HTTPException(409, f"churn alert {id} is not open ({state})")
    tokens.audit(store, who.name, "churn.resolve", str(id), {"action": done.action, "entity": done.entity})
    return alert_record(done)


@router.get("/churn/{entity}", summary="One customer: score history, the latest signals, their alerts",
            responses=missing("the customer has no score (within the token's scope), or no churn: section"))
def churn_customer(request: Request, who: Viewer, project: ProjectDep, store: StoreDep, entity: str,
                   days: Annotated[int, Query(ge=1, le=3660)] = 90) -> dict:
    dims = _dims(request, project, who)
    latest = stored.latest_day(store)
    history = [r for r in stored.history(store, entity, latest - timedelta(days=days - 1) if latest else None)
               if within(r.dims, dims)]
    if not history:
        raise HTTPException(404, f"customer {entity!r} has no churn score"
                                 + (f" that this token may see ({scope_text(who)})" if who.scope else ""))
    last = history[-1]
    return {"entity": entity, "latest": {**record(last), "reasons": reasons(last.signals)},
            "history": [{"day": r.day.isoformat(), "score": r.score, "level": r.level} for r in history],
            "alerts": [alert_record(a) for a in stored.alerts(store, entity=entity, dims=dims)]}

