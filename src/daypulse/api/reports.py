"""Reports: the list, a preview in any format (as `daypulse report NAME --format F`), send-now through the
ledger. A tenant-scoped token gets every report narrowed to its scope, and is refused one whose numbers span
tenants."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from daypulse.api.deps import (
    Admin,
    Day,
    Project,
    ReportName,
    StoreDep,
    Viewer,
    delivery_json,
    known_report,
    other_scope,
    unavailable,
    visible,
)
from daypulse.api.problems import responses
from daypulse.delivery import on_demand
from daypulse.delivery.runner import send_now
from daypulse.errors import RuntimeFailure, StoreError, UsageError, UserError
from daypulse.report import stored
from daypulse.report.content import build_report
from daypulse.report.definition import load_report, report_names
from daypulse.report.output import rendered, template_folder
from daypulse.report.pdf import pdf_bytes
from daypulse.store import tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))


Format = Literal["html", "md", "markdown", "text", "json", "slack", "pdf"]


MEDIA = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8",
         "markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8",
         "json": "application/json", "slack": "application/json", "pdf": "application/pdf"}


@router.get("/reports", summary="Every report: built-in, daypulse.yml's and the store's templates")
def reports(who: Viewer, project: Project) -> list[dict]:
    out = []
    for name in report_names(project):
        row = {"name": name, "source": stored.source(project, name)}
        try:
            spec = load_report(project, name)
        except UserError as err:  # a definition that no longer fits the project: say so, list the rest
            raw = project.reports.get(name)
            if other_scope(who, (raw.get("filter") or {}) if isinstance(raw, dict) else {}):
                continue  # another tenant's: not even its name
            out.append({**row, "title": None, "period": None, "metrics": [], "problem": str(err)})
            continue
        if other_scope(who, spec.filter):
            continue
        out.append({**row, "title": spec.title, "description": spec.description, "period": spec.period,
                    "metrics": [m for m in spec.metrics if m in project.metrics], "problem": None})
    return out


def _scoped_filter(project, who: Principal, name: str, asked: dict[str, str]) -> dict[str, str]:
    """The report's filter: what was asked, within the token's scope. A scoped token asking for
    another value, or for a report reading a metric not broken down by its scope's dimension
    (whose values span every tenant), is refused."""

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
    try:
        project.not_in_future(on, "date")
    except UsageError as exc:
        raise HTTPException(422, str(exc)) from None
    return on


@router.get("/reports/{name}/preview", summary="A report rendered as `daypulse report NAME --format F` renders it",
            description="Dimension filters are query parameters named after the dimension: `?tenant=acme`."
                        " HTML has its charts inline (data: URIs); the period's values are computed first"
                        " when missing or stale, as the CLI does.",
            responses={200: {"description": "the report in the format asked for",
                             "content": {"text/html": {"schema": {"type": "string"}},
                                         "text/markdown": {"schema": {"type": "string"}},
                                         "text/plain": {"schema": {"type": "string"}},
                                         "application/json": {"schema": {"type": "object"}},
                                         "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def preview(request: Request, who: Viewer, store: StoreDep, project: Project, name: ReportName, format: Format = "html",
            on: Annotated[Day | None, Query(alias="date")] = None):
    known_report(project, name, who)
    asked = {k: v for k, v in request.query_params.items() if k not in ("format", "date")}
    filter = _scoped_filter(project, who, name, asked)
    try:
        rep = build_report(project, store, name, on=_day(project, on),
                           with_charts=True, filter=filter)  # text describes them in words
    except RuntimeFailure as err:
        if isinstance(err, StoreError):
            raise
        return unavailable(err)
    folder = template_folder(project, name, request.app.state.base_dir)
    if format == "pdf":
        try:
            document = pdf_bytes(rep, folder)
        except UsageError as err:  # no Pango on the server
            raise HTTPException(503, str(err)) from None
        return Response(document, media_type=MEDIA["pdf"],
                        headers={"Content-Disposition": f'inline; filename="{name}-{rep.start}.pdf"'})
    text = rendered(rep, format, folder)
    if format == "html":  # a browser cannot follow an email's cid: references
        for c in rep.charts:
            text = text.replace(f"cid:{c.id}", "data:image/png;base64," + base64.b64encode(c.png).decode("ascii"))
    return Response(text, media_type=MEDIA[format])


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    subscription: str = Field(min_length=1, max_length=100, description="the subscription's name or id")
    on: Day | None = Field(None, alias="date", description="a day of the period (default: the last complete one)")
    dry_run: bool = Field(False, description="render and return what would be sent; send and record nothing")


@router.post("/reports/{name}/send", summary="Deliver a period to a subscription now (once: the ledger)",
             description="As `daypulse report NAME --send --subscription S [--date D] [--dry-run]`. A period"
                         " already sent answers 200 with status `already sent`.")
def send(request: Request, who: Admin, store: StoreDep, project: Project, name: ReportName, body: SendRequest) -> dict:
    known_report(project, name, who)
    start = on_demand.report_period(project, name, _day(project, body.on))
    if who.scope and not any(body.subscription in (s["name"], str(s["id"]))
                             for s in visible(project, store, who).values()):
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
        return unavailable(err)
    tokens.audit(store, who.name, "report.send", sub.name, {"report": name, "period": start.isoformat(),
                                                            "status": status, "delivery": row.id})
    return {"status": status, "subscription": sub.name, "report": name, "period_start": start.isoformat(),
            "delivery": delivery_json(row)}
