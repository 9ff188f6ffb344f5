#!/usr/bin/env python3
"""Benchmark: the series endpoint under load (target: p95 under 25 ms on a SQLite store).

Serves the demo store (`daypulse demo`, built into a temporary folder, or `--demo DIR`,
reused when it holds one) with the real `daypulse serve --no-scheduler` (uvicorn, one
process), and loads it from `--procs` generator processes, each running its share of the
`--clients` in threads, one keep-alive connection per client (plain http.client by default).

Two modes, `--seconds` each (5 with --quick):

  users   each client waits `--think` seconds (randomised +-50 %) after every answer: about
          clients / think requests per second offered, a dashboard's load. The 25 ms target
          is about this mode.
  closed  no think time: every client sends its next request as soon as it has the answer,
          which saturates the machine; its req/s is the throughput.

Each mode runs twice: on the series endpoint (alternately a 90-day daily series with
`compare=previous` over the total, and the same filtered to one tenant; a random metric that
has a tenant breakdown, a random window in the last year) and on `/healthz` (no store, no
auth), the same-run baseline: series / healthz is what the endpoint's own work adds. CPU is read
from /proc for the server (with its child processes) and for the generator processes over the
same window, so the table shows who used the 2 cores.

Usage: python bench/api.py [--quick] [--clients 50] [--seconds 30] [--demo DIR] [--workers-row N]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, suppress
from datetime import date, timedelta
from pathlib import Path

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent
DAYPULSE = [sys.executable, "-m", "daypulse.cli"]
WINDOW_DAYS = 90  # the dashboard's chart: 90 daily points and the 90 days before them
WINDOW_ENDS = 275  # windows end somewhere in the last 275 days, so they start within the last year
TICK = os.sysconf("SC_CLK_TCK")


# -- the demo store and the server -------------------------------------------------------------

def demo_store(folder: Path | None, days: int) -> tuple[Path, Path | None]:
    """The demo's project file: `folder`'s if it already holds a computed demo, else a new
    demo built there (or in a temporary folder, returned second so it can be removed)."""
    temp = None
    if folder is None:
        folder = temp = Path(tempfile.mkdtemp(prefix="daypulse-bench-api-"))
    config = folder / "daypulse.yml"
    if config.exists() and (folder / "daypulse.db").exists():
        print(f"reusing the demo in {folder}", flush=True)
        return config, temp
    t0 = time.perf_counter()
    run = subprocess.run([*DAYPULSE, "demo", "--dir", str(folder), "--days", str(days)],
                         capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"daypulse demo failed:\n{run.stderr[-3000:]}")
    print(f"built the demo ({days} days) in {folder} in {time.perf_counter() - t0:.0f}s", flush=True)
    return config, temp


def viewer_token(config: Path) -> tuple[int, str]:
    run = subprocess.run([*DAYPULSE, "tokens", "create", "--role", "viewer", "--name", "bench-api",
                          "--config", str(config)], capture_output=True, text=True, check=True)
    return int(re.search(r"token (\d+)", run.stderr).group(1)), run.stdout.strip()


@contextmanager
def server(command: list[str], cwd: Path, port: int):
    """A server process answering /readyz on `port`; stopped (with its children) on exit."""
    log = (cwd / f"bench-api-server-{port}.log").open("w")
    proc = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):
            if proc.poll() is not None:
                sys.exit(f"the server exited ({proc.returncode}):\n{Path(log.name).read_text()[-3000:]}")
            with suppress(OSError):
                if get(port, "/readyz")[0] == 200 and proc.poll() is None:
                    break
            time.sleep(0.1)
        else:
            sys.exit("the server did not answer /readyz within 60 s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        Path(log.name).unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def workload(port: int, token: str) -> dict:
    """What the series requests ask for, found through the API itself: the metrics broken down
    by tenant, the last stored day, and the tenants that day."""
    status, body = get(port, "/api/v1/metrics", token)
    assert status == 200, (status, body[:300])
    metrics = sorted(m["metric"] for m in json.loads(body) if "tenant" in m["dimensions"])
    status, body = get(port, f"/api/v1/metrics/{metrics[0]}/latest?grain=day", token)
    assert status == 200, (status, body[:300])
    last = json.loads(body)["period_start"]
    status, body = get(port, f"/api/v1/export?format=json&metric={metrics[0]}&grain=day&start={last}&end={last}",
                       token)
    assert status == 200, (status, body[:300])
    tenants = sorted({r["dimensions"]["tenant"] for r in json.loads(body) if "tenant" in r["dimensions"]})
    return {"metrics": metrics, "last": last, "tenants": tenants}


# -- CPU from /proc ------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores; /proc/stat), for the share used
    by other processes during a run."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


def tree(pid: int) -> list[int]:
    """pid and its descendants (uvicorn --workers runs the app in child processes)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            parents.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


