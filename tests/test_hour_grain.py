"""The hour grain (issue 18, item 15): local hours of the project zone, opted in per project or
metric, for event metrics and ratios of them, on every backend, against an independent reference.

The reference never asks daypulse's calendar: it walks each local day in 5-minute steps of UTC
with zoneinfo and names each local hour by (wall-clock hour, UTC offset), so the repeated autumn
01:00 of New York is two hours (-04:00, then -05:00), the skipped spring 02:00 is no hour, and a
day has 23, 24 or 25 of them; an hour's index is its place in that day's order.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest

from daypulse.engine import compute_values
from daypulse.errors import ConfigError
from daypulse.project import parse_project
from worked import Story, Table
from worked.load import BACKENDS, Loader

ZONES = ("America/New_York", "Asia/Kolkata", "America/Santiago")
# UTC days around New York's changes (spring 03-08, autumn 11-01) and Santiago's (04-05, 09-06).
RANGES = ((date(2026, 3, 7), date(2026, 3, 9)), (date(2026, 10, 31), date(2026, 11, 2)),
          (date(2026, 4, 4), date(2026, 4, 6)), (date(2026, 9, 5), date(2026, 9, 7)))


def _rows() -> list[tuple]:
    rnd = random.Random(18)
    out = []
    for first, last in RANGES:
        t = datetime.combine(first - timedelta(days=1), datetime.min.time())
        while t < datetime.combine(last + timedelta(days=2), datetime.min.time()):
            t += timedelta(minutes=rnd.randint(3, 41), seconds=rnd.randint(0, 59))
            out.append((rnd.randint(1, 9), t, rnd.choice("ab"), rnd.randint(1, 500)))
    return out


ROWS = _rows()
STORY = Story("hours", {"events": Table.of(
    {"user_id": "int", "occurred_at": "ts", "kind": "str", "amount": "int"}, *ROWS)})
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def project_text(url: str, tables: dict, zone: str, grains: str = "compute: {grains: [hour, day]}") -> str:
    ev = "table: events, time: occurred_at"
    return f"""
source: {url}
tables: {tables}
timezone: {zone}
{grains}
metrics:
  events: {{{ev}, measure: count, dimensions: {{kind: kind}}}}
  events_a: {{{ev}, measure: count, where: {{kind: a}}}}
  amount: {{{ev}, measure: sum, column: amount, dimensions: {{kind: kind}}}}
  buyers: {{{ev}, measure: count_distinct, column: user_id}}
  avg_amount: {{{ev}, measure: avg, column: amount}}
  share_a: {{kind: ratio, numerator: events_a, denominator: events}}
  events_7d: {{{ev}, measure: count, window: 7}}
