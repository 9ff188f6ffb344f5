"""Engine benchmark: daypulse against the best hand-written SQL and the seeds' per-day loop.

One run generates (or reuses) the data, then measures on each engine, in the same process:

  (a) backfill   events, captures, DAU, WAU (7-day exact distinct), MAU (28-day exact
                 distinct) for every local day of the history, total and per tenant:
                 daypulse vs the best hand-written SQL (per-day GROUP BY on a computed local
                 day; rolling distincts with the "segments" difference array).
                 Also, on DuckDB, the obvious rolling formulation, for reference.
  (b) seeds      a ``compute_daily_snapshot(day, tenant)`` function called once per day and
                 tenant, one indexed query per metric; timed on a sample of days and
                 extrapolated linearly to the whole history.
  (c) nightly    daypulse computing only the last 1 and 4 days (with WAU/MAU) on the full
                 history and on half of it: the cost follows the days computed, not history.

Every daypulse number is checked against the hand-written SQL; a mismatch stops the run.
Results are printed as a table and written to bench/out/engine.json. See bench/README.md.

    .venv/bin/python bench/engine.py                      # full size: 10M events, 730 days
    .venv/bin/python bench/engine.py --events 1000000     # a quick run
"""

from __future__ import annotations

import abc
import argparse
import json
import multiprocessing
import os
import resource
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "dp_bench"
KINDS = ("capture", "view", "click", "login")
KIND_P = (0.20, 0.45, 0.25, 0.10)
METRICS = ("events", "captures", "dau", "wau", "mau")
DAILY = ("events", "captures", "dau")
ROLLING = ("wau", "mau")
WINDOWS = {"wau": 7, "mau": 28}
TARGETS = {"backfill": 1.5, "seeds": 10.0, "nightly": 1.0, "rss_mb": 2048}


# -- parameters and calendar ------------------------------------------------------------------

@dataclass(frozen=True)
class Params:
    events: int = 10_000_000
    users: int = 1_000_000
    tenants: int = 50
    days: int = 730
    seed: int = 20240101
    first_day: str = "2024-01-01"  # first local (Asia/Kolkata) day of the history
    gen_tz: str = "Asia/Kolkata"   # events are generated on this zone's wall clock
    version: int = 3               # bump when the generator changes

    @property
    def first(self) -> date:
        return date.fromisoformat(self.first_day)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)

    @property
    def half_first(self) -> date:
        """First local day of table events_half: the same recent days, half the history."""
        return self.first + timedelta(days=self.days - self.days // 2)

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@lru_cache(maxsize=4096)
def utc_start(tz: str, d: date) -> datetime:
    """Naive UTC instant at which local day ``d`` begins in zone ``tz`` (midnight exists in
    the zones used here)."""
    local = datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=256)
def offset_segments(tz: str, lo: datetime, hi: datetime) -> tuple[tuple[datetime, int], ...]:
    """(since, offset seconds) steps of the zone's UTC offset over naive-UTC [lo, hi):
    probe every 6 hours, bisect to the minute where the offset changes."""
    zone = ZoneInfo(tz)

    def off(t: datetime) -> int:
        return int(t.replace(tzinfo=UTC).astimezone(zone).utcoffset().total_seconds())

    segs = [(lo, off(lo))]
    t, step = lo, timedelta(hours=6)
    while t < hi:
        nxt = min(t + step, hi)
        if off(nxt) != segs[-1][1]:
            a, b = t, nxt  # off(a) is the current offset, off(b) is not
            while b - a > timedelta(minutes=1):
                mid = max((a + (b - a) / 2).replace(second=0), a + timedelta(minutes=1))
                a, b = (mid, b) if off(mid) == segs[-1][1] else (a, mid)
            segs.append((b, off(b)))
        t = nxt
    return tuple(segs)


# -- data generation (runs in a child process: its memory is not the benchmark's) -------------

def _generate_arrays(p: Params):
    import numpy as np

    rng = np.random.default_rng(p.seed)
    U, T, D = p.users, p.tenants, p.days
    tenant_w = 1.0 / np.arange(1, T + 1) ** 0.7          # a few big tenants, a long tail
    user_tenant = rng.choice(T, size=U, p=tenant_w / tenant_w.sum()).astype(np.int16)
    # 30% of the users signed up in the year before the history; sign-ups then grow
    # linearly. Each user stays active for an exponential lifetime (churn).
    signup = np.where(rng.random(U) < 0.3, -365 * rng.random(U), D * np.sqrt(rng.random(U)))
    signup = signup.astype(np.int32)
    stop = np.minimum(signup + rng.exponential(180.0, U).astype(np.int32) + 1, D)
    begin = np.maximum(signup, 0)
    life = np.maximum(stop - begin, 0)
    weight = rng.lognormal(0.0, 1.0, U) * life            # heavy and light users
    cdf = np.cumsum(weight)
    dow_w = np.array([1.0, 1.0, 0.97, 0.95, 0.9, 0.55, 0.45])  # Monday .. Sunday
    hour_w = np.array([1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 11, 10, 9, 8, 7,
                       6, 4, 3, 2], dtype=float)
    hour_p = hour_w / hour_w.sum()
    first_num = (p.first - date(1970, 1, 1)).days
    first_dow = p.first.weekday()
    offset_us = int(ZoneInfo(p.gen_tz).utcoffset(datetime(2024, 1, 1)).total_seconds()) * 10**6

    users, stamps, kinds = [], [], []
    have, chunk = 0, 1_000_000
    while have < p.events:
        # Active user-days, then 1..n events on each (2.5 on average).
        u = np.searchsorted(cdf, rng.random(chunk) * cdf[-1], side="right").astype(np.int64)
        day = begin[u] + (rng.random(chunk) * life[u]).astype(np.int32)
        keep = rng.random(chunk) < dow_w[(first_dow + day) % 7]   # weekly seasonality
        u, day = u[keep], day[keep]
        k = rng.geometric(0.4, len(u))
        u, day = np.repeat(u, k), np.repeat(day, k)
        n = len(u)
        hour = rng.choice(24, size=n, p=hour_p)
        local_us = ((first_num + day.astype(np.int64)) * 86_400 + hour * 3600
                    + rng.integers(0, 3600, n)) * 10**6 + rng.integers(0, 10**6, n)
        users.append(u + 1)
        stamps.append(local_us - offset_us)
        kinds.append(rng.choice(len(KINDS), size=n, p=KIND_P).astype(np.int8))
        have += n
    user_id = np.concatenate(users)[: p.events]
    ts = np.concatenate(stamps)[: p.events]
    kind = np.concatenate(kinds)[: p.events]
    del users, stamps, kinds
    order = np.argsort(ts, kind="stable")                  # an append-only table: time order
    user_id, ts, kind = user_id[order], ts[order], kind[order]
    tenant = user_tenant[user_id - 1]
    return user_id, tenant, ts, kind


