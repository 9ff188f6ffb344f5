#!/usr/bin/env python3
"""Benchmark: render a daily report with 6 charts from a computed store (target < 2 s).

Builds the demo company once (cached in the work folder), computes it, then times, median of
``--repeat`` runs, in one process:

* ``content``: build_report (freshness check, values, comparisons, what changed) without charts
* ``charts``: the same with its 6 charts drawn
* ``html+email``: rendering the HTML and the MIME message from that content
* ``total``: content with charts + HTML + email, what a scheduled send costs before sending

and, as the same-run baseline, ``read``: one plain read of the report's values from the store.
Usage: python bench/report.py [--days 730] [--repeat 5] [--work /tmp/daypulse-bench-report]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta
from pathlib import Path

REPORT = {
    "title": "Bench daily", "period": "day", "compare": ["previous", "same_weekday"], "spark": 14,
    "sections": [
        {"title": "Growth", "metrics": ["signups", "subscriptions_created", "subscriptions_cancelled",
                                        "active_subscriptions", "mrr", "net_new_mrr"]},
        {"title": "Usage", "metrics": ["captures", "capturing_users", "dau", "wau"]},
        {"title": "Sales", "metrics": ["calls", "call_success_rate"],
         "breakdowns": [{"metric": "calls", "by": "staff", "also": ["call_success_rate"]}]},
    ],
    "charts": [
        {"metric": "signups", "periods": 30}, {"metric": "subscriptions_created", "periods": 30},
        {"metric": "captures", "periods": 30}, {"metric": "mrr", "periods": 30},
        {"metric": "calls", "kind": "bar", "by": "staff"},
        {"metric": "calls", "kind": "heatmap", "by": "hour", "periods": 14},
    ],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=730, help="days of demo history")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/daypulse-bench-report"))
    args = ap.parse_args()

    import yaml

    from daypulse.delivery.config import SECTIONS
    from daypulse.demo import generate, project_yaml
    from daypulse.engine.run import run_compute
    from daypulse.project import load_project
    from daypulse.report.content import build_report
    from daypulse.report.email import build_message
    from daypulse.report.render import render
    from daypulse.store import read
    from daypulse.store.db import Store, open_store

    work = args.work / f"days{args.days}"
    work.mkdir(parents=True, exist_ok=True)
    marker = work / "computed"
    data = yaml.safe_load(project_yaml())
    data["reports"] = {"bench": REPORT}
    (work / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    project = load_project(work / "daypulse.yml", SECTIONS)
    if not marker.exists():
        summary = generate(work / "demo.duckdb", days=args.days)
        (work / "daypulse.db").unlink(missing_ok=True)
        store = open_store(project.store)
        from datetime import date

        first, last = date.fromisoformat(summary["start"]), date.fromisoformat(summary["end"])
        t0 = time.perf_counter()
        run_compute(project, store, first, last)
        print(f"computed the demo store in {time.perf_counter() - t0:.1f}s")
        marker.write_text(summary["end"])
    from datetime import date

    last = date.fromisoformat(marker.read_text())
    Store(project.store).upgrade()  # a cached store from an older release
    store = open_store(project.store, create=False)

    def timed(fn) -> tuple[float, object]:
        runs, out = [], None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs), out

    build_report(project, store, "bench", on=last)  # warm: imports, fonts, freshness compute
    names = REPORT["sections"][0]["metrics"] + REPORT["sections"][1]["metrics"]
    t_read, _ = timed(lambda: read.values(store, names, "day", last - timedelta(days=60), last))
    t_content, _ = timed(lambda: build_report(project, store, "bench", on=last, with_charts=False))
    t_charts, rep = timed(lambda: build_report(project, store, "bench", on=last))

    def html_and_email():
        render(rep, "html")
        return build_message(rep, sender="pulse@example.com", to=["ceo@example.com"])

    t_render, msg = timed(html_and_email)
    size = len(bytes(msg))
    print(f"daily report, {len(rep.charts)} charts, {args.days} days of history, median of {args.repeat}:")
    rows = [("read (baseline: the report's values, one query)", t_read),
            ("content without charts", t_content), ("content with 6 charts", t_charts),
            ("HTML + MIME email", t_render), ("total (content, charts, HTML, email)", t_charts + t_render)]
    for label, t in rows:
        print(f"  {label:45s} {t:6.3f} s   {t / t_read:7.1f}x read")
    print(f"  email size {size / 1024:.0f} KB; target total < 2 s: {'met' if t_charts + t_render < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