"""


# -- the reference ----------------------------------------------------------------------------

@cache
def local_hours(zone: str, d: date) -> list[tuple[int, int]]:
    """(wall hour, UTC offset in seconds) of each local hour of day ``d``, in order."""
    tz = ZoneInfo(zone)
    t = datetime(d.year, d.month, d.day, tzinfo=UTC) - timedelta(days=1)
    seen: list[tuple[int, int]] = []
    for _ in range(3 * 24 * 12):
        local = t.astimezone(tz)
        if local.date() == d:
            key = (local.hour, int(local.utcoffset().total_seconds()))
            if key not in seen:
                seen.append(key)
        t += timedelta(minutes=5)
    return seen


def hour_of(zone: str, ts: datetime) -> tuple[date, int]:
    local = ts.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
    d = local.date()
    return d, local_hours(zone, d).index((local.hour, int(local.utcoffset().total_seconds())))


@cache
def reference(zone: str, days: tuple[date, ...]) -> dict:
    """{(metric, day, hour, dims): value} of every hour of ``days``, zero-filled."""
    buckets: dict = defaultdict(list)
    cache: dict = {}
    for user, ts, kind, amount in ROWS:
        if ts not in cache:
            cache[ts] = hour_of(zone, ts)
        buckets[cache[ts]].append((user, kind, amount))
    out = {}
    for d in days:
        for i, _ in enumerate(local_hours(zone, d)):
            rows = buckets.get((d, i), [])
            a = [r for r in rows if r[1] == "a"]
            out[("events", d, i, ())] = len(rows)
            out[("events_a", d, i, ())] = len(a)
            out[("amount", d, i, ())] = sum(r[2] for r in rows)
            out[("buyers", d, i, ())] = len({r[0] for r in rows})
            out[("avg_amount", d, i, ())] = sum(r[2] for r in rows) / len(rows) if rows else None
            out[("share_a", d, i, ())] = len(a) / len(rows) if rows else None
            for k in "ab":
                out[("events", d, i, (("kind", k),))] = sum(1 for r in rows if r[1] == k)
                out[("amount", d, i, (("kind", k),))] = sum(r[2] for r in rows if r[1] == k)
    return out


# -- the engine against it ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("hours"))
    yield ld
    ld.close()


def test_the_reference_counts_the_hours_of_a_day():
    """The reference itself, by hand: New York's spring day has 23 hours (no 02:00), its autumn
    day 25 (01:00 twice); Santiago's clocks go back at 24:00 (two 23:00s on 04-04) and jump at
    midnight in September (09-06 starts at 01:00); Kolkata has no change."""
    ny = "America/New_York"
    assert len(local_hours(ny, date(2026, 3, 8))) == 23 and (2, -14400) not in local_hours(ny, date(2026, 3, 8))
    assert local_hours(ny, date(2026, 11, 1))[1:3] == [(1, -14400), (1, -18000)]
    assert len(local_hours(ny, date(2026, 11, 1))) == 25
    assert len(local_hours("America/Santiago", date(2026, 4, 4))) == 25
    assert local_hours("America/Santiago", date(2026, 9, 6))[0] == (1, -10800)
    assert len(local_hours("Asia/Kolkata", date(2026, 11, 1))) == 24


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b
                                     for b in BACKENDS])
def test_hours_match_the_reference_in_every_zone(backend, loader):
    url, tables = loader.get(backend, STORY)
    for zone in ZONES:
        p = parse_project(project_text(url, tables, zone))
        for first, last in RANGES:
            got = compute_values(p, first, last, as_of=AS_OF)
            hours = {(v.metric, v.period_start, v.hour, v.dims): v.value for v in got if v.grain == "hour"}
            days = tuple(first + timedelta(days=k) for k in range((last - first).days + 1))
            want = reference(zone, days)
            assert set(hours) == set(want), (backend, zone, first, set(hours) ^ set(want))
            for key, value in want.items():
                assert hours[key] == pytest.approx(value), (backend, zone, key)
            assert not any(v.metric == "events_7d" and v.grain == "hour" for v in got)
            # The hours of a day add up to its day value (counts and sums).
            daily = {(v.metric, v.period_start): v.value for v in got if v.grain == "day" and not v.dims}
            for d in days:
                for m in ("events", "amount"):
                    assert sum(v for (mm, dd, _, dims), v in hours.items() if (mm, dd, dims) == (m, d, ())) \
                        == daily[(m, d)]


def test_hours_after_now_are_not_computed(loader):
    """At 01:30 EST on New York's autumn day (06:30 UTC) the day so far has three hours: 00:00,
    01:00-04:00 and the 01:00-05:00 that is running."""
    url, tables = loader.get("duckdb", STORY)
    p = parse_project(project_text(url, tables, "America/New_York"))
    day = date(2026, 11, 1)
    got = compute_values(p, day, day, ["events"], grains=["hour"],
                         as_of=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))
    assert sorted({v.hour for v in got}) == [0, 1, 2]


def test_hour_is_opted_in_and_only_where_it_means_something(loader):
    url, tables = loader.get("duckdb", STORY)
    plain = parse_project(project_text(url, tables, "America/New_York", grains=""))
    assert not plain.grains_of("events", ["hour"])
    assert "add hour to compute.grains" in plain.grain_problem(["events"], "hour")
    p = parse_project(project_text(url, tables, "America/New_York"))
    assert p.grains_of("share_a", ["hour"]) == ("hour",)
    assert "has no hourly values" in p.grain_problem(["events_7d"], "hour")
    with pytest.raises(ConfigError) as err:
        parse_project(project_text(url, tables, "America/New_York", grains="")
                      + "  open: {kind: state, table: events, start: occurred_at, measure: count,"
                        " grains: [hour, day]}\n")
    assert "has no hourly values" in str(err.value)


# -- as a user runs it: compute, export, the API ------------------------------------------------

def test_compute_export_and_api_by_hour(loader, tmp_path, capsys, monkeypatch):
    from deliverykit import cli

    url, tables = loader.get("duckdb", STORY)
    (tmp_path / "daypulse.yml").write_text(project_text(url, tables, "America/New_York")
                                           + "store: sqlite:///s.db\n")
    code, _, err = cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-11-01",
                       "--end", "2026-11-01")
    assert code == 0, err
    code, out, err = cli(capsys, monkeypatch, tmp_path, "export", "--metric", "events", "--grain", "hour")
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    totals = [x for x in lines if not x["dimensions"]]
    want = reference("America/New_York", (date(2026, 11, 1),))
    assert [x["period"] for x in totals][:4] == ["2026-11-01T00:00-04:00", "2026-11-01T01:00-04:00",
                                                "2026-11-01T01:00-05:00", "2026-11-01T02:00-05:00"]
    assert len(totals) == 25 and totals[-1]["period"] == "2026-11-01T23:00-05:00"
    assert [x["value"] for x in totals] == [want[("events", date(2026, 11, 1), i, ())] for i in range(25)]
    # Re-running replaces, never doubles.
    assert cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-11-01", "--end", "2026-11-01")[0] == 0
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "export", "--metric", "events", "--grain", "hour",
                       "--latest")
    assert [json.loads(x)["period"] for x in out.splitlines()] == ["2026-11-01T23:00-05:00"] * 3

    from apikit import call, close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.project import load_project
    from daypulse.store.db import open_store

    p = load_project(tmp_path / "daypulse.yml")
    store = open_store(p.store)
    keys = usual_tokens(store)
    app = create_app(ApiSettings(project=p))
    url = "/api/v1/metrics/{}/series?start=2026-11-01&end=2026-11-01&grain=hour"
    try:
        r = call(app, "GET", url.format("events") + "&kind=a", keys["admin"])
        assert r.status_code == 200, r.text
        points = r.json()["points"]
        assert [p["period_start"] for p in points[1:3]] == ["2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00"]
        assert [p["value"] for p in points] == [want[("events", date(2026, 11, 1), i, (("kind", "a"),))]
                                                for i in range(25)]
        for bad in (url.format("events") + "&compare=previous", url.format("events_7d"),
                    "/api/v1/summary?grain=hour"):
            assert call(app, "GET", bad, keys["admin"]).status_code == 422, bad
        r = call(app, "GET", "/api/v1/metrics/events/latest?grain=hour", keys["admin"])
        assert r.json()["period_start"] == "2026-11-01T23:00-05:00", r.text
        r = call(app, "GET", "/api/v1/export?format=json&metric=events&grain=hour", keys["admin"])
        assert [x["period"] for x in r.json() if not x["dimensions"]][2] == "2026-11-01T01:00-05:00"
    finally:
        close(app, store)


def test_the_metric_page_charts_the_hours_of_its_last_day(loader, tmp_path):
    """The metric page, by day, ending on New York's autumn day: an hour chart of its 25 hours
    with the two 01:00s as two points, each dashed against the same wall-clock hour of 31 October
    (both 01:00s against its one 01:00). A metric with no hours has no such chart."""
    import re

    from apikit import close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.engine.run import run_compute
    from daypulse.store.db import open_store
    from test_dashboard import signed_in

    url, tables = loader.get("sqlite", STORY)
    p = parse_project(project_text(url, tables, "America/New_York") + f"store: sqlite:///{tmp_path}/s.db\n")
    store = open_store(p.store)
    run_compute(p, store, date(2026, 10, 31), date(2026, 11, 1), as_of=AS_OF)
    keys = usual_tokens(store)
    app = create_app(ApiSettings(project=p))
    try:
        b = signed_in(app, keys["viewer"])
        html = b.get("/metrics/events?start=2026-10-25&end=2026-11-01&grain=day").text
        data = json.loads(re.search(r'id="hours">.*?<script type="application/json">(.*?)</script>', html, re.S)
                          .group(1))
        want = reference("America/New_York", (date(2026, 10, 31), date(2026, 11, 1)))
        assert data["grain"] == "hour" and len(data["labels"]) == 25
        assert data["labels"][1:3] == ["2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00"]
        assert data["values"] == [want[("events", date(2026, 11, 1), i, ())] for i in range(25)]
        before = want[("events", date(2026, 10, 31), 1, ())]
        assert data["compare"][1] == data["compare"][2] == before
        assert "by hour, Sun 1 Nov 2026" in html
        assert 'id="hours"' not in b.get("/metrics/events_7d?start=2026-10-25&end=2026-11-01").text
    finally:
        close(app, store)


def test_a_daily_report_charts_the_hours_of_its_day(loader, tmp_path):
    """A report's ``kind: hours`` chart: the 25 local hours of New York's autumn day as bars (the
    two 01:00s with their offsets), each against the same hour of 31 October; refused at its line
    for a metric with no hours."""
    from daypulse.engine.run import run_compute
    from daypulse.report.chartdata import _hours
    from daypulse.report.content import build_report, resolve_period
    from daypulse.report.definition import Chart
    from daypulse.store.db import open_store

    url, tables = loader.get("sqlite", STORY)
    report = ("reports:\n  hourly:\n    title: Hourly\n    period: day\n"
              "    sections: [{title: Events, metrics: [events]}]\n    charts: [{metric: events, kind: hours}]\n")
    p = parse_project(project_text(url, tables, "America/New_York") + f"store: sqlite:///{tmp_path}/s.db\n" + report)
    store = open_store(p.store)
    run_compute(p, store, date(2026, 10, 31), date(2026, 11, 1), as_of=AS_OF)
    period = resolve_period(p, "day", date(2026, 11, 2), date(2026, 11, 1))
    data = _hours(p, store, p.calendar, period, Chart(metric="events", kind="hours"), "Events", "")
    want = reference("America/New_York", (date(2026, 10, 31), date(2026, 11, 1)))
    assert data.labels[:4] == ["00", "01 (-04)", "01 (-05)", "02"] and len(data.labels) == 25
    assert data.values == [want[("events", date(2026, 11, 1), i, ())] for i in range(25)]
    assert data.compare[1] == data.compare[2] == want[("events", date(2026, 10, 31), 1, ())]
    assert data.title == "Events by hour, Sun 1 Nov 2026" and data.compare_label == "the same hour the day before"
    built = build_report(p, store, "hourly", on=date(2026, 11, 1), as_of=AS_OF, compute=False)
    assert [c.title for c in built.charts] == ["events by hour, Sun 1 Nov 2026"]  # the metric has no label
    assert built.charts[0].alt.startswith("Bar chart: events by hour, Sun 1 Nov 2026: 00 ")
    (tmp_path / "hours.png").write_bytes(built.charts[0].png)
    from daypulse.delivery.config import SECTIONS

    with pytest.raises(ConfigError) as err:
        parse_project(project_text(url, tables, "America/New_York") + report.replace("metric: events,",
                                                                                      "metric: events_7d,"),
                      sections=SECTIONS)
    assert "an hours chart of events_7d: it has no hourly values" in str(err.value)


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_hours_are_stored_replaced_and_read_back_on_both_stores(loader, tmp_path, store_kind):
    """Two runs over New York's autumn day store its 25 hours once (the two 01:00s as hours 1 and
    2); a later run over the next day leaves them as they are."""
    from apikit import api_store
    from daypulse.engine.run import run_compute
    from daypulse.store import read
    from daypulse.store.db import open_store

    url, tables = loader.get("duckdb", STORY)
    day = date(2026, 11, 1)
    want = reference("America/New_York", (day,))
    with api_store(store_kind, tmp_path) as store_url:
        p = parse_project(project_text(url, tables, "America/New_York") + f"store: {store_url}\n")
        store = open_store(p.store)
        try:
            for _ in range(2):
                run_compute(p, store, day, day, as_of=AS_OF)
            run_compute(p, store, day + timedelta(days=1), day + timedelta(days=1), as_of=AS_OF)
            got = read.hour_values(store, "events", day, day)
            assert got == {(day, i): want[("events", day, i, ())] for i in range(25)}
            assert read.hour_values(store, "share_a", day, day)[(day, 2)] == pytest.approx(
                want[("share_a", day, 2, ())])
        finally:
            store.engine.dispose()
