"""The API's reports: the list, a preview in any format, send-now through the ledger, report
templates kept in the store, and subscription writes (add, pause or resume, remove).

Each goes through the same functions as the CLI (``build_report`` + ``rendered`` for a preview,
``delivery.on_demand`` + ``send_now`` for a send, ``subscription_store.subscribe`` for an add),
so `daypulse report NAME` and ``/reports/NAME/preview`` cannot disagree. A tenant-scoped token
gets every report narrowed to its scope, and is refused a report whose numbers span tenants.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from daypulse.api.problems import problem, responses
from daypulse.api.routes import Admin, Viewer, _delivery, visible
from daypulse.errors import RuntimeFailure, StoreError
from daypulse.report import stored
from daypulse.report.spec import REPORT_NAME, ReportSpec
from daypulse.store import tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))
EARLIEST = date(1970, 1, 1)  # a report reads periods before its own: keep them within the calendar
MAX_ID = 2**31 - 1
ReportName = Annotated[str, Path(max_length=100, pattern=REPORT_NAME)]
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
Format = Literal["html", "md", "markdown", "text", "json", "slack"]
MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
         "markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8",
         "json": "application/json", "slack": "application/json"}


def current_project(request: Request):
    """The project with the store's report templates as they are now. Kept on the app as well,
    so the other routers (subscriptions, the dashboard) see templates written since start-up."""
    project = stored.with_templates(request.app.state.project, request.app.state.store)
    request.app.state.project = project
    return project


Project = Annotated[object, Depends(current_project)]


def _report(project, name: str) -> None:
    from daypulse.report.spec import report_names

    if name not in report_names(project):
        raise HTTPException(404, f"no report {name!r} (see /api/v1/reports)")


def _unscoped(who: Principal, what: str) -> None:
    if who.scope:
        raise HTTPException(403, f"{what} is shared by every tenant: this needs an admin token without a scope")


def _invalid(errors: list[tuple[str, str]]):
    """A 422 naming each field, in the same shape as FastAPI's own validation errors."""
    return RequestValidationError([{"loc": ("body", *field.split(".")), "msg": msg, "type": "value_error"}
                                   for field, msg in errors])


def _unavailable(err: RuntimeFailure):
    """The source (or store) cannot be reached: a 503 a client may retry, not a 500."""
    return problem(503, "Service Unavailable", str(err).splitlines()[0])


# -- reports --------------------------------------------------------------------------------------

@router.get("/reports", summary="Every report: built-in, daypulse.yml's and the store's templates")
def reports(request: Request, who: Viewer, project: Project) -> list[dict]:
    from daypulse.errors import UserError
    from daypulse.report.spec import load_report, report_names

    out = []
    for name in report_names(project):
        row = {"name": name, "source": stored.source(project, name)}
        try:
            spec = load_report(project, name)
        except UserError as err:  # a definition that no longer fits the project: say so, list the rest
            raw = project.reports.get(name)
            if _conflicts(who, (raw.get("filter") or {}) if isinstance(raw, dict) else {}):
                continue  # another tenant's: not even its name
            out.append({**row, "title": None, "period": None, "metrics": [], "problem": str(err)})
            continue
        if _conflicts(who, spec.filter):
            continue
        out.append({**row, "title": spec.title, "description": spec.description, "period": spec.period,
                    "metrics": [m for m in spec.metrics if m in project.metrics], "problem": None})
    return out


def _conflicts(who: Principal, filter: dict) -> bool:
    """A definition narrowed to another tenant than the token's: not shown to it."""
    return any(k in filter and filter[k] != v for k, v in who.scope.items())


def _scoped_filter(project, who: Principal, name: str, asked: dict[str, str]) -> dict[str, str]:
    """The report's filter: what was asked, within the token's scope. A scoped token asking for
    another value, or for a report reading a metric not broken down by its scope's dimension
    (whose values span every tenant), is refused."""
    from daypulse.report.spec import load_report

    for dim, value in who.scope.items():
        if dim in asked and asked[dim] != value:
            raise HTTPException(403, f"this token sees {dim} {value!r} only")
    if who.scope:
        spec = load_report(project, name)
        for metric in (m for m in spec.metrics if m in project.metrics):
            for dim, value in who.scope.items():
                if dim not in project.dimensions_of(metric):
                    raise HTTPException(403, f"report {name!r} reads metric {metric!r}, which is not broken down"
                                             f" by {dim}: its values span every {dim}, and this token sees"
                                             f" {dim} {value!r} only")
    return {**asked, **who.scope}


