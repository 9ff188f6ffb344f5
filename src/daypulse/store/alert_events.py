"""The events metric alert rules raise (DESIGN §9), kept per (rule, dimension values, opening
period): re-evaluating a window replaces its episodes -- an event found again keeps its row (its
id and a person's acknowledgement), one no longer found goes -- in one transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import and_, delete, insert, or_, select, update

from daypulse.store.db import Store
from daypulse.store.models import AlertEvent


def reconcile(store: Store, rule: str, metric: str, grain: str, dims_key: str, dims: dict, severity: str,
              since: date, found: list) -> tuple[int, int]:
    """Make the rule's events opened on or after ``since`` be ``found`` (``alerts.rules.Episode``);
    (opened, resolved) counts of what changed."""
    at = datetime.now(UTC)
    opened = resolved = 0
    with store.engine.begin() as conn:
        have = {r.period: r for r in conn.execute(select(*AlertEvent.__table__.c).where(
            AlertEvent.rule == rule, AlertEvent.dims_key == dims_key, AlertEvent.period >= since))}
        for e in found:
            fields = {"value": e.value, "limit": e.limit, "resolved_period": e.resolved, "severity": severity}
            old = have.pop(e.opened, None)
            if old is None:
                conn.execute(insert(AlertEvent).values(rule=rule, metric=metric, grain=grain, dims_key=dims_key,
                                                       dims=dims, period=e.opened, opened_at=at,
                                                       resolved_at=at if e.resolved else None, **fields))
                opened += 1
                resolved += e.resolved is not None
            else:
                if old.resolved_period != e.resolved:
                    fields["resolved_at"] = at if e.resolved else None
                    resolved += e.resolved is not None
                conn.execute(update(AlertEvent).where(AlertEvent.id == old.id).values(**fields))
        if have:
            conn.execute(delete(AlertEvent).where(AlertEvent.id.in_([r.id for r in have.values()])))
    return opened, resolved


def open_before(store: Store, rule: str, dims_key: str, day: date) -> list[date]:
    """The opening period of the rule's event still open that opened before ``day`` (at most one)."""
    q = select(AlertEvent.period).where(AlertEvent.rule == rule, AlertEvent.dims_key == dims_key,
                                        AlertEvent.period < day, AlertEvent.resolved_period.is_(None))
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(q)]


def events(store: Store, *, open_only: bool = False, rule: str | None = None, metric: str | None = None,
           grain: str | None = None, dims_key: str | None = None, open_during: tuple[date, date] | None = None
           ) -> list:
    """Events newest first; ``open_during=(first, last)``: those opened by ``last`` and not
    resolved by ``first`` (open on some day of it)."""
    q = select(*AlertEvent.__table__.c)
    if open_only:
        q = q.where(AlertEvent.resolved_period.is_(None))
    for column, value in ((AlertEvent.rule, rule), (AlertEvent.metric, metric), (AlertEvent.grain, grain),
                          (AlertEvent.dims_key, dims_key)):
        if value is not None:
            q = q.where(column == value)
    if open_during is not None:
        first, last = open_during
        q = q.where(AlertEvent.period <= last,
                    or_(AlertEvent.resolved_period.is_(None), AlertEvent.resolved_period > first))
    with store.engine.connect() as conn:
        return list(conn.execute(q.order_by(AlertEvent.period.desc(), AlertEvent.id.desc())))


def event(store: Store, event_id: int):
    with store.engine.connect() as conn:
        return conn.execute(select(*AlertEvent.__table__.c).where(AlertEvent.id == event_id)).first()


def acknowledge(store: Store, event_id: int, by: str, note: str):
    """Acknowledge an event not yet resolved; None when there is no such event or it is resolved
    or acknowledged already."""
    with store.engine.begin() as conn:
        done = conn.execute(update(AlertEvent).where(and_(
            AlertEvent.id == event_id, AlertEvent.resolved_period.is_(None), AlertEvent.acked_at.is_(None)))
            .values(acked_at=datetime.now(UTC), acked_by=by, ack_note=note))
        if not done.rowcount:
            return None
    return event(store, event_id)


def state(row) -> str:
    return "resolved" if row.resolved_period else "acknowledged" if row.acked_at else "open"


def record(row) -> dict:
    """DESIGN §9's export record of an event (plus its severity, resolution period and ack)."""
    return {"id": row.id, "rule": row.rule, "metric": row.metric, "grain": row.grain,
            "period": row.period.isoformat(), "dimensions": row.dims, "value": _whole(row.value),
            "limit": _whole(row.limit), "state": state(row), "opened_at": _iso(row.opened_at),
            "resolved_at": _iso(row.resolved_at), "severity": row.severity,
            "resolved_period": row.resolved_period.isoformat() if row.resolved_period else None,
            "acked_by": row.acked_by, "ack_note": row.ack_note}


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).isoformat()


def _whole(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v