def generate_duckdb(p: Params, path: Path) -> None:
    import duckdb
    import numpy as np
    import pyarrow as pa

    t0 = time.perf_counter()
    user_id, tenant, ts, kind = _generate_arrays(p)
    table = pa.table({
        "user_id": pa.array(user_id),
        "tenant_id": pa.array(tenant.astype(np.int16)),
        "occurred_at": pa.array(ts, type=pa.timestamp("us")),
        "kind_id": pa.array(kind),
    })
    del user_id, tenant, ts, kind
    t1 = time.perf_counter()
    tmp = path.with_suffix(".tmp.duckdb")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.register("src", table)
    width = len(str(p.tenants))
    kind_case = " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(KINDS))
    con.execute(f"""
        CREATE TABLE events AS
        SELECT user_id,
               'tenant_' || lpad(CAST(tenant_id + 1 AS VARCHAR), {width}, '0') AS tenant,
               occurred_at,
               CASE kind_id {kind_case} END AS kind
        FROM src""")
    con.unregister("src")
    del table
    half_lo = utc_start(p.gen_tz, p.half_first)
    con.execute("CREATE TABLE events_half AS SELECT * FROM events WHERE occurred_at >= ?",
                [half_lo])
    con.execute("CREATE TABLE bench_meta (params VARCHAR)")
    con.execute("INSERT INTO bench_meta VALUES (?)", [p.key()])
    con.execute("CHECKPOINT")
    con.close()
    tmp.rename(path)
    print(f"  generated {p.events:,} events in {t1 - t0:.1f} s, wrote DuckDB in "
          f"{time.perf_counter() - t1:.1f} s", flush=True)


def duckdb_ready(p: Params, path: Path) -> bool:
    import duckdb

    if not path.exists():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute("SELECT params FROM bench_meta").fetchone()[0] == p.key()
        finally:
            con.close()
    except Exception:
        return False


def pg_ready(p: Params, dsn: str, schema: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True) as con:
            row = con.execute(f"SELECT params, n_events FROM {schema}.bench_meta").fetchone()
            if not row or row[0] != p.key():
                return False
            n = con.execute(f"SELECT count(*) FROM {schema}.events").fetchone()[0]
            return n == row[1] == p.events
    except Exception:
        return False


def load_postgres(p: Params, path: Path, dsn: str, schema: str) -> None:
    """Copy the DuckDB tables into PostgreSQL, time ordered, indexed."""
    import duckdb
    import psycopg

    t0 = time.perf_counter()
    csv = OUT / f"events-{schema}.csv"
    src = duckdb.connect(str(path), read_only=True)
    src.execute(f"COPY (SELECT user_id, tenant, strftime(occurred_at, '%Y-%m-%d %H:%M:%S.%f'),"
                f" kind FROM events ORDER BY occurred_at) TO '{csv}' (HEADER false)")
    src.close()
    half_lo = utc_start(p.gen_tz, p.half_first)
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"""CREATE TABLE {schema}.events (
            user_id BIGINT NOT NULL, tenant TEXT NOT NULL,
            occurred_at TIMESTAMP NOT NULL, kind TEXT NOT NULL)""")
        with con.cursor() as cur, open(csv, "rb") as f, \
                cur.copy(f"COPY {schema}.events FROM STDIN (FORMAT csv)") as copy:
            while block := f.read(8 << 20):
                copy.write(block)
        csv.unlink()
        t1 = time.perf_counter()
        con.execute(f"CREATE TABLE {schema}.events_half AS SELECT * FROM {schema}.events"
                    " WHERE occurred_at >= %s", [half_lo])
        con.execute("SET maintenance_work_mem = '512MB'")
        for t in ("events", "events_half"):
            con.execute(f"CREATE INDEX {t}_occurred_at ON {schema}.{t} (occurred_at)")
            con.execute(f"CREATE INDEX {t}_tenant_occurred_at ON {schema}.{t}"
                        " (tenant, occurred_at)")
            con.execute(f"VACUUM ANALYZE {schema}.{t}")
        con.execute(f"CREATE TABLE {schema}.bench_meta (params TEXT, n_events BIGINT)")
        con.execute(f"INSERT INTO {schema}.bench_meta VALUES (%s, %s)", [p.key(), p.events])
    print(f"  loaded PostgreSQL: COPY {t1 - t0:.1f} s, indexes + analyze "
          f"{time.perf_counter() - t1:.1f} s", flush=True)


def _child(target, *args) -> None:
    """Run a data-preparation step in a fresh process and fail if it fails."""
    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        sys.exit(f"data preparation failed ({target.__name__}, exit code {proc.exitcode})")


# -- engines ----------------------------------------------------------------------------------

class Runner(abc.ABC):
    """A plain DB-API connection for the hand-written SQL and the seeds' pattern."""

    name: str
    param = "?"

    def table(self, logical: str) -> str:
        return logical

    @abc.abstractmethod
    def query(self, sql: str, params=None) -> list[tuple]:
        """Rows of one statement (each engine's runner implements it)."""


class DuckDBRunner(Runner):
    name = "duckdb"

    def __init__(self, path: Path):
        import duckdb

        self.path = path
        # read_only like daypulse's own connection: the same instance is shared in-process.
        self.con = duckdb.connect(str(path), read_only=True)
        self.con.execute("SET enable_progress_bar = false")

    def query(self, sql, params=None, timeout: float | None = None):
        timer = None
        if timeout:
            timer = threading.Timer(timeout, self.con.interrupt)
            timer.start()
        try:
            return self.con.execute(sql, params or []).fetchall()
        finally:
            if timer:
                timer.cancel()

    def source(self) -> tuple[str, str]:
        return f"duckdb:///{self.path}", ""

    def close(self):
        self.con.close()


