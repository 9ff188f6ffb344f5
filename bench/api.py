#!/usr/bin/env python3
"""Benchmark: the series endpoint under load (target p95 < 25 ms on a SQLite store).

Builds the demo company once (cached in ``--work``), computes it, serves it with
``daypulse serve --no-scheduler`` (uvicorn, one process), then runs ``--clients`` concurrent
clients for ``--seconds``, each asking for a random metric over a random 30-day window of the
last year (``/api/v1/metrics/{m}/series?start&end&grain=day``, a viewer token). The same-run
baseline is the same load on ``/healthz`` (no store, no auth): the ratio shows what the
endpoint's own work costs on this machine.

Usage: python bench/api.py [--days 730] [--clients 50] [--seconds 30] [--work /tmp/daypulse-bench-api]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

METRICS = ["signups", "mrr", "dau", "captures", "calls", "active_subscriptions", "wau", "jobs_total"]


def prepare(work: Path, days: int) -> tuple[Path, date]:
    import yaml

    from daypulse.demo import generate, project_yaml
    from daypulse.engine.run import run_compute
    from daypulse.spec import load_project
    from daypulse.store.db import Store, open_store

    work.mkdir(parents=True, exist_ok=True)
    marker = work / "computed"
    data = yaml.safe_load(project_yaml())
    data.pop("subscriptions", None)
    (work / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    project = load_project(work / "daypulse.yml")
    if not marker.exists():
        summary = generate(work / "demo.duckdb", days=days)
        (work / "daypulse.db").unlink(missing_ok=True)
        store = open_store(project.store)
        t0 = time.perf_counter()
        run_compute(project, store, date.fromisoformat(summary["start"]), date.fromisoformat(summary["end"]))
        print(f"computed the demo store in {time.perf_counter() - t0:.1f}s", flush=True)
        marker.write_text(summary["end"])
    Store(project.store).upgrade()
    return work / "daypulse.yml", date.fromisoformat(marker.read_text())


async def load(base: str, paths, clients: int, seconds: float, token: str) -> tuple[list[float], int, int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            r = await c.get(paths(), headers=headers)
            latencies.append(time.perf_counter() - t0)
            errors += r.status_code != 200

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as c:
        await asyncio.gather(*(client(c) for _ in range(clients)))
    return latencies, len(latencies), errors


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--work", type=Path, default=Path("/tmp/daypulse-bench-api"))
    args = ap.parse_args()

    from daypulse.api import tokens
    from daypulse.spec import load_project
    from daypulse.store.db import open_store

    config, last = prepare(args.work / f"days{args.days}", args.days)
    store = open_store(load_project(config).store)
    token = tokens.create(store, "bench", "viewer")[1]
    server = subprocess.Popen([sys.executable, "-m", "daypulse.cli", "serve", "--no-scheduler", "--port",
                               str(args.port), "--config", str(config)], cwd=config.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    base = f"http://127.0.0.1:{args.port}"
    try:
        import httpx

        for _ in range(300):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        rng = random.Random(7)

        def series() -> str:
            start = last - timedelta(days=rng.randrange(30, 365))
            return (f"/api/v1/metrics/{rng.choice(METRICS)}/series?start={start}"
                    f"&end={start + timedelta(days=29)}&grain=day")

        asyncio.run(load(base, series, args.clients, 2, token))  # warm-up
        base_lat, base_n, base_err = asyncio.run(load(base, lambda: "/healthz", args.clients,
                                                      max(5.0, args.seconds / 3), token))
        lat, n, err = asyncio.run(load(base, series, args.clients, args.seconds, token))
        # One client: the service time itself, without queueing behind 49 others.
        one, one_n, one_err = asyncio.run(load(base, series, 1, 5, token))
    finally:
        server.terminate()
        server.wait(timeout=30)
    load_avg = os.getloadavg()[0]
    print(f"series endpoint, {args.clients} concurrent clients, {args.seconds:.0f} s, SQLite store"
          f" ({args.days} days of demo history), uvicorn 1 process, {os.cpu_count()} cores, load {load_avg:.1f}:")
    print(f"  {'':16s} {'requests':>9s} {'req/s':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    for label, values, count, errors, secs in (("healthz", base_lat, base_n, base_err, max(5.0, args.seconds / 3)),
                                              ("series", lat, n, err, args.seconds),
                                              ("series, 1 client", one, one_n, one_err, 5)):
        print(f"  {label:16s} {count:9d} {count / secs:7.0f} {pct(values, 50):8.1f} {pct(values, 95):8.1f}"
              f" {pct(values, 99):8.1f} {errors:7d}")
    p50, p95 = pct(lat, 50) / pct(base_lat, 50), pct(lat, 95) / pct(base_lat, 95)
    print(f"  series / healthz: p50 {p50:.1f}x, p95 {p95:.1f}x;"
          f" target p95 < 25 ms: {'met' if pct(lat, 95) < 25 else 'MISSED'}")
    print("  (closed loop: each client waits for its answer, so latency = clients / throughput; the load"
          " generator shares the machine's cores with the server)")


if __name__ == "__main__":
    main()
