"""The quarter grain end to end: opt-in (``compute.grains`` or a metric's ``grains:``), compute,
incremental runs, export, the API, reports with ``period: quarter``, the dashboard, and the
message when a grain is asked for that a metric is not computed at.

The storekit data from 2025-10-01 for 182 days (through 2026-03-31): day k has k % 5 + 1 events
per tenant (acme, globex) at 12:00 UTC (17:30 in Kolkata, the same local day), the j-th worth
100 * (j + 1) cents. Q4 2025 is k = 0..91, Q1 2026 k = 92..181.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from apikit import call, close, usual_tokens
from storekit import PROJECT, make_source

FIRST = date(2025, 10, 1)
DAYS = 182
Q4, Q1 = date(2025, 10, 1), date(2026, 1, 1)
AS_OF = datetime(2026, 4, 10, 12, tzinfo=UTC)
OPT_IN = "add quarter to compute.grains in daypulse.yml"

METRICS = {
    **PROJECT["metrics"],
    "events_qtd": {"kind": "cumulative", "of": "events", "reset": "quarter"},
}
REPORTS = {
    "quarterly-pulse": {"title": "Quarterly pulse", "period": "quarter", "compare": ["previous", "last_year"],
                        "spark": 4, "sections": [{"title": "Usage", "metrics": ["events", "revenue",
                                                                                "active_subscriptions"]}],
                        "changes": {"history": 3, "min_history": 3}},
    "qtd-daily": {"title": "QTD", "period": "day", "compare": ["previous"], "spark": 0,
                  "sections": [{"title": "So far", "metrics": ["events_qtd"]}]},
}


def per_tenant(d: date) -> int:
    k = (d - FIRST).days
    return k % 5 + 1 if 0 <= k < DAYS else 0


def events(first: date, last: date) -> int:
    return sum(2 * per_tenant(first + timedelta(days=i)) for i in range((last - first).days + 1))


def revenue(first: date, last: date) -> int:
    return sum(2 * 100 * n * (n + 1) // 2
               for n in (per_tenant(first + timedelta(days=i)) for i in range((last - first).days + 1)))


def daypulse(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daypulse.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))


def write(folder: Path, **changes) -> Path:
    db = folder / "app.duckdb"
    source = f"duckdb:///{db}" if db.exists() else make_source(db, days=DAYS, start=datetime(2025, 10, 1))
    data = {"name": "q", "timezone": "Asia/Kolkata", "source": source, "store": "sqlite:///store.db",
            "metrics": METRICS, **changes}
    path = folder / "daypulse.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load(folder: Path):
    from daypulse.project import load_project
    from daypulse.store.db import open_store

    project = load_project(folder / "daypulse.yml")
    return project, open_store(project.store)


@pytest.fixture(scope="module")
def opted(tmp_path_factory):
    """The project opted in (compute.grains), computed over the two quarters."""
    from daypulse.engine.run import run_compute

    folder = tmp_path_factory.mktemp("quarter")
    write(folder, compute={"grains": ["day", "week", "month", "quarter"]}, reports=REPORTS)
    project, store = load(folder)
    run_compute(project, store, FIRST, date(2026, 3, 31), as_of=AS_OF)
    yield folder, project, store
    store.engine.dispose()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The same data, not opted in: day, week and month only."""
    from daypulse.engine.run import run_compute

    folder = tmp_path_factory.mktemp("no-quarter")
    write(folder)
    project, store = load(folder)
    run_compute(project, store, date(2026, 3, 1), date(2026, 3, 31), as_of=AS_OF)
    yield folder, project, store
    store.engine.dispose()


# -- opting in ----------------------------------------------------------------------------------

def test_a_metric_is_computed_at_its_grains_or_the_projects(tmp_path):
    from daypulse.project import project_from_dict

    raw = {"source": "duckdb:///x.duckdb", "metrics": {
        "a": {"table": "t", "time": "ts"},
        "b": {"table": "t", "time": "ts", "grains": ["day", "quarter"]},
        "c": {"kind": "cumulative", "of": "a", "grains": ["day"]}}}
    p = project_from_dict(raw)
    assert p.grains_of("a", ["day", "week", "month", "quarter"]) == ("day", "week", "month")
    assert p.grains_of("b", ["day", "week", "month", "quarter"]) == ("day", "quarter")
    assert p.grains_of("c", ["week"]) == ()
    assert p.computed_grains() == ("day", "week", "month", "quarter")
    opted = project_from_dict({**raw, "compute": {"grains": ["day", "quarter"]}})
    assert opted.grains_of("a", ["day", "week", "month", "quarter"]) == ("day", "quarter")
    assert opted.computed_grains(["c"]) == ("day",)
    assert p.grain_problem(["a"], "quarter") == (
        "metric 'a' is not computed by quarter (add quarter to compute.grains in daypulse.yml,"
        " or to the metric's grains:)")
    assert p.grain_problem(["a", "b"], "quarter") is None
    assert p.grain_problem(None, "year") == (
        "no metric is computed by year (add year to compute.grains in daypulse.yml, or to a metric's grains:)")


