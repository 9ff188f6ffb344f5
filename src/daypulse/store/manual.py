"""Values people type in for ``kind: manual`` metrics (burn rate, runway...).

A value holds from its ``effective_from`` day until the next value set for the same metric:
a step function, which the engine carries forward (it reads them with ``series``). The CLI
(`daypulse manual`) and, later, the REST API set them through these functions, so the rules
live here: one value per metric and day (setting it again replaces it), each write in one
transaction, values as exact decimals (money in integer cents, like everywhere in daypulse).

The ``Store`` passed in is opened by the caller; reading callers open it with
``open_store(url, create=False)`` so that a mistyped store path is an error, not a new store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, select

from daypulse.errors import UsageError
from daypulse.project.model import unknown_metric
from daypulse.store.db import Store
from daypulse.store.models import ManualValueRow

MANUAL = "manual"


@dataclass(frozen=True)
class ManualValue:
    metric: str
    effective_from: date
    value: Decimal  # in cents for currency metrics
    note: str | None
    set_by: str | None
    set_at: datetime  # aware, UTC


@dataclass(frozen=True)
class SetResult:
    """What ``set_value`` did: ``value`` is what is stored now, ``previous`` what was stored
    for that metric and day before (None: nothing). ``changed`` is False when the same value
    and note were already there; then nothing was written (``set_at`` keeps its time)."""

    value: ManualValue
    previous: ManualValue | None
    changed: bool


# -- the project's side: which metrics are manual, what a value may be ---------------------

def manual_metrics(project) -> list[str]:
    """The names of the project's ``kind: manual`` metrics, in file order."""
    return [n for n, m in project.metrics.items() if getattr(m, "kind", None) == MANUAL]


def require_manual(project, name: str) -> None:
    """Refuse (UsageError, exit 2) a name that is not a manual metric of the project,
    listing the ones that are."""
    names = manual_metrics(project)
    if name in names:
        return
    if name in project.metrics:
        kind = getattr(project.metrics[name], "kind", "?")
        what = f"{name!r} is not a manual metric (it is a kind: {kind} metric, computed from the source)"
    else:
        what = unknown_metric(project, [name], among=names)
    listing = (f"manual metrics: {', '.join(names)}" if names else
               "the project has no manual metrics (declare one with kind: manual)")
    raise UsageError(f"{what}; {listing}")


def parse_value(project, name: str, text: str) -> Decimal:
    """``text`` as the exact decimal to store for the manual metric ``name``.

    A currency metric's value is in cents, so it must be a whole number (4500000 is
    45,000.00): a value with a fraction of a cent is far more likely a typo'd amount.
    """
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise UsageError(f"VALUE: not a number: {text!r} (write e.g. 4500000 or 12.5)") from None
    if not value.is_finite():
        raise UsageError(f"VALUE: not a finite number: {text!r}")
    m = project.metrics.get(name)
    if getattr(m, "format", None) == "currency" and value != value.to_integral_value():
        raise UsageError(f"VALUE: {name} is a currency metric, so VALUE is in cents and must be"
                         f" a whole number: {text!r} has a fraction of a cent (4500000 is 45,000.00)")
    return canonical(value)


def canonical(value) -> Decimal:
    """An exact decimal without trailing zeros (``1234.50`` -> ``1234.5``, ``1E+3`` -> ``1000``):
    the same number reads back the same from either store."""
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not d.is_finite():
        raise UsageError(f"not a finite number: {value!r}")
    if d == 0:
        return Decimal(0)
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return Decimal(s)


# -- the store ---------------------------------------------------------------------------

