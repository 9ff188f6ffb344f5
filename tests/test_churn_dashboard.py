"""The dashboard's "At risk" pages for every role, on SQLite and PostgreSQL stores: the day's list
with levels and reasons, one customer's history and signals, and resolving an alert from the
page (an admin's form with the session's CSRF secret; a tenant admin its own customers' only).

The scores are test_churn_cli's: on 03-08 acme's customers are 1 (47.5, medium), 7 (25.0,
medium) and 2 (10.0, low); globex's are 3 and 4, initech's 5 and 6.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from apikit import api_store, close, usual_tokens
from test_churn_cli import project, source  # noqa: F401 - the module's data set (a fixture)
from test_dashboard import Browser, signed_in

ROLES = ("viewer", "admin", "acme", "acme-admin")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scored(request, source, tmp_path_factory):  # noqa: F811
    from daypulse.app import ApiSettings, create_app
    from daypulse.churn.run import run_churn
    from daypulse.project import load_project
    from daypulse.store import tokens
    from daypulse.store.db import open_store

    folder = tmp_path_factory.mktemp(f"churn-dash-{request.param}")
    with api_store(request.param, folder) as store_url:
        project(folder, source, store_url)
        p = load_project(folder / "daypulse.yml")
        store = open_store(p.store)
        run_churn(p, store, date(2026, 3, 7), date(2026, 3, 9))  # as `daypulse churn --days-back 3`
        keys = usual_tokens(store, scoped_admin=True)
        keys["branch"] = tokens.create(store, "north", "viewer", {"branch": "north"})[1]
        app = create_app(ApiSettings(project=p, base_dir=folder))
        yield app, keys, store
        close(app, store)


def customers(html: str) -> list[tuple[str, str, str]]:
    """(customer, score, level) of the at-risk table, in order."""
    body = html.split('id="at-risk"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<a href="/churn/customers/([^"]+)">[^<]*</a></td><td class="num">([^<]+)</td>\s*'
                      r'<td><span class="level-\w+">(\w+)</span>', body)


def alert_ids(html: str) -> set[int]:
    body = html.split('id="churn-alerts"', 1)[1].split("</table>", 1)[0]
    return {int(x) for x in re.findall(r"<tr><td>(\d+)</td>", body)}


def test_every_role_sees_its_own_customers(scored):
    app, keys, _ = scored
    out = Browser(app).get("/churn")
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    for who in ROLES:
        b = signed_in(app, keys[who])
        r = b.get("/churn?day=2026-03-08")
        assert r.status_code == 200, (who, r.text[:300])
        got = customers(r.text)
        if who.startswith("acme"):
            assert got == [("1", "47.5", "medium"), ("7", "25.0", "medium"), ("2", "10.0", "low")], who
            assert "globex" not in r.text and "initech" not in r.text, who
            assert b.get("/churn/customers/3").status_code == 404  # globex's customer
        else:
            assert {c for c, _, _ in got} == {"1", "2", "3", "4", "5", "6", "7"}, who
        assert 'href="/churn" aria-current="page">At risk' in r.text
        page = b.get("/churn/customers/1")
        assert page.status_code == 200 and "Customer 1: " in page.text and 'id="score-history"' in page.text
        assert page.text.count("<circle") == 3  # 03-07, 03-08, 03-09
        assert "engagement decay" in page.text and "inactive " in page.text
    b = signed_in(app, keys["viewer"])
    r = b.get("/churn?day=2026-03-08&level=medium&filter=tenant=acme")
    assert [c for c, _, _ in customers(r.text)] == ["1", "7"]
    assert "medium</span> 2" in r.text  # the level's count, within the filter
    assert "Resolve" not in r.text  # a viewer has no form
    assert signed_in(app, keys["acme"]).get("/churn?filter=tenant=globex").status_code == 403
    assert signed_in(app, keys["branch"]).get("/churn").status_code == 403  # churn is not kept by branch
    assert b.get("/churn?filter=plan=pro").status_code == 422
    assert b.get("/churn?day=yesterday").status_code == 422


def test_resolving_from_the_page(scored):
    app, keys, store = scored
    from daypulse.store import churn as stored

    admin, acme_admin, viewer = (signed_in(app, keys[w]) for w in ("admin", "acme-admin", "viewer"))
    open_ids = alert_ids(admin.get("/churn").text)
    mine = alert_ids(acme_admin.get("/churn").text)
    assert mine and mine < open_ids
    theirs = next(iter(open_ids - mine))
    one = min(mine)
    csrf = lambda b: re.search(r'name="csrf" value="([^"]+)"', b.get("/churn").text).group(1)  # noqa: E731
    # A viewer, a missing secret, another tenant's alert, no action: refused, nothing changes.
    assert viewer.post(f"/churn/alerts/{one}/resolve", data={"csrf": csrf(viewer), "action": "x"}).status_code == 403
    assert acme_admin.post(f"/churn/alerts/{one}/resolve", data={"action": "x"}).status_code == 403
    assert acme_admin.post(f"/churn/alerts/{theirs}/resolve",
                           data={"csrf": csrf(acme_admin), "action": "x"}).status_code == 403
    assert acme_admin.post(f"/churn/alerts/{one}/resolve",
                           data={"csrf": csrf(acme_admin), "action": " "}).status_code == 422
    assert stored.alert(store, one).resolved_at is None and stored.alert(store, theirs).resolved_at is None
    r = acme_admin.post(f"/churn/alerts/{one}/resolve", data={"csrf": csrf(acme_admin), "action": "called her"})
    assert r.status_code == 303 and r.headers["location"] == f"/churn?resolved={one}"
    page = acme_admin.get(r.headers["location"]).text
    assert f"Alert {one} (" in page and "resolved: called her" in page and one not in alert_ids(page)
    assert stored.alert(store, one).resolved_by == "acme admin"
    again = acme_admin.post(f"/churn/alerts/{one}/resolve", data={"csrf": csrf(acme_admin), "action": "y"})
    assert again.status_code == 409
    entity = stored.alert(store, theirs).entity
    r = admin.post(f"/churn/alerts/{theirs}/resolve", data={"csrf": csrf(admin), "action": "emailed",
                                                             "back": "customer"})
    assert r.status_code == 303 and r.headers["location"] == f"/churn/customers/{entity}?resolved={theirs}"
    assert "resolved: emailed" in admin.get(r.headers["location"]).text


def test_a_project_without_churn_says_how_to_set_it_up(tmp_path):
    from daypulse.app import ApiSettings, create_app
    from daypulse.project import load_project
    from daypulse.store.db import open_store
    from deliverykit import write

    write(tmp_path)
    p = load_project(tmp_path / "daypulse.yml")
    store = open_store(p.store)
    app = create_app(ApiSettings(project=p))
    try:
        b = signed_in(app, usual_tokens(store)["viewer"])
        r = b.get("/churn")
        assert r.status_code == 200 and "Churn risk is not set up" in r.text
        assert ">At risk</a>" not in b.get("/").text  # no menu entry for it
    finally:
        close(app, store)
