"""Load a :class:`worked.Story` (any tables, any columns) into DuckDB, SQLite, PostgreSQL or a
folder of Parquet files for PySpark, the way ``tests/sources.py`` loads the semantic data sets:
naive UTC ``TIMESTAMP`` columns (ISO text in SQLite), ``DATE`` columns (``YYYY-MM-DD`` text in
SQLite), booleans as 0/1 in SQLite.

``Loader.get(backend, story)`` returns ``(source URL, {table: physical name})``.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from sources import PG_URL, drop_postgres_schema, ensure_spark_session
from worked import Story, Table

BACKENDS = ("duckdb", "sqlite", "postgres", "spark")


def _arrow(table: Table):
    import pyarrow as pa

    types = {"int": pa.int64(), "str": pa.string(), "bool": pa.bool_(), "ts": pa.timestamp("us"),
             "float": pa.float64(), "decimal": pa.decimal128(12, 4), "date": pa.date32()}
    return pa.table({c: pa.array([r[c] for r in table.rows], types[t])
                     for c, t in table.columns.items()})


def _duckdb(story: Story, folder: Path):
    import duckdb

    path = folder / f"{story.key}.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for name, table in story.tables.items():
            data = _arrow(table)  # noqa: F841 (read by the SQL below)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM data")
    finally:
        con.close()
    return f"duckdb:///{path}", {n: n for n in story.tables}


def _sqlite_value(v, kind: str):
    if v is None:
        return None
    if kind == "ts":
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if kind == "date":
        return v.isoformat()
    if kind == "bool":
        return 1 if v else 0
    if kind == "decimal":
        return str(v)  # SQLite has no DECIMAL: the text, as a driver would store it
    return v


def _sqlite(story: Story, folder: Path):
    path = folder / f"{story.key}.sqlite"
    path.unlink(missing_ok=True)
    declared = {"int": "BIGINT", "str": "TEXT", "bool": "BOOLEAN", "ts": "TIMESTAMP", "float": "DOUBLE",
                "decimal": "DECIMAL(12, 4)", "date": "DATE"}
    con = sqlite3.connect(path)
    try:
        for name, table in story.tables.items():
            cols = table.columns
            con.execute(f"CREATE TABLE {name} ("
                        + ", ".join(f"{c} {declared[t]}" for c, t in cols.items()) + ")")
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' for _ in cols)})",
                            [tuple(_sqlite_value(r[c], t) for c, t in cols.items())
                             for r in table.rows])
        con.commit()
    finally:
        con.close()
    return f"sqlite:///{path}", {n: n for n in story.tables}


def _postgres(story: Story, schema: str, url: str):
    import psycopg

    declared = {"int": "bigint", "str": "text", "bool": "boolean", "ts": "timestamp",
                "float": "double precision", "decimal": "numeric(12, 4)", "date": "date"}
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        for name, table in story.tables.items():
            cols = table.columns
            con.execute(f"CREATE TABLE {schema}.{name} ("
                        + ", ".join(f"{c} {declared[t]}" for c, t in cols.items()) + ")")
            with con.cursor() as cur, cur.copy(
                    f"COPY {schema}.{name} ({', '.join(cols)}) FROM STDIN") as copy:
                for r in table.rows:
                    copy.write_row(tuple(r[c] for c in cols))
    return url, {n: f"{schema}.{n}" for n in story.tables}


def _spark(story: Story, folder: Path):
    import pyarrow.parquet as pq

    ensure_spark_session()  # the test run's one shared session
    out = folder / f"{story.key}_spark"
    out.mkdir(parents=True, exist_ok=True)
    for name, table in story.tables.items():
        pq.write_table(_arrow(table), out / f"{name}.parquet")
    return f"spark:///{out}", {n: n for n in story.tables}


class Loader:
    """Builds each (backend, story) source once; drops its PostgreSQL schemas on close()."""

    def __init__(self, folder: Path, pg_url: str = PG_URL):
        self.folder = Path(folder)
        self.pg_url = pg_url
        self.schemas: list[str] = []
        self._built: dict[tuple[str, str], tuple[str, dict]] = {}

    def get(self, backend: str, story: Story) -> tuple[str, dict[str, str]]:
        key = (backend, story.key)
        if key not in self._built:
            if backend == "duckdb":
                built = _duckdb(story, self.folder)
            elif backend == "sqlite":
                built = _sqlite(story, self.folder)
            elif backend == "postgres":
                schema = f"dp_worked_{secrets.token_hex(4)}"
                self.schemas.append(schema)
                built = _postgres(story, schema, self.pg_url)
            elif backend == "spark":
                built = _spark(story, self.folder)
            else:
                raise ValueError(f"unknown backend {backend}")
            self._built[key] = built
        return self._built[key]

    def close(self) -> None:
        for schema in self.schemas:
            drop_postgres_schema(schema, self.pg_url)
        self.schemas.clear()
