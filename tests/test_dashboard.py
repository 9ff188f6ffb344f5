"""The dashboard in-process (httpx's ASGI transport) on SQLite and PostgreSQL stores: login and
its cookie, CSRF on every change, tenant scopes on every page, and the numbers on the tiles.

The storekit data: day k from 2026-02-01 has k % 5 + 1 events per tenant (acme, globex), the
j-th worth 100 * (j + 1) cents. The store holds 2026-02-01 .. 2026-03-10, so the default range
ends on 10 March (k = 37: 3 events per tenant, 600 cents each) against 9 March (k = 36: 2, 300).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, date, datetime

import httpx
import pytest

from apikit import api_store, close, usual_tokens
from daypulse.app import ApiSettings, create_app
from daypulse.engine.run import run_compute
from daypulse.store import tokens
from deliverykit import REPORTS, load, write

BASE = "https://dash.test"  # https: the session cookie is Secure, and httpx honours that


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dash(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"dash-{request.param}")
    with api_store(request.param, folder) as store_url:
        globex = {"title": "Globex board", "period": "day", "filter": {"tenant": "globex"},
                  "sections": [{"title": "Usage", "metrics": ["events"]}]}
        write(folder, store=store_url, reports={**REPORTS, "globex-only": globex}, subscriptions=[
            {"name": "acme-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out", "filter": {"tenant": "acme"}},
            {"name": "globex-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out-globex", "filter": {"tenant": "globex"}}])
        project, store = load(folder)
        run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), params={"why": "dashboard test"})
        keys = usual_tokens(store, scoped_admin=True)
        app = create_app(ApiSettings(project=project, base_dir=folder))
        yield app, keys, store, folder
        close(app, store)


class Browser:
    """A cookie-keeping client on the in-process app (redirects not followed, to check them)."""

    def __init__(self, app):
        self.app, self.cookies = app, httpx.Cookies()

    def request(self, method: str, url: str, **kw) -> httpx.Response:
        async def go():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=BASE,
                                         cookies=self.cookies) as c:
                r = await c.request(method, url, **kw)
                self.cookies.update(c.cookies)
                return r
        return asyncio.run(go())

    def get(self, url: str, **kw) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw) -> httpx.Response:
        return self.request("POST", url, **kw)

    def login(self, token: str, next: str = "/") -> httpx.Response:
        form = self.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        return self.post("/login", data={"token": token, "csrf": csrf, "next": next})

    def csrf(self) -> str:
        return re.search(r'name="csrf" value="([^"]+)"', self.get("/deliveries").text).group(1)


def signed_in(app, token: str) -> Browser:
    b = Browser(app)
    assert b.login(token).status_code == 303
    return b


def tile(html: str, metric: str) -> dict:
    """A tile's value, change and colour, read from the page."""
    m = re.search(rf'<a class="tile (\w+)[^"]*" href="/metrics/{metric}\?[^"]*"[^>]*>(.*?)</a>', html, re.S)
    assert m, f"no tile for {metric}"
    body = m.group(2)
    value = re.search(r'class="value">([^<]*)<', body).group(1)
    change = re.search(r'class="change">(.*?)<span class="pct">([^<]*)<', body, re.S)
    vs = re.search(r'class="vs">([^<]*)<', body)
    return {"verdict": m.group(1), "value": value, "change": change.group(1).strip() if change else None,
            "pct": change.group(2) if change else None, **({"vs": vs.group(1)} if vs else {})}


def test_pages_need_a_login_and_the_cookie_is_secure_httponly_samesite(dash):
    app, keys, _, _ = dash
    b = Browser(app)
    r = b.get("/metrics/events?grain=week")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fmetrics%2Fevents%3Fgrain%3Dweek"
    assert b.get("/", headers={"HX-Request": "true"}).headers["HX-Redirect"].startswith("/login")
    assert b.login("dp_nope").status_code == 401
    r = b.login(keys["viewer"], next="/metrics/events?grain=week")
    assert r.status_code == 303 and r.headers["location"] == "/metrics/events?grain=week"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("__Host-daypulse_session="))
    assert {"HttpOnly", "Secure", "SameSite=lax", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    assert keys["viewer"] not in cookie  # the cookie is a session id, never the token
    page = b.get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]  # a framed "Send now" cannot be clicked by a trick


