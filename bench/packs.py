"""Pack benchmark: the time to compute every built-in pack over the demo company, per backend.

One run generates (or reuses) the data, copies it into each backend, then on each backend:

  backfill   every metric of the five packs (saas, product, sales, ops, marketing: about 100)
             at day + week + month over the whole history (730 local days);
  nightly    the same for the last 4 days, what an incremental run computes (yesterday and
             3 days of look-back);
  count(*)   a trivial ``SELECT count(*) FROM events`` on the same connection, so the seconds
             above can be read relative to the machine and the engine.

Two data sets: the demo company at its default size (``--scale 1``, about 330k events) and the
same company scaled so that ``events`` has about 10M rows (``--big-scale``). The demo runs on
DuckDB, PostgreSQL, SQLite and PySpark; the big one on DuckDB and PostgreSQL unless
``--big-backends`` says otherwise. Each backend run is a fresh child process. Results are
printed as a table and written to bench/out/packs.json. See bench/README.md.

    .venv/bin/python bench/packs.py                                # the default (make bench-packs)
    .venv/bin/python bench/packs.py --datasets demo --repeat 1     # a quick run
    .venv/bin/python bench/packs.py --datasets big --big-backends sqlite,spark
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "dp_bench_packs"
BACKENDS = ("duckdb", "postgres", "sqlite", "spark")
END = "2026-03-31"       # last local day of the history (fixed, so the cached data stays valid)
BIG_SCALE = 31.4         # about 10M rows in events
GRAINS = ("day", "week", "month")
TIMEZONE = "Asia/Kolkata"  # the demo company's day
META = "bench_meta"      # the table (file in the Spark folder) holding the data's parameters


# -- parameters ---------------------------------------------------------------------------------

def generator_version() -> str:
    """A fingerprint of the demo generator's source: cached data is rebuilt when it changes."""
    src = ROOT / "src" / "daypulse" / "demo" / "company.py"
    return hashlib.sha256(src.read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class Data:
    name: str         # demo | big
    scale: float
    days: int = 730
    end: str = END
    seed: int = 7
    generator: str = ""

    @property
    def last(self) -> date:
        return date.fromisoformat(self.end)

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.days - 1)

    @property
    def as_of(self) -> datetime:
        """The morning after the last day (its local day ended at 18:30 UTC)."""
        return datetime.combine(self.last + timedelta(days=1), datetime.min.time(),
                                tzinfo=UTC) + timedelta(hours=6)

    def key(self) -> str:
        d = asdict(self)
        d.pop("name")
        return json.dumps(d, sort_keys=True)

    @property
    def tag(self) -> str:
        t = f"s{self.scale:g}".replace(".", "p")
        if self.days != 730:
            t += f"_d{self.days}"
        if self.end != END:
            t += f"_e{self.end.replace('-', '')}"
        if self.seed != 7:
            t += f"_seed{self.seed}"
        return t


@dataclass(frozen=True)
class Paths:
    duckdb: Path
    sqlite: Path
    spark: Path
    pg_schema: str

    @classmethod
    def of(cls, d: Data, work: Path) -> Paths:
        return cls(work / f"company-{d.tag}.duckdb", work / f"company-{d.tag}.sqlite",
                   work / f"company-{d.tag}-parquet", f"{PG_SCHEMA}_{d.tag}")


def log(msg: str) -> None:
    print(msg, flush=True)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# -- data preparation (each step in a child process) ------------------------------------------

def generate_duckdb(d: Data, path: Path) -> dict:
    from daypulse.demo import generate

    tmp = path.with_name(path.stem + ".tmp.duckdb")
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)
    summary = generate(tmp, seed=d.seed, days=d.days, end=d.last, scale=d.scale)
    summary.pop("path", None)
    import duckdb

    con = duckdb.connect(str(tmp))
    con.execute(f"CREATE TABLE {META} (params VARCHAR, summary VARCHAR)")
    con.execute(f"INSERT INTO {META} VALUES (?, ?)", [d.key(), json.dumps(summary)])
    con.execute("CHECKPOINT")
    con.close()
    tmp.rename(path)
    return summary


