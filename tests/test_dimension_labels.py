"""Dimension labels (issue 18 item 9): leaderboards showed staff as UUIDs.

The gym's call_logs hold ``user_id`` UUIDs and its ``staff`` table their names. With
``dimensions: {staff: {labels: {table: team, key: id, label: full_name}}}`` the names are read
from the source at compute time (one query per labelled dimension) and kept in the store's
``dimension_labels``: the report's staff leaderboard (text and JSON), the dashboard's breakdowns
and filter menu and the API's JSON show "Asha Rao", while stored values, filters and exports keep
the key. A key without a label shows the key; a renamed staff member shows the new name after the
next compute; a token sees the labels of the values it may read, and no others.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime
from urllib.parse import quote

import duckdb
import pytest

from apikit import api_store, call, close, usual_tokens
from daypulse.errors import ConfigError

AS_OF = datetime(2026, 3, 10, 12, tzinfo=UTC)
DAY = date(2026, 3, 2)
T = datetime.fromisoformat
ASHA = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
BEN = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
CHEN = "6fa459ea-ee8a-3ca4-894e-db77e160355e"
NOBODY = "f0000000-0000-4000-8000-000000000000"  # makes calls, not in the staff table: shows its key
MAPPING = """
timezone: UTC
include: [sales]
tables: {calls: call_logs, team: staff}
columns:
  leads.status: lead_status
  leads.staff: owner_id
  calls.started_at: created_at
  calls.staff: user_id
  calls.duration_s: duration
"""
LABELS = """
dimensions:
  staff:
    labels: {table: team, key: id, label: full_name}
"""
# A subscription for the north branch: its report's tables make the loader store calls by
# branch and staff together, which the branch-scoped token below reads.
NORTH = """
channels: {file: {root: out}}
subscriptions:
  - {name: north-leads, report: leads, schedule: daily at 09:00, channel: file, to: north,
     filter: {branch: north}}
