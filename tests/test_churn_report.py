"""A report's churn block (``churn:`` in a report definition, the built-in ``churn`` report): the
customers by level on the period's last scored day against the last one before it, the newly
critical with their top reason and the change of their score, and the alerts opened, cleared
and resolved by hand within the period's local days; narrowed by the report's filter; and the
words it writes, in text and in Slack.

Scores and alerts are written straight into the store (the block reads only the store), on
days of New York's spring change (2026-03-08, 23 hours), so the period's instants are local.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import update

from test_churn_cli import project, source  # noqa: F401 - the module's data set (a fixture)

D1, D2 = date(2026, 3, 7), date(2026, 3, 8)


def score(entity, day, value, level, tenant, inactive=10):
    points = round(value, 2)
    return {"entity": entity, "day": day.isoformat(), "score": value, "level": level,
            "dimensions": {"tenant": tenant},
            "signals": {"inactivity": {"value": inactive, "risk": 1.0, "weight": 25.0, "points": points}}}


@pytest.fixture()
def stored_story(source, tmp_path):  # noqa: F811
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project import load_project
    from daypulse.store import churn as stored
    from daypulse.store import values as sv
    from daypulse.store.db import open_store
    from daypulse.store.models import ChurnAlert

    project(tmp_path, source, f"sqlite:///{tmp_path}/s.db")
    p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
    store = open_store(p.store)
    day1 = [score("A", D1, 80.0, "critical", "acme"), score("B", D1, 60.0, "high", "acme"),
            score("C", D1, 10.0, "low", "globex"), score("E", D1, 55.0, "high", "globex")]
    day2 = [score("A", D2, 85.0, "critical", "acme"), score("B", D2, 78.0, "critical", "acme", inactive=13),
            score("D", D2, 90.0, "critical", "globex"), score("C", D2, 12.0, "low", "globex"),
            score("E", D2, 30.0, "medium", "globex")]
    alerts = [stored.NewAlert("B", "inactivity", D2, "critical", None, None, {"tenant": "acme"}, {}),
              stored.NewAlert("D", "payment_risk", D2, "critical", None, None, {"tenant": "globex"}, {}),
              stored.NewAlert("E", "inactivity", D1, "high", D2, "cleared", {"tenant": "globex"}, {}),
              stored.NewAlert("A", "inactivity", D1, "critical", None, None, {"tenant": "acme"}, {})]
    run = sv.start_run(store, "churn", {}, D1, D2)
    stored.replace_range(store, D1, D2, day1 + day2, alerts, [], run)
    # A's alert resolved at 23:30 on 03-08 in New York (03:30 UTC on 03-09): within the day.
    a = next(x for x in stored.alerts(store) if x.entity == "A")
    with store.engine.begin() as conn:
        conn.execute(update(ChurnAlert).where(ChurnAlert.id == a.id).values(
            resolved_at=datetime(2026, 3, 9, 3, 30, tzinfo=UTC), resolved_by="ann", action="called"))
    yield p, store
    store.engine.dispose()


def block(report) -> dict:
    section = next(s for s in report.sections if s.title == "At risk")
    return {b.title: [(r.label, r.values, r.change) for r in b.rows] + [("Total", b.total, None)]
            for b in section.breakdowns}


def test_the_churn_block_of_a_day(stored_story):
    from daypulse.report.content import build_report
    from daypulse.report.render import render
    from daypulse.report.slack import render_slack

    p, store = stored_story
    report = build_report(p, store, "churn", on=D2, with_charts=False, compute=False)
    got = block(report)
    assert got["Customers by churn risk on 2026-03-08 (change since 2026-03-07)"] == [
        ("critical", [3], 2), ("high", [0], -2), ("medium", [1], 1), ("low", [1], 0), ("Total", [5], None)]
    assert got["Newly critical (2)"] == [
        ("D (globex) — inactive 10 days", [90.0], None),          # not scored the day before
        ("B (acme) — inactive 13 days", [78.0], 18.0), ("Total", [2], None)]
    assert got["Churn alerts in the period"] == [
        ("inactivity", [1, 1, 1], None), ("payment risk", [1, 0, 0], None), ("Total", [2, 1, 1], None)]
    text = render(report, "text")
    assert "Newly critical (2)" in text and re.search(r"B \(acme\) — inactive 13 days +78 +\+18\n", text), text
    assert re.search(r"critical +3 +\+2\n", text) and re.search(r"low +1 +no change\n", text), text
    msg = render_slack(report)
    main, thread = json.dumps(msg.blocks, ensure_ascii=False), json.dumps(msg.thread, ensure_ascii=False)
    assert "Newly critical (2)" in main and "B (acme) — inactive 13" in main, main  # cut to fit, whole in the thread
    assert "B (acme) — inactive 13 days" in thread, thread

    # The report narrowed to acme: acme's customers and alerts only.
    acme = block(build_report(p, store, "churn", on=D2, with_charts=False, compute=False, filter={"tenant": "acme"}))
    assert acme["Newly critical (1)"][0][0] == "B (acme) — inactive 13 days"
    assert acme["Customers by churn risk on 2026-03-08 (change since 2026-03-07)"][-1] == ("Total", [2], None)
    assert acme["Churn alerts in the period"] == [("inactivity", [1, 0, 1], None), ("Total", [1, 0, 1], None)]

    # The day before: nothing to compare with, nobody newly critical but A; no alerts resolved.
    first = block(build_report(p, store, "churn", on=D1, with_charts=False, compute=False))
    assert first["Customers by churn risk on 2026-03-07"][0] == ("critical", [1], None)
    assert first["Churn alerts in the period"] == [("inactivity", [2, 0, 0], None), ("Total", [2, 0, 0], None)]


def test_what_the_block_says_when_it_cannot_answer(stored_story):
    from daypulse.report.content import build_report

    p, store = stored_story
    report = build_report(p, store, "churn", on=date(2026, 3, 5), with_charts=False, compute=False)
    assert "Churn risk: nobody was scored from 2026-03-05 to 2026-03-05 (run `daypulse churn`)." in report.notes
    report = build_report(p, store, "churn", on=D2, with_charts=False, compute=False, filter={"type": "inactivity"})
    assert any(n.startswith("Churn risk is not kept by type, left out") for n in report.notes), report.notes


def test_the_churn_digest_is_delivered_once_per_day(stored_story, tmp_path):
    """A subscription to the churn report (the churn alert digest at 09:00 London) sends the
    newly critical customers once for the day, however many passes run."""
    import yaml

    from daypulse.delivery import ledger
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.delivery.runner import run_pass
    from daypulse.project import load_project

    _, store = stored_story
    data = yaml.safe_load((tmp_path / "daypulse.yml").read_text())
    data["subscriptions"] = [{"name": "cs", "report": "churn", "schedule": "daily at 09:00",
                              "timezone": "Europe/London", "channel": "file", "to": "cs"}]
    (tmp_path / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    p = load_project(tmp_path / "daypulse.yml", SECTIONS, DERIVED)
    # 09:05 in London on 03-09 is 05:05 in New York: the last complete day there is 03-08.
    for minutes in (5, 6, 30):
        run_pass(p, store, datetime(2026, 3, 9, 9, minutes, tzinfo=UTC), base_dir=tmp_path, info=lambda m: None)
    sent = [r for r in ledger.listing(store, limit=10) if r.subscription == "cs"]
    assert [(r.period_start, r.status) for r in sent] == [(D2, "sent")]
    files = list((tmp_path / "outbox" / "cs").rglob("*"))
    text = "\n".join(f.read_text(errors="replace") for f in files if f.is_file())
    assert "Newly critical (2)" in text and "B (acme)" in text, [f.name for f in files]
