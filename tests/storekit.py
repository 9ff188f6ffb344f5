"""Small helpers for store and CLI tests: a tiny DuckDB source, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import yaml

PG_ADMIN = os.environ.get("DAYPULSE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def make_source(path: Path, days: int = 40, start: datetime = datetime(2026, 2, 1)) -> str:
    """Events and subscriptions with a known shape: day k has k % 5 + 1 events per tenant."""
    import duckdb

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("create table events(id int, user_id int, tenant varchar, occurred_at timestamp,"
                " amount_cents bigint)")
    con.execute("create table subscriptions(id int, user_id int, tenant varchar,"
                " started_at timestamp, canceled_at timestamp, mrr_cents bigint)")
    rows, subs, i = [], [], 0
    for k in range(days):
        for tenant in ("acme", "globex"):
            for j in range(k % 5 + 1):
                i += 1
                rows.append((i, (i * 7) % 13, tenant, start + timedelta(days=k, hours=12, minutes=j),
                             100 * (j + 1)))
    for s in range(20):
        subs.append((s, s, "acme" if s % 2 else "globex", start + timedelta(days=s),
                     start + timedelta(days=s + 10) if s % 3 == 0 else None, 1000 + s))
    con.executemany("insert into events values (?,?,?,?,?)", rows)
    con.executemany("insert into subscriptions values (?,?,?,?,?,?)", subs)
    con.close()
    return f"duckdb:///{path}"


PROJECT = {
    "name": "t",
    "timezone": "Asia/Kolkata",
    "metrics": {
        "events": {"table": "events", "time": "occurred_at", "dimensions": {"tenant": "tenant"}},
        "revenue": {"table": "events", "time": "occurred_at", "measure": "sum",
                    "column": "amount_cents", "format": "currency"},
        "users": {"table": "events", "time": "occurred_at", "measure": "count_distinct",
                  "column": "user_id"},
        "wau": {"table": "events", "time": "occurred_at", "measure": "count_distinct",
                "column": "user_id", "window": 7},
        "active_subscriptions": {"kind": "state", "table": "subscriptions",
                                 "start": "started_at", "end": "canceled_at"},
        "stickiness": {"kind": "ratio", "numerator": "users", "denominator": "wau"},
        "events_mtd": {"kind": "cumulative", "of": "events"},
    },
}


def write_project(folder: Path, source: str, store: str, **changes) -> Path:
    data = {**PROJECT, "source": source, "store": store, **changes}
    path = folder / "daypulse.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@contextmanager
def postgres_store():
    """A fresh PostgreSQL database for one store, dropped afterwards."""
    import psycopg

    name = f"dp_store_{secrets.token_hex(4)}"
    admin = PG_ADMIN
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from sqlalchemy import create_engine  # noqa: F401 (engines are disposed by GC)

        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
