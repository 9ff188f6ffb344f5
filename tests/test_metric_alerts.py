"""Metric alert rules (DESIGN §9): each kind, the N-periods de-noise, re-arm, a rule per tenant,
acknowledging, re-evaluation never doubling an event, on SQLite and PostgreSQL stores; and the
rules' words and refusals.

The storekit data (Asia/Kolkata): day k from 2026-02-01 has k % 5 + 1 events per tenant (acme,
globex), so the total is 2, 4, 6, 8, 10, 2, ... (k % 5 = 0..4); the store holds 02-01 .. 03-10
and it is noon on 03-11, so the last day that is over is 03-10 (k = 37, k % 5 = 2: 6 events).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from apikit import api_store
from daypulse.alerts.rules import Rule, Verdict, episodes, judge
from deliverykit import cli, write

AS_OF = "2026-03-11T06:30:00Z"  # noon in Kolkata
DAY0 = date(2026, 2, 1)


def day(k: int) -> str:
    return (DAY0 + timedelta(days=k)).isoformat()


RULES = [
    {"name": "busy", "metric": "events", "op": "above", "value": 5, "periods": 2},   # k%5 = 2,3,4 runs: opens on 3
    {"name": "spike", "metric": "events", "op": "above", "value": 5},                # opens on k%5 = 2
    {"name": "surge", "metric": "events", "kind": "change", "op": "above", "value": 0.6},  # 2 -> 4 only (+100%)
    {"name": "acme-spike", "metric": "events", "dims": {"tenant": "acme"}, "op": "above", "value": 2.5,
     "severity": "critical"},
    {"name": "weekly-odd", "metric": "events", "grain": "week", "kind": "anomaly", "op": "any"},
]


# -- the rules on a series (pure) ---------------------------------------------------------------

def _verdicts(flags):
    return [Verdict(DAY0 + timedelta(days=i), 1.0, 0.0, f) for i, f in enumerate(flags)]


def test_n_periods_in_a_row_open_an_event_that_stays_while_it_breaches_then_re_arms():
    rule = Rule("r", "m", periods=2)
    got = episodes(rule, _verdicts([True, False, True, True, True, False, True, True, None, True, False]))
    assert [(e.opened.day, e.resolved.day if e.resolved else None) for e in got] == [(4, 6), (8, 11)]
    # A period without a value breaks a run: True, None, True never makes two in a row.
    assert episodes(rule, _verdicts([True, None, True, False])) == []
    assert [e.resolved for e in episodes(Rule("r", "m"), _verdicts([False, True]))] == [None]  # still open


def test_each_kind_judges_its_period():
    p = [DAY0 + timedelta(days=i) for i in range(10)]
    values = dict(zip(p, [10.0, 10, 11, 9, 10, 10, 30, 10, 0, 5]))
    base = {x: x - timedelta(days=1) for x in p}
    hist = {x: [x - timedelta(days=k) for k in range(5, 0, -1)] for x in p}
    th = judge(Rule("t", "m", op="below", value=9.5), p, values, base, hist)
    assert [v.breach for v in th] == [False, False, False, True, False, False, False, False, True, True]
    ch = judge(Rule("c", "m", kind="change", op="above", value=1.0), p, values, base, hist)
    assert [v.breach for v in ch][1:] == [False, False, False, False, False, True, False, False, None]
    assert ch[0].why == "nothing to compare with" and ch[9].why == "the base is 0"
    ab = judge(Rule("a", "m", kind="change", by="absolute", op="below", value=5), p, values, base, hist)
    assert [v.breach for v in ab][6:] == [False, True, True, False]
    an = judge(Rule("z", "m", kind="anomaly", op="above", value=3.5), p, values, base, hist)
    assert [v.why for v in an[:4]] == ["not enough history (0 of 4 earlier values)",
                                       "not enough history (1 of 4 earlier values)",
                                       "not enough history (2 of 4 earlier values)",
                                       "not enough history (3 of 4 earlier values)"]
    assert an[6].breach is True and an[7].breach is False  # 30 against 10, 11, 9, 10, 10
    low = judge(Rule("z", "m", kind="anomaly", op="below", value=3.5), p, values, base, hist)
    assert [v.breach for v in low][5:] == [False, False, False, True, True]  # 0 and 5 are low; 30 is high
    either = judge(Rule("z", "m", kind="anomaly", op="any", value=3.5), p, values, base, hist)
    assert [v.breach for v in either][5:] == [False, True, False, True, True]


# -- as a user runs them -------------------------------------------------------------------------

@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_rules_raise_keep_and_acknowledge_events(store_kind, tmp_path, capsys, monkeypatch):
    with api_store(store_kind, tmp_path) as store_url:
        write(tmp_path, store=store_url, alerts=RULES)
        run = lambda *a: cli(capsys, monkeypatch, tmp_path, *a)  # noqa: E731
        code, _, err = run("compute", "--start", "2026-02-01", "--end", "2026-03-10", "--as-of", AS_OF)
        assert code == 0, err
        # busy 7, spike 8, surge 8, acme-spike 8 opened; spike and acme-spike still open on 03-10.
        assert "alerts: 2 open (31 opened, 29 resolved by this run" in err, err
        code, out, err = run("alerts", "list", "--format", "jsonl")
        assert code == 0, err
        events = [json.loads(x) for x in out.splitlines()]
        by_rule = {}
        for e in events:
            by_rule.setdefault(e["rule"], []).append((e["period"], e["resolved_period"], e["state"]))
        k = range(38)
        assert sorted(by_rule["busy"]) == [(day(i), day(i + 2), "resolved") for i in k if i % 5 == 3]
        assert sorted(by_rule["spike"]) == [(day(i), day(i + 3) if i + 3 <= 37 else None,
                                             "resolved" if i + 3 <= 37 else "open") for i in k if i % 5 == 2]
        assert sorted(by_rule["surge"]) == [(day(i), day(i + 1), "resolved") for i in k if i % 5 == 1 and i > 0]
        assert sorted(by_rule["acme-spike"]) == sorted(by_rule["spike"])
        assert "weekly-odd" not in by_rule
        last = next(e for e in events if e["rule"] == "spike" and e["state"] == "open")
        assert last == {**last, "metric": "events", "grain": "day", "period": day(37), "dimensions": {},
                        "value": 6, "limit": 5, "resolved_at": None}
        acme = next(e for e in events if e["rule"] == "acme-spike" and e["state"] == "open")
        assert acme["dimensions"] == {"tenant": "acme"} and acme["value"] == 3 and acme["severity"] == "critical"

        # Evaluating again, or computing again, never doubles an event; the ids stay.
        assert run("alerts", "check", "--as-of", AS_OF)[0] == 0
        assert run("compute", "--start", "2026-03-01", "--end", "2026-03-10", "--as-of", AS_OF)[0] == 0
        again = [json.loads(x) for x in run("alerts", "list", "--format", "jsonl")[1].splitlines()]
        assert sorted((e["id"], e["rule"], e["period"]) for e in again) == sorted(
            (e["id"], e["rule"], e["period"]) for e in events)

        # Acknowledge an open event; it stays acknowledged through a re-evaluation.
        code, _, err = run("alerts", "ack", str(last["id"]), "--note", "known: a load test")
        assert code == 0 and "acknowledged: known: a load test" in err, err
        assert run("alerts", "check", "--as-of", AS_OF)[0] == 0
        code, out, _ = run("alerts", "list", "--open", "--rule", "spike", "--format", "jsonl")
        assert [(json.loads(x)["state"], json.loads(x)["ack_note"]) for x in out.splitlines()] == [
            ("acknowledged", "known: a load test")]
        code, _, err = run("alerts", "check", "--as-of", AS_OF)
        assert "weekly-odd: 0 open; not judged:" in err and "not enough history" in err, err

        code, out, _ = run("alerts", "rules", "--format", "json")
        assert code == 0 and [r["name"] for r in json.loads(out)] == [r["name"] for r in RULES]
        code, out, _ = run("alerts", "rules")
        assert "above 5, 2 days in a row" in out and "rises by more than 60%" in out, out
        for args, said in ((("alerts", "ack", str(last["id"]), "--note", "x"), "is acknowledged already"),
                           (("alerts", "ack", "99999", "--note", "x"), "no alert event 99999"),
                           (("alerts", "ack", str(events[-1]["id"]), "--note", " "), "--note: say what is known")):
            code, _, err = run(*args)
            assert code == 2 and said in err and len(err.strip().splitlines()) == 1, (args, err)


@pytest.mark.parametrize("rule, said", [
    ({"name": "x", "metric": "evnts"}, "alerts[0] (x): unknown metric 'evnts' (hint: did you mean 'events'?)"),
    ({"name": "x", "metric": "events", "periods": 0}, "periods: 0 is not 1 or more"),
    ({"name": "x", "metric": "events", "dims": {"plan": "pro"}}, "metric 'events' has no dimension 'plan'"),
    ({"name": "x", "metric": "events", "kind": "spike"}, "kind: 'spike' is not one of threshold, change, anomaly"),
    ({"name": "x", "metric": "events", "op": "any"}, "op: any is for anomaly rules"),
    ({"name": "threshold-3", "metric": "events"}, "'threshold-3' is how stored thresholds are named"),
])
def test_a_bad_rule_is_refused_at_its_line(rule, said, tmp_path, capsys, monkeypatch):
    write(tmp_path, alerts=[rule])
    code, _, err = cli(capsys, monkeypatch, tmp_path, "check", "--offline")
    assert code == 2 and said in err and "daypulse.yml:" in err, err


ALL_SEE = {None: 401, "viewer": 200, "admin": 200, "acme": 200, "acme-admin": 200}
MATRIX = [  # every operation for every role (test_api checks each operation is in a matrix)
    ("GET", "/api/v1/alerts/rules", ALL_SEE),
    ("GET", "/api/v1/alerts/events?open=true", ALL_SEE),
    ("POST", "/api/v1/alerts/events/999999/ack", {None: 401, "viewer": 403, "acme": 403, "admin": 404,
                                                  "acme-admin": 404}),
]


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_the_api_for_every_role(store_kind, tmp_path, capsys, monkeypatch):
    """A tenant's token sees the rules and events on its own tenant (acme-spike), not the totals;
    an admin acknowledges, a tenant admin its own tenant's events only."""
    from apikit import call, close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project import load_project
    from daypulse.store.db import open_store

    with api_store(store_kind, tmp_path) as store_url:
        write(tmp_path, store=store_url, alerts=RULES)
        assert cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-02-01", "--end", "2026-03-10",
                   "--as-of", AS_OF)[0] == 0
        p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
        store = open_store(p.store)
        keys = usual_tokens(store, scoped_admin=True)
        app = create_app(ApiSettings(project=p))
        try:
            for method, url, statuses in MATRIX:
                for who, status in statuses.items():
                    r = call(app, method, url, keys.get(who), {"note": "x"} if method == "POST" else None)
                    assert r.status_code == status, (method, url, who, r.text)
            assert [r["name"] for r in call(app, "GET", "/api/v1/alerts/rules", keys["acme"]).json()] == ["acme-spike"]
            assert len(call(app, "GET", "/api/v1/alerts/rules", keys["viewer"]).json()) == len(RULES)
            open_ = call(app, "GET", "/api/v1/alerts/events?open=true", keys["admin"]).json()
            assert sorted(e["rule"] for e in open_) == ["acme-spike", "spike"]
            mine = call(app, "GET", "/api/v1/alerts/events?open=true", keys["acme"]).json()
            assert [e["rule"] for e in mine] == ["acme-spike"]
            spike = next(e["id"] for e in open_ if e["rule"] == "spike")
            acme = next(e["id"] for e in open_ if e["rule"] == "acme-spike")
            ack = lambda i, who, note="seen": call(app, "POST", f"/api/v1/alerts/events/{i}/ack", keys[who],  # noqa: E731
                                                   {"note": note})
            assert ack(spike, "acme-admin").status_code == 404  # the total is not acme's
            assert ack(acme, "acme").status_code == 403
            r = ack(acme, "acme-admin", "a load test")
            assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acked_by"] == "acme admin"
            assert ack(acme, "admin").status_code == 409
            assert ack(spike, "admin", "").status_code == 422
        finally:
            close(app, store)


