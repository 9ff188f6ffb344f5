"""The dashboard's pages: server-rendered Jinja2, made live with HTMX (vendored, no CDN).

Login opens a session (``store.sessions``); every page acts as that session's token, with its
role and tenant scope. Changes (send now, retry, a subscription's edit form) are POST forms
carrying the session's CSRF secret; read-only pages are GETs that HTMX re-fetches for filters
and auto-refresh.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from daypulse.alerts.thresholds import breaches
from daypulse.compile.rows import Source
from daypulse.delivery import ledger, on_demand, runner
from daypulse.delivery import subscription_store as subs
from daypulse.delivery.subscription import FieldErrors, parse_filter
from daypulse.delivery.visible import visible_subscriptions
from daypulse.describe import metric_rows
from daypulse.engine.compute import compiled_sql
from daypulse.errors import UsageError, UserError
from daypulse.report import format as fmt
from daypulse.report.definition import load_report
from daypulse.report.stored import with_templates
from daypulse.store import read, sessions, tokens
from daypulse.store import runs as run_store
from daypulse.store.read import csv_text
from daypulse.store.sessions import Session
from daypulse.web import views

# __Host-: the browser keeps such a cookie only if Secure, for this host, path / (a sibling
# subdomain cannot plant one).
LOGIN_CSRF = "__Host-daypulse_login"  # double-submit cookie of the login form (there is no session yet)
REFRESH_SECONDS = 60

router = APIRouter(include_in_schema=False)
# The pages load nothing from elsewhere, may not be framed (a framed "Send now" could be
# clicked by a trick), and send no Referer with their filters to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
                               " script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


PLAIN = {404: "There is no page at this address.", 405: "This address does not take that kind of request."}


class NeedLogin(Exception):
    """No live session: the page answers with a redirect to /login."""


class Forbidden(Exception):
    """A viewer asked for an admin action, or a form's CSRF secret was missing or wrong."""


def mount(app: FastAPI) -> None:
    """Add the dashboard to the API's app: pages at /, static files at /static."""
    folder = resources.files("daypulse.web")
    app.state.pages = Jinja2Templates(directory=str(folder / "templates"))
    app.state.pages.env.globals["refresh_seconds"] = _refresh_seconds()
    app.state.pages.env.filters["local"] = local_time
    app.mount("/static", StaticFiles(directory=str(folder / "static")), name="static")

    @app.middleware("http")
    async def _guard(request: Request, call_next):
        response = await call_next(request)
        if not request.url.path.startswith("/api/"):  # the API's docs page is FastAPI's own
            response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(NeedLogin)
    async def _login(request: Request, exc: NeedLogin):
        target = "/login?" + _next_param(request)
        if request.headers.get("HX-Request"):  # HTMX follows this header instead of swapping in the login page
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden):
        return problem_page(request, 403, "Forbidden", str(exc))

    app.include_router(router)


def local_time(at: datetime | None, zone: str, with_seconds: bool = False) -> str:
    """An instant in the project's zone, with the zone's abbreviation ("2026-03-10 07:00 IST"):
    every page's times read in one zone (the store keeps UTC; SQLite hands it back naive)."""
    if at is None:
        return ""
    local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if with_seconds else "%Y-%m-%d %H:%M %Z")


def is_page(request: Request) -> bool:
    """Whether a path is the dashboard's (answered in HTML) rather than the API's (JSON problems)."""
    path = request.url.path
    return not (path.startswith("/api/") or path in ("/healthz", "/readyz"))


def problem_page(request: Request, status: int, title: str, message: str, **context) -> HTMLResponse:
    """An error on a dashboard path as a page a person can read and leave, not a JSON document."""
    try:
        s = sessions.find(request.app.state.store, request.cookies.get(sessions.COOKIE))
    except Exception:  # noqa: BLE001 - the store may be what failed: the page goes without the menu
        s = None
    if message == title:  # Starlette's bare "Not Found": say it as a page would
        message = PLAIN.get(status, message)
    response = page(request, "problem.html", s, title=title, message=message, **context)
    response.status_code = status
    return response


def _refresh_seconds() -> int:
    """How often the overview re-reads its numbers: DAYPULSE_DASHBOARD_REFRESH seconds (default 60)."""

    text = os.environ.get("DAYPULSE_DASHBOARD_REFRESH", "")
    return max(1, int(text)) if text.isdigit() else REFRESH_SECONDS