def _day(project, on: date | None) -> date | None:

    if on is None:
        return None
    today = project.calendar.today(datetime.now(UTC))
    if on > today:
        raise HTTPException(422, f"date: {on} is in the future (today is {today} in {project.timezone})")
    if on < EARLIEST:
        raise HTTPException(422, f"date: {on} is before {EARLIEST}")
    return on


@router.get("/reports/{name}/preview", summary="A report rendered as `daypulse report NAME --format F` renders it",
            description="Dimension filters are query parameters named after the dimension: `?tenant=acme`."
                        " HTML has its charts inline (data: URIs); the period's values are computed first"
                        " when missing or stale, as the CLI does.",
            responses={200: {"description": "the report in the format asked for",
                             "content": {"text/html": {"schema": {"type": "string"}},
                                         "text/markdown": {"schema": {"type": "string"}},
                                         "text/plain": {"schema": {"type": "string"}},
                                         "application/json": {"schema": {"type": "object"}}}}})
def preview(request: Request, who: Viewer, project: Project, name: ReportName, format: Format = "html",
            on: Annotated[date | None, Query(alias="date")] = None):
    from daypulse.report.content import build_report
    from daypulse.report.output import rendered, template_folder

    _report(project, name)
    asked = {k: v for k, v in request.query_params.items() if k not in ("format", "date")}
    filter = _scoped_filter(project, who, name, asked)
    try:
        rep = build_report(project, request.app.state.store, name, on=_day(project, on),
                           with_charts=format != "text", filter=filter)
    except RuntimeFailure as err:
        if isinstance(err, StoreError):
            raise
        return _unavailable(err)
    text = rendered(rep, format, template_folder(project, name, request.app.state.base_dir))
    if format == "html":  # a browser cannot follow an email's cid: references
        for c in rep.charts:
            text = text.replace(f"cid:{c.id}", "data:image/png;base64," + base64.b64encode(c.png).decode("ascii"))
    return Response(text, media_type=MEDIA[format])


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    subscription: str = Field(min_length=1, max_length=100, description="the subscription's name or id")
    on: date | None = Field(None, alias="date", description="a day of the period (default: the last complete one)")
    dry_run: bool = Field(False, description="render and return what would be sent; send and record nothing")


@router.post("/reports/{name}/send", summary="Deliver a period to a subscription now (once: the ledger)",
             description="As `daypulse report NAME --send --subscription S [--date D] [--dry-run]`. A period"
                         " already sent answers 200 with status `already sent`.")
def send(request: Request, who: Admin, project: Project, name: ReportName, body: SendRequest) -> dict:
    from daypulse.delivery import on_demand
    from daypulse.delivery.runner import send_now

    _report(project, name)
    store = request.app.state.store
    start = on_demand.report_period(project, name, _day(project, body.on))
    if who.scope and not any(body.subscription in (s["name"], str(s["id"]))
                             for s in visible(request, who).values()):
        # Another tenant's subscription is answered as if it did not exist.
        raise HTTPException(422, f"subscription: no subscription {body.subscription!r} (see /api/v1/subscriptions)")
    sub = on_demand.chosen(project, store, name, body.subscription, field="subscription")[0]
    base_dir = request.app.state.base_dir
    try:
        if body.dry_run:
            d = on_demand.dry_run(project, store, [sub], start, base_dir=base_dir)[0]
            return {"dry_run": True, "subscription": sub.name, "report": name, "period_start": start.isoformat(),
                    "channel": sub.spec.channel, "to": sub.spec.to, "key": d.key,
                    "payload": on_demand.payload_summary(d.payload)}
        status, row = send_now(project, store, sub, start, base_dir=base_dir)
    except RuntimeFailure as err:
        if isinstance(err, StoreError):
            raise
        return _unavailable(err)
    tokens.audit(store, who.name, "report.send", sub.name, {"report": name, "period": start.isoformat(),
                                                            "status": status, "delivery": row.id})
    return {"status": status, "subscription": sub.name, "report": name, "period_start": start.isoformat(),
            "delivery": _delivery(row)}


