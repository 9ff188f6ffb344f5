"""What the API's routes depend on: the store and the project the app serves, who is asking (a
Bearer token, its role and tenant scope), and the checks several resources share.

Routes take these as typed parameters (``store: StoreDep``, ``who: Viewer``...), so a handler
never reaches into the app's state itself.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Path, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BeforeValidator, Field, StrictFloat, StrictInt, StrictStr, WithJsonSchema

from daypulse.api.problems import problem
from daypulse.calendar import FIRST_DAY, LAST_DAY, outside
from daypulse.delivery.visible import visible_subscriptions
from daypulse.errors import RuntimeFailure, UserError
from daypulse.project.model import Project as ProjectModel
from daypulse.report import stored
from daypulse.report.definition import REPORT_NAME, load_report, report_names
from daypulse.store import tokens
from daypulse.store.db import Store
from daypulse.store.tokens import Principal

MAX_ID = 2**31 - 1

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ReportName = Annotated[str, Path(max_length=100, pattern=REPORT_NAME)]
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
GrainName = Literal["day", "week", "month", "quarter", "year"]
# A date parameter: written YYYY-MM-DD (not a number of seconds: `date=0` is not 1970) and between
# the calendar's first and last day, checked before any arithmetic.
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _written_as_a_day(value):
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _askable(day: date) -> date:
    why = outside(day)
    if why:
        raise ValueError(why)
    return day


Day = Annotated[date, BeforeValidator(_written_as_a_day), AfterValidator(_askable),
                WithJsonSchema({"type": "string", "format": "date", "formatMinimum": FIRST_DAY.isoformat(),
                                "formatMaximum": LAST_DAY.isoformat()})]
# A number in a request body: a JSON number or a string holding an exact decimal.
Number = StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=100)]


# -- the app's store and project -------------------------------------------------------------------

def served_store(request: Request) -> Store:
    return request.app.state.store


def served_project(request: Request) -> ProjectModel:
    """The project as the app last merged it with the store's report templates."""
    return request.app.state.project


def current_project(request: Request) -> ProjectModel:
    """The project with the store's report templates as they are now. Kept on the app as well,
    so the other routers (subscriptions, the dashboard) see templates written since start-up."""
    project = stored.with_templates(request.app.state.project, request.app.state.store)
    request.app.state.project = project
    return project


StoreDep = Annotated[Store, Depends(served_store)]
ProjectDep = Annotated[ProjectModel, Depends(served_project)]
Project = Annotated[ProjectModel, Depends(current_project)]  # for the routes that read report definitions


# -- who is asking ---------------------------------------------------------------------------------

# The token as the OpenAPI document's security scheme, so /api/v1/docs' "Authorize" and generated
# clients send it; missing or not Bearer is our own 401 (a problem document), not FastAPI's 403.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token: `daypulse tokens create` prints one (`dp_...`).")


def principal(store: StoreDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None
              ) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise HTTPException(401, "a Bearer token is required (create one with `daypulse tokens create`)")
    found = tokens.authenticate(store, credentials.credentials.strip())
    if found is None:
        raise HTTPException(401, "the token is not valid (unknown or revoked)")
    return found


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.admin:
        raise HTTPException(403, "this needs an admin token")
    return who


Viewer = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]


def scope_text(who: Principal) -> str:
    return ", ".join(f"{k} {v!r}" for k, v in sorted(who.scope.items()))


def company_admin(who: Admin) -> Principal:
    if who.scope:
        raise HTTPException(403, f"this token sees {scope_text(who)} only; this is company-wide (the audit log,"
                                 " runs, manual values, thresholds, templates, settings) and needs an admin"
                                 " token without a scope")
    return who


def company_viewer(who: Viewer) -> Principal:
    if who.scope:
        raise HTTPException(403, f"this token sees {scope_text(who)} only; manual values are company-wide")
    return who


CompanyAdmin = Annotated[Principal, Depends(company_admin)]
CompanyViewer = Annotated[Principal, Depends(company_viewer)]


def require_unscoped(who: Principal, what: str) -> None:
    if who.scope:
        raise HTTPException(403, f"{what} is shared by every tenant: this needs an admin token without a scope")


