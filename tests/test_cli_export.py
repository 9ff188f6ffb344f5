"""`daypulse export --filter dim=value` and `--latest`: which stored rows come out, in the export
contract's shape (JSONL and CSV), as real processes with their exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from storekit import make_source, write_project

AS_OF = "2026-03-20T12:00:00+00:00"
# Every event is at 12:00 UTC, 17:30 in Kolkata: hour "17". Day k of February (k = day - 1) has
# k % 5 + 1 events per tenant, so 2026-02-03 has 3 each and February 81 each.
METRICS = {
    "events": {"table": "events", "time": "occurred_at",
               "dimensions": {"tenant": "tenant", "hour": "@hour"}, "breakdowns": [["tenant", "hour"]]},
    "revenue": {"table": "events", "time": "occurred_at", "measure": "sum", "column": "amount_cents",
                "format": "currency"},
    "active_subscriptions": {"kind": "state", "table": "subscriptions", "start": "started_at",
                             "end": "canceled_at"},
}
CONTRACT = ["metric", "grain", "period", "dimensions", "value"]


def daypulse(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daypulse.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """February at day, week and month grain; revenue's days also through 2026-03-05."""
    folder = tmp_path_factory.mktemp("export")
    write_project(folder, make_source(folder / "app.duckdb"), "sqlite:///store.db", metrics=METRICS)
    for args in (["--start", "2026-02-01", "--end", "2026-02-28"],
                 ["--start", "2026-03-01", "--end", "2026-03-05", "--metric", "revenue", "--grain", "day"]):
        r = daypulse("compute", *args, "--as-of", AS_OF, cwd=folder)
        assert r.returncode == 0, r.stderr
    return folder


def jsonl(r) -> list[dict]:
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def csv_rows(r) -> list[list[str]]:
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == CONTRACT
    return rows[1:]


# -- --filter --------------------------------------------------------------------------------------

def test_filter_keeps_rows_with_exactly_those_dimension_values_jsonl(project):
    day = ["--format", "jsonl", "--metric", "events", "--grain", "day", "--start", "2026-02-03",
           "--end", "2026-02-03"]
    every = jsonl(daypulse("export", *day, cwd=project))
    assert {json.dumps(x["dimensions"], sort_keys=True) for x in every} == {
        "{}", '{"tenant": "acme"}', '{"tenant": "globex"}', '{"hour": "17"}',
        '{"hour": "17", "tenant": "acme"}', '{"hour": "17", "tenant": "globex"}'}
    # Not the total, not the tenant × hour breakdown: the rows whose dimensions are {tenant: acme}.
    assert jsonl(daypulse("export", *day, "--filter", "tenant=acme", cwd=project)) == [
        {"metric": "events", "grain": "day", "period": "2026-02-03", "dimensions": {"tenant": "acme"}, "value": 3}]
    assert jsonl(daypulse("export", *day, "--filter", "tenant=acme", "--filter", "hour=17", cwd=project)) == [
        {"metric": "events", "grain": "day", "period": "2026-02-03",
         "dimensions": {"hour": "17", "tenant": "acme"}, "value": 3}]
    assert jsonl(daypulse("export", *day, "--filter", "tenant=initech", cwd=project)) == []


def test_filter_csv(project):
    r = daypulse("export", "--format", "csv", "--metric", "events", "--grain", "month",
                 "--filter", "tenant=globex", "--filter", "hour=17", cwd=project)
    assert csv_rows(r) == [["events", "month", "2026-02-01", "hour=17;tenant=globex", "81"]]
    r = daypulse("export", "--format", "csv", "--metric", "events", "--grain", "week", "--start", "2026-02-02",
                 "--end", "2026-02-09", "--filter", "tenant=acme", cwd=project)
    # Monday 2026-02-02 .. Sunday 02-08 are k = 1..7: 2+3+4+5+1+2+3; 02-09 .. 02-15: 4+5+1+2+3+4+5.
    assert csv_rows(r) == [["events", "week", "2026-02-02", "tenant=acme", "20"],
                           ["events", "week", "2026-02-09", "tenant=acme", "24"]]


def test_filter_over_every_metric_keeps_the_metrics_with_those_dimensions(project):
    r = daypulse("export", "--grain", "day", "--start", "2026-02-03", "--end", "2026-02-03",
                 "--filter", "tenant=acme", cwd=project)
    assert jsonl(r) == [
        {"metric": "events", "grain": "day", "period": "2026-02-03", "dimensions": {"tenant": "acme"}, "value": 3}]


@pytest.mark.parametrize("args, message", [
    (["--metric", "events", "--filter", "region=eu"],
     "--filter region: metric 'events' has no dimension 'region' (its dimensions: hour, tenant)"),
    (["--metric", "events", "--metric", "revenue", "--filter", "tenant=acme"],
     "--filter tenant: metric 'revenue' has no dimension 'tenant' (its dimensions: none)"),
    (["--filter", "region=eu"], "--filter region: no metric has a dimension 'region' (the dimensions: hour, tenant)"),
    (["--filter", "tenant"], "--filter: 'tenant' is not dimension=value (e.g. tenant=acme)"),
    (["--filter", "tenant=acme", "--filter", "tenant=globex"],
     "--filter tenant: given twice ('acme' and 'globex'); a row has one value of each dimension"),
])
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_filter_that_cannot_match_is_one_line_exit_2_and_writes_nothing(project, args, message, fmt):
    r = daypulse("export", "--format", fmt, *args, cwd=project)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""  # not even the CSV header
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


# -- --latest --------------------------------------------------------------------------------------