def test_the_dashboard_page_for_every_role(tmp_path, capsys, monkeypatch):
    """The alerts page: the events by state with the metric's chart linked around the period; a
    tenant's session sees acme-spike's events only; an admin acknowledges from the page."""
    import re

    from apikit import close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project import load_project
    from daypulse.store.db import open_store
    from test_dashboard import Browser, signed_in

    write(tmp_path, alerts=RULES)
    assert cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-02-01", "--end", "2026-03-10",
               "--as-of", AS_OF)[0] == 0
    p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
    store = open_store(p.store)
    keys = usual_tokens(store, scoped_admin=True)
    app = create_app(ApiSettings(project=p, base_dir=tmp_path))
    try:
        assert Browser(app).get("/alerts").status_code == 303
        for who in ("viewer", "admin", "acme", "acme-admin"):
            html = signed_in(app, keys[who]).get("/alerts?state=open").text
            rules = re.findall(r"<tr><td>\d+</td><td>([\w-]+)", html)
            assert sorted(rules) == (["acme-spike"] if who.startswith("acme") else ["acme-spike", "spike"]), who
        admin = signed_in(app, keys["admin"])
        html = admin.get("/alerts").text
        assert "open 2" in html and "resolved 29" in html, html
        # Three weeks before the event to a week after it.
        assert 'href="/metrics/events?start=2026-02-17&amp;end=2026-03-17&amp;grain=day"' in html, html
        spike = re.search(r'action="/alerts/events/(\d+)/ack"', admin.get("/alerts?state=open").text).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        viewer = signed_in(app, keys["viewer"])
        assert "Acknowledge" not in viewer.get("/alerts").text
        assert viewer.post(f"/alerts/events/{spike}/ack", data={"csrf": csrf, "note": "x"}).status_code == 403
        r = admin.post(f"/alerts/events/{spike}/ack", data={"csrf": csrf, "note": "load test"})
        assert r.status_code == 303 and "acknowledged: load test" in admin.get(r.headers["location"]).text
        assert admin.post(f"/alerts/events/{spike}/ack", data={"csrf": csrf, "note": "again"}).status_code == 409
        # The metric's chart marks the events that opened on it, in words under it too (no hover).
        page = viewer.get("/metrics/events?start=2026-03-01&end=2026-03-10&grain=day").text
        data = json.loads(re.search(r'<script type="application/json">(\{[^<]*"marks"[^<]*)</script>', page).group(1))
        assert [(m["label"], m["rule"]) for m in data["marks"]] == [  # k = 28 .. 37: busy 3, spike 2, surge 1 (mod 5)
            ("2026-03-01", "busy"), ("2026-03-04", "surge"), ("2026-03-05", "spike"), ("2026-03-06", "busy"),
            ("2026-03-09", "surge"), ("2026-03-10", "spike")], data["marks"]
        assert "⚑ spike: 6 against 5 on 2026-03-10 (" in page and "⚑ surge: 4 against 3.2 on 2026-03-04" in page
        acme_page = signed_in(app, keys["acme"]).get("/metrics/events?start=2026-03-01&end=2026-03-10").text
        assert "⚑ acme-spike: 3 against 2.5 on 2026-03-10 (" in acme_page and "⚑ spike" not in acme_page
    finally:
        close(app, store)


