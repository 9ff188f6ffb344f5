"""Adopting daypulse on your own schema (issue 18): no silent wrong number.

One small DuckDB source shaped like the gym's (seed 002): ``leads`` and ``call_logs`` with their
own column names, mapped onto the sales pack. Each test is one problem adopters met, and each
failed before its fix: a column mapped to null that redefined a metric, a ratio broken down by a
dimension one part does not have (a zero-filled side), a filtered report losing its tables...
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pytest

from daypulse.engine import compute_values
from daypulse.errors import ConfigError
from daypulse.project import parse_project

AS_OF = datetime(2026, 3, 10, 12, tzinfo=UTC)
DAY = date(2026, 3, 2)
T = datetime.fromisoformat
MAPPING = """
timezone: UTC
include: [sales]
tables: {calls: call_logs}
columns:
  leads.status: lead_status
  leads.staff: owner_id
  calls.started_at: created_at
  calls.staff: user_id
  calls.duration_s: duration
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("adoption") / "gym.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table leads(id varchar, created_at timestamp, branch varchar, source varchar,"
                " lead_status varchar, owner_id varchar, contacted_at timestamp,"
                " qualified_at timestamp, converted_at timestamp)")
    con.executemany("insert into leads values (?,?,?,?,?,?,?,?,?)", [
        ("l1", T("2026-03-02 09:00"), "north", "web", "contacted", "s1", T("2026-03-02 10:00"), None, None),
        ("l2", T("2026-03-02 11:00"), "north", "ads", "new", "s1", None, None, None),
        ("l3", T("2026-03-02 12:00"), "south", "web", "converted", "s2", T("2026-03-02 13:00"),
         T("2026-03-03 09:00"), T("2026-03-04 09:00")),
    ])
    con.execute("create table call_logs(id varchar, created_at timestamp, branch varchar,"
                " user_id varchar, status varchar, outcome varchar, duration int)")
    con.executemany("insert into call_logs values (?,?,?,?,?,?,?)", [
        ("c1", T("2026-03-02 09:30"), "north", "s1", "completed", "interested", 120),
        ("c2", T("2026-03-02 10:30"), "north", "s1", "completed", "not_interested", 60),
        ("c3", T("2026-03-02 11:30"), "north", "s3", "missed", None, 0),
        ("c4", T("2026-03-02 14:00"), "south", "s2", "completed", "interested", 300),
    ])
    con.execute("create table staff(id varchar, full_name varchar)")
    con.executemany("insert into staff values (?,?)", [("s1", "Asha Rao"), ("s2", "Ben Ortiz"),
                                                       ("s3", "Chen Li")])
    con.close()
    return f"duckdb:///{path}"


def project(source: str, extra: str = "", **kw):
    return parse_project(f"source: {source}\n" + MAPPING + extra, **kw)


def values(p, names, start=DAY, end=DAY, grains=("day",)):
    got = compute_values(p, start, end, p.with_parts(names), grains=list(grains), as_of=AS_OF)
    return {(v.metric, v.grain, v.period_start, tuple(sorted(v.dims))): v.value
            for v in got}


# -- 2. a column mapped to null never redefines a metric ------------------------------------------

def test_an_essential_column_mapped_to_null_drops_the_metrics_that_need_it(source):
    p = project(source, "  leads.contacted_at: null\n")
    # Without a contact time, "leads contacted" would be every lead and the contact rate 100%.
    for gone in ("funnel_contacted", "contact_rate", "qualification_rate"):
        assert gone not in p.metrics, gone
    assert {"leads_created", "funnel_converted", "lead_conversion_rate"} <= set(p.metrics)
    said = [w.message for w in p.warnings]
    assert any("funnel_contacted" in w and "leads.contacted_at" in w for w in said), said
    assert any("contact_rate" in w and "funnel_contacted" in w for w in said), said
    assert all(w.level == "warning" for w in p.warnings)


def test_a_kind_column_mapped_to_null_does_not_turn_every_event_into_a_capture():
    p = parse_project("source: duckdb:///x.duckdb\ninclude: [product]\ncolumns: {events.kind: null}\n")
    for gone in ("captures", "file_uploads", "worklogs", "reports_generated", "capturing_users"):
        assert gone not in p.metrics, gone
    assert "dau" in p.metrics  # every event is activity: its meaning does not need the kind


