"""Chaos: two schedulers on one PostgreSQL store, 200 subscriptions in 5 zones, 30 simulated days
across two DST changes, a flaky webhook receiver, and SIGKILLs in the middle of passes.

Expected deliveries are computed here, independently of daypulse (zoneinfo and a minute-by-
minute search for wall times in DST gaps), and compared with the ledger and with what the
receiver accepted: every (subscription, period) exactly once in the ledger, none missing, none
extra. A receiver can still see one period twice when a sender is killed after the receiver
accepted it and before the ledger recorded it; Standard Webhooks receivers deduplicate on the
constant ``webhook-id``, and the test bounds these repeats by the number of kills.
"""

from __future__ import annotations

import base64
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from channelkit import verify
from storekit import postgres_store

SECRET = "whsec_" + base64.b64encode(b"c" * 32).decode()
ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo"]
# 01:30 happens twice in London on 25 October; 02:30 does not exist in Sydney on 4 October.
TIMES = ["00:01", "01:30", "02:30", "06:00", "09:15", "23:59"]
START = datetime(2026, 9, 30, tzinfo=UTC)
DAYS = 30
TICK = timedelta(hours=3)
DRAIN = timedelta(hours=12)  # after the 30 days: the receiver behaves, the retries finish
KILLS = 10
WORKER = Path(__file__).with_name("chaos_worker.py")


# -- the flaky receiver ---------------------------------------------------------------------------

class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, seed: int):
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.accepted: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.flaky = True
        self.bad_signatures = 0