def test_login_refuses_a_forged_form_and_never_redirects_off_site(dash):
    app, keys, _, _ = dash
    b = Browser(app)
    b.get("/login")
    assert b.post("/login", data={"token": keys["admin"], "csrf": "forged", "next": "/"}).status_code == 400
    assert "__Host-daypulse_session" not in b.cookies
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        assert Browser(app).login(keys["admin"], next=target).headers["location"] == "/"


def test_the_overview_shows_the_last_day_its_change_and_colour(dash):
    app, keys, _, _ = dash
    b = signed_in(app, keys["viewer"])
    html = b.get("/").text
    assert "Pulse" in html and "Tue 10 Mar 2026" in html
    # Up on the day before, but within what Tuesdays usually do (k = 30, 23, 16, 9, 2: 2, 8, 4,
    # 10, 6 events; $2, $20, $6, $30, $12): not news, so no colour.
    assert tile(html, "events") == {"verdict": "flat", "value": "6", "change": "▲ +2", "pct": "+50.0%",
                                    "vs": "vs the day before"}
    assert tile(html, "revenue") == {"verdict": "flat", "value": "$12.00", "change": "▲ +$6.00", "pct": "+100.0%",
                                     "vs": "vs the day before"}
    assert 'hx-trigger="every 60s"' in html and "Last updated" in html
    acme = b.get("/?filter=tenant=acme").text
    assert tile(acme, "events")["value"] == "3" and "not broken down by tenant" in acme
    # The week of 2 March (k = 29..35: 5+1+2+3+4+5+1 = 21 events per tenant) against the week before
    # (k = 22..28: 3+4+5+1+2+3+4 = 22): 42 against 44, down, but weeks here range 36..48: no colour.
    week = b.get("/?grain=week&end=2026-03-08").text
    assert tile(week, "events") == {"verdict": "flat", "value": "42", "change": "▼ −2", "pct": "−4.5%",
                                    "vs": "vs the week before"}
    bad = b.get("/?start=someday&grain=year&filter=tenant").text
    assert "start: &#39;someday&#39; is not a date" in bad and "grain: &#39;year&#39;" in bad
    assert "filter: &#39;tenant&#39; is not dimension=value" in bad
    for odd in ("/?start=9999-12-31", "/?end=0001-01-01", "/?start=0002-01-01&end=9999-12-01",
                "/metrics/events?end=9999-12-31", "/export.csv?end=0001-01-05", "/?grain=month&end=2026-03-01"):
        r = b.get(odd)
        assert r.status_code == 200, (odd, r.text[-300:])


def test_a_running_week_or_month_is_never_compared_with_a_whole_one(dash):
    app, keys, _, _ = dash
    b = signed_in(app, keys["viewer"])
    # The store ends on Tue 10 March: by default the week board shows the last whole week (2..8 March).
    week = b.get("/?board=pulse-week").text
    assert "week of 02 Mar 2026" in week and "(so far)" not in week.split('class="tiles"')[0]
    assert tile(week, "events")["value"] == "42"
    # Asked for a range ending inside a running week, the tiles still show the last whole week; the
    # chart and the table mark the running one "so far".
    running = b.get("/?board=pulse-week&grain=week&start=2026-02-23&end=2026-03-10").text
    assert tile(running, "events")["value"] == "42"
    table = b.get("/metrics/events?grain=week&start=2026-02-23&end=2026-03-10").text
    assert "week of 09 Mar 2026 (so far)" in table and "week of 02 Mar 2026 (so far)" not in table
    presets = dict(re.findall(r'<a href="/\?([^"]+)">(\d+ \w+)</a>', b.get("/?board=pulse-week").text)[::1])
    twelve = next(q for q, label in presets.items() if label == "12 weeks")
    assert "start=2025-12-15" in twelve and "end=2026-03-08" in twelve  # 12 whole weeks, Monday to Sunday


