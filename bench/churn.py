#!/usr/bin/env python3
"""Churn benchmark: 100k customers scored on every day of 90 in one batch, on DuckDB, against a
hand-written SQL of the same signals in the same run.

One run generates (or reuses) the data, then measures, each in a fresh child process (so each
peak memory is its own):

  daypulse   ``score_range(project, first, last)``: the scored population and one query per
             signal source (activity, logins, progress, frustration, payment, trial) for all
             customers and days, merged, then the vectorised scoring (risks, rescaled weights,
             points, score, level). Timed as signals alone and signals + scores.
  sql        one DuckDB statement a person would write for the same signals: local days with
             ``AT TIME ZONE``, a dense (customer, day) grid with ROWS window sums, interval joins
             against a day table for payment issues and trials.

Both outputs are compared row by row (every signal of every scored customer-day); a mismatch
stops the run. Peak memory is the child's ``ru_maxrss`` (DuckDB's memory included) and, for
daypulse, tracemalloc's peak of the Python heap in a second, separate run.

    .venv/bin/python bench/churn.py                         # 100k customers x 90 days
    .venv/bin/python bench/churn.py --customers 20000       # a quick run
    .venv/bin/python bench/churn.py --help

Data (fixed seed): customers starting over the 400 days before the range (10 % with an older,
closed subscription, 10 % canceling), 20 % with a 14-day trial (half convert), activity on 5-60 %
of days (15 % going quiet), 1-4 events per active day (login 40 %, capture 30 %, upload 10 %),
frustration scores on 2 % of active days, a past-due stretch for 8 % of paying customers. Local
days in America/New_York (``--tz``): the range holds the 2026-03-08 change to EDT.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SIGNAL_COLUMNS = ["inactivity", "active_last", "active_base", "logins_last", "logins_prev", "progress_last",
                  "progress_prev", "frustration", "payment_issue", "trial_expiring"]


@dataclass(frozen=True)
class Params:
    customers: int = 100_000
    days: int = 90
    history: int = 120  # days of events before the range (the look-back is 34 of them)
    first: str = "2026-01-01"
    tz: str = "America/New_York"
    tenants: int = 50
    seed: int = 17

    @property
    def key(self) -> str:
        return f"{self.customers}_{self.days}_{self.history}_{self.first}_{self.tenants}_{self.seed}"

    @property
    def range(self) -> tuple[date, date]:
        first = date.fromisoformat(self.first)
        return first, first + timedelta(days=self.days - 1)


# -- data -------------------------------------------------------------------------------------

def generate(p: Params, path: Path) -> dict:
    """Write the source tables (naive UTC timestamps, whole seconds) to a DuckDB file."""
    import duckdb
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(p.seed)
    n = p.customers
    first, _ = p.range
    d0 = (first - date(1970, 1, 1)).days
    d1 = d0 + p.days - 1
    sec = np.int64(86400)

    def ts(epoch):  # seconds -> naive datetime64[s] (NaT where < 0)
        e = np.asarray(epoch, dtype="int64")
        out = e.astype("datetime64[s]")
        out[e < 0] = np.datetime64("NaT")
        return out

    ids = np.arange(1, n + 1, dtype="int64")
    tenant = np.array([f"t{i:02d}" for i in range(p.tenants)])[np.minimum(
        rng.zipf(1.6, n) - 1, p.tenants - 1)]
    start = rng.integers(d0 - 400, d1, n) * sec + rng.integers(0, 86400, n)
    cancel = np.where(rng.random(n) < 0.10, start + rng.integers(1, 200, n) * sec + rng.integers(0, 86400, n), -1)
    trial = rng.random(n) < 0.20
    trial_end = np.where(trial, start + 14 * sec, -1)
    converts = trial & (rng.random(n) < 0.5)
    prior = rng.random(n) < 0.10
    prior_start = start - rng.integers(120, 400, n) * sec
    prior_end = start - rng.integers(1, 100, n) * sec
    subs = pd.DataFrame({
        "user_id": np.concatenate([ids, ids[prior]]),
        "tenant": np.concatenate([tenant, tenant[prior]]),
        "started_at": ts(np.concatenate([start, prior_start[prior]])),
        "canceled_at": ts(np.concatenate([cancel, prior_end[prior]])),
        "trial_ends_at": ts(np.concatenate([trial_end, np.full(prior.sum(), -1)])),
    })

    # periods: trialing [start, trial end) then active if it converts; else active, with a
    # past-due (1 in 8 of those: unpaid) stretch for 8 %.
    paying = ~trial
    late = paying & (rng.random(n) < 0.08)
    pd_start = np.maximum(start, (d0 - 10) * sec) + rng.integers(0, p.days + 10, n) * sec
    pd_end = pd_start + rng.integers(2, 16, n) * sec
    late &= (cancel < 0) | (pd_end < cancel)
    rows = [
        (ids[trial], "trialing", start[trial], trial_end[trial]),
        (ids[converts], "active", trial_end[converts], cancel[converts]),
        (ids[paying & ~late], "active", start[paying & ~late], cancel[paying & ~late]),
        (ids[late], "active", start[late], pd_start[late]),
        (ids[late], np.where(rng.random(late.sum()) < 0.125, "unpaid", "past_due"), pd_start[late], pd_end[late]),
        (ids[late], "active", pd_end[late], cancel[late]),
    ]
    periods = pd.DataFrame({
        "user_id": np.concatenate([r[0] for r in rows]),
        "status": np.concatenate([np.broadcast_to(np.asarray(r[1]), r[0].shape) for r in rows]),
        "valid_from": ts(np.concatenate([r[2] for r in rows])),
        "valid_to": ts(np.concatenate([r[3] for r in rows])),
    })

    # events, in chunks of customers: active (customer, day) cells, 1-4 events each
    con = duckdb.connect(str(path))
    con.execute("create table events(user_id bigint, kind varchar, occurred_at timestamp)")
    con.execute("create table feedback(user_id bigint, given_at timestamp, score double)")
    rate = rng.uniform(0.05, 0.60, n)
    quiet = np.where(rng.random(n) < 0.15, rng.integers(d0 - 20, d1, n), d1 + 1)
    start_day, cancel_day = start // sec, np.where(cancel < 0, d1 + 1, cancel // sec)
    day_axis = np.arange(d0 - p.history, d1 + 1)
    kinds = np.array(["login", "capture", "upload", "view"])
    n_events = n_feedback = 0
    for lo in range(0, n, 10_000):
        hi = min(lo + 10_000, n)
        r = rng.random((hi - lo, len(day_axis)))
        on = ((r < rate[lo:hi, None]) & (day_axis >= start_day[lo:hi, None])
              & (day_axis < np.minimum(quiet, cancel_day)[lo:hi, None]))
        who, when = np.nonzero(on)
        per = 1 + rng.poisson(1.0, len(who)).clip(0, 3)
        ev_who = np.repeat(who, per) + lo
        ev_day = np.repeat(day_axis[when], per)
        at = ev_day * sec + rng.integers(0, 86400, len(ev_day))
        ev = pd.DataFrame({"user_id": ids[ev_who], "kind": kinds[rng.choice(4, len(ev_day), p=[.4, .3, .1, .2])],
                           "occurred_at": ts(at)}).sort_values("occurred_at")
        con.execute("insert into events select * from ev")
        pick = rng.random(len(who)) < 0.02
        fb = pd.DataFrame({"user_id": ids[who[pick] + lo],
                           "given_at": ts(day_axis[when[pick]] * sec + rng.integers(0, 86400, pick.sum())),
                           "score": np.where(rng.random(pick.sum()) < 0.01, np.nan,
                                             np.round(rng.beta(2, 3, pick.sum()) * 100, 1))})
        con.execute("insert into feedback select * from fb")
        n_events += len(ev)
        n_feedback += len(fb)
    con.execute("create table subscriptions as select * from subs")
    con.execute("create table periods as select * from periods")
    con.execute("checkpoint")
    con.close()
    return {"subscriptions": len(subs), "periods": len(periods), "events": n_events, "feedback": n_feedback}


def ensure_data(p: Params, regenerate: bool) -> tuple[Path, dict]:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"churn_{p.key}.duckdb"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists() and not regenerate:
        return path, json.loads(meta.read_text())
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # its memory is not the benchmark's
        counts = pool.apply(generate, (p, path))
    counts["generated_in_s"] = round(time.perf_counter() - t0, 1)
    meta.write_text(json.dumps(counts))
    return path, counts


# -- the two contenders -----------------------------------------------------------------------

def project_for(p: Params, path: Path):
    from daypulse.project import project_from_dict

    return project_from_dict({
        "source": f"duckdb:///{path}", "store": "sqlite:///:memory:", "timezone": p.tz,
        "metrics": {"active_subscribers": {
            "kind": "state", "table": "subscriptions", "start": "started_at", "end": "canceled_at",
            "measure": "count_distinct", "column": "user_id", "dimensions": {"tenant": "tenant"}}},
        "churn": {
            "activity": {"table": "events", "time": "occurred_at"},
            "logins": {"table": "events", "time": "occurred_at", "where": {"kind": "login"}},
            "progress": {"table": "events", "time": "occurred_at", "where": {"kind": ["capture", "upload"]}},
            "frustration": {"table": "feedback", "time": "given_at", "score": "score"},
            "payment": {"table": "periods", "start": "valid_from", "end": "valid_to"},
            "trial": {"table": "subscriptions", "end": "trial_ends_at",
                      "paid": {"table": "periods", "start": "valid_from", "end": "valid_to",
                               "where": {"status": "active"}}},
        }})


def run_daypulse(p: Params, path: Path, out: Path, trace: bool) -> dict:
    import tracemalloc

    from daypulse.churn.config import churn_config
    from daypulse.churn.score import score
    from daypulse.churn.signals import compute_signals

    project = project_for(p, path)
    cfg = churn_config(project)
    first, last = p.range
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    signals = compute_signals(project, cfg, first, last)
    t1 = time.perf_counter()
    scored = score(signals, cfg.weights_in_use())
    t2 = time.perf_counter()
    result = {"signals_s": t1 - t0, "total_s": t2 - t0, "rows": len(scored),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "rss_after_imports_mb": base_rss / 1024,
              "levels": scored["level"].value_counts().to_dict()}
    if trace:
        result["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        signals.to_parquet(out)
    return result


def hand_sql(p: Params) -> str:
    first, last = p.range
    tz = p.tz.replace("'", "''")

    def local(col: str) -> str:
        return f"(({col} AT TIME ZONE 'UTC') AT TIME ZONE '{tz}')"

    return f"""
