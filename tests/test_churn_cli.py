"""`daypulse churn` as a user runs it, on SQLite and PostgreSQL stores: score a range, keep the
scores and alerts, list who is at risk (the DESIGN §8 export), explain one customer, list and
resolve alerts; re-running never doubles anything; bad input is one line and exit 2.

The data and the hand-worked values are test_churn_signals' story (New York, March 2026): on
03-08 customer 3 scores 26.6 (medium) with the record written out there, and over 03-07..03-09
the alerts of ``test_alerts_over_the_march_days`` open and clear.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import yaml

from apikit import api_store
from deliverykit import cli
from test_churn_signals import ACTIVE_SUBSCRIBERS, SOURCES, STORY, ZONE
from worked.load import Loader

AS_OF = "2026-03-10T17:00:00Z"  # noon EST on 03-10: "yesterday" is 03-09
ALERTS = [  # (entity, type, opened, severity, state) after scoring 03-07 .. 03-09
    ("1", "engagement_drop", "2026-03-08", "medium", "open"),
    ("1", "inactivity", "2026-03-08", "medium", "open"),
    ("2", "payment_risk", "2026-03-09", "low", "open"),
    ("3", "high_frustration", "2026-03-07", "low", "cleared"),
    ("3", "payment_risk", "2026-03-08", "medium", "cleared"),
    ("4", "payment_risk", "2026-03-09", "low", "open"),
    ("4", "trial_expiring", "2026-03-08", "low", "cleared"),
    ("5", "trial_expiring", "2026-03-07", "low", "cleared"),
    ("6", "inactivity", "2026-03-07", "medium", "cleared"),
    ("7", "inactivity", "2026-03-07", "medium", "open"),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("churn-cli"))
    yield ld.get("duckdb", STORY)
    ld.close()


def project(folder, source, store_url: str) -> None:
    url, tables = source
    (folder / "daypulse.yml").write_text(yaml.safe_dump({
        "source": url, "store": store_url, "timezone": ZONE, "tables": tables,
        "metrics": {"active_subscribers": ACTIVE_SUBSCRIBERS}, "churn": SOURCES}, sort_keys=False))


def alerts(capsys, monkeypatch, folder, *flags) -> list[dict]:
    code, out, err = cli(capsys, monkeypatch, folder, "churn", "alerts", "--format", "jsonl", *flags)
    assert code == 0, err
    return [json.loads(x) for x in out.splitlines()]


def summary(rows: list[dict]) -> list[tuple]:
    return sorted((a["entity"], a["type"], a["opened"], a["severity"], a["state"]) for a in rows)


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_score_list_explain_alerts_resolve(store_kind, source, tmp_path, capsys, monkeypatch):
    with api_store(store_kind, tmp_path) as store_url:
        project(tmp_path, source, store_url)
        run = lambda *a: cli(capsys, monkeypatch, tmp_path, *a)  # noqa: E731
        code, _, err = run("churn", "--days-back", "3", "--as-of", AS_OF)
        assert code == 0, err
        assert "scoring 2026-03-07 to 2026-03-09" in err, err
        assert ("alerts: 10 opened (5 of them cleared since), 0 open before 2026-03-07 cleared;"
                " 5 open on 2026-03-09") in err, err
        assert summary(alerts(capsys, monkeypatch, tmp_path)) == sorted(ALERTS)

        # The export record of DESIGN §8, as stored.
        code, out, err = run("churn", "list", "--date", "2026-03-08", "--format", "jsonl")
        assert code == 0, err
        recs = {r["entity"]: r for r in map(json.loads, out.splitlines())}
        assert {e: (r["score"], r["level"]) for e, r in recs.items()} == {
            "1": (47.5, "medium"), "2": (10.0, "low"), "3": (26.6, "medium"), "4": (0.0, "low"),
            "5": (5.4, "low"), "6": (25.0, "medium"), "7": (25.0, "medium")}
        assert recs["3"]["dimensions"] == {"tenant": "globex"}
        assert recs["3"]["signals"]["frustration"] == {"value": 75.0, "risk": 0.75, "weight": 15.0,
                                                       "points": 11.25}
        code, out, _ = run("churn", "list", "--date", "2026-03-08", "--level", "medium", "--filter",
                           "tenant=acme", "--format", "jsonl")
        assert [json.loads(x)["entity"] for x in out.splitlines()] == ["1", "7"]
        code, out, _ = run("churn", "list")  # the latest day, as a table with the reasons
        assert code == 0 and "churn risk on 2026-03-09" in out and "inactive" in out, out

        code, out, _ = run("churn", "explain", "1")
        assert code == 0 and "customer 1: " in out and "score history" in out and "engagement_drop" in out, out

        # Scoring the days one at a time decides the same alerts; scoring again doubles nothing.
        for day in ("2026-03-07", "2026-03-08", "2026-03-09"):
            assert run("churn", "--date", day, "--as-of", AS_OF)[0] == 0
        assert summary(alerts(capsys, monkeypatch, tmp_path)) == sorted(ALERTS)
        assert run("churn", "--days-back", "3", "--as-of", AS_OF)[0] == 0
        assert summary(alerts(capsys, monkeypatch, tmp_path)) == sorted(ALERTS)
        code, out, _ = run("churn", "list", "--date", "2026-03-08", "--format", "jsonl")
        assert len(out.splitlines()) == 7

        # Resolving by hand: kept through a re-run, and no second alert of that type opens.
        seven = next(a for a in alerts(capsys, monkeypatch, tmp_path, "--open", "--type", "inactivity")
                     if a["entity"] == "7")
        code, _, err = run("churn", "resolve", str(seven["id"]), "--action", "called, offered a discount")
        assert code == 0 and "resolved: called, offered a discount" in err, err
        assert run("churn", "--days-back", "3", "--as-of", AS_OF)[0] == 0
        after = [a for a in alerts(capsys, monkeypatch, tmp_path) if a["entity"] == "7"]
        assert [(a["state"], a["action_taken"]) for a in after] == [("resolved", "called, offered a discount")]
        assert after[0]["id"] == seven["id"]  # the same alert, not a new one
        assert "7" not in {a["entity"] for a in alerts(capsys, monkeypatch, tmp_path, "--open")}

        # One tenant re-scored: acme's rows replaced, the others' left as they are.
        from sqlalchemy import update

        from daypulse.store.db import open_store
        from daypulse.store.models import ChurnScore

        store = open_store(store_url)
        with store.engine.begin() as conn:
            conn.execute(update(ChurnScore).where(ChurnScore.day == date(2026, 3, 8)).values(score=99.0))
        code, _, err = run("churn", "--date", "2026-03-08", "--tenant", "acme", "--as-of", AS_OF)
        assert code == 0 and "scoring 2026-03-08 to 2026-03-08 in America/New_York, tenant acme" in err, err
        code, out, _ = run("churn", "list", "--date", "2026-03-08", "--format", "jsonl")
        assert {r["entity"]: r["score"] for r in map(json.loads, out.splitlines())} == {
            "1": 47.5, "2": 10.0, "7": 25.0, "3": 99.0, "4": 99.0, "5": 99.0, "6": 99.0}
        assert [(a["entity"], a["state"]) for a in alerts(capsys, monkeypatch, tmp_path) if a["entity"] == "7"] == [
            ("7", "resolved")]
        assert summary(alerts(capsys, monkeypatch, tmp_path, "--type", "payment_risk")) == sorted(
            a for a in ALERTS if a[1] == "payment_risk")
        store.engine.dispose()

        # Bad input: one line, exit 2, nothing written.
        for args, said in (
            (("churn", "resolve", str(seven["id"]), "--action", "again"), "is not open (resolved)"),
            (("churn", "resolve", "99999", "--action", "x"), "no churn alert 99999"),
            (("churn", "list", "--level", "extreme"), "--level: unknown level 'extreme'"),
            (("churn", "alerts", "--type", "bogus"), "--type: unknown alert type 'bogus'"),
            (("churn", "explain", "nobody"), "customer 'nobody' has no churn score"),
            (("churn", "--date", "2030-01-01", "--as-of", AS_OF), "--date: 2030-01-01 is in the future"),
            (("churn", "--filter", "branch=north", "--as-of", AS_OF), "churn scores are not kept by branch"),
            (("churn", "--filter", "branch", "--as-of", AS_OF), "--filter: 'branch' is not dimension=value"),
        ):
            code, _, err = run(*args)
            assert code == 2 and said in err and "Traceback" not in err, (args, err)
            assert len(err.strip().splitlines()) == 1, err
        cleared = next(a for a in alerts(capsys, monkeypatch, tmp_path) if a["state"] == "cleared")
        code, _, err = run("churn", "resolve", str(cleared["id"]), "--action", "x")
        assert code == 2 and f"is not open (cleared on {cleared['cleared']})" in err, err


def test_a_dry_run_writes_nothing_and_a_bad_source_is_at_its_line(source, tmp_path, capsys, monkeypatch):
    project(tmp_path, source, f"sqlite:///{tmp_path}/s.db")
    code, out, err = cli(capsys, monkeypatch, tmp_path, "churn", "--days-back", "3", "--as-of", AS_OF,
                         "--dry-run")
    assert code == 0 and "dry run: nothing written" in err and "would open inactivity for 7" in out, (out, err)
    code, _, err = cli(capsys, monkeypatch, tmp_path, "churn", "list")
    assert code == 2 and "no churn scores in the store yet" in err, err
    text = (tmp_path / "daypulse.yml").read_text().replace("occurred_at", "happened_at", 1)
    (tmp_path / "daypulse.yml").write_text(text)
    code, _, err = cli(capsys, monkeypatch, tmp_path, "churn", "--as-of", AS_OF)
    assert code == 2 and "daypulse.yml:" in err and "happened_at" in err, err


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_a_crash_while_writing_leaves_what_was_there(store_kind, source, tmp_path, capsys, monkeypatch):
    """The scores and alerts of a run are written in one transaction with the run's success: a
    failure half-way (the third batch of rows) leaves the previous scores and alerts, and the
    run recorded as failed with the error; the next run writes everything."""
    from sqlalchemy import update

    from daypulse.churn.run import run_churn
    from daypulse.project import load_project
    from daypulse.store import churn as stored
    from daypulse.store import runs
    from daypulse.store.db import open_store
    from daypulse.store.models import ChurnScore

    with api_store(store_kind, tmp_path) as store_url:
        project(tmp_path, source, store_url)
        p = load_project(tmp_path / "daypulse.yml")
        store = open_store(p.store)
        first, last = date(2026, 3, 7), date(2026, 3, 9)
        run_churn(p, store, first, last)
        with store.engine.begin() as conn:
            conn.execute(update(ChurnScore).where(ChurnScore.day == last).values(score=99.0))
        before = [(a.entity, a.type, a.opened, a.cleared) for a in stored.alerts(store)]
        calls, real = {"n": 0}, stored.insert

        def flaky(table):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("disk full")
            return real(table)

        monkeypatch.setattr(stored, "SCORE_BATCH", 5)
        monkeypatch.setattr(stored, "insert", flaky)
        with pytest.raises(RuntimeError, match="disk full"):
            run_churn(p, store, first, last)
        assert {r.score for r in stored.scores_on(store, last)} == {99.0}
        assert [(a.entity, a.type, a.opened, a.cleared) for a in stored.alerts(store)] == before
        failed = runs.history(store, 1)[0]
        assert (failed.kind, failed.state, failed.error) == ("churn", "failed", "RuntimeError: disk full")
        monkeypatch.setattr(stored, "insert", real)
        run_churn(p, store, first, last)
        assert 99.0 not in {r.score for r in stored.scores_on(store, last)}
        store.engine.dispose()
