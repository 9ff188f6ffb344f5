"""The dashboard's cohort page: the retention triangle as a heatmap (rows are signup cohorts,
columns the weeks or months since signup, W1/W4/W12 called out), each cell's numbers written
in it and in its tooltip, for users or revenue, weekly or monthly cohorts. A scoped session sees
its tenant's signups only, as the API's ``/cohorts``."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from daypulse.cohorts.config import sources
from daypulse.cohorts.run import current_grid
from daypulse.errors import SourceError, UserError
from daypulse.scopes import FilterRefused, visible_filter
from daypulse.web.pages import Forbidden, Signed, page

router = APIRouter(include_in_schema=False)

HIGHLIGHT = (1, 4, 12)
COHORTS = {"week": 12, "month": 12}


@router.get("/cohorts", response_class=HTMLResponse)
def cohort_page(request: Request, s: Signed, by: str = "month", measure: str = "users"):
    project, store = request.app.state.project, request.app.state.store
    by = by if by in ("week", "month") else "month"
    measure = measure if measure in ("users", "revenue") else "users"
    try:
        have = set(sources(project).signups.dimensions)
    except UserError as exc:
        return page(request, "cohorts.html", s, problem=str(exc), by=by, measure=measure)
    try:
        dims = visible_filter("signups", have, s.who.scope, {})
    except FilterRefused as exc:
        raise Forbidden(str(exc)) from None
    last = project.calendar.today() - timedelta(days=1)
    try:
        cells, run_id = current_grid(project, store, by, measure, last, cohorts=COHORTS[by], dims=dims)
    except (UserError, SourceError) as exc:  # no signups table, or the source cannot answer now
        return page(request, "cohorts.html", s, problem=str(exc), by=by, measure=measure)
    periods = sorted({c.period for c in cells})
    rows: dict = {}
    for c in cells:
        rows.setdefault(c.cohort, {})[c.period] = c
    # The colour scale runs to the grid's highest rate after period 0 (retention of 15-40% would
    # all look pale against 100%), capped at 1.
    top = min(max([c.rate for c in cells if c.period and c.rate is not None] or [1.0]), 1.0) or 1.0
    shade = {(c.cohort, c.period): round(0.06 + 0.8 * min((c.rate or 0) / top, 1.0), 2) for c in cells}
    return page(request, "cohorts.html", s, problem=None, by=by, measure=measure, last=last, run_id=run_id,
                periods=periods, rows=rows, highlight=HIGHLIGHT, shade=shade,
                unit="W" if cells and cells[0].unit == "week" else "M")