def test_a_dimension_value_may_hold_commas_and_the_menu_always_offers_the_current_one(dash):
    from starlette.datastructures import QueryParams

    from daypulse.web import views

    app, keys, store, _ = dash
    project = app.state.project
    asked = QueryParams([("filter", "tenant=Smith, Jones & Co"), ("filter", "plan=a=b")])
    f = views.parse_filters(project, store, asked, {}, board_required=False)
    assert f.dims == {"tenant": "Smith, Jones & Co", "plan": "a=b"} and not f.problems
    again = views.parse_filters(project, store, QueryParams(f.query()), {}, board_required=False)
    assert again.dims == f.dims  # the links the page writes read back the same filter
    # The menu: stored values up to the limit, a count of the rest, and always the value shown.
    everyone = views.dimension_values(store, ["events"], f, limit=1)["tenant"]
    assert everyone == views.Choice(["Smith, Jones & Co", "acme"], more=1)
    b = signed_in(app, keys["viewer"])
    html = b.get("/metrics/events?filter=tenant%3DSmith%2C+Jones+%26+Co").text
    assert '<option value="tenant=Smith, Jones &amp; Co" selected>' in html
    assert "not broken down" not in html and "tenant=Smith, Jones &amp; Co" in html
    overview = b.get("/?filter=tenant=globex").text
    assert '<option value="tenant=globex" selected>' in overview and '<option value="tenant=acme">' in overview


def test_the_metric_page_has_chart_table_definition_and_sql(dash):
    app, keys, _, _ = dash
    assert '<th class="num">The day before</th>' in signed_in(app, keys["viewer"]).get("/metrics/events").text
    b = signed_in(app, keys["viewer"])
    html = b.get("/metrics/events?start=2026-03-08&end=2026-03-10").text
    assert "number of rows in events with occurred_at during the day" in html
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">([^<]+)</td>", html)
    assert rows == [("Tue 10 Mar 2026", "6"), ("Mon 09 Mar 2026", "4"), ("Sun 08 Mar 2026", "2")]
    assert re.search(r'>acme</a></td><td class="num">3<', html)  # by tenant, for the last day
    chart = re.search(r'<script type="application/json">(.*?)</script>', html, re.S).group(1)
    # The comparison is the three days before: 5, 6, 7 March (k = 32..34: 3, 4, 5 per tenant).
    assert '"values": [2.0, 4.0, 6.0]' in chart and '"compare": [6.0, 8.0, 10.0]' in chart
    assert "SELECT" in b.get("/metrics/events/sql?start=2026-03-08&end=2026-03-10").text
    assert b.get("/metrics/nope").status_code == 404
    assert b.get("/export.csv?metric=%E2%9C%93").status_code == 404
    glossary = b.get("/glossary").text
    assert 'id="m-events"' in glossary and "sum of amount_cents" in glossary
    # Money is named as the pages show it (dollars), not as the store keeps it.
    revenue = glossary.split('id="m-revenue"', 1)[1].split("</tr>", 1)[0]
    assert "money ($)" in revenue and "cents)" not in revenue, revenue


def test_export_csv_is_what_the_page_shows_and_is_audited(dash):
    app, keys, store, _ = dash
    b = signed_in(app, keys["viewer"])
    r = b.get("/export.csv?start=2026-03-09&end=2026-03-10&filter=tenant=acme")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["metric"], x["period"], x["dimensions"], x["value"]) for x in rows] == [
        ("events", "2026-03-09", "tenant=acme", "2"), ("events", "2026-03-10", "tenant=acme", "3")]
    assert [(x["unit"], x["display"]) for x in rows] == [("count", "2"), ("count", "3")]
    # Money: the raw value in cents, as the export contract keeps it, and what the page shows.
    money = list(csv.DictReader(io.StringIO(b.get("/export.csv?metric=revenue&start=2026-03-10&end=2026-03-10").text)))
    assert [(x["value"], x["unit"], x["display"]) for x in money] == [("1200", "cents", "$12.00")]
    last = tokens.audit_entries(store, 1)[0]
    assert (last["actor"], last["action"], last["details"]["via"]) == ("board", "export", "dashboard")