def duckdb_summary(d: Data, path: Path) -> dict | None:
    """The generator's summary if ``path`` holds this data set, else None."""
    import duckdb

    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            params, summary = con.execute(f"SELECT params, summary FROM {META}").fetchone()
        finally:
            con.close()
    except Exception:
        return None
    return json.loads(summary) if params == d.key() else None


def source_tables(con) -> dict[str, list[tuple[str, str]]]:
    """{table: [(column, DuckDB type)]} of the generated file, in column order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for t, c, typ in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            f" WHERE table_name <> '{META}' ORDER BY table_name, ordinal_position").fetchall():
        out.setdefault(t, []).append((c, typ))
    return out


PG_TYPES = {"BIGINT": "bigint", "INTEGER": "integer", "VARCHAR": "text", "BOOLEAN": "boolean",
            "TIMESTAMP": "timestamp", "DOUBLE": "double precision"}
SQLITE_TYPES = {"BIGINT": "BIGINT", "INTEGER": "INTEGER", "VARCHAR": "TEXT", "BOOLEAN": "BOOLEAN",
                "TIMESTAMP": "TIMESTAMP", "DOUBLE": "DOUBLE"}


def _counts(d: Data, summary: dict) -> str:
    return json.dumps({"params": d.key(), "tables": summary["tables"]}, sort_keys=True)


def load_postgres(d: Data, path: Path, dsn: str, schema: str, summary: dict) -> dict:
    """Copy every table into ``schema``: COPY from Arrow batches (as CSV), then a b-tree index
    on every timestamp column and VACUUM ANALYZE."""
    import io

    import duckdb
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    t0 = time.perf_counter()
    src = duckdb.connect(str(path), read_only=True)
    tables = source_tables(src)
    opts = pacsv.WriteOptions(include_header=False)
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        for t, cols in tables.items():
            con.execute(f"CREATE TABLE {schema}.{t} ("
                        + ", ".join(f'"{c}" {PG_TYPES[typ]}' for c, typ in cols) + ")")
            reader = src.sql(f'SELECT * FROM "{t}"').to_arrow_reader(200_000)
            with con.cursor() as cur, cur.copy(
                    f"COPY {schema}.{t} FROM STDIN (FORMAT csv)") as copy:
                for batch in reader:
                    buf = io.BytesIO()
                    pacsv.write_csv(pa.Table.from_batches([batch]), buf, opts)
                    copy.write(buf.getbuffer())
        t1 = time.perf_counter()
        con.execute("SET maintenance_work_mem = '512MB'")
        indexes = []
        for t, cols in tables.items():
            for c, typ in cols:
                if typ == "TIMESTAMP":
                    con.execute(f'CREATE INDEX {t}_{c} ON {schema}.{t} ("{c}")')
                    indexes.append(f"{t}.{c}")
            con.execute(f"VACUUM ANALYZE {schema}.{t}")
        con.execute(f"CREATE TABLE {schema}.{META} (params TEXT)")
        con.execute(f"INSERT INTO {schema}.{META} VALUES (%s)", [_counts(d, summary)])
    src.close()
    return {"copy_s": t1 - t0, "index_analyze_s": time.perf_counter() - t1, "indexes": indexes}


def postgres_ready(d: Data, dsn: str, schema: str, summary: dict) -> bool:
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as con:
            row = con.execute(f"SELECT params FROM {schema}.{META}").fetchone()
            if not row or row[0] != _counts(d, summary):
                return False
            n = con.execute(f"SELECT count(*) FROM {schema}.events").fetchone()[0]
            return n == summary["tables"]["events"]
    except Exception:
        return False


def load_sqlite(d: Data, path: Path, target: Path, summary: dict) -> dict:
    """Every table into a SQLite file the way the tests load it: timestamps as ISO text
    'YYYY-MM-DD HH:MM:SS.ffffff' in columns declared TIMESTAMP, booleans as 0/1; then an
    index on every timestamp column and ANALYZE."""
    import sqlite3

    import duckdb

    t0 = time.perf_counter()
    tmp = target.with_name(target.stem + ".tmp.sqlite")
    tmp.unlink(missing_ok=True)
    src = duckdb.connect(str(path), read_only=True)
    tables = source_tables(src)
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    for t, cols in tables.items():
        con.execute(f'CREATE TABLE "{t}" ('
                    + ", ".join(f'"{c}" {SQLITE_TYPES[typ]}' for c, typ in cols) + ")")
        select = ", ".join(
            f"strftime(\"{c}\", '%Y-%m-%d %H:%M:%S.%f')" if typ == "TIMESTAMP"
            else f'CAST("{c}" AS INTEGER)' if typ == "BOOLEAN" else f'"{c}"'
            for c, typ in cols)
        cur = src.execute(f'SELECT {select} FROM "{t}"')
        insert = f'INSERT INTO "{t}" VALUES ({", ".join("?" for _ in cols)})'
        while rows := cur.fetchmany(100_000):
            con.executemany(insert, rows)
        con.commit()
    t1 = time.perf_counter()
    indexes = []
    for t, cols in tables.items():
        for c, typ in cols:
            if typ == "TIMESTAMP":
                con.execute(f'CREATE INDEX "{t}_{c}" ON "{t}" ("{c}")')
                indexes.append(f"{t}.{c}")
    con.execute("ANALYZE")
    con.execute(f"CREATE TABLE {META} (params TEXT)")
    con.execute(f"INSERT INTO {META} VALUES (?)", [_counts(d, summary)])
    con.commit()
    con.close()
    src.close()
    tmp.rename(target)
    return {"insert_s": t1 - t0, "index_analyze_s": time.perf_counter() - t1, "indexes": indexes}


def sqlite_ready(d: Data, target: Path, summary: dict) -> bool:
    import sqlite3

    if not target.exists():
        return False
    try:
        con = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            return con.execute(f"SELECT params FROM {META}").fetchone()[0] == _counts(d, summary)
        finally:
            con.close()
    except Exception:
        return False


def load_parquet(d: Data, path: Path, folder: Path, summary: dict) -> dict:
    """Every table as ``folder/<table>.parquet`` (microsecond timestamps without zone, which
    Spark reads as TIMESTAMP_NTZ), for a ``spark:///folder`` source."""
    import duckdb
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    src = duckdb.connect(str(path), read_only=True)
    for t in source_tables(src):
        reader = src.sql(f'SELECT * FROM "{t}"').to_arrow_reader(1_000_000)
        with pq.ParquetWriter(tmp / f"{t}.parquet", reader.schema) as w:
            for batch in reader:
                w.write_batch(batch)
    src.close()
    (tmp / f"{META}.json").write_text(_counts(d, summary))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return {"write_s": time.perf_counter() - t0}


