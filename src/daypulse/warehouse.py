"""Connecting to the source database (read only) and the few per-engine differences.

URLs: ``duckdb:///path.duckdb``, ``sqlite:///path.db``,
``postgresql://user:pass@host:5432/db`` (``?schema=`` optional),
``spark:///folder`` (PySpark in local mode; every ``NAME.parquet`` file or folder inside
is a table ``NAME``), ``spark://local[4]/folder`` for a master other than ``local[2]``.

Each engine is one ``Engine`` in the ``ENGINES`` table at the end (how to connect, how to read a
timestamp as epoch seconds exactly, how to run ``kind: sql`` on its own driver), so the compiler
and the engine stay engine-neutral: a new backend is a row there (docs/architecture.md).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import ibis
import ibis.expr.datatypes as dt

from daypulse.errors import SourceError


def redact(url: str) -> str:
    """The URL without its password (in the user part or the query), for messages and logs."""
    if "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    auth, sep, host = rest.rpartition("@")  # the host part never holds an '@'
    if sep and ":" in auth:
        rest = f"{auth.split(':', 1)[0]}:***@{host}"
    rest = re.sub(r"(?i)([?&](?:password|pass|pwd)=)[^&]*", r"\1***", rest)
    return f"{scheme}://{rest}"


def engine_for(url: str) -> Engine | None:
    """The engine whose URL scheme ``url`` has (None: no engine reads it)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return next((e for e in ENGINES.values() if scheme in e.schemes), None)


def unsupported(url: str) -> str:
    return (f"unsupported source URL {redact(url)!r}: use duckdb:///, sqlite:///, postgresql://"
            " or spark:///")


def connect(url: str):
    """An Ibis backend for the source URL, or SourceError saying what failed."""
    engine = engine_for(url)
    if engine is None:
        raise SourceError(unsupported(url))
    try:
        return engine.connect(url)
    except SourceError:
        raise
    except Exception as exc:  # the drivers raise many types; the user needs one line
        raise SourceError(f"cannot connect to source {redact(url)}: {_first_line(exc)}") from exc


def _duckdb(url: str):
    path = url.split(":///", 1)[1] if ":///" in url else ":memory:"
    if path != ":memory:" and not Path(path).exists():
        raise SourceError(f"source database {path} does not exist")
    return ibis.duckdb.connect(path, read_only=path != ":memory:")


def _sqlite(url: str):
    path = url.split(":///", 1)[1]
    if not Path(path).exists():
        raise SourceError(f"source database {path} does not exist")
    return ibis.sqlite.connect(path)


def _postgres(url: str):
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    kwargs = {"host": parts.hostname or "localhost", "port": parts.port or 5432,
              "user": parts.username, "password": parts.password,
              "database": parts.path.lstrip("/") or None}
    con = ibis.postgres.connect(**{k: v for k, v in kwargs.items() if v is not None})
    if "schema" in query:
        con.raw_sql(f"SET search_path TO {_ident(query['schema'][0])}, public")
    return con