def test_a_scoped_viewer_sees_its_tenant_on_every_page_and_nothing_else(dash):
    app, keys, _, _ = dash
    b = signed_in(app, keys["acme"])
    for url in ("/", "/?filter=tenant=globex", "/metrics/events", "/metrics/events?filter=tenant=globex",
                "/metrics/revenue", "/deliveries", "/glossary", "/export.csv?filter=tenant=globex"):
        r = b.get(url)
        assert r.status_code == 200, url
        assert "globex" not in r.text.replace("filter=tenant=globex", "").replace("tenant=globex", ""), url
    html = b.get("/?filter=tenant=globex").text
    assert tile(html, "events")["value"] == "3" and "you see tenant &#39;acme&#39; only" in html
    assert 'href="/metrics/revenue' not in html  # its number spans every tenant
    assert "$12.00" not in b.get("/metrics/revenue").text
    rows = list(csv.DictReader(io.StringIO(b.get("/export.csv").text)))
    assert rows and {r["dimensions"] for r in rows} == {"tenant=acme"} and {r["metric"] for r in rows} == {"events"}
    assert "acme-daily" in b.get("/deliveries").text


PAGES = ["/", "/?board=pulse", "/metrics/events", "/metrics/events/sql", "/metrics/revenue", "/glossary",
         "/export.csv", "/deliveries", "/runs", "/churn", "/cohorts", "/alerts"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_for_every_role(dash, url):
    """Signed out: the login page. Company tokens: the page. Tenant tokens (viewer or admin):
    the page, with nothing of another tenant: not its numbers, boards, subscriptions or names."""
    app, keys, _, _ = dash
    out = Browser(app).get(url)
    assert out.status_code == 303 and out.headers["location"].startswith("/login"), (url, out.status_code)
    for who in ("viewer", "admin", "acme", "acme-admin"):
        r = signed_in(app, keys[who]).get(url)
        assert r.status_code == 200, (who, url, r.text[:300])
        if who.startswith("acme"):
            assert "globex" not in r.text.lower() and "Globex board" not in r.text, (who, url)
        elif url == "/":
            assert "Globex board" in r.text  # the company sees every board


def test_a_scoped_admin_sends_and_retries_its_tenants_deliveries_only(dash):
    from daypulse.delivery import ledger

    app, keys, store, folder = dash
    b = signed_in(app, keys["acme-admin"])
    page = signed_in(app, keys["admin"]).get("/deliveries").text
    ids = {ledger_sub(store, int(i)): int(i) for i in re.findall(r'action="/subscriptions/(\d+)/send"', page)}
    assert f'action="/subscriptions/{ids["globex-daily"]}/send"' not in b.get("/deliveries").text
    assert b.post(f"/subscriptions/{ids['globex-daily']}/send", data={"csrf": b.csrf()}).status_code == 403
    failed = ledger.ensure(store, "globex-daily", date(2026, 2, 1), datetime.now(UTC))
    assert ledger.skip(store, failed, "for the test")
    assert b.post(f"/deliveries/{failed}/retry", data={"csrf": b.csrf()}).status_code == 403
    assert ledger.get(store, failed).status == ledger.SKIPPED and not (folder / "out-globex").exists()


def test_another_tenants_board_is_not_there_for_a_scoped_token(dash):
    app, keys, _, _ = dash
    for who in ("acme", "acme-admin"):
        r = signed_in(app, keys[who]).get("/?board=globex-only")
        # Answered as any board that does not exist (the page repeats the name it was asked for).
        assert "no board &#39;globex-only&#39;" in r.text and "Globex board" not in r.text, who


def test_changes_need_the_csrf_secret_an_admin_and_no_foreign_origin(dash):
    app, keys, _, folder = dash
    viewer = signed_in(app, keys["viewer"])
    assert "Send now" not in viewer.get("/deliveries").text
    assert viewer.post("/subscriptions/1/send", data={"csrf": viewer.csrf()}).status_code == 403
    admin = signed_in(app, keys["admin"])
    assert admin.post("/subscriptions/1/send").status_code == 403  # no secret
    assert admin.post("/subscriptions/1/send", data={"csrf": "guess"}).status_code == 403
    assert admin.post("/subscriptions/1/send", data={"csrf": admin.csrf()},
                      headers={"Origin": "https://evil.example"}).status_code == 403
    assert viewer.post("/subscriptions/1/send", data={"csrf": admin.csrf()}).status_code == 403  # not its secret
    assert not (folder / "out").exists()  # nothing was sent by any of them


def test_a_bad_address_on_the_dashboard_is_a_page_and_on_the_api_a_problem(dash):
    app, keys, _, _ = dash
    admin = signed_in(app, keys["admin"])
    for method, url, status, words in [
            ("GET", "/no/such/page", 404, "There is no page at this address."),
            ("POST", "/deliveries/abc/retry", 422, "id: Input should be a valid integer"),
            ("POST", "/subscriptions/0/send", 422, "id: Input should be greater than or equal to 1"),
            ("GET", "/logout", 405, "does not take that kind of request"),
            ("GET", "/metrics/nope", 404, "There is no metric &#39;nope&#39;.")]:
        r = admin.request(method, url, data={"csrf": admin.csrf()} if method == "POST" else None)
        assert r.status_code == status and r.headers["content-type"].startswith("text/html"), (url, r.text[:200])
        assert words in r.text and 'id="logout"' in r.text, (url, r.text)  # the menu stays, to go on
        assert r.headers["x-frame-options"] == "DENY"
    assert Browser(app).get("/no/such/page").status_code == 404  # signed out: the page, without the menu
    api = admin.get("/api/v1/no/such")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_send_now_and_retry_from_the_deliveries_page(dash):
    from daypulse.delivery import ledger

    app, keys, store, folder = dash
    admin = signed_in(app, keys["admin"])
    sub_id = next(int(i) for i in re.findall(r'action="/subscriptions/(\d+)/send"', admin.get("/deliveries").text)
                  if ledger_sub(store, int(i)) == "acme-daily")
    csrf = admin.csrf()
    r = admin.post(f"/subscriptions/{sub_id}/send", data={"csrf": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/deliveries?done=")
    done = admin.get(r.headers["location"]).text
    assert re.search(r"Delivery \d+ \(acme-daily, [\d-]+\): <strong>sent</strong>", done)
    again = admin.post(f"/subscriptions/{sub_id}/send", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"] + "&again=1"
    assert "it had been sent already" in admin.get(again.headers["location"]).text  # the same delivery
    assert len([p for p in (folder / "out").rglob("*") if p.suffix == ".html"]) == 1  # sent once
    actions = [(e["actor"], e["action"]) for e in tokens.audit_entries(store, 5)]
    assert actions.count(("ops", "report.send")) == 2
    sent_id = int(r.headers["location"].split("=")[1])
    assert admin.post(f"/deliveries/{sent_id}/retry", data={"csrf": csrf}).status_code == 303
    assert ledger.get(store, sent_id).status == ledger.SENT  # a sent delivery is never sent again
    skipped = ledger.ensure(store, "globex-daily", date(2026, 3, 1), datetime.now(UTC))
    assert ledger.skip(store, skipped, "paused for the test")
    assert f'action="/deliveries/{skipped}/retry"' in admin.get("/deliveries?status=skipped").text
    assert admin.post(f"/deliveries/{skipped}/retry", data={"csrf": csrf}).status_code == 303
    assert ledger.get(store, skipped).status == ledger.PENDING


def ledger_sub(store, id: int) -> str:
    from daypulse.delivery import subscription_store as subs

    return subs.get(store, str(id)).name


def test_logout_and_revocation_end_the_session(dash):
    app, _, store, _ = dash
    _, token = tokens.create(store, "temp", "viewer")
    b = signed_in(app, token)
    assert b.get("/").status_code == 200
    r = b.post("/logout", data={"csrf": b.csrf()})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert b.get("/").status_code == 303
    b = signed_in(app, token)
    tid = next(t.id for t in tokens.listing(store) if t.name == "temp")
    tokens.revoke(store, tid)
    assert b.get("/").status_code == 303  # revoking the token ends its sessions at once


def test_alerts_judge_whole_periods_and_show_on_the_tiles_of_their_grain(dash):
    from daypulse.alerts import thresholds

    app, keys, store, _ = dash
    project = app.state.project
    rule = thresholds.add(store, project, metric="events", grain="week", op="below", value=1000,
                          severity="critical", note="test", created_by="test")
    day_rule = thresholds.add(store, project, metric="events", grain="day", op="above", value=-1,
                              created_by="test")  # any day crosses it (other tests may store later days)
    revenue_rule = thresholds.add(store, project, metric="revenue", grain="week", op="above", value=-1,
                                  created_by="test")  # on no board of weeks: pulse-week shows events only
    try:
        # On Thu 5 March the week of 2 March is running: the rule judges the week of 23 February (44);
        # the day rule judges 4 March (k = 31: 4 events), not the running 5 March.
        thursday = datetime(2026, 3, 5, 6, tzinfo=UTC)
        found = {b.threshold_id: b for b in thresholds.breaches(project, store, now=thursday)}
        assert (found[rule.id].period_start, found[rule.id].value) == (date(2026, 2, 23), 44)
        assert (found[day_rule.id].period_start, found[day_rule.id].value) == (date(2026, 3, 4), 4)
        b = signed_in(app, keys["viewer"])
        html = b.get("/").text  # the day board: the day rule marks the events tile, not the week rule
        assert re.search(r'class="tile \w+ alerting" href="/metrics/events', html)
        # Alerts belong to what is shown: the board's grain, its metrics, its range.
        assert "is above −1" in html and "is below 1,000" not in html
        week = b.get("/?board=pulse-week&end=2026-03-15").text  # the weeks around the breach (9 March's)
        assert re.search(r'class="tile \w+ alerting" href="/metrics/events', week)
        assert "is below 1,000" in week and "is above −1" not in week  # neither the day rule nor revenue's
        old = b.get("/?start=2020-01-01&end=2020-01-31").text
        assert "is above" not in old and "is below" not in old and "alerting" not in old
        assert "No data in this range; data runs 1 Feb 2026 → " in old  # an empty state that says where to look
        acme = signed_in(app, keys["acme"]).get("/").text  # the rules are of the total: not acme's
        assert "is above" not in acme and "alerting" not in acme
    finally:
        thresholds.remove(store, rule.id)
        thresholds.remove(store, day_rule.id)
        thresholds.remove(store, revenue_rule.id)


def test_a_breakdown_shows_every_value_with_its_share_and_the_total(dash, monkeypatch):
    """By tenant on 10 March: acme 3 and globex 3 of 6 events (50% each), with the total row; past
    the first BREAKDOWN_TOP rows the others are behind "+K more" (no value silently dropped)."""
    from daypulse.web import views

    app, keys, _, _ = dash
    b = signed_in(app, keys["viewer"])
    html = b.get("/metrics/events?start=2026-03-01&end=2026-03-10").text
    section = html.split('id="by-tenant"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'filter=tenant%3D(\w+)[^>]*>\w+</a></td><td class="num">([^<]+)</td>'
                      r'<td class="num muted">([^<]*)</td>', section)
    assert sorted(rows) == [("acme", "3", "50%"), ("globex", "3", "50%")], section
    assert re.search(r'class="total"><td>Total</td><td class="num">6</td>', section), section
    assert "more</summary>" not in section
    monkeypatch.setattr(views, "BREAKDOWN_TOP", 1)
    section = b.get("/metrics/events?start=2026-03-01&end=2026-03-10").text.split('id="by-tenant"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "<summary>+1 more</summary>" in section and section.count("filter=tenant%3D") == 2, section


def test_runs_and_deliveries_tell_time_in_the_projects_zone(dash):
    """Every page's times in one zone, the project's, with its abbreviation (not UTC here and
    Asia/Kolkata on the overview)."""
    app, keys, _, _ = dash
    b = signed_in(app, keys["admin"])
    runs = b.get("/runs").text
    assert "Started (Asia/Kolkata)" in runs and re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d IST</td>", runs), runs
    assert "Sent (Asia/Kolkata)" in b.get("/deliveries").text
