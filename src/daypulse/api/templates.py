"""Report templates kept in the store: a report everywhere (API, dashboard, scheduler) until deleted.

Templates are shared by every tenant: only an admin token without a scope writes them, and a scoped
token does not see one narrowed to another tenant. A template's body is at most MAX_BODY bytes (413:
refused by its Content-Length before a byte is read, or as soon as a body without one passes the cap)
and the store keeps at most MAX_TEMPLATES of them (409); the report's own size is capped by its
definition (report.definition.MAX_*: 422 naming the field).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.routing import APIRoute

from daypulse.api.deps import (
    CompanyAdmin,
    Project,
    ReportName,
    StoreDep,
    Viewer,
    current_project,
    invalid,
    other_scope,
)
from daypulse.api.problems import Problem, responses
from daypulse.delivery.runner import load_subscriptions
from daypulse.errors import ConfigError
from daypulse.report import stored
from daypulse.report.definition import ReportDefinition, _builtin
from daypulse.store import tokens

MAX_BODY = 256 * 1024  # bytes of a template's JSON body
MAX_TEMPLATES = 200  # templates the store keeps


def _too_large(size: str) -> HTTPException:
    return HTTPException(413, f"a report template is at most {MAX_BODY // 1024} KB of JSON; this body has {size}")


class _BoundedRequest(Request):
    """A request whose body is read at most MAX_BODY bytes far: one declaring more (Content-Length)
    is refused before a byte is read, one without a length (chunked) as soon as it passes the cap."""

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            declared = self.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BODY:
                raise _too_large(f"{int(declared):,} bytes")
            chunks, size = [], 0
            async for chunk in self.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise _too_large(f"more than {MAX_BODY:,} bytes")
                chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body


class _BoundedRoute(APIRoute):
    """A route whose body FastAPI reads through _BoundedRequest (the OpenAPI document is FastAPI's own)."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            return await handler(_BoundedRequest(request.scope, request.receive))

        return bounded


router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503), route_class=_BoundedRoute)
TOO_LARGE = {413: {"model": Problem, "description": f"the body is over {MAX_BODY // 1024} KB",
                   "content": {"application/problem+json": {}}}}


def _template(t: stored.Template) -> dict:
    return {"name": t.name, "spec": t.spec, "created_by": t.created_by, "created_at": t.created_at.isoformat(),
            "updated_at": t.updated_at.isoformat()}


@router.get("/templates", summary="Report templates kept in the store")
def templates(who: Viewer, store: StoreDep, project: Project) -> list[dict]:
    return [_template(t) for t in stored.listing(store)
            if not other_scope(who, t.spec.get("filter") or {})]


@router.get("/templates/{name}", summary="One report template")
def template(who: Viewer, store: StoreDep, project: Project, name: ReportName) -> dict:
    found = stored.get(store, name)
    if found is None or other_scope(who, found.spec.get("filter") or {}):
        raise HTTPException(404, f"no report template {name!r} (see /api/v1/templates)")
    return _template(found)


def _editable_name(project, name: str) -> None:
    """File reports are edited in the file; a template may not shadow a built-in."""

    if stored.source(project, name) == "file":
        raise HTTPException(409, f"report {name!r} is declared in daypulse.yml: edit it there")
    if name in _builtin():
        raise HTTPException(409, f"report {name!r} is built in: pick another name (or override it under"
                                 " reports: in daypulse.yml)")


@router.put("/templates/{name}", summary="Create or replace a report template (admin without a scope)",
            description="The body is a report definition as under `reports:` in daypulse.yml (without"
                        " `template:`, a server path), at most 256 KB (413) and at most 200 sections, 500"
                        " metrics, breakdowns and charts in all (422). Built-in and daypulse.yml names are"
                        " refused (409), as is a new template when the store keeps 200 already.",
            responses=TOO_LARGE)
def put_template(request: Request, who: CompanyAdmin, store: StoreDep, project: Project, name: ReportName,
                 body: ReportDefinition) -> dict:
    _editable_name(project, name)
    raw = body.model_dump(mode="json", exclude_unset=True)
    try:
        stored.validate(project, name, raw)
    except ConfigError as err:
        raise invalid([_field(i.message, name, raw) for i in err.issues]) from None
    kept = stored.listing(store)
    if len(kept) >= MAX_TEMPLATES and all(t.name != name for t in kept):
        raise HTTPException(409, f"the store keeps {MAX_TEMPLATES} report templates, the most it may: remove one"
                                 " first")
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


@router.delete("/templates/{name}", summary="Remove a report template no subscription uses (admin without a scope)")
def delete_template(request: Request, who: CompanyAdmin, store: StoreDep, project: Project, name: ReportName) -> dict:
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