class PostgresRunner(Runner):
    name = "postgres"
    param = "%s"

    def __init__(self, dsn: str, schema: str):
        import psycopg

        self.dsn, self.schema = dsn, schema
        self.con = psycopg.connect(dsn, autocommit=True)

    def table(self, logical: str) -> str:
        return f"{self.schema}.{logical}"

    def query(self, sql, params=None, timeout: float | None = None):
        if timeout:
            self.con.execute(f"SET statement_timeout = {int(timeout * 1000)}")
        try:
            return self.con.execute(sql, params).fetchall()
        finally:
            if timeout:
                self.con.execute("SET statement_timeout = 0")

    def source(self) -> tuple[str, str]:
        return self.dsn, f"{self.schema}."

    def close(self):
        self.con.close()


# -- hand-written SQL (the same text runs on DuckDB and PostgreSQL) ---------------------------

def _ts(t: datetime) -> str:
    return f"TIMESTAMP '{t.isoformat(sep=' ')}'"


def local_day_sql(tz: str, lo: datetime, hi: datetime) -> str:
    """The local date of occurred_at: a literal offset, or a CASE over the zone's offset steps
    inside [lo, hi) (New York: one step per DST change)."""
    segs = offset_segments(tz, lo, hi)
    if len(segs) == 1:
        shift = f"INTERVAL '{segs[0][1]} seconds'"
    else:
        whens = " ".join(f"WHEN occurred_at < {_ts(nxt[0])} THEN INTERVAL '{seg[1]} seconds'"
                         for seg, nxt in zip(segs, segs[1:]))
        shift = f"CASE {whens} ELSE INTERVAL '{segs[-1][1]} seconds' END"
    return f"CAST(occurred_at + {shift} AS DATE)"


def daily_sql(table: str, tz: str, first: date, last: date, by_tenant: bool) -> str:
    """events, captures and DAU per local day: one GROUP BY on a computed local date."""
    lo, hi = utc_start(tz, first), utc_start(tz, last + timedelta(days=1))
    t = "tenant, " if by_tenant else ""
    return f"""
        SELECT {t}{local_day_sql(tz, lo, hi)} AS day, count(*) AS events,
               count(*) FILTER (WHERE kind = 'capture') AS captures,
               count(DISTINCT user_id) AS dau
        FROM {table}
        WHERE occurred_at >= {_ts(lo)} AND occurred_at < {_ts(hi)}
        GROUP BY {t}day"""


def rolling_sql(table: str, tz: str, first: date, last: date, by_tenant: bool,
                with_dau: bool = False) -> str:
    """Exact WAU and MAU with the "segments" difference array (see ENGINE.md).

    Distinct (user, day) pairs; for consecutive active days a < b of a user, the user counts
    in the trailing W-day window of every day in [a, min(b, a + W)): +1 at a, -1 at the end,
    and a running sum over days. Each pair is touched once, whatever W is.
    """
    read_first = first - timedelta(days=max(WINDOWS.values()) - 1)
    lo, hi = utc_start(tz, read_first), utc_start(tz, last + timedelta(days=1))
    t = "tenant, " if by_tenant else ""
    part = "PARTITION BY g.tenant " if by_tenant else ""
    grid = ("spine s CROSS JOIN (SELECT DISTINCT tenant FROM per_day) g" if by_tenant
            else "spine s")
    on = "p.day = s.day" + (" AND p.tenant = g.tenant" if by_tenant else "")
    g = "g.tenant, " if by_tenant else ""
    dau = ", coalesce(p.da, 0) AS dau" if with_dau else ""
    return f"""
        WITH pairs AS (
            SELECT DISTINCT {t}user_id, {local_day_sql(tz, lo, hi)} AS day
            FROM {table}
            WHERE occurred_at >= {_ts(lo)} AND occurred_at < {_ts(hi)}
        ), seg AS (
            SELECT {t}day, lead(day) OVER (PARTITION BY {t}user_id ORDER BY day) AS nxt
            FROM pairs
        ), deltas AS (
            SELECT {t}day, 1 AS da, 1 AS dw, 1 AS dm FROM seg
            UNION ALL
            SELECT {t}CASE WHEN nxt < day + 7 THEN nxt ELSE day + 7 END, 0, -1, 0 FROM seg
            UNION ALL
            SELECT {t}CASE WHEN nxt < day + 28 THEN nxt ELSE day + 28 END, 0, 0, -1 FROM seg
        ), per_day AS (
            SELECT {t}day, sum(da) AS da, sum(dw) AS dw, sum(dm) AS dm
            FROM deltas GROUP BY {t}day
        ), spine AS (
            SELECT CAST(d AS DATE) AS day FROM generate_series(
                DATE '{read_first}', DATE '{last}', INTERVAL '1 day') AS x(d)
        ), running AS (
            SELECT {g}s.day,
                   sum(coalesce(p.dw, 0)) OVER ({part}ORDER BY s.day ROWS UNBOUNDED PRECEDING)
                       AS wau,
                   sum(coalesce(p.dm, 0)) OVER ({part}ORDER BY s.day ROWS UNBOUNDED PRECEDING)
                       AS mau{dau}
            FROM {grid} LEFT JOIN per_day p ON {on}
        )
        SELECT * FROM running WHERE day >= DATE '{first}'"""


def counts_sql(table: str, tz: str, first: date, last: date, by_tenant: bool) -> str:
    """events and captures only (the fused variant takes DAU from the rolling pairs)."""
    return daily_sql(table, tz, first, last, by_tenant).replace(
        ",\n               count(DISTINCT user_id) AS dau", "")