def _ident(name: str) -> str:
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise SourceError(f"not a plain schema name: {name!r}")
    return name


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _spark(url: str):
    m = re.match(r"^spark://([^/]*)/(.*)$", url)
    master = (m.group(1) if m else "") or "local[2]"
    folder = Path("/" + m.group(2).lstrip("/")) if m else None
    from pyspark.sql import SparkSession  # lazy: optional, and a JVM

    session = (
        SparkSession.builder.master(master)
        .appName("daypulse")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", os.environ.get("DAYPULSE_SPARK_PARTITIONS", "4"))
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    if folder:
        if not folder.is_dir():
            raise SourceError(f"spark source folder {folder} does not exist")
        for item in sorted(folder.glob("*.parquet")):
            session.read.parquet(str(item)).createOrReplaceTempView(item.stem)
    return ibis.pyspark.connect(session)


def table(con, name: str):
    """A table by its physical name, ``schema.table`` allowed."""
    try:
        if "." in name:
            schema, tbl = name.rsplit(".", 1)
            return con.table(tbl, database=schema)
        return con.table(name)
    except Exception as exc:
        raise SourceError(f"table {name!r} not found in the source{_tables_hint(con, name)}") from exc


def _tables_hint(con, name: str) -> str:
    """' (did you mean 'call_logs'?; its tables: ...)': what a misspelt or unmapped table
    name needs, from the source's own list (empty when the source cannot list them)."""
    schema, _, tbl = name.rpartition(".")
    try:
        found = sorted(_list_tables(con, schema))
    except Exception:  # noqa: BLE001 - a driver that cannot list: the name alone must do
        return ""
    if not found:
        return f" ({'schema ' + repr(schema) if schema else 'the source'} has no tables)"
    close = difflib.get_close_matches(tbl, found, n=3, cutoff=0.5)
    shown = ", ".join(found[:20]) + (f" and {len(found) - 20} more" if len(found) > 20 else "")
    guess = "did you mean " + " or ".join(map(repr, close)) + "? " if close else ""
    return f" ({guess}tables {'in ' + repr(schema) if schema else 'there'}: {shown})"


# -- per-engine shims ---------------------------------------------------------------------

@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(ts: dt.timestamp) -> dt.int64:  # DuckDB: exact integer microseconds
    ...


@ibis.udf.scalar.builtin(name="date_part")
def _pg_date_part(field: str, ts: dt.timestamp) -> dt.float64:  # PostgreSQL: a double, fast
    ...


@ibis.udf.scalar.builtin(name="strftime")
def _sqlite_strftime(fmt: str, ts: str) -> str:  # SQLite: seconds, but rounded to ms
    ...


def _duckdb_epoch(ts):
    return _duckdb_epoch_us(ts) // 1_000_000


def _sqlite_epoch(ts):
    # strftime('%s') works from milliseconds, so a fraction of .9995 or more carries into
    # the next second (23:59:59.9999 would land on the next day). Undo that carry by
    # reading the fraction in the text itself: 'YYYY-MM-DD HH:MM:SS.ffffff'.
    text = ts.cast("string")
    rounded = _sqlite_strftime("%s", text).cast("int64")
    carried = text.substr(19, 5) >= ".9995"
    return rounded - carried.cast("int64")


def _postgres_epoch(ts):
    # date_part() is a double (EXTRACT is NUMERIC, 1.4x slower over 10M rows); a double
    # resolves 0.5 us at today's epoch, so flooring it keeps .999999 in its second.
    return _pg_date_part("epoch", ts).floor().cast("int64")


def _spark_epoch(ts):
    return ts.epoch_seconds().cast("int64")  # unix_timestamp() already truncates


def epoch_seconds(backend: str, ts):
    """UTC epoch seconds of a timestamp column, rounded DOWN to the second.

    Rounding down matters at boundaries: 23:59:59.999999 belongs to the day it is in.
    Day boundaries are whole seconds, so comparing floored seconds is exact.
    """
    engine = ENGINES.get(backend)
    if engine is None:  # an Ibis backend daypulse has no shim for: Ibis's own, exact to the second
        return ts.truncate("s").epoch_seconds().cast("int64")
    return engine.epoch_seconds(ts)


def _list_tables(con, schema: str) -> list[str]:
    """The tables and views of ``schema`` (default: the connection's), through the driver: Ibis
    12's list_tables leaves DuckDB 2's connection with an unfinished result."""
    backend = getattr(con, "name", "")
    if backend == "pyspark":
        return [t.name for t in con._session.catalog.listTables(*([schema] if schema else []))]
    if backend == "sqlite":
        sql = "select name from sqlite_master where type in ('table', 'view')"
    elif backend in ("duckdb", "postgres"):
        where = f"'{schema.replace(chr(39), chr(39) * 2)}'" if schema else "current_schema()"
        sql = f"select table_name from information_schema.tables where table_schema = {where}"
    else:
        return list(con.list_tables(database=schema or None))
    return [row[0] for row in run_sql(backend, con, sql, {})[1]]


# -- kind: sql on the engine's own driver ----------------------------------------------------------

PARAM = re.compile(r"(?<![:\w]):(start|end|tz)\b")


def run_sql(backend: str, con, sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    """The user's SQL, its ``:name`` parameters bound the driver's way: (column names, rows)."""
    engine = ENGINES.get(backend)
    if engine is None or engine.run_sql is None:
        raise SourceError(f"kind: sql is not supported on {backend}")
    return engine.run_sql(con, sql, params)


def _duckdb_sql(con, sql: str, params: dict):
    cur = con.con.execute(PARAM.sub(r"$\1", sql), params)
    return [d[0] for d in cur.description], cur.fetchall()


def _sqlite_sql(con, sql: str, params: dict):
    cur = con.con.execute(sql, {k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v)
                                for k, v in params.items()})
    return [d[0] for d in cur.description], cur.fetchall()


def _postgres_sql(con, sql: str, params: dict):
    with con.con.cursor() as cur:
        cur.execute(PARAM.sub(r"%(\1)s", sql.replace("%", "%%")), params)
        return [d.name for d in cur.description], cur.fetchall()


def _spark_sql(con, sql: str, params: dict):
    df = con._session.sql(sql, args=params)
    return df.columns, [tuple(r) for r in df.collect()]


# -- the engines ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Engine:
    """One source engine: how to connect, and its few differences, in one place."""

    name: str  # Ibis's backend name
    schemes: tuple[str, ...]  # URL schemes that select it
    connect: Callable[[str], object]
    epoch_seconds: Callable[[object], object]  # a timestamp column as floored UTC epoch seconds
    run_sql: Callable[[object, str, dict], tuple[list[str], list[tuple]]] | None  # kind: sql


ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("duckdb", ("duckdb",), _duckdb, _duckdb_epoch, _duckdb_sql),
    Engine("sqlite", ("sqlite",), _sqlite, _sqlite_epoch, _sqlite_sql),
    Engine("postgres", ("postgres", "postgresql"), _postgres, _postgres_epoch, _postgres_sql),
    Engine("pyspark", ("spark",), _spark, _spark_epoch, _spark_sql),
)}