def _escape(text: str) -> str:
    return str(escape(text))


def _next_param(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return urlencode({"next": path})


def session(request: Request) -> Session:
    store = request.app.state.store
    found = sessions.find(store, request.cookies.get(sessions.COOKIE))
    if found is None:
        raise NeedLogin()
    # Report templates written over the API since start-up are boards too.
    request.app.state.project = with_templates(request.app.state.project, store)
    return found


Signed = Annotated[Session, Depends(session)]


async def changing(request: Request, s: Signed) -> Session:
    """A change: an admin session, a matching CSRF secret, and no cross-site Origin."""
    form = await request.form()
    given = request.headers.get("X-CSRF-Token") or form.get("csrf")
    if not sessions.same(s.csrf, given if isinstance(given, str) else None):
        raise Forbidden("the form has expired or did not come from this dashboard: reload the page and try again")
    origin = request.headers.get("Origin")
    # The host only: behind a proxy that ends TLS the app may see http while the browser says https.
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden("a change must come from this dashboard's own pages")
    if not s.who.admin:
        raise Forbidden("this needs an admin token: sign in with one to send or retry")
    return s


Changing = Annotated[Session, Depends(changing)]


def page(request: Request, name: str, s: Session | None, **context) -> HTMLResponse:
    project = request.app.state.project
    context = {"request": request, "s": s, "project": project, "now": views.now_label(project), **context}
    response = request.app.state.pages.TemplateResponse(request, name, context)
    response.headers["Cache-Control"] = "no-store"  # numbers and CSRF secrets are never cached
    return response


# -- login -----------------------------------------------------------------------------------------

@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/"):
    if sessions.find(request.app.state.store, request.cookies.get(sessions.COOKIE)):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next)


