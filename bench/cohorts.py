#!/usr/bin/env python3
"""Cohort benchmark: user retention of 24 monthly and 104 weekly signup cohorts over a generated
company (default 200k users, 10M events over two years), on DuckDB, against a hand-written SQL
of the same grid in the same run.

  daypulse   ``compute_cohorts(project, by, "users", last, cohorts=N)``: one query per grid (the
             customers' signup days, joined with their distinct active local days, grouped by
             signup day and week), then the triangle.
  sql        one DuckDB statement a person would write: local days with ``timezone()``, the
             same join, ``count(DISTINCT ...)`` per (cohort, week).

Every cell daypulse reports is compared with the hand-written one; a mismatch stops the run.
Times are the median of ``--repeat`` runs, each ratio in the same run.

    .venv/bin/python bench/cohorts.py                    # 200k users, 10M events
    .venv/bin/python bench/cohorts.py --users 20000 --events 1000000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from daypulse.cohorts.compute import compute_cohorts  # noqa: E402
from daypulse.project import project_from_dict  # noqa: E402

LAST = date(2026, 11, 30)
TZ = "America/New_York"


def generate(path: Path, users: int, events: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("SELECT setseed(0.42)")
    per_user = max(1, events // users)
    con.execute(f"""
        CREATE TABLE users AS
        SELECT i AS id, TIMESTAMP '2024-12-01 00:00:00' + to_seconds(CAST(random() * 730 * 86400 AS BIGINT))
                 AS created_at, random() < 0.01 AS is_test, 'acme' AS tenant
        FROM range({users}) t(i)""")
    # Each user's events spread over the 200 days after its signup, thinning out (retention).
    con.execute(f"""
        CREATE TABLE events AS
        SELECT u.id AS user_id,
               u.created_at + to_seconds(CAST(pow(random(), 2.5) * 200 * 86400 AS BIGINT)) AS occurred_at
        FROM users u, range({per_user}) r(j)""")
    con.close()


def hand_written(con, by: str, first: date, last: date) -> dict[tuple[str, int], int]:
    unit = "month" if by == "month" else "week"
    sql = f"""
        WITH s AS (
            SELECT CAST(id AS VARCHAR) AS e,
                   MIN(CAST(timezone('{TZ}', created_at AT TIME ZONE 'UTC') AS DATE)) AS s
            FROM users WHERE NOT is_test GROUP BY 1),
        c AS (SELECT e, s, CAST(date_trunc('{unit}', s) AS DATE) AS cohort FROM s
              WHERE s >= DATE '{first}' AND s <= DATE '{last}'),
        a AS (SELECT DISTINCT CAST(user_id AS VARCHAR) AS e,
                     CAST(timezone('{TZ}', occurred_at AT TIME ZONE 'UTC') AS DATE) AS d
              FROM events
              WHERE occurred_at >= TIMESTAMP '{first}' AND occurred_at < TIMESTAMP '{last}' + INTERVAL 2 DAY)
        SELECT CAST(c.cohort AS VARCHAR), (a.d - c.s) // 7 AS k, count(DISTINCT c.e)
        FROM c JOIN a ON a.e = c.e AND a.d >= c.s + 7 AND a.d <= DATE '{last}'
        GROUP BY 1, 2"""
    return {(c, int(k)): n for c, k, n in con.execute(sql).fetchall()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="where the data is kept (default: a temp folder)")
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="daypulse-cohorts-"))
    db = folder / f"cohorts-{args.users}-{args.events}.duckdb"
    if not db.exists():
        t = time.perf_counter()
        generate(db, args.users, args.events)
        print(f"generated {db} in {time.perf_counter() - t:.1f}s")
    project = project_from_dict({
        "source": f"duckdb:///{db}", "store": "sqlite://", "timezone": TZ, "week_start": "monday",
        "metrics": {"signups": {"table": "users", "time": "created_at", "where": {"is_test": False}},
                    "dau": {"table": "events", "time": "occurred_at", "measure": "count_distinct",
                            "column": "user_id"}}})
    con = duckdb.connect(str(db), read_only=True)
    n_events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"{args.users:,} users, {n_events:,} events; local days in {TZ}; complete to {LAST}")
    for by, cohorts in (("month", 24), ("week", 104)):
        ours, theirs, cells = [], [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            cells = compute_cohorts(project, by, "users", LAST, cohorts=cohorts)
            ours.append(time.perf_counter() - t)
            first = min(c.cohort for c in cells)
            t = time.perf_counter()
            want = hand_written(con, by, first, LAST)
            theirs.append(time.perf_counter() - t)
        bad = [c for c in cells if c.period and c.retained != want.get((c.cohort.isoformat(), c.period), 0)]
        if bad:
            raise SystemExit(f"mismatch at {bad[0]}: sql says {want.get((bad[0].cohort.isoformat(), bad[0].period))}")
        a, b = statistics.median(ours), statistics.median(theirs)
        print(f"{by:5} x {cohorts:3}: {len(cells):6,} cells equal; daypulse {a:6.2f}s, hand-written SQL {b:6.2f}s,"
              f" ratio {a / b:4.2f}")


if __name__ == "__main__":
    main()
