"""The delivery ledger (daypulse.delivery.ledger) and its 0003 migration, on both stores:
one row per (subscription, period), claims, retries with back-off, leases, and exactly-once
delivery under concurrent OS processes."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from daypulse.delivery.channels.base import SendResult
from daypulse.delivery.ledger import (
    LEASE_EXPIRED,
    backoff,
    claim,
    ensure,
    finish,
    get,
    listing,
    merge_progress,
    reconcile,
    record_run,
    retry,
    save_payload,
    skip,
    stats,
)
from daypulse.store.db import Store, open_store
from daypulse.store.models import DeliveryRecord, SchedulerRun, SubscriptionRecord

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
DAY = date(2026, 3, 1)
LEASE = timedelta(minutes=10)
OK = SendResult.sent("1712.0001")


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.engine.dispose()


def count(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(DeliveryRecord)).scalar_one()


def test_ensure_is_idempotent_and_the_period_unique(store):
    first = ensure(store, "sub-1", DAY, T0)
    assert ensure(store, "sub-1", DAY, T0 + timedelta(hours=1)) == first
    other = ensure(store, "sub-1", DAY + timedelta(days=1), T0)
    assert ensure(store, "sub-2", DAY, T0) not in (first, other)
    assert count(store) == 3
    row = get(store, first)
    assert (row.status, row.attempts, row.next_attempt_at, row.payload) == ("pending", 0, T0, None)
    assert row.created_at.tzinfo is not None
    with pytest.raises(IntegrityError), store.engine.begin() as conn:  # the constraint itself
        conn.execute(insert(DeliveryRecord).values(
            subscription="sub-1", period_start=DAY, status="pending", attempts=0,
            next_attempt_at=T0, created_at=T0, updated_at=T0))
    assert count(store) == 3


def test_claim_then_sent_is_not_claimable_again(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    assert claim(store, "w1", T0 - timedelta(seconds=1), LEASE) == []  # not due yet
    [c] = claim(store, "w1", T0, LEASE)
    assert (c.id, c.subscription, c.period_start, c.attempts, c.payload) == (id_, "sub-1", DAY, 1, None)
    row = get(store, id_)
    assert (row.status, row.claimed_by, row.lease_until) == ("sending", "w1", T0 + LEASE)
    assert claim(store, "w2", T0, LEASE) == []  # held
    assert finish(store, id_, "w1", OK, T0 + timedelta(seconds=3)) == "sent"
    row = get(store, id_)
    assert (row.status, row.external_id, row.sent_at, row.lease_until) == (
        "sent", "1712.0001", T0 + timedelta(seconds=3), None)
    assert claim(store, "w2", T0 + timedelta(days=9), LEASE) == []
    assert reconcile(store, T0 + timedelta(days=9)) == 0
    assert finish(store, id_, "w1", OK, T0) == "lost"  # a second answer changes nothing


def test_claim_takes_the_oldest_due_first_up_to_the_limit(store):
    ids = [ensure(store, f"sub-{i}", DAY, T0 + timedelta(minutes=5 - i)) for i in range(5)]
    got = claim(store, "w1", T0 + timedelta(hours=1), LEASE, limit=3)
    assert [c.id for c in got] == sorted(ids[2:])  # due at T0+3m, T0+4m, T0+5m -> the three oldest
    assert [c.id for c in claim(store, "w2", T0 + timedelta(hours=1), LEASE, limit=10)] == ids[:2]


def test_transient_failures_back_off_then_fail(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    seed, now = 42, T0
    mirror = random.Random(seed)
    rng = random.Random(seed)
    for attempt in range(1, 5):
        [c] = claim(store, "w1", now, LEASE)
        assert c.attempts == attempt
        res = SendResult.failed("HTTP 429", transient=True, retry_after=90)
        assert finish(store, id_, "w1", res, now, rng=rng) == "pending"
        row = get(store, id_)
        nominal = 60 * 2 ** (attempt - 1)
        wait = (row.next_attempt_at - now).total_seconds()
        expected = max(90, nominal * mirror.uniform(0.5, 1.0))
        assert wait == pytest.approx(expected, abs=1e-3)  # microseconds: stored times
        assert wait >= 90 and max(90, nominal / 2) <= wait <= max(90, nominal)
        assert (row.status, row.last_error, row.claimed_by) == ("pending", "HTTP 429", "w1")
        assert claim(store, "w1", row.next_attempt_at - timedelta(seconds=1), LEASE) == []
        now = row.next_attempt_at
    [c] = claim(store, "w1", now, LEASE)
    assert c.attempts == 5
    assert finish(store, id_, "w1", SendResult.failed("HTTP 503", transient=True), now, rng=rng) == "failed"
    row = get(store, id_)
    assert (row.status, row.attempts, row.last_error) == ("failed", 5, "HTTP 503 (gave up after 5 attempts)")
    assert claim(store, "w1", now + timedelta(days=1), LEASE) == []


def test_backoff_is_capped_and_jittered():
    rng = random.Random(1)
    waits = [backoff(n, rng=rng).total_seconds() for n in range(1, 30)]
    for n, w in enumerate(waits, start=1):
        nominal = min(6 * 3600, 60 * 2 ** (n - 1))
        assert nominal / 2 <= w <= nominal
    assert len(set(waits)) == len(waits)


def test_retry_after_longer_than_the_backoff_wins(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    claim(store, "w1", T0, LEASE)
    res = SendResult.failed("rate limited", transient=True, retry_after=3600)
    assert finish(store, id_, "w1", res, T0, rng=random.Random(0)) == "pending"
    assert get(store, id_).next_attempt_at == T0 + timedelta(hours=1)


def test_a_permanent_error_fails_at_once_and_retry_puts_it_back(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    claim(store, "w1", T0, LEASE)
    res = SendResult.failed("channel_not_found", transient=False)
    assert finish(store, id_, "w1", res, T0) == "failed"
    row = get(store, id_)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "channel_not_found")
    assert claim(store, "w1", T0 + timedelta(days=1), LEASE) == []
    later = T0 + timedelta(hours=2)
    assert retry(store, id_, later)
    row = get(store, id_)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, later)  # attempts kept
    assert not retry(store, id_, later)  # only failed/skipped rows
    [c] = claim(store, "w2", later, LEASE)
    assert c.attempts == 2
    assert finish(store, id_, "w2", OK, later) == "sent"
    assert not retry(store, id_, later)
    assert not retry(store, 999_999, later)


def test_skip(store):
    a, b = ensure(store, "sub-1", DAY, T0), ensure(store, "sub-2", DAY, T0)
    assert skip(store, a, "report disabled")
    row = get(store, a)
    assert (row.status, row.last_error) == ("skipped", "report disabled")
    assert [c.id for c in claim(store, "w1", T0, LEASE, limit=5)] == [b]
    assert not skip(store, b, "too late")  # being sent: not skipped under the sender
    assert retry(store, a, T0)  # un-skip
    assert [c.id for c in claim(store, "w1", T0, LEASE)] == [a]


def test_an_expired_lease_is_reconciled_and_the_late_finisher_loses(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    claim(store, "crashed", T0, LEASE)
    assert reconcile(store, T0 + LEASE - timedelta(seconds=1)) == 0  # still within the lease
    assert claim(store, "w2", T0 + timedelta(minutes=5), LEASE) == []
    assert reconcile(store, T0 + LEASE + timedelta(seconds=1)) == 1
    row = get(store, id_)
    assert (row.status, row.attempts, row.last_error, row.lease_until) == ("pending", 1, LEASE_EXPIRED, None)
    later = T0 + timedelta(minutes=11)
    [c] = claim(store, "w2", later, LEASE)
    assert c.attempts == 2  # the interrupted attempt counts
    assert finish(store, id_, "crashed", OK, later) == "lost"  # reclaimed: not overwritten
    assert finish(store, id_, "crashed", SendResult.failed("x", transient=False), later) == "lost"
    assert get(store, id_).status == "sending"
    assert finish(store, id_, "w2", SendResult.sent("ts-2"), later) == "sent"
    assert get(store, id_).external_id == "ts-2"


def test_a_late_success_before_anyone_reclaims_still_counts(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    claim(store, "slow", T0, LEASE)
    assert reconcile(store, T0 + timedelta(hours=1)) == 1
    # a late failure is left to the retry; a late success avoids sending the period twice
    assert finish(store, id_, "slow", SendResult.failed("timeout", transient=True), T0) == "lost"
    assert finish(store, id_, "slow", OK, T0 + timedelta(hours=1)) == "sent"
    assert finish(store, id_, "someone-else", OK, T0) == "lost"


def test_reconcile_fails_a_row_that_used_every_attempt(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    now = T0
    for _ in range(3):
        claim(store, "w", now, LEASE)
        now += timedelta(hours=1)
        assert reconcile(store, now, max_attempts=3) == 1
    row = get(store, id_)
    assert (row.status, row.attempts) == ("failed", 3)
    assert row.last_error.startswith(LEASE_EXPIRED)


def test_the_payload_is_kept_across_retries(store):
    id_ = ensure(store, "sub-1", DAY, T0)
    [c] = claim(store, "w1", T0, LEASE)
    assert c.payload is None
    rendered = {"text": "Daily pulse", "blocks": [{"type": "section"}], "thread": ["a", "b"]}
    assert save_payload(store, id_, rendered) == rendered
    res = SendResult.failed("thread post failed", transient=True, external_id="1712.0001",
                            progress={"resume_ts": "1712.0001", "thread_sent": 1})
    assert finish(store, id_, "w1", res, T0, rng=random.Random(3)) == "pending"
    assert get(store, id_).external_id == "1712.0001"  # kept even though it failed
    [c] = claim(store, "w1", T0 + timedelta(days=1), LEASE)
    assert c.payload == {**rendered, "resume_ts": "1712.0001", "thread_sent": 1}
    assert merge_progress(store, id_, {"thread_sent": 2}) == {**rendered, "resume_ts": "1712.0001",
                                                              "thread_sent": 2}
    assert merge_progress(store, 999_999, {"x": 1}) is None
    assert finish(store, id_, "w1", SendResult.sent("1712.0001"), T0 + timedelta(days=1)) == "sent"
    assert get(store, id_).payload["thread_sent"] == 2


def test_listing(store):
    a = ensure(store, "sub-1", DAY, T0)
    b = ensure(store, "sub-2", DAY, T0)
    c = ensure(store, "sub-1", DAY + timedelta(days=1), T0)
    claim(store, "w", T0, LEASE)
    finish(store, a, "w", OK, T0)
    assert [r.id for r in listing(store)] == [c, b, a]
    assert [r.id for r in listing(store, status="pending")] == [c, b]
    assert [r.id for r in listing(store, subscription="sub-1")] == [c, a]
    assert [r.id for r in listing(store, status="sent", subscription="sub-1")] == [a]
    assert [r.id for r in listing(store, limit=1)] == [c]
    with pytest.raises(ValueError, match="unknown status"):
        listing(store, status="done")


def test_scheduler_stats(store):
    empty = stats(store)
    assert (empty["runs"], empty["last_run"], empty["deliveries"]["pending"]) == (0, None, 0)
    record_run(store, T0, T0 + timedelta(seconds=2.5), "host-a", 101, due=3, sent=2, failed=1, errors=1)
    later = T0 + timedelta(minutes=15)
    record_run(store, later, later + timedelta(seconds=1), "host-a", 102, error="store unreachable")
    ensure(store, "sub-1", DAY, T0)
    s = stats(store)
    assert (s["runs"], s["successes"], s["errors"], s["sent"], s["failed"]) == (2, 1, 1, 2, 1)
    assert (s["last_run"], s["last_duration_s"], s["last_error"]) == (later, 1.0, "store unreachable")
    assert s["deliveries"] == {"pending": 1, "sending": 0, "sent": 0, "failed": 0, "skipped": 0}
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SchedulerRun)).scalar_one() == 2


def test_times_must_be_aware_and_are_kept_in_utc(store):
    with pytest.raises(ValueError, match="aware"):
        ensure(store, "sub-1", DAY, datetime(2026, 3, 2, 6))
    with pytest.raises(TypeError):
        ensure(store, "sub-1", T0, T0)
    from zoneinfo import ZoneInfo

    kolkata = T0.astimezone(ZoneInfo("Asia/Kolkata"))
    id_ = ensure(store, "sub-1", DAY, kolkata)
    assert get(store, id_).next_attempt_at == T0
    assert claim(store, "w", kolkata - timedelta(seconds=1), LEASE) == []
    assert len(claim(store, "w", kolkata, LEASE)) == 1


def test_migrations_0003_0004_add_the_tables_and_are_reversible(store_url):
    old = Store(store_url)
    with old._connect() as conn, conn.begin():
        command.upgrade(old._alembic(conn), "0002")
    assert old.upgrade() == ("0002", "0012")
    with old.engine.connect() as conn:
        insp = inspect(conn)
        for model in (DeliveryRecord, SchedulerRun, SubscriptionRecord):
            assert {c["name"] for c in insp.get_columns(model.__tablename__)} == {
                c.name for c in model.__table__.columns}
        assert "ix_deliveries_due" in {i["name"] for i in insp.get_indexes("deliveries")}
    with old._connect() as conn, conn.begin():
        command.downgrade(old._alembic(conn), "0002")
    with old.engine.connect() as conn:
        assert not {"deliveries", "scheduler_runs", "subscriptions"} & set(inspect(conn).get_table_names())
    old.engine.dispose()


# -- exactly once under concurrent processes -----------------------------------------------

PAIRS = [(f"sub-{i % 10}", DAY + timedelta(days=i // 10)) for i in range(50)]


def _hammer(url: str, worker: str, barrier, out) -> None:
    """One scheduler process: ensure + claim + finish over the same pairs as everyone else."""
    try:
        store = Store(url)
        order = list(PAIRS)
        random.Random(worker).shuffle(order)
        ids, claimed, outcomes = {}, [], []
        barrier.wait(timeout=60)
        for sub, day in order:
            ids[(sub, day)] = ensure(store, sub, day, T0)
            for c in claim(store, worker, T0, LEASE):
                claimed.append(c.id)
                outcomes.append(finish(store, c.id, worker, SendResult.sent(f"{worker}:{c.id}"), T0))
        while batch := claim(store, worker, T0, LEASE):
            for c in batch:
                claimed.append(c.id)
                outcomes.append(finish(store, c.id, worker, SendResult.sent(f"{worker}:{c.id}"), T0))
        store.engine.dispose()
        out.put((worker, ids, claimed, outcomes, None))
    except BaseException as exc:  # reported to the parent, which fails the test
        out.put((worker, {}, [], [], repr(exc)))


def test_each_period_is_sent_exactly_once_by_concurrent_processes(store_url, request):
    procs_n = 8 if store_url.startswith("postgres") else 4
    open_store(store_url).engine.dispose()  # at the current schema before the race
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(procs_n), ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(store_url, f"w{i}", barrier, out)) for i in range(procs_n)]
    started = time.monotonic()
    for p in procs:
        p.start()
    results = [out.get(timeout=180) for _ in procs]
    elapsed = time.monotonic() - started
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert [r[4] for r in results] == [None] * procs_n, results

    first_ids = results[0][1]
    assert len(set(first_ids.values())) == 50
    assert all(r[1] == first_ids for r in results)  # every process got the same id per pair
    claims = Counter(i for r in results for i in r[2])
    assert sorted(claims) == sorted(first_ids.values())  # every row claimed ...
    assert set(claims.values()) == {1}  # ... exactly once
    assert all(o == "sent" for r in results for o in r[3])

    store = open_store(store_url)
    rows = listing(store, limit=1000)
    assert len(rows) == 50
    assert {r.status for r in rows} == {"sent"}
    assert {r.attempts for r in rows} == {1}
    assert all(r.external_id == f"{r.claimed_by}:{r.id}" for r in rows)
    store.engine.dispose()
    per_worker = {r[0]: len(r[2]) for r in results}
    print(f"\n[{request.node.callspec.id}] {procs_n} processes, 50 periods: {len(claims)} rows, "
          f"{sum(claims.values())} claims, per worker {per_worker}, {elapsed:.1f}s")