def test_an_optional_filter_mapped_to_null_is_dropped_and_the_metric_kept():
    p = parse_project("source: duckdb:///x.duckdb\ninclude: [saas]\ncolumns: {users.is_test: null}\n")
    assert p.metrics["signups"].where == {}
    assert not [w for w in p.warnings if "signups" in w.message]


# -- 5. a ratio is broken down only where both parts are ------------------------------------------

def test_a_ratio_is_not_broken_down_by_a_dimension_one_part_lacks(source):
    p = project(source)
    assert "outcome" in p.dimensions_of("calls")
    assert "outcome" not in p.dimensions_of("successful_calls")
    assert "outcome" not in p.dimensions_of("call_success_rate")
    got = values(p, ["call_success_rate"])
    outcome_rows = {k: v for k, v in got.items() if k[0] == "call_success_rate" and
                    any(d == "outcome" for d, _ in k[3])}
    assert outcome_rows == {}  # was 0.0 for "interested", where every call succeeded
    assert got[("call_success_rate", "day", DAY, ())] == 0.5
    assert got[("call_success_rate", "day", DAY, (("staff", "s2"),))] == 1.0


# -- 7. packs: take what you need ------------------------------------------------------------------

def test_include_a_pack_with_a_list_of_metrics_brings_their_parts(source):
    picked = "include: [{sales: [call_success_rate, leads_created]}]"
    p = parse_project(f"source: {source}\n" + MAPPING.replace("include: [sales]", picked))
    assert set(p.metrics) == {"call_success_rate", "successful_calls", "calls", "leads_created"}


def test_include_a_pack_with_an_unknown_metric_names_it():
    with pytest.raises(ConfigError) as err:
        parse_project("source: duckdb:///x.duckdb\ninclude: [{sales: [call_sucess_rate]}]\n")
    text = str(err.value)
    assert "call_sucess_rate" in text and "call_success_rate" in text


# -- 10. `daypulse check` on the first day -----------------------------------------------------------

def write(folder, source: str, extra: str = "") -> None:
    (folder / "daypulse.yml").write_text(f"source: {source}\nstore: sqlite:///store.db\n" + MAPPING + extra)


def test_check_before_the_first_compute_says_what_is_left_out_and_exits_0(source, tmp_path, capsys,
                                                                         monkeypatch):
    from deliverykit import cli

    write(tmp_path, source, "  leads.contacted_at: null\n")
    code, _out, err = cli(capsys, monkeypatch, tmp_path, "check")
    assert code == 0, err
    assert "not created yet (compute creates it)" in err
    assert not (tmp_path / "store.db").exists()  # check creates nothing
    lines = err.splitlines()
    for metric in ("funnel_contacted", "contact_rate", "qualification_rate"):
        assert sum(f"{metric} is left out" in ln for ln in lines) == 1, (metric, err)
    # ...and why a ratio has fewer breakdowns than its parts (item 5).
    assert any("call_success_rate is not broken down by outcome" in ln and "successful_calls" in ln
               for ln in lines), err


def test_check_names_every_metric_of_a_missing_table_and_the_tables_that_exist(source, tmp_path,
                                                                              capsys, monkeypatch):
    from deliverykit import cli

    write(tmp_path, source)
    text = (tmp_path / "daypulse.yml").read_text().replace("{calls: call_logs}", "{calls: call_log}")
    (tmp_path / "daypulse.yml").write_text(text)
    code, _out, err = cli(capsys, monkeypatch, tmp_path, "check")
    assert code == 2, err
    assert "'call_log'" in err and "did you mean 'call_logs'?" in err, err
    for metric in ("calls", "completed_calls", "successful_calls", "avg_call_duration"):
        assert f"metric '{metric}': table 'call_log' not found" in err, (metric, err)
    assert "tables there: call_logs, leads, staff" in err


# -- 6. two dimensions whose combination is not stored ---------------------------------------------