# -- templates ------------------------------------------------------------------------------------

def _template(t: stored.Template) -> dict:
    return {"name": t.name, "spec": t.spec, "created_by": t.created_by, "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat()}


@router.get("/templates", summary="Report templates kept in the store")
def templates(request: Request, who: Viewer, project: Project) -> list[dict]:
    return [_template(t) for t in stored.listing(request.app.state.store)
            if not _conflicts(who, t.spec.get("filter") or {})]


@router.get("/templates/{name}", summary="One report template")
def template(request: Request, who: Viewer, project: Project, name: ReportName) -> dict:
    found = stored.get(request.app.state.store, name)
    if found is None or _conflicts(who, found.spec.get("filter") or {}):
        raise HTTPException(404, f"no report template {name!r} (see /api/v1/templates)")
    return _template(found)


def _editable_name(project, name: str) -> None:
    """File reports are edited in the file; a template may not shadow a built-in."""
    from daypulse.report.spec import _builtin

    if stored.source(project, name) == "file":
        raise HTTPException(409, f"report {name!r} is declared in daypulse.yml: edit it there")
    if name in _builtin():
        raise HTTPException(409, f"report {name!r} is built in: pick another name (or override it under"
                                 " reports: in daypulse.yml)")


@router.put("/templates/{name}", summary="Create or replace a report template (admin)",
            description="The body is a report definition as under `reports:` in daypulse.yml (without"
                        " `template:`, a server path). Built-in and daypulse.yml names are refused (409).")
def put_template(request: Request, who: Admin, project: Project, name: ReportName, body: ReportSpec) -> dict:
    from daypulse.errors import ConfigError

    _unscoped(who, "a report template")
    _editable_name(project, name)
    raw = body.model_dump(mode="json", exclude_unset=True)
    try:
        stored.validate(project, name, raw)
    except ConfigError as err:
        raise _invalid([_field(i.message, name, raw) for i in err.issues]) from None
    store = request.app.state.store
    created = stored.save(store, name, raw, who.name)
    tokens.audit(store, who.name, "template.create" if created else "template.replace", name, {"spec": raw})
    current_project(request)
    return {**_template(stored.get(store, name)), "created": created}


def _field(message: str, name: str, raw: dict) -> tuple[str, str]:
    """(field, problem) from an issue: "filter: ..." names its field; "unknown metric(s) a, b"
    is placed where the first of them is written (sections.0.metrics.1)."""
    text = message.removeprefix(f"reports.{name}: ")
    head, sep, rest = text.partition(": ")
    if sep and re.fullmatch(r"[a-z_][a-z0-9_.]*", head):
        return head, rest
    if text.startswith("unknown metric"):
        first = text.split(" ", 2)[2].split(",")[0].strip()
        return _where(raw, first) or "report", text
    return "report", text


def _where(value, metric: str, path: str = "") -> str | None:
    """The path of the first place ``metric`` is written in a definition."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, v in items:
        here = f"{path}.{key}" if path else str(key)
        if v == metric:
            return here
        if (found := _where(v, metric, here)) is not None:
            return found
    return None


@router.delete("/templates/{name}", summary="Remove a report template no subscription uses (admin)")
def delete_template(request: Request, who: Admin, project: Project, name: ReportName) -> dict:
    from daypulse.delivery.runner import load_subscriptions

    _unscoped(who, "a report template")
    store = request.app.state.store
    if stored.get(store, name) is None:
        _editable_name(project, name)
        raise HTTPException(404, f"no report template {name!r} (see /api/v1/templates)")
    users = [s.name for s in load_subscriptions(project, store) if s.spec is not None and s.spec.report == name]
    if users:
        raise HTTPException(409, f"report template {name!r} is used by subscription(s) {', '.join(users)}:"
                                 " remove them first")
    stored.remove(store, name)
    tokens.audit(store, who.name, "template.remove", name)
    current_project(request)
    return {"removed": name}


# -- subscriptions --------------------------------------------------------------------------------

class ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str | None = Field(None, description="local time HH:MM")
    days: str | list[str] | None = Field(None, description="weekdays: mon or [mon, thu] (weekly)")
    day_of_month: int | str | None = Field(None, description="1-28 or last (monthly)")
    cron: str | None = Field(None, description="a 5-field cron expression in local time, instead of at")


class SubscriptionCreate(BaseModel):
    """As `daypulse subscriptions add` (and an entry under subscriptions: in daypulse.yml)."""

    model_config = ConfigDict(extra="forbid")

    report: str = Field(max_length=100)
    schedule: str | ScheduleFields = Field(description='"daily at 07:00", "weekly on mon at 09:00" or fields')
    timezone: str | None = Field(None, max_length=100, description="IANA zone (default: the project's)")
    channel: str = Field(max_length=100)
    to: str | list[str] | None = None
    filter: dict[str, str] = Field(default_factory=dict)
    name: str | None = Field(None, max_length=100)
    catch_up: Literal["latest", "all", "none"] = "latest"
    grace: str = "24h"
    active: bool = True


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool = Field(description="false pauses, true resumes")


@router.post("/subscriptions", summary="Add a subscription (admin)", status_code=201)
def add_subscription(request: Request, who: Admin, project: Project, body: SubscriptionCreate) -> dict:
    from daypulse.delivery import subscription_store as subs
    from daypulse.delivery.config import channel_kinds
    from daypulse.delivery.schedule import error_message
    from daypulse.delivery.subscription import SubscriptionSpec, _context
    from daypulse.report.spec import report_names

    data = body.model_dump(exclude_none=True)
    if _conflicts(who, body.filter):
        raise HTTPException(403, "this token sees " + ", ".join(f"{k} {v!r}" for k, v in who.scope.items()) + " only")
    data["filter"] = {**body.filter, **who.scope}  # a scoped admin's subscriptions are of its scope
    try:
        spec = SubscriptionSpec.model_validate(data, context=_context(project.timezone, channel_kinds(project),
                                                                      report_names(project)))
    except ValidationError as err:
        raise _invalid([(".".join(map(str, e["loc"])) or "subscription", error_message(e))
                        for e in err.errors()]) from None
    store = request.app.state.store
    sub = subs.subscribe(project, store, spec, named=lambda field: field)
    tokens.audit(store, who.name, "subscription.add", sub.name, {"spec": subs.spec_data(spec)})
    return visible(request, who)[sub.name]


def _own_subscription(request: Request, who: Principal, id: int) -> dict:
    """A subscription the token may change: visible to it (a scoped token's are of its scope),
    and added from the CLI or the API (daypulse.yml is the truth for its own). Its callers take
    the ``Project`` dependency so that a subscription of a template reads as valid here."""
    found = next((s for s in visible(request, who).values() if s["id"] == id), None)
    if found is None:
        raise HTTPException(404, f"no subscription {id} (see /api/v1/subscriptions)")
    if found["source"] == "yml":
        raise HTTPException(409, f"subscription {found['name']!r} is declared in daypulse.yml: edit it there"
                                 " (active: false pauses it)")
    return found


@router.patch("/subscriptions/{id}", summary="Pause or resume a subscription (admin)")
def change_subscription(request: Request, who: Admin, project: Project, id: SubscriptionId,
                        body: Annotated[SubscriptionChange, Body()]) -> dict:
    from daypulse.delivery import subscription_store as subs

    sub = _own_subscription(request, who, id)
    store = request.app.state.store
    subs.set_active(store, id, body.active)
    tokens.audit(store, who.name, "subscription.resume" if body.active else "subscription.pause", sub["name"])
    return visible(request, who)[sub["name"]]


@router.delete("/subscriptions/{id}", summary="Remove a subscription (admin; its delivery history stays)")
def remove_subscription(request: Request, who: Admin, project: Project, id: SubscriptionId) -> dict:
    from daypulse.delivery import subscription_store as subs

    sub = _own_subscription(request, who, id)
    store = request.app.state.store
    subs.remove(store, id)
    tokens.audit(store, who.name, "subscription.remove", sub["name"])
    return {"removed": sub["name"], "id": id}