# -- the load generator (runs in child processes) ------------------------------------------------

class HttpClientConnection:
    """One keep-alive connection through the standard library's http.client (the cheapest)."""

    def __init__(self, port: int, headers: dict):
        self.conn, self.headers = http.client.HTTPConnection(HOST, port, timeout=30), headers

    def get(self, path: str) -> int:
        try:
            self.conn.request("GET", path, headers=self.headers)
            r = self.conn.getresponse()
            r.read()
            return r.status
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            return 0


class HttpxConnection:
    """One keep-alive connection through a sync httpx.Client (for comparison: --generator httpx)."""

    def __init__(self, port: int, headers: dict):
        import httpx

        self.error = httpx.HTTPError
        self.client = httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers, timeout=30,
                                   limits=httpx.Limits(max_connections=1))

    def get(self, path: str) -> int:
        try:
            return self.client.get(path).status_code
        except self.error:
            return 0


GENERATORS = {"http.client": HttpClientConnection, "httpx": HttpxConnection}


def requests(target: str, work: dict, rng: random.Random):
    """(kind, path) forever: /healthz, or series alternating between the total and one tenant."""
    if target == "healthz":
        yield from itertools.repeat(("healthz", "/healthz"))
    last = date.fromisoformat(work["last"])
    for n in itertools.count():
        end = last - timedelta(days=rng.randrange(WINDOW_ENDS))
        start = end - timedelta(days=WINDOW_DAYS - 1)
        path = (f"/api/v1/metrics/{rng.choice(work['metrics'])}/series?start={start}&end={end}"
                f"&grain=day&compare=previous")
        yield ("series, tenant", f"{path}&tenant={rng.choice(work['tenants'])}") if n % 2 else ("series", path)


