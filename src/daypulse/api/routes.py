"""The API's routes: health, the metric catalog, series, latest, summary, export, subscriptions,
deliveries and the audit log. Each reads through the caller's scope (:func:`scoped_dims`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from daypulse.api.problems import responses
from daypulse.delivery.visible import visible_subscriptions
from daypulse.errors import DaypulseError
from daypulse.store import tokens
from daypulse.store.read import csv_text, exported
from daypulse.store.tokens import Principal
from daypulse.values import dims_key

health = APIRouter()
v1 = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))
Grain = Literal["day", "week", "month"]
RESERVED = {"start", "end", "grain", "compare", "format", "metric", "date", "status", "limit"}
MAX_DAYS = 3660


# -- who is asking --------------------------------------------------------------------------------

def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise HTTPException(401, "a Bearer token is required (create one with `daypulse tokens create`)")
    found = tokens.authenticate(request.app.state.store, authorization[7:].strip())
    if found is None:
        raise HTTPException(401, "the token is not valid (unknown or revoked)")
    return found


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.admin:
        raise HTTPException(403, "this needs an admin token")
    return who


Viewer = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]


def scoped_dims(request: Request, who: Principal, metric: str, asked: dict[str, str]) -> dict[str, str]:
    """The dimension values a read covers: what was asked, within the token's scope. A scoped
    token asking for another tenant, or for a metric not broken down by its scope's dimension
    (whose totals span every tenant), is refused."""

    project = request.app.state.project
    have = project.dimensions_of(metric)
    for dim in asked:
        if dim not in have:
            raise HTTPException(422, f"metric {metric!r} has no dimension {dim!r}"
                                     f" (its dimensions: {', '.join(sorted(have)) or 'none'})")
    for dim, value in who.scope.items():
        if dim in asked and asked[dim] != value:
            raise HTTPException(403, f"this token sees {dim} {value!r} only")
        if dim not in have:
            raise HTTPException(403, f"metric {metric!r} is not broken down by {dim}: its values span every"
                                     f" {dim}, and this token sees {dim} {value!r} only")
    return {**asked, **who.scope}


def _asked(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k not in RESERVED}


def _metric(request: Request, name: str):
    project = request.app.state.project
    if name not in project.metrics:
        raise HTTPException(404, f"no metric {name!r} (see /api/v1/metrics)")
    return project.metrics[name]


# -- health ---------------------------------------------------------------------------------------

@health.get("/healthz", summary="The process is up")
def healthz() -> dict:
    return {"status": "ok"}


@health.get("/readyz", summary="The store is reachable and at the current schema",
            responses={503: {"description": "not ready: the store is unreachable or needs an upgrade"}})
def readyz(request: Request):
    store = request.app.state.store
    try:
        ready = store.revision() == store.head()
    except (DaypulseError, SQLAlchemyError) as err:  # the store cannot be reached: not ready
        return JSONResponse({"status": "unavailable", "detail": str(err).splitlines()[0]}, status_code=503)
    if not ready:
        return JSONResponse({"status": "unavailable", "detail": "the store needs `daypulse db upgrade`"},
                            status_code=503)
    return {"status": "ready"}


# -- metrics ----------------------------------------------------------------------------------------

@v1.get("/metrics", summary="Every metric with its formula in words")
def catalog(request: Request, who: Viewer) -> list[dict]:
    from daypulse.describe import metric_rows

    project = request.app.state.project
    return [{**row, "dimensions": sorted(project.dimensions_of(row["metric"]))} for row in metric_rows(project)]


@v1.get("/metrics/{name}", summary="One metric's definition")
def metric(request: Request, who: Viewer, name: Annotated[str, Path(max_length=100)]) -> dict:
    _metric(request, name)
    return next(m for m in catalog(request, who) if m["metric"] == name)


@v1.get("/metrics/{name}/series", summary="A metric's stored values over a range, with a comparison",
        description="Dimension filters are query parameters named after the dimension: `?tenant=acme`.")
def series(request: Request, who: Viewer, name: Annotated[str, Path(max_length=100)],
           start: date, end: date, grain: Grain = "day",
           compare: Literal["none", "previous", "last_year"] = "none") -> dict:
    from daypulse.store import read

    _metric(request, name)
    if end < start:
        raise HTTPException(422, "end: must be on or after start")
    if (end - start).days > MAX_DAYS:
        raise HTTPException(422, f"end: at most {MAX_DAYS} days from start")
    dims = scoped_dims(request, who, name, _asked(request))
    project, store = request.app.state.project, request.app.state.store
    cal = project.calendar
    first, last = cal.period_start(grain, start), cal.period_start(grain, end)
    periods = cal.periods(grain, first, last)
    base = {p: cal.comparison_start(compare, grain, p) for p in periods} if compare != "none" else {}
    lo = min((b for b in base.values() if b), default=first)
    # One read for the range and its comparison (adjacent for "previous"): half the work of two.
    got = read.values(store, [name], grain, min(lo, first), last, dims_key(dims))
    out = {"metric": name, "grain": grain, "dims": dims, "compare": compare,
           "points": [{"period_start": p.isoformat(), "value": exported(got.get((name, p)))} for p in periods]}
    for point, p in zip(out["points"], periods, strict=True) if base else ():
        b = base[p]
        point["compare_start"] = b.isoformat() if b else None
        point["compare_value"] = exported(got.get((name, b))) if b else None
    return out


@v1.get("/metrics/{name}/latest", summary="The most recent stored value")
def latest(request: Request, who: Viewer, name: Annotated[str, Path(max_length=100)], grain: Grain = "day") -> dict:
    from sqlalchemy import select

    from daypulse.store.models import MetricValueRow as V

    _metric(request, name)
    dims = scoped_dims(request, who, name, _asked(request))
    with request.app.state.store.engine.connect() as conn:
        row = conn.execute(select(V.period_start, V.value, V.computed_at).where(
            V.metric == name, V.grain == grain, V.dims_key == dims_key(dims))
            .order_by(V.period_start.desc()).limit(1)).first()
    if row is None:
        raise HTTPException(404, f"no stored value of {name!r} at {grain} grain (run `daypulse compute`)")
    return {"metric": name, "grain": grain, "dims": dims, "period_start": row.period_start.isoformat(),
            "value": exported(row.value), "computed_at": row.computed_at.isoformat()}


@v1.get("/summary", summary="Tiles for a period: value, previous period, change")
def summary(request: Request, who: Viewer, on: Annotated[date | None, Query(alias="date")] = None,
            grain: Grain = "day", metric: Annotated[list[str] | None, Query()] = None) -> dict:
    from daypulse.store import read

    project, store = request.app.state.project, request.app.state.store
    cal = project.calendar
    day = on or cal.today(datetime.now(UTC)) - timedelta(days=1)
    start = cal.period_start(grain, day)
    prev = cal.shift(grain, start, 1)
    names = metric or list(project.metrics)
    tiles = []
    for name in names:
        _metric(request, name)
        try:
            dims = scoped_dims(request, who, name, {})
        except HTTPException as err:
            if metric or err.status_code != 403:
                raise
            continue  # a scoped token's overview leaves out what spans every tenant
        got = read.values(store, [name], grain, prev, start, dims_key(dims))
        value, before = exported(got.get((name, start))), exported(got.get((name, prev)))
        change = value - before if isinstance(value, int | float) and isinstance(before, int | float) else None
        tiles.append({"metric": name, "label": project.metrics[name].label or name, "value": value,
                      "previous": before, "change": change,
                      "pct": change / abs(before) if change is not None and before else None})
    return {"grain": grain, "period_start": start.isoformat(), "dims": dict(who.scope), "tiles": tiles}


@v1.get("/export", summary="Stored values as CSV or JSON (the export contract's columns)",
        responses={200: {"description": "the values: CSV (format=csv) or a JSON list (format=json)",
                         "content": {"text/csv": {"schema": {"type": "string"}},
                                     "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}})
def export(request: Request, who: Viewer, format: Literal["csv", "json"] = "csv",
           metric: Annotated[list[str] | None, Query()] = None,
           grain: Annotated[list[Grain] | None, Query()] = None,
           start: date | None = None, end: date | None = None):
    from daypulse.store.values import export_rows

    project, store = request.app.state.project, request.app.state.store
    names = metric or list(project.metrics)
    for name in names:
        _metric(request, name)
        if who.scope:
            scoped_dims(request, who, name, {})
    rows = []
    for r in export_rows(store, names, grain, start, end):
        dims = dict(r.dims or {})
        if who.scope and dims != who.scope:
            continue
        rows.append({"metric": r.metric, "grain": r.grain, "period": r.period_start.isoformat(),
                     "dimensions": dims, "value": exported(r.value)})
    tokens.audit(store, who.name, "export", ",".join(names), {"format": format, "rows": len(rows),
                                                                "scope": who.scope})
    if format == "json":
        return rows
    return Response(csv_text(rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="daypulse-export.csv"'})


# -- subscriptions and deliveries -------------------------------------------------------------------

def visible(request: Request, who: Principal) -> dict[str, dict]:
    """The subscriptions ``who`` may see, by name."""
    return visible_subscriptions(request.app.state.project, request.app.state.store, who.scope)


@v1.get("/subscriptions", summary="Subscriptions (a scoped token sees those of its scope)")
def subscriptions(request: Request, who: Viewer) -> list[dict]:
    return list(visible(request, who).values())


@v1.get("/deliveries", summary="The delivery history, newest first")
def deliveries(request: Request, who: Viewer,
               status: Literal["pending", "sending", "sent", "failed", "skipped"] | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    from daypulse.delivery import ledger

    shown = visible(request, who)
    rows = ledger.listing(request.app.state.store, status=status, limit=limit,
                          among=list(shown) if who.scope else None)
    return [_delivery(r) for r in rows]


def _delivery(r) -> dict:
    return {"id": r.id, "subscription": r.subscription, "period_start": r.period_start.isoformat(),
            "status": r.status, "attempts": r.attempts, "last_error": r.last_error, "external_id": r.external_id,
            "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None}


@v1.post("/deliveries/{id}/retry", summary="Send a failed or skipped delivery again at the next pass")
def retry(request: Request, who: Admin, id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict:
    from daypulse.delivery import ledger

    store = request.app.state.store
    row = ledger.get(store, id)
    if row is None or row.subscription not in visible(request, who):
        raise HTTPException(404, f"no delivery {id}")
    if not ledger.retry(store, id, datetime.now(UTC)):
        raise HTTPException(409, f"delivery {id} is {row.status}: only failed or skipped deliveries are retried")
    tokens.audit(store, who.name, "delivery.retry", str(id), {"subscription": row.subscription})
    return _delivery(ledger.get(store, id))


@v1.get("/audit", summary="Who changed, exported or sent what (admin)")
def audit(request: Request, who: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    return tokens.audit_entries(request.app.state.store, limit)