def test_a_series_on_two_dimensions_not_stored_together_is_a_422_naming_the_breakdown(source, tmp_path):
    from apikit import call, close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.engine.run import run_compute
    from daypulse.store.db import open_store

    p = project(source, extra=f"store: sqlite:///{tmp_path}/s.db\n")
    store = open_store(p.store)
    run_compute(p, store, DAY, DAY, as_of=AS_OF)
    keys = usual_tokens(store)
    app = create_app(ApiSettings(project=p))
    try:
        url = "/api/v1/metrics/{}/series?start=2026-03-02&end=2026-03-02&grain=day&branch=north&staff=s1"
        r = call(app, "GET", url.format("calls"), keys["admin"])
        assert r.status_code == 422, r.text  # was 200 with a null value
        assert "add breakdowns: [[branch, staff]] to calls" in r.json()["detail"]
        r = call(app, "GET", url.format("call_success_rate"), keys["admin"])
        assert r.status_code == 422
        assert "to successful_calls and calls" in r.json()["detail"], r.text
        r = call(app, "GET", url.format("calls").replace("&staff=s1", ""), keys["admin"])
        assert r.status_code == 200 and r.json()["points"][0]["value"] == 3, r.text
        # The dashboard's spelling works in the API too, and cannot collide with a parameter.
        r = call(app, "GET", url.format("calls").replace("&branch=north&staff=s1", "&filter=branch=north"),
                 keys["admin"])
        assert r.status_code == 200 and r.json()["points"][0]["value"] == 3, r.text
        for bad, said in (("&filter=branch", "is not dimension=value"), ("&filter=branch=south", "two values")):
            r = call(app, "GET", url.format("calls").replace("&staff=s1", bad), keys["admin"])
            assert r.status_code == 422 and said in r.json()["detail"], r.text
    finally:
        close(app, store)


# -- 4. a report narrowed to one branch keeps its tables ---------------------------------------------

BRANCH_SUBSCRIPTION = """
channels: {file: {root: out}}
subscriptions:
  - {name: north-leads, report: leads, schedule: daily at 09:00, channel: file, to: north,
     filter: {branch: north}}
"""


def test_a_branch_report_has_its_staff_and_outcome_tables_without_breakdowns_by_hand(source, tmp_path):
    from daypulse.checks import implied_lines
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.engine.run import run_compute
    from daypulse.project.loader import load_project
    from daypulse.report.content import build_report
    from daypulse.store.db import open_store

    (tmp_path / "daypulse.yml").write_text(f"source: {source}\nstore: sqlite:///s.db\n" + MAPPING
                                           + BRANCH_SUBSCRIPTION)
    p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
    assert ["branch", "staff"] in p.metrics["calls"].breakdowns
    assert ["branch", "outcome"] in p.metrics["calls"].breakdowns
    assert ["branch", "staff"] in p.metrics["successful_calls"].breakdowns  # a part of the success rate
    assert "stored for filtered reports: calls: [branch, hour], [branch, outcome], [branch, staff]" in implied_lines(p)
    store = open_store(p.store)
    run_compute(p, store, DAY, DAY, as_of=AS_OF)
    report = build_report(p, store, "leads", on=DAY, as_of=AS_OF, with_charts=False, compute=False,
                          filter={"branch": "north"})
    tables = {b.title: b for s in report.sections for b in s.breakdowns}
    staff = {r.label: r.values for r in tables["Staff leaderboard"].rows}
    assert staff == {"s1": [2, 2, 0.5], "s3": [1, 0, 0.0]}
    outcomes = {r.label: r.values[0] for r in tables["Call outcomes"].rows}
    assert outcomes == {"interested": 1, "not_interested": 1, "(null)": 1}
    assert not [n for n in report.notes if "not shown" in n]

    # Loaded without the derivation (a subscription kept in the store, not in the file): the
    # report says which table it cannot show and what to add, instead of dropping it.
    bare = load_project(tmp_path / "daypulse.yml", SECTIONS)
    report = build_report(bare, store, "leads", on=DAY, as_of=AS_OF, with_charts=False, compute=False,
                          filter={"branch": "north"})
    said = [n for n in report.notes if "Staff leaderboard is not shown for branch north" in n]
    assert len(said) == 1 and "add breakdowns: [[branch, staff]] to calls" in said[0], report.notes
