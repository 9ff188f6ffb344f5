"""Cohort retention over HTTP (DESIGN §9): the grid complete to yesterday (or ``date``), from the
latest computation kept in the store, computed first when there is none of that day. A scoped
token reads its own tenant's signups only; a scope on a dimension signups do not have is refused,
as the grid would count every tenant."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from daypulse.api.deps import Day, ProjectDep, StoreDep, Viewer, asked_dims, scope_text
from daypulse.api.problems import responses
from daypulse.cohorts.config import sources
from daypulse.cohorts.run import current_grid
from daypulse.errors import UserError

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
    asked = asked_dims(request)
    for dim in asked:
        if dim not in have:
            raise HTTPException(422, f"{dim}: signups have no dimension {dim!r}"
                                     f" (dimensions: {', '.join(sorted(have)) or 'none'})")
    for dim, value in who.scope.items():
        if dim in asked and asked[dim] != value:
            raise HTTPException(403, f"this token sees {scope_text(who)} only")
        if dim not in have:
            raise HTTPException(403, f"signups are not kept by {dim}: the cohorts would count every {dim},"
                                     f" and this token sees {scope_text(who)} only")
    yesterday = project.calendar.today() - timedelta(days=1)
    last = min(date, yesterday) if date else yesterday
    try:
        cells, run_id = current_grid(project, store, by, measure, last, cohorts=n, dims={**asked, **who.scope})
    except UserError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"by": by, "measure": measure, "as_of": last.isoformat(), "run_id": run_id,
            "dimensions": {**asked, **who.scope}, "cells": [c.record() for c in cells]}
