"""Reading stored values for reports (and later the API): series, breakdowns, freshness."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import distinct, func, select

from daypulse.calendar import Calendar
from daypulse.store.db import Store
from daypulse.store.models import MetricValueRow as V


def values(store: Store, metrics: Iterable[str], grain: str, first: date, last: date,
           dims_key: str = "") -> dict[tuple[str, date], float | None]:
    """{(metric, period_start): value} of one dimension set ('' = the total)."""
    metrics = list(metrics)
    if not metrics:
        return {}
    q = select(V.metric, V.period_start, V.value).where(
        V.metric.in_(metrics), V.grain == grain, V.period_start.between(first, last),
        V.dims_key == dims_key)
    with store.engine.connect() as conn:
        return {(m, p): plain(v) for m, p, v in conn.execute(q)}


def hour_values(store: Store, metric: str, first: date, last: date,
                dims_key: str = "") -> dict[tuple[date, int], float | None]:
    """{(local day, hour of the day): value} of one hour series over days [first, last]."""
    q = select(V.period_start, V.hour, V.value).where(
        V.metric == metric, V.grain == "hour", V.period_start.between(first, last), V.dims_key == dims_key)
    with store.engine.connect() as conn:
        return {(p, h): plain(v) for p, h, v in conn.execute(q)}


def hours_of_day(store: Store, cal: Calendar, metric: str, day: date,
                 dims_key: str = "") -> list[tuple[str, float | None, float | None]]:
    """(label, value, the day before's) of each stored hour of local ``day``: the label is the
    hour's start with its offset ("2026-11-01T01:00-05:00", so a repeated hour is two), the day
    before's value that of the same wall-clock hour (the first of a repeated one)."""
    before_day = day - timedelta(days=1)
    got = hour_values(store, metric, before_day, day, dims_key)
    before: dict[str, float | None] = {}
    for h in sorted(h for d, h in got if d == before_day):  # the first of a repeated hour wins
        before.setdefault(cal.hour_label(before_day, h)[11:16], got[(before_day, h)])
    out = []
    for h in sorted(h for d, h in got if d == day):
        label = cal.hour_label(day, h)
        out.append((label, got[(day, h)], before.get(label[11:16])))
    return out


def latest(store: Store, metric: str, grain: str, dims_key: str = ""):
    """The newest stored row of one series: (period_start, value, computed_at), or None."""
    with store.engine.connect() as conn:
        return conn.execute(select(V.period_start, V.value, V.computed_at, V.hour).where(
            V.metric == metric, V.grain == grain, V.dims_key == dims_key)
            .order_by(V.period_start.desc(), V.hour.desc()).limit(1)).first()


def latest_day(store: Store) -> date | None:
    """The newest stored day of any total."""
    with store.engine.connect() as conn:
        return conn.execute(select(func.max(V.period_start)).where(V.grain == "day", V.dims_key == "")).scalar()


def data_span(store: Store) -> tuple[date, date] | None:
    """The first and the last stored day of any total (None when nothing is stored)."""
    with store.engine.connect() as conn:
        first, last = conn.execute(select(func.min(V.period_start), func.max(V.period_start)).where(
            V.grain == "day", V.dims_key == "")).one()
    return (first, last) if first is not None else None


def dims_keys(store: Store, metrics: Iterable[str], grain: str, first: date, last: date) -> list[str]:
    """The dimension keys (not the total) stored for these metrics at ``grain`` in the range."""
    metrics = list(metrics)
    if not metrics:
        return []
    q = select(distinct(V.dims_key)).where(
        V.metric.in_(metrics), V.grain == grain, V.period_start.between(first, last), V.dims_key != "")
    with store.engine.connect() as conn:
        return [key for (key,) in conn.execute(q)]


def plain(v):
    """NUMERIC values (a PostgreSQL store) as int or float, as a SQLite store returns them,
    so the report's arithmetic (medians, shares) never mixes Decimal with float."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def exported(v):
    """A stored value as exports show it (the export contract): whole numbers as integers, so
    12 is 12 whether the store kept NUMERIC (PostgreSQL) or a double (SQLite)."""
    v = plain(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v


def by_dimension(store: Store, metrics: Iterable[str], grain: str, first: date, last: date,
                 dimension: str, within: dict[str, str] | None = None
                 ) -> dict[tuple[str, date, str], float | None]:
    """{(metric, period_start, value of ``dimension``): value} for rows broken down by exactly
    ``dimension`` plus the ``within`` dimensions (a tenant's report: {tenant: acme})."""
    metrics = list(metrics)
    within = within or {}
    wanted = {dimension, *within}
    # dims_key starts with the first dimension name in sorted order; filter coarsely in SQL
    # (LIKE on that prefix) and exactly in Python on the JSON dims.
    first_name = sorted(wanted)[0]
    q = select(V.metric, V.period_start, V.dims, V.value).where(
        V.metric.in_(metrics), V.grain == grain, V.period_start.between(first, last),
        V.dims_key.like(f"{first_name}=%"))
    out = {}
    with store.engine.connect() as conn:
        for m, p, dims, v in conn.execute(q):
            if set(dims) != wanted or any(dims.get(k) != val for k, val in within.items()):
                continue
            out[(m, p, dims[dimension])] = plain(v)
    return out


def fresh_counts(store: Store, hashes: dict[str, str], grain: str, first: date, last: date,
                 over_at: dict[date, datetime], dims_key: str = "") -> dict[str, int]:
    """Stored periods per metric in [first, last] that are fresh: computed with the current
    definition, and after the period was over (``over_at[period_start]``, the instant its last
    day ended) — a week stored on its Wednesday is a partial week, not last week's number."""
    if not hashes:
        return {}
    q = select(V.metric, V.period_start, V.definition_hash, V.computed_at).where(
        V.metric.in_(list(hashes)), V.grain == grain, V.period_start.between(first, last),
        V.dims_key == dims_key)
    out: dict[str, int] = {}
    with store.engine.connect() as conn:
        for m, p, h, at in conn.execute(q):
            if at is not None and at.tzinfo is None:
                at = at.replace(tzinfo=UTC)  # SQLite hands back naive UTC
            over = over_at.get(p)
            if h == hashes[m] and over is not None and at is not None and at >= over:
                out[m] = out.get(m, 0) + 1
    return out


def csv_text(rows: list[dict], extra: tuple[str, ...] = ()) -> str:
    """Rows of the export contract as CSV (the API's export and the dashboard's button), then
    the ``extra`` columns the rows carry (the dashboard's ``unit`` and ``display``)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["metric", "grain", "period", "dimensions", "value", *extra])
    for r in rows:
        value = exported(r["value"])
        w.writerow([r["metric"], r["grain"], r["period"],
                    ";".join(f"{k}={v}" for k, v in sorted(r["dimensions"].items())),
                    "" if value is None else value, *(r[c] for c in extra)])
    return buf.getvalue()
