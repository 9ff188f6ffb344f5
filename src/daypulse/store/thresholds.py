"""Thresholds: lines a metric should not cross, and which of them the latest values cross.

A rule is a metric at one grain for one set of dimension values ('' key: the total), ``above``
or ``below`` a limit in the metric's stored units (cents for money, a fraction for a ratio:
0.05 is 5 %), with a severity. There is one rule per (metric, grain, op, dimension values): a
second is a :class:`DuplicateRule`. The API, the CLI (`daypulse thresholds`) and the
dashboard's alert indicators all go through these functions, so the rules live here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from daypulse.errors import UsageError
from daypulse.store.db import Store
from daypulse.store.models import MetricValueRow as V
from daypulse.store.models import Threshold as T
from daypulse.store.read import plain
from daypulse.values import dims_key

OPS = ("above", "below")
SEVERITIES = ("warning", "critical")
MAX_DIGITS = 60  # a limit is a business number; longer is a typo (and beyond what SQLite keeps)


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


@dataclass(frozen=True)
class Breach:
    """A rule the latest stored value of its metric, grain and dimensions crosses."""

    threshold_id: int
    metric: str
    grain: str
    dims: dict[str, str]
    op: str
    limit: int | float
    severity: str
    note: str | None
    period_start: date  # the latest stored period
    value: int | float


# -- rules ----------------------------------------------------------------------------------

def check_rule(project, metric: str, grain: str, op: str, value, dims: dict[str, str] | None,
               severity: str) -> tuple[Decimal, dict[str, str]]:
    """The limit as an exact decimal and the dimension values, or RuleError naming the field."""
    from daypulse.calendar import GRAINS

    if metric not in project.metrics:
        match = difflib.get_close_matches(metric, list(project.metrics), n=1)
        raise RuleError("metric", f"unknown metric {metric!r}" + (f" (did you mean {match[0]!r}?)" if match else ""))
    if grain not in GRAINS:
        raise RuleError("grain", f"unknown grain {grain!r} (one of {', '.join(GRAINS)})")
    if not project.grains_of(metric, [grain]):
        raise RuleError("grain", f"{metric} is not computed at {grain} grain")
    if op not in OPS:
        raise RuleError("op", f"{op!r} is not one of {', '.join(OPS)}")
    if severity not in SEVERITIES:
        raise RuleError("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    have = project.dimensions_of(metric)
    dims = dict(dims or {})
    for k, v in dims.items():
        if k not in have:
            raise RuleError(f"dims.{k}", f"metric {metric!r} has no dimension {k!r}"
                                         f" (its dimensions: {', '.join(sorted(have)) or 'none'})")
        if not isinstance(v, str) or not v.strip() or len(v) > 200:
            raise RuleError(f"dims.{k}", "a dimension value is a non-empty text of at most 200 characters")
    return limit_of(value), dims


def limit_of(value) -> Decimal:
    from daypulse.store.manual import canonical

    try:
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise RuleError("value", f"not a number: {value!r}") from None
    if isinstance(value, bool) or not d.is_finite():
        raise RuleError("value", f"not a finite number: {value!r}")
    d = canonical(d)
    if len(format(d, "f")) > MAX_DIGITS:
        raise RuleError("value", f"{value!r} has more than {MAX_DIGITS} digits")
    return d


def add(store: Store, project, *, metric: str, op: str, value, grain: str = "day",
        dims: dict[str, str] | None = None, severity: str = "warning", note: str | None = None,
        created_by: str) -> ThresholdRule:
    """Keep a new rule (checked against the project first); DuplicateRule if there is one already."""
    limit, dims = check_rule(project, metric, grain, op, value, dims, severity)
    key = dims_key(dims)
    what = f"{metric} ({grain}, {', '.join(f'{k}={v}' for k, v in sorted(dims.items())) or 'total'}) {op}"
    note = (note or "").strip() or None
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


# -- breaches -----------------------------------------------------------------------------

def breaches(project, store: Store, scope: dict[str, str] | None = None,
             grain: str | None = None, now: datetime | None = None) -> list[Breach]:
    """The rules the latest stored value of a period that is over (at the rule's grain, for its
    dimension values) crosses: critical first, then by metric. Rules of metrics no longer in
    the project, and values not stored (or NULL), raise nothing. One query for every rule."""
    from daypulse.calendar import GRAINS

    # The newest period per rule as a correlated subquery: the store's unique index answers it
    # per rule, where a GROUP BY over metric_values would read every stored value (0.1 s on the
    # demo store, on every dashboard page).
    # Only periods that are over: a month so far is not "below" a monthly line on its 3rd day.
    cal = project.calendar
    today = cal.today(now)
    complete = case(*[(T.grain == g, cal.shift(g, cal.period_start(g, today), 1)) for g in GRAINS],
                    else_=today - timedelta(days=1))
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
    out = []
    for row in rows:
        rule = _rule(row)
        current = row.current
        if rule.metric not in project.metrics or current is None or not in_scope(rule.dims, scope):
            continue
        limit = row.value
        if (current > limit) if rule.op == "above" else (current < limit):
            out.append(Breach(rule.id, rule.metric, rule.grain, rule.dims, rule.op, rule.limit, rule.severity,
                              rule.note, row.period_start, _number(current)))
    out.sort(key=lambda b: (b.severity != "critical", b.metric, b.threshold_id))
    return out


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