WITH
ev AS (SELECT CAST(user_id AS VARCHAR) AS entity, CAST({local('occurred_at')} AS DATE) AS day, kind FROM events),
daily AS (
  SELECT entity, day, count(*) FILTER (WHERE kind = 'login') AS logins,
         count(*) FILTER (WHERE kind IN ('capture', 'upload')) AS progress
  FROM ev WHERE day BETWEEN DATE '{first}' - 34 AND DATE '{last}' GROUP BY ALL),
earlier AS (SELECT entity, max(day) AS last_day FROM ev WHERE day < DATE '{first}' - 34 GROUP BY ALL),
subs AS (
  SELECT CAST(user_id AS VARCHAR) AS entity, tenant, {local('started_at')} AS s, {local('canceled_at')} AS c,
         {local('trial_ends_at')} AS te
  FROM subscriptions WHERE started_at IS NOT NULL),
days AS (SELECT CAST(d AS DATE) AS day FROM range(DATE '{first}', DATE '{last}' + 1, INTERVAL 1 DAY) t(d)),
pop AS (
  SELECT s.entity, d.day, min(s.tenant) AS tenant FROM subs s
  JOIN days d ON s.s < d.day + 1 AND (s.c IS NULL OR s.c >= d.day + 1) GROUP BY ALL),
