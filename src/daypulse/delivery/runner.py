"""One scheduler pass: find the periods that are due, make their delivery rows, send what is due.

A pass at instant ``now`` (the real clock, or ``run-due --now`` for a replay):

1. rows some crashed sender left ``sending`` past their lease go back to ``pending``;
2. daypulse.yml's subscriptions are mirrored into the store;
3. for each active subscription, the fires since it was last looked at (``checked_until``)
   give periods by its catch-up policy; each gets its row (``ensure``: one per subscription and
   period, however many passes see it). A period not over yet in the project's zone (a
   subscriber east of it) is due only at its end;
4. due rows are claimed one at a time and delivered: the report is computed (its period
   first, if missing or stale) and rendered once per (report, period, filter) in the pass,
   the payload stored, then sent; the outcome recorded (sent, retry later, failed);
5. the pass is recorded for ``deliveries stats``.

Several passes may run at once, on several machines, against one PostgreSQL store: the rows
and their claims make each period go out once. Nothing here sleeps or loops over time;
``daypulse scheduler`` calls :func:`run_pass` every ``delivery.tick``.
"""

from __future__ import annotations

import logging
import os
import socket
import time as clock
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from daypulse.delivery import ledger
from daypulse.delivery import subscription_store as subs
from daypulse.delivery.channels.base import Channel, Outgoing, SendResult
from daypulse.delivery.channels.registry import CHANNELS
from daypulse.delivery.config import (
    DeliverySettings,
    channel_kinds,
    delivery_settings,
    make_project_channel,
    yaml_subscriptions,
)
from daypulse.delivery.ops import notify
from daypulse.delivery.schedule import Due, due_periods, period_ready_at
from daypulse.errors import DaypulseError, RuntimeFailure, StoreError, UserError
from daypulse.report.definition import load_report, report_names

LOGGER = logging.getLogger("daypulse.delivery")
CLAIM_BATCH = 5


@dataclass
class PassResult:
    now: datetime
    due: int = 0  # (subscription, period) rows this pass found due (new or already there)
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0  # answers that came after another sender took the row over
    reconciled: int = 0
    errors: int = 0  # subscriptions that could not be planned (a broken spec)
    lines: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = [f"{self.due} due", f"{self.sent} sent"]
        parts += [f"{n} {w}" for n, w in ((self.retrying, "to retry"), (self.failed, "failed"),
                                          (self.skipped, "skipped"), (self.reconciled, "reclaimed"),
                                          (self.lost, "lost to another sender"), (self.errors, "errors")) if n]
        return ", ".join(parts)


def worker_id() -> str:
    """Unique per sender: a row's holder is checked on every outcome."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def key_of(subscription: str, period_start: date) -> str:
    """The delivery's key for ever: Message-ID, webhook-id, file name."""
    return f"{subscription}:{period_start.isoformat()}"


