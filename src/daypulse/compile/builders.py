"""The query of each metric kind computed in the source, in one table the engine reads.

``QUERIES[kind](ctx, name, metric, now_epoch)`` is the Ibis expression of one metric alone
(``now_epoch``: "now" for a state metric whose last day is today, else None); ``group_key``
says which metrics share one query (event metrics on one table, MRR movements of one entity...).
``kind: sql`` is the exception: its own SQL runs on the source's driver (``compile.sqlmetric``).
The kinds computed from other values (ratio, derived, manual) have no query: see
``daypulse.project.kinds``.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis.expr.types as ir

from daypulse.compile import changes, cumulative, event, snapshot, state
from daypulse.compile.base import Ctx

Query = Callable[[Ctx, str, object, "int | None"], ir.Table]

QUERIES: dict[str, Query] = {
    "event": lambda ctx, name, m, now: (event.window_metric(ctx, name, m) if m.window
                                        else event.event(ctx, name, m)),
    "state": lambda ctx, name, m, now: state.state(ctx, name, m, now),
    "cumulative": lambda ctx, name, m, now: cumulative.cumulative(ctx, name, m, ctx.project.metrics[m.of]),
    "movement": lambda ctx, name, m, now: changes.movement_group(ctx, [(name, m)], now),
    "lifecycle": lambda ctx, name, m, now: changes.lifecycle_group(ctx, [(name, m)]),
    "snapshot": lambda ctx, name, m, now: snapshot.snapshot(ctx, name, m),
}

_GROUP_KEYS = {
    "movement": lambda project, name, m: changes.movement_key(project, m),
    "lifecycle": lambda project, name, m: changes.lifecycle_key(project, m),
}


def group_key(project, name: str, m) -> tuple:
    """The query a metric is computed in: ("single", name) when it has one of its own."""
    key = _GROUP_KEYS.get(m.kind, event.group_key)(project, name, m)
    return key or ("single", name)


def group_query(ctx: Ctx, key: tuple, members: dict[str, set], now: int | None) -> ir.Table:
    """The one query of a group of metrics (its key from :func:`group_key`)."""
    metrics = [(n, ctx.project.metrics[n]) for n in members]
    if key[0] == "movement":
        return changes.movement_group(ctx, metrics, now)
    if key[0] == "lifecycle":
        return changes.lifecycle_group(ctx, metrics)
    return event.run_group(ctx, key, metrics, members)
