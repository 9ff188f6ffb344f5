"""The churn scores and alerts daypulse keeps (DESIGN §8): written a range of days at a time, in
one transaction, and read back for the list, one customer's history, and the alerts.

Re-scoring a range replaces its scores and re-decides its alerts: an alert the range opens again
keeps its row (its id, and a person's resolution and action), one it no longer opens is deleted,
and what the range had cleared is undone before the new decision clears it again. So a range
scored twice stores the same rows, never a second alert.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Text, and_, cast, delete, func, insert, or_, select, update

from daypulse.store.db import Store
from daypulse.store.models import ChurnAlert, ChurnScore, Run

SCORE_BATCH = 5000


@dataclass(frozen=True)
class NewAlert:
    entity: str
    type: str
    opened: date
    severity: str
    cleared: date | None
    reason: str | None
    dims: dict
    snapshot: dict


@dataclass(frozen=True)
class Cleared:
    id: int
    day: date
    reason: str


def now() -> datetime:
    return datetime.now(UTC)


def live_alerts(store: Store, first: date) -> list:
    """The alerts whose episode went on at the start of ``first``: opened before it and not
    cleared before it (a person's resolution does not end the episode: the condition does)."""
    return _rows(store, _all(ChurnAlert).where(
        ChurnAlert.opened < first, or_(ChurnAlert.cleared.is_(None), ChurnAlert.cleared >= first)))


def replace_range(store: Store, first: date, last: date, scores: Iterable[dict], opened: list[NewAlert],
                  cleared: list[Cleared], run_id: int, only: dict[str, str] | None = None) -> int:
    """Scores and alerts of local days [first, last], in ONE transaction with the run's success:
    a crash half-way leaves what was there before. ``only``: the customers with these dimension
    values (a tenant) are replaced, the others' rows are left as they are."""
    at = now()
    n = 0
    mine_s, mine_a = _only(ChurnScore, only), _only(ChurnAlert, only)
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('daypulse.churn'))")
        conn.execute(delete(ChurnScore).where(ChurnScore.day.between(first, last), *mine_s))
        batch: list[dict] = []
        for r in scores:
            batch.append({"entity": r["entity"], "day": date.fromisoformat(r["day"]), "score": r["score"],
                          "level": r["level"], "dims": r["dimensions"], "signals": r["signals"],
                          "run_id": run_id, "computed_at": at})
            if len(batch) == SCORE_BATCH:
                conn.execute(insert(ChurnScore), batch)
                n += len(batch)
                batch = []
        if batch:
            conn.execute(insert(ChurnScore), batch)
            n += len(batch)
        # An alert the range opens again keeps its row (its id, and a person's resolution);
        # one it no longer opens goes.
        before = {(a.entity, a.type, a.opened): a.id for a in conn.execute(
            select(ChurnAlert.id, ChurnAlert.entity, ChurnAlert.type, ChurnAlert.opened)
            .where(ChurnAlert.opened.between(first, last), *mine_a))}
        conn.execute(update(ChurnAlert).where(ChurnAlert.opened < first, ChurnAlert.cleared.between(first, last),
                                              *mine_a).values(cleared=None, reason=None))
        for a in opened:
            fields = {"severity": a.severity, "cleared": a.cleared, "reason": a.reason, "dims": a.dims,
                      "snapshot": a.snapshot}
            kept = before.pop((a.entity, a.type, a.opened), None)
            if kept is None:
                conn.execute(insert(ChurnAlert).values(entity=a.entity, type=a.type, opened=a.opened, **fields))
            else:
                conn.execute(update(ChurnAlert).where(ChurnAlert.id == kept).values(**fields))
        if before:
            conn.execute(delete(ChurnAlert).where(ChurnAlert.id.in_(list(before.values()))))
        for c in cleared:
            conn.execute(update(ChurnAlert).where(ChurnAlert.id == c.id).values(cleared=c.day, reason=c.reason))
        conn.execute(update(Run).where(Run.id == run_id).values(state="succeeded", finished_at=now(), rows=n))
    return n


def _only(model, only: dict[str, str] | None) -> list:
    """Conditions keeping the rows whose dimension values include ``only``'s (JSON, read in SQL:
    the replace of one tenant and the reads of one tenant's customers filter alike)."""
    return [model.dims[k].as_string() == v for k, v in (only or {}).items()]


def latest_day(store: Store) -> date | None:
    with store.engine.connect() as conn:
        return conn.execute(select(func.max(ChurnScore.day))).scalar()


def scores_on(store: Store, day: date, levels: list[str] | None = None,
              dims: dict[str, str] | None = None) -> list:
    """The scores of one day, riskiest first; ``dims`` keeps only customers with those values."""
    q = _all(ChurnScore).where(ChurnScore.day == day, *_only(ChurnScore, dims))
    if levels:
        q = q.where(ChurnScore.level.in_(levels))
    return _rows(store, q.order_by(ChurnScore.score.desc(), ChurnScore.entity))


