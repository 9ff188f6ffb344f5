"""The churn API for every role, on SQLite and PostgreSQL stores: the list of a day (the DESIGN
§8 records), one customer, the alerts and resolving one. A token scoped to acme sees acme's
customers and alerts only, whatever it asks; an acme admin resolves acme's alerts and no one
else's; a viewer resolves nothing; a scope churn does not keep is refused.

The scores are test_churn_cli's (scored through the CLI): on 03-08 acme's customers are 1 (47.5,
medium), 7 (25.0, medium) and 2 (10.0, low); globex's 3 and 4, initech's 5 and 6.
"""

from __future__ import annotations

import pytest

from apikit import api_store, call, close, usual_tokens
from deliverykit import cli
from test_churn_cli import AS_OF, project, source  # noqa: F401 - the module's data set (a fixture)

ACME = {"1", "2", "7"}
EVERYONE = {"1", "2", "3", "4", "5", "6", "7"}
ALL_SEE = {None: 401, "viewer": 200, "admin": 200, "acme": 200, "acme-admin": 200}
# Every churn operation, for no token and each role (test_api checks each operation is in a matrix).
MATRIX = [
    ("GET", "/api/v1/churn?date=2026-03-08", ALL_SEE),
    ("GET", "/api/v1/churn/alerts", ALL_SEE),
    ("GET", "/api/v1/churn/3", {**ALL_SEE, "acme": 404, "acme-admin": 404}),  # globex's customer
    ("POST", "/api/v1/churn/alerts/999999/resolve", {None: 401, "viewer": 403, "acme": 403, "admin": 404,
                                                      "acme-admin": 404}),
]


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_every_role_sees_its_own_customers_and_resolves_within_its_scope(store_kind, source, tmp_path,  # noqa: F811
                                                                          capsys, monkeypatch):
    from daypulse.app import ApiSettings, create_app
    from daypulse.project import load_project
    from daypulse.store import tokens
    from daypulse.store.db import open_store

    with api_store(store_kind, tmp_path) as store_url:
        project(tmp_path, source, store_url)
        code, _, err = cli(capsys, monkeypatch, tmp_path, "churn", "--days-back", "3", "--as-of", AS_OF)
        assert code == 0, err
        p = load_project(tmp_path / "daypulse.yml")
        store = open_store(p.store)
        keys = usual_tokens(store, scoped_admin=True)
        keys["branch"] = tokens.create(store, "north", "viewer", {"branch": "north"})[1]
        app = create_app(ApiSettings(project=p))
        get = lambda url, who: call(app, "GET", url, keys.get(who))  # noqa: E731
        try:
            for method, url, statuses in MATRIX:
                for who, status in statuses.items():
                    r = call(app, method, url, keys.get(who), {"action": "x"} if method == "POST" else None)
                    assert r.status_code == status, (method, url, who, r.text)
            # The list of a day, for each role.
            for who, want in (("admin", EVERYONE), ("viewer", EVERYONE), ("acme", ACME), ("acme-admin", ACME)):
                r = get("/api/v1/churn?date=2026-03-08", who)
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["day"] == "2026-03-08" and {c["entity"] for c in body["customers"]} == want, who
                assert body["total"] == len(want)
            acme = get("/api/v1/churn?date=2026-03-08", "acme").json()
            assert [(c["entity"], c["score"], c["level"]) for c in acme["customers"]] == [
                ("1", 47.5, "medium"), ("7", 25.0, "medium"), ("2", 10.0, "low")]
            assert acme["levels"] == {"medium": 2, "low": 1}
            assert acme["customers"][0]["reasons"] == (
                "active 0 of the last 7 days (usually 0.75) (20.0 pts); logins 2 → 0 a week (15.0 pts);"
                " inactive 7 days (12.5 pts)")
            # Filters: a level, a dimension (either spelling); acme asking for globex is refused.
            r = get("/api/v1/churn?date=2026-03-08&level=medium&tenant=acme", "admin")
            assert [c["entity"] for c in r.json()["customers"]] == ["1", "7"]
            r = get("/api/v1/churn?date=2026-03-08&filter=tenant=globex", "viewer")
            assert {c["entity"] for c in r.json()["customers"]} == {"3", "4"}
            assert get("/api/v1/churn?tenant=globex", "acme").status_code == 403
            assert get("/api/v1/churn?date=2026-03-08&tenant=acme", "acme").status_code == 200
            assert get("/api/v1/churn", "branch").status_code == 403  # churn is not kept by branch
            assert get("/api/v1/churn?plan=pro", "admin").status_code == 422  # no such dimension
            assert get("/api/v1/churn?level=severe", "admin").status_code == 422
            assert get("/api/v1/churn", None).status_code == 401
            assert get("/api/v1/churn", "admin").json()["day"] == "2026-03-09"  # the latest scored day

            # One customer: acme cannot see globex's 3, as if it did not exist.
            r = get("/api/v1/churn/3", "viewer")
            assert r.status_code == 200 and r.json()["latest"]["dimensions"] == {"tenant": "globex"}
            assert [h["day"] for h in r.json()["history"]] == ["2026-03-07", "2026-03-08", "2026-03-09"]
            assert {a["type"] for a in r.json()["alerts"]} == {"high_frustration", "payment_risk"}
            assert get("/api/v1/churn/3", "acme").status_code == 404
            assert get("/api/v1/churn/1", "acme").status_code == 200
            assert get("/api/v1/churn/nobody", "admin").status_code == 404

            # Alerts: acme's only for acme.
            everyone = get("/api/v1/churn/alerts", "viewer").json()
            assert len(everyone) == 10
            mine = get("/api/v1/churn/alerts", "acme").json()
            assert sorted((a["entity"], a["type"]) for a in mine) == [
                ("1", "engagement_drop"), ("1", "inactivity"), ("2", "payment_risk"), ("7", "inactivity")]
            open_payment = get("/api/v1/churn/alerts?open=true&type=payment_risk", "admin").json()
            assert sorted(a["entity"] for a in open_payment) == ["2", "4"]

            # Resolving: an admin, or acme's admin for acme's; never a viewer or another tenant's.
            two = next(a["id"] for a in open_payment if a["entity"] == "2")
            four = next(a["id"] for a in open_payment if a["entity"] == "4")
            resolve = lambda i, who, body={"action": "called"}: call(  # noqa: E731
                app, "POST", f"/api/v1/churn/alerts/{i}/resolve", keys.get(who), body)
            assert resolve(two, "viewer").status_code == 403
            assert resolve(two, "acme").status_code == 403
            assert resolve(four, "acme-admin").status_code == 404  # globex's: not there for acme
            assert resolve(two, "acme-admin", {"action": ""}).status_code == 422
            assert resolve(two, "acme-admin", {"action": "x", "extra": 1}).status_code == 422
            r = resolve(two, "acme-admin", {"action_taken": "called, card updated"})
            assert r.status_code == 200 and r.json()["state"] == "resolved", r.text
            assert r.json()["resolved_by"] == "acme admin" and r.json()["action_taken"] == "called, card updated"
            assert resolve(two, "admin").status_code == 409  # already resolved
            assert resolve(999999, "admin").status_code == 404
            assert resolve(four, "admin", {"action": "emailed"}).status_code == 200
            assert resolve(four, None).status_code == 401
            audit = call(app, "GET", "/api/v1/audit", keys["admin"]).json()
            entries = audit["entries"] if isinstance(audit, dict) else audit
            assert {(e["actor"], e["target"]) for e in entries if e["action"] == "churn.resolve"} == {
                ("acme admin", str(two)), ("ops", str(four))}
            # The CLI sees the same resolution.
            code, out, _ = cli(capsys, monkeypatch, tmp_path, "churn", "alerts", "--open", "--type", "payment_risk",
                               "--format", "jsonl")
            assert code == 0 and out == ""
        finally:
            close(app, store)


def test_a_project_without_churn_says_so(tmp_path):
    from daypulse.app import ApiSettings, create_app
    from daypulse.project import load_project
    from daypulse.store.db import open_store
    from deliverykit import write

    write(tmp_path)
    p = load_project(tmp_path / "daypulse.yml")
    store = open_store(p.store)
    keys = usual_tokens(store)
    app = create_app(ApiSettings(project=p))
    try:
        r = call(app, "GET", "/api/v1/churn", keys["admin"])
        assert r.status_code == 404 and "no churn: section" in r.text, r.text
    finally:
        close(app, store)
