"""The API's operations in-process on SQLite and PostgreSQL stores: compute runs started in the
background, manual values, thresholds and alerts, the project's settings, `daypulse thresholds`,
and an authorization matrix in which a tenant-scoped token never sees another tenant's data."""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import duckdb
import pytest
from sqlalchemy import select

from apikit import api_store, call, close, usual_tokens
from daypulse.app import ApiSettings, create_app
from daypulse.engine import background
from daypulse.engine.run import run_compute
from daypulse.store import tokens
from daypulse.store.models import MetricValueRow as V
from daypulse.store.models import Run
from deliverykit import METRICS, cli, load, write

PROJECT_METRICS = {**METRICS, "burn_rate": {"kind": "manual", "format": "currency"},
                   "runway_months": {"kind": "manual"}}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"ops-{request.param}")
    assert background.wait_idle(60), "a background run of an earlier test is still going"
    with api_store(request.param, folder) as store_url:
        write(folder, store=store_url, metrics=PROJECT_METRICS,
              channels={"ops-hook": {"kind": "webhook", "url": "https://hooks.example/x?token=s3cret",
                                          "secret_env": "OPS_HOOK_SECRET"}})
        project, store = load(folder)
        run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), params={"why": "fixture"})
        keys = usual_tokens(store, scoped_admin=True)
        app = create_app(ApiSettings(project=project, base_dir=folder))
        app.state.folder = folder
        yield app, keys, store
        assert background.wait_idle(60), "a background run outlived its test"
        close(app, store)