firsts AS (SELECT entity, CAST(min(s) AS DATE) AS first_day FROM subs GROUP BY ALL),
grid AS (
  SELECT e.entity, g.day FROM (SELECT DISTINCT entity FROM pop) e
  CROSS JOIN (SELECT CAST(d AS DATE) AS day
              FROM range(DATE '{first}' - 34, DATE '{last}' + 1, INTERVAL 1 DAY) t(d)) g),
dense AS (
  SELECT grid.entity, grid.day, coalesce(a.logins, 0) AS logins, coalesce(a.progress, 0) AS progress,
         CASE WHEN a.entity IS NULL THEN 0 ELSE 1 END AS active,
         CASE WHEN a.entity IS NULL THEN NULL ELSE grid.day END AS act_day
  FROM grid LEFT JOIN daily a ON a.entity = grid.entity AND a.day = grid.day),
w AS (
  SELECT entity, day,
         sum(active) OVER w7 AS active_last, sum(active) OVER w35 - sum(active) OVER w7 AS active_base,
         sum(logins) OVER w7 AS logins_last, sum(logins) OVER w14 - sum(logins) OVER w7 AS logins_prev,
         sum(progress) OVER w7 AS progress_last, sum(progress) OVER w14 - sum(progress) OVER w7 AS progress_prev,
         max(act_day) OVER (PARTITION BY entity ORDER BY day ROWS UNBOUNDED PRECEDING) AS last_act
  FROM dense
  WINDOW w7 AS (PARTITION BY entity ORDER BY day ROWS 6 PRECEDING),
         w14 AS (PARTITION BY entity ORDER BY day ROWS 13 PRECEDING),
         w35 AS (PARTITION BY entity ORDER BY day ROWS 34 PRECEDING)),
