"""The delivery ledger: one row per (subscription, period), so each period is delivered once.

The scheduler's loop, against this module::

    id = ensure(store, sub_key, due.period_start, now)        # the row exists before any send
    for c in claim(store, worker, now, lease=timedelta(minutes=10)):
        payload = c.payload or save_payload(store, c.id, channel.render(...))
        result = channel.send(outgoing.with_payload(payload))
        finish(store, c.id, worker, result, now)               # sent | pending (retry) | failed | lost

States: ``pending`` -> ``sending`` (claimed, under a lease) -> ``sent`` | ``failed`` | ``skipped``;
a transient failure goes back to ``pending`` with ``next_attempt_at`` in the future. Rules:

* ``ensure`` inserts with ``ON CONFLICT DO NOTHING`` on the unique ``(subscription,
  period_start)``: any number of schedulers may see the same period due; there is one row.
* ``claim`` marks due ``pending`` rows ``sending`` for one worker: on PostgreSQL with
  ``FOR UPDATE SKIP LOCKED`` (concurrent claimers take different rows and never wait on each
  other), on SQLite inside ``BEGIN IMMEDIATE`` (the database's single-writer lock). Each claim
  counts an attempt.
* Only the worker holding the row may ``finish`` it; ``worker`` must be unique per sending
  thread (host:pid:random, say). A row whose lease expired is put back to ``pending`` by
  ``reconcile`` (the sender crashed, or hangs): the period is retried, never lost. The old
  holder's late answer is then ``"lost"`` - except a success that arrives before anyone else
  claimed the row, which is still recorded (it avoids sending the period twice). A crash
  between the send and the ``finish`` can still send twice: channels use the delivery key
  as an idempotency key (Message-ID, webhook-id) for that.
* Retries: exponential back-off with jitter, at least the channel's Retry-After; permanent
  errors are not retried; after ``max_attempts`` the row is ``failed``.
* The rendered payload is kept, so a retry re-sends the same content (plus the channel's
  progress, e.g. the Slack message already posted) - unless the subscription's target, filter
  or template was edited since: ``render_again`` drops the content of its unsent rows.
* A row is keyed by the subscription's **name**, which an edit never changes: a period sent
  before an edit stays sent (it is not sent again to the new target or on the new schedule).

Every function takes the time as ``now`` (aware; stored as UTC), so tests and
``run-due --now`` can replay any moment. Each write is one short transaction.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, null, select, update
from sqlalchemy.engine import Connection

from daypulse.delivery.channels.base import SendResult
from daypulse.delivery.config import MAX_ATTEMPTS
from daypulse.store.db import Store
from daypulse.store.db import aware as _aware
from daypulse.store.db import write_transaction as _write
from daypulse.store.models import DeliveryRecord as D
from daypulse.store.models import SchedulerRun

PENDING, SENDING, SENT, FAILED, SKIPPED = "pending", "sending", "sent", "failed", "skipped"
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)
LOST = "lost"
BASE_DELAY = timedelta(seconds=60)
MAX_DELAY = timedelta(hours=6)
LEASE_EXPIRED = "lease expired: the sender stopped (crash?)"
MAX_ERROR = 2000  # characters of an error kept in last_error


@dataclass(frozen=True)
class Claimed:
    """A row this worker now holds (``sending``) until ``lease_until``; ``attempts`` counts this one."""

    id: int
    subscription: str
    period_start: date
    attempts: int
    payload: dict | None


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    subscription: str
    period_start: date
    status: str
    attempts: int
    next_attempt_at: datetime
    lease_until: datetime | None
    claimed_by: str | None
    last_error: str | None
    external_id: str | None
    payload: dict | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


# -- creating and claiming -----------------------------------------------------------------

def ensure(store: Store, subscription: str, period_start: date, now: datetime,
           due_at: datetime | None = None) -> int:
    """The id of the (subscription, period_start) row, inserted ``pending`` (due at ``due_at``,
    default ``now``: a period not over yet waits for its end) if absent. Idempotent and safe
    against concurrent callers: they all get the same id."""
    if isinstance(period_start, datetime) or not isinstance(period_start, date):
        raise TypeError(f"period_start must be a date, not {type(period_start).__name__}")
    if not subscription:
        raise ValueError("subscription key must not be empty")
    at = _utc(now)
    if store.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    stmt = upsert(D).values(subscription=subscription, period_start=period_start, status=PENDING,
                            attempts=0, next_attempt_at=max(at, _utc(due_at or at)), created_at=at,
                            updated_at=at)
    with _write(store) as conn:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[D.subscription, D.period_start]))
        return conn.execute(select(D.id).where(D.subscription == subscription,
                                               D.period_start == period_start)).scalar_one()


def claim(store: Store, worker: str, now: datetime, lease: timedelta, limit: int = 1,
          ids: list[int] | None = None) -> list[Claimed]:
    """Take up to ``limit`` due rows (``pending`` with ``next_attempt_at <= now``, oldest due
    first; only among ``ids`` when given) for ``worker``: they become ``sending`` until
    ``now + lease``, one more attempt each."""
    if not worker:
        raise ValueError("worker must name the claimer")
    if lease <= timedelta(0) or limit < 1:
        raise ValueError("lease must be positive and limit at least 1")
    at = _utc(now)
    due = (select(D.id).where(D.status == PENDING, D.next_attempt_at <= at, *([D.id.in_(ids)] if ids else []))
           .order_by(D.next_attempt_at, D.id).limit(limit))
    changes = {"status": SENDING, "lease_until": at + lease, "claimed_by": worker,
               "attempts": D.attempts + 1, "updated_at": at}
    cols = (D.id, D.subscription, D.period_start, D.attempts, D.payload)
    with _write(store) as conn:
        if store.dialect == "postgresql":
            picked = due.with_for_update(skip_locked=True).cte("picked")
            rows = conn.execute(update(D).where(D.id == picked.c.id).values(**changes).returning(*cols)).all()
        else:  # BEGIN IMMEDIATE: no other writer until we commit
            ids = list(conn.execute(due).scalars())
            if not ids:
                return []
            conn.execute(update(D).where(D.id.in_(ids)).values(**changes))
            rows = conn.execute(select(*cols).where(D.id.in_(ids))).all()
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


# -- the content ---------------------------------------------------------------------------

def save_payload(store: Store, id: int, payload: dict) -> dict:
    """Keep the rendered ``payload`` of delivery ``id`` (a retry re-sends it); returns it."""
    with _write(store) as conn:
        conn.execute(update(D).where(D.id == id).values(payload=payload, updated_at=_now()))
    return payload


def render_again(store: Store, subscription: str, now: datetime) -> int:
    """Drop the stored content of ``subscription``'s deliveries that have not gone out and are
    not being sent (``pending``, ``failed``, ``skipped``), so their next attempt renders with its
    settings as they are now: after an edit of its target, filter or template, a retry must not
    send the old content to the old recipients. ``sent`` rows keep what they sent; a ``sending``
    one goes out as its sender prepared it. Returns how many rows had content to drop."""
    unsent = (D.subscription == subscription, D.status.in_([PENDING, FAILED, SKIPPED]))
    with _write(store) as conn:
        had = conn.execute(select(func.count()).select_from(D).where(*unsent, D.payload.is_not(None))).scalar_one()
        conn.execute(update(D).where(*unsent).values(payload=null(), updated_at=_utc(now)))
    return had


def merge_progress(store: Store, id: int, progress: dict) -> dict | None:
    """Merge a channel's ``SendResult.progress`` (e.g. ``{"resume_ts": ...}``) into the stored
    payload so the next attempt resumes; returns the new payload (None: no such row)."""
    with _write(store) as conn:
        return _merge(conn, store, id, progress)


def _merge(conn: Connection, store: Store, id: int, progress: dict | None) -> dict | None:
    q = select(D.payload).where(D.id == id)
    if store.dialect == "postgresql":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        return None
    payload = {**(row.payload or {}), **(progress or {})}
    if progress:
        conn.execute(update(D).where(D.id == id).values(payload=payload, updated_at=_now()))
    return payload


# -- outcomes ------------------------------------------------------------------------------

def backoff(attempts: int, base: timedelta = BASE_DELAY, cap: timedelta = MAX_DELAY,
            rng: random.Random | None = None) -> timedelta:
    """The wait after failed attempt number ``attempts`` (1, 2, ...): ``base * 2**(attempts-1)``,
    capped, times a random 0.5..1.0 (so retries of many deliveries spread out)."""
    raw = min(cap.total_seconds(), base.total_seconds() * 2 ** min(max(attempts - 1, 0), 60))
    return timedelta(seconds=raw * (rng or random).uniform(0.5, 1.0))


def finish(store: Store, id: int, worker: str, result: SendResult, now: datetime,
           max_attempts: int = MAX_ATTEMPTS, base: timedelta = BASE_DELAY, cap: timedelta = MAX_DELAY,
           rng: random.Random | None = None) -> str:
    """Record the outcome of ``worker``'s attempt at delivery ``id``; returns the row's new status:

    * ``"sent"``: ``result.ok`` (``external_id`` and ``sent_at`` kept);
    * ``"pending"``: a transient failure with attempts left, due again at ``now`` plus the larger
      of ``result.retry_after`` and :func:`backoff`; ``result.progress`` is merged into the payload;
    * ``"failed"``: a permanent failure, or a transient one at ``max_attempts``;
    * ``"lost"``: ``worker`` no longer holds the row (its lease expired and it was reconciled or
      claimed by another worker): nothing is written.
    """
    at = _utc(now)
    with _write(store) as conn:
        q = select(D.status, D.claimed_by, D.attempts, D.last_error).where(D.id == id)
        if store.dialect == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None or row.claimed_by != worker:
            return LOST
        # Reconciled after the lease expired but nobody took it since: a success still counts
        # (sending the period again would deliver it twice); anything else is left to the retry.
        late_success = row.status == PENDING and row.last_error == LEASE_EXPIRED and result.ok
        if row.status != SENDING and not late_success:
            return LOST
        values: dict = {"lease_until": None, "updated_at": at}
        if result.external_id is not None:
            values["external_id"] = result.external_id
        if result.ok:
            values.update(status=SENT, sent_at=at, last_error=None)
        else:
            error = _error(result)
            if result.transient and row.attempts < max_attempts:
                wait = max(timedelta(seconds=result.retry_after or 0), backoff(row.attempts, base, cap, rng))
                values.update(status=PENDING, next_attempt_at=at + wait, last_error=error)
                _merge(conn, store, id, result.progress)
            else:
                if result.transient:
                    error = f"{error} (gave up after {row.attempts} attempts)"
                values.update(status=FAILED, last_error=error)
        conn.execute(update(D).where(D.id == id).values(**values))
        return values["status"]


def skip(store: Store, id: int, reason: str, now: datetime | None = None, worker: str | None = None) -> bool:
    """Mark a ``pending`` or ``failed`` delivery ``skipped`` (it will not be sent) - or one
    ``worker`` holds (``sending``: its subscription is gone or paused). False if it is in another
    state (being sent by someone else, sent, already skipped) or does not exist."""
    mine = (D.status == SENDING) & (D.claimed_by == worker) if worker else D.status.in_([PENDING, FAILED])
    with _write(store) as conn:
        done = conn.execute(update(D).where(D.id == id, D.status.in_([PENDING, FAILED]) | mine).values(
            status=SKIPPED, last_error=_short(reason), lease_until=None, updated_at=_utc(now or _now())))
        return done.rowcount > 0


def retry(store: Store, id: int, now: datetime) -> bool:
    """Put a ``failed`` (or ``skipped``) delivery back to ``pending``, due at ``now``
    (``daypulse deliveries retry 42``). Attempts are kept: a row already at the maximum gets one
    more attempt, then fails again. False if the row is in another state or does not exist."""
    at = _utc(now)
    with _write(store) as conn:
        done = conn.execute(update(D).where(D.id == id, D.status.in_([FAILED, SKIPPED])).values(
            status=PENDING, next_attempt_at=at, lease_until=None, claimed_by=None, updated_at=at))
        return done.rowcount > 0


def renew(store: Store, id: int, worker: str, until: datetime) -> bool:
    """Extend ``worker``'s lease on delivery ``id`` to ``until`` (before a send: a long render
    must not send a row another worker has reclaimed). False when ``worker`` no longer holds it."""
    with _write(store) as conn:
        done = conn.execute(update(D).where(D.id == id, D.status == SENDING, D.claimed_by == worker)
                            .values(lease_until=_utc(until)))
        return done.rowcount > 0


def expedite(store: Store, id: int, now: datetime) -> bool:
    """Make a ``pending`` delivery due at ``now`` (sending it now instead of after its back-off)."""
    at = _utc(now)
    with _write(store) as conn:
        done = conn.execute(update(D).where(D.id == id, D.status == PENDING).values(next_attempt_at=at, updated_at=at))
        return done.rowcount > 0


def reconcile(store: Store, now: datetime, max_attempts: int = MAX_ATTEMPTS) -> int:
    """Rows ``sending`` whose lease expired by ``now`` go back to ``pending`` (due at once), the
    interrupted attempt counted; one that already used ``max_attempts`` is ``failed`` instead
    (a report that crashes its sender every time must not loop for ever). Returns how many."""
    at = _utc(now)
    stuck = (D.status == SENDING, D.lease_until < at)
    with _write(store) as conn:
        failed = conn.execute(update(D).where(*stuck, D.attempts >= max_attempts).values(
            status=FAILED, last_error=f"{LEASE_EXPIRED} (gave up after the maximum attempts)",
            lease_until=None, updated_at=at)).rowcount
        back = conn.execute(update(D).where(*stuck).values(
            status=PENDING, next_attempt_at=at, last_error=LEASE_EXPIRED, lease_until=None,
            updated_at=at)).rowcount
    return failed + back


# -- reading -------------------------------------------------------------------------------

def listing(store: Store, status: str | None = None, subscription: str | None = None,
            limit: int = 100, among: Iterable[str] | None = None) -> list[DeliveryRow]:
    """Deliveries, newest first, optionally of one status, one subscription and/or ``among``
    these subscriptions (a tenant's). Without their payloads (``get`` has it): a rendered
    email with its charts is hundreds of KB, and a listing needs none of it."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    columns = [c if c is not D.payload else null().label("payload") for c in _ROW]
    q = select(*columns).order_by(D.id.desc()).limit(limit)
    if status is not None:
        q = q.where(D.status == status)
    if subscription is not None:
        q = q.where(D.subscription == subscription)
    if among is not None:
        q = q.where(D.subscription.in_(list(among)))
    with store.engine.connect() as conn:
        return [_row(r) for r in conn.execute(q)]


def get(store: Store, id: int) -> DeliveryRow | None:
    with store.engine.connect() as conn:
        r = conn.execute(select(*_ROW).where(D.id == id)).first()
    return _row(r) if r else None


# -- scheduler runs ------------------------------------------------------------------------

def record_run(store: Store, started_at: datetime, finished_at: datetime, host: str, pid: int,
               due: int = 0, sent: int = 0, failed: int = 0, errors: int = 0, error: str | None = None) -> int:
    """Record one scheduler pass; ``error`` is what stopped the pass itself (None: it completed)."""
    start, end = _utc(started_at), _utc(finished_at)
    with _write(store) as conn:
        return conn.execute(insert(SchedulerRun).values(
            started_at=start, finished_at=end, host=host, pid=pid, due=due, sent=sent, failed=failed,
            errors=errors, duration_s=(end - start).total_seconds(),
            error=None if error is None else _short(error)).returning(SchedulerRun.id)).scalar_one()


def stats(store: Store) -> dict:
    """Scheduler stats: ``runs``, ``successes`` (passes that completed), ``errors`` (passes that
    stopped on an error), ``last_run`` / ``last_duration_s`` / ``last_error`` (the latest pass),
    the deliveries ``sent`` and ``failed`` by all passes, and ``deliveries`` by status now."""
    R = SchedulerRun
    with store.engine.connect() as conn:
        runs, ok, sent, failed = conn.execute(select(
            func.count(), func.count().filter(R.error.is_(None)),
            func.coalesce(func.sum(R.sent), 0), func.coalesce(func.sum(R.failed), 0))).one()
        last = conn.execute(select(R.started_at, R.duration_s, R.error)
                            .order_by(R.started_at.desc(), R.id.desc()).limit(1)).first()
        by_status = dict(conn.execute(select(D.status, func.count()).group_by(D.status)).all())
    return {"runs": runs, "successes": ok, "errors": runs - ok, "sent": int(sent), "failed": int(failed),
            "last_run": _aware(last.started_at) if last else None,
            "last_duration_s": last.duration_s if last else None,
            "last_error": last.error if last else None,
            "deliveries": {s: by_status.get(s, 0) for s in STATUSES}}


# -- helpers -------------------------------------------------------------------------------

_ROW = (D.id, D.subscription, D.period_start, D.status, D.attempts, D.next_attempt_at, D.lease_until,
        D.claimed_by, D.last_error, D.external_id, D.payload, D.created_at, D.updated_at, D.sent_at)


def _row(r) -> DeliveryRow:
    return DeliveryRow(r.id, r.subscription, r.period_start, r.status, r.attempts, _aware(r.next_attempt_at),
                       _aware(r.lease_until), r.claimed_by, r.last_error, r.external_id, r.payload,
                       _aware(r.created_at), _aware(r.updated_at), _aware(r.sent_at))


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(t: datetime) -> datetime:
    # SQLite keeps the wall-clock digits only: every stored time must be UTC.
    if not isinstance(t, datetime) or t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"an aware datetime is required, not {t!r}")
    return t.astimezone(UTC)



def _error(result: SendResult) -> str:
    return _short(result.error or ("failed (transient)" if result.transient else "failed"))


def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"
