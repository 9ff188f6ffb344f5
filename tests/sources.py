"""Materialise a :class:`datasets.Dataset` into each source engine the tests run against.

Each builder returns ``(source_url, tables)`` where ``tables`` maps the logical table names
(``users``, ``events``, ``subscriptions``, ``events_local``) to physical names, ready for the
project's ``source:`` and ``tables:``.

* ``duckdb``      DuckDB file, TIMESTAMP (naive UTC) columns
* ``duckdb_tz``   DuckDB file, TIMESTAMPTZ columns (``events_local`` stays naive local time)
* ``sqlite``      SQLite file made with sqlite3: ISO text ``YYYY-MM-DD HH:MM:SS.ffffff`` in
                  columns declared TIMESTAMP, booleans 0/1 in columns declared BOOLEAN (which
                  Ibis reads as boolean)
* ``postgres``    a fresh schema ``dp_test_<random>`` with ``timestamp`` columns
* ``postgres_tz`` the same with ``timestamptz`` columns
* ``spark``       a folder of ``<table>.parquet`` files (pyarrow, microsecond timestamps
                  without zone, which Spark reads as TIMESTAMP_NTZ)
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from datasets import LOCAL_TABLES, SCHEMA, Dataset

BACKENDS = ("duckdb", "duckdb_tz", "sqlite", "postgres", "postgres_tz", "spark")
PG_URL = os.environ.get("DAYPULSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _aware(table: str, tz_aware: bool) -> bool:
    return tz_aware and table not in LOCAL_TABLES


def arrow_table(ds: Dataset, name: str, tz_aware: bool = False):
    import pyarrow as pa

    types = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(),
             "ts": pa.timestamp("us", tz="UTC") if _aware(name, tz_aware) else pa.timestamp("us")}
    schema = pa.schema([(c, types[t]) for c, t in SCHEMA[name].items()])
    rows = ds.tables[name]
    return pa.table({c: pa.array([r[c] for r in rows], schema.field(c).type)
                     for c in SCHEMA[name]}, schema=schema)


def duckdb_source(ds: Dataset, folder: Path, tz_aware: bool = False):
    import duckdb

    path = Path(folder) / f"{ds.key}{'_tz' if tz_aware else ''}.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for name in SCHEMA:
            data = arrow_table(ds, name, tz_aware)  # noqa: F841 (read by the SQL below)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM data")
    finally:
        con.close()
    return f"duckdb:///{path}", {n: n for n in SCHEMA}


def _sqlite_value(v, kind: str):
    if v is None:
        return None
    if kind == "ts":
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if kind == "bool":
        return 1 if v else 0
    return v


def sqlite_source(ds: Dataset, folder: Path):
    path = Path(folder) / f"{ds.key}.sqlite"
    path.unlink(missing_ok=True)
    declared = {"int": "BIGINT", "str": "TEXT", "bool": "BOOLEAN", "ts": "TIMESTAMP"}
    con = sqlite3.connect(path)
    try:
        for name, cols in SCHEMA.items():
            con.execute(f"CREATE TABLE {name} ("
                        + ", ".join(f"{c} {declared[t]}" for c, t in cols.items()) + ")")
            con.executemany(
                f"INSERT INTO {name} VALUES ({', '.join('?' for _ in cols)})",
                [tuple(_sqlite_value(r[c], t) for c, t in cols.items())
                 for r in ds.tables[name]])
        con.commit()
    finally:
        con.close()
    return f"sqlite:///{path}", {n: n for n in SCHEMA}


def postgres_source(ds: Dataset, schema: str | None = None, tz_aware: bool = False,
                    url: str = PG_URL):
    import psycopg

    schema = schema or f"dp_test_{secrets.token_hex(4)}"
    declared = {"int": "bigint", "str": "text", "bool": "boolean"}
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        for name, cols in SCHEMA.items():
            aware = _aware(name, tz_aware)
            types = {c: (("timestamptz" if aware else "timestamp") if t == "ts" else declared[t])
                     for c, t in cols.items()}
            con.execute(f"CREATE TABLE {schema}.{name} ("
                        + ", ".join(f"{c} {types[c]}" for c in cols) + ")")
            sql = f"COPY {schema}.{name} ({', '.join(cols)}) FROM STDIN"
            with con.cursor() as cur, cur.copy(sql) as copy:
                for r in ds.tables[name]:
                    copy.write_row(tuple(
                        r[c].replace(tzinfo=UTC) if aware and t == "ts" and r[c] is not None
                        else r[c] for c, t in cols.items()))
            con.execute(f"ANALYZE {schema}.{name}")
    return url, {n: f"{schema}.{n}" for n in SCHEMA}


def drop_postgres_schema(schema: str, url: str = PG_URL) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


FAST_SPARK = {"spark.sql.codegen.wholeStage": "false", "spark.sql.adaptive.enabled": "false"}


def ensure_spark_session():
    """Start the one local SparkSession of the test run before daypulse asks for it.

    ``warehouse.connect`` uses ``getOrCreate()``, so it gets this session (and sets its own
    SQL settings on it). Tuned for many tiny queries: no console progress bars, and unless
    ``DAYPULSE_TEST_SPARK_DEFAULTS=1``: a JVM that only uses the quick JIT tier, no
    whole-stage code generation and no adaptive execution. Measured on the semantic suite
    (2 busy cores) that is about half the Spark time; results cannot change (same plans,
    interpreted instead of compiled).
    """
    from pyspark.sql import SparkSession

    fast = os.environ.get("DAYPULSE_TEST_SPARK_DEFAULTS") != "1"
    session = SparkSession.getActiveSession()
    if session is None:
        b = (SparkSession.builder.master("local[2]").appName("daypulse-tests")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.session.timeZone", "UTC"))
        if fast:
            b = b.config("spark.driver.extraJavaOptions",
                         "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        session = b.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
    if fast:
        for key, value in FAST_SPARK.items():
            session.conf.set(key, value)
    return session


def spark_source(ds: Dataset, folder: Path):
    import pyarrow.parquet as pq

    ensure_spark_session()

    folder = Path(folder) / f"{ds.key}_spark"
    folder.mkdir(parents=True, exist_ok=True)
    for name in SCHEMA:
        pq.write_table(arrow_table(ds, name), folder / f"{name}.parquet")
    return f"spark:///{folder}", {n: n for n in SCHEMA}


class Sources:
    """Builds each (backend, dataset) source once; drops the PostgreSQL schemas at the end."""

    def __init__(self, folder: Path, pg_url: str = PG_URL):
        self.folder = Path(folder)
        self.pg_url = pg_url
        self.schemas: list[str] = []
        self._built: dict[tuple[str, str], tuple[str, dict]] = {}

    def get(self, backend: str, ds: Dataset) -> tuple[str, dict]:
        key = (backend, ds.key)
        if key not in self._built:
            self._built[key] = self._build(backend, ds)
        return self._built[key]

    def _build(self, backend: str, ds: Dataset):
        if backend in ("duckdb", "duckdb_tz"):
            return duckdb_source(ds, self.folder, tz_aware=backend.endswith("_tz"))
        if backend == "sqlite":
            return sqlite_source(ds, self.folder)
        if backend in ("postgres", "postgres_tz"):
            schema = f"dp_test_{secrets.token_hex(4)}"
            self.schemas.append(schema)
            return postgres_source(ds, schema, tz_aware=backend.endswith("_tz"), url=self.pg_url)
        if backend == "spark":
            return spark_source(ds, self.folder)
        raise ValueError(f"unknown backend {backend}")

    def close(self) -> None:
        for schema in self.schemas:
            drop_postgres_schema(schema, self.pg_url)
        self.schemas.clear()


def as_naive_utc(v):
    """A timestamp read back from any backend as naive UTC (for comparisons)."""
    if v is None:
        return None
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    if isinstance(v, datetime) and v.tzinfo is not None:
        v = v.astimezone(UTC).replace(tzinfo=None)
    return v