def other_scope(who: Principal, filter: dict) -> bool:
    """A definition narrowed to another tenant than the token's: not shown to it."""
    return any(k in filter and filter[k] != v for k, v in who.scope.items())


# -- what a read covers ----------------------------------------------------------------------------

def scoped_dims(project: ProjectModel, who: Principal, metric: str, asked: dict[str, str]) -> dict[str, str]:
    """The dimension values a read covers: what was asked, within the token's scope. A scoped
    token asking for another tenant, or for a metric not broken down by its scope's dimension
    (whose totals span every tenant), is refused."""
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
    dims = {**asked, **who.scope}
    if problem := project.not_stored(metric, dims):  # two dimensions no breakdown stores together
        raise HTTPException(422, problem)
    return dims


def asked_dims(request: Request) -> dict[str, str]:
    """The dimension filters of a request: its query parameters other than the route's own
    (a series' start, end, grain and compare). A dimension named like another endpoint's
    parameter (`status`, `date`) is still a filter here."""
    route = request.scope.get("route")
    own = _query_names(route.dependant) if isinstance(route, APIRoute) else set()
    out: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in own:
            continue
        if key == "filter":  # the dashboard's spelling, ?filter=status=draft: it never collides
            key, sep, value = value.partition("=")
            if not sep or not key:
                raise HTTPException(422, f"filter: {value or key!r} is not dimension=value (e.g. filter=tenant=acme)")
        if out.get(key, value) != value:
            raise HTTPException(422, f"{key}: two values ({out[key]!r} and {value!r}); a filter takes one")
        out[key] = value
    return out


def _query_names(dependant) -> set[str]:
    """The query parameters a route and its dependencies declare."""
    return {q.alias for q in dependant.query_params}.union(*(_query_names(d) for d in dependant.dependencies))


def known_metric(project: ProjectModel, name: str):
    if name not in project.metrics:
        raise HTTPException(404, f"no metric {name!r} (see /api/v1/metrics)")
    return project.metrics[name]


def computed_at(project: ProjectModel, names: list[str] | None, grains, field: str = "grain") -> None:
    """422 when no metric of ``names`` (every metric when None) is computed at one of ``grains``,
    saying how to opt in (compute.grains, or a metric's grains:)."""
    for grain in dict.fromkeys([grains] if isinstance(grains, str) else grains or []):
        problem = project.grain_problem(names, grain)
        if problem:
            raise HTTPException(422, f"{field}: {problem}")


def known_report(project: ProjectModel, name: str, who: Principal) -> None:
    """A report the token may see: another tenant's board is answered as if it did not exist."""
    if name not in visible_reports(project, who):
        raise HTTPException(404, f"no report {name!r} (see /api/v1/reports)")


def visible_reports(project: ProjectModel, who: Principal) -> list[str]:
    """The report names a token may see: a scoped token not another tenant's (nor its name)."""
    return [n for n in report_names(project) if not (who.scope and other_scope(who, _report_filter(project, n)))]


def _report_filter(project: ProjectModel, name: str) -> dict:
    try:
        return load_report(project, name).filter
    except UserError:  # a definition that no longer fits the project: its raw filter still says whose
        raw = project.reports.get(name)
        return (raw.get("filter") or {}) if isinstance(raw, dict) else {}


def visible(project: ProjectModel, store: Store, who: Principal) -> dict[str, dict]:
    """The subscriptions ``who`` may see, by name."""
    return visible_subscriptions(project, store, who.scope)


# -- answers ----------------------------------------------------------------------------------------

def delivery_json(r) -> dict:
    return {"id": r.id, "subscription": r.subscription, "period_start": r.period_start.isoformat(),
            "status": r.status, "attempts": r.attempts, "last_error": r.last_error, "external_id": r.external_id,
            "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None}


def invalid(errors: list[tuple[str, str]]):
    """A 422 naming each field, in the same shape as FastAPI's own validation errors."""
    return RequestValidationError([{"loc": ("body", *field.split(".")), "msg": msg, "type": "value_error"}
                                   for field, msg in errors])


def unavailable(err: RuntimeFailure):
    """The source (or store) cannot be reached: a 503 a client may retry, not a 500."""
    return problem(503, "Service Unavailable", str(err).splitlines()[0])