def _latest_by_hand(rows: list[dict]) -> list[dict]:
    """Each (metric, grain, dimensions) series' row of its latest period, from a full export."""
    last: dict[tuple, dict] = {}
    for x in rows:
        key = (x["metric"], x["grain"], json.dumps(x["dimensions"], sort_keys=True))
        if key not in last or x["period"] > last[key]["period"]:
            last[key] = x
    return list(last.values())


def _key(x: dict) -> tuple:
    return x["metric"], x["grain"], x["period"], json.dumps(x["dimensions"], sort_keys=True)


def test_latest_is_each_series_latest_period_jsonl(project):
    every = jsonl(daypulse("export", cwd=project))
    latest = jsonl(daypulse("export", "--latest", cwd=project))
    assert sorted(latest, key=_key) == sorted(_latest_by_hand(every), key=_key)
    assert len(latest) == len({_key(x)[:2] + _key(x)[3:] for x in latest})  # one row per series
    got = {(x["metric"], x["grain"]): x["period"] for x in latest if not x["dimensions"]}
    assert got == {("events", "day"): "2026-02-28", ("events", "week"): "2026-02-23",
                   ("events", "month"): "2026-02-01",
                   ("revenue", "day"): "2026-03-05", ("revenue", "week"): "2026-02-23",
                   ("revenue", "month"): "2026-02-01",
                   ("active_subscriptions", "day"): "2026-02-28", ("active_subscriptions", "week"): "2026-02-23",
                   ("active_subscriptions", "month"): "2026-02-01"}
    events_days = [x for x in latest if x["metric"] == "events" and x["grain"] == "day"]
    assert len(events_days) == 6 and {x["period"] for x in events_days} == {"2026-02-28"}
    # k = 27: 3 events per tenant
    assert {"metric": "events", "grain": "day", "period": "2026-02-28", "dimensions": {}, "value": 6} in latest
    # In the export's order: metric, grain, period, dimensions.
    assert [x["metric"] for x in latest] == sorted(x["metric"] for x in latest)


def test_latest_within_the_range_with_a_filter_csv(project):
    r = daypulse("export", "--format", "csv", "--metric", "events", "--grain", "day", "--latest",
                 "--end", "2026-02-10", "--filter", "tenant=acme", cwd=project)
    assert csv_rows(r) == [["events", "day", "2026-02-10", "tenant=acme", "5"]]  # k = 9
    r = daypulse("export", "--format", "csv", "--metric", "revenue", "--latest", "--start", "2026-02-20",
                 cwd=project)
    rows = csv_rows(r)
    assert [row[:4] for row in rows] == [["revenue", "day", "2026-03-05", ""],
                                         ["revenue", "week", "2026-02-23", ""]]
    assert all(row[4].isdigit() for row in rows)  # cents, whole numbers
    assert date.fromisoformat(rows[0][2]) == date(2026, 3, 5)


# -- the read itself, on both stores ---------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    from daypulse.store.db import open_store
    from storekit import postgres_store

    if request.param == "sqlite":
        yield open_store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        with postgres_store() as url:
            yield open_store(url)


def test_export_selection_by_exact_dimensions_and_latest_on_every_store(store):
    from daypulse.store.read import exported
    from daypulse.store.values import export_rows, export_selection, replace_values, start_run
    from daypulse.values import MetricValue, dims_key

    acme, odd = (("tenant", "acme"),), (("tenant", "a;b=c"),)  # a value with the key's separators
    both = (("platform", "ios"), ("tenant", "acme"))
    values = [MetricValue("m", "day", date(2026, 3, d), dims, d * 10 + i)
              for d in (1, 2, 3) for i, dims in enumerate([(), acme, odd, both]) if not (dims == acme and d == 3)]
    values += [MetricValue("n", "day", date(2026, 3, d), (), 1.5 * d) for d in range(1, 6)]
    replace_values(store, values, {"m": "h", "n": "h"}, start_run(store, "compute", {}, None, None))

    def got(*args, **kw):
        return [(r.metric, r.grain, r.period_start.day, r.dims, exported(r.value))
                for r in export_selection(store, *args, **kw)]

    assert got(None, None, None, None) == [(r.metric, r.grain, r.period_start.day, r.dims, exported(r.value))
                                          for r in export_rows(store, None, None, None, None)]
    assert got(["m"], None, None, None, dims_key=dims_key({"tenant": "acme"})) == [
        ("m", "day", 1, {"tenant": "acme"}, 11), ("m", "day", 2, {"tenant": "acme"}, 21)]
    assert got(["m"], ["day"], None, None, dims_key=dims_key({"tenant": "a;b=c"})) == [
        ("m", "day", d, {"tenant": "a;b=c"}, d * 10 + 2) for d in (1, 2, 3)]
    assert got(None, None, None, None, dims_key="") == [
        ("m", "day", d, {}, d * 10) for d in (1, 2, 3)] + [("n", "day", d, {}, 1.5 * d) for d in range(1, 6)]
    # Each series' latest period: acme's stops on the 2nd, n's runs to the 5th.
    assert got(None, None, None, None, latest=True) == [
        ("m", "day", 2, {"tenant": "acme"}, 21),
        ("m", "day", 3, {}, 30), ("m", "day", 3, {"platform": "ios", "tenant": "acme"}, 33),
        ("m", "day", 3, {"tenant": "a;b=c"}, 32),
        ("n", "day", 5, {}, 7.5)]
    assert got(None, ["day"], date(2026, 3, 2), date(2026, 3, 4), latest=True, dims_key="") == [
        ("m", "day", 3, {}, 30), ("n", "day", 4, {}, 6)]
    assert got(["m"], None, None, date(2026, 3, 1), latest=True,
               dims_key=dims_key({"platform": "ios", "tenant": "acme"})) == [
        ("m", "day", 1, {"platform": "ios", "tenant": "acme"}, 13)]
    assert got(["m"], ["week"], None, None, latest=True) == []
