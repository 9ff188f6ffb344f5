"""The served application: ``create_app(settings)`` puts the REST API and the dashboard on one
FastAPI app, with one error handler for both; nothing is built at import time.

Versioned under ``/api/v1``, OpenAPI at ``/api/v1/openapi.json`` (docs at ``/api/v1/docs``).
Every error is a problem details document (RFC 9457): ``{"type", "title", "status",
"detail"}``, plus ``errors: [{"field", "message"}]`` for a 422.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from daypulse.api import HEALTH_ROUTER, V1_ROUTERS
from daypulse.api.problems import TITLES, problem
from daypulse.delivery.config import DERIVED, SECTIONS
from daypulse.errors import ConfigError, DaypulseError, StoreError, UserError
from daypulse.project import load_project
from daypulse.project.loader import config_path
from daypulse.report.stored import with_templates
from daypulse.store.db import open_store
from daypulse.web import alert_pages, churn_pages, cohort_pages
from daypulse.web import pages as web


@dataclass(frozen=True)
class ApiSettings:
    """What the app serves: a project file (or an already loaded project, for tests)."""

    config: Path | None = None
    project: object | None = None
    base_dir: Path | None = None  # where relative paths in channels resolve (default: the project file's folder)


def create_app(settings: ApiSettings) -> FastAPI:
    project = settings.project or load_project(settings.config, SECTIONS, DERIVED)
    store = open_store(project.store)
    app = FastAPI(title="daypulse", version="1", openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs",
                  redoc_url=None)
    app.state.project = with_templates(project, store)  # the store's report templates are reports too
    app.state.store = store
    app.state.base_dir = settings.base_dir or config_path(settings.config).resolve().parent

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if web.is_page(request):  # a person's browser on a dashboard path gets a page, not JSON
            response = web.problem_page(request, exc.status_code, TITLES.get(exc.status_code, "Error"),
                                        str(exc.detail))
        else:
            response = problem(exc.status_code, TITLES.get(exc.status_code, "Error"), str(exc.detail))
        response.headers.update(exc.headers or {})  # a 401's WWW-Authenticate...
        if exc.status_code == 405:  # every method the path takes, not only the first route's (RFC 9110)
            response.headers["Allow"] = ", ".join(allowed_methods(request.url.path))
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p not in ("query", "path", "body")) or "request",
                   "message": e["msg"]} for e in exc.errors()]
        if web.is_page(request):
            return web.problem_page(request, 422, "That address is not right",
                                    "; ".join(f"{e['field']}: {e['message']}" for e in errors))
        return problem(422, "Unprocessable Content", "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                       errors=errors)

    @app.exception_handler(DaypulseError)
    async def _daypulse(request: Request, exc: DaypulseError):
        if isinstance(exc, ConfigError | UserError):
            status, title = 422, "Unprocessable Content"
            detail = "; ".join(i.message for i in exc.issues) if isinstance(exc, ConfigError) else str(exc)
        else:
            status = 503 if isinstance(exc, StoreError) else 500
            title, detail = ("Service Unavailable" if status == 503 else "Internal Server Error"), str(exc)
        if web.is_page(request):
            return web.problem_page(request, status, "Something went wrong" if status >= 500 else title, detail)
        return problem(status, title, detail)

    app.include_router(HEALTH_ROUTER)
    for router in V1_ROUTERS:
        app.include_router(router, prefix="/api/v1")
    web.mount(app)  # the dashboard: pages at /, static files at /static
    app.include_router(churn_pages.router)  # its "At risk" pages
    app.include_router(cohort_pages.router)  # its cohorts
    app.include_router(alert_pages.router)  # and its alerts
    return app


def allowed_methods(path: str) -> list[str]:
    """The methods some route takes at ``path`` (the routers' own routes: FastAPI keeps an
    included router whole rather than copying its routes onto the app)."""
    served = [("", r) for r in (*HEALTH_ROUTER.routes, *web.router.routes, *churn_pages.router.routes,
                                               *cohort_pages.router.routes, *alert_pages.router.routes)] + [
        ("/api/v1", r) for router in V1_ROUTERS for r in router.routes]
    methods = set()
    for prefix, route in served:
        if isinstance(route, Route) and route.methods and path.startswith(prefix) \
                and route.path_regex.match(path[len(prefix):]):
            methods |= route.methods
    return sorted(methods)
