"""Cohorts (DESIGN §9) against a hand-computed expectation on DuckDB, SQLite, PostgreSQL and
PySpark: signups at local midnight and on New York's 23-hour day (2026-03-08), a signup late in
the evening that is the next day in UTC, customers with gaps, a test account left out; the
revenue retention worked out below; the CLI's table and records, kept per computation.

Story (America/New_York; weeks from Monday; the last complete day is 2026-05-31):

| user | signed up (local) | day s | week cohort | month cohort | active (local days) -> weeks k = (d - s) // 7 |
|---|---|---|---|---|---|
| 5 | 02-28 12:00 EST | 02-28 | 02-23 | 02 | 03-07 (7 -> 1), 03-08 00:30 (8 -> 1), 05-23 (84 -> 12) |
| 1 | 03-01 23:30 EST (04:30 UTC) | 03-01 | 02-23 | 03 | 03-07 23:59 (6), 03-08 (7: 1), 03-21 (20: 2), 04-05 (35: 5) |
| 2 | 03-08 00:00 EST (midnight) | 03-08 | 03-02 | 03 | 03-14 23:59 (6: wk 0), 03-15 00:00 (7 -> 1), 03-29 (21 -> 3) |
| 3 | 03-08 23:59 EDT (03:59 UTC 03-09) | 03-08 | 03-02 | 03 | 04-05 (28 -> 4) |
| 4 | 03-09 00:00 EDT | 03-09 | 03-09 | 03 | 03-16 00:30 twice (7 -> 1), 04-06 (28 -> 4) |
| 7 | 03-10 (globex) | 03-10 | 03-09 | 03 | 03-17 (7 -> 1) |
| 6 | a test account | | | | left out |

Week k of a cohort is reported while (its last signup day) + 7k + 6 <= 05-31: month 02 (last s
02-28): k <= 12; month 03 (03-10): k <= 10; week 02-23 (03-01): k <= 12; 03-02 (03-08): k <= 11;
03-09 (03-10): k <= 10.

Revenue (MRR rows open at the end of each month; an end exactly at the end still counts):
user 5 800 from 02-28 13:00 EST, +200 from 04-10; user 1 1000 from 03-05; user 2 2000 from 03-20
to 04-15; user 3 500 from 03-31 23:59 EDT; user 4 3000 from 04-01 00:00 EDT (April's, not March's).
Month 02: 800 at the end of February; 800 March; 1000 April and May -> rates 1, 1, 1.25, 1.25.
Month 03: 1000 + 2000 + 500 = 3500 at the end of March; April and May 1000 + 500 + 3000 = 4500
-> rates 1, 1.2857, 1.2857.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from worked import Story, Table
from worked.load import BACKENDS, Loader

ZONE = "America/New_York"
LAST = date(2026, 5, 31)
AS_OF = "2026-06-01T16:00:00Z"
CLAIMS: list[tuple[datetime, str]] = []
N = None


def at(utc: str, local: str) -> datetime:
    ts = datetime.fromisoformat(utc)
    CLAIMS.append((ts, local))
    return ts


STORY = Story("cohorts", {
    "users": Table.of(
        {"id": "int", "created_at": "ts", "is_test": "bool", "tenant": "str"},
        (5, at("2026-02-28 17:00", "2026-02-28 12:00 EST"), False, "acme"),
        (1, at("2026-03-02 04:30", "2026-03-01 23:30 EST"), False, "acme"),
        (2, at("2026-03-08 05:00", "2026-03-08 00:00 EST"), False, "acme"),
        (3, at("2026-03-09 03:59", "2026-03-08 23:59 EDT"), False, "acme"),
        (4, at("2026-03-09 04:00", "2026-03-09 00:00 EDT"), False, "acme"),
        (7, at("2026-03-10 16:00", "2026-03-10 12:00 EDT"), False, "globex"),
        (6, at("2026-03-03 16:00", "2026-03-03 11:00 EST"), True, "acme")),
    "events": Table.of(
        {"user_id": "int", "occurred_at": "ts"},
        (5, at("2026-03-07 17:00", "2026-03-07 12:00 EST")), (5, at("2026-03-08 05:30", "2026-03-08 00:30 EST")),
        (5, at("2026-05-23 16:00", "2026-05-23 12:00 EDT")),
        (1, at("2026-03-08 04:59", "2026-03-07 23:59 EST")), (1, at("2026-03-08 15:00", "2026-03-08 11:00 EDT")),
        (1, at("2026-03-21 16:00", "2026-03-21 12:00 EDT")), (1, at("2026-04-05 16:00", "2026-04-05 12:00 EDT")),
        (2, at("2026-03-15 03:59", "2026-03-14 23:59 EDT")), (2, at("2026-03-15 04:00", "2026-03-15 00:00 EDT")),
        (2, at("2026-03-29 16:00", "2026-03-29 12:00 EDT")),
        (3, at("2026-04-05 17:00", "2026-04-05 13:00 EDT")),
        (4, at("2026-03-16 04:30", "2026-03-16 00:30 EDT")), (4, at("2026-03-16 04:31", "2026-03-16 00:31 EDT")),
        (4, at("2026-04-06 16:00", "2026-04-06 12:00 EDT")),
        (7, at("2026-03-17 16:00", "2026-03-17 12:00 EDT")),
        (6, at("2026-03-10 16:00", "2026-03-10 12:00 EDT"))),
    "subscription_periods": Table.of(
        {"user_id": "int", "valid_from": "ts", "valid_to": "ts", "mrr_cents": "int"},
        (5, at("2026-02-28 18:00", "2026-02-28 13:00 EST"), N, 800),
        (5, at("2026-04-10 16:00", "2026-04-10 12:00 EDT"), N, 200),
        (1, at("2026-03-05 17:00", "2026-03-05 12:00 EST"), N, 1000),
        (2, at("2026-03-20 16:00", "2026-03-20 12:00 EDT"), at("2026-04-15 16:00", "2026-04-15 12:00 EDT"), 2000),
        (3, at("2026-04-01 03:59", "2026-03-31 23:59 EDT"), N, 500),
        (4, at("2026-04-01 04:00", "2026-04-01 00:00 EDT"), N, 3000)),
})
METRICS = {
    "signups": {"table": "users", "time": "created_at", "where": {"is_test": False},
                "dimensions": {"tenant": "tenant"}},
    "dau": {"table": "events", "time": "occurred_at", "measure": "count_distinct", "column": "user_id"},
    "mrr": {"kind": "state", "table": "subscription_periods", "start": "valid_from", "end": "valid_to",
            "measure": "sum", "column": "mrr_cents", "format": "currency"},
}

# (cohort, size, {k: retained}); every other k up to the cohort's last complete week is 0.
USERS_BY_MONTH = [(date(2026, 2, 1), 1, {1: 1, 12: 1}, 12), (date(2026, 3, 1), 5, {1: 4, 2: 1, 3: 1, 4: 2, 5: 1}, 10)]
USERS_BY_WEEK = [(date(2026, 2, 23), 2, {1: 2, 2: 1, 5: 1, 12: 1}, 12), (date(2026, 3, 2), 2, {1: 1, 3: 1, 4: 1}, 11),
                 (date(2026, 3, 9), 2, {1: 2, 4: 1}, 10)]
REVENUE_BY_MONTH = [(date(2026, 2, 1), 800, [800, 800, 1000, 1000]), (date(2026, 3, 1), 3500, [3500, 4500, 4500])]


def expected_users(rows, by: str) -> list[dict]:
    out = []
    for cohort, size, kept, top in rows:
        for k in range(top + 1):
            n = size if k == 0 else kept.get(k, 0)
            out.append({"cohort": cohort.isoformat(), "by": by, "measure": "users", "size": size, "period": k,
                        "unit": "week", "retained": n, "rate": round(n / size, 4)})
    return out


def expected_revenue() -> list[dict]:
    return [{"cohort": c.isoformat(), "by": "month", "measure": "revenue", "size": size, "period": k,
             "unit": "month", "retained": v, "rate": round(v / size, 4)}
            for c, size, values in REVENUE_BY_MONTH for k, v in enumerate(values)]


def test_local_times_are_what_the_story_says():
    tz = ZoneInfo(ZONE)
    for utc, local in CLAIMS:
        wall = utc.replace(tzinfo=UTC).astimezone(tz)
        assert f"{wall:%Y-%m-%d %H:%M} {wall.tzname()}" == local, utc


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("cohorts"))
    yield ld
    ld.close()


def project_of(loader, backend: str, folder):
    from daypulse.project import project_from_dict

    url, tables = loader.get(backend, STORY)
    return project_from_dict({"source": url, "store": f"sqlite:///{folder}/s.db", "timezone": ZONE,
                              "tables": tables, "metrics": METRICS})


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b
                                     for b in BACKENDS])
def test_cohorts_match_the_hand_computed_triangle(backend, loader, tmp_path):
    from daypulse.cohorts.compute import compute_cohorts

    p = project_of(loader, backend, tmp_path)
    got = lambda by, measure, **kw: [c.record() for c in compute_cohorts(p, by, measure, LAST, **kw)]  # noqa: E731
    assert got("month", "users", cohorts=4) == expected_users(USERS_BY_MONTH, "month")
    assert got("week", "users", cohorts=15) == expected_users(USERS_BY_WEEK, "week")
    assert got("month", "revenue", cohorts=4) == expected_revenue()
    # One tenant: globex's user 7 alone in March, acme's four without it.
    march = [c for c in got("month", "users", cohorts=4, dims={"tenant": "acme"}) if c["cohort"] == "2026-03-01"]
    assert (march[0]["size"], march[1]["retained"]) == (4, 3)
    # Fewer cohorts: only the latest ones (March, April, May: only March has signups).
    assert {c["cohort"] for c in got("month", "users", cohorts=3)} == {"2026-03-01"}


def test_the_cli_prints_the_triangle_and_keeps_each_computation(loader, tmp_path, capsys, monkeypatch):
    import yaml

    from daypulse.store import cohorts as stored
    from daypulse.store import runs
    from daypulse.store.db import open_store
    from deliverykit import cli

    url, tables = loader.get("duckdb", STORY)
    (tmp_path / "daypulse.yml").write_text(yaml.safe_dump(
        {"source": url, "store": f"sqlite:///{tmp_path}/s.db", "timezone": ZONE, "tables": tables,
         "metrics": METRICS}, sort_keys=False))
    run = lambda *a: cli(capsys, monkeypatch, tmp_path, "cohorts", *a, "--as-of", AS_OF)  # noqa: E731
    code, out, err = run("--by", "month", "--cohorts", "4", "--format", "jsonl")
    assert code == 0, err
    assert [json.loads(x) for x in out.splitlines()] == expected_users(USERS_BY_MONTH, "month")
    code, out, err = run("--by", "month", "--cohorts", "4")
    assert code == 0 and "W12" in out and "2026-03" in out and "80%" in out, out  # March's W1: 4 of 5
    code, out, _ = run("--by", "month", "--measure", "revenue", "--cohorts", "4", "--format", "jsonl")
    assert [json.loads(x) for x in out.splitlines()] == expected_revenue()
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    kept = stored.runs(store, "month", "users")
    assert len(kept) == 2 and all(as_of == LAST for _, as_of, _ in kept)  # two computations, both kept
    assert [r.kind for r in runs.history(store, 3)] == ["cohorts"] * 3
    assert len(stored.latest(store, "month", "revenue")) == 7
    store.engine.dispose()
    for args, said in ((("--by", "quarter"), "--by: 'quarter' is not one of week, month"),
                       (("--measure", "mrr"), "--measure: 'mrr' is not one of users, revenue"),
                       (("--filter", "plan=pro"), "cohorts: signups have no dimension 'plan'"),
                       (("--date", "2030-01-01"), "--date: 2030-01-01 is in the future")):
        code, _, err = run(*args)
        assert code == 2 and said in err and len(err.strip().splitlines()) == 1, (args, err)
    text = (tmp_path / "daypulse.yml").read_text() + "cohorts:\n  signups: {metrc: signups}\n"
    (tmp_path / "daypulse.yml").write_text(text)
    code, _, err = run()
    assert code == 2 and "daypulse.yml:" in err and "cohorts.signups.metrc" in err, err


ALL_SEE = {None: 401, "viewer": 200, "admin": 200, "acme": 200, "acme-admin": 200}
MATRIX = [("GET", "/api/v1/cohorts?by=month&cohorts=4&date=2026-05-31", ALL_SEE)]  # test_api: every operation


def test_the_api_serves_the_grid_within_the_tokens_scope(loader, tmp_path):
    """Every role; a tenant's token counts its tenant's signups only (acme: March has 4, not 5);
    a scope on a dimension signups do not have is refused; the grid is computed once and then read
    from the store."""
    from apikit import call, close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.store import cohorts as stored
    from daypulse.store import tokens
    from daypulse.store.db import open_store

    p = project_of(loader, "duckdb", tmp_path)
    store = open_store(p.store)
    keys = usual_tokens(store, scoped_admin=True)
    keys["branch"] = tokens.create(store, "north", "viewer", {"branch": "north"})[1]
    app = create_app(ApiSettings(project=p))
    try:
        for method, url, statuses in MATRIX:
            for who, status in statuses.items():
                assert call(app, method, url, keys.get(who)).status_code == status, (url, who)
        body = call(app, "GET", MATRIX[0][1], keys["viewer"]).json()
        assert body["cells"] == expected_users(USERS_BY_MONTH, "month") and body["as_of"] == "2026-05-31"
        mine = call(app, "GET", MATRIX[0][1], keys["acme"]).json()
        assert mine["dimensions"] == {"tenant": "acme"}
        march = [(c["size"], c["retained"]) for c in mine["cells"] if c["cohort"] == "2026-03-01"]
        assert march[:2] == [(4, 4), (4, 3)]
        revenue = call(app, "GET", MATRIX[0][1] + "&measure=revenue", keys["admin"]).json()
        assert revenue["cells"] == expected_revenue()
        assert call(app, "GET", MATRIX[0][1] + "&tenant=globex", keys["acme"]).status_code == 403
        assert call(app, "GET", MATRIX[0][1], keys["branch"]).status_code == 403
        assert call(app, "GET", MATRIX[0][1] + "&plan=pro", keys["admin"]).status_code == 422
        assert call(app, "GET", "/api/v1/cohorts?by=quarter", keys["admin"]).status_code == 422
        runs_before = len(stored.runs(store, "month", "users"))
        call(app, "GET", MATRIX[0][1], keys["viewer"])  # the same grid again: read, not recomputed
        assert len(stored.runs(store, "month", "users")) == runs_before
        # 12 cohorts of a company whose signups began 3 months ago: computed once, then read.
        twelve = "/api/v1/cohorts?by=month&cohorts=12&date=2026-05-31"
        assert call(app, "GET", twelve, keys["viewer"]).json()["cells"] == expected_users(USERS_BY_MONTH, "month")
        kept = len(stored.runs(store, "month", "users"))
        call(app, "GET", twelve, keys["viewer"])
        assert len(stored.runs(store, "month", "users")) == kept
    finally:
        close(app, store)


def test_the_dashboard_heatmap_for_every_role(loader, tmp_path):
    """The cohort page: the triangle's rates and counts in its cells (W1/W4/W12 marked), a
    tenant's session its own signups; the demo's other views are links."""
    import re

    from apikit import close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.store import tokens
    from daypulse.store.db import open_store
    from test_dashboard import Browser, signed_in

    p = project_of(loader, "duckdb", tmp_path)
    store = open_store(p.store)
    keys = usual_tokens(store, scoped_admin=True)
    keys["branch"] = tokens.create(store, "north", "viewer", {"branch": "north"})[1]
    app = create_app(ApiSettings(project=p))
    try:
        assert Browser(app).get("/cohorts").status_code == 303
        for who in ("viewer", "admin", "acme", "acme-admin"):
            html = signed_in(app, keys[who]).get("/cohorts?by=month").text
            size = re.search(r"<td class=\"nowrap\">Mar 2026</td>\s*<td class=\"num\">(\d+)</td>", html)
            assert size and size.group(1) == ("4" if who.startswith("acme") else "5"), (who, html[-3000:])
            assert 'class="num mark">W4</th>' in html and 'title="W1: ' in html
        html = signed_in(app, keys["viewer"]).get("/cohorts?by=month").text
        assert 'title="W1: 4 of 5 active">80%<small>4</small>' in html, html[-3000:]
        revenue = signed_in(app, keys["viewer"]).get("/cohorts?by=month&measure=revenue").text
        assert ">129%<small>$45</small>" in revenue  # March: $45 of $35 at the end of April
        assert signed_in(app, keys["branch"]).get("/cohorts").status_code == 403
    finally:
        close(app, store)


def test_a_report_shows_the_latest_cohorts(loader, tmp_path):
    """``cohorts: {by: month}`` in a report: Feb 2026 (1 customer: W1 100%, W4 0%, W12 100%) and Mar
    2026 (5: W1 80%, W4 40%, W12 not over yet), together 6 with W1 5/6, W4 2/6, W12 1/1."""
    from daypulse.project import project_from_dict
    from daypulse.report.content import build_report
    from daypulse.report.render import render
    from daypulse.store.db import open_store

    url, tables = loader.get("duckdb", STORY)
    report = {"title": "Retention", "period": "month", "sections": [{"title": "Signups", "metrics": ["signups"]}],
              "cohorts": {"by": "month", "cohorts": 4}}
    p = project_from_dict({"source": url, "store": f"sqlite:///{tmp_path}/s.db", "timezone": ZONE,
                           "tables": tables, "metrics": METRICS, "reports": {"retention": report}})
    store = open_store(p.store)
    built = build_report(p, store, "retention", on=LAST, as_of=datetime(2026, 6, 1, 16, tzinfo=UTC))
    [table] = next(s for s in built.sections if s.title == "Cohorts").breakdowns
    assert table.columns == ["Size", "W1", "W4", "W12"]
    assert [(r.label, r.values) for r in table.rows] == [("Feb 2026", [1, 1.0, 0.0, 1.0]),
                                                         ("Mar 2026", [5, 0.8, 0.4, None])]
    assert table.total == [6, 0.8333, 0.3333, 1.0]
    text = render(built, "text")
    assert "Customers active by monthly signup cohort (to 2026-05-31)" in text and "80.0%" in text, text
    store.engine.dispose()
