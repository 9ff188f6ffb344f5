#!/usr/bin/env python3
"""Benchmark: how long the dashboard's overview takes to render, on the demo store.

Builds the demo company once (cached in the work folder), then, in one run:

* ``server``: the overview page rendered by the app in-process (httpx's ASGI transport, a signed-in
  session), median and p95 of ``--repeat`` requests, for several boards, grains and a tenant;
* ``browser``: Chromium (Debian's, through Playwright) from navigation to every chart drawn, median
  of ``--browser-repeat`` loads over a real ``daypulse serve`` (needs /usr/bin/chromium);

and, as same-run baselines, ``healthz`` (the app's cheapest answer, through the same transport) and
``read`` (one plain read of the board's values from the store). Ratios are printed against both.
Usage: python bench/dashboard.py [--days 730] [--repeat 30] [--work /tmp/daypulse-bench-dashboard]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

VIEWS = [  # (label, query)
    ("daily board, 30 days", "/?board=daily"),
    ("daily board, 90 days", "/?board=daily&grain=day&start={d90}"),
    ("weekly board, 12 weeks", "/?board=weekly&grain=week"),
    ("monthly board, 12 months", "/?board=monthly&grain=month"),
    ("daily board, one tenant", "/?board=daily&filter=tenant=acme"),
    ("metric page (mrr), 90 days", "/metrics/mrr?start={d90}"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=730, help="days of demo history")
    ap.add_argument("--repeat", type=int, default=30, help="requests per view (median, p95)")
    ap.add_argument("--browser-repeat", type=int, default=5, help="page loads in Chromium (0: skip)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/daypulse-bench-dashboard"))
    args = ap.parse_args()

    folder = build_demo(args.work / f"days{args.days}", args.days)
    from daypulse.app import ApiSettings, create_app
    from daypulse.delivery.config import SECTIONS
    from daypulse.project import load_project
    from daypulse.store import tokens

    project = load_project(folder / "daypulse.yml", SECTIONS)
    app = create_app(ApiSettings(config=folder / "daypulse.yml", project=project, base_dir=folder))
    _, token = tokens.create(app.state.store, "bench", "admin")
    rows = asyncio.run(server_side(app, token, args.repeat))
    base = rows.pop("healthz")
    read = read_baseline(project, app.state.store, args.repeat)
    print(f"\ndemo store: {folder / 'daypulse.db'} ({args.days} days); {args.repeat} requests per view\n")
    print(f"{'view':34} {'median ms':>10} {'p95 ms':>8} {'x healthz':>10} {'x read':>8} {'KB':>6}")
    print(f"{'healthz (baseline)':34} {base[0]:10.1f} {base[1]:8.1f} {1:10.1f} {'':>8} {'':>6}")
    print(f"{'read: the board values (baseline)':34} {read:10.1f} {'':>8} {read / base[0]:10.1f} {1:8.1f} {'':>6}")
    for label, (median, p95, size) in rows.items():
        print(f"{label:34} {median:10.1f} {p95:8.1f} {median / base[0]:10.1f} {median / read:8.1f} {size / 1024:6.0f}")
    if args.browser_repeat:
        browser_side(folder, token, args.browser_repeat)


def build_demo(work: Path, days: int) -> Path:
    if (work / "daypulse.db").exists() and (work / "daypulse.yml").exists():
        return work
    work.mkdir(parents=True, exist_ok=True)
    print(f"building the demo company in {work} (once)...", flush=True)
    subprocess.run([sys.executable, "-m", "daypulse.cli", "demo", "--dir", str(work), "--days", str(days)],
                   check=True, stdout=subprocess.DEVNULL)
    return work


async def server_side(app, token: str, repeat: int) -> dict[str, tuple[float, float, int]]:
    import httpx

    from daypulse.store import read

    d90 = (read.latest_day(app.state.store)).toordinal() - 89
    from datetime import date

    start90 = date.fromordinal(d90).isoformat()
    out = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bench.test") as c:
        form = await c.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        r = await c.post("/login", data={"token": token, "csrf": csrf, "next": "/"})
        assert r.status_code == 303, r.text
        out["healthz"] = await timed(c, "/healthz", repeat)
        for label, url in VIEWS:
            out[label] = await timed(c, url.format(d90=start90), repeat)
    return out


async def timed(client, url: str, repeat: int) -> tuple[float, float, int]:
    r = await client.get(url)  # warm: templates compiled, connections open
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = await client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], len(r.content)


def read_baseline(project, store, repeat: int) -> float:
    """One read of the daily board's values over 30 days: what a page cannot do with less."""
    from datetime import timedelta

    from daypulse.report.definition import load_report
    from daypulse.store import read

    last = read.latest_day(store)
    names = load_report(project, "daily").metrics
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        read.values(store, names, "day", last - timedelta(days=30), last)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def browser_side(folder: Path, token: str, repeat: int) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        print("\nbrowser: skipped (no /usr/bin/chromium; scripts/test-services installs it)")
        return
    import socket

    import httpx
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "daypulse.cli", "serve", "--port", str(port), "--no-scheduler"],
                            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"] if os.geteuid() == 0 else [])
            page = b.new_page(viewport={"width": 1366, "height": 900})
            page.goto(base + "/login")
            page.fill("#token", token)
            page.click("button[type=submit]")
            page.wait_for_selector(".tile")
            times = {}
            for label, url in (("overview (daily board)", "/"), ("healthz (baseline)", "/healthz")):
                runs = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    page.goto(base + url)
                    while url == "/" and not page.evaluate(  # (wait_for_function's eval is barred by the CSP)
                            "document.querySelectorAll('figure.chart canvas').length"
                            " === document.querySelectorAll('figure.chart').length"):
                        time.sleep(0.005)
                    runs.append((time.perf_counter() - t) * 1000)
                times[label] = statistics.median(runs)
            b.close()
        print(f"\nbrowser (Chromium, real server, {repeat} loads): navigation to every chart drawn")
        base_ms = times["healthz (baseline)"]
        for label, ms in times.items():
            print(f"{label:34} {ms:10.1f} ms  x{ms / base_ms:5.1f} healthz")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
