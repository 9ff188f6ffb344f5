"""Metrics and their stored values: the catalog, series with a comparison, latest, summary tiles, export.
Each read goes through the caller's scope (:func:`daypulse.api.deps.scoped_dims`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import Response

from daypulse import judgement
from daypulse.api.deps import Day, ProjectDep, StoreDep, Viewer, asked_dims, computed_at, known_metric, scoped_dims
from daypulse.api.problems import responses
from daypulse.describe import metric_rows
from daypulse.store import labels, read, tokens
from daypulse.store.read import csv_text, exported
from daypulse.store.values import export_rows
from daypulse.values import dims_key

router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))


Grain = Literal["hour", "day", "week", "month", "quarter"]


MAX_DAYS = 3660
MAX_HOUR_DAYS = 93  # an hour series: about 2,200 points


@router.get("/metrics", summary="Every metric with its formula in words")
def catalog(who: Viewer, project: ProjectDep) -> list[dict]:
    return [{**row, "dimensions": sorted(project.dimensions_of(row["metric"]))} for row in metric_rows(project)]


@router.get("/metrics/{name}", summary="One metric's definition")
def metric(who: Viewer, project: ProjectDep, name: Annotated[str, Path(max_length=100)]) -> dict:
    known_metric(project, name)
    return next(m for m in catalog(who, project) if m["metric"] == name)


@router.get("/metrics/{name}/series", summary="A metric's stored values over a range, with a comparison",
        description="Dimension filters are query parameters named after the dimension: `?tenant=acme`.")
def series(request: Request, who: Viewer, project: ProjectDep, store: StoreDep,
           name: Annotated[str, Path(max_length=100)], start: Day, end: Day, grain: Grain = "day",
           compare: Literal["none", "previous", "last_year"] = "none") -> dict:
    known_metric(project, name)
    computed_at(project, [name], grain)
    if end < start:
        raise HTTPException(422, "end: must be on or after start")
    if (end - start).days > MAX_DAYS:
        raise HTTPException(422, f"end: at most {MAX_DAYS} days from start")
    dims = scoped_dims(project, who, name, asked_dims(request))
    if grain == "hour":
        return _hour_series(store, project, name, start, end, dims, compare)
    cal = project.calendar
    first, last = cal.period_start(grain, start), cal.period_start(grain, end)
    periods = cal.periods(grain, first, last)
    base = {p: cal.comparison_start(compare, grain, p) for p in periods} if compare != "none" else {}
    lo = min((b for b in base.values() if b), default=first)
    # One read for the range and its comparison (adjacent for "previous"): half the work of two.
    got = read.values(store, [name], grain, min(lo, first), last, dims_key(dims))
    out = {"metric": name, "grain": grain, "dims": dims, "compare": compare,
           "points": [{"period_start": p.isoformat(), "value": exported(got.get((name, p)))} for p in periods],
           # Names next to the values (dimensions: labels:), of values something is stored for.
           "labels": labels.shown(store, dims) if got else dict(dims)}
    for point, p in zip(out["points"], periods, strict=True) if base else ():
        b = base[p]
        point["compare_start"] = b.isoformat() if b else None
        point["compare_value"] = exported(got.get((name, b))) if b else None
    return out


def _hour_series(store, project, name: str, start, end, dims: dict, compare: str) -> dict:
    """Every local hour of days [start, end] that has begun: the 23, 24 or 25 hours of a day,
    each labelled by its start with the zone's offset then (the two 01:00s of an autumn day
    are ``01:00-04:00`` and ``01:00-05:00``)."""
    if compare != "none":
        raise HTTPException(422, "compare: hours are not compared (use compare=none with grain=hour)")
    if (end - start).days >= MAX_HOUR_DAYS:
        raise HTTPException(422, f"end: at most {MAX_HOUR_DAYS} days of hours from start")
    cal, now = project.calendar, int(datetime.now(UTC).timestamp())
    got = read.hour_values(store, name, start, end, dims_key(dims))
    points = [{"period_start": cal.hour_label(d, i), "day": d.isoformat(), "hour": i,
               "value": exported(got.get((d, i)))}
              for d in cal.periods("day", start, end) for i, s in enumerate(cal.hour_starts(d)) if s < now]
    return {"metric": name, "grain": "hour", "dims": dims, "compare": "none", "points": points,
            "labels": labels.shown(store, dims) if got else dict(dims)}


@router.get("/metrics/{name}/latest", summary="The most recent stored value")
def latest(request: Request, who: Viewer, project: ProjectDep, store: StoreDep,
           name: Annotated[str, Path(max_length=100)], grain: Grain = "day") -> dict:
    known_metric(project, name)
    computed_at(project, [name], grain)
    dims = scoped_dims(project, who, name, asked_dims(request))
    row = read.latest(store, name, grain, dims_key(dims))
    if row is None:
        raise HTTPException(404, f"no stored value of {name!r} at {grain} grain (run `daypulse compute`)")
    cal = project.calendar
    period = cal.hour_label(row.period_start, row.hour) if grain == "hour" else row.period_start.isoformat()
    return {"metric": name, "grain": grain, "dims": dims, "period_start": period,
            "value": exported(row.value), "computed_at": row.computed_at.isoformat(),
            "labels": labels.shown(store, dims)}


@router.get("/summary", summary="Tiles for a period: value, previous period, change")
def summary(who: Viewer, project: ProjectDep, store: StoreDep, on: Annotated[Day | None, Query(alias="date")] = None,
            grain: Grain = "day", metric: Annotated[list[str] | None, Query()] = None) -> dict:
    if grain == "hour":
        raise HTTPException(422, "grain: the summary's tiles are of a day or longer (read hours with"
                            " /metrics/{name}/series?grain=hour)")
    cal = project.calendar
    day = on or cal.today(datetime.now(UTC)) - timedelta(days=1)
    start = cal.period_start(grain, day)
    over = cal.next_period_start(grain, start) <= cal.today(datetime.now(UTC))
    shown = []
    for name in metric or list(project.metrics):
        known_metric(project, name)
        if not project.grains_of(name, [grain]):
            if metric:
                computed_at(project, [name], grain)
            continue  # the overview leaves out what is not computed at this grain
        try:
            scoped_dims(project, who, name, {})
        except HTTPException as err:
            if metric or err.status_code != 403:
                raise
            continue  # a scoped token's overview leaves out what spans every tenant
        shown.append(name)
    computed_at(project, metric or None, grain)
    # The dashboard's and reports' rules; one read for every tile (the token's scope is the same for all).
    plans = {n: judgement.plan(cal, "previous", grain, project.metrics[n], start) for n in shown}
    first = min([start, *(d for p in plans.values() for d in p.dates)])
    got = read.values(store, shown, grain, first, start, dims_key(dict(who.scope)))
    tiles = []
    for name in shown:
        m, p = project.metrics[name], plans[name]
        d = p.judge(lambda day, name=name: exported(got.get((name, day))), m.good, m.format)
        tiles.append({"metric": name, "label": m.label or name, "value": exported(got.get((name, start))),
                      "previous": d.base, "previous_start": p.base.isoformat() if p.base else None,
                      "compared_with": p.label or None, "change": d.change, "pct": d.pct,
                      # a period not over (this week, so far) is not judged against a whole one
                      "verdict": d.verdict if over else "none"})
    return {"grain": grain, "period_start": start.isoformat(), "dims": dict(who.scope), "tiles": tiles,
            "labels": labels.shown(store, dict(who.scope))}


@router.get("/export", summary="Stored values as CSV or JSON (the export contract's columns)",
        responses={200: {"description": "the values: CSV (format=csv) or a JSON list (format=json)",
                         "content": {"text/csv": {"schema": {"type": "string"}},
                                     "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}})
def export(who: Viewer, project: ProjectDep, store: StoreDep, format: Literal["csv", "json"] = "csv",
           metric: Annotated[list[str] | None, Query()] = None,
           grain: Annotated[list[Grain] | None, Query()] = None,
           start: Day | None = None, end: Day | None = None):
    names = metric or list(project.metrics)
    for name in names:
        known_metric(project, name)
        if who.scope:
            scoped_dims(project, who, name, {})
    computed_at(project, metric or None, grain)
    rows = []
    for r in export_rows(store, names, grain, start, end):
        dims = dict(r.dims or {})
        if who.scope and dims != who.scope:
            continue
        period = (project.calendar.hour_label(r.period_start, r.hour) if r.grain == "hour"
                  else r.period_start.isoformat())
        rows.append({"metric": r.metric, "grain": r.grain, "period": period,
                     "dimensions": dims, "value": exported(r.value)})
    tokens.audit(store, who.name, "export", ",".join(names), {"format": format, "rows": len(rows),
                                                                "scope": who.scope})
    if format == "json":
        return rows
    return Response(csv_text(rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="daypulse-export.csv"'})
