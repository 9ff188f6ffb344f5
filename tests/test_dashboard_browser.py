"""The dashboard in real Chromium (Debian's, through Playwright) against a real `daypulse serve`:
sign in, the overview, changing the range and the tenant, a metric page with its chart and SQL,
the CSV export, auto-refresh, a phone's width, signing out.

Screenshots go to artifacts/dashboard/ (or $DAYPULSE_ARTIFACTS/dashboard/) for people to look at.
The numbers are storekit's (see test_dashboard.py): 10 March has 3 events per tenant, 9 March 2.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest

from channelkit import free_port
from daypulse.engine.run import run_compute
from daypulse.store import tokens
from deliverykit import load, write

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("DAYPULSE_ARTIFACTS") or Path(__file__).parent.parent / "artifacts") / "dashboard"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash-browser")
    write(folder, subscriptions=[{"name": "acme-daily", "report": "pulse", "schedule": "daily at 07:00",
                                  "channel": "file", "to": "out", "filter": {"tenant": "acme"}}],
          compute={"grains": ["hour", "day", "week", "month"]})  # the metric page's hour chart
    project, store = load(folder)
    run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), params={"why": "browser test"})
    keys = {"admin": tokens.create(store, "Asha (ops)", "admin")[1],
            "acme": tokens.create(store, "acme board", "viewer", {"tenant": "acme"})[1]}
    store.engine.dispose()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "daypulse.cli", "serve", "--port", str(port), "--no-scheduler"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "DAYPULSE_DASHBOARD_REFRESH": "2"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
                time.sleep(0.2)
        yield base, keys, folder
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is needed (scripts/test-services installs it)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield b
        b.close()


def sign_in(browser, base: str, token: str, width: int = 1280, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP violations too
    page.goto(base + "/")
    assert "/login" in page.url
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector(".tile")
    return context, page, errors


def until(page, expression: str, timeout: float = 10) -> None:
    """Wait for a JavaScript expression to be true (page.wait_for_function evaluates strings with
    eval, which the dashboard's Content-Security-Policy rightly forbids; evaluate does not)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.1)


def tile_value(page, metric: str) -> str:
    return page.locator(f'.tile[data-metric="{metric}"] .value').inner_text()


def test_sign_in_overview_range_tenant_metric_export_and_sign_out(server, browser):
    base, keys, _ = server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(base + "/")
    page.fill("#token", "dp_wrong")
    page.click("button[type=submit]")
    assert "That token is not valid" in page.locator(".error").inner_text()
    context.close()

    context, page, errors = sign_in(browser, base, keys["admin"])
    assert tile_value(page, "events") == "6" and tile_value(page, "revenue") == "$12.00"
    # +2 on the day before, within what Tuesdays here do (2 to 10 events): no colour, and it says so.
    assert "flat" in page.locator('.tile[data-metric="events"]').get_attribute("class")
    assert page.locator('.tile[data-metric="events"] .vs').inner_text() == "vs the day before"
    until(page, "document.querySelectorAll('figure.chart canvas').length >= 1")  # uPlot drew
    page.screenshot(path=str(ARTIFACTS / "overview-laptop.png"), full_page=True)
    # At rest the legend holds the latest period's values, not dashes.
    legend = page.evaluate("[...document.querySelector('figure.chart .u-legend').querySelectorAll('.u-value')]"
                           ".map((e) => e.textContent)")
    assert legend[0] != "—" and legend[1] != "—", legend

    # The range: the "7 days" preset, then a date typed in (HTMX swaps the board, the URL follows).
    page.click("text=7 days")
    page.wait_for_url("**start=2026-03-04**")
    labels = page.evaluate("JSON.parse(document.querySelector('figure.chart script').textContent).labels")
    assert labels[0] == "2026-03-04" and labels[-1] == "2026-03-10"
    page.fill("input[name=end]", "2026-03-09")
    page.dispatch_event("input[name=end]", "change")
    page.wait_for_url("**end=2026-03-09**")
    assert tile_value(page, "events") == "4"

    # The tenant: acme's own numbers; revenue has no tenant breakdown and says so.
    page.select_option("select[name=filter]", "tenant=acme")
    page.wait_for_url("**filter=tenant%3Dacme**")
    assert tile_value(page, "events") == "2"
    assert "not broken down by tenant" in page.locator('.tile[data-metric="revenue"]').inner_text()
    page.screenshot(path=str(ARTIFACTS / "overview-acme.png"), full_page=True)

    # A metric page: chart, table, definition and the compiled SQL.
    page.click('.tile[data-metric="events"]')
    page.wait_for_selector("#values")
    assert page.locator("h1").inner_text().startswith("events")
    assert page.locator("figure.chart canvas").count() >= 1
    assert "Mon 09 Mar 2026" in page.locator("#values tbody tr").first.inner_text()
    # The hours of the range's last day (Kolkata: 24 of them, labelled "00:00+05:30" ...), drawn.
    assert page.locator("#hours canvas").count() == 1
    hours = page.evaluate("JSON.parse(document.querySelector('#hours script').textContent)")
    assert len(hours["labels"]) == 24 and hours["labels"][0] == "2026-03-09T00:00+05:30"
    assert sum(hours["values"]) == 2  # acme's two events of 9 March
    page.click("details summary")
    page.wait_for_selector("pre.sql")
    assert "SELECT" in page.locator("pre.sql").inner_text()
    page.screenshot(path=str(ARTIFACTS / "metric-events.png"), full_page=True)

    # The CSV export of what the page shows.
    with page.expect_download() as download:
        page.click("#export")
    rows = list(csv.DictReader(Path(download.value.path()).read_text().splitlines()))
    assert rows[-1] == {"metric": "events", "grain": "day", "period": "2026-03-09", "dimensions": "tenant=acme",
                        "value": "2", "unit": "count", "display": "2"}

    # Auto-refresh: the board re-reads itself (every 2 s here) and says when.
    page.goto(base + "/")
    first = page.locator("#updated").inner_text()
    until(page, f"document.querySelector('#updated').innerText !== {first!r}")

    page.click("#logout")
    page.wait_for_url("**/login")
    page.goto(base + "/")
    assert "/login" in page.url
    assert errors == []
    context.close()


def test_a_phone_sees_the_board_without_sideways_scrolling(server, browser):
    base, keys, _ = server
    context, page, errors = sign_in(browser, base, keys["acme"], width=390, height=844)
    until(page, "document.querySelectorAll('figure.chart canvas').length >= 1")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert tile_value(page, "events") == "3"
    assert page.locator('.tile[data-metric="revenue"]').count() == 0  # spans every tenant: not acme's to see
    assert page.locator("select[name=filter]").is_disabled()
    page.screenshot(path=str(ARTIFACTS / "overview-phone-acme.png"), full_page=True)
    page.goto(base + "/deliveries")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "deliveries-phone.png"), full_page=True)
    assert errors == []
    context.close()


def test_an_admin_sends_now_from_the_deliveries_page(server, browser):
    base, keys, folder = server
    context, page, errors = sign_in(browser, base, keys["admin"])
    page.goto(base + "/deliveries")
    page.click("text=Send now")
    page.wait_for_selector(".flash")
    assert "acme-daily" in page.locator(".flash").inner_text() and "sent" in page.locator(".flash").inner_text()
    assert len(list((folder / "out").rglob("*.html"))) == 1
    page.screenshot(path=str(ARTIFACTS / "deliveries-sent.png"), full_page=True)
    assert errors == []
    context.close()
