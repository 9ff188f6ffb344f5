"""The API's reports, templates and subscription writes, in-process (httpx's ASGI transport) on
SQLite and PostgreSQL stores: previews checked against the stored numbers, send-now through
the ledger to a real folder, templates used by the CLI too, and an authorization matrix in
which a tenant-scoped token never sees another tenant's data."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date

import httpx
import pytest

from apikit import api_store, call, close, usual_tokens
from daypulse.app import ApiSettings, create_app
from daypulse.delivery import ledger
from daypulse.engine.run import run_compute
from deliverykit import REPORTS, cli, load, write

EVENTS_DAILY = {"title": "Events", "period": "day", "spark": 3,
                "sections": [{"title": "Usage", "metrics": ["events"]}]}
# Another tenant's board: an acme token may not learn that it exists, not even its title.
GLOBEX_ONLY = {"title": "Globex board", "period": "day", "filter": {"tenant": "globex"},
               "sections": [{"title": "Usage", "metrics": ["events"]}]}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"reports-{request.param}")
    with api_store(request.param, folder) as store_url:
        write(folder, store=store_url, reports={**REPORTS, "events-daily": EVENTS_DAILY, "globex-only": GLOBEX_ONLY},
              subscriptions=[
            {"name": "acme-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out/acme", "filter": {"tenant": "acme"}},
            {"name": "globex-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out/globex", "filter": {"tenant": "globex"}}])
        project, store = load(folder)
        run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), params={"why": "api test"})
        keys = usual_tokens(store, scoped_admin=True)
        app = create_app(ApiSettings(project=project, base_dir=folder))
        yield app, keys, store, folder
        close(app, store)


def lines(report: dict) -> dict[str, dict]:
    return {ln["metric"]: ln for s in report["sections"] for ln in s["lines"]}


def audit(app, keys, action: str) -> list[dict]:
    return [e for e in call(app, "GET", "/api/v1/audit?limit=1000", keys["admin"]).json() if e["action"] == action]


# -- list and preview -----------------------------------------------------------------------------

def test_the_list_has_built_in_file_and_template_reports(api):
    app, keys, _, _ = api
    r = call(app, "GET", "/api/v1/reports", keys["viewer"])
    assert r.status_code == 200, r.text
    by_name = {x["name"]: x for x in r.json()}
    assert by_name["daily"]["source"] == "builtin" and by_name["daily"]["period"] == "day"
    assert by_name["pulse"] == {"name": "pulse", "source": "file", "title": "Pulse", "description": None,
                                "period": "day", "metrics": ["events", "revenue"], "problem": None}
    assert by_name["pulse-week"]["period"] == "week" and by_name["events-daily"]["metrics"] == ["events"]


# Day k of storekit's data (from 2026-02-01) has k % 5 + 1 events per tenant, amounts 100, 200...
# cents: 1 March is k = 28 -> 4 events each (8 in all), 100+200+300+400 = 1000 cents each (2000);
# 28 February (k = 27) -> 3 each (6), 600 cents each (1200); 22 February (k = 21) -> 2 each (4).
def test_a_preview_shows_the_stored_numbers_in_every_format(api):
    app, keys, _, _ = api
    r = call(app, "GET", "/api/v1/reports/pulse/preview?format=json&date=2026-03-01", keys["viewer"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
    body = r.json()
    assert (body["start"], body["end"], body["filter"]) == ("2026-03-01", "2026-03-01", {})
    got = lines(body)
    assert got["events"]["value"] == 8 and got["revenue"]["value"] == 2000
    assert [(d["key"], d["base"], d["change"]) for d in got["events"]["deltas"]] == [
        ("previous", 6, 2), ("same_weekday", 4, 4)]
    assert got["revenue"]["deltas"][0]["base"] == 1200
    md = call(app, "GET", "/api/v1/reports/pulse/preview?format=md&date=2026-03-01", keys["viewer"])
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert "Pulse" in md.text and "Sunday 1 March 2026" in md.text and "$20.00" in md.text
    html = call(app, "GET", "/api/v1/reports/pulse/preview?date=2026-03-01", keys["viewer"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<html" in html.text and "$20.00" in html.text and "cid:" not in html.text
    for fmt, media in (("text", "text/plain"), ("slack", "application/json"), ("markdown", "text/markdown")):
        r = call(app, "GET", f"/api/v1/reports/pulse/preview?format={fmt}&date=2026-03-01", keys["viewer"])
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), (fmt, r.text)
    # A filter asked for by an unscoped token: acme's own number.
    acme = call(app, "GET", "/api/v1/reports/events-daily/preview?format=json&date=2026-03-01&tenant=acme",
                keys["viewer"]).json()
    assert lines(acme)["events"]["value"] == 4


def test_a_scoped_preview_is_its_tenant_and_never_a_total(api):
    app, keys, _, _ = api
    r = call(app, "GET", "/api/v1/reports/events-daily/preview?format=json&date=2026-03-02", keys["acme"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filter"] == {"tenant": "acme"} and lines(body)["events"]["value"] == 5  # not the total, 10
    assert "globex" not in r.text
    md = call(app, "GET", "/api/v1/reports/events-daily/preview?format=md&date=2026-03-02", keys["acme"])
    assert md.status_code == 200 and "tenant acme" in md.text and "globex" not in md.text
    spans = call(app, "GET", "/api/v1/reports/pulse/preview?date=2026-03-02", keys["acme"])
    assert spans.status_code == 403 and spans.headers["content-type"] == "application/problem+json"
    assert "'revenue'" in spans.json()["detail"] and "not broken down by tenant" in spans.json()["detail"]
    other = call(app, "GET", "/api/v1/reports/events-daily/preview?date=2026-03-02&tenant=globex", keys["acme"])
    assert other.status_code == 403 and other.json()["detail"] == "this token sees tenant 'acme' only"


def test_bad_previews_are_problems_never_500(api):
    app, keys, _, _ = api
    assert call(app, "GET", "/api/v1/reports/nope/preview", keys["viewer"]).status_code == 404
    for url, field in [("/api/v1/reports/pulse/preview?date=2999-01-01", "date"),
                       ("/api/v1/reports/pulse/preview?date=2026-02-30", "date"),
                       ("/api/v1/reports/pulse/preview?format=docx", "format"),
                       ("/api/v1/reports/pulse/preview?date=2026-03-01&region=eu", "region")]:
        r = call(app, "GET", url, keys["viewer"])
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (url, r.text)
        assert field in r.json()["detail"], (url, r.json())


# -- send now -------------------------------------------------------------------------------------

def test_send_now_delivers_once_through_the_ledger_and_is_audited(api):
    app, keys, store, folder = api
    url = "/api/v1/reports/pulse/send"
    r = call(app, "POST", url, keys["admin"], {"subscription": "acme-daily", "date": "2026-03-02"})
    assert r.status_code == 200, r.text
    sent = r.json()
    assert sent["status"] == "sent" and sent["period_start"] == "2026-03-02"
    assert sent["delivery"]["status"] == "sent" and sent["delivery"]["subscription"] == "acme-daily"
    files = sorted(p.name for p in (folder / "out" / "acme").iterdir())
    assert files == ["acme-daily_2026-03-02.html"]
    page = (folder / "out" / "acme" / files[0]).read_text()
    assert "tenant acme" in page and "globex" not in page
    ids = {s["name"]: s["id"] for s in call(app, "GET", "/api/v1/subscriptions", keys["admin"]).json()}
    again = call(app, "POST", url, keys["admin"], {"subscription": str(ids["acme-daily"]), "date": "2026-03-02"})
    assert again.status_code == 200 and again.json()["status"] == "already sent"
    assert again.json()["delivery"]["id"] == sent["delivery"]["id"]
    assert sorted(p.name for p in (folder / "out" / "acme").iterdir()) == files
    entries = [e for e in audit(app, keys, "report.send") if e["details"]["period"] == "2026-03-02"]
    assert [(e["actor"], e["target"], e["details"]["status"]) for e in entries] == [
        ("ops", "acme-daily", "already sent"), ("ops", "acme-daily", "sent")]
    assert [(d.subscription, d.period_start, d.status) for d in ledger.listing(store, subscription="acme-daily")
            if d.period_start == date(2026, 3, 2)] == [("acme-daily", date(2026, 3, 2), "sent")]


def test_a_dry_run_returns_what_would_be_sent_and_records_nothing(api):
    app, keys, store, folder = api
    before = len(call(app, "GET", "/api/v1/audit?limit=1000", keys["admin"]).json())
    r = call(app, "POST", "/api/v1/reports/pulse/send", keys["admin"],
             {"subscription": "globex-daily", "date": "2026-03-03", "dry_run": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["dry_run"], body["channel"], body["to"], body["key"]) == (
        True, "file", "out/globex", "globex-daily:2026-03-03")
    assert body["payload"]["name"] == "globex-daily_2026-03-03.html" and "tenant globex" in body["payload"]["content"]
    assert not [d for d in ledger.listing(store, subscription="globex-daily") if d.period_start == date(2026, 3, 3)]
    assert not (folder / "out" / "globex").exists()
    assert len(call(app, "GET", "/api/v1/audit?limit=1000", keys["admin"]).json()) == before


def test_send_refuses_what_it_cannot_send(api):
    app, keys, _, _ = api
    for name, body, status, words in [
        ("events-daily", {"subscription": "acme-daily"}, 422, "acme-daily delivers report 'pulse', not 'events-daily'"),
        ("pulse", {"subscription": "nobody"}, 422, "subscription: no subscription 'nobody'"),
        ("pulse", {"subscription": "acme-daily", "date": "2199-01-01"}, 422, "date: 2199-01-01 is in the future"),
        ("pulse", {"subscription": "acme-daily", "colour": "red"}, 422, "colour"),
        ("nope", {"subscription": "acme-daily"}, 404, "no report 'nope'"),
    ]:
        r = call(app, "POST", f"/api/v1/reports/{name}/send", keys["admin"], body)
        assert r.status_code == status and words in r.json()["detail"], (name, body, r.text)
    # A scoped admin cannot even tell that another tenant's subscription exists.
    r = call(app, "POST", "/api/v1/reports/pulse/send", keys["acme-admin"],
             {"subscription": "globex-daily", "dry_run": True})
    assert r.status_code == 422 and r.json()["detail"].startswith("subscription: no subscription 'globex-daily'")


# -- templates ------------------------------------------------------------------------------------

TEMPLATE = {"title": "Tenant events", "spark": 3, "compare": ["previous"],
            "sections": [{"title": "Usage", "metrics": ["events"]}]}


def test_a_template_is_a_report_everywhere_until_deleted(api, capsys, monkeypatch):
    app, keys, _, folder = api
    r = call(app, "PUT", "/api/v1/templates/tenant-events", keys["admin"], TEMPLATE)
    assert r.status_code == 200 and r.json()["created"] is True and r.json()["spec"] == TEMPLATE, r.text
    assert call(app, "GET", "/api/v1/templates/tenant-events", keys["viewer"]).json()["spec"] == TEMPLATE
    listed = {x["name"]: x for x in call(app, "GET", "/api/v1/reports", keys["viewer"]).json()}
    assert listed["tenant-events"]["source"] == "template" and listed["tenant-events"]["title"] == "Tenant events"
    # 2 March: k = 29 -> 5 events per tenant, 10 in all; 1 March: 8.
    preview = call(app, "GET", "/api/v1/reports/tenant-events/preview?format=json&date=2026-03-02", keys["viewer"])
    assert lines(preview.json())["events"]["value"] == 10 and lines(preview.json())["events"]["deltas"][0]["base"] == 8
    sub = call(app, "POST", "/api/v1/subscriptions", keys["admin"],
               {"report": "tenant-events", "schedule": "daily at 08:00", "channel": "file", "to": "out/tpl",
                "name": "tpl-api"})
    assert sub.status_code == 201 and sub.json()["report"] == "tenant-events" and sub.json()["problem"] is None
    # The CLI sees it too: a subscription, and `daypulse report NAME`.
    code, _, err = cli(capsys, monkeypatch, folder, "subscriptions", "add", "--report", "tenant-events", "--at",
                       "09:00", "--channel", "file", "--to", "out/tpl", "--name", "tpl-cli")
    assert code == 0 and "added subscription" in err, err
    code, out, err = cli(capsys, monkeypatch, folder, "report", "tenant-events", "--date", "2026-03-02",
                         "--format", "json")
    assert code == 0 and lines(json.loads(out))["events"]["value"] == 10, err
    sent = call(app, "POST", "/api/v1/reports/tenant-events/send", keys["admin"],
                {"subscription": "tpl-api", "date": "2026-03-02"})
    assert sent.status_code == 200 and sent.json()["status"] == "sent", sent.text
    assert (folder / "out" / "tpl" / "tpl-api_2026-03-02.html").exists()
    names = {s["name"]: s for s in call(app, "GET", "/api/v1/subscriptions", keys["viewer"]).json()}
    assert names["tpl-cli"]["report"] == "tenant-events" and names["tpl-cli"]["problem"] is None
    used = call(app, "DELETE", "/api/v1/templates/tenant-events", keys["admin"])
    assert used.status_code == 409 and "tpl-api, tpl-cli" in used.json()["detail"]
    for name in ("tpl-api", "tpl-cli"):
        assert call(app, "DELETE", f"/api/v1/subscriptions/{names[name]['id']}", keys["admin"]).status_code == 200
    gone = call(app, "DELETE", "/api/v1/templates/tenant-events", keys["admin"])
    assert gone.status_code == 200 and gone.json() == {"removed": "tenant-events"}
    assert call(app, "GET", "/api/v1/templates/tenant-events", keys["viewer"]).status_code == 404
    assert call(app, "GET", "/api/v1/reports/tenant-events/preview", keys["viewer"]).status_code == 404
    assert "tenant-events" not in {x["name"] for x in call(app, "GET", "/api/v1/reports", keys["viewer"]).json()}
    assert [e["target"] for e in audit(app, keys, "template.create")] == ["tenant-events"]
    assert [e["target"] for e in audit(app, keys, "template.remove")] == ["tenant-events"]


def test_templates_are_validated_against_the_project(api):
    app, keys, _, _ = api
    for body, field, words in [
        ({"title": "x", "sections": [{"title": "s", "metrics": ["events", "nope"]}]}, "sections.0.metrics.1",
         "unknown metric(s) nope"),
        ({"sections": [{"title": "s", "metrics": ["events"]}]}, "title", "Field required"),
        ({"title": "x", "period": "year", "sections": [{"title": "s", "metrics": ["events"]}]}, "period", "'day'"),
        ({"title": "x", "sections": [{"title": "s", "metrics": []}]}, "sections", "at least one metric"),
        ({"title": "x", "colour": "red", "sections": [{"title": "s", "metrics": ["events"]}]}, "colour", ""),
        ({"title": "x", "filter": {"region": "eu"}, "sections": [{"title": "s", "metrics": ["events"]}]}, "filter",
         "no metric of the report has a dimension 'region'"),
        ({"title": "x", "template": "/etc", "sections": [{"title": "s", "metrics": ["events"]}]}, "template",
         "path on the server"),
        ({"title": "x", "sections": [{"title": "s", "metrics": ["events"],
                                      "breakdowns": [{"metric": "revenue", "by": "tenant"}]}]}, "report",
         "metric 'revenue' has no dimension 'tenant'"),
    ]:
        r = call(app, "PUT", "/api/v1/templates/bad", keys["admin"], body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (body, r.text)
        errors = r.json()["errors"]
        assert errors[0]["field"] == field and words in errors[0]["message"], (body, errors)
    assert call(app, "GET", "/api/v1/templates/bad", keys["admin"]).status_code == 404
    for name, words in (("pulse", "declared in daypulse.yml"), ("daily", "built in")):
        r = call(app, "PUT", f"/api/v1/templates/{name}", keys["admin"], TEMPLATE)
        assert r.status_code == 409 and words in r.json()["detail"], r.text
    assert call(app, "PUT", "/api/v1/templates/Bad%20Name", keys["admin"], TEMPLATE).status_code == 422
    assert call(app, "DELETE", "/api/v1/templates/pulse", keys["admin"]).status_code == 409
    assert call(app, "PUT", "/api/v1/templates/mine", keys["acme-admin"], TEMPLATE).status_code == 403


def test_a_preview_whose_template_hits_a_limit_is_422_at_once(api, tmp_path, monkeypatch):
    from daypulse.api import reports

    app, keys, _, _ = api
    (tmp_path / "report.txt.j2").write_text(
        "{{ report.title }}\n{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}\n")
    monkeypatch.setattr(reports, "template_folder", lambda project, name, base_dir: tmp_path)
    started = time.monotonic()
    r = call(app, "GET", "/api/v1/reports/pulse/preview?format=text&date=2026-03-01", keys["viewer"])
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["detail"] == "template limit: loops ran more than 100,000 times in all"
    assert time.monotonic() - started < 3


def test_a_template_over_256_kb_is_413_before_it_is_read(api):
    app, keys, _, _ = api
    many = {"title": "Huge", "sections": [{"title": f"s{i}", "metrics": ["events"]} for i in range(20_000)]}
    long = {**TEMPLATE, "description": "x" * 20_000_000}  # 20 MB
    for body in (many, long):
        started = time.monotonic()
        r = call(app, "PUT", "/api/v1/templates/huge", keys["admin"], body)
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json", r.text[:300]
        assert r.json()["detail"].startswith("a report template is at most 256 KB of JSON; this body has")
        assert time.monotonic() - started < 5
    assert call(app, "GET", "/api/v1/templates/huge", keys["admin"]).status_code == 404


def test_a_preview_whose_template_nests_too_deeply_is_422_naming_it(api, tmp_path, monkeypatch):
    from daypulse.api import reports

    app, keys, _, _ = api
    (tmp_path / "report.txt.j2").write_text("{{ report.title }}\n{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}\n")
    monkeypatch.setattr(reports, "template_folder", lambda project, name, base_dir: tmp_path)
    r = call(app, "GET", "/api/v1/reports/pulse/preview?format=text&date=2026-03-01", keys["viewer"])
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text[:300]
    assert r.json()["detail"].startswith("template syntax error: ") and "nested too deeply" in r.json()["detail"]


def put_streamed(app, token: str, chunks: int, chunk: bytes, headers: dict | None = None) -> tuple[httpx.Response, int]:
    """PUT a template whose body arrives in ``chunks`` pieces, read by the app only as it asks:
    (the answer, how many pieces it read)."""
    read = 0

    async def body():
        nonlocal read
        for _ in range(chunks):
            read += 1
            yield chunk

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://daypulse.test") as c:
            return await c.put("/api/v1/templates/streamed", content=body(),
                               headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                        **(headers or {})})
    return asyncio.run(go()), read


def test_a_body_over_256_kb_is_refused_by_its_length_unread_or_as_the_stream_passes_it(api):
    app, keys, _, _ = api
    # A Content-Length over the cap: 413 before a byte of the body is read.
    r, read = put_streamed(app, keys["admin"], 320, b" " * 65536, {"Content-Length": str(320 * 65536)})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json", r.text[:300]
    assert r.json()["detail"] == "a report template is at most 256 KB of JSON; this body has 20,971,520 bytes"
    assert read == 0
    # No Content-Length (chunked): read until it passes the cap, not to its end.
    r, read = put_streamed(app, keys["admin"], 320, b" " * 65536)
    assert r.status_code == 413, r.text[:300]
    assert r.json()["detail"] == "a report template is at most 256 KB of JSON; this body has more than 262,144 bytes"
    assert read <= 5
    # A streamed body under the cap is read and validated as any other.
    r, _ = put_streamed(app, keys["admin"], 1, json.dumps(TEMPLATE).encode())
    assert r.status_code == 200 and r.json()["spec"] == TEMPLATE, r.text
    r, _ = put_streamed(app, keys["admin"], 1, b'{"title": ')
    assert r.status_code == 422, r.text
    assert call(app, "DELETE", "/api/v1/templates/streamed", keys["admin"]).status_code == 200


def test_a_template_of_too_many_sections_or_metrics_is_422(api):
    app, keys, _, _ = api
    sections = {"title": "Wide", "sections": [{"title": f"s{i}", "metrics": ["events"]} for i in range(201)]}
    metrics = {"title": "Wide", "sections": [{"title": f"s{i}", "metrics": ["events"] * 100} for i in range(6)]}
    for body, field, words in [(sections, "sections", "at most 200 items"),
                               (metrics, "request", "at most 500 metrics, breakdowns and charts in all; this one"
                                                    " has 600")]:
        r = call(app, "PUT", "/api/v1/templates/wide", keys["admin"], body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text[:300]
        assert r.json()["errors"][0]["field"] == field and words in r.json()["errors"][0]["message"], r.json()
    assert call(app, "GET", "/api/v1/templates/wide", keys["admin"]).status_code == 404


def test_templates_are_company_wide_a_scoped_admin_writes_none(api):
    app, keys, _, _ = api
    globex = {**TEMPLATE, "title": "Globex events", "filter": {"tenant": "globex"}}
    assert call(app, "PUT", "/api/v1/templates/globex-events", keys["admin"], globex).status_code == 200
    for method, body in (("PUT", TEMPLATE), ("PUT", globex), ("DELETE", None)):
        r = call(app, method, "/api/v1/templates/globex-events", keys["acme-admin"], body)
        assert r.status_code == 403 and "without a scope" in r.json()["detail"], (method, r.text)
    # A scoped token does not see another tenant's template, in the list or by name.
    assert "globex-events" in {t["name"] for t in call(app, "GET", "/api/v1/templates", keys["viewer"]).json()}
    listed = call(app, "GET", "/api/v1/templates", keys["acme-admin"])
    assert listed.status_code == 200 and "globex" not in listed.text.lower()
    assert call(app, "GET", "/api/v1/templates/globex-events", keys["acme"]).status_code == 404
    assert call(app, "DELETE", "/api/v1/templates/globex-events", keys["admin"]).status_code == 200


def test_the_store_keeps_a_bounded_number_of_templates(api, monkeypatch):
    from daypulse.api import templates
    from daypulse.report import stored

    app, keys, store, _ = api
    assert call(app, "PUT", "/api/v1/templates/kept", keys["admin"], TEMPLATE).status_code == 200
    monkeypatch.setattr(templates, "MAX_TEMPLATES", len(stored.listing(store)))
    full = call(app, "PUT", "/api/v1/templates/one-more", keys["admin"], TEMPLATE)
    assert full.status_code == 409 and "remove one first" in full.json()["detail"], full.text
    assert call(app, "PUT", "/api/v1/templates/kept", keys["admin"], TEMPLATE).status_code == 200  # replaced
    assert call(app, "DELETE", "/api/v1/templates/kept", keys["admin"]).status_code == 200


# -- subscriptions --------------------------------------------------------------------------------

def test_subscriptions_are_added_paused_resumed_and_removed(api):
    app, keys, _, _ = api
    r = call(app, "POST", "/api/v1/subscriptions", keys["admin"],
             {"report": "pulse-week", "schedule": {"at": "09:00", "days": ["mon"]}, "timezone": "Europe/Paris",
              "channel": "file", "to": "out/weekly", "filter": {"tenant": "acme"}, "name": "weekly-acme",
              "catch_up": "none"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["name"], made["schedule"], made["timezone"], made["filter"], made["active"], made["source"]) == (
        "weekly-acme", "weekly on mon at 09:00", "Europe/Paris", {"tenant": "acme"}, True, "cli")
    url = f"/api/v1/subscriptions/{made['id']}"
    assert call(app, "PATCH", url, keys["admin"], {"active": False}).json()["active"] is False
    assert call(app, "PATCH", url, keys["admin"], {"active": True}).json()["active"] is True
    assert call(app, "DELETE", url, keys["admin"]).json() == {"removed": "weekly-acme", "id": made["id"]}
    assert call(app, "DELETE", url, keys["admin"]).status_code == 404
    assert [e["target"] for e in audit(app, keys, "subscription.pause")] == ["weekly-acme"]
    assert [e["target"] for e in audit(app, keys, "subscription.resume")] == ["weekly-acme"]
    assert "weekly-acme" in [e["target"] for e in audit(app, keys, "subscription.remove")]
    assert "weekly-acme" in [e["target"] for e in audit(app, keys, "subscription.add")]
    yml = {s["name"]: s["id"] for s in call(app, "GET", "/api/v1/subscriptions", keys["admin"]).json()}
    for method, body in (("PATCH", {"active": False}), ("DELETE", None)):
        r = call(app, method, f"/api/v1/subscriptions/{yml['acme-daily']}", keys["admin"], body)
        assert r.status_code == 409 and "declared in daypulse.yml: edit it there" in r.json()["detail"], r.text


def test_bad_subscriptions_are_422_naming_the_field(api):
    app, keys, _, _ = api
    good = {"report": "pulse", "schedule": "daily at 07:00", "channel": "file", "to": "out/x"}
    for change, field, words in [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone 'Mars/Olympus'"),
        ({"schedule": "daily at 25:00"}, "schedule.at", "invalid time '25:00'"),
        ({"report": "dialy"}, "report", "unknown report 'dialy'"),
        ({"channel": "slak-bot"}, "channel", "did you mean 'slack-bot'"),
        ({"channel": "webhook", "to": "not a url"}, "to", "malformed URL"),
        ({"name": "Bad Name"}, "name", "invalid name"),
        ({"filter": {"region": "eu"}}, "filter", "dimension 'region'"),
        ({"name": "acme-daily"}, "name", "daypulse.yml already declares a subscription named 'acme-daily'"),
        ({"catch_up": "sometimes"}, "catch_up", ""),
    ]:
        r = call(app, "POST", "/api/v1/subscriptions", keys["admin"], {**good, **change})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (change, r.text)
        assert r.json()["detail"].startswith(f"{field}: ") and words in r.json()["detail"], (change, r.json())


def test_a_scoped_admin_writes_only_its_tenants_subscriptions(api):
    app, keys, _, _ = api
    # Another tenant's board does not exist for it: not subscribable, not even named in the error.
    board = {"report": "globex-only", "schedule": "daily at 06:00", "channel": "file", "to": "out/x"}
    refused = call(app, "POST", "/api/v1/subscriptions", keys["acme-admin"], board)
    assert refused.status_code == 422 and "unknown report 'globex-only'" in refused.json()["detail"], refused.text
    typo = call(app, "POST", "/api/v1/subscriptions", keys["acme-admin"], {**board, "report": "nope"})
    assert "globex" not in typo.text.replace("globex-only", "") and "globex-only" not in typo.text
    body = {"report": "events-daily", "schedule": "daily at 06:00", "channel": "file", "to": "out/scoped"}
    other = call(app, "POST", "/api/v1/subscriptions", keys["acme-admin"], {**body, "filter": {"tenant": "globex"}})
    assert other.status_code == 403
    r = call(app, "POST", "/api/v1/subscriptions", keys["acme-admin"], {**body, "name": "acme-own"})
    assert r.status_code == 201 and r.json()["filter"] == {"tenant": "acme"}, r.text  # its scope, forced
    everyone = {s["name"]: s["id"] for s in call(app, "GET", "/api/v1/subscriptions", keys["admin"]).json()}
    assert call(app, "PATCH", f"/api/v1/subscriptions/{everyone['globex-daily']}", keys["acme-admin"],
                {"active": False}).status_code == 404
    assert call(app, "DELETE", f"/api/v1/subscriptions/{r.json()['id']}", keys["acme-admin"]).status_code == 200


# -- who may do what ------------------------------------------------------------------------------

MATRIX = [  # (method, url, body, admin only, what an admin gets, what acme's admin gets)
    ("GET", "/api/v1/reports", None, False, 200, 200),
    ("GET", "/api/v1/reports/events-daily/preview?format=json&date=2026-03-01", None, False, 200, 200),
    ("POST", "/api/v1/reports/events-daily/send", {"subscription": "nobody", "dry_run": True}, True, 422, 422),
    ("GET", "/api/v1/templates", None, False, 200, 200),
    ("GET", "/api/v1/templates/matrix", None, False, 200, 200),
    ("PUT", "/api/v1/templates/matrix", TEMPLATE, True, 200, 403),  # templates are company-wide
    ("DELETE", "/api/v1/templates/not-there", None, True, 404, 403),
    ("POST", "/api/v1/subscriptions", {"report": "pulse", "schedule": "daily at 07:00", "channel": "file",
                                       "to": "out/matrix"}, True, 201, 201),  # its tenant's (the filter is forced)
    ("PATCH", "/api/v1/subscriptions/999999", {"active": False}, True, 404, 404),
    ("DELETE", "/api/v1/subscriptions/999999", None, True, 404, 404),
]


@pytest.mark.parametrize("method, url, body, admin_only, as_admin, as_scoped_admin", MATRIX)
def test_authorization_matrix(api, method, url, body, admin_only, as_admin, as_scoped_admin):
    app, keys, _, _ = api
    call(app, "PUT", "/api/v1/templates/matrix", keys["admin"], TEMPLATE)
    assert call(app, method, url, None, body).status_code == 401
    assert call(app, method, url, "dp_not-a-real-token", body).status_code == 401
    viewer = call(app, method, url, keys["viewer"], body)
    assert viewer.status_code == (403 if admin_only else 200), viewer.text
    admin = call(app, method, url, keys["admin"], body)
    assert admin.status_code == as_admin, admin.text
    scoped = call(app, method, url, keys["acme"], body)
    assert scoped.status_code == (403 if admin_only else 200), scoped.text
    assert "globex" not in scoped.text
    scoped_admin = call(app, method, url, keys["acme-admin"], body)
    assert scoped_admin.status_code == as_scoped_admin, scoped_admin.text
    assert "globex" not in scoped_admin.text
    for who in ("acme", "acme-admin") if "preview" in url else ():
        globex = call(app, method, url + "&tenant=globex", keys[who])
        assert globex.status_code == 403 and "globex" not in globex.text


def test_a_scoped_token_sees_no_other_tenant_anywhere(api):
    app, keys, _, _ = api
    for who in ("acme", "acme-admin"):  # another tenant's board is answered as if it did not exist
        for method, url, body in [("GET", "/api/v1/reports/globex-only/preview?format=json", None),
                                  ("GET", "/api/v1/templates/globex-only", None),
                                  ("POST", "/api/v1/reports/globex-only/send",
                                   {"subscription": "globex-daily", "dry_run": True})]:
            r = call(app, method, url, keys[who], body)
            assert r.status_code == (403 if (who, method) == ("acme", "POST") else 404), (who, url, r.text)
            assert "Globex board" not in r.text and "globex" not in r.text.replace("globex-only", ""), r.text
        assert "globex-only" not in call(app, "GET", "/api/v1/reports", keys[who]).text
    for url in ("/api/v1/reports", "/api/v1/templates", "/api/v1/subscriptions",
                "/api/v1/reports/events-daily/preview?format=json&date=2026-03-02",
                "/api/v1/reports/events-daily/preview?format=html&date=2026-03-02"):
        r = call(app, "GET", url, keys["acme"])
        assert r.status_code == 200 and "globex" not in r.text, (url, r.text[:300])