"""


def make_gym(path) -> str:
    con = duckdb.connect(str(path))
    con.execute("create table leads(id varchar, created_at timestamp, branch varchar, source varchar,"
                " lead_status varchar, owner_id varchar, contacted_at timestamp,"
                " qualified_at timestamp, converted_at timestamp)")
    con.executemany("insert into leads values (?,?,?,?,?,?,?,?,?)", [
        ("l1", T("2026-03-02 09:00"), "north", "web", "contacted", ASHA, T("2026-03-02 10:00"), None, None),
        ("l2", T("2026-03-02 12:00"), "south", "web", "new", BEN, None, None, None),
    ])
    con.execute("create table call_logs(id varchar, created_at timestamp, branch varchar,"
                " user_id varchar, status varchar, outcome varchar, duration int)")
    con.executemany("insert into call_logs values (?,?,?,?,?,?,?)", [
        ("c1", T("2026-03-02 09:30"), "north", ASHA, "completed", "interested", 120),
        ("c2", T("2026-03-02 10:30"), "north", ASHA, "completed", "not_interested", 60),
        ("c3", T("2026-03-02 11:30"), "north", CHEN, "missed", None, 0),
        ("c4", T("2026-03-02 14:00"), "south", BEN, "completed", "interested", 300),
        ("c5", T("2026-03-02 15:00"), "south", NOBODY, "missed", None, 0),
    ])
    con.execute("create table staff(id varchar, full_name varchar)")
    con.executemany("insert into staff values (?,?)", [(ASHA, "Asha Rao"), (BEN, "Ben Ortiz"),
                                                       (CHEN, "Chen Li")])
    con.close()
    return f"duckdb:///{path}"


def write_gym(folder, store: str, extra: str = LABELS + NORTH):
    source = make_gym(folder / "gym.duckdb")
    path = folder / "daypulse.yml"
    path.write_text(f"source: {source}\nstore: {store}\n" + MAPPING + extra)
    return path


def load(path):
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project.loader import load_project
    from daypulse.store.db import open_store

    p = load_project(path, SECTIONS, DERIVED)
    return p, open_store(p.store)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gym(request, tmp_path_factory):
    from daypulse.app import ApiSettings, create_app
    from daypulse.engine.run import run_compute
    from daypulse.store import tokens

    folder = tmp_path_factory.mktemp(f"gym-{request.param}")
    with api_store(request.param, folder) as store_url:
        p, store = load(write_gym(folder, store_url))
        run_compute(p, store, DAY, DAY, as_of=AS_OF)
        keys = usual_tokens(store)
        keys["north"] = tokens.create(store, "north viewer", "viewer", {"branch": "north"})[1]
        app = create_app(ApiSettings(project=p, base_dir=folder))
        yield p, store, app, keys, folder
        close(app, store)


def leaderboard(report):
    (table,) = [b for s in report.sections for b in s.breakdowns if b.title == "Staff leaderboard"]
    return table


# -- the store ---------------------------------------------------------------------------------------

def test_compute_keeps_the_labels_in_the_store_and_values_keep_the_key(gym):
    from daypulse.store import labels
    from daypulse.store.read import by_dimension

    _, store, *_ = gym
    assert labels.of(store, "staff") == {ASHA: "Asha Rao", BEN: "Ben Ortiz", CHEN: "Chen Li"}
    assert labels.of(store, "staff", [ASHA, NOBODY]) == {ASHA: "Asha Rao"}  # no label: no entry
    assert labels.of(store, "branch") == {}  # not a labelled dimension
    stored = by_dimension(store, ["calls"], "day", DAY, DAY, "staff")
    assert stored[("calls", DAY, ASHA)] == 2 and ("calls", DAY, "Asha Rao") not in stored


def test_re_running_compute_replaces_the_labels(store_url, tmp_path):
    """A renamed staff member shows the new name; one gone from the table shows the key."""
    from daypulse.engine.run import run_compute
    from daypulse.report.content import build_report
    from daypulse.store import labels

    path = write_gym(tmp_path, store_url)
    p, store = load(path)
    try:
        run_compute(p, store, DAY, DAY, as_of=AS_OF)
        con = duckdb.connect(str(tmp_path / "gym.duckdb"))
        con.execute("update staff set full_name = 'Asha Menon' where id = ?", [ASHA])
        con.execute("delete from staff where id = ?", [CHEN])
        con.close()
        run_compute(p, store, DAY, DAY, as_of=AS_OF)
        assert labels.of(store, "staff") == {ASHA: "Asha Menon", BEN: "Ben Ortiz"}
        report = build_report(p, store, "leads", on=DAY, as_of=AS_OF, with_charts=False, compute=False)
        assert {r.key: r.label for r in leaderboard(report).rows} == {
            ASHA: "Asha Menon", BEN: "Ben Ortiz", CHEN: CHEN, NOBODY: NOBODY}
        # A dry run reads them but writes nothing.
        con = duckdb.connect(str(tmp_path / "gym.duckdb"))
        con.execute("update staff set full_name = 'Ben O.' where id = ?", [BEN])
        con.close()
        run_compute(p, store, DAY, DAY, as_of=AS_OF, dry_run=True)
        assert labels.of(store, "staff")[BEN] == "Ben Ortiz"
    finally:
        store.engine.dispose()


# -- reports -----------------------------------------------------------------------------------------

def test_the_staff_leaderboard_shows_names_in_text_and_both_in_json(gym):
    from daypulse.report.content import build_report
    from daypulse.report.output import rendered

    p, store, *_ = gym
    report = build_report(p, store, "leads", on=DAY, as_of=AS_OF, with_charts=False, compute=False)
    rows = leaderboard(report).rows
    assert [(r.label, r.key, r.values[0]) for r in rows] == [
        ("Asha Rao", ASHA, 2), ("Ben Ortiz", BEN, 1), ("Chen Li", CHEN, 1), (NOBODY, NOBODY, 1)]
    text = rendered(report, "text")
    assert "Asha Rao" in text and "Chen Li" in text and ASHA not in text and NOBODY in text
    for fmt in ("md", "html", "slack"):
        out = rendered(report, fmt)
        assert "Asha Rao" in out and ASHA not in out, fmt
    (table,) = [b for s in json.loads(rendered(report, "json"))["sections"] for b in s["breakdowns"]
                if b["title"] == "Staff leaderboard"]
    assert table["rows"][0]["label"] == "Asha Rao" and table["rows"][0]["key"] == ASHA
    assert table["rows"][3]["label"] == table["rows"][3]["key"] == NOBODY
    # Dimensions without labels: the key is both.
    outcomes = next(b for s in report.sections for b in s.breakdowns if b.title == "Call outcomes")
    assert {(r.label, r.key) for r in outcomes.rows} >= {("interested", "interested")}


def test_a_bar_chart_by_staff_names_them(gym):
    from daypulse.report.content import build_report

    p, store, *_ = gym
    report = build_report(p, store, "leads", on=DAY, as_of=AS_OF, with_charts=True, compute=False)
    (bar,) = [c for c in report.charts if "by staff" in c.title]
    assert "Asha Rao" in bar.alt and ASHA not in bar.alt


def test_a_report_filtered_by_branch_names_only_that_branchs_staff(gym):
    from daypulse.report.content import build_report

    p, store, *_ = gym
    report = build_report(p, store, "leads", on=DAY, as_of=AS_OF, with_charts=False, compute=False,
                          filter={"branch": "north"})
    assert [(r.label, r.values[0]) for r in leaderboard(report).rows] == [("Asha Rao", 2), ("Chen Li", 1)]


# -- the API ---------------------------------------------------------------------------------------------

def test_api_series_and_latest_carry_labels_next_to_dims(gym):
    _, _, app, keys, _ = gym
    url = f"/api/v1/metrics/calls/series?start=2026-03-02&end=2026-03-02&staff={ASHA}"
    body = call(app, "GET", url, keys["viewer"]).json()
    assert body["dims"] == {"staff": ASHA} and body["labels"] == {"staff": "Asha Rao"}
    assert body["points"] == [{"period_start": "2026-03-02", "value": 2}]  # the fields as they were
    latest = call(app, "GET", f"/api/v1/metrics/calls/latest?staff={ASHA}", keys["viewer"]).json()
    assert latest["dims"] == {"staff": ASHA} and latest["labels"] == {"staff": "Asha Rao"}
    # A value without a label, a dimension without labels: the key.
    body = call(app, "GET", url.replace(ASHA, NOBODY), keys["viewer"]).json()
    assert body["labels"] == {"staff": NOBODY}
    body = call(app, "GET", url.replace(f"staff={ASHA}", "branch=north"), keys["viewer"]).json()
    assert body["labels"] == {"branch": "north"} and body["points"][0]["value"] == 3
    total = call(app, "GET", url.replace(f"&staff={ASHA}", ""), keys["viewer"]).json()
    assert total["dims"] == {} and total["labels"] == {}


def test_filters_and_exports_use_the_key(gym):
    _, _, app, keys, _ = gym
    by_name = call(app, "GET", "/api/v1/metrics/calls/series?start=2026-03-02&end=2026-03-02&staff=Asha%20Rao",
                   keys["viewer"])
    assert by_name.status_code == 200 and by_name.json()["points"][0]["value"] is None
    assert by_name.json()["labels"] == {"staff": "Asha Rao"}  # what was asked for, as nothing is stored
    export = "/api/v1/export?format={}&metric=calls&grain=day&start=2026-03-02&end=2026-03-02"
    rows = call(app, "GET", export.format("json"), keys["viewer"]).json()
    staff = {r["dimensions"]["staff"]: r["value"] for r in rows if set(r["dimensions"]) == {"staff"}}
    assert staff == {ASHA: 2, BEN: 1, CHEN: 1, NOBODY: 1}
    assert "Asha Rao" not in json.dumps(rows)
    text = call(app, "GET", export.format("csv"), keys["viewer"]).text
    assert f"staff={ASHA}" in text and "Asha Rao" not in text
    assert {r["dimensions"] for r in csv.DictReader(io.StringIO(text))} >= {f"staff={ASHA}"}


def test_the_report_preview_json_has_names_and_keys(gym):
    _, _, app, keys, _ = gym
    r = call(app, "GET", "/api/v1/reports/leads/preview?format=json&date=2026-03-02", keys["viewer"])
    assert r.status_code == 200, r.text
    (table,) = [b for s in r.json()["sections"] for b in s["breakdowns"] if b["title"] == "Staff leaderboard"]
    assert [(row["label"], row["key"]) for row in table["rows"]][:2] == [("Asha Rao", ASHA), ("Ben Ortiz", BEN)]


def test_a_scoped_token_sees_the_labels_of_what_it_may_read_only(gym):
    _, _, app, keys, _ = gym
    r = call(app, "GET", "/api/v1/reports/leads/preview?format=json&date=2026-03-02", keys["north"])
    assert r.status_code == 200, r.text
    (table,) = [b for s in r.json()["sections"] for b in s["breakdowns"] if b["title"] == "Staff leaderboard"]
    assert [row["label"] for row in table["rows"]] == ["Asha Rao", "Chen Li"]
    assert "Ben Ortiz" not in r.text and BEN not in r.text
    html = call(app, "GET", "/api/v1/reports/leads/preview?format=html&date=2026-03-02", keys["north"]).text
    assert "Asha Rao" in html and "Ben Ortiz" not in html
    # Asking for a south staff member's key: no stored value of the north branch, so no name either.
    url = f"/api/v1/metrics/calls/series?start=2026-03-02&end=2026-03-02&staff={BEN}"
    body = call(app, "GET", url, keys["north"]).json()
    assert body["dims"] == {"branch": "north", "staff": BEN}, body
    assert body["points"][0]["value"] is None and "Ben Ortiz" not in json.dumps(body)
    mine = call(app, "GET", url.replace(BEN, ASHA), keys["north"]).json()
    assert mine["labels"] == {"branch": "north", "staff": "Asha Rao"} and mine["points"][0]["value"] == 2


# -- the dashboard -----------------------------------------------------------------------------------------

def test_the_dashboard_breakdown_and_menu_show_names_and_link_by_key(gym):
    from test_dashboard import signed_in

    _, _, app, keys, _ = gym
    b = signed_in(app, keys["viewer"])
    page = b.get("/metrics/calls?start=2026-03-02&end=2026-03-02&grain=day")
    assert page.status_code == 200, page.text
    by_staff = page.text.split("By staff", 1)[1].split("</table>", 1)[0]
    assert "Asha Rao" in by_staff and "Ben Ortiz" in by_staff and NOBODY in by_staff
    assert f"filter=staff%3D{ASHA}" in by_staff  # the link filters by the key
    assert re.search(r'<option value="staff=' + ASHA + r'"[^>]*>staff: Asha Rao</option>', page.text), page.text
    filtered = b.get(f"/metrics/calls?start=2026-03-02&end=2026-03-02&grain=day&filter=staff={quote(ASHA)}")
    assert filtered.status_code == 200
    assert re.search(r'<option value="staff=' + ASHA + r'" selected>staff: Asha Rao</option>', filtered.text)
    assert "<td class=\"num\">2</td>" in filtered.text.split('id="values"', 1)[1]


def test_the_dashboard_shows_a_scoped_viewer_only_its_staffs_names(gym):
    from test_dashboard import signed_in

    _, _, app, keys, _ = gym
    b = signed_in(app, keys["north"])
    page = b.get("/metrics/calls?start=2026-03-02&end=2026-03-02&grain=day")
    assert page.status_code == 200, page.text
    assert "Asha Rao" in page.text and "Chen Li" in page.text
    assert "Ben Ortiz" not in page.text and BEN not in page.text
    overview = b.get("/?board=leads&start=2026-03-02&end=2026-03-02&grain=day")
    assert "Ben Ortiz" not in overview.text and BEN not in overview.text


# -- the project file and `daypulse check` -------------------------------------------------------------------

def test_an_unknown_dimension_is_an_error_at_its_line():
    from daypulse.project import parse_project

    text = ("source: duckdb:///x.duckdb\ninclude: [sales]\ndimensions:\n  stafff:\n"
            "    labels: {table: staff, key: id, label: full_name}\n")
    with pytest.raises(ConfigError) as err:
        parse_project(text)
    said = str(err.value)
    assert "daypulse.yml:4:" in said and "'stafff'" in said and "did you mean 'staff'?" in said, said
    with pytest.raises(ConfigError) as err:
        parse_project("source: duckdb:///x.duckdb\ninclude: [sales]\ndimensions:\n  staff:\n"
                      "    labels: {table: staff, key: id}\n")
    assert "daypulse.yml:5:" in str(err.value) and "label" in str(err.value), str(err.value)


@pytest.mark.parametrize("change, line, said", [
    ("{table: team, key: id, label: full_name}", None, None),
    ("{table: teem, key: id, label: full_name}", 16, "labels.table: table 'teem' not found in the source"),
    ("{table: people, key: id, label: full_name}", 16, "labels.table: table 'people' not found in the source"),
    ("{table: team, key: uid, label: full_name}", 16, "labels.key: column 'uid' is not in table 'staff'"),
    ("{table: team, key: id,\n             label: name}", 17, "labels.label: column 'name' is not in table 'staff'"),
])
def test_check_names_a_missing_lookup_table_or_column_at_its_line(tmp_path, capsys, monkeypatch, change, line, said):
    from deliverykit import cli

    path = write_gym(tmp_path, "sqlite:///store.db", LABELS.replace("{table: team, key: id, label: full_name}",
                                                                    change))
    lines = path.read_text().splitlines()
    assert lines[15].strip().startswith("labels:"), lines  # line 16 of the file
    code, _out, err = cli(capsys, monkeypatch, tmp_path, "check")
    if said is None:
        assert code == 0, err
        assert "labels of staff: staff.full_name by id" in err, err
        return
    assert code == 2, err
    assert f"daypulse.yml:{line}: error: dimensions.staff.{said}" in err, err


def test_compute_with_a_missing_lookup_table_fails_clearly_and_writes_nothing(store_url, tmp_path):
    from daypulse.engine.run import run_compute
    from daypulse.store.read import latest_day

    p, store = load(write_gym(tmp_path, store_url, LABELS.replace("table: team", "table: teem")))
    try:
        with pytest.raises(ConfigError) as err:
            run_compute(p, store, DAY, DAY, as_of=AS_OF)
        assert "dimensions.staff.labels.table: table 'teem' not found" in str(err.value)
        assert latest_day(store) is None
    finally:
        store.engine.dispose()


# -- a tenant's labels, through every endpoint and page ---------------------------------------------------

@pytest.fixture(scope="module")
def tenants(tmp_path_factory):
    from daypulse.app import ApiSettings, create_app
    from daypulse.engine.run import run_compute
    from deliverykit import load as load_project_and_store
    from deliverykit import write
    from storekit import make_source

    folder = tmp_path_factory.mktemp("tenant-labels")
    source = make_source(folder / "app.duckdb")
    con = duckdb.connect(str(folder / "app.duckdb"))
    con.execute("create table tenants(slug varchar, name varchar)")
    con.executemany("insert into tenants values (?, ?)",
                    [("acme", "Acme Corporation"), ("globex", "Globex Corporation")])
    con.close()
    write(folder, source=source, store=f"sqlite:///{folder}/store.db",
          dimensions={"tenant": {"labels": {"table": "tenants", "key": "slug", "label": "name"}}})
    project, store = load_project_and_store(folder)
    run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), params={"why": "labels test"})
    keys = usual_tokens(store, scoped_admin=True)
    app = create_app(ApiSettings(project=project, base_dir=folder))
    yield app, keys
    close(app, store)


def test_a_tenant_scoped_token_never_sees_another_tenants_label(tenants):
    from test_api import ENDPOINTS
    from test_dashboard import PAGES, signed_in

    app, keys = tenants
    mine = call(app, "GET", "/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-01", keys["acme"]).json()
    assert mine["dims"] == {"tenant": "acme"} and mine["labels"] == {"tenant": "Acme Corporation"}
    summary = call(app, "GET", "/api/v1/summary?date=2026-03-02", keys["acme"]).json()
    assert summary["dims"] == {"tenant": "acme"} and summary["labels"] == {"tenant": "Acme Corporation"}
    company = call(app, "GET", "/api/v1/summary?date=2026-03-02", keys["viewer"]).json()
    assert company["dims"] == {} and company["labels"] == {}
    urls = [u for m, u, admin_only in ENDPOINTS if m == "GET" and not admin_only] + [
        "/api/v1/reports/pulse/preview?format=json&date=2026-03-02",
        "/api/v1/reports/pulse/preview?format=html&date=2026-03-02",
        "/api/v1/metrics/events/series?start=2026-03-01&end=2026-03-01&tenant=globex"]
    for url in urls:
        for who in ("acme", "acme-admin"):
            r = call(app, "GET", url, keys[who])
            assert "Globex" not in r.text, (url, who, r.text[:500])
    # The company sees both names where it sees both tenants.
    viewer = signed_in(app, keys["viewer"])
    page = viewer.get("/metrics/events?start=2026-03-01&end=2026-03-01")
    assert "Acme Corporation" in page.text and "Globex Corporation" in page.text
    acme = signed_in(app, keys["acme"])
    for url in PAGES:
        assert "Globex" not in acme.get(url).text, url
    assert "<option>tenant: Acme Corporation</option>" in acme.get("/").text  # its fixed filter, by name