fd AS (
  SELECT CAST(user_id AS VARCHAR) AS entity, CAST({local('given_at')} AS DATE) AS day,
         sum(score) AS s, count(score) AS c
  FROM feedback GROUP BY ALL),
fw AS (
  SELECT p.entity, p.day, sum(f.s) / nullif(sum(f.c), 0) AS frustration
  FROM pop p JOIN fd f ON f.entity = p.entity AND f.day BETWEEN p.day - 6 AND p.day GROUP BY ALL),
per AS (
  SELECT CAST(user_id AS VARCHAR) AS entity, status, {local('valid_from')} AS f, {local('valid_to')} AS t
  FROM periods WHERE valid_from IS NOT NULL),
pay AS (
  SELECT DISTINCT p.entity, d.day FROM per p
  JOIN days d ON p.f < d.day + 1 AND (p.t IS NULL OR p.t >= d.day + 1)
  WHERE p.status IN ('past_due', 'unpaid')),
paid AS (
  SELECT DISTINCT p.entity, d.day FROM per p
  JOIN days d ON p.f < d.day + 1 AND (p.t IS NULL OR p.t >= d.day + 1) WHERE p.status = 'active'),
soon AS (SELECT DISTINCT s.entity, d.day FROM subs s JOIN days d ON s.te > d.day + 1 AND s.te <= d.day + 4),
trial AS (SELECT entity, day FROM soon EXCEPT SELECT entity, day FROM paid)
SELECT p.entity, p.day, p.tenant AS d_tenant,
       CAST(p.day - coalesce(w.last_act, e.last_day, f.first_day) AS BIGINT) AS inactivity,
       w.active_last, w.active_base, w.logins_last, w.logins_prev, w.progress_last, w.progress_prev,
       fw.frustration, pay.entity IS NOT NULL AS payment_issue, trial.entity IS NOT NULL AS trial_expiring
