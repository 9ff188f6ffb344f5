"""The churn metrics (``kind: churn``) on SQLite and PostgreSQL stores: customers per level and
open alerts per type, by tenant, counted from the stored scores and alerts, against a plain
Python count of the same records; the days nobody was scored are NULL; a week or month takes
its last scored day; an alert resolved by hand is not open at the end of the local day it was
resolved on; bad definitions are refused at their line.

The data is test_churn_signals' story (New York, March 2026), scored 03-07 .. 03-09.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from apikit import api_store, call, usual_tokens
from deliverykit import cli
from test_churn_cli import project, source  # noqa: F401 - the module's data set (a fixture)
from test_churn_signals import ZONE

DAYS = [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]


def expected_customers(records) -> Counter:
    """{(day, dims): customers} counted from the export records, one by one."""
    out: Counter = Counter()
    for r in records:
        day, level, tenant = date.fromisoformat(r["day"]), r["level"], r["dimensions"]["tenant"]
        for dims in ((), (("level", level),), (("tenant", tenant),), (("level", level), ("tenant", tenant))):
            out[(day, dims)] += 1
    return out


def expected_open(alerts: list[dict], days) -> Counter:
    """{(day, dims): alerts open at the end of the day}, day by day, alert by alert."""
    zone = ZoneInfo(ZONE)
    out: Counter = Counter()
    for a in alerts:
        opened = date.fromisoformat(a["opened"])
        ends = [date.fromisoformat(a["cleared"])] if a["cleared"] else []
        if a["resolved_at"]:
            ends.append(datetime.fromisoformat(a["resolved_at"]).astimezone(zone).date())
        for day in days:
            if opened <= day and all(day < e for e in ends):
                tenant = a["dimensions"]["tenant"]
                for dims in ((), (("type", a["type"]),), (("tenant", tenant),),
                             (("tenant", tenant), ("type", a["type"]))):
                    out[(day, dims)] += 1
    return out


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_churn_metrics_count_the_stored_scores_and_alerts(store_kind, source, tmp_path):  # noqa: F811
    from sqlalchemy import update

    from daypulse.app import ApiSettings, create_app
    from daypulse.churn.listing import alert_record
    from daypulse.churn.run import run_churn
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.engine.run import run_compute
    from daypulse.project import load_project
    from daypulse.store import churn as stored
    from daypulse.store import read
    from daypulse.store.db import open_store
    from daypulse.store.models import ChurnAlert
    from daypulse.values import dims_key

    with api_store(store_kind, tmp_path) as store_url:
        project(tmp_path, source, store_url)
        p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
        assert p.metrics["churn_customers"].dimensions == {"level": "level", "tenant": "tenant"}
        store = open_store(p.store)
        try:
            outcome = run_churn(p, store, DAYS[0], DAYS[-1])  # counts the churn metrics of its days too
            # One alert resolved by hand at 20:00 New York on 03-08 (01:00 UTC on 03-09): not
            # open at the end of 03-08. Then count again, as `daypulse compute` does.
            one = next(a for a in stored.alerts(store, open_only=True) if a.opened <= DAYS[1])
            with store.engine.begin() as conn:
                conn.execute(update(ChurnAlert).where(ChurnAlert.id == one.id).values(
                    resolved_at=datetime(2026, 3, 9, 1, 0, tzinfo=ZoneInfo("UTC")), resolved_by="t", action="x"))
            run_compute(p, store, date(2026, 3, 1), DAYS[-1], metrics=["churn_customers", "churn_open_alerts"])

            customers = expected_customers(outcome.records)
            assert customers[(DAYS[1], ())] == 7 and customers[(DAYS[1], (("level", "medium"),))] == 4
            alerts = [alert_record(a) for a in stored.alerts(store)]
            opened = expected_open(alerts, DAYS)
            assert opened[(DAYS[1], ())] > 0
            for metric, want, dimension_sets in (
                    ("churn_customers", customers, {k for _, k in customers}),
                    ("churn_open_alerts", opened, {k for _, k in opened})):
                for dims in dimension_sets:
                    got = read.values(store, [metric], "day", date(2026, 3, 6), DAYS[-1], dims_key(dict(dims)))
                    assert got[(metric, date(2026, 3, 6))] is None, (metric, dims)  # nobody scored that day
                    for day in DAYS:
                        assert got[(metric, day)] == want.get((day, dims), 0), (metric, day, dims)
            # A level nobody had that day is 0, not missing.
            got = read.values(store, ["churn_customers"], "day", DAYS[0], DAYS[-1], dims_key({"level": "medium"}))
            assert all(v is not None for v in got.values()) and len(got) == 3
            # Weeks (from Monday) and the month take their last scored day.
            week = read.values(store, ["churn_customers"], "week", date(2026, 3, 2), date(2026, 3, 9))
            assert week == {("churn_customers", date(2026, 3, 2)): customers[(DAYS[1], ())],
                            ("churn_customers", date(2026, 3, 9)): customers[(DAYS[2], ())]}
            month = read.values(store, ["churn_customers"], "month", date(2026, 3, 1), date(2026, 3, 1))
            assert month == {("churn_customers", date(2026, 3, 1)): customers[(DAYS[2], ())]}

            # Over the API like any metric, within a tenant's scope.
            keys = usual_tokens(store)
            app = create_app(ApiSettings(project=p))
            try:
                url = "/api/v1/metrics/churn_customers/series?start=2026-03-07&end=2026-03-09&level=medium"
                r = call(app, "GET", url, keys["acme"])
                assert r.status_code == 200, r.text
                assert [x["value"] for x in r.json()["points"]] == [
                    customers.get((d, (("level", "medium"), ("tenant", "acme"))), 0) for d in DAYS]
            finally:
                app.state.store.engine.dispose()
        finally:
            store.engine.dispose()


@pytest.mark.parametrize("metric, said", [
    ({"kind": "churn", "measure": "customers", "dimensions": {"kind": "type"}},
     "churn_by_type: customers are not counted by 'type' (hint: one of level, tenant)"),
    ({"kind": "churn", "measure": "open_alerts", "dimensions": {"plan": "plan"}},
     "churn_by_type: open_alerts are not counted by 'plan' (hint: one of severity, tenant, type)"),
])
def test_a_churn_metric_counts_what_is_kept(metric, said, source, tmp_path, capsys, monkeypatch):  # noqa: F811
    project(tmp_path, source, f"sqlite:///{tmp_path}/s.db")
    data = yaml.safe_load((tmp_path / "daypulse.yml").read_text())
    data["metrics"]["churn_by_type"] = metric
    (tmp_path / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli(capsys, monkeypatch, tmp_path, "check", "--offline")
    assert code == 2 and said in err and "daypulse.yml:" in err, err
    del data["churn"]
    (tmp_path / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    code, _, err = cli(capsys, monkeypatch, tmp_path, "check", "--offline")
    assert code == 2 and "has no churn: section" in err, err

