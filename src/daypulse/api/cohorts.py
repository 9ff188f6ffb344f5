"""Cohort retention over HTTP (DESIGN §9): the grid complete to yesterday (or ``date``), from the
latest computation kept in the store, computed first when there is none of that day. A scoped
token reads its own tenant's signups only; a scope on a dimension signups do not have is refused,
as the grid would count every tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from daypulse.api.deps import Day, ProjectDep, StoreDep, Viewer, asked_dims, unavailable
from daypulse.api.problems import responses
from daypulse.cohorts.config import sources
from daypulse.cohorts.run import current_grid
from daypulse.errors import RuntimeFailure, StoreError, UserError
from daypulse.scopes import FilterRefused, visible_filter

router = APIRouter(responses=responses(401, 403, 422, 503))


@router.get("/cohorts", summary="Signup cohorts and their retention (the DESIGN §9 records)",
            description="`by` week or month, `measure` users or revenue, `cohorts` how many (ending with the one"
            " holding `date`, default yesterday in the project's zone). Dimension filters are query parameters"
            " named after the dimension: `?tenant=acme` (or `?filter=tenant=acme`).")
def cohorts(request: Request, who: Viewer, project: ProjectDep, store: StoreDep,
            by: Literal["week", "month"] = "month", measure: Literal["users", "revenue"] = "users",
            n: Annotated[int, Query(alias="cohorts", ge=1, le=520)] = 12,
            date: Day | None = None) -> dict:
    try:
        have = set(sources(project).signups.dimensions)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        dims = visible_filter("signups", have, who.scope, asked_dims(request))
    except FilterRefused as exc:
        raise HTTPException(403 if exc.forbidden else 422, str(exc)) from None
    yesterday = project.calendar.today() - timedelta(days=1)
    last = min(date, yesterday) if date else yesterday
    try:
        cells, run_id = current_grid(project, store, by, measure, last, cohorts=n, dims=dims)
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    except RuntimeFailure as exc:  # the source cannot answer now: a 503 a client may retry
        if isinstance(exc, StoreError):
            raise
        return unavailable(exc)
    return {"by": by, "measure": measure, "as_of": last.isoformat(), "run_id": run_id,
            "dimensions": dims, "cells": [c.record() for c in cells]}
