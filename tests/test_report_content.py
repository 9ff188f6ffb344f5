"""Report content from a computed store: values, comparisons, sparklines, what changed.

The data set is built by hand so the expected numbers can be written down: every day from
2026-01-01 to 2026-03-08 has 10 captures in tenant acme and 10 in globex (UTC), except Friday
2026-03-06, when acme has 50.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from daypulse.errors import ConfigError, UsageError
from daypulse.project import load_project
from daypulse.report.content import build_report
from daypulse.store.db import open_store

AS_OF = datetime(2026, 3, 9, 12, tzinfo=UTC)
FRIDAY = date(2026, 3, 6)


def _project(tmp_path, **changes):
    import duckdb

    src = tmp_path / "app.duckdb"
    if not src.exists():
        con = duckdb.connect(str(src))
        con.execute("create table events(user_id int, tenant varchar, occurred_at timestamp, kind varchar)")
        rows, d = [], date(2026, 1, 1)
        while d <= date(2026, 3, 8):
            for tenant, n in (("acme", 50 if d == FRIDAY else 10), ("globex", 10)):
                rows += [(i, tenant, datetime(d.year, d.month, d.day, 12) + timedelta(seconds=i), "capture")
                         for i in range(n)]
            d += timedelta(days=1)
        con.executemany("insert into events values (?,?,?,?)", rows)
        con.close()
    data = {
        "name": "t", "timezone": "UTC", "source": "duckdb:///app.duckdb", "store": "sqlite:///s.db",
        "metrics": {"captures": {"label": "Captures", "table": "events", "time": "occurred_at",
                                 "where": {"kind": "capture"}, "dimensions": {"tenant": "tenant"},
                                 "format": "integer", "good": "up"}},
        "reports": {"pulse": {
            "title": "Pulse", "period": "day", "compare": ["previous", "same_weekday"], "spark": 7,
            "sections": [{"title": "Usage", "metrics": ["captures"],
                          "breakdowns": [{"metric": "captures", "by": "tenant"}]}],
            "changes": {"top": 3, "drivers": 2, "history": 8, "min_history": 4}}},
    }
    data.update(changes)
    (tmp_path / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    project = load_project(tmp_path / "daypulse.yml")
    return project, open_store(project.store)


def test_a_daily_report_reads_what_the_data_says(tmp_path):
    project, store = _project(tmp_path)
    r = build_report(project, store, "pulse", on=FRIDAY, as_of=AS_OF, with_charts=False)
    assert (r.start, r.end, r.period_label) == (FRIDAY, FRIDAY, "Friday 6 March 2026")
    (line,) = r.sections[0].lines
    assert line.value == 60
    prev, week = line.deltas
    assert (prev.base, prev.change, prev.pct, prev.verdict) == (20, 40, 2.0, "good")
    assert (week.key, week.base, week.change) == ("same_weekday", 20, 40)
    assert line.spark == [20, 20, 20, 20, 20, 20, 60]
    move, odd = r.changes
    assert move.text == "Captures rose 200.0% to 60 (vs 20 the day before)."
    assert move.drivers == ["tenant acme +40 (100% of the rise)"]
    # The 8 previous Fridays were all 20: median 20, MAD 0, so the scale is its floor (1).
    assert odd.kind == "anomaly" and odd.verdict == "good"
    assert "60 is unusually high for a Friday (the last 8 were 20 to 20, typically 20)" in odd.text
    assert line.anomaly and "unusually high" in line.anomaly
    (table,) = r.sections[0].breakdowns
    assert [(row.label, row.values, row.change) for row in table.rows] == [
        ("acme", [50], 40), ("globex", [10], 0)]
    assert table.total == [60]
    assert r.has_data and not r.notes


def test_the_day_before_is_an_ordinary_day(tmp_path):
    project, store = _project(tmp_path)
    r = build_report(project, store, "pulse", on=FRIDAY - timedelta(days=1), as_of=AS_OF,
                     with_charts=False)
    assert r.sections[0].lines[0].value == 20
    assert r.changes == []  # no move, nothing unusual


def test_weekly_and_filtered_reports(tmp_path):
    reports = {
        "week": {"title": "Week", "period": "week", "compare": ["previous"], "spark": 3,
                 "sections": [{"title": "Usage", "metrics": ["captures"]}]},
        "globex": {"title": "Globex", "period": "day", "filter": {"tenant": "globex"},
                   "sections": [{"title": "Usage", "metrics": ["captures"]}]},
    }
    project, store = _project(tmp_path, reports=reports)
    w = build_report(project, store, "week", on=FRIDAY, as_of=AS_OF, with_charts=False)
    assert (w.start, w.end) == (date(2026, 3, 2), date(2026, 3, 8))
    line = w.sections[0].lines[0]
    assert line.value == 7 * 20 + 40 and line.deltas[0].base == 140
    assert line.spark == [140, 140, 180]
    g = build_report(project, store, "globex", on=FRIDAY, as_of=AS_OF, with_charts=False)
    assert g.title == "Globex — tenant globex"
    assert g.sections[0].lines[0].value == 10 and g.changes == []


def test_no_data_says_so(tmp_path):
    project, store = _project(tmp_path)
    r = build_report(project, store, "pulse", on=date(2025, 12, 1), as_of=AS_OF, with_charts=False)
    assert not r.has_data
    assert r.notes[0] == "No data for this period: every metric is empty or zero."


def test_the_report_computes_missing_and_stale_values_first(tmp_path):
    from daypulse.store import read

    project, store = _project(tmp_path)
    build_report(project, store, "pulse", on=FRIDAY, as_of=AS_OF, with_charts=False)
    assert read.values(store, ["captures"], "day", FRIDAY, FRIDAY)[("captures", FRIDAY)] == 60
    # A changed definition makes the stored values stale: the next report recomputes them.
    metrics = {"captures": {"label": "Captures", "table": "events", "time": "occurred_at",
                            "where": {"tenant": "globex"}, "dimensions": {"tenant": "tenant"}}}
    project, store = _project(tmp_path, metrics=metrics)
    r = build_report(project, store, "pulse", on=FRIDAY, as_of=AS_OF, with_charts=False)
    assert r.sections[0].lines[0].value == 10


def test_bad_input(tmp_path):
    project, store = _project(tmp_path)
    with pytest.raises(UsageError, match="unknown report 'puls' \\(did you mean 'pulse'\\?\\)"):
        build_report(project, store, "puls", as_of=AS_OF)
    with pytest.raises(UsageError, match="in the future"):
        build_report(project, store, "pulse", on=date(2026, 4, 1), as_of=AS_OF)
    reports = {"bad": {"title": "Bad", "sections": [{"title": "x", "metrics": ["nope"],
                                                     "breakdowns": [{"metric": "captures", "by": "staff"}]}]}}
    project, store = _project(tmp_path, reports=reports)
    with pytest.raises(ConfigError) as err:
        build_report(project, store, "bad", as_of=AS_OF)
    text = str(err.value)
    assert "reports.bad: unknown metric(s) nope" in text
    assert "metric 'captures' has no dimension 'staff'" in text


def test_cli_report_json_and_errors(tmp_path):
    _project(tmp_path)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "daypulse.cli", "report", *args], cwd=tmp_path,
                              capture_output=True, text=True)

    r = run("pulse", "--date", "2026-03-06", "--format", "json")
    assert r.returncode == 0, r.stderr
    import json

    data = json.loads(r.stdout)
    assert data["sections"][0]["lines"][0]["value"] == 60
    assert run("nope").returncode == 2
    # A plain-text report describes its charts in words (the latest value and the trend).
    charted = {"pulse": {"title": "Pulse", "period": "day", "sections": [{"title": "Usage", "metrics": ["captures"]}],
                         "charts": [{"metric": "captures", "periods": 7}]}}
    _project(tmp_path, reports=charted)
    text = run("pulse", "--date", "2026-03-06", "--format", "text")
    assert text.returncode == 0, text.stderr
    described = text.stdout.split("CHARTS (images in the HTML version)")[1].strip().splitlines()[0]
    assert described.startswith("* ") and "60" in described, described
    bad = run("pulse", "--format", "docx")
    assert bad.returncode == 2 and "--format: 'docx' is not one of" in bad.stderr
    bad = run("pulse", "--format", "pdf")  # said before anything is computed
    assert bad.returncode == 2 and bad.stderr.strip() == "error: --format pdf writes a file: give --out report.pdf"
    assert run("pulse", "--date", "06/03/2026").returncode == 2


def test_drivers_that_tie_are_listed_by_name_in_every_process():
    """Ten tenants that each rose by 2: the drivers (and which of them make the top N) follow
    their names, not the order a set of strings happens to have in this process (a report sent
    twice said "umbrella, piedpiper" once and "piedpiper, umbrella" the next time)."""
    from daypulse.judgement import drivers

    names = [f"tenant{i}" for i in range(10)]
    now = dict.fromkeys(names, 5)
    before = dict.fromkeys(names, 3)
    assert [v for v, *_ in drivers(now, before, 10).parts] == sorted(names)
    now["tenant7"] = 9  # the biggest move leads, ties after it by name
    assert [v for v, *_ in drivers(now, before, 3).parts] == ["tenant7", "tenant0", "tenant1"]
    falls = dict.fromkeys(names, 1)
    assert [v for v, *_ in drivers(falls, before, 10).parts] == sorted(names)


def test_a_definition_is_checked_once_per_project(tmp_path):
    """The scheduler and the dashboard ask for the same report again and again: the same project
    gets the same checked definition; a project with other reports (a template merged) its own."""
    from daypulse.report.definition import load_report

    project, _ = _project(tmp_path)
    first = load_report(project, "pulse")
    assert load_report(project, "pulse") is first
    assert load_report(project, "pulse", {"tenant": "acme"}).filter == {"tenant": "acme"}
    other = project.with_stored_reports({"extra": {"title": "Extra", "sections": [
        {"title": "S", "metrics": ["captures"]}]}})
    assert load_report(other, "extra").title == "Extra"
    with pytest.raises(UsageError, match="unknown report 'extra'"):
        load_report(project, "extra")


def test_a_report_that_is_not_a_mapping_is_refused_when_the_file_loads():
    """It used to pass `daypulse check` and fail only when the report was asked for."""
    from daypulse.project import parse_project

    with pytest.raises(ConfigError) as err:
        parse_project('source: "duckdb:///:memory:"\nreports:\n  daily: 5\n')
    (issue,) = err.value.issues
    assert (issue.line, issue.message) == (3, "reports.daily: Input should be a valid dictionary")


MTD_METRICS = {"captures": {"label": "Captures", "table": "events", "time": "occurred_at", "where": {"kind": "capture"},
                            "dimensions": {"tenant": "tenant"}, "format": "integer", "good": "up"},
               "captures_mtd": {"label": "Captures this month", "kind": "cumulative", "of": "captures",
                                "reset": "month", "format": "integer", "good": "up"}}
MTD_REPORT = {"pulse": {"title": "Pulse", "period": "day", "compare": ["previous"], "spark": 3,
                        "sections": [{"title": "This month so far", "metrics": ["captures_mtd"],
                                      "breakdowns": [{"metric": "captures_mtd", "by": "tenant"}]}],
                        # (no anomalies: the months before the data began read as 0s)
                        "changes": {"top": 3, "drivers": 2, "history": 8, "min_history": 3, "anomalies": False}}}


def test_on_the_1st_a_month_to_date_value_is_compared_with_the_1st_of_last_month(tmp_path):
    """20 captures a day: 1 March's month-to-date is 20, as 1 February's was (not "fell 96.8%
    vs 620 the day before", the whole of February); 6 March (acme's 50) is news against 6 Feb."""
    project, store = _project(tmp_path, metrics=MTD_METRICS, reports=MTD_REPORT)
    first = build_report(project, store, "pulse", on=date(2026, 3, 1), as_of=AS_OF, with_charts=False)
    (line,) = first.sections[0].lines
    (d,) = line.deltas
    assert (line.value, d.base, d.change, d.pct, d.verdict) == (20, 20, 0, None, "flat")
    assert d.label == "vs the same day last month"
    assert first.changes == []  # no false alarm on the 1st
    # The breakdown's change column compares as the line does: 1 March against 1 February (10 each).
    rows = {r.label: r.change for r in first.sections[0].breakdowns[0].rows}
    assert rows == {"acme": 0, "globex": 0}
    sixth = build_report(project, store, "pulse", on=FRIDAY, as_of=AS_OF, with_charts=False)
    (line,) = sixth.sections[0].lines
    assert (line.value, line.deltas[0].base, line.deltas[0].verdict) == (160, 120, "good")
    (move,) = sixth.changes
    assert move.text == "Captures this month rose 33.3% to 160 (vs 120 the same day last month)."