FROM pop p
JOIN w ON w.entity = p.entity AND w.day = p.day
JOIN firsts f ON f.entity = p.entity
LEFT JOIN earlier e ON e.entity = p.entity
LEFT JOIN fw ON fw.entity = p.entity AND fw.day = p.day
LEFT JOIN pay ON pay.entity = p.entity AND pay.day = p.day
LEFT JOIN trial ON trial.entity = p.entity AND trial.day = p.day
"""


def run_sql(p: Params, path: Path, out: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    table = con.sql(hand_sql(p)).to_arrow_table()
    seconds = time.perf_counter() - t0
    result = {"total_s": seconds, "rows": table.num_rows,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "rss_after_imports_mb": base_rss / 1024}
    import pyarrow.parquet as pq

    pq.write_table(table, out)
    return result


def in_child(fn, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def compare(ours: Path, theirs: Path) -> None:
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(ours)
    b = pd.read_parquet(theirs)
    b["day"] = pd.to_datetime(b["day"])
    a = a.sort_values(["day", "entity"], ignore_index=True)
    b = b.sort_values(["day", "entity"], ignore_index=True)
    if len(a) != len(b) or not (a["entity"].astype(str).to_numpy() == b["entity"].astype(str).to_numpy()).all():
        sys.exit(f"MISMATCH: scored customer-days differ ({len(a)} vs {len(b)})")
    if not (a["day"].to_numpy() == b["day"].to_numpy()).all() or not (a["d_tenant"] == b["d_tenant"]).all():
        sys.exit("MISMATCH: days or tenants differ")
    for c in SIGNAL_COLUMNS:
        x, y = a[c].to_numpy(dtype="float64", na_value=np.nan), b[c].to_numpy(dtype="float64", na_value=np.nan)
        same = np.isclose(x, y, rtol=1e-12, atol=1e-9) | (np.isnan(x) & np.isnan(y))
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            sys.exit(f"MISMATCH in {c}: {a.iloc[i].to_dict()} vs {b.iloc[i].to_dict()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=Params.customers)
    ap.add_argument("--days", type=int, default=Params.days)
    ap.add_argument("--history", type=int, default=Params.history)
    ap.add_argument("--first", default=Params.first)
    ap.add_argument("--tz", default=Params.tz)
    ap.add_argument("--seed", type=int, default=Params.seed)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each (the best is reported)")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--json", type=Path, default=OUT / "churn.json")
    args = ap.parse_args()
    p = Params(args.customers, args.days, args.history, args.first, args.tz, seed=args.seed)
    path, counts = ensure_data(p, args.regenerate)
    print(f"data: {path.name}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()), flush=True)
    ours, theirs = OUT / "churn_daypulse.parquet", OUT / "churn_sql.parquet"
    runs = {"daypulse": [], "sql": []}
    for i in range(args.repeat):
        runs["daypulse"].append(in_child(run_daypulse, p, path, ours, False))
        runs["sql"].append(in_child(run_sql, p, path, theirs))
        print(f"run {i + 1}: daypulse {runs['daypulse'][-1]['total_s']:.2f}s"
              f" (signals {runs['daypulse'][-1]['signals_s']:.2f}s), sql {runs['sql'][-1]['total_s']:.2f}s",
              flush=True)
    compare(ours, theirs)
    traced = in_child(run_daypulse, p, path, ours, True)
    best = {k: min(v, key=lambda r: r["total_s"]) for k, v in runs.items()}
    d, s = best["daypulse"], best["sql"]
    print(f"\n{p.customers:,} customers x {p.days} days ({p.tz}), {d['rows']:,} scored customer-days;"
          " every signal equal to the hand-written SQL's")
    print(f"{'':24}{'time':>10}{'peak RSS':>12}{'RSS after imports':>20}")
    print(f"{'daypulse signals':24}{d['signals_s']:>9.2f}s")
    for label, r in (("daypulse signals+score", d), ("hand-written SQL", s)):
        print(f"{label:24}{r['total_s']:>9.2f}s{r['peak_rss_mb']:>10.0f}MB{r['rss_after_imports_mb']:>18.0f}MB")
    ratio, signals_ratio = d["total_s"] / s["total_s"], d["signals_s"] / s["total_s"]
    print(f"ratio daypulse / SQL: {ratio:.2f} (signals alone {signals_ratio:.2f})")
    print(f"daypulse Python-heap peak (tracemalloc, separate run): {traced['tracemalloc_peak_mb']:.0f} MB")
    print("levels: " + ", ".join(f"{k} {v:,}" for k, v in sorted(d["levels"].items())))
    args.json.parent.mkdir(exist_ok=True)
    args.json.write_text(json.dumps({"params": asdict(p), "data": counts, "runs": runs, "traced": traced,
                                     "ratio": d["total_s"] / s["total_s"]}, indent=2, default=str))


if __name__ == "__main__":
    main()
