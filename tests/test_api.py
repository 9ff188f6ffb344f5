"""The REST API in-process (httpx's ASGI transport) on SQLite and PostgreSQL stores: numbers,
problem details, and an authorization matrix in which a tenant-scoped token never sees
another tenant's data."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date

import httpx
import pytest

from apikit import api_store, call, close, usual_tokens
from daypulse.app import ApiSettings, create_app
from daypulse.delivery import ledger
from daypulse.delivery.runner import load_subscriptions
from daypulse.engine.run import run_compute
from deliverykit import METRICS, at, load, write


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    with api_store(request.param, folder) as store_url:
        # `posts` has a dimension named like a query parameter of other endpoints (a post's status).
        posts = {"table": "events", "time": "occurred_at", "dimensions": {"status": "tenant"}, "format": "integer"}
        write(folder, store=store_url, metrics={**METRICS, "posts": posts}, subscriptions=[
            {"name": "acme-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out", "filter": {"tenant": "acme"}},
            {"name": "globex-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out", "filter": {"tenant": "globex"}}])
        project, store = load(folder)
        run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), params={"why": "api test"})
        load_subscriptions(project, store)
        for name in ("acme-daily", "globex-daily"):
            ledger.ensure(store, name, date(2026, 3, 1), at("2026-03-02T07:00:00+05:30"))
        keys = usual_tokens(store, scoped_admin=True)
        app = create_app(ApiSettings(project=project))
        yield app, keys, store
        close(app, store)


# Day k of storekit's data (from 2026-02-01) has k % 5 + 1 events per tenant (at 12:00 UTC,
# the same Asia/Kolkata day): 1 March is k = 28 -> 4 each; 2 March k = 29 -> 5 each.
def test_series_returns_stored_values_with_a_comparison(api):
    app, keys, _ = api
    r = call(app, "GET", "/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-02&compare=previous",
             keys["viewer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(p["period_start"], p["value"], p["compare_value"]) for p in body["points"]] == [
        ("2026-03-01", 8, 6), ("2026-03-02", 10, 8)]
    # Whole numbers are integers in the JSON whichever store kept them (a double on SQLite,
    # NUMERIC on PostgreSQL), as in the export contract.
    assert '"value":8,' in r.text.replace(" ", "") and '"compare_value":6' in r.text.replace(" ", "")
    acme = call(app, "GET", "/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-02&tenant=acme",
                keys["viewer"]).json()
    assert [p["value"] for p in acme["points"]] == [4, 5] and acme["dims"] == {"tenant": "acme"}
    weeks = call(app, "GET", "/api/v1/metrics/events/series?start=2026-02-02&end=2026-02-15&grain=week",
                 keys["viewer"]).json()
    # Week of 2 Feb: k = 1..7 -> (2+3+4+5+1+2+3) x 2 tenants = 40; week of 9 Feb: k = 8..14 -> 24 x 2 = 48.
    assert [(p["period_start"], p["value"]) for p in weeks["points"]] == [("2026-02-02", 40), ("2026-02-09", 48)]


def test_a_scoped_token_sees_its_tenant_everywhere_and_nothing_else(api):
    app, keys, _ = api
    mine = call(app, "GET", "/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-01", keys["acme"]).json()
    assert mine["dims"] == {"tenant": "acme"} and mine["points"][0]["value"] == 4  # not the total, 8
    tiles = call(app, "GET", "/api/v1/summary?date=2026-03-02", keys["acme"]).json()
    assert [(t["metric"], t["value"], t["previous"]) for t in tiles["tiles"]] == [("events", 5, 4)]  # no revenue
    # The dashboard's judgement: what it compares, and no colour for a move within the noise
    # (Mondays here run 1..5 events per tenant).
    (t,) = tiles["tiles"]
    assert (t["previous_start"], t["compared_with"], t["change"], t["pct"], t["verdict"]) == (
        "2026-03-01", "vs the day before", 1, 0.25, "flat")
    rows = list(csv.DictReader(io.StringIO(call(app, "GET", "/api/v1/export?metric=events&grain=day",
                                                keys["acme"]).text)))
    assert rows and {r["dimensions"] for r in rows} == {"tenant=acme"}
    subs = call(app, "GET", "/api/v1/subscriptions", keys["acme"]).json()
    assert [s["name"] for s in subs] == ["acme-daily"]
    assert [d["subscription"] for d in call(app, "GET", "/api/v1/deliveries", keys["acme"]).json()] == ["acme-daily"]
    for url in ("/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-01&tenant=globex",
                "/api/v1/metrics/revenue/series?start=2026-03-01&end=2026-03-01",  # spans every tenant
                "/api/v1/metrics/events/latest?tenant=globex", "/api/v1/export?metric=revenue"):
        r = call(app, "GET", url, keys["acme"])
        assert r.status_code == 403, (url, r.text)
        assert r.headers["content-type"] == "application/problem+json" and "globex" not in r.text.replace(
            "tenant 'acme' only", "")


def test_a_dimension_named_like_another_endpoints_parameter_filters(api):
    """`status` is the most common dimension (a lead's, a post's, a job's): a series filtered on
    it is that value's, never silently the total."""
    app, keys, _ = api
    url = "/api/v1/metrics/posts/series?start=2026-03-01&end=2026-03-01"
    total = call(app, "GET", url, keys["viewer"]).json()
    acme = call(app, "GET", url + "&status=acme", keys["viewer"]).json()
    assert (total["points"][0]["value"], total["dims"]) == (8, {})
    assert (acme["points"][0]["value"], acme["dims"]) == (4, {"status": "acme"})
    latest = call(app, "GET", "/api/v1/metrics/posts/latest?status=globex", keys["viewer"]).json()
    assert latest["dims"] == {"status": "globex"}
    assert call(app, "GET", "/api/v1/config/thresholds?status=acme", keys["viewer"]).status_code == 200


def test_bad_parameters_are_422_naming_the_field_never_500(api):
    app, keys, _ = api
    for url, field in [("/api/v1/metrics/events/series?start=2026-13-01&end=2026-03-01", "start"),
                       ("/api/v1/metrics/events/series?start=2026-03-02&end=2026-03-01", "end"),
                       ("/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-02&grain=year", "grain"),
                       ("/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-02&region=eu", "region"),
                       ("/api/v1/deliveries?status=lost", "status"),
                       ("/api/v1/export?format=xml", "format")]:
        r = call(app, "GET", url, keys["admin"])
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (url, r.text)
        assert field in r.json()["detail"], (url, r.json())
    assert call(app, "GET", "/api/v1/metrics/nope/series?start=2026-03-01&end=2026-03-01",
                keys["admin"]).status_code == 404


EXTREME = ["0001-01-01", "1969-12-31", "2201-01-01", "9999-12-31", "0", "1700000000", "2026-02-30", "%20"]
DATED = [  # every date parameter of the API: {d} is the date asked for
    ("GET", "/api/v1/metrics/events/series?start={d}&end=2026-03-02&compare=previous", None),
    ("GET", "/api/v1/metrics/events/series?start=2026-03-01&end={d}&grain=week&compare=last_year", None),
    ("GET", "/api/v1/summary?date={d}", None),
    ("GET", "/api/v1/summary?date={d}&grain=month", None),
    ("GET", "/api/v1/export?start={d}", None),
    ("GET", "/api/v1/export?end={d}", None),
    ("GET", "/api/v1/reports/pulse/preview?format=json&date={d}", None),
    ("POST", "/api/v1/reports/pulse/send", {"subscription": "acme-daily", "date": "{d}", "dry_run": True}),
    ("POST", "/api/v1/runs", {"start": "{d}", "end": "2026-03-01", "dry_run": True}),
    ("POST", "/api/v1/runs", {"start": "2026-03-01", "end": "{d}", "dry_run": True}),
    ("PUT", "/api/v1/manual-values/burn/{d}", {"value": 1}),
    ("DELETE", "/api/v1/manual-values/burn/{d}", None),
]


@pytest.mark.parametrize("method, url, body", DATED, ids=[f"{m} {u}" for m, u, _ in DATED])
def test_extreme_dates_are_422_naming_the_field_never_500(api, method, url, body):
    app, keys, _ = api
    for d in EXTREME:
        filled = json.loads(json.dumps(body).replace("{d}", d)) if body else None
        r = call(app, method, url.replace("{d}", d), keys["admin"], filled)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (d, url, r.text)
    assert "outside 1970-01-01 .. 2200-12-31" in call(app, method, url.replace("{d}", "9999-12-31"), keys["admin"],
                                                      json.loads(json.dumps(body).replace("{d}", "9999-12-31"))
                                                      if body else None).json()["detail"]


def test_the_calendar_edges_are_answered(api):
    app, keys, _ = api
    for url in ("/api/v1/metrics/events/series?start=1970-01-01&end=1970-01-02&compare=last_year",
                "/api/v1/metrics/events/series?start=2200-12-25&end=2200-12-31&grain=week&compare=previous",
                "/api/v1/summary?date=1970-01-01&grain=month", "/api/v1/export?start=1970-01-01&end=2200-12-31"):
        assert call(app, "GET", url, keys["admin"]).status_code == 200, url


def test_a_wrong_method_says_which_are_allowed_and_an_unreadable_body_is_a_documented_400(api):
    app, keys, _ = api
    for method, url, allowed in [("TRACE", "/api/v1/metrics", "GET"), ("PUT", "/api/v1/subscriptions", "GET, POST"),
                                 ("TRACE", "/api/v1/subscriptions/1", "DELETE, PATCH"), ("PUT", "/healthz", "GET"),
                                 ("DELETE", "/api/v1/runs", "GET, POST")]:
        r = call(app, method, url, keys["admin"])
        assert (r.status_code, r.headers.get("allow")) == (405, allowed), (method, url, r.headers)

    async def unreadable():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.post("/api/v1/runs", content=b"\xff\xfe{", headers={
                "Authorization": f"Bearer {keys['admin']}", "content-type": "application/json"})
    r = asyncio.run(unreadable())
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", r.text
    spec = call(app, "GET", "/api/v1/openapi.json").json()
    with_body = [(p, m) for p, ops in spec["paths"].items() for m, op in ops.items() if "requestBody" in op]
    assert len(with_body) >= 7
    assert [(p, m) for p, m in with_body if "400" not in spec["paths"][p][m]["responses"]] == []


ENDPOINTS = [  # (method, url, admin only)
    ("GET", "/api/v1/metrics", False),
    ("GET", "/api/v1/metrics/events", False),
    ("GET", "/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-02", False),
    ("GET", "/api/v1/metrics/events/latest", False),
    ("GET", "/api/v1/summary?date=2026-03-01", False),
    ("GET", "/api/v1/export?format=json", False),
    ("GET", "/api/v1/subscriptions", False),
    ("GET", "/api/v1/deliveries", False),
    ("GET", "/api/v1/audit", True),
    ("POST", "/api/v1/deliveries/1/retry", True),  # acme-daily's
    ("POST", "/api/v1/deliveries/2/retry", True),  # globex-daily's
]


@pytest.mark.parametrize("method, url, admin_only", ENDPOINTS)
def test_authorization_matrix(api, method, url, admin_only):
    app, keys, _ = api
    assert call(app, method, url).status_code == 401
    assert call(app, method, url, "dp_not-a-real-token").status_code == 401
    viewer = call(app, method, url, keys["viewer"])
    assert viewer.status_code == (403 if admin_only else 200), viewer.text
    admin = call(app, method, url, keys["admin"])
    # Retrying a pending delivery is a conflict, not a permission problem.
    assert admin.status_code == (409 if method == "POST" else 200), admin.text
    scoped = call(app, method, url, keys["acme"])
    if admin_only:
        assert scoped.status_code == 403
    elif "series" in url or "latest" in url:
        # The tenant-scoped token asking for tenant B is refused; its own tenant is served.
        assert call(app, method, url + ("&" if "?" in url else "?") + "tenant=globex", keys["acme"]).status_code == 403
        assert scoped.status_code == 200 and scoped.json()["dims"] == {"tenant": "acme"}
    elif "export" in url:
        assert scoped.status_code == 403  # every metric: revenue has no tenant breakdown
    else:
        assert scoped.status_code == 200
    assert "globex" not in scoped.text or ("/metrics" in url and "series" not in url)  # the catalog names no data
    # A scoped admin is an admin of its tenant only: the audit log is the company's, another
    # tenant's delivery does not exist for it; the reads are the scoped viewer's.
    scoped_admin = call(app, method, url, keys["acme-admin"])
    if url.endswith("/audit"):
        assert scoped_admin.status_code == 403, scoped_admin.text
    elif url.endswith("/2/retry"):
        assert scoped_admin.status_code == 404, scoped_admin.text
    else:
        assert (scoped_admin.status_code, scoped_admin.text) == (409 if method == "POST" else scoped.status_code,
                                                                 scoped_admin.text if method == "POST" else scoped.text)


def test_health_audit_and_openapi(api):
    app, keys, _ = api
    assert call(app, "GET", "/healthz").json() == {"status": "ok"}
    assert call(app, "GET", "/readyz").json() == {"status": "ready"}
    schema = call(app, "GET", "/api/v1/openapi.json").json()
    assert "/api/v1/metrics/{name}/series" in schema["paths"]
    call(app, "GET", "/api/v1/export?format=json&metric=events", keys["viewer"])
    entries = call(app, "GET", "/api/v1/audit", keys["admin"]).json()
    assert entries[0]["actor"] == "board" and entries[0]["action"] == "export"
    assert json.dumps(entries).count("dp_") == 0  # tokens never logged


def test_tokens_cli_and_a_real_server(tmp_path, capsys, monkeypatch):
    import os
    import subprocess
    import sys
    import time

    from channelkit import free_port
    from deliverykit import cli

    write(tmp_path)
    code, out, err = cli(capsys, monkeypatch, tmp_path, "tokens", "create", "--role", "viewer", "--tenant", "acme")
    token = out.strip()
    assert code == 0 and token.startswith("dp_") and 'scope {"tenant": "acme"}' in err
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "tokens", "list")
    assert code == 0 and "tenant" in out and token not in out
    code, _, err = cli(capsys, monkeypatch, tmp_path, "tokens", "create", "--role", "owner")
    assert code == 2 and "--role: 'owner' is not one of admin, viewer" in err
    code, _, err = cli(capsys, monkeypatch, tmp_path, "tokens", "create", "--scope", "region")
    assert code == 2 and "--scope: 'region' is not dimension=value" in err
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "daypulse.cli", "serve", "--port", str(port), "--no-scheduler"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    try:
        deadline, r = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert r is not None and r.json() == {"status": "ok"}
        url = f"http://127.0.0.1:{port}/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-01"
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).json()["dims"] == {"tenant": "acme"}
        assert cli(capsys, monkeypatch, tmp_path, "tokens", "revoke", "1")[0] == 0
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        proc.terminate()
        _, said = proc.communicate(timeout=30)
    # Where to go and how to get in, not only the API docs' address.
    assert f"dashboard: http://127.0.0.1:{port}/ (sign in with an API token" in said, said
    assert f"interactive docs: http://127.0.0.1:{port}/api/v1/docs" in said, said