class Dispatcher:
    """Renders and sends claimed deliveries; caches channels and reports for one pass."""

    def __init__(self, project, store, now: datetime, *, env: Mapping[str, str] | None = None,
                 worker: str | None = None, settings: DeliverySettings | None = None,
                 base_dir: Path | None = None, info: Callable[[str], None] | None = None):
        self.project, self.store, self.now, self.env = project, store, now, env
        self._started = clock.monotonic()
        self.worker = worker or worker_id()
        self.settings = settings or delivery_settings(project)
        self.base_dir = base_dir or Path.cwd()
        self.info = info or (lambda msg: LOGGER.info(msg))
        self.kinds = channel_kinds(project)
        self._channels: dict[str, Channel | DaypulseError] = {}
        self._reports: dict[tuple, object] = {}

    def clock(self) -> datetime:
        """The pass's ``now`` plus the real time since it began: leases and outcomes are dated
        by it, so a long pass never claims with a lease that has already run out (and a replay
        at ``--now`` moves on from its instant at the real pace)."""
        return self.now + timedelta(seconds=clock.monotonic() - self._started)

    # -- parts ----------------------------------------------------------------------------

    def channel(self, name: str) -> Channel:
        if name not in self._channels:
            try:
                self._channels[name] = make_project_channel(self.project, name, self.env, base_dir=self.base_dir)
            except DaypulseError as err:
                self._channels[name] = err
        found = self._channels[name]
        if isinstance(found, DaypulseError):
            raise found
        return found

    def kind(self, name: str) -> str:
        return self.kinds.get(name, name)

    def template_dir(self, spec) -> Path | None:
        folder = spec.template or load_report(self.project, spec.report).template
        if not folder:
            return None
        path = Path(folder) if Path(folder).is_absolute() else self.base_dir / folder
        if not path.is_dir():
            raise UserError(f"template folder {path} does not exist")
        return path

    def report(self, spec, period_start: date, charts: bool):
        from daypulse.report.content import build_report  # lazy: the engine and charts, for renders only

        key = (spec.report, period_start, tuple(sorted(spec.filter.items())), charts)
        if key not in self._reports:
            self._reports[key] = build_report(self.project, self.store, spec.report, on=period_start,
                                              as_of=self.now, with_charts=charts, filter=dict(spec.filter))
        return self._reports[key]

    def render(self, sub: subs.Subscription, period_start: date) -> tuple[Channel, Outgoing, dict]:
        """The channel, the outgoing delivery and its freshly rendered payload (nothing stored)."""
        spec = sub.spec
        channel = self.channel(spec.channel)
        rep = self.report(spec, period_start, charts=CHANNELS[self.kind(spec.channel)].charts)
        out = Outgoing(rep, key_of(sub.name, period_start), self.target(spec), template_dir=self.template_dir(spec))
        return channel, out, channel.render(out)

    def target(self, spec):
        """Where the subscription's channel delivers (None: the channel's own default)."""
        return spec.to

    # -- one delivery ---------------------------------------------------------------------

    def deliver(self, claimed: ledger.Claimed, sub: subs.Subscription | None) -> str:
        """Send one claimed row; returns its new status (sent, pending, failed, skipped, lost)."""
        label = f"delivery {claimed.id} ({key_of(claimed.subscription, claimed.period_start)})"
        if sub is None or not sub.active:
            reason = "subscription removed" if sub is None else "subscription paused" + (
                f": {sub.note}" if sub.note else "")
            ledger.skip(self.store, claimed.id, reason, self.clock(), worker=self.worker)
            self.info(f"{label}: skipped ({reason})")
            return ledger.SKIPPED
        started = clock.perf_counter()
        try:
            if sub.spec is None:
                raise UserError(f"subscription {sub.name!r} is no longer valid: {sub.problem}")
            payload = claimed.payload
            if payload is None:
                channel, out, rendered = self.render(sub, claimed.period_start)
                payload = ledger.save_payload(self.store, claimed.id, rendered)
            else:
                channel = self.channel(sub.spec.channel)
                out = Outgoing(None, key_of(sub.name, claimed.period_start), self.target(sub.spec), payload=payload)
            # The lease may have run out while the report was computed: send only if still ours.
            if not ledger.renew(self.store, claimed.id, self.worker, self.clock() + self.settings.lease):
                self.info(f"{label}: another sender took it over while it was being prepared")
                return ledger.LOST
            result = channel.send(out.with_payload(payload))
        except UserError as err:  # settings, templates, a report that cannot be built: fix, then retry
            result = SendResult.failed(str(err), transient=False)
        except RuntimeFailure as err:  # the source or store is down: try again later
            result = SendResult.failed(str(err), transient=True)
        except Exception as err:  # a bug, or an outage without a daypulse error: try again later
            LOGGER.exception("%s: could not be prepared", label)
            result = SendResult.failed(f"{type(err).__name__}: {err}", transient=True)
        status = ledger.finish(self.store, claimed.id, self.worker, result, self.clock(),
                               max_attempts=self.settings.max_attempts)
        took = clock.perf_counter() - started
        if status == ledger.SENT:
            note = f" ({result.note})" if result.note else ""
            self.info(f"{label}: sent to {sub.spec.channel} in {took:.1f} s{note}")
        elif status == ledger.PENDING:
            self.info(f"{label}: attempt {claimed.attempts} failed, will retry: {result.error}")
        elif status == ledger.FAILED:
            self.info(f"{label}: FAILED after {claimed.attempts} attempt(s): {result.error}")
            self.announce_failure(claimed, sub, result.error or "failed")
        else:
            self.info(f"{label}: another sender took it over (lease expired); its outcome is theirs")
        return status

    def announce_failure(self, claimed: ledger.Claimed, sub: subs.Subscription, error: str) -> None:
        """Tell the ops channel (delivery.ops), once; a failure to tell is only logged."""
        ops = self.settings.ops
        if ops is None:
            return

        text = (f"daypulse: delivery {claimed.id} of {sub.name} ({sub.spec.report if sub.spec else '?'} for "
                f"{claimed.period_start}) failed after {claimed.attempts} attempt(s): {error}. "
                f"Retry with `daypulse deliveries retry {claimed.id}`.")
        try:
            result = notify(self.channel(ops.channel), self.kind(ops.channel), ops.to, text,
                            key=f"ops-{claimed.id}-{claimed.attempts}")
        except DaypulseError as err:
            result = SendResult.failed(str(err), transient=False)
        if not result.ok:
            LOGGER.error("could not tell the ops channel %s: %s", ops.channel, result.error)