def finished(app, key: str, run_id: int, timeout: float = 60) -> dict:
    """Poll the run until it is no longer running (as a client would)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = call(app, "GET", f"/api/v1/runs/{run_id}", key).json()
        if run["state"] != "running":
            assert background.wait_idle(10)
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still running after {timeout} s")


def stored(store, metric: str, grain: str, first: date, last: date, key: str = "") -> dict:
    with store.engine.connect() as conn:
        rows = conn.execute(select(V.period_start, V.value, V.run_id).where(
            V.metric == metric, V.grain == grain, V.dims_key == key, V.period_start.between(first, last))).all()
    return {p: (float(v), r) for p, v, r in rows}


# -- runs ------------------------------------------------------------------------------------

# Day k of storekit's data (from 2026-02-01) has k % 5 + 1 events per tenant: 9 March is k = 36
# -> 2 each, 4 in all; 10 March k = 37 -> 3 each, 6 in all.
def test_a_run_computes_in_the_background_and_is_listed(api):
    app, keys, store = api
    before = stored(store, "revenue", "day", date(2026, 3, 9), date(2026, 3, 10))
    r = call(app, "POST", "/api/v1/runs", keys["admin"],
             {"start": "2026-03-09", "end": "2026-03-10", "metrics": ["events"], "grains": ["day"]})
    assert r.status_code == 202, r.text
    run_id = r.json()["id"]
    assert r.headers["location"] == f"/api/v1/runs/{run_id}"
    run = finished(app, keys["viewer"], run_id)
    assert (run["state"], run["kind"], run["range_start"], run["range_end"], run["error"]) == (
        "succeeded", "compute", "2026-03-09", "2026-03-10", None)
    assert run["params"]["metrics"] == ["events"] and run["params"]["by"] == "ops" and "pid" not in run["params"]
    # The run rewrote events at day grain (total and per tenant), and nothing else.
    assert stored(store, "events", "day", date(2026, 3, 9), date(2026, 3, 10)) == {
        date(2026, 3, 9): (4.0, run_id), date(2026, 3, 10): (6.0, run_id)}
    assert stored(store, "events", "day", date(2026, 3, 10), date(2026, 3, 10), "tenant=acme") == {
        date(2026, 3, 10): (3.0, run_id)}
    assert stored(store, "revenue", "day", date(2026, 3, 9), date(2026, 3, 10)) == before
    assert run["rows"] == 6  # 2 days x (total, acme, globex)
    history = call(app, "GET", "/api/v1/runs?limit=2", keys["acme"]).json()
    assert history[0]["id"] == run_id and len(history) == 2 and history[1]["id"] < run_id
    audit = call(app, "GET", "/api/v1/audit?limit=5", keys["admin"]).json()
    assert any(e["action"] == "run.start" and e["target"] == str(run_id) and e["actor"] == "ops" for e in audit)


def test_a_dry_run_counts_and_writes_nothing(api):
    app, keys, store = api
    before = stored(store, "events", "day", date(2026, 3, 1), date(2026, 3, 3))
    r = call(app, "POST", "/api/v1/runs", keys["admin"],
             {"start": "2026-03-01", "end": "2026-03-03", "grains": ["day"], "dry_run": True})
    run = finished(app, keys["admin"], r.json()["id"])
    # 3 days of events (total + 2 tenants), revenue and the two manual metrics (none set: NULL):
    # 18 values, all as stored.
    assert (run["state"], run["kind"], run["rows"]) == ("succeeded", "dry-run", 18)
    assert (run["params"]["changed"], run["params"]["unchanged"]) == (0, 18)
    assert stored(store, "events", "day", date(2026, 3, 1), date(2026, 3, 3)) == before


def test_one_run_at_a_time(api, monkeypatch):
    import daypulse.engine.run as engine_run

    app, keys, _ = api
    release, entered = threading.Event(), threading.Event()
    real = engine_run.compute_values

    def held(*args, **kwargs):  # the first run waits here until the second request has been answered
        entered.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_run, "compute_values", held)
    body = {"start": "2026-03-10", "end": "2026-03-10", "metrics": ["events"], "grains": ["day"]}
    first = call(app, "POST", "/api/v1/runs", keys["admin"], body)
    assert first.status_code == 202 and entered.wait(30)
    try:
        second = call(app, "POST", "/api/v1/runs", keys["admin"], body)
        assert second.status_code == 409 and second.headers["content-type"] == "application/problem+json"
        assert f"run {first.json()['id']} is still running" in second.json()["detail"]
        assert call(app, "GET", f"/api/v1/runs/{first.json()['id']}", keys["viewer"]).json()["state"] == "running"
    finally:
        release.set()
    assert finished(app, keys["admin"], first.json()["id"])["state"] == "succeeded"
    # The slot is free again; the guard on its own refuses a second taker.
    background.SLOT.take()
    try:
        with pytest.raises(background.RunInProgress):
            background.SLOT.take()
    finally:
        background.SLOT.give_back()


def test_a_run_that_fails_ends_failed_with_its_error(api):
    app, keys, store = api
    source = str(app.state.folder / "app.duckdb")
    _rename(source, "events", "events_gone")  # the source loses its table, as after a bad migration
    try:
        r = call(app, "POST", "/api/v1/runs", keys["admin"],
                 {"start": "2026-03-10", "end": "2026-03-10", "metrics": ["events"]})
        run = finished(app, keys["admin"], r.json()["id"])
    finally:
        _rename(source, "events_gone", "events")
    assert run["state"] == "failed" and run["finished_at"] and run["rows"] is None
    assert run["error"] == ("SourceError: table 'events' not found in the source (did you mean 'events_gone'?"
                            " tables there: events_gone, subscriptions)"), run["error"]
    assert stored(store, "events", "day", date(2026, 3, 10), date(2026, 3, 10))[date(2026, 3, 10)][0] == 6.0


def _rename(path: str, old: str, new: str) -> None:
    con = duckdb.connect(path)
    try:
        con.execute(f"ALTER TABLE {old} RENAME TO {new}")
    finally:
        con.close()


def test_a_run_whose_thread_dies_before_computing_ends_failed(api, monkeypatch):
    from daypulse.store import values as sv

    app, keys, _ = api

    def broken(*args, **kwargs):  # a bug (or a lost store) before the compute records anything
        raise RuntimeError("the store went away")

    monkeypatch.setattr(sv, "stale_counts", broken)
    r = call(app, "POST", "/api/v1/runs", keys["admin"],
             {"start": "2026-03-10", "end": "2026-03-10", "metrics": ["events"]})
    run = finished(app, keys["admin"], r.json()["id"])
    assert (run["state"], run["error"]) == ("failed", "RuntimeError: the store went away")


def test_a_tenant_sees_that_a_run_failed_but_not_its_error_or_params(api):
    from daypulse.store import runs
    from daypulse.store import values as sv

    app, keys, store = api
    run_id = sv.start_run(store, "compute", {"why": "ops: the warehouse password rotated"},
                          date(2026, 3, 2), date(2026, 3, 2))
    assert runs.settle(store, run_id, "OperationalError: password authentication failed for user 'etl'")
    company = call(app, "GET", f"/api/v1/runs/{run_id}", keys["viewer"]).json()
    assert "etl" in company["error"] and company["params"]["why"].startswith("ops:")
    for url in (f"/api/v1/runs/{run_id}", "/api/v1/runs"):
        r = call(app, "GET", url, keys["acme"])
        assert r.status_code == 200 and "etl" not in r.text and "warehouse" not in r.text, r.text
    tenant = call(app, "GET", f"/api/v1/runs/{run_id}", keys["acme"]).json()
    assert tenant["state"] == "failed" and tenant["error"].startswith("failed") and tenant["params"] is None


def test_a_run_left_behind_by_its_thread_is_settled(api):
    from daypulse.store import runs
    from daypulse.store import values as sv

    _, _, store = api
    run_id = sv.start_run(store, "compute", {"why": "a thread that died"}, date(2026, 3, 1), date(2026, 3, 1))
    assert runs.settle(store, run_id, "RuntimeError: boom")
    assert not runs.settle(store, run_id, "again")  # a finished run keeps its outcome
    row = runs.get(store, run_id)
    assert (row.state, row.error) == ("failed", "RuntimeError: boom")


@pytest.mark.parametrize("body, field", [
    ({"start": "2026-03-02", "end": "2026-03-01"}, "end"),
    ({"start": "2025-01-01", "end": "2026-03-01"}, "end"),  # 425 days: more than a year per run
    ({"start": "2099-01-01"}, "start"),
    ({"end": "2026-03-01"}, "start"),
    ({"days_back": 3, "start": "2026-03-01"}, "days_back"),
    ({"days_back": 0}, "days_back"),
    ({"start": "2026-03-01", "metrics": ["events", "signups"]}, "metrics"),
    ({"start": "2026-03-01", "grains": ["fortnight"]}, "grains"),
    ({"start": "2026-13-01"}, "start"),
    ({"start": "2026-03-01", "speed": "fast"}, "speed"),
])
def test_bad_runs_are_422_naming_the_field(api, body, field):
    app, keys, store = api
    with store.engine.connect() as conn:
        before = conn.execute(select(Run.id).order_by(Run.id.desc()).limit(1)).scalar()
    r = call(app, "POST", "/api/v1/runs", keys["admin"], body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["detail"].startswith(field), r.json()
    with store.engine.connect() as conn:
        assert conn.execute(select(Run.id).order_by(Run.id.desc()).limit(1)).scalar() == before
    assert call(app, "GET", "/api/v1/runs/999999", keys["viewer"]).status_code == 404


# -- manual values -----------------------------------------------------------------------------

def test_manual_values_set_list_replace_delete(api):
    app, keys, _ = api
    url = "/api/v1/manual-values/burn_rate/2026-03-01"
    r = call(app, "PUT", url, keys["admin"], {"value": "4500000", "note": "March budget"})
    assert r.status_code == 200, r.text
    assert (r.json()["value"], r.json()["previous"], r.json()["changed"], r.json()["set_by"]) == (
        "4500000", None, True, "ops")
    r = call(app, "PUT", url, keys["admin"], {"value": 4600000.00, "note": "March budget"})
    assert (r.json()["value"], r.json()["previous"], r.json()["changed"]) == ("4600000", "4500000", True)
    r = call(app, "PUT", "/api/v1/manual-values/runway_months/2026-03-01", keys["admin"], {"value": 14.25})
    assert r.json()["value"] == "14.25"
    r = call(app, "PUT", "/api/v1/manual-values/runway_months/2026-03-01", keys["admin"], {"value": "14.250"})
    assert (r.json()["value"], r.json()["changed"]) == ("14.25", False)  # the same number: nothing written
    call(app, "PUT", "/api/v1/manual-values/runway_months/2026-02-01", keys["admin"], {"value": "0.1"})
    got = call(app, "GET", "/api/v1/manual-values?metric=runway_months", keys["viewer"]).json()
    assert [(v["effective_from"], v["value"]) for v in got] == [("2026-02-01", "0.1"), ("2026-03-01", "14.25")]
    every = call(app, "GET", "/api/v1/manual-values", keys["viewer"]).json()
    assert [(v["metric"], v["value"], v["note"]) for v in every] == [
        ("burn_rate", "4600000", "March budget"), ("runway_months", "0.1", None), ("runway_months", "14.25", None)]
    assert call(app, "DELETE", url, keys["admin"]).status_code == 204
    assert call(app, "DELETE", url, keys["admin"]).status_code == 404
    assert call(app, "GET", "/api/v1/manual-values?metric=burn_rate", keys["viewer"]).json() == []
    actions = [(e["action"], e["target"]) for e in call(app, "GET", "/api/v1/audit?limit=5", keys["admin"]).json()]
    assert actions[0] == ("manual.unset", "burn_rate@2026-03-01")
    for metric in ("runway_months",):  # leave the store as the other tests expect it
        for day in ("2026-02-01", "2026-03-01"):
            assert call(app, "DELETE", f"/api/v1/manual-values/{metric}/{day}", keys["admin"]).status_code == 204


def test_manual_values_of_a_metric_gone_from_the_project_can_be_listed_and_removed(api):
    from decimal import Decimal

    from daypulse.store.manual import set_value

    app, keys, store = api
    set_value(store, "cash_burn", date(2026, 1, 1), Decimal("-250000.5"), set_by="cli")
    got = call(app, "GET", "/api/v1/manual-values?metric=cash_burn", keys["admin"]).json()
    assert [(v["metric"], v["value"], v["set_by"]) for v in got] == [("cash_burn", "-250000.5", "cli")]
    assert call(app, "DELETE", "/api/v1/manual-values/cash_burn/2026-01-01", keys["admin"]).status_code == 204
    assert call(app, "GET", "/api/v1/manual-values?metric=cash_burn", keys["admin"]).status_code == 404
    assert call(app, "DELETE", "/api/v1/manual-values/cash_burn/2026-01-01", keys["admin"]).status_code == 404
    r = call(app, "GET", "/api/v1/manual-values?metric=revenue", keys["admin"])
    assert r.status_code == 422 and "metric: 'revenue' is not a manual metric" in r.json()["detail"]


@pytest.mark.parametrize("url, body, status, words", [
    ("/api/v1/manual-values/burn_rate/2026-03-01", {"value": "12.5"}, 422, "value: burn_rate is a currency metric"),
    ("/api/v1/manual-values/burn_rate/2026-03-01", {"value": "lots"}, 422, "value: not a number: 'lots'"),
    ("/api/v1/manual-values/burn_rate/2026-03-01", {"value": True}, 422, "value"),
    ("/api/v1/manual-values/burn_rate/2026-03-01", {}, 422, "value"),
    ("/api/v1/manual-values/burn_rate/2026-02-30", {"value": "1"}, 422, "date"),
    ("/api/v1/manual-values/revenue/2026-03-01", {"value": "1"}, 422, "metric: 'revenue' is not a manual metric"),
    ("/api/v1/manual-values/burn_rat/2026-03-01", {"value": "1"}, 404, "no metric 'burn_rat'"),
])
def test_bad_manual_values_are_refused(api, url, body, status, words):
    app, keys, _ = api
    r = call(app, "PUT", url, keys["admin"], body)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json", r.text
    assert words in r.json()["detail"], r.json()
    assert call(app, "GET", "/api/v1/manual-values", keys["admin"]).json() == []


# -- thresholds and alerts -----------------------------------------------------------------------

# The latest stored day is 10 March: events 6 in all, 3 for acme, 3 for globex; revenue 1200 cents
# (each tenant's 3 events are 100 + 200 + 300 cents).
RULES = [
    {"metric": "events", "op": "above", "value": 5, "note": "busy day"},                          # 6 > 5
    {"metric": "events", "op": "below", "value": "6"},                                            # 6 < 6: no
    {"metric": "events", "op": "below", "value": 4, "dims": {"tenant": "acme"}, "severity": "critical"},  # 3 < 4
    {"metric": "events", "op": "above", "value": 2.5, "dims": {"tenant": "globex"}},              # 3 > 2.5
    {"metric": "revenue", "op": "below", "value": 1000},                                          # 1200: no
    {"metric": "events", "grain": "week", "op": "above", "value": 1000},                          # no
]


@pytest.fixture
def rules(api):
    app, keys, _ = api
    ids = []
    for body in RULES:
        r = call(app, "POST", "/api/v1/config/thresholds", keys["admin"], body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    yield ids
    for id in ids:
        call(app, "DELETE", f"/api/v1/config/thresholds/{id}", keys["admin"])
    assert call(app, "GET", "/api/v1/config/thresholds", keys["admin"]).json() == []


def test_alerts_list_exactly_the_rules_the_latest_values_cross(api, rules):
    app, keys, _ = api
    got = call(app, "GET", "/api/v1/alerts", keys["viewer"]).json()
    assert [(a["threshold_id"], a["metric"], a["dims"], a["op"], a["limit"], a["value"], a["period_start"],
             a["severity"]) for a in got] == [
        (rules[2], "events", {"tenant": "acme"}, "below", 4, 3, "2026-03-10", "critical"),
        (rules[0], "events", {}, "above", 5, 6, "2026-03-10", "warning"),
        (rules[3], "events", {"tenant": "globex"}, "above", 2.5, 3, "2026-03-10", "warning")]
    assert got[1]["note"] == "busy day"
    assert call(app, "GET", "/api/v1/alerts?grain=week", keys["viewer"]).json() == []
    assert [a["threshold_id"] for a in call(app, "GET", "/api/v1/alerts?tenant=globex", keys["viewer"]).json()] == [
        rules[3]]
    # The dashboard's call: the same breaches, as dataclasses.
    from daypulse.alerts.thresholds import breaches

    found = breaches(app.state.project, app.state.store, scope={"tenant": "acme"})
    assert [(b.threshold_id, b.value, b.limit, b.period_start) for b in found] == [(rules[2], 3, 4, date(2026, 3, 10))]


def test_a_scoped_token_sees_its_tenant_rules_only(api, rules):
    app, keys, _ = api
    mine = call(app, "GET", "/api/v1/config/thresholds", keys["acme"])
    assert [r["id"] for r in mine.json()] == [rules[2]] and "globex" not in mine.text
    alerts = call(app, "GET", "/api/v1/alerts", keys["acme"])
    assert [(a["threshold_id"], a["value"]) for a in alerts.json()] == [(rules[2], 3)] and "globex" not in alerts.text
    everyone = call(app, "GET", "/api/v1/config/thresholds", keys["viewer"]).json()
    assert [r["id"] for r in everyone] == rules
    assert everyone[3]["value"] == 2.5 and everyone[1]["value"] == 6 and everyone[5]["grain"] == "week"
    for url in ("/api/v1/alerts?tenant=globex", "/api/v1/config/thresholds?tenant=globex"):
        r = call(app, "GET", url, keys["acme"])
        assert r.status_code == 403 and "globex" not in r.text, r.text


def test_thresholds_duplicates_and_bad_rules(api, rules):
    app, keys, _ = api
    dup = call(app, "POST", "/api/v1/config/thresholds", keys["admin"], {**RULES[2], "value": 1})
    assert dup.status_code == 409 and f"threshold {rules[2]}" in dup.json()["detail"], dup.text
    for body, field in [({"metric": "signup", "op": "above", "value": 1}, "metric"),
                        ({"metric": "events", "op": "above", "value": 1, "dims": {"region": "eu"}}, "dims.region"),
                        ({"metric": "revenue", "op": "above", "value": 1, "dims": {"tenant": "acme"}}, "dims.tenant"),
                        ({"metric": "events", "op": "sideways", "value": 1}, "op"),
                        ({"metric": "events", "op": "above", "value": "many"}, "value"),
                        ({"metric": "events", "op": "above", "value": 1, "grain": "hour"}, "grain"),
                        ({"metric": "events", "op": "above", "value": 1, "severity": "fatal"}, "severity"),
                        ({"metric": "events", "op": "above"}, "value")]:
        r = call(app, "POST", "/api/v1/config/thresholds", keys["admin"], body)
        assert r.status_code == 422 and r.json()["detail"].startswith(field), (body, r.text)
    assert call(app, "DELETE", "/api/v1/config/thresholds/999999", keys["admin"]).status_code == 404
    assert len(call(app, "GET", "/api/v1/config/thresholds", keys["admin"]).json()) == len(RULES)


def test_settings_show_no_secrets(api):
    app, keys, _ = api
    r = call(app, "GET", "/api/v1/config", keys["admin"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["name"], body["timezone"], body["week_start"], body["metrics"]) == ("t", "Asia/Kolkata", "monday", 4)
    assert body["store"] == {"dialect": app.state.store.dialect} and body["source"] == {"dialect": "duckdb"}
    assert body["manual_metrics"] == ["burn_rate", "runway_months"]
    assert {"pulse", "pulse-week"} <= set(body["reports"])
    assert body["channels"] == [{"name": "file", "kind": "file"}, {"name": "ops-hook", "kind": "webhook"}]
    assert body["delivery"]["max_attempts"] == 5
    for secret in ("s3cret", "hooks.example", "app.duckdb", "store.db", "postgresql://"):
        assert secret not in r.text


# -- authorization --------------------------------------------------------------------------------

def _threshold(app, keys) -> str:
    r = call(app, "POST", "/api/v1/config/thresholds", keys["admin"],
             {"metric": "events", "op": "below", "value": 0, "dims": {"tenant": "acme"}})
    return f"/api/v1/config/thresholds/{r.json()['id']}"


def _manual(app, keys) -> str:
    call(app, "PUT", "/api/v1/manual-values/burn_rate/2026-01-01", keys["admin"], {"value": 1})
    return "/api/v1/manual-values/burn_rate/2026-01-01"


RUN = {"start": "2026-03-01", "end": "2026-03-01", "metrics": ["events"], "grains": ["day"]}
MATRIX = [  # (method, url or a function making the target, body, admin only, admin's status, scoped may read)
    ("GET", "/api/v1/runs", None, False, 200, True),
    ("GET", "/api/v1/runs/1", None, False, 200, True),
    ("POST", "/api/v1/runs", RUN, True, 202, False),
    ("GET", "/api/v1/manual-values", None, False, 200, False),
    ("PUT", "/api/v1/manual-values/burn_rate/2026-01-01", {"value": "1"}, True, 200, False),
    ("DELETE", _manual, None, True, 204, False),
    ("GET", "/api/v1/config/thresholds", None, False, 200, True),
    ("POST", "/api/v1/config/thresholds", {"metric": "events", "op": "above", "value": 99}, True, 201, False),
    ("DELETE", _threshold, None, True, 204, False),
    ("GET", "/api/v1/alerts", None, False, 200, True),
    ("GET", "/api/v1/config", None, True, 200, False),
]


@pytest.mark.parametrize("method, target, body, admin_only, admin_status, scoped_reads", MATRIX,
                         ids=[f"{m} {t if isinstance(t, str) else t.__name__}" for m, t, *_ in MATRIX])
def test_authorization_matrix(api, method, target, body, admin_only, admin_status, scoped_reads):
    app, keys, _ = api
    url = target(app, keys) if callable(target) else target
    try:
        assert call(app, method, url, body=body).status_code == 401
        assert call(app, method, url, "dp_not-a-real-token", body).status_code == 401
        viewer = call(app, method, url, keys["viewer"], body)
        assert viewer.status_code == (403 if admin_only else 200), viewer.text
        for who in ("acme", "acme-admin"):  # company-wide changes need a token without a scope
            scoped = call(app, method, url, keys[who], body)
            assert scoped.status_code == (200 if scoped_reads else 403), (who, scoped.text)
            assert "globex" not in scoped.text
            if scoped_reads and method == "GET":
                asked = call(app, method, url + ("&" if "?" in url else "?") + "tenant=globex", keys[who])
                assert asked.status_code == (403 if url.endswith(("thresholds", "alerts")) else 200), asked.text
                assert "globex" not in asked.text.replace("tenant=globex", "")
        admin = call(app, method, url, keys["admin"], body)
        assert admin.status_code == admin_status, admin.text
    finally:
        if method == "POST" and url.endswith("/runs"):
            assert background.wait_idle(60)
        if method == "POST" and url.endswith("thresholds"):
            for r in call(app, "GET", url, keys["admin"]).json():
                call(app, "DELETE", f"{url}/{r['id']}", keys["admin"])
        if url.startswith("/api/v1/manual-values/"):
            call(app, "DELETE", url, keys["admin"])


# -- the CLI ------------------------------------------------------------------------------------

def test_thresholds_cli(tmp_path, capsys, monkeypatch):
    write(tmp_path, metrics=PROJECT_METRICS)
    project, store = load(tmp_path)
    run_compute(project, store, date(2026, 3, 9), date(2026, 3, 10))
    code, _, err = cli(capsys, monkeypatch, tmp_path, "thresholds", "add", "--metric", "events", "--op", "above",
                       "--value", "5", "--note", "busy")
    assert code == 0 and "threshold 1: events (day, total) above 5 (warning)" in err, err
    code, _, err = cli(capsys, monkeypatch, tmp_path, "thresholds", "add", "-m", "events", "--op", "below",
                       "--value", "-1", "--dim", "tenant=acme", "--severity", "critical", "--grain", "week")
    assert code == 0 and "threshold 2: events (week, tenant=acme) below -1 (critical)" in err, err
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "thresholds", "list", "--format", "json")
    listed = json.loads(out)
    assert [(r["id"], r["value"], r["dims"], r["breached"]) for r in listed] == [
        (1, 5, {}, {"period_start": "2026-03-10", "value": 6}), (2, -1, {"tenant": "acme"}, None)]
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "thresholds", "list")
    assert code == 0 and "CROSSED (6 on 2026-03-10)" in out
    for args, words in [
        (("--metric", "events", "--op", "above", "--value", "7"), "there is already a rule for events (day, total)"
                                                                  " above (threshold 1"),
        (("--metric", "events", "--op", "above", "--value", "7", "--dim", "region=eu"),
         "--dim region: metric 'events' has no dimension 'region'"),
        (("--metric", "events", "--op", "sideways", "--value", "7"), "--op: 'sideways' is not one of above, below"),
        (("--metric", "event", "--op", "above", "--value", "7"), "--metric: unknown metric 'event'"),
        (("--metric", "events", "--op", "above", "--value", "x"), "--value: not a number: 'x'"),
        (("--metric", "events", "--op", "above", "--value", "7", "--dim", "tenant"), "--dim: 'tenant' is not"),
    ]:
        code, _, err = cli(capsys, monkeypatch, tmp_path, "thresholds", "add", *args)
        assert code == 2 and words in err, (args, err)
    assert cli(capsys, monkeypatch, tmp_path, "thresholds", "remove", "1")[0] == 0
    code, _, err = cli(capsys, monkeypatch, tmp_path, "thresholds", "remove", "1")
    assert code == 2 and "no threshold 1" in err
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "thresholds", "list", "--format", "json")
    assert [r["id"] for r in json.loads(out)] == [2]
    assert [e["action"] for e in tokens.audit_entries(store, 10)] == ["threshold.remove", "threshold.add",
                                                                      "threshold.add"]