def recent_sql(table: str, tz: str, first: date, last: date, by_tenant: bool) -> str:
    """DAU, WAU, MAU for a few days (a nightly run): join each day to the pairs of its
    trailing 28 days and count distinct users directly. Best when few days are computed."""
    read_first = first - timedelta(days=max(WINDOWS.values()) - 1)
    lo, hi = utc_start(tz, read_first), utc_start(tz, last + timedelta(days=1))
    t = "tenant, " if by_tenant else ""
    return f"""
        WITH pairs AS (
            SELECT DISTINCT {t}user_id, {local_day_sql(tz, lo, hi)} AS day
            FROM {table}
            WHERE occurred_at >= {_ts(lo)} AND occurred_at < {_ts(hi)}
        ), eval AS (
            SELECT CAST(d AS DATE) AS eday FROM generate_series(
                DATE '{first}', DATE '{last}', INTERVAL '1 day') AS x(d)
        )
        SELECT {t}eday,
               count(DISTINCT user_id) FILTER (WHERE day > eday - 7) AS wau,
               count(DISTINCT user_id) AS mau,
               count(*) FILTER (WHERE day = eday) AS dau
        FROM eval JOIN pairs ON day <= eday AND day > eday - 28
        GROUP BY {t}eday"""


def obvious_sql(table: str, tz: str, first: date, last: date) -> str:
    """The textbook rolling distinct: count(DISTINCT) over a RANGE window (totals only)."""
    read_first = first - timedelta(days=27)
    lo, hi = utc_start(tz, read_first), utc_start(tz, last + timedelta(days=1))
    return f"""
        WITH pairs AS (
            SELECT DISTINCT user_id, {local_day_sql(tz, lo, hi)} AS day FROM {table}
            WHERE occurred_at >= {_ts(lo)} AND occurred_at < {_ts(hi)}
        ), w AS (
            SELECT day,
              count(DISTINCT user_id) OVER (ORDER BY day
                  RANGE BETWEEN INTERVAL 6 DAYS PRECEDING AND CURRENT ROW) AS wau,
              count(DISTINCT user_id) OVER (ORDER BY day
                  RANGE BETWEEN INTERVAL 27 DAYS PRECEDING AND CURRENT ROW) AS mau
            FROM pairs
        )
        SELECT DISTINCT day, wau, mau FROM w WHERE day >= DATE '{first}'"""


Values = dict[tuple[str, date, str | None], int]
Timings = dict[str, list[float]]


def _collect(rows, names, by_tenant, out: Values) -> None:
    for row in rows:
        tenant = row[0] if by_tenant else None
        rest = row[1:] if by_tenant else row
        day = rest[0]
        for name, v in zip(names, rest[1:]):
            out[(name, day, tenant)] = int(v)


# The hand-written formulations; every one computes all five metrics.
#   plain:  per-day GROUP BY with count(DISTINCT) for DAU + segments for WAU/MAU
#   fused:  per-day counts + one pass over the (user, day) pairs for DAU, WAU and MAU
#   recent: per-day counts + a direct join of each day to its trailing 28 days (short ranges)
FORMULATIONS = ("plain", "fused", "recent")


def handwritten(r: Runner, table: str, tz: str, first: date, last: date, dims: bool,
                how: str = "plain", timings: Timings | None = None) -> tuple[Values, float]:
    """All five metrics with hand-written SQL (totals, and per tenant when ``dims``), and
    the seconds spent in the queries (sending them and fetching every row)."""
    out: Values = {}
    t = r.table(table)
    spent = 0.0

    def q(label, sql, names, by_tenant):
        nonlocal spent
        t0 = time.perf_counter()
        rows = r.query(sql)
        dt = time.perf_counter() - t0
        spent += dt
        if timings is not None:
            timings.setdefault(label, []).append(dt)
        _collect(rows, names, by_tenant, out)  # our bookkeeping, not timed

    for by_tenant in ([False, True] if dims else [False]):
        g = "tenant" if by_tenant else "total"
        if how == "plain":
            q(f"daily {g}", daily_sql(t, tz, first, last, by_tenant), DAILY, by_tenant)
            q(f"rolling {g}", rolling_sql(t, tz, first, last, by_tenant), ROLLING, by_tenant)
        else:
            q(f"counts {g}", counts_sql(t, tz, first, last, by_tenant), ("events", "captures"),
              by_tenant)
            sql = (rolling_sql(t, tz, first, last, by_tenant, with_dau=True) if how == "fused"
                   else recent_sql(t, tz, first, last, by_tenant))
            q(f"pairs {g}", sql, ("wau", "mau", "dau"), by_tenant)
    return out, spent


# -- the seeds' pattern -----------------------------------------------------------------------

def seeds_snapshot(r: Runner, table: str, tz: str, day: date, tenant: str | None) -> dict:
    """What the seeds do: compute_daily_snapshot(day, tenant), one query per metric."""
    p = r.param
    t = r.table(table)
    cond = f" AND tenant = {p}" if tenant is not None else ""
    extra = [tenant] if tenant is not None else []
    start, end = utc_start(tz, day), utc_start(tz, day + timedelta(days=1))
    where = f"occurred_at >= {p} AND occurred_at < {p}{cond}"
    snap = {
        "events": r.query(f"SELECT count(*) FROM {t} WHERE {where}", [start, end] + extra),
        "captures": r.query(f"SELECT count(*) FROM {t} WHERE {where} AND kind = 'capture'",
                            [start, end] + extra),
        "dau": r.query(f"SELECT count(DISTINCT user_id) FROM {t} WHERE {where}",
                       [start, end] + extra),
    }
    for name, w in WINDOWS.items():
        ws = utc_start(tz, day - timedelta(days=w - 1))
        snap[name] = r.query(f"SELECT count(DISTINCT user_id) FROM {t} WHERE {where}",
                             [ws, end] + extra)
    return {k: int(v[0][0]) for k, v in snap.items()}