def test_a_report_lists_the_alerts_open_in_its_period(tmp_path, capsys, monkeypatch):
    """``alerts: {}`` in a report: on 03-10 spike and acme-spike opened (6 against 5; acme 3
    against 2.5), surge resolved that day (not open in it); on 03-07, busy and spike's episode of
    03-06 were open, spike's of 03-07 opened."""
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project import load_project
    from daypulse.report.content import build_report
    from daypulse.report.render import render
    from daypulse.store.db import open_store

    report = {"title": "Ops", "period": "day", "sections": [{"title": "Usage", "metrics": ["events"]}],
              "alerts": {}}
    write(tmp_path, alerts=RULES, reports={"ops": report})
    assert cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-02-01", "--end", "2026-03-10",
               "--as-of", AS_OF)[0] == 0
    p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
    store = open_store(p.store)
    built = build_report(p, store, "ops", on=date(2026, 3, 10), compute=False)
    [table] = next(s for s in built.sections if s.title == "Alerts").breakdowns
    assert sorted(r.label for r in table.rows) == [
        "acme-spike (critical): events · tenant acme 3 against 2.5, since 2026-03-10 — open",
        "spike (warning): events 6 against 5, since 2026-03-10 — open"]
    assert "Alerts open in the period (2)" in render(built, "text")
    acme = build_report(p, store, "ops", on=date(2026, 3, 10), compute=False, filter={"tenant": "acme"})
    assert [r.label[:10] for r in next(s for s in acme.sections if s.title == "Alerts").breakdowns[0].rows] == [
        "acme-spike"]
    store.engine.dispose()


