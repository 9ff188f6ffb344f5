"""The HTML report in real Chromium (Debian's, through Playwright): it fits a phone and the
email width, every chart loads, and the numbers are real text.

`scripts/screenshot-report` takes the screenshots to look at; this keeps what was fixed fixed.
"""

from __future__ import annotations

import base64
import os
import re
import shutil

import pytest

from reportkit import sample_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _charts():
    from datetime import date, timedelta

    from daypulse.report.charts import BarData, LineData, render_chart
    from daypulse.report.model import ChartImage

    days = [date(2026, 2, 5) + timedelta(days=i) for i in range(30)]
    out = []
    for i, spec in enumerate([
        LineData("New signups, last 30 days", days, [90 + i % 7 for i in range(30)], [80 + i % 5 for i in range(30)],
                 "previous 30 days", "integer", "up"),
        BarData("Calls by staff", ["asha", "ben", "carmen"], [20, 15, 12], "integer", [18, 21, 12]),
    ], 1):
        png = render_chart(spec)
        out.append(ChartImage(f"chart-{i}", spec.title, png.alt, png.data, png.width, png.height))
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is needed (scripts/test-services installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield b
        b.close()


@pytest.mark.parametrize("width", [375, 600])
def test_the_report_fits_and_every_chart_loads(browser, width):
    from daypulse.report.render import render

    report = sample_report(charts=_charts(), sections=6)
    html = render(report, "html")
    images = {c.id: c.png for c in report.charts}
    # Only for the browser: cid: references become data: URIs (the email keeps cid:).
    html = re.sub(r'cid:([\w.-]+)', lambda m: "data:image/png;base64,"
                  + base64.b64encode(images[m.group(1).split("@")[0]]).decode(), html)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(html, wait_until="load")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    loaded = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth > 0)")
    assert loaded == [True] * len(report.charts)
    text = page.inner_text("body")
    assert "Daily pulse" in text and "Friday 6 March 2026" in text
    assert "$35,386.00" in text and "carmen <b>" in text  # real text, escaped markup shown as text
    page.close()