def test_a_ratio_opted_in_needs_its_parts_at_that_grain():
    from daypulse.errors import ConfigError
    from daypulse.project import parse_project

    text = """source: duckdb:///x.duckdb
metrics:
  a: {table: t, time: ts}
  b: {table: t, time: ts, grains: [day, quarter]}
  r:
    kind: ratio
    numerator: a
    denominator: b
    grains: [day, quarter]
"""
    with pytest.raises(ConfigError) as err:
        parse_project(text)
    (issue,) = err.value.issues
    assert issue.line == 9 and "grains: 'a' is not computed by quarter" in issue.message
    assert "add quarter to compute.grains" in (issue.hint or "")
    parse_project(text.replace("  a: {table: t, time: ts}", "  a: {table: t, time: ts, grains: [day, quarter]}"))


# -- compute, incremental runs, export ----------------------------------------------------------

def test_a_metric_opted_in_alone_gets_quarters_incrementally_and_exports_them(tmp_path):
    """``grains:`` on one metric: a default (incremental) run computes its quarters whole, the
    export has them; the other metrics have none, and asking for them is an error saying how."""
    metrics = {**METRICS, "events": {**METRICS["events"], "grains": ["day", "week", "month", "quarter"]}}
    write(tmp_path, metrics=metrics)
    r = daypulse("compute", "--start", "2025-10-01", "--end", "2026-02-15", "--as-of", "2026-02-16T12:00:00+00:00",
                 cwd=tmp_path)
    assert r.returncode == 0, r.stderr

    def quarters():
        r = daypulse("export", "--format", "csv", "--grain", "quarter", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return list(csv.reader(io.StringIO(r.stdout)))[1:]

    assert quarters() == [
        ["events", "quarter", "2025-10-01", "", str(events(Q4, date(2025, 12, 31)))],
        ["events", "quarter", "2025-10-01", "tenant=acme", str(events(Q4, date(2025, 12, 31)) // 2)],
        ["events", "quarter", "2025-10-01", "tenant=globex", str(events(Q4, date(2025, 12, 31)) // 2)],
        # so far: through the run's today (16 February in Kolkata)
        ["events", "quarter", "2026-01-01", "", str(events(Q1, date(2026, 2, 16)))],
        ["events", "quarter", "2026-01-01", "tenant=acme", str(events(Q1, date(2026, 2, 16)) // 2)],
        ["events", "quarter", "2026-01-01", "tenant=globex", str(events(Q1, date(2026, 2, 16)) // 2)]]
    # The next run is incremental (no range): from 13 February on, its quarter recomputed whole.
    r = daypulse("compute", "--as-of", "2026-04-10T12:00:00+00:00", cwd=tmp_path)
    assert r.returncode == 0 and "incremental: since 2026-02-15" in r.stderr, r.stderr
    got = {(row[2], row[3]): int(row[4]) for row in quarters()}
    assert got[("2026-01-01", "")] == events(Q1, date(2026, 3, 31)) == 540
    assert got[("2026-04-01", "")] == 0  # the quarter running on 9 April: nothing yet
    r = daypulse("export", "--grain", "quarter", "--metric", "revenue", cwd=tmp_path)
    assert r.returncode == 2 and "metric 'revenue' is not computed by quarter" in r.stderr, r.stderr
    assert "or to the metric's grains:" in r.stderr
    r = daypulse("compute", "--date", "2026-03-01", "--grain", "quarter", "--metric", "revenue", cwd=tmp_path)
    assert r.returncode == 2 and "--grain quarter: metric 'revenue' is not computed by quarter" in r.stderr


def test_a_project_not_opted_in_says_how_to_opt_in(plain):
    folder, _, _ = plain
    for args in (["compute", "--date", "2026-03-01", "--grain", "quarter"],
                 ["export", "--grain", "quarter"], ["export", "--grain", "year", "--metric", "events"]):
        r = daypulse(*args, cwd=folder)
        assert r.returncode == 2, (args, r.stderr)
        grain = args[args.index("--grain") + 1]
        assert f"add {grain} to compute.grains in daypulse.yml" in r.stderr, (args, r.stderr)
    r = daypulse("export", "--grain", "month", "--metric", "events", "--start", "2026-03-01", cwd=folder)
    assert r.returncode == 0 and r.stdout.count("\n") == 3, r.stderr


def test_a_report_of_quarters_in_a_project_not_opted_in_is_refused_at_its_line(tmp_path):
    write(tmp_path, reports={"q": REPORTS["quarterly-pulse"]})
    r = daypulse("check", "--offline", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert re.search(r"daypulse\.yml:\d+: error: reports\.q: period quarter: none of its metrics is computed by"
                     r" quarter", r.stderr), r.stderr
    assert OPT_IN in r.stderr


# -- the API ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def apps(opted, plain):
    from daypulse.app import ApiSettings, create_app

    out = {}
    for name, (folder, project, store) in (("opted", opted), ("plain", plain)):
        out[name] = (create_app(ApiSettings(project=project, base_dir=folder)), usual_tokens(store), store)
    yield out
    for app, _, store in out.values():
        close(app, store)


def test_series_latest_summary_and_export_by_quarter(apps):
    app, keys, _ = apps["opted"]
    r = call(app, "GET", "/api/v1/metrics/events/series?start=2025-11-15&end=2026-02-01&grain=quarter",
             keys["viewer"])
    assert r.status_code == 200, r.text
    q4, q1 = events(Q4, date(2025, 12, 31)), events(Q1, date(2026, 3, 31))
    assert r.json()["points"] == [{"period_start": "2025-10-01", "value": q4},
                                  {"period_start": "2026-01-01", "value": q1}]
    r = call(app, "GET", "/api/v1/metrics/events/series?start=2026-02-01&end=2026-03-01&grain=quarter"
                         "&compare=previous", keys["viewer"])
    assert [(p["period_start"], p["value"], p["compare_start"], p["compare_value"]) for p in r.json()["points"]] == [
        ("2026-01-01", q1, "2025-10-01", q4)]
    r = call(app, "GET", "/api/v1/metrics/events/series?start=2026-02-01&end=2026-03-01&grain=quarter"
                         "&compare=last_year", keys["viewer"])
    assert [(p["compare_start"]) for p in r.json()["points"]] == ["2025-01-01"]
    acme = call(app, "GET", "/api/v1/metrics/events/series?start=2026-01-01&end=2026-01-01&grain=quarter"
                            "&tenant=acme", keys["acme"]).json()
    assert acme["points"] == [{"period_start": "2026-01-01", "value": q1 // 2}]
    latest = call(app, "GET", "/api/v1/metrics/revenue/latest?grain=quarter", keys["viewer"]).json()
    assert (latest["period_start"], latest["value"]) == ("2026-01-01", revenue(Q1, date(2026, 3, 31)))
    s = call(app, "GET", "/api/v1/summary?date=2026-02-10&grain=quarter&metric=events&metric=events_qtd",
             keys["viewer"])
    assert s.status_code == 200, s.text
    body = s.json()
    assert (body["grain"], body["period_start"]) == ("quarter", "2026-01-01")
    tile, qtd = body["tiles"]
    assert (tile["value"], tile["previous"], tile["previous_start"], tile["compared_with"]) == (
        q1, q4, "2025-10-01", "vs the quarter before")
    assert tile["change"] == q1 - q4 and tile["verdict"] in ("good", "bad", "flat")
    assert qtd["value"] == q1  # a quarter of a quarter-to-date value is the quarter's
    export = call(app, "GET", "/api/v1/export?format=json&metric=events&grain=quarter", keys["viewer"]).json()
    assert [(x["period"], x["dimensions"], x["value"]) for x in export if not x["dimensions"]] == [
        ("2025-10-01", {}, q4), ("2026-01-01", {}, q1)]


def test_the_api_refuses_a_grain_not_computed_with_how_to_opt_in(apps):
    app, keys, _ = apps["plain"]
    for method, url, body in [
            ("GET", "/api/v1/metrics/events/series?start=2026-01-01&end=2026-03-31&grain=quarter", None),
            ("GET", "/api/v1/metrics/events/latest?grain=quarter", None),
            ("GET", "/api/v1/summary?grain=quarter", None),
            ("GET", "/api/v1/summary?grain=quarter&metric=events", None),
            ("GET", "/api/v1/export?grain=quarter", None),
            ("POST", "/api/v1/runs", {"start": "2026-03-01", "end": "2026-03-01", "grains": ["quarter"]})]:
        r = call(app, method, url, keys["admin"], body)
        assert r.status_code == 422, (url, r.text)
        assert "is computed by quarter" in r.json()["detail"] or "is not computed by quarter" in r.json()["detail"]
        assert OPT_IN in r.json()["detail"], (url, r.text)
    assert call(app, "GET", "/api/v1/metrics/events/series?start=2026-01-01&end=2026-03-31&grain=year",
                keys["viewer"]).status_code == 422  # not a grain the API serves


# -- reports ------------------------------------------------------------------------------------

def test_a_quarterly_report_compares_with_the_quarter_before_and_a_year_before(opted):
    from daypulse.report.content import build_report
    from daypulse.report.render import render

    _, project, store = opted
    rep = build_report(project, store, "quarterly-pulse", on=date(2026, 2, 10), as_of=AS_OF, with_charts=False)
    assert (rep.grain, rep.start, rep.end) == ("quarter", Q1, date(2026, 3, 31))
    assert rep.period_label == "Q1 2026 (January – March)"
    lines = {ln.metric: ln for s in rep.sections for ln in s.lines}
    q1, q4 = events(Q1, date(2026, 3, 31)), events(Q4, date(2025, 12, 31))
    ev = lines["events"]
    assert ev.value == q1
    prev, year = ev.deltas
    assert (prev.label, prev.base, prev.change) == ("vs the quarter before", q4, q1 - q4)
    assert (year.label, year.base) == ("vs a year before", 0)  # Q1 2025: before the data, zero-filled
    assert ev.spark == [0, 0, q4, q1]
    assert lines["active_subscriptions"].value == 13  # at the quarter's last day
    text = render(rep, "text")
    assert "Q1 2026" in text and "vs the quarter before" in text
    # The last complete quarter by default (the clock says December 2026).
    assert build_report(project, store, "quarterly-pulse", with_charts=False).start == date(2026, 7, 1)


def test_a_daily_quarter_to_date_value_is_compared_with_the_same_day_last_quarter(opted):
    from daypulse.report.content import build_report

    _, project, store = opted
    rep = build_report(project, store, "qtd-daily", on=date(2026, 2, 15), as_of=AS_OF, with_charts=False)
    (line,) = rep.sections[0].lines
    assert line.value == events(Q1, date(2026, 2, 15))
    (prev,) = line.deltas
    assert (prev.label, prev.base) == ("vs the same day last quarter", events(Q4, date(2025, 11, 15)))


def test_the_built_in_quarterly_report_needs_the_quarter_grain():
    from daypulse.errors import ConfigError
    from daypulse.project import parse_project
    from daypulse.report.definition import load_report

    base = "source: duckdb:///x.duckdb\ninclude: [saas, product]\n"
    spec = load_report(parse_project(base + "compute: {grains: [day, week, month, quarter]}\n"), "quarterly")
    assert spec.period == "quarter" and {"mrr", "net_new_mrr", "nrr", "grr"} <= set(spec.metrics)
    with pytest.raises(ConfigError) as err:
        load_report(parse_project(base), "quarterly")
    assert "none of its metrics is computed by quarter" in str(err.value.issues[0].message)
    assert OPT_IN in (err.value.issues[0].hint or "")


# -- the dashboard ------------------------------------------------------------------------------

def _signed_in(app, token):
    from test_dashboard import signed_in

    return signed_in(app, token)


def test_the_dashboard_offers_quarters_when_they_are_computed(apps):
    app, keys, _ = apps["opted"]
    b = _signed_in(app, keys["viewer"])
    html = b.get("/?board=quarterly-pulse").text
    assert '<option value="quarter" selected>quarter</option>' in html
    assert "Q1 2026" in html and "vs the quarter before" in html
    from test_dashboard import tile

    # Q1 2026 against Q4 2025: the default range ends with the last whole quarter stored.
    assert tile(html, "events")["value"] == str(events(Q1, date(2026, 3, 31)))
    table = b.get("/metrics/events?grain=quarter&start=2025-10-01&end=2026-03-31").text
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td>", table)
    assert rows == [("Q1 2026", str(events(Q1, date(2026, 3, 31)))), ("Q4 2025", str(events(Q4, date(2025, 12, 31))))]
    chart = re.search(r'<script type="application/json">(.*?)</script>', table, re.S).group(1)
    assert json.loads(chart)["grain"] == "quarter"

    app, keys, _ = apps["plain"]
    b = _signed_in(app, keys["viewer"])
    html = b.get("/?grain=quarter").text
    assert '<option value="quarter"' not in html
    assert "grain: no metric is computed by quarter" in html and OPT_IN in html