class _SinkHandler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        pass

    def do_POST(self):
        sink: Sink = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with sink.lock:
            roll = sink.rng.random() if sink.flaky else 1.0
        if verify(SECRET, headers, body) is not None:
            with sink.lock:
                sink.bad_signatures += 1
            return self._reply(401)
        if roll < 0.01:  # a timeout: the sender gives up first; never accepted
            sink.answers["timeout"] += 1
            time.sleep(0.5)
            return self._reply(503)
        if roll < 0.09:
            sink.answers["429"] += 1
            return self._reply(429, {"Retry-After": "120"})
        if roll < 0.19:
            sink.answers["500"] += 1
            return self._reply(500)
        with sink.lock:
            sink.accepted[headers["webhook-id"]] += 1
            sink.answers["204"] += 1
        self._reply(204)

    def _reply(self, status: int, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
        except OSError:  # the sender timed out and left
            pass


# -- the project ----------------------------------------------------------------------------------

def subscriptions(url: str) -> list[dict]:
    out = []
    for i in range(200):
        zone = ZONES[i % 5]
        if i % 5 == 4 and i % 10 == 9:  # 20 weekly subscriptions
            out.append({"name": f"s{i:03d}", "report": "pulse-week", "schedule": "weekly on mon at 09:00",
                        "timezone": zone, "channel": "sink"})
        else:
            out.append({"name": f"s{i:03d}", "report": "pulse", "schedule": f"daily at {TIMES[(i // 5) % 6]}",
                        "timezone": zone, "channel": "sink"})
    return out


def make_project(folder: Path, store: str, url: str) -> None:
    db = folder / "app.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("create table events(id integer, user_id integer, tenant text, occurred_at timestamp,"
                    " amount_cents integer)")
        rows, d = [], START.date() - timedelta(days=40)
        while d <= START.date() + timedelta(days=DAYS + 2):
            for k in range(d.day % 4 + 1):
                rows.append((len(rows), k, "acme", f"{d} {k + 8:02d}:00:00", 100 * k))
            d += timedelta(days=1)
        con.executemany("insert into events values (?,?,?,?,?)", rows)
    data = {
        "name": "chaos", "timezone": "Asia/Kolkata", "source": f"sqlite:///{db}", "store": store,
        "metrics": {"events": {"table": "events", "time": "occurred_at", "format": "integer"},
                    "revenue": {"table": "events", "time": "occurred_at", "measure": "sum",
                                "column": "amount_cents", "format": "currency"}},
        "reports": {"pulse": {"title": "Pulse", "period": "day", "spark": 3, "changes": {"anomalies": False},
                              "sections": [{"title": "Usage", "metrics": ["events", "revenue"]}]},
                    "pulse-week": {"title": "Weekly", "period": "week", "spark": 3, "changes": {"anomalies": False},
                                   "sections": [{"title": "Usage", "metrics": ["events"]}]}},
        "channels": {"sink": {"kind": "webhook", "secret_env": "CHAOS_SECRET", "allow_private": True,
                              "url": f"{url}/in", "timeout": 0.3}},
        "delivery": {"max_attempts": 12, "lease": "10m"},
        "subscriptions": subscriptions(url),
    }
    (folder / "daypulse.yml").write_text(yaml.safe_dump(data, sort_keys=False))


# -- the independent reference ------------------------------------------------------------------

def fire_instant(d: date, hhmm: str, zone: str) -> datetime:
    """When wall time ``hhmm`` on local date ``d`` first shows on the zone's clocks: its first
    occurrence, or (in a gap) the first minute the clocks read later than it. Candidates are the
    wall time read with each offset the zone has around that day; a gap is searched minute by
    minute between them."""
    tz = ZoneInfo(zone)
    wall = datetime.combine(d, datetime.strptime(hhmm, "%H:%M").time())
    offsets = {datetime.combine(d + timedelta(days=k), datetime.min.time()).replace(tzinfo=tz).utcoffset()
               for k in (-1, 0, 1, 2)}
    valid = [c for c in ((wall - off).replace(tzinfo=UTC) for off in offsets)
             if c.astimezone(tz).replace(tzinfo=None) == wall]
    if valid:
        return min(valid)
    t = (wall - max(offsets)).replace(tzinfo=UTC)
    while t.astimezone(tz).replace(tzinfo=None) < wall:
        t += timedelta(minutes=1)
    return t


def expected(subs: list[dict], until: datetime) -> set[tuple[str, date]]:
    want = set()
    for s in subs:
        tz = ZoneInfo(s["timezone"])
        weekly = s["report"] == "pulse-week"
        hhmm = s["schedule"].rsplit(" ", 1)[1]
        fires = []
        d = (START - timedelta(days=2)).astimezone(tz).date()
        while d <= until.astimezone(tz).date() + timedelta(days=1):
            if not weekly or d.weekday() == 0:
                at = fire_instant(d, hhmm, s["timezone"])
                if START - timedelta(hours=24) < at <= until:
                    fires.append((at, d))
            d += timedelta(days=1)
        # The first pass (at START, never run before) delivers only the latest fire of the last
        # 24 hours (catch_up: latest); every later fire is seen by a pass.
        before = [f for f in fires if f[0] <= START]
        kept = before[-1:] + [f for f in fires if f[0] > START]
        for _, d in kept:
            if weekly:
                monday = d - timedelta(days=d.weekday())
                want.add((s["name"], monday - timedelta(days=7)))
            else:
                want.add((s["name"], d - timedelta(days=1)))
    return want


# -- the drive ------------------------------------------------------------------------------------

class Worker:
    def __init__(self, folder: Path, env: dict):
        self.log = folder / f"worker-{time.monotonic_ns()}.log"
        self.proc = subprocess.Popen([sys.executable, str(WORKER), str(folder)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log.open("w"), text=True, env=env,
                                     bufsize=1)
        self.ready = False  # a replacement starts while the other worker runs its pass

    def send(self, now: datetime) -> None:
        if not self.ready:
            line = self.proc.stdout.readline().strip()
            assert line == "ready", (line, self.log.read_text()[-3000:])
            self.ready = True
        self.proc.stdin.write(now.isoformat() + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        return self.proc.stdout.readline().strip()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def test_two_schedulers_flaky_receiver_and_kills_deliver_each_period_exactly_once(tmp_path):
    sink = Sink(seed=11)
    threading.Thread(target=sink.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{sink.server_address[1]}"
    rng = random.Random(5)
    ticks = [START + TICK * i for i in range(int((timedelta(days=DAYS) + DRAIN) / TICK) + 1)]
    main_ticks = [t for t in ticks if t <= START + timedelta(days=DAYS)]
    kill_at = set(rng.sample(range(1, len(main_ticks)), KILLS))
    env = {**os.environ, "CHAOS_SECRET": SECRET}
    started = time.perf_counter()
    with postgres_store() as plain_url:
        # The test's server never crashes, only its clients do: commits need not wait for the
        # disk (this halves the run; the ledger's semantics do not depend on it).
        store_url = plain_url + "?options=-c%20synchronous_commit%3Doff"
        make_project(tmp_path, store_url, url)
        workers = [Worker(tmp_path, env), Worker(tmp_path, env)]
        errors, kills, killed_mid_pass = [], 0, 0
        try:
            for i, now in enumerate(ticks):
                sink.flaky = now <= START + timedelta(days=DAYS)
                for w in workers:
                    w.send(now)
                if i in kill_at:
                    victim = rng.randrange(2)
                    time.sleep(rng.uniform(0.005, 0.12))
                    answered = select.select([workers[victim].proc.stdout], [], [], 0)[0]
                    killed_mid_pass += not answered
                    workers[victim].kill()
                    kills += 1
                for n, w in enumerate(workers):
                    if w.proc.poll() is not None:  # killed: its pass ends here; a new process next tick
                        workers[n] = Worker(tmp_path, env)
                        continue
                    line = w.answer()
                    if not line.startswith("done"):
                        errors.append((now, line))
        finally:
            for w in workers:
                w.stop()
        elapsed = time.perf_counter() - started

        from daypulse.delivery import ledger
        from daypulse.store.db import open_store

        store = open_store(store_url)
        rows = ledger.listing(store, limit=100_000)
        stats = ledger.stats(store)
        store.engine.dispose()
    sink.shutdown()

    want = expected(subscriptions(url), ticks[-1])
    got = Counter((r.subscription, r.period_start) for r in rows)
    by_status = Counter(r.status for r in rows)
    accepted_keys = set(sink.accepted)
    want_keys = {f"{name}:{period.isoformat()}" for name, period in want}
    repeats = sum(n - 1 for n in sink.accepted.values())
    figures = {
        "ticks": len(ticks), "kills": kills, "killed_mid_pass": killed_mid_pass, "seconds": round(elapsed, 1),
        "expected_deliveries": len(want), "ledger_rows": len(rows), "by_status": dict(by_status),
        "attempts": sum(r.attempts for r in rows), "receiver_answers": dict(sink.answers),
        "receiver_repeats_after_kills": repeats, "passes": stats["runs"], "pass_errors": len(errors),
    }
    print("\nchaos figures: " + json.dumps(figures))
    (Path(os.environ.get("DAYPULSE_ARTIFACTS", tmp_path)) / "chaos.json").write_text(json.dumps(figures, indent=2))
    assert not errors, errors[:5]
    assert sink.bad_signatures == 0
    # The ledger: exactly the expected periods, each once, each sent.
    assert max(got.values()) == 1
    assert set(got) == want, (sorted(set(got) - want)[:5], sorted(want - set(got))[:5])
    assert by_status == {"sent": len(want)}
    # The receiver: every period arrived, nothing else did; repeats only from kills.
    assert accepted_keys == want_keys
    assert repeats <= kills
    # The flakiness and the kills really happened.
    assert sink.answers["429"] and sink.answers["500"] and sink.answers["timeout"] and kills == KILLS
    assert figures["attempts"] > len(want)