def test_every_operation_is_in_an_authorization_matrix(api):
    """Each operation of the OpenAPI document is driven, in one of the four matrices, as no
    token, a viewer, an admin, acme's viewer and acme's admin: a new endpoint must join one."""
    import re

    import test_api_operations
    import test_api_reports
    import test_churn_api
    import test_cohorts
    import test_metric_alerts

    app, _, _ = api
    driven = {(m, u) for m, u, _ in ENDPOINTS} | {(m, u) for m, u, *_ in test_api_reports.MATRIX}
    driven |= {(m, u) for m, u, _ in test_churn_api.MATRIX} | {(m, u) for m, u, _ in test_cohorts.MATRIX}
    driven |= {(m, u) for m, u, _ in test_metric_alerts.MATRIX}
    targets = {"_threshold": "/api/v1/config/thresholds/1", "_manual": "/api/v1/manual-values/burn_rate/2026-01-01"}
    driven |= {(m, t if isinstance(t, str) else targets[t.__name__]) for m, t, *_ in test_api_operations.MATRIX}
    spec = call(app, "GET", "/api/v1/openapi.json").json()
    missing = []
    for path, ops in spec["paths"].items():
        pattern = re.compile(re.sub(r"\{[^}]+\}", "[^/?]+", path) + r"(\?.*)?$")
        for method in ops:
            if path in ("/healthz", "/readyz"):
                continue  # open to anyone, by design (a load balancer's probe)
            if not any(m == method.upper() and pattern.match(u) for m, u in driven):
                missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_the_openapi_document_declares_the_bearer_scheme_so_authorize_works(api):
    """/api/v1/docs' "Authorize": the token is a security scheme (not a header parameter of each
    operation), every operation but the probes requires it, and a request built from the scheme
    as a generated client or Swagger UI builds it succeeds (schemathesis, tests/test_api_schema.py,
    drives every operation from this document)."""
    app, keys, _ = api
    spec = call(app, "GET", "/api/v1/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert list(schemes) == ["bearer"] and schemes["bearer"]["type"] == "http"
    assert schemes["bearer"]["scheme"] == "bearer"
    unsecured = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items()
                 if op.get("security") != [{"bearer": []}]]
    assert unsecured == ["GET /healthz", "GET /readyz"]
    header_params = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items()
                     for q in op.get("parameters", []) if q["in"] == "header"]
    assert header_params == []
    # As Swagger UI sends it for an http/bearer scheme: "Authorization: Bearer <token>".
    scheme = schemes["bearer"]
    header = {"Authorization": f"{scheme['scheme'].capitalize()} {keys['viewer']}"}

    async def get():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            return await c.get("/api/v1/metrics", headers=header), await c.get("/api/v1/metrics")
    ok, without = asyncio.run(get())
    assert ok.status_code == 200 and without.status_code == 401
    assert without.headers["content-type"] == "application/problem+json"