def spread_order(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix is spread over the range (van der Corput), so a
    sample cut short by the time budget still covers early and late days alike."""
    out, seen, k = [], set(), 0
    while len(out) < n:
        k += 1
        x, denom, i = 0.0, 1.0, k
        while i:
            denom *= 2
            x += (i & 1) / denom
            i >>= 1
        j = int(x * n)
        if j not in seen:
            seen.add(j)
            out.append(j)
    return out


def seeds_pattern(r: Runner, table: str, tz: str, days: list[date],
                  tenants: list[str | None], budget_s: float,
                  min_days: int = 3) -> tuple[Values, list[date], float]:
    """Snapshots for each day (all of ``tenants``), until ``budget_s`` is spent."""
    out: Values = {}
    done: list[date] = []
    t0 = time.perf_counter()
    for d in days:
        for tenant in tenants:
            for name, v in seeds_snapshot(r, table, tz, d, tenant).items():
                out[(name, d, tenant)] = v
        done.append(d)
        if len(done) >= min_days and time.perf_counter() - t0 > budget_s:
            break
    return out, done, time.perf_counter() - t0


# -- daypulse ---------------------------------------------------------------------------------

def daypulse_api():
    try:
        from daypulse.engine import compute_values
        from daypulse.project import project_from_dict
    except ImportError as exc:
        return None, f"{exc}"
    return (project_from_dict, compute_values), None


def daypulse_project(api, r: Runner, tz: str, table: str, dims: bool):
    source, prefix = r.source()
    d = {"tenant": "tenant"} if dims else {}
    base = {"table": "events", "time": "occurred_at", "dimensions": d}
    metrics = {
        "events": {**base, "measure": "count"},
        "captures": {**base, "measure": "count", "where": {"kind": "capture"}},
        "dau": {**base, "measure": "count_distinct", "column": "user_id"},
        "wau": {**base, "measure": "count_distinct", "column": "user_id", "window": 7},
        "mau": {**base, "measure": "count_distinct", "column": "user_id", "window": 28},
    }
    return api[0]({"name": "bench", "timezone": tz, "source": source,
                   "tables": {"events": prefix + table}, "metrics": metrics})


def daypulse_values(api, project, first: date, last: date, metrics=METRICS,
                    timings: Timings | None = None) -> tuple[Values, float]:
    """daypulse's values as a dict like the hand-written ones, and the seconds of the
    compute_values call (connecting, compiling, querying, zero-filling)."""
    def on_metric(t):
        if timings is not None:
            timings.setdefault(t.metric, []).append(t.seconds)

    out: Values = {}
    t0 = time.perf_counter()
    values = api[1](project, start=first, end=last, metrics=list(metrics), grains=["day"],
                    on_metric=on_metric)
    spent = time.perf_counter() - t0
    for mv in values:
        if mv.grain != "day" or mv.value is None:
            continue
        dims = dict(mv.dims or {})
        if len(dims) > 1:
            continue
        tenant = next(iter(dims.values())) if dims else None
        out[(mv.metric, _as_date(mv.period_start), tenant)] = round(float(mv.value))
    return out, spent


def _as_date(v) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, str):
        return date.fromisoformat(v[:10])
    return v


# -- checking, timing, memory -----------------------------------------------------------------

class Mismatch(Exception):
    pass


def compare(label: str, expected: Values, got: Values, days: set[date] | None = None) -> int:
    """Every (metric, day, tenant) in either must have the same value (absent = 0)."""
    keys = set(expected) | set(got)
    if days is not None:
        keys = {k for k in keys if k[1] in days}
    bad = [(k, expected.get(k, 0), got.get(k, 0)) for k in sorted(keys, key=_sort_key)
           if expected.get(k, 0) != got.get(k, 0)]
    if bad:
        lines = "\n".join(f"    {k[0]} {k[1]} {k[2] or 'total'}: expected {e}, got {g}"
                          for k, e, g in bad[:15])
        raise Mismatch(f"{label}: {len(bad)} of {len(keys)} values differ\n{lines}")
    if not keys:
        raise Mismatch(f"{label}: nothing to compare")
    return len(keys)


def _sort_key(k):
    return (k[0], k[1], k[2] or "")


def interleaved(fns: dict, repeat: int) -> dict:
    """{name: (median seconds, last values)}, calling the contenders in turn ``repeat`` times
    so that a busy moment on the machine hits all of them alike. Each contender returns
    (values, seconds it measured itself), leaving out the benchmark's own bookkeeping."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    results = {}
    for _ in range(repeat):
        for k, fn in fns.items():
            with peak_rss("daypulse" if k == "daypulse" else "hand-written"):
                results[k], seconds = fn()
            times[k].append(seconds)
    return {k: (statistics.median(times[k]), results[k]) for k in fns}


def med(timings: Timings, keys) -> float | None:
    vals = [statistics.median(timings[k]) for k in keys if k in timings]
    return sum(vals) if vals else None


PEAKS: dict[str, float] = {}  # peak RSS (MB) of this process during each kind of work
_EARLIER_PEAK = [0.0]    # the process's peak before the last reset


def _vm_hwm() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


class peak_rss:
    """Peak resident memory of this process inside a block (Linux: VmHWM after a reset),
    kept in PEAKS[label]. Resetting also resets what getrusage reports, so the process's
    own peak is kept here too."""

    def __init__(self, label: str):
        self.label = label

    def __enter__(self):
        self.mb = None
        before = _vm_hwm()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.ok = before is not None
            _EARLIER_PEAK[0] = max(_EARLIER_PEAK[0], before or 0)
        except OSError:
            self.ok = False
        return self

    def __exit__(self, *exc):
        if self.ok:
            self.mb = _vm_hwm()
            PEAKS[self.label] = max(PEAKS.get(self.label, 0.0), self.mb or 0.0)
        return False


def process_peak_mb() -> float:
    return max(_EARLIER_PEAK[0], _vm_hwm() or 0, rss_mb())


def rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # kilobytes on Linux


# -- the run ----------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(msg, flush=True)


def warm_up(r: Runner, api, tz: str, p: Params) -> None:
    """Read every column once (cold file cache is not what we measure) and import/connect
    daypulse once."""
    t0 = time.perf_counter()
    for table in ("events", "events_half"):
        r.query(f"SELECT count(*), sum(user_id), min(tenant), max(occurred_at), "
                f"count(*) FILTER (WHERE kind = 'capture') FROM {r.table(table)}")
    if api:
        daypulse_values(api, daypulse_project(api, r, tz, "events", True), p.last, p.last,
                        ("events",))
    log(f"  warm-up {time.perf_counter() - t0:.1f} s")


def run_engine(r: Runner, args, p: Params, api, report: dict) -> None:
    e = r.name
    rows = report["rows"]
    first, last, tz = p.first, p.last, args.tz
    rep = args.repeat if e == "duckdb" else args.pg_repeat

    def row(**kw):
        rows.append({"engine": e, "tz": tz, **kw})

    log(f"[{e}] warming up")
    warm_up(r, api, tz, p)

    # (a) backfill: the best hand-written SQL vs daypulse, the same days and numbers.
    full = e == "duckdb" or args.pg_full
    hows = ("plain", "fused") if full else ("fused",)
    log(f"[{e}] (a) backfill {first} .. {last} in {tz}, median of {rep}")
    reference: Values = {}
    segments_s = None
    for dims in ((False, True) if full else (True,)):
        what = "total + tenant" if dims else "total"
        hw_t: dict[str, Timings] = {how: {} for how in hows}
        dp_t: Timings = {}
        fns = {f"hw {how}": partial(handwritten, r, "events", tz, first, last, dims, how,
                                    hw_t[how]) for how in hows}
        if api:
            project = daypulse_project(api, r, tz, "events", dims)
            fns["daypulse"] = partial(daypulse_values, api, project, first, last, METRICS, dp_t)
        res = interleaved(fns, rep)
        ref = res[f"hw {hows[0]}"][1]
        n = 0
        for k, (s, vals) in res.items():
            n = compare(f"{e} {k} vs hw {hows[0]} ({what})", ref, vals)
            log(f"  {what:15} {k:9} {s:7.2f} s")
        log(f"  {n:,} values compared: {', '.join(res)} all equal")
        dp_s = res["daypulse"][0] if api else None
        best = min(res[f"hw {how}"][0] for how in hows)
        row(workload=f"a: 5 metrics, by day{' + day x tenant' if dims else ''}",
            daypulse_s=dp_s, handwritten_s=best, ratio=dp_s / best if dp_s else None,
            target=f"<= {TARGETS['backfill']}", values_checked=n if api else 0,
            **{f"handwritten_{how}_s": res[f"hw {how}"][0] for how in hows},
            handwritten_queries={f"{how}: {k}": statistics.median(v)
                                 for how, h in hw_t.items() for k, v in h.items()},
            daypulse_metrics={k: statistics.median(v) for k, v in dp_t.items()})
        if dims:
            reference = ref
            # Where the time goes: daypulse's per-metric seconds (a shared query's time is
            # split evenly among its metrics) against the 'plain' queries for those metrics.
            if "plain" in hw_t:
                for label, hw_keys, ms in (
                        ("a: events, captures, DAU (split of the above)",
                         ("daily total", "daily tenant"), DAILY),
                        ("a: WAU, MAU exact (split of the above)",
                         ("rolling total", "rolling tenant"), ROLLING)):
                    hw_s, d = med(hw_t["plain"], hw_keys), med(dp_t, ms)
                    row(workload=label, daypulse_s=d, handwritten_s=hw_s,
                        ratio=d / hw_s if d else None, target="")
        else:
            segments_s = med(hw_t.get("plain", {}), ["rolling total"])

    # The obvious rolling formulation (DuckDB): why the segments formulation matters.
    if e == "duckdb" and not args.skip_obvious:
        sql = obvious_sql(r.table("events"), tz, first, last)
        t0 = time.perf_counter()
        try:
            with peak_rss("obvious SQL"):
                res_rows = r.query(sql, timeout=args.obvious_timeout)
            s = time.perf_counter() - t0
            got: Values = {}
            _collect(res_rows, ROLLING, False, got)
            compare(f"{e} obvious rolling", {k: v for k, v in reference.items()
                                             if k[0] in ROLLING and k[2] is None}, got)
            note = "count(DISTINCT user_id) OVER (ORDER BY day RANGE ...), totals only"
        except Exception as exc:  # duckdb.InterruptException on timeout
            if "nterrupt" not in type(exc).__name__ + str(exc):
                raise
            s, note = None, f"stopped after {args.obvious_timeout:.0f} s (--obvious-timeout)"
        row(workload="ref: WAU, MAU obvious SQL vs segments (total)", handwritten_s=s,
            segments_s=segments_s,
            ratio_obvious_segments=s / segments_s if s and segments_s else None, note=note)
        log(f"  obvious rolling SQL {'-' if s is None else f'{s:.2f}'} s vs segments "
            f"{segments_s:.2f} s")

    # Another zone: America/New_York has 23- and 25-hour days.
    if not args.skip_ny and (e == "duckdb" or args.pg_full):
        ny = "America/New_York"
        fns = {"hw fused": lambda: handwritten(r, "events", ny, first, last, True, "fused")}
        if api:
            project = daypulse_project(api, r, ny, "events", True)
            fns["daypulse"] = lambda: daypulse_values(api, project, first, last)
        res = interleaved(fns, args.ny_repeat)
        d = None
        if api:
            n = compare(f"{e} daypulse {ny}", res["hw fused"][1], res["daypulse"][1])
            d = res["daypulse"][0]
        best = res["hw fused"][0]
        rows.append({"engine": e, "tz": ny, "workload": "a: 5 metrics, by day + day x tenant",
                     "daypulse_s": d, "handwritten_s": best, "ratio": d / best if d else None,
                     "target": f"<= {TARGETS['backfill']}", "repeat": args.ny_repeat})
        log(f"  {ny}: hand-written {best:.2f} s, daypulse {'-' if d is None else f'{d:.2f}'} s")

    # (b) the seeds' pattern, on a sample of days spread over the history, extrapolated.
    if not args.skip_seeds:
        tenants = sorted({k[2] for k in reference if k[2] is not None})
        order = spread_order(p.days)[: args.seeds_days]
        days = [first + timedelta(days=i) for i in order]
        sample = [None] + tenants[: args.seeds_tenants or len(tenants)]
        with peak_rss("seeds' pattern"):
            vals, days, s = seeds_pattern(r, "events", tz, days, sample, args.seeds_budget)
        compare(f"{e} seeds' pattern vs hand-written", {
            k: v for k, v in reference.items() if k[1] in set(days) and k[2] in set(sample)},
            vals)
        calls, full_calls = len(days) * len(sample), p.days * (len(tenants) + 1)
        extrapolated = s / calls * full_calls
        d = next((x["daypulse_s"] for x in rows if x["engine"] == e
                  and x["workload"] == "a: 5 metrics, by day + day x tenant" and x["tz"] == tz),
                 None)
        hw = next(x["handwritten_s"] for x in rows if x["engine"] == e
                  and x["workload"] == "a: 5 metrics, by day + day x tenant" and x["tz"] == tz)
        row(workload="b: seeds' pattern (1 query per metric x day x tenant)",
            seeds_s=extrapolated, seeds_sample_s=s, daypulse_s=d,
            ratio_seeds_daypulse=extrapolated / d if d else None,
            ratio_seeds_handwritten=extrapolated / hw, target=f">= {TARGETS['seeds']:.0f}",
            note=(f"measured {calls} snapshots ({len(days)} days spread over the history x "
                  f"{len(sample)} (total + {len(sample) - 1} tenants), {calls * 5} queries) "
                  f"in {s:.1f} s; extrapolated linearly x{full_calls / calls:.1f} to "
                  f"{p.days} days x {len(tenants) + 1}"))
        log(f"  seeds' pattern: {calls} snapshots in {s:.1f} s -> {extrapolated:.0f} s for "
            f"the whole history (extrapolated)")

    # (c) nightly: the last days only, on the full history and on half of it.
    if not args.skip_nightly:
        n_rep = max(rep, args.nightly_repeat)
        # The direct join is DuckDB's best for a few days; PostgreSQL plans it badly.
        hows = ("fused", "recent") if e == "duckdb" else ("fused",)
        for table, hist in (("events", p.days), ("events_half", p.days // 2)):
            project = daypulse_project(api, r, tz, table, True) if api else None
            for n in (1, 4):
                start = last - timedelta(days=n - 1)
                fns = {f"hw {how}": partial(handwritten, r, table, tz, start, last, True, how)
                       for how in hows}
                if api:
                    fns["daypulse"] = partial(daypulse_values, api, project, start, last)
                res = interleaved(fns, n_rep)
                for k, (_, vals) in res.items():
                    compare(f"{e} nightly {n} day(s) on {table}: {k} vs hw fused",
                            res["hw fused"][1], vals)
                d = res["daypulse"][0] if api else None
                best = min(res[f"hw {how}"][0] for how in hows)
                row(workload=f"c: nightly, last {n} day{'s' if n > 1 else ''}, "
                             f"{hist}-day history", daypulse_s=d, handwritten_s=best,
                    ratio=d / best if d else None,
                    target=f"< {TARGETS['nightly']:.0f} s" if e == "duckdb" else "",
                    nightly_days=n, history_days=hist, repeat=n_rep,
                    **{f"handwritten_{how}_s": res[f"hw {how}"][0] for how in hows})
                log(f"  nightly {n} day(s), {hist}-day history: daypulse "
                    f"{'-' if d is None else f'{d:.3f}'} s, hand-written "
                    + ", ".join(f"{how} {res[f'hw {how}'][0]:.3f} s" for how in hows))


def render(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def f(v, fmt="{:.2f}"):
        return "-" if v is None else fmt.format(v)

    p = report["params"]
    t = Table(title=(f"daypulse engine benchmark: {p['events']:,} events, {p['days']} days, "
                     f"{p['users']:,} users, {p['tenants']} tenants (seed {p['seed']})"))
    for c in ("engine", "workload", "zone", "daypulse s", "hand-written s", "dp / hw",
              "seeds s", "seeds / dp", "target"):
        t.add_column(c, justify="left" if c in ("engine", "workload", "zone", "target")
                     else "right")
    for r in report["rows"]:
        fine = "{:.3f}" if "nightly" in r["workload"] else "{:.2f}"
        ratio = (f(r.get("ratio_obvious_segments"), "{:.1f}x slower")
                 if "obvious" in r["workload"] else f(r.get("ratio")))
        t.add_row(r["engine"], r["workload"], r["tz"].split("/")[-1],
                  f(r.get("daypulse_s"), fine), f(r.get("handwritten_s"), fine), ratio,
                  f(r.get("seeds_s"), "{:.0f}"), f(r.get("ratio_seeds_daypulse"), "{:.1f}"),
                  r.get("target", ""))
    console = Console(width=150)
    console.print(t)
    for r in report["rows"]:
        if r.get("note"):
            console.print(f"  {r['engine']} / {r['workload']}: {r['note']}", markup=False)
    console.print(
        "  hand-written = the fastest of the formulations timed in the same run (median of "
        f"--repeat {report['repeat']} / --pg-repeat {report['pg_repeat']}, interleaved with "
        "daypulse); every daypulse number was compared with it.", markup=False)
    peaks = ", ".join(f"{k} {v:.0f} MB" for k, v in report["peak_rss_by_work_mb"].items())
    console.print(
        f"  peak RSS of this process: {report['peak_rss_mb']:.0f} MB overall; by work: {peaks} "
        f"(target for daypulse < {TARGETS['rss_mb']} MB; DuckDB runs in-process and its "
        f"buffer cache is shared by all; PostgreSQL's memory is the server's, not counted); "
        f"data preparation (child processes) {report['children_peak_rss_mb']:.0f} MB",
        markup=False)
    console.print(f"  load average at start / end: {report['load_start']} / "
                  f"{report['load_end']} on {os.cpu_count()} cores", markup=False)
    if report.get("daypulse_missing"):
        console.print(f"  daypulse not timed: {report['daypulse_missing']}",
                      markup=False)
    if report.get("error"):
        console.print(f"  WRONG NUMBERS: {report['error']}", markup=False, style="bold red")
    console.print(f"  total {report['total_s']:.0f} s (data preparation "
                  f"{report['data_prep_s']:.0f} s); JSON: {report['json']}", markup=False)


def parse_args(argv=None):
    d = Params()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--events", type=int, default=d.events, help="rows in events")
    ap.add_argument("--users", type=int, default=d.users, help="user ids 1..N")
    ap.add_argument("--tenants", type=int, default=d.tenants, help="tenant_01..N")
    ap.add_argument("--days", type=int, default=d.days,
                    help=f"local days of history from {d.first_day}")
    ap.add_argument("--seed", type=int, default=d.seed, help="random seed of the data")
    ap.add_argument("--engines", default="duckdb,postgres", help="comma list")
    ap.add_argument("--repeat", type=int, default=3,
                    help="median of K interleaved runs per measurement (DuckDB)")
    ap.add_argument("--pg-repeat", type=int, default=1,
                    help="the same for PostgreSQL, whose backfills take minutes")
    ap.add_argument("--pg-full", action="store_true",
                    help="on PostgreSQL also time the total-only backfill, the 'plain' "
                         "formulation and America/New_York (about 10 more minutes)")
    ap.add_argument("--nightly-repeat", type=int, default=5,
                    help="at least this many runs for the (short) nightly measurements")
    ap.add_argument("--tz", default="Asia/Kolkata", help="zone of the main workloads")
    ap.add_argument("--skip-seeds", action="store_true", help="skip workload (b)")
    ap.add_argument("--seeds-days", type=int, default=30,
                    help="at most this many days (spread over the history) for the seeds' "
                         "pattern, each with every tenant")
    ap.add_argument("--seeds-budget", type=float, default=60.0,
                    help="stop sampling days for the seeds' pattern after this many seconds "
                         "(at least 3 days)")
    ap.add_argument("--seeds-tenants", type=int, default=0,
                    help="tenants sampled for the seeds' pattern (0 = all)")
    ap.add_argument("--skip-obvious", action="store_true",
                    help="skip the obvious rolling-distinct SQL (DuckDB only; 10-30x slower)")
    ap.add_argument("--obvious-timeout", type=float, default=120.0, help="seconds")
    ap.add_argument("--skip-ny", action="store_true", help="skip the America/New_York run")
    ap.add_argument("--ny-repeat", type=int, default=1,
                    help="median of K runs for America/New_York")
    ap.add_argument("--skip-nightly", action="store_true", help="skip workload (c)")
    ap.add_argument("--no-daypulse", action="store_true",
                    help="time only the hand-written SQL and the seeds' pattern")
    ap.add_argument("--prepare-only", action="store_true",
                    help="generate / load the data and stop")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the data even if present")
    ap.add_argument("--pg-dsn", default=PG_DSN, help="PostgreSQL to load and query")
    ap.add_argument("--pg-schema", default=None,
                    help=f"schema holding the PostgreSQL copy, dropped and reloaded when its "
                         f"parameters differ (default: {PG_SCHEMA} at the default size, "
                         f"{PG_SCHEMA}_<events>_<users>_<tenants>_<days>_<seed> otherwise)")
    ap.add_argument("--json", default=str(OUT / "engine.json"), help="where to write results")
    return ap.parse_args(argv)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    load_start = load()
    p = Params(events=args.events, users=args.users, tenants=args.tenants, days=args.days,
               seed=args.seed)
    engines = [x.strip() for x in args.engines.split(",") if x.strip()]
    suffix = "" if p == Params() else f"_{p.events}_{p.users}_{p.tenants}_{p.days}_{p.seed}"
    args.pg_schema = args.pg_schema or PG_SCHEMA + suffix
    if not args.pg_schema.isidentifier():
        sys.exit(f"--pg-schema: not a plain name: {args.pg_schema!r}")
    unknown = set(engines) - {"duckdb", "postgres"}
    if unknown:
        sys.exit(f"--engines: unknown {', '.join(sorted(unknown))} (duckdb, postgres)")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bench{suffix.replace('_', '-')}.duckdb"

    if "postgres" in engines:
        try:
            import psycopg

            psycopg.connect(args.pg_dsn, connect_timeout=5).close()
        except Exception as exc:
            sys.exit(f"PostgreSQL is not reachable at {args.pg_dsn}: {exc}\n"
                     "start it, pass --pg-dsn, or run with --engines duckdb")
    log(f"data: {p.events:,} events, {p.users:,} users, {p.tenants} tenants, {p.days} days "
        f"from {p.first} ({path.name})")
    if args.regenerate or not duckdb_ready(p, path):
        path.unlink(missing_ok=True)
        _child(generate_duckdb, p, path)
    else:
        log("  reusing DuckDB data")
    if "postgres" in engines:
        if args.regenerate or not pg_ready(p, args.pg_dsn, args.pg_schema):
            _child(load_postgres, p, path, args.pg_dsn, args.pg_schema)
        else:
            log(f"  reusing PostgreSQL data (schema {args.pg_schema})")
    t_data = time.perf_counter() - t_start
    log(f"  data ready in {t_data:.1f} s")
    if args.prepare_only:
        return 0

    api, missing = (None, "--no-daypulse") if args.no_daypulse else daypulse_api()
    if missing:
        log(f"daypulse engine not available ({missing}): timing the baselines only")
    report = {"params": asdict(p), "repeat": args.repeat, "pg_repeat": args.pg_repeat,
              "engines": engines, "rows": [], "data_prep_s": t_data,
              "daypulse_missing": missing, "json": args.json, "load_start": load_start,
              "started": datetime.now(UTC).isoformat(timespec="seconds"),
              "targets": TARGETS}
    status = 0
    try:
        for e in engines:
            r = (DuckDBRunner(path) if e == "duckdb"
                 else PostgresRunner(args.pg_dsn, args.pg_schema))
            try:
                run_engine(r, args, p, api, report)
            finally:
                r.close()
    except Mismatch as exc:
        log(f"\nWRONG NUMBERS: {exc}")
        report["error"] = str(exc)
        status = 1
    report["peak_rss_mb"] = process_peak_mb()
    report["peak_rss_by_work_mb"] = dict(PEAKS)
    report["children_peak_rss_mb"] = rss_mb(resource.RUSAGE_CHILDREN)
    report["load_end"] = load()
    report["total_s"] = time.perf_counter() - t_start
    Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    render(report)
    return status


if __name__ == "__main__":
    sys.exit(main())
