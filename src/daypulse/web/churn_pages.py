"""The dashboard's "At risk" pages (churn risk, DESIGN §8): who is at risk on a day with the
top reasons, one customer's score history and signals, and the open alerts with a form to
resolve them. A scoped session sees its own customers only, as the API's ``/churn``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from daypulse.churn.config import churn_config
from daypulse.churn.listing import alert_record, reason, reasons
from daypulse.churn.population import scored_population
from daypulse.scopes import FilterRefused, visible_filter, within
from daypulse.store import churn as stored
from daypulse.store import tokens
from daypulse.web.pages import Changing, Forbidden, Signed, page, problem_page

router = APIRouter(include_in_schema=False)

LEVELS = ("critical", "high", "medium", "low")
HISTORY_DAYS = 90
EntityPath = Annotated[str, Path(max_length=200)]


def _dims(request: Request, s, asked: dict[str, str]) -> tuple[dict[str, str] | None, HTMLResponse | None]:
    """The dimension values the session may read (its scope and what it asked), or the page
    that says why not (no churn: section, a filter the scores cannot answer)."""
    project = request.app.state.project
    cfg = churn_config(project)
    if cfg is None:
        return None, page(request, "churn.html", s, configured=False)
    try:
        return visible_filter("churn scores", scored_population(project, cfg).dimensions, s.who.scope, asked), None
    except FilterRefused as exc:
        if exc.forbidden:
            raise Forbidden(str(exc)) from None
        return None, problem_page(request, 422, "That filter is not right", str(exc))


def _asked(request: Request) -> dict[str, str]:
    """``?filter=tenant=acme`` (repeatable), the dashboard's one spelling of a dimension filter."""
    out = {}
    for raw in request.query_params.getlist("filter"):
        key, sep, value = raw.partition("=")
        if sep and key:
            out[key] = value
    return out


@router.get("/churn", response_class=HTMLResponse)
def at_risk(request: Request, s: Signed, level: str | None = None, day: str | None = None,
            resolved: int | None = None):
    asked = _asked(request)
    dims, refused = _dims(request, s, asked)
    if refused:
        return refused
    store = request.app.state.store
    latest = stored.latest_day(store)
    try:
        on = date.fromisoformat(day) if day else latest
    except ValueError:
        return problem_page(request, 422, "That date is not right", f"day: {day!r} is not a date (YYYY-MM-DD)")
    level = level if level in LEVELS else None
    everyone = stored.scores_on(store, on, None, dims) if on else []
    counts = {lv: sum(r.level == lv for r in everyone) for lv in LEVELS}
    shown = [r for r in everyone if level is None or r.level == level][:200]
    open_alerts = stored.alerts(store, open_only=True, dims=dims)
    done = stored.alert(store, resolved) if resolved and 0 < resolved < 2**31 else None
    if done is not None and not within(done.dims, dims):
        done = None
    return page(request, "churn.html", s, configured=True, day=on, latest=latest, level=level, counts=counts,
                total=len(everyone), rows=[(r, reasons(r.signals)) for r in shown], dims=dims,
                alerts=[alert_record(a) for a in open_alerts[:200]], open_count=len(open_alerts),
                done=alert_record(done) if done else None, filters=asked)


@router.get("/churn/customers/{entity}", response_class=HTMLResponse)
def customer(request: Request, s: Signed, entity: EntityPath, resolved: int | None = None):
    dims, refused = _dims(request, s, {})
    if refused:
        return refused
    store = request.app.state.store
    latest = stored.latest_day(store)
    first = latest - timedelta(days=HISTORY_DAYS - 1) if latest else None
    history = [r for r in stored.history(store, entity, first) if within(r.dims, dims)]
    if not history:  # another tenant's customer is not there for this session
        return problem_page(request, 404, "No such customer",
                            f"Customer {entity} has no churn score that you can see.")
    last = history[-1]
    signals = [(name, reason(name, v["value"]), v) for name, v in last.signals.items()]
    alerts = [alert_record(a) for a in stored.alerts(store, entity=entity, dims=dims)]
    return page(request, "churn_customer.html", s, entity=entity, last=last, signals=signals,
                chart=_chart(history), history=history, alerts=alerts,
                done=next((a for a in alerts if a["id"] == resolved), None))


@router.post("/churn/alerts/{id}/resolve")
def resolve(request: Request, s: Changing, id: Annotated[int, Path(ge=1, le=2**31 - 1)],
            action: Annotated[str, Form(max_length=2000)] = "", back: Annotated[str, Form(max_length=300)] = ""):
    """Resolve an open alert with the action taken (audit-logged, as the API's resolve)."""
    dims, refused = _dims(request, s, {})
    if refused:
        return refused
    store = request.app.state.store
    found = stored.alert(store, id)
    if found is None or not within(found.dims, dims):
        raise Forbidden(f"no churn alert {id} that you can resolve")
    if not action.strip():
        return problem_page(request, 422, "Say what was done",
                            "Resolving an alert needs the action taken, e.g. 'called, offered a discount'.")
    done = stored.resolve(store, id, action.strip(), s.who.name)
    if done is None:
        state = "resolved" if found.resolved_at else f"cleared on {found.cleared}"
        return problem_page(request, 409, "Not open", f"Churn alert {id} is not open ({state}).")
    tokens.audit(store, s.who.name, "churn.resolve", str(id), {"action": done.action, "entity": done.entity,
                                                               "via": "dashboard"})
    target = f"/churn/customers/{quote(done.entity, safe='')}" if back == "customer" else "/churn"
    return RedirectResponse(f"{target}?resolved={id}", status_code=303)


def _chart(history) -> dict:
    """The score history as an SVG polyline (x: days, y: 0..100 upward), with the level bands."""
    width, height = 600, 160
    n = len(history)
    step = width / max(n - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - r.score / 100 * height:.1f}" for i, r in enumerate(history))
    bands = [(lv, height - hi / 100 * height, (hi - lo) / 100 * height)
             for lv, lo, hi in (("critical", 75, 100), ("high", 50, 75), ("medium", 25, 50), ("low", 0, 25))]
    return {"width": width, "height": height, "points": points, "bands": bands,
            "first": history[0].day, "last": history[-1].day,
            "dots": [(i * step, height - r.score / 100 * height, r) for i, r in enumerate(history)]}
