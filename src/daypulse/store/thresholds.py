"""Thresholds in the store: the rules kept, and the latest stored value each one judges.

A rule is a metric at one grain for one set of dimension values ('' key: the total), ``above``
or ``below`` a limit in the metric's stored units, with a severity; one rule per (metric, grain,
op, dimension values). What a rule means and whether a value crosses it is ``daypulse.alerts``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from daypulse.errors import UsageError
from daypulse.store.db import Store
from daypulse.store.models import MetricValueRow as V
from daypulse.store.models import Threshold as T
from daypulse.store.read import plain
from daypulse.values import dims_key


class RuleError(UsageError):
    """A rule that cannot be kept, naming the field at fault (``metric``, ``dims.region``...)."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


class DuplicateRule(RuleError):
    def __init__(self, existing: int | None, what: str):
        self.existing = existing
        super().__init__("metric", f"there is already a rule for {what}"
                                   + (f" (threshold {existing}: remove it first to change it)" if existing else ""))


@dataclass(frozen=True)
class ThresholdRule:
    id: int
    metric: str
    grain: str
    op: str  # above | below
    limit: int | float  # in the metric's stored units
    dims: dict[str, str]  # {} is the total
    severity: str  # warning | critical
    note: str | None
    created_by: str
    created_at: datetime  # aware, UTC

    def describe(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in sorted(self.dims.items())) or "total"
        return f"{self.metric} ({self.grain}, {where}) {self.op} {self.limit}"


def insert_rule(store: Store, *, metric: str, grain: str, op: str, limit: Decimal, dims: dict[str, str],
                severity: str, note: str | None, created_by: str) -> ThresholdRule:
    """Keep a rule (already checked); DuplicateRule if there is one for the same metric, grain, op
    and dimension values."""
    key = dims_key(dims)
    what = f"{metric} ({grain}, {', '.join(f'{k}={v}' for k, v in sorted(dims.items())) or 'total'}) {op}"
    row = {"metric": metric, "grain": grain, "op": op, "dims_key": key, "dims": dict(sorted(dims.items())),
           "value": limit if store.dialect == "postgresql" else float(limit), "severity": severity,
           "note": note, "created_by": created_by, "created_at": datetime.now(UTC)}
    try:
        with store.engine.begin() as conn:
            existing = conn.execute(select(T.id).where(T.metric == metric, T.grain == grain, T.op == op,
                                                       T.dims_key == key)).scalar()
            if existing is not None:
                raise DuplicateRule(existing, what)
            id = conn.execute(insert(T).values(**row).returning(T.id)).scalar_one()
    except IntegrityError:  # another writer got there between the check and the insert
        raise DuplicateRule(None, what) from None
    return get(store, id)


def listing(store: Store, scope: dict[str, str] | None = None) -> list[ThresholdRule]:
    """Every rule by id, or (``scope``) those whose dimension values lie within the scope."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(*_COLUMNS).order_by(T.id)).all()
    return [r for r in map(_rule, rows) if in_scope(r.dims, scope)]


def get(store: Store, id: int) -> ThresholdRule | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(*_COLUMNS).where(T.id == id)).first()
    return _rule(row) if row else None


def remove(store: Store, id: int) -> ThresholdRule | None:
    """Delete a rule; the rule that was removed, or None when there was none."""
    with store.engine.begin() as conn:
        row = conn.execute(select(*_COLUMNS).where(T.id == id)).first()
        if row is None:
            return None
        conn.execute(delete(T).where(T.id == id))
    return _rule(row)


def in_scope(dims: dict[str, str], scope: dict[str, str] | None) -> bool:
    """A scoped reader (a tenant's token) sees rules about its own dimension values only: a rule
    on the company total, or on a metric not broken down by tenant, spans every tenant."""
    return all(dims.get(k) == v for k, v in (scope or {}).items())


# -- the values rules judge ---------------------------------------------------------------

def latest_values(store: Store, last_complete: dict[str, date], grain: str | None = None,
                  ) -> list[tuple[ThresholdRule, date, object, object]]:
    """(rule, period, value, limit as stored) of the newest stored period of each rule's metric, grain and
    dimension values that is not after ``last_complete[grain]``. One query for every rule."""
    # The newest period per rule as a correlated subquery: the store's unique index answers it
    # per rule, where a GROUP BY over metric_values would read every stored value (0.1 s on the
    # demo store, on every dashboard page).
    complete = case(*[(T.grain == g, d) for g, d in last_complete.items()])
    newer = aliased(V)
    newest = (select(func.max(newer.period_start))
              .where(newer.metric == T.metric, newer.grain == T.grain, newer.dims_key == T.dims_key,
                     newer.period_start <= complete)
              .scalar_subquery())
    q = (select(*_COLUMNS, V.period_start, V.value.label("current"))
         .join(V, and_(V.metric == T.metric, V.grain == T.grain, V.dims_key == T.dims_key,
                       V.period_start == newest)))
    if grain is not None:
        q = q.where(T.grain == grain)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    # The value and the limit as stored (exact NUMERIC on PostgreSQL): compare those, show the rule's.
    return [(_rule(row), row.period_start, row.current, row.value) for row in rows]


_COLUMNS = (T.id, T.metric, T.grain, T.op, T.value, T.dims, T.severity, T.note, T.created_by, T.created_at)


def _rule(r) -> ThresholdRule:
    at = r.created_at
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return ThresholdRule(r.id, r.metric, r.grain, r.op, _number(r.value), dict(r.dims or {}), r.severity, r.note,
                         r.created_by, at)


def _number(v) -> int | float:
    # SQLite hands back REAL (7.0) where PostgreSQL has NUMERIC (7): show both as 7.
    v = plain(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v