def generate(job: dict, clients: int, seed: int, out) -> None:
    """One generator process: `clients` threads, each with its own connection, from job["start_at"]
    (wall clock, shared by every process) for job["seconds"]; sends back (kind, seconds, ok) tuples."""
    headers = {"Authorization": f"Bearer {job['token']}"}
    conns = [GENERATORS[job["generator"]](job["port"], headers) for _ in range(clients)]
    for c in conns:  # open the connections before the clock starts
        c.get("/healthz")
    time.sleep(max(0.0, job["start_at"] - time.time()))
    deadline = time.perf_counter() + job["seconds"]
    think = job["think"]
    samples: list[list] = [[] for _ in conns]

    def client(conn, rng: random.Random, got: list) -> None:
        paths = requests(job["target"], job["work"], rng)
        if think:  # users arrive spread over one think time, not all at once
            time.sleep(rng.uniform(0, think))
        while (t0 := time.perf_counter()) < deadline:
            kind, path = next(paths)
            status = conn.get(path)
            got.append((kind, time.perf_counter() - t0, status == 200))
            if think:
                time.sleep(max(0.0, min(think * rng.uniform(0.5, 1.5), deadline - time.perf_counter())))

    threads = [threading.Thread(target=client, args=(c, random.Random(seed * 1000 + i), s))
               for i, (c, s) in enumerate(zip(conns, samples))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.send([x for s in samples for x in s])
    out.close()


def run_phase(job: dict, clients: int, procs: int, server_pid: int) -> dict:
    """Run the load from `procs` processes; latencies per kind, errors, and the CPU used by the
    generator and by the server over the measured window."""
    ctx = multiprocessing.get_context("fork")
    job = {**job, "start_at": time.time() + 1.0}
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    workers = []
    for i, share in enumerate(s for s in shares if s):
        recv, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=generate, args=(job, share, i + 1, send), daemon=True)
        p.start()
        send.close()
        workers.append((p, recv))
    time.sleep(max(0.0, job["start_at"] - time.time()))
    servers = tree(server_pid)
    cpu0 = ([cpu_seconds(p.pid) for p, _ in workers], [cpu_seconds(p) for p in servers],
            [machine_busy_seconds()])
    time.sleep(max(0.0, job["start_at"] + job["seconds"] - time.time()))
    cpu1 = ([cpu_seconds(p.pid) for p, _ in workers], [cpu_seconds(p) for p in servers],
            [machine_busy_seconds()])
    samples = []
    for p, recv in workers:
        samples += recv.recv()
        p.join()
    by_kind: dict[str, list[float]] = {}
    for kind, seconds, _ in samples:
        by_kind.setdefault(kind, []).append(seconds)
    everything = [s for _, s, _ in samples]
    used = [sum(after) - sum(before) for before, after in zip(cpu0, cpu1)]
    return {"requests": len(samples), "errors": sum(not ok for _, _, ok in samples),
            "rps": len(samples) / job["seconds"], "ms": percentiles(everything),
            "ms_by_kind": {k: percentiles(v) for k, v in by_kind.items()},
            "generator_cpu_s": used[0], "server_cpu_s": used[1],
            "other_cpu_s": max(0.0, used[2] - used[0] - used[1]), "seconds": job["seconds"]}


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49] * 1000, "p95": q[94] * 1000, "p99": q[98] * 1000}


# -- the run --------------------------------------------------------------------------------------

def measure(label: str, port: int, pid: int, args, token: str, work: dict, modes) -> list[dict]:
    rows = []
    base = {"port": port, "token": token, "work": work, "generator": args.generator}
    # Warm-up, not measured: the first requests import the routes' modules and fill SQLite's cache.
    run_phase({**base, "target": "series", "think": 0, "seconds": 2}, args.clients, args.procs, pid)
    for mode, think in modes:
        for target in ("healthz", "series"):
            r = run_phase({**base, "target": target, "think": think, "seconds": args.seconds},
                          args.clients, args.procs, pid)
            rows.append({"server": label, "mode": mode, "target": target, "think_s": think, **r})
            print(f"  {label}, {mode}, {target}: {r['requests']} requests, p95 {r['ms']['p95']:.1f} ms", flush=True)
    return rows