def parquet_ready(d: Data, folder: Path, summary: dict) -> bool:
    try:
        return (folder / f"{META}.json").read_text() == _counts(d, summary)
    except OSError:
        return False


# -- child processes ---------------------------------------------------------------------------

def _child_main(conn, fn, args) -> None:
    try:
        result = fn(*args)
        conn.send(("ok", result, peak_rss_mb()))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}",
                   peak_rss_mb()))
    finally:
        conn.close()


def in_child(fn, *args, timeout: float | None = None):
    """Run ``fn(*args)`` in a fresh (spawned) process: (status, result or message, peak RSS
    MB of the child). status is ok | error | timeout."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_main, args=(child, fn, args))
    proc.start()
    child.close()
    try:
        if parent.poll(timeout):
            status, result, rss = parent.recv()
        else:
            status, result, rss = "timeout", f"stopped after {timeout:.0f} s (--timeout)", None
    except EOFError:
        status, result, rss = "error", "the child process died", None
    if status == "timeout":
        proc.terminate()
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    proc.join()
    if status == "ok" and proc.exitcode not in (0, None):
        status, result = "error", f"exit code {proc.exitcode}"
    return status, result, rss


# -- one backend run (in a child process) ------------------------------------------------------

def kind_of(m) -> str:
    name = type(m).__name__.removesuffix("Metric").lower()
    if name == "event" and getattr(m, "window", None):
        return "rolling"
    return name


def _groups(calls: list, project) -> list[dict]:
    """The queries of one compute_values call, from its on_metric calls.

    compute_values reports the metrics of one shared query together, each with the query's
    seconds divided by the number of metrics (and the query's row count), so consecutive
    calls with equal seconds and rows are one query. Ratios, derived and manual metrics are
    computed in Python and reported one by one.
    """
    out: list[dict] = []
    for t in calls:
        last = out[-1] if out else None
        if last and last["_each"] == t.seconds and last["rows"] == t.rows:
            last["metrics"].append(t.metric)
            last["seconds"] += t.seconds
            continue
        out.append({"_each": t.seconds, "rows": t.rows, "seconds": t.seconds,
                    "metrics": [t.metric]})
    for g in out:
        del g["_each"]
        ms = [project.metrics[n] for n in g["metrics"]]
        kinds = [kind_of(m) for m in ms]
        g["kind"] = "rolling" if "rolling" in kinds else kinds[0]
        of = getattr(ms[0], "of", None)  # a cumulative metric reads its base's table
        g["table"] = getattr(project.metrics[of] if of else ms[0], "table", None) or "-"
    return out


def label(g: dict) -> str:
    names = g["metrics"]
    shown = ", ".join(names[:4]) + (f", +{len(names) - 4}" if len(names) > 4 else "")
    return f"{g['kind']} {g['table']}: {shown}"


def open_source(backend: str, d: Data, paths: Paths, dsn: str, spark_memory: str):
    """(source URL, {logical table: physical name}) for a backend."""
    names = ["ad_spend", "ai_usage", "api_requests", "calls", "events", "jobs", "leads",
             "payments", "plans", "post_stats", "posts", "subscription_periods",
             "subscriptions", "users", "workspaces"]
    if backend == "duckdb":
        return f"duckdb:///{paths.duckdb}", {n: n for n in names}
    if backend == "sqlite":
        return f"sqlite:///{paths.sqlite}", {n: n for n in names}
    if backend == "postgres":
        return dsn, {n: f"{paths.pg_schema}.{n}" for n in names}
    if backend == "spark":
        from pyspark.sql import SparkSession

        # daypulse's own session settings (warehouse._spark) apply on top of this one, which
        # only adds what must be set before the JVM starts.
        session = (SparkSession.builder.master("local[2]").appName("daypulse-bench-packs")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.driver.memory", spark_memory)
                   .config("spark.sql.session.timeZone", "UTC")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        return f"spark:///{paths.spark}", {n: n for n in names}
    raise ValueError(backend)


def run_backend(backend: str, d: Data, paths: Paths, opts: dict) -> dict:
    """Time the backfill and the nightly run of every pack metric on one backend."""
    from daypulse import warehouse
    from daypulse.compile import rows as R
    from daypulse.engine import compute_values
    from daypulse.project import project_from_dict
    from daypulse.project.packs import PACKS

    tag = f"[{d.name} {backend}]"
    res: dict = {"dataset": d.name, "backend": backend, "load_start": load()}
    t0 = time.perf_counter()
    url, tables = open_source(backend, d, paths, opts["pg_dsn"], opts["spark_memory"])
    src = R.Source.open(url)
    res["connect_s"] = time.perf_counter() - t0
    # Time Ibis's SQL compilation (every backend's queries go through compile()).
    compiling = [0.0]
    compile_sql = src.con.compile

    def timed_compile(*a, **kw):
        t = time.perf_counter()
        try:
            return compile_sql(*a, **kw)
        finally:
            compiling[0] += time.perf_counter() - t

    src.con.compile = timed_compile
    project = project_from_dict({"name": "bench-packs", "timezone": TIMEZONE,
                                 "week_start": "monday", "source": url, "include": list(PACKS),
                                 "tables": tables})
    res["metrics"] = len(project.metrics)

    # Warm-up: read every table once (a cold file cache is not what is measured).
    t0 = time.perf_counter()
    for phys in tables.values():
        warehouse.table(src.con, phys).count().execute()
    events = warehouse.table(src.con, tables["events"])
    res["warm_s"] = time.perf_counter() - t0

    def count_events() -> float:
        t = time.perf_counter()
        events.count().execute()
        return time.perf_counter() - t

    counts = [count_events() for _ in range(5)]
    res["count_s"] = statistics.median(counts)

    nightly_start = d.last - timedelta(days=opts["nightly_days"] - 1)
    workloads = {"backfill": (d.first, d.last), "nightly": (nightly_start, d.last)}

    def compute(start: date, end: date) -> tuple[float, int, list[dict], float]:
        calls: list = []
        compiling[0] = 0.0
        t = time.perf_counter()
        values = compute_values(project, start, end, grains=list(GRAINS), as_of=d.as_of,
                                source=src, on_metric=calls.append)
        return time.perf_counter() - t, len(values), _groups(calls, project), compiling[0]

    # One untimed nightly run: imports, Ibis and the engine's first-query costs.
    s = compute(*workloads["nightly"])[0] if opts["warmup"] else 0.0
    res["warmup_nightly_s"] = s if opts["warmup"] else None
    log(f"{tag} connect {res['connect_s']:.1f} s, warm-up {res['warm_s']:.1f} s + nightly "
        f"{s:.1f} s, count(*) events {res['count_s'] * 1000:.1f} ms")

    runs: dict[str, list] = {w: [] for w in workloads}
    for i in range(opts["repeat"]):
        for w, (start, end) in workloads.items():
            if w == "backfill" and i >= opts["backfill_repeat"]:
                continue
            s, n, groups, comp = compute(start, end)
            runs[w].append((s, n, groups, comp))
            log(f"{tag} {w} {start} .. {end}: {s:.2f} s, {n:,} values (run {i + 1})")
    for w, rs in runs.items():
        secs = [r[0] for r in rs]
        by_query: dict[tuple, list[dict]] = {}
        for _, _, groups, _ in rs:
            for g in groups:
                by_query.setdefault(tuple(g["metrics"]), []).append(g)
        groups = []
        for gs in by_query.values():
            g = dict(gs[0])
            g["seconds"] = statistics.median(x["seconds"] for x in gs)
            groups.append(g)
        groups.sort(key=lambda g: -g["seconds"])
        kinds: dict[str, float] = {}
        for g in groups:
            kinds[g["kind"]] = kinds.get(g["kind"], 0.0) + g["seconds"]
        res[w] = {"start": workloads[w][0].isoformat(), "end": workloads[w][1].isoformat(),
                  "seconds": statistics.median(secs), "runs_s": secs, "values": rs[0][1],
                  "queries": len([g for g in groups
                                  if g["kind"] not in ("ratio", "derived", "manual")]),
                  "in_queries_s": sum(g["seconds"] for g in groups),
                  # per run: wall - the queries' seconds (zero-fill and bookkeeping)
                  "after_queries_s": statistics.median(
                      r[0] - sum(g["seconds"] for g in r[2]) for r in rs),
                  "compile_s": statistics.median(r[3] for r in rs),
                  "by_kind_s": dict(sorted(kinds.items(), key=lambda kv: -kv[1])),
                  "groups": groups}
    res["load_end"] = load()
    return res


# -- report ------------------------------------------------------------------------------------

def render(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    def f(v, fmt="{:.2f}"):
        return "-" if v is None else fmt.format(v)

    t = Table(title=f"daypulse packs benchmark: {report['metrics']} pack metrics x "
                    f"{'/'.join(GRAINS)}, {TIMEZONE}")
    for c in ("data", "backend", "backfill s", "values", f"nightly ({report['nightly_days']}"
              " d) s", "values", "backfill / nightly", "count(*) ms", "backfill / count(*)",
              "RSS MB", "load"):
        t.add_column(c, justify="left" if c in ("data", "backend", "load") else "right")
    for r in report["rows"]:
        data = report["datasets"][r["dataset"]]
        dname = f"{r['dataset']} ({data['events'] / 1e6:.2f}M ev)"
        if r.get("status", "ok") != "ok":
            t.add_row(dname, r["backend"], r.get("error", "")[:80], *[""] * 8)
            continue
        b, n = r["backfill"], r["nightly"]
        t.add_row(dname, r["backend"], f(b["seconds"]), f"{b['values']:,}", f(n["seconds"]),
                  f"{n['values']:,}", f(b["seconds"] / n["seconds"], "{:.1f}"),
                  f(r["count_s"] * 1000, "{:.1f}"), f(b["seconds"] / r["count_s"], "{:,.0f}"),
                  f(r.get("peak_rss_mb"), "{:.0f}"),
                  f"{r['load_start'].split()[0]}-{r['load_end'].split()[0]}")
    console = Console(width=160)
    console.print(t)
    for r in report["rows"]:
        if r.get("status", "ok") != "ok":
            continue
        for w in ("backfill", "nightly"):
            x = r[w]
            top = "; ".join(f"{label(g)} {g['seconds']:.2f}" for g in x["groups"][:5])
            kinds = ", ".join(f"{k} {v:.1f}" for k, v in x["by_kind_s"].items())
            console.print(f"  {r['dataset']} {r['backend']} {w}: 5 slowest queries (s): {top}",
                          markup=False)
            console.print(f"      by kind (s): {kinds}; of all, Ibis compiling SQL "
                          f"{x['compile_s']:.2f} s; after the queries (zero-fill) "
                          f"{x['after_queries_s']:.2f} s", markup=False)
    console.print(
        f"  seconds: median of --repeat {report['repeat']} (backfill on the big data set: "
        f"--big-backfill-repeat {report['big_backfill_repeat']}), "
        + ("after an untimed warm-up nightly run" if report["warmup"] else "no warm-up run")
        + ", the source connection opened once per backend; 'count(*)' = median "
        "of 5 SELECT count(*) FROM events on the same connection.", markup=False)
    console.print(f"  load average at start / end: {report['load_start']} / "
                  f"{report['load_end']} on {os.cpu_count()} cores; commit {report['commit']}",
                  markup=False)
    console.print(f"  total {report['total_s']:.0f} s (data preparation "
                  f"{report['data_prep_s']:.0f} s); JSON: {report['json']}", markup=False)


# -- main --------------------------------------------------------------------------------------

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--datasets", default="demo,big",
                    help="comma list: demo (--scale) and/or big (--big-scale)")
    ap.add_argument("--scale", type=float, default=1.0, help="scale of the demo data set")
    ap.add_argument("--big-scale", type=float, default=BIG_SCALE,
                    help="scale of the big data set (31.4: about 10M events)")
    ap.add_argument("--days", type=int, default=730, help="days of history")
    ap.add_argument("--end", default=END, help="last local day of the history")
    ap.add_argument("--seed", type=int, default=7, help="the generator's seed")
    ap.add_argument("--backends", default=",".join(BACKENDS),
                    help="backends for the demo data set")
    ap.add_argument("--big-backends", default="duckdb,postgres",
                    help="backends for the big data set (sqlite and spark may take very long)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="median of K runs of each workload (interleaved)")
    ap.add_argument("--big-backfill-repeat", type=int, default=1,
                    help="runs of the backfill on the big data set (at most --repeat)")
    ap.add_argument("--nightly-days", type=int, default=4,
                    help="days of the nightly workload (yesterday + 3 days of look-back)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="skip the untimed nightly run before the timed ones (for single, "
                         "long runs: SQLite or Spark on the big data set)")
    ap.add_argument("--timeout", type=float, default=0,
                    help="stop a backend run after this many seconds (0 = no limit)")
    ap.add_argument("--wait-load", type=float, default=0,
                    help="before each backend run, wait (up to --max-wait s) until the 1-minute "
                         "load average is below this (0 = do not wait)")
    ap.add_argument("--max-wait", type=float, default=600, help="seconds")
    ap.add_argument("--spark-memory", default="4g", help="spark.driver.memory (local mode)")
    ap.add_argument("--pg-dsn", default=PG_DSN, help="PostgreSQL to load and query")
    ap.add_argument("--work-dir", default=str(OUT / "packs"),
                    help="generated data (reused when its parameters and the generator match)")
    ap.add_argument("--regenerate", action="store_true", help="rebuild the data even if present")
    ap.add_argument("--prepare-only", action="store_true",
                    help="generate / load the data and stop")
    ap.add_argument("--json", default=str(OUT / "packs.json"), help="where to write results")
    return ap.parse_args(argv)


def _list(text: str, allowed, flag: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    unknown = set(items) - set(allowed)
    if unknown:
        sys.exit(f"{flag}: unknown {', '.join(sorted(unknown))} ({', '.join(allowed)})")
    return items


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return out + ("+dirty" if dirty else "")
    except Exception:
        return "?"


def prepare(d: Data, paths: Paths, backends: list[str], args, prep: dict) -> dict:
    """Make sure the data set exists in every backend; returns the generator's summary."""
    summary = None if args.regenerate else duckdb_summary(d, paths.duckdb)
    if summary is None:
        log(f"[{d.name}] generating the demo company at scale {d.scale:g} ({paths.duckdb.name})")
        t0 = time.perf_counter()
        status, summary, rss = in_child(generate_duckdb, d, paths.duckdb)
        if status != "ok":
            sys.exit(f"generating {d.name} failed: {summary}")
        prep[f"{d.name} generate"] = {"seconds": time.perf_counter() - t0, "peak_rss_mb": rss}
        log(f"  {sum(summary['tables'].values()):,} rows ({summary['tables']['events']:,} "
            f"events) in {time.perf_counter() - t0:.1f} s, peak RSS {rss:.0f} MB")
    else:
        log(f"[{d.name}] reusing {paths.duckdb.name}: {summary['tables']['events']:,} events")
    steps = {
        "postgres": (lambda: postgres_ready(d, args.pg_dsn, paths.pg_schema, summary),
                     load_postgres, (d, paths.duckdb, args.pg_dsn, paths.pg_schema, summary),
                     f"PostgreSQL schema {paths.pg_schema}"),
        "sqlite": (lambda: sqlite_ready(d, paths.sqlite, summary), load_sqlite,
                   (d, paths.duckdb, paths.sqlite, summary), paths.sqlite.name),
        "spark": (lambda: parquet_ready(d, paths.spark, summary), load_parquet,
                  (d, paths.duckdb, paths.spark, summary), f"Parquet folder {paths.spark.name}"),
    }
    for b in backends:
        if b not in steps:
            continue
        ready, fn, fargs, what = steps[b]
        if not args.regenerate and ready():
            log(f"  reusing {what}")
            continue
        t0 = time.perf_counter()
        status, info, rss = in_child(fn, *fargs)
        if status != "ok":
            sys.exit(f"loading {what} failed: {info}")
        info["seconds"] = time.perf_counter() - t0
        prep[f"{d.name} {b}"] = info
        log(f"  loaded {what} in {info['seconds']:.1f} s "
            + ", ".join(f"{k} {v:.1f}" for k, v in info.items() if k.endswith("_s")))
    return summary


def wait_for_load(args) -> None:
    if args.wait_load <= 0:
        return
    t0 = time.perf_counter()
    while os.getloadavg()[0] >= args.wait_load and time.perf_counter() - t0 < args.max_wait:
        time.sleep(10)
    if time.perf_counter() - t0 > 1:
        log(f"  waited {time.perf_counter() - t0:.0f} s for the load ({load()})")


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    load_start = load()
    datasets = _list(args.datasets, ("demo", "big"), "--datasets")
    plan = {"demo": _list(args.backends, BACKENDS, "--backends"),
            "big": _list(args.big_backends, BACKENDS, "--big-backends")}
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    gen = generator_version()
    data = {name: Data(name, args.scale if name == "demo" else args.big_scale, args.days,
                       args.end, args.seed, gen) for name in datasets}
    if any("postgres" in plan[n] for n in datasets):
        try:
            import psycopg

            psycopg.connect(args.pg_dsn, connect_timeout=5).close()
        except Exception as exc:
            sys.exit(f"PostgreSQL is not reachable at {args.pg_dsn}: {exc}\n"
                     "start it, pass --pg-dsn, or leave postgres out of --backends")

    prep: dict = {}
    summaries = {}
    for name, d in data.items():
        summaries[name] = prepare(d, Paths.of(d, work), plan[name], args, prep)
    t_data = time.perf_counter() - t_start
    log(f"data ready in {t_data:.1f} s")
    if args.prepare_only:
        return 0

    from daypulse.project import project_from_dict
    from daypulse.project.packs import PACKS

    n_metrics = len(project_from_dict({"source": "duckdb:///:memory:",
                                       "include": list(PACKS)}).metrics)
    report = {"commit": commit(), "started": datetime.now(UTC).isoformat(timespec="seconds"),
              "cpus": os.cpu_count(), "load_start": load_start, "metrics": n_metrics,
              "grains": list(GRAINS), "nightly_days": args.nightly_days,
              "repeat": args.repeat, "big_backfill_repeat": args.big_backfill_repeat,
              "warmup": not args.no_warmup,
              "datasets": {n: {**asdict(d), "events": summaries[n]["tables"]["events"],
                               "tables": summaries[n]["tables"],
                               "start": d.first.isoformat(), "as_of": d.as_of.isoformat()}
                           for n, d in data.items()},
              "data_prep": prep, "data_prep_s": t_data, "rows": [], "json": args.json}
    status = 0
    for name, d in data.items():
        paths = Paths.of(d, work)
        for b in plan[name]:
            wait_for_load(args)
            opts = {"pg_dsn": args.pg_dsn, "spark_memory": args.spark_memory,
                    "nightly_days": args.nightly_days, "repeat": args.repeat,
                    "warmup": not args.no_warmup,
                    "backfill_repeat": (min(args.repeat, args.big_backfill_repeat)
                                        if name == "big" else args.repeat)}
            log(f"[{name} {b}] running (load {load()})")
            t0 = time.perf_counter()
            st, res, rss = in_child(run_backend, b, d, paths, opts,
                                    timeout=args.timeout or None)
            if st != "ok":
                log(f"[{name} {b}] {st}: {res}")
                report["rows"].append({"dataset": name, "backend": b, "status": st,
                                       "error": str(res).splitlines()[0],
                                       "detail": str(res), "wall_s": time.perf_counter() - t0})
                status = 1 if st == "error" else status
                continue
            res.update(status="ok", peak_rss_mb=rss, wall_s=time.perf_counter() - t0)
            report["rows"].append(res)
            Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    report["load_end"] = load()
    report["total_s"] = time.perf_counter() - t_start
    Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    render(report)
    return status


if __name__ == "__main__":
    sys.exit(main())