def set_value(store: Store, metric: str, effective_from: date, value: Decimal,
              note: str | None = None, set_by: str | None = None) -> SetResult:
    """Set ``metric`` to ``value`` from ``effective_from`` on (until its next value).

    An upsert in one transaction: a value already set for that day is replaced. Setting
    the same value and note again writes nothing (idempotent). The caller checks that
    ``metric`` is a manual metric of the project (``require_manual``).
    """
    _check_day(effective_from)
    if not metric or len(metric) > 200:
        raise UsageError(f"bad metric name {metric!r}")
    value = canonical(value)
    if note is not None:
        note = note.strip() or None
    if store.dialect == "sqlite" and canonical(float(value)) != value:
        # SQLite keeps values as doubles (like metric_values): refuse rather than round.
        raise UsageError(f"VALUE: {value} has more digits than a SQLite store keeps exactly"
                         " (about 15): round it, or use a PostgreSQL store")
    at = datetime.now(UTC)
    with store.engine.begin() as conn:
        q = select(*_COLUMNS).where(ManualValueRow.metric == metric,
                                    ManualValueRow.effective_from == effective_from)
        if store.dialect == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        previous = _manual_value(row) if row else None
        if previous and (previous.value, previous.note) == (value, note):
            return SetResult(previous, previous, changed=False)
        conn.execute(_upsert(store.dialect, {
            "metric": metric, "effective_from": effective_from,
            "value": _storable(store, value), "note": note, "set_by": set_by, "set_at": at}))
    return SetResult(ManualValue(metric, effective_from, value, note, set_by, at), previous,
                     changed=True)


def unset_value(store: Store, metric: str, effective_from: date) -> bool:
    """Remove the value set for ``metric`` from ``effective_from``; False when there was none.
    The previous value (if any) then holds on through that day."""
    _check_day(effective_from)
    with store.engine.begin() as conn:
        gone = conn.execute(delete(ManualValueRow).where(
            ManualValueRow.metric == metric, ManualValueRow.effective_from == effective_from))
        return gone.rowcount > 0


def list_values(store: Store, metric: str | None = None) -> list[ManualValue]:
    """Every value set (or those of one metric), by metric and day."""
    q = select(*_COLUMNS).order_by(ManualValueRow.metric, ManualValueRow.effective_from)
    if metric is not None:
        q = q.where(ManualValueRow.metric == metric)
    with store.engine.connect() as conn:
        return [_manual_value(r) for r in conn.execute(q)]


def series(store: Store, names) -> dict[str, list[tuple[date, Decimal]]]:
    """{metric: [(effective_from, value), ...] sorted by day} for each of ``names`` (an empty
    list for a metric with no value yet). Each value holds until the next one's day."""
    names = list(dict.fromkeys(names))
    out: dict[str, list[tuple[date, Decimal]]] = {n: [] for n in names}
    if not names:
        return out
    q = (select(ManualValueRow.metric, ManualValueRow.effective_from, ManualValueRow.value)
         .where(ManualValueRow.metric.in_(names))
         .order_by(ManualValueRow.metric, ManualValueRow.effective_from))
    with store.engine.connect() as conn:
        for metric, day, value in conn.execute(q):
            out[metric].append((day, canonical(value)))
    return out


_COLUMNS = (ManualValueRow.metric, ManualValueRow.effective_from, ManualValueRow.value,
            ManualValueRow.note, ManualValueRow.set_by, ManualValueRow.set_at)


def _manual_value(row) -> ManualValue:
    metric, day, value, note, set_by, at = row
    # SQLite hands timestamps back naive (they were written in UTC); PostgreSQL in its zone.
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return ManualValue(metric, day, canonical(value), note, set_by, at)


def _storable(store: Store, value: Decimal):
    if store.dialect == "postgresql":
        return value  # NUMERIC: exact
    return int(value) if value == value.to_integral_value() else float(value)


def _upsert(dialect: str, row: dict):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(ManualValueRow).values(**row)
    return stmt.on_conflict_do_update(
        index_elements=[ManualValueRow.metric, ManualValueRow.effective_from],
        set_={c: stmt.excluded[c] for c in ("value", "note", "set_by", "set_at")})


def _check_day(d) -> None:
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"effective_from must be a date, not {type(d).__name__}")