def print_table(rows: list[dict], args) -> None:
    head = (f"{'server':14s} {'mode':16s} {'target':8s} {'requests':>8s} {'errors':>6s} {'req/s':>6s}"
            f" {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} {'server CPU':>10s} {'gen CPU':>8s} {'other CPU':>9s}"
            f" {'srv ms/req':>10s} {'gen ms/req':>10s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        n, secs = max(r["requests"], 1), r["seconds"]
        print(f"{r['server']:14s} {r['mode']:16s} {r['target']:8s} {r['requests']:8d} {r['errors']:6d}"
              f" {r['rps']:6.0f} {r['ms']['p50']:7.1f} {r['ms']['p95']:7.1f} {r['ms']['p99']:7.1f}"
              f" {r['server_cpu_s'] / secs:10.0%} {r['generator_cpu_s'] / secs:8.0%} {r['other_cpu_s'] / secs:9.0%}"
              f" {1000 * r['server_cpu_s'] / n:10.2f} {1000 * r['generator_cpu_s'] / n:10.2f}")
        if r["target"] == "series":
            h = next(x for x in rows if x["server"] == r["server"] and x["mode"] == r["mode"]
                     and x["target"] == "healthz")
            ratio = {p: r["ms"][p] / h["ms"][p] for p in ("p50", "p95", "p99")}
            kinds = ", ".join(f"{k} p95 {v['p95']:.1f}" for k, v in sorted(r["ms_by_kind"].items()))
            print(f"{'':14s} {'':16s} series / healthz: p50 {ratio['p50']:.1f}x, p95 {ratio['p95']:.1f}x,"
                  f" p99 {ratio['p99']:.1f}x   ({kinds})")
    users = [r for r in rows if r["mode"] == "users" and r["target"] == "series" and r["server"] == "serve"]
    for r in users:
        print(f"target p95 < 25 ms at {args.clients} users: {'met' if r['ms']['p95'] < 25 else 'MISSED'}"
              f" ({r['ms']['p95']:.1f} ms)")
    print(f"CPU: share of one core over the measured window ({os.cpu_count()} cores = {os.cpu_count()}00 %);"
          " other = every other process on the machine; ms/req: CPU per request of the server and of the generator.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--seconds", type=float, default=30, help="seconds per measured run (default 30)")
    ap.add_argument("--quick", action="store_true", help="5 seconds per run: a smoke test")
    ap.add_argument("--think", type=float, default=1.0, help="users mode: seconds between requests, +-50%%")
    ap.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
    ap.add_argument("--generator", choices=sorted(GENERATORS), default="http.client")
    ap.add_argument("--modes", default="users,closed", help="users, closed or both (default)")
    ap.add_argument("--workers-row", type=int, default=0, metavar="N",
                    help="also measure uvicorn --workers N (closed loop) on the same app")
    ap.add_argument("--demo", type=Path, help="demo folder to reuse (or build into); default: a temporary one")
    ap.add_argument("--days", type=int, default=730, help="days of demo history when building it")
    ap.add_argument("--port", type=int, default=0, help="port to serve on (default: a free one)")
    ap.add_argument("--json", type=Path, default=BENCH / "out" / "api.json")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 5.0
    args.port = args.port or free_port()
    modes = [(m, args.think if m == "users" else 0.0) for m in args.modes.split(",")]

    config, temp = demo_store(args.demo, args.days)
    token_id, token = viewer_token(config)
    load = [os.getloadavg()[0]]
    rows: list[dict] = []
    try:
        serve = [*DAYPULSE, "serve", "--no-scheduler", "--port", str(args.port), "--config", str(config)]
        with server(serve, config.parent, args.port) as proc:
            work = workload(args.port, token)
            print(f"{len(work['metrics'])} metrics with a tenant breakdown, {len(work['tenants'])} tenants,"
                  f" last day {work['last']}; {args.clients} clients from {args.procs} {args.generator}"
                  f" processes, {args.seconds:.0f} s per run", flush=True)
            rows += measure("serve", args.port, proc.pid, args, token, work, modes)
        if args.workers_row:
            label = f"{args.workers_row} workers"
            factory = [sys.executable, "-m", "uvicorn", "--factory", "api_app:create", "--app-dir", str(BENCH),
                       "--workers", str(args.workers_row), "--port", str(args.port), "--log-level", "warning"]
            os.environ["DAYPULSE_CONFIG"] = str(config.resolve())
            with server(factory, config.parent, args.port) as proc:
                rows += measure(label, args.port, proc.pid, args, token, work, [("closed", 0.0)])
    finally:
        subprocess.run([*DAYPULSE, "tokens", "revoke", str(token_id), "--config", str(config)], capture_output=True)
        if temp:
            shutil.rmtree(temp, ignore_errors=True)
    load.append(os.getloadavg()[0])

    print(f"\nseries endpoint vs /healthz, SQLite demo store, {args.clients} clients, {args.seconds:.0f} s per run,"
          f" {os.cpu_count()} cores shared by server and generator, load average {load[0]:.1f} -> {load[1]:.1f}")
    print_table(rows, args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"clients": args.clients, "seconds": args.seconds, "think": args.think,
                                     "procs": args.procs, "generator": args.generator, "cores": os.cpu_count(),
                                     "load": load, "rows": rows}, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