def history(store: Store, entity: str, first: date | None = None) -> list:
    q = _all(ChurnScore).where(ChurnScore.entity == entity)
    if first:
        q = q.where(ChurnScore.day >= first)
    return _rows(store, q.order_by(ChurnScore.day))


def alerts(store: Store, *, open_only: bool = False, types: list[str] | None = None,
           entity: str | None = None, dims: dict[str, str] | None = None) -> list:
    q = _all(ChurnAlert).where(*_only(ChurnAlert, dims))
    if open_only:
        q = q.where(ChurnAlert.cleared.is_(None), ChurnAlert.resolved_at.is_(None))
    if types:
        q = q.where(ChurnAlert.type.in_(types))
    if entity is not None:
        q = q.where(ChurnAlert.entity == entity)
    return _rows(store, q.order_by(ChurnAlert.opened.desc(), ChurnAlert.id.desc()))


def alert(store: Store, alert_id: int):
    got = _rows(store, _all(ChurnAlert).where(ChurnAlert.id == alert_id))
    return got[0] if got else None


def resolve(store: Store, alert_id: int, action: str, by: str):
    """Mark an open alert resolved by hand; None when it is not open (unknown, cleared, resolved)."""
    with store.engine.begin() as conn:
        done = conn.execute(update(ChurnAlert).where(
            and_(ChurnAlert.id == alert_id, ChurnAlert.cleared.is_(None), ChurnAlert.resolved_at.is_(None)))
            .values(resolved_at=now(), resolved_by=by, action=action))
        if not done.rowcount:
            return None
    return alert(store, alert_id)


def _all(model):
    """Every column of a table (rows read as plain rows: ``row.entity``, never ORM objects)."""
    return select(*model.__table__.c)


def _rows(store: Store, q) -> list:
    with store.engine.connect() as conn:
        return list(conn.execute(q))



# -- what the churn metrics count (``kind: churn``, computed by the engine) -----------------------

def level_counts(store: Store, first: date, last: date) -> list[tuple[date, str, dict, int]]:
    """(day, level, dimension values, customers) of the scores of [first, last], grouped in the
    store (one row per day, level and combination of dimension values)."""
    dims = cast(ChurnScore.dims, Text)
    q = (select(ChurnScore.day, ChurnScore.level, dims, func.count())
         .where(ChurnScore.day.between(first, last)).group_by(ChurnScore.day, ChurnScore.level, dims))
    return [(d, lv, json.loads(x) if x else {}, n) for d, lv, x, n in _rows(store, q)]


def scored_days(store: Store, first: date, last: date) -> set[date]:
    q = select(ChurnScore.day).where(ChurnScore.day.between(first, last)).distinct()
    return {r[0] for r in _rows(store, q)}


def alert_spans(store: Store, first: date, last: date) -> list[tuple[date, date | None, datetime | None, str, str,
                                                                     dict, int]]:
    """(opened, cleared, resolved_at, type, severity, dimension values, alerts) of the alerts
    that may be open on a day of [first, last], grouped in the store."""
    dims = cast(ChurnAlert.dims, Text)
    cols = (ChurnAlert.opened, ChurnAlert.cleared, ChurnAlert.resolved_at, ChurnAlert.type, ChurnAlert.severity,
            dims)
    q = (select(*cols, func.count()).where(ChurnAlert.opened <= last,
                                           or_(ChurnAlert.cleared.is_(None), ChurnAlert.cleared > first))
         .group_by(*cols))
    return [(o, c, r, t, s, json.loads(x) if x else {}, n) for o, c, r, t, s, x, n in _rows(store, q)]


def alert_activity(store: Store, first: date, last: date, since: datetime, until: datetime) -> list[tuple]:
    """(what, type, dimension values, alerts) of what happened to alerts in local days [first,
    last]: ``opened`` and ``cleared`` on those days, ``resolved`` by hand in [since, until) (the
    same days' instants), grouped in the store."""
    dims = cast(ChurnAlert.dims, Text)
    out = []
    for what, cond in (("opened", ChurnAlert.opened.between(first, last)),
                       ("cleared", and_(ChurnAlert.cleared.between(first, last), ChurnAlert.resolved_at.is_(None))),
                       ("resolved", and_(ChurnAlert.resolved_at >= since, ChurnAlert.resolved_at < until))):
        q = select(ChurnAlert.type, dims, func.count()).where(cond).group_by(ChurnAlert.type, dims)
        out += [(what, t, json.loads(x) if x else {}, n) for t, x, n in _rows(store, q)]
    return out


def latest_scored(store: Store, before: date, since: date | None = None) -> date | None:
    """The last scored day before ``before`` (and on or after ``since``)."""
    q = select(func.max(ChurnScore.day)).where(ChurnScore.day < before)
    if since is not None:
        q = q.where(ChurnScore.day >= since)
    with store.engine.connect() as conn:
        return conn.execute(q).scalar()
