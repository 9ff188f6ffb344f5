"""Reading stored values for reports (and later the API): series, breakdowns, freshness."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import and_, func, select

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
        return {(m, p): v for m, p, v in conn.execute(q)}


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
            out[(m, p, dims[dimension])] = v
    return out


def fresh_counts(store: Store, hashes: dict[str, str], grain: str, first: date, last: date,
                 dims_key: str = "") -> dict[str, int]:
    """Stored periods per metric in [first, last] computed with the current definition."""
    if not hashes:
        return {}
    conds = [and_(V.metric == m, V.definition_hash == h) for m, h in hashes.items()]
    from sqlalchemy import or_

    q = (select(V.metric, func.count()).where(or_(*conds), V.grain == grain,
                                               V.period_start.between(first, last),
                                               V.dims_key == dims_key)
         .group_by(V.metric))
    with store.engine.connect() as conn:
        return dict(conn.execute(q).all())