# -- the pass ---------------------------------------------------------------------------------

def load_subscriptions(project, store, now: datetime | None = None) -> list[subs.Subscription]:
    """Mirror daypulse.yml's subscriptions into the store, then list every subscription."""

    declared = yaml_subscriptions(project)
    subs.sync_yaml(store, declared, now)
    return subs.listing(store, channels=channel_kinds(project), reports=report_names(project),
                        known={s.name: s for s in declared})


def due_now(project, sub: subs.Subscription, now: datetime, tick, grains: dict | None = None) -> list[Due]:
    """``grains``: report name -> period, filled as reports are looked up (one lookup per pass)."""

    spec = sub.spec
    grains = {} if grains is None else grains
    if spec.report not in grains:
        grains[spec.report] = load_report(project, spec.report).period
    grain = grains[spec.report]
    cal = project.calendar
    return due_periods(spec.schedule, spec.timezone, grain, cal, sub.checked_until, now, spec.catch_up,
                       spec.grace, tick)


def run_pass(project, store, now: datetime | None = None, *, env: Mapping[str, str] | None = None,
             worker: str | None = None, base_dir: Path | None = None,
             info: Callable[[str], None] | None = None, record: bool = True, tick=None) -> PassResult:
    """One scheduler pass at ``now`` (default: the clock). Returns what it did; never raises for
    one subscription's or delivery's problem (they are counted, logged, and in the ledger); a
    store that fails is a StoreError. ``tick``: how often passes run (``catch_up: none`` sends
    fires no older than that); default ``delivery.tick``."""
    try:
        return _run_pass(project, store, now, env=env, worker=worker, base_dir=base_dir, info=info,
                         record=record, tick=tick)
    except SQLAlchemyError as err:
        raise StoreError(f"the store failed during a scheduler pass: {str(err).splitlines()[0]}") from err