def _login_page(request: Request, next: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    response = page(request, "login.html", None, next=_safe_next(next), csrf=csrf, error=error)
    response.status_code = status
    response.set_cookie(LOGIN_CSRF, csrf, httponly=True, secure=True, samesite="strict", path="/")
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, token: Annotated[str, Form(max_length=300)] = "",
          csrf: Annotated[str, Form(max_length=100)] = "", next: Annotated[str, Form(max_length=2000)] = "/"):
    store = request.app.state.store
    if not sessions.same(request.cookies.get(LOGIN_CSRF) or "", csrf):
        return _login_page(request, next, "The sign-in form expired: please try again.", 400)
    opened = sessions.open_session(store, token.strip())
    if opened is None:
        return _login_page(request, next, "That token is not valid (unknown or revoked).", 401)
    sessions.close(store, request.cookies.get(sessions.COOKIE))  # a new login replaces the old session
    session_id, s = opened
    tokens.audit(store, s.who.name, "dashboard.login", None, {"scope": s.who.scope} if s.who.scope else None)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(sessions.COOKIE, session_id, max_age=int(sessions.LIFETIME.total_seconds()),
                        httponly=True, secure=True, samesite="lax", path="/")
    response.delete_cookie(LOGIN_CSRF, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
async def logout(request: Request, s: Signed):
    form = await request.form()
    if not sessions.same(s.csrf, form.get("csrf") if isinstance(form.get("csrf"), str) else None):
        raise Forbidden("the form has expired: reload the page and try again")
    sessions.close(request.app.state.store, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return response


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- overview and metric pages ---------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
def overview(request: Request, s: Signed):
    project, store = request.app.state.project, request.app.state.store
    f = views.parse_filters(project, store, request.query_params, s.who.scope)
    spec = load_report(project, f.board) if f.board else None
    sections = [(sec.title, list(sec.metrics)) for sec in spec.sections] if spec else []
    if s.who.scope:  # what spans every tenant is not this viewer's to see
        sections = [(t, [m for m in ms if views.shows(project, m, s.who.scope)]) for t, ms in sections]
        sections = [(t, ms) for t, ms in sections if ms]
    names = [m for _, ms in sections for m in ms]
    wanted = [c.metric for c in spec.charts if c.kind == "line"] if spec else []
    chart_names = [m for m in dict.fromkeys(wanted or names[:4]) if m in names or not s.who.scope]
    alerts = _alerts(project, store, s)
    tiles = views.tiles(project, store, f, sections, alerts)
    return page(request, "overview.html", s, f=f, boards=views.boards(project, s.who.scope),
                tiles=tiles, empty=views.empty_range(store, tiles),
                charts=views.charts(project, store, f, chart_names[:6]),
                choices=views.dimension_values(store, names, f),
                alerts=[a for a in alerts if a.shown_in(f, names, project.calendar)],
                presets=_presets(project, f))


def _alerts(project, store, s: Session) -> list[views.Alert]:
    """Thresholds crossed by the latest stored values, within the viewer's scope."""

    return views.alerts(project, breaches(project, store, scope=s.who.scope or None))


def _presets(project, f: views.Filters) -> list[tuple[str, str]]:
    """Ranges of whole periods ending with the range's end (its last complete week or month)."""

    cal = project.calendar
    out = []
    for label, n, grain in (("7 days", 7, "day"), ("30 days", 30, "day"), ("90 days", 90, "day"),
                            ("12 weeks", 12, "week"), ("12 months", 12, "month"), ("8 quarters", 8, "quarter")):
        if grain not in f.grains:
            continue  # quarters once they are computed
        end = f.end if cal.period_end(grain, f.end) == f.end else cal.period_start(grain, f.end) - timedelta(days=1)
        if end < views.EARLIEST:
            continue
        start = max(cal.shift(grain, cal.period_start(grain, end), n - 1), views.EARLIEST)
        out.append((label, f.query(start=start, end=end, grain=grain)))
    return out


@router.get("/metrics/{name}", response_class=HTMLResponse)
def metric_page(request: Request, s: Signed, name: Annotated[str, Path(max_length=100)]):
    project, store = request.app.state.project, request.app.state.store
    if name not in project.metrics:
        return problem_page(request, 404, "Not found", f"There is no metric {name!r}.", glossary=True)
    f = views.parse_filters(project, store, request.query_params, s.who.scope, board_required=False)
    info = next(r for r in metric_rows(project) if r["metric"] == name)
    dims = sorted(project.dimensions_of(name))
    if not views.shows(project, name, f.dims):
        return page(request, "metric.html", s, f=f, m=info, dims=dims, trend=None, rows=[], breakdowns=[],
                    note=f"{info['label']} is not broken down by {', '.join(sorted(set(f.dims) - set(dims)))}:"
                         " its numbers span every value, so there is nothing to show for this filter.")
    breakdowns = [(d, views.breakdown(project, store, f, name, d)) for d in dims if d not in f.dims]
    trend = views.charts(project, store, f, [name])[0]
    trend = replace(trend, marks=views.alert_marks(project, store, f, name, trend.labels))
    return page(request, "metric.html", s, f=f, m=info, dims=dims, trend=trend,
                hours=views.hour_chart(project, store, f, name),
                rows=views.table(project, store, f, name), breakdowns=[b for _, b in breakdowns if b], note=None,
                choices=views.dimension_values(store, [name], f))


@router.get("/metrics/{name}/sql", response_class=HTMLResponse)
def metric_sql(request: Request, s: Signed, name: Annotated[str, Path(max_length=100)]):
    """The SQL daypulse sends to the source for this metric (loaded when the panel opens)."""

    project, store = request.app.state.project, request.app.state.store
    if name not in project.metrics:
        return HTMLResponse("<p>no such metric</p>", status_code=404)
    f = views.parse_filters(project, store, request.query_params, s.who.scope, board_required=False)
    source = None
    try:
        source = Source.open(project.source)
        text = compiled_sql(project, name, f.start, f.end, (f.grain,), source=source)
    except Exception as err:  # noqa: BLE001 - the source may be down or refuse: say so in the panel
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        text = f"-- could not compile against the source: {first}"
    finally:
        if source is not None and hasattr(source.con, "disconnect"):
            source.con.disconnect()  # one connection per panel opened, never left behind
    return HTMLResponse(f"<pre class='sql'><code>{_escape(text)}</code></pre>")


@router.get("/glossary", response_class=HTMLResponse)
def glossary(request: Request, s: Signed):
    project = request.app.state.project
    # Shown as the pages show the numbers: money in dollars (the store's cents are the export's).
    shown = {"money (cents)": "money ($)", "seconds": "duration"}
    rows = [{**r, "format": shown.get(r["format"], r["format"]),
             "dimensions": sorted(project.dimensions_of(r["metric"]))} for r in metric_rows(project)]
    return page(request, "glossary.html", s, rows=rows)


@router.get("/export.csv")
def export_csv(request: Request, s: Signed, metric: str | None = None):
    """What the page shows, as CSV in the export contract's columns (audit-logged)."""

    project, store = request.app.state.project, request.app.state.store
    if metric is not None and metric not in project.metrics:
        return HTMLResponse("<p>no such metric</p>", status_code=404)
    f = views.parse_filters(project, store, request.query_params, s.who.scope, board_required=metric is None)
    board = load_report(project, f.board).metrics if metric is None and f.board else []
    names = [m for m in ([metric] if metric is not None else board) if views.shows(project, m, f.dims)]
    periods = project.calendar.periods(f.grain, f.start, f.end)
    got = read.values(store, names, f.grain, periods[0], periods[-1], views.dims_key(f.dims))
    # The export contract's columns, then what a person reads: the raw value's unit ("cents") and
    # the value as the page shows it ("$32,976.00").
    formats = {m: project.metrics[m].format for m in names}
    rows = [{"metric": m, "grain": f.grain, "period": p.isoformat(), "dimensions": f.dims, "value": got.get((m, p)),
             "unit": fmt.UNITS.get(formats[m], ""), "display": "" if got.get((m, p)) is None
             else fmt.value(got[(m, p)], formats[m])}
            for m in names for p in periods]
    tokens.audit(store, s.who.name, "export", ",".join(names),
                 {"format": "csv", "rows": len(rows), "via": "dashboard", "filter": f.dims})
    what = re.sub(r"[^A-Za-z0-9_-]", "_", metric or f.board)  # names are known ones; keep the header plain
    return Response(csv_text(rows, extra=("unit", "display")), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="daypulse-{what}-{f.grain}-{f.start}-'
                                                    f'{f.end}.csv"', "Cache-Control": "no-store"})


# -- deliveries and runs ---------------------------------------------------------------------------

def _visible(request: Request, who) -> dict[str, dict]:
    return visible_subscriptions(request.app.state.project, request.app.state.store, who.scope)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(request: Request, s: Signed, status: str | None = None, done: int | None = None,
               again: bool = False, edited: int | None = None):
    store = request.app.state.store
    visible = _visible(request, s.who)
    status = status if status in ("pending", "sending", "sent", "failed", "skipped") else None
    rows = ledger.listing(store, status=status, limit=200, among=list(visible) if s.who.scope else None)
    last = ledger.get(store, done) if done and 0 < done < 2**31 else None
    if last is not None and last.subscription not in visible:
        last = None
    saved = next((v for v in visible.values() if v["id"] == edited), None)
    return page(request, "deliveries.html", s, subscriptions=list(visible.values()), rows=rows, status=status,
                last=last, again=again, saved=saved)


@router.post("/subscriptions/{id}/send")
def send_now(request: Request, s: Changing, id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    """Deliver the subscription's last complete period now, through the ledger (never twice)."""

    project, store = request.app.state.project, request.app.state.store
    visible = {v["id"]: v for v in _visible(request, s.who).values()}
    sub = next((x for x in runner.load_subscriptions(project, store) if x.id == id and x.id in visible), None)
    if sub is None or sub.spec is None:
        raise Forbidden(f"no subscription {id} that you can send")
    try:
        period = on_demand.report_period(project, sub.spec.report, None)
        status, row = runner.send_now(project, store, sub, period, base_dir=request.app.state.base_dir)
    except UserError as err:
        raise Forbidden(str(err)) from None
    tokens.audit(store, s.who.name, "report.send", sub.name,
                 {"period": period.isoformat(), "status": status, "delivery": row.id, "via": "dashboard"})
    again = "&again=1" if status == "already sent" else ""  # the page says nothing was sent twice
    return RedirectResponse(f"/deliveries?done={row.id}{again}", status_code=303)


# -- editing a subscription -----------------------------------------------------------------------

SubscriptionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
FormText = Annotated[str, Form(max_length=2000)]


def _editable(request: Request, s: Session, id: int):
    """The subscription ``s`` may edit (an admin's, within its scope, added from the CLI or the API),
    or the page that says why not."""
    if not s.who.admin:
        raise Forbidden("this needs an admin token: sign in with one to edit a subscription")
    project, store = request.app.state.project, request.app.state.store
    visible = {v["id"] for v in _visible(request, s.who).values()}
    sub = next((x for x in runner.load_subscriptions(project, store) if x.id == id and x.id in visible), None)
    if sub is None:
        raise Forbidden(f"no subscription {id} that you can edit")
    if sub.source == "yml":
        return None, problem_page(request, 409, "Edit it in daypulse.yml",
                                  f"Subscription {sub.name} is declared in daypulse.yml: edit it there (active: false"
                                  " pauses it).")
    if sub.spec is None:
        return None, problem_page(request, 409, "Not editable here",
                                  f"Subscription {sub.name} is no longer valid ({sub.problem}): change it with"
                                  f" `daypulse subscriptions edit {sub.id}`, or remove it.")
    return sub, None


def _form_of(sub) -> dict:
    spec = sub.spec
    to = ", ".join(spec.to) if isinstance(spec.to, list) else spec.to or ""
    return {"schedule": spec.schedule.describe(), "timezone": spec.timezone,
            "to": "" if "://" in to else to,  # a URL may hold a secret: not shown, kept unless replaced
            "filter": ",".join(f"{k}={v}" for k, v in spec.filter.items()), "paused": not sub.active}


def _edit_page(request: Request, s: Session, sub, form: dict, errors: dict, status: int = 200) -> HTMLResponse:
    to = sub.spec.to
    response = page(request, "subscription_edit.html", s, sub=sub, form=form, errors=errors,
                    url_target=isinstance(to, str) and "://" in to)
    response.status_code = status
    return response


@router.get("/subscriptions/{id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, s: Signed, id: SubscriptionPath):
    sub, refused = _editable(request, s, id)
    return refused or _edit_page(request, s, sub, _form_of(sub), {})


@router.post("/subscriptions/{id}/edit", response_class=HTMLResponse)
def edit_subscription(request: Request, s: Changing, id: SubscriptionPath, schedule: FormText = "",
                      timezone: FormText = "", to: FormText = "", filter: FormText = "", paused: FormText = ""):
    """Change the schedule, zone, target, filter or pause of a subscription (audit-logged, as the
    API's PATCH: the same checks and the same ledger rules). An empty target is left as it is."""
    sub, refused = _editable(request, s, id)
    if refused:
        return refused
    form = {"schedule": schedule, "timezone": timezone, "to": to, "filter": filter, "paused": bool(paused)}
    changes: dict = {"active": not paused}
    for field in ("schedule", "timezone", "to"):
        if form[field].strip():
            changes[field] = form[field].strip()
    try:
        flt = parse_filter(filter)
    except ValueError as err:
        return _edit_page(request, s, sub, form, {"filter": str(err)}, 422)
    scope = s.who.scope
    if any(k in flt and flt[k] != v for k, v in scope.items()):
        return _edit_page(request, s, sub, form, {"filter": "this token sees " + ", ".join(
            f"{k} {v!r}" for k, v in scope.items()) + " only"}, 422)
    changes["filter"] = {**flt, **scope}  # a scoped admin's subscription stays in its tenant
    project, store = request.app.state.project, request.app.state.store
    try:
        subs.edit(project, store, id, changes, named=lambda field: field, actor=s.who.name, via="dashboard")
    except FieldErrors as err:
        return _edit_page(request, s, sub, form, {f.split(".")[0]: f"{f}: {m}" for f, m in err.problems}, 422)
    except UsageError as err:
        field, _, _ = str(err).partition(":")
        return _edit_page(request, s, sub, form, {field if field in form else "form": str(err)}, 422)
    return RedirectResponse(f"/deliveries?edited={id}", status_code=303)


@router.post("/deliveries/{id}/retry")
def retry(request: Request, s: Changing, id: Annotated[int, Path(ge=1, le=2**31 - 1)]):
    store = request.app.state.store
    row = ledger.get(store, id)
    if row is None or row.subscription not in _visible(request, s.who):
        raise Forbidden(f"no delivery {id} that you can retry")
    if ledger.retry(store, id, datetime.now(UTC)):
        tokens.audit(store, s.who.name, "delivery.retry", str(id), {"subscription": row.subscription,
                                                                    "via": "dashboard"})
    return RedirectResponse(f"/deliveries?done={id}", status_code=303)


@router.get("/runs", response_class=HTMLResponse)
def runs(request: Request, s: Signed):
    return page(request, "runs.html", s, runs=run_store.history(request.app.state.store, 100),
                details=not s.who.scope)  # errors and who started a run are the company's, not a tenant's