def test_a_long_breach_stays_one_event_across_windows(tmp_path, capsys, monkeypatch):
    """A rule breaching every day (events above 1: every day has 2 or more) evaluated with a
    10-day window, then 5 days later: the event opened in the first window goes on (one event,
    open), never a second one at the new window's start."""
    from daypulse.alerts import metric_alerts
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project import load_project
    from daypulse.store import alert_events
    from daypulse.store.db import open_store

    always = [{"name": "always", "metric": "events", "op": "above", "value": 1}]
    write(tmp_path, alerts=always)
    assert cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-02-01", "--end", "2026-03-10",
               "--as-of", AS_OF)[0] == 0
    p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
    store = open_store(p.store)
    monkeypatch.setattr(metric_alerts, "WINDOW", {**metric_alerts.WINDOW, "day": 10})
    from datetime import UTC, datetime

    metric_alerts.evaluate(p, store, datetime(2026, 3, 6, 6, tzinfo=UTC))
    first = [(e.period, e.resolved_period) for e in alert_events.events(store, rule="always")]
    metric_alerts.evaluate(p, store, datetime(2026, 3, 11, 6, tzinfo=UTC))
    after = [(e.period, e.resolved_period) for e in alert_events.events(store, rule="always")]
    assert len(first) == 1 and after == first and after[0][1] is None, (first, after)
    store.engine.dispose()