def _run_pass(project, store, now, *, env, worker, base_dir, info, record, tick) -> PassResult:
    real_start = datetime.now(UTC)
    now = now or real_start
    settings = delivery_settings(project)
    tick = tick or settings.tick
    res = PassResult(now)
    say = info or (lambda msg: LOGGER.info(msg))
    dispatcher = Dispatcher(project, store, now, env=env, worker=worker, settings=settings, base_dir=base_dir,
                            info=lambda m: (res.lines.append(m), say(m)))
    error = None
    try:
        res.reconciled = ledger.reconcile(store, now, settings.max_attempts)
        everyone = load_subscriptions(project, store, now)
        by_name = {s.name: s for s in everyone}
        looked, grains = [], {}
        for sub in everyone:
            if sub.spec is not None and not sub.active:
                looked.append(sub.name)  # paused: its fires pass unsent, not saved up for the resume
            if not sub.usable:
                continue
            try:
                dues = due_now(project, sub, now, tick, grains)
            except DaypulseError as err:
                res.errors += 1
                say(f"subscription {sub.name}: cannot be planned: {err}")
                continue
            for due in dues:
                ledger.ensure(store, sub.name, due.period_start, now, due_at=due.ready_at)
            res.due += len(dues)
            looked.append(sub.name)
        subs.advance(store, looked, now)
        # A few rows per claim: fewer transactions; the lease covers sending them one by one.
        while claimed := ledger.claim(store, dispatcher.worker, dispatcher.clock(), settings.lease,
                                      limit=CLAIM_BATCH):
            for c in claimed:
                status = dispatcher.deliver(c, by_name.get(c.subscription))
                counter = {ledger.SENT: "sent", ledger.PENDING: "retrying", ledger.FAILED: "failed",
                           ledger.SKIPPED: "skipped"}.get(status, "lost")
                setattr(res, counter, getattr(res, counter) + 1)
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
        raise
    finally:
        if record:
            try:
                ledger.record_run(store, real_start, datetime.now(UTC), socket.gethostname(), os.getpid(),
                                  due=res.due, sent=res.sent, failed=res.failed,
                                  errors=res.errors + (error is not None), error=error)
            except Exception:  # the store itself is gone: the original error matters more
                LOGGER.exception("could not record the scheduler pass")
    return res


# -- on demand ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    subscription: subs.Subscription
    due: Due
    row: ledger.DeliveryRow | None  # the delivery row when it exists already


def plan(project, store, now: datetime) -> list[Planned]:
    """What a pass at ``now`` would find due, without writing anything (``run-due --dry-run``)."""

    stored = {s.name: s for s in subs.listing(store, channels=channel_kinds(project), reports=report_names(project))}
    everyone = [s for s in stored.values() if s.source == "cli"]
    for spec in yaml_subscriptions(project):
        old = stored.get(spec.name)
        everyone.append(subs.Subscription(old.id if old else 0, spec.name, "yml", spec, spec.active,
                                          old.checked_until if old else None, None))
    out = []
    settings = delivery_settings(project)
    for sub in sorted(everyone, key=lambda s: (s.id or 10**9, s.name)):
        if not sub.usable:
            continue
        for due in due_now(project, sub, now, settings.tick):
            rows = [r for r in ledger.listing(store, subscription=sub.name, limit=1_000)
                    if r.period_start == due.period_start]
            out.append(Planned(replace(sub), due, rows[0] if rows else None))
    return out


def send_now(project, store, sub: subs.Subscription, period_start: date, now: datetime | None = None, *,
             env: Mapping[str, str] | None = None, base_dir: Path | None = None,
             info: Callable[[str], None] | None = None) -> tuple[str, ledger.DeliveryRow]:
    """Deliver ``sub``'s ``period_start`` now, through the ledger (so it is still sent once):
    returns ("sent" | "pending" | "failed" | "already sent" | "in progress", the row)."""

    now = now or datetime.now(UTC)
    cal = project.calendar
    grain = load_report(project, sub.spec.report).period
    start = cal.period_start(grain, period_start)

    ready = period_ready_at(start, grain, cal)
    if ready > now:
        raise UserError(f"the {grain} of {start} is not over yet in {project.timezone} (it ends "
                        f"{ready:%Y-%m-%d %H:%M} UTC): a delivery reports on a whole period (preview with --dry-run)")
    settings = delivery_settings(project)
    dispatcher = Dispatcher(project, store, now, env=env, settings=settings, base_dir=base_dir, info=info)
    id = ledger.ensure(store, sub.name, start, now)
    row = ledger.get(store, id)
    if row.status == ledger.SENT:
        return "already sent", row
    if row.status == ledger.SENDING:
        return "in progress", row
    if row.status in (ledger.FAILED, ledger.SKIPPED):
        ledger.retry(store, id, now)
    elif row.next_attempt_at > now:
        ledger.expedite(store, id, now)
    claimed = ledger.claim(store, dispatcher.worker, now, settings.lease, ids=[id])
    if not claimed:
        return "in progress", ledger.get(store, id)
    status = dispatcher.deliver(claimed[0], sub)
    return status, ledger.get(store, id)
