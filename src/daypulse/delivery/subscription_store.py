"""Subscriptions in the store: those added from the CLI (or API), and a mirror of daypulse.yml's.

Every subscription has a row, so the scheduler, ``subscriptions list`` and the deliveries all
see one list with one numbering. daypulse.yml stays the truth for its own: :func:`sync_yaml`
(run at the start of every pass and listing) inserts, updates and deactivates the ``yml`` rows
to match the file; the CLI may not add a name the file uses, nor edit a ``yml`` row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import delete, insert, or_, select, update

from daypulse.delivery import ledger
from daypulse.delivery.config import channel_kinds, delivery_settings, yaml_subscriptions
from daypulse.delivery.ledger import _utc
from daypulse.delivery.schedule import (
    due_periods,
    error_message,
    fires_between,
    next_fire,
    period_for,
    period_ready_at,
)
from daypulse.delivery.subscription import (
    CONTENT_FIELDS,
    SubscriptionDefinition,
    _context,
    edited,
    validate_fields,
)
from daypulse.errors import ConfigError, UsageError
from daypulse.report.definition import load_report, report_names
from daypulse.store import tokens
from daypulse.store.db import Store
from daypulse.store.db import aware as _aware
from daypulse.store.db import write_transaction as _write
from daypulse.store.models import DeliveryRecord
from daypulse.store.models import SubscriptionRecord as S

REMOVED = "removed from daypulse.yml"


@dataclass(frozen=True)
class Subscription:
    id: int
    name: str
    source: str  # cli | yml
    spec: SubscriptionDefinition | None  # None: the stored spec no longer validates (see ``problem``)
    active: bool
    checked_until: datetime | None
    note: str | None
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.active and self.spec is not None


def spec_data(spec: SubscriptionDefinition) -> dict:
    """The spec as written in daypulse.yml (schedule as its friendly text); parses back to ``spec``."""
    data = {"name": spec.name, "report": spec.report, "schedule": spec.schedule.describe(),
            "timezone": spec.timezone, "channel": spec.channel, "to": spec.to, "filter": dict(spec.filter),
            "template": spec.template, "active": spec.active, "catch_up": spec.catch_up,
            "grace": f"{int(spec.grace.total_seconds())}s"}
    return {k: v for k, v in data.items() if v is not None and v != {}}


def _parse(data: dict, context: dict) -> tuple[SubscriptionDefinition | None, str | None]:
    try:
        return SubscriptionDefinition.model_validate(data, context=context), None
    except ValidationError as err:
        return None, "; ".join(f"{'.'.join(map(str, e['loc'])) or 'subscription'}: {error_message(e)}"
                               for e in err.errors())


def _rows(store: Store, where=(), context: dict | None = None,
          known: Mapping[str, SubscriptionDefinition] | None = None) -> list[Subscription]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(S.__table__).where(*where).order_by(S.id)).all()
    out = []
    for r in rows:
        spec = (known or {}).get(r.name)
        if spec is not None and r.source == "yml" and spec_data(spec) == r.spec:
            problem = None  # just validated from daypulse.yml: no need to parse it again
        else:
            spec, problem = _parse(r.spec, context or _context(None, None, None))
        out.append(Subscription(r.id, r.name, r.source, spec, r.active, _aware(r.checked_until), r.note, problem))
    return out


def listing(store: Store, *, channels: Mapping[str, str] | None = None, reports: Iterable[str] | None = None,
            active_only: bool = False, known: Mapping[str, SubscriptionDefinition] | None = None) -> list[Subscription]:
    """Every subscription (or only active ones), oldest first; ``channels``/``reports`` are the
    project's, so a row naming one that is gone shows its problem instead of failing. ``known``:
    daypulse.yml's specs by name, already validated."""
    where = (S.active.is_(True),) if active_only else ()
    return _rows(store, where, _context(None, channels, reports), known)


def get(store: Store, ref: str | int, **context) -> Subscription:
    """By id (``3``) or name; UsageError when there is none."""
    text = str(ref).strip()
    if text.isdigit() and int(text) > 2**31 - 1:  # not an id the store can hold
        raise UsageError(f"no subscription {text!r} (see `daypulse subscriptions list`)")
    cond = S.id == int(text) if text.isdigit() else S.name == text
    found = _rows(store, (cond,), _context(None, context.get("channels"), context.get("reports")))
    if not found:
        raise UsageError(f"no subscription {text!r} (see `daypulse subscriptions list`)")
    return found[0]


def flag(field: str) -> str:
    """How the CLI names a field in its errors (the API names the field itself)."""
    return f"--{field.replace('_', '-')}"


def subscribe(project, store: Store, spec: SubscriptionDefinition, *,
              named: Callable[[str], str] = flag) -> Subscription:
    """Check a new subscription against the project, then store it: `daypulse subscriptions add`
    and the API's ``POST /subscriptions``. Its report must take its filter, and its name must not
    be one daypulse.yml declares; UsageError naming the field (``named(field)``) otherwise."""

    _takes_filter(project, spec, named)
    if spec.name and spec.name in {s.name for s in yaml_subscriptions(project)}:
        raise UsageError(f"{named('name')}: daypulse.yml already declares a subscription named {spec.name!r}")
    return add(store, spec, named=named)


def add(store: Store, spec: SubscriptionDefinition, now: datetime | None = None, *,
        named: Callable[[str], str] = flag) -> Subscription:
    """Store a subscription made from the CLI/API; without a name it is called ``sub-<id>``."""
    at = _utc(now or datetime.now(UTC))
    with _write(store) as conn:
        if spec.name is not None and conn.execute(select(S.id).where(S.name == spec.name)).first():
            raise UsageError(f"{named('name')}: a subscription named {spec.name!r} exists (pick another name)")
        if spec.name is not None and conn.execute(select(DeliveryRecord.id).where(
                DeliveryRecord.subscription == spec.name).limit(1)).first():
            raise UsageError(f"{named('name')}: a removed subscription named {spec.name!r} has deliveries: pick another"
                             " name (deliveries are keyed by it; its stored reports must not go to a new target)")
        data = spec_data(spec)
        new_id = conn.execute(insert(S).values(name=spec.name or f"pending-{at.timestamp()}", source="cli",
                                               spec=data, active=spec.active, created_at=at, updated_at=at)
                              .returning(S.id)).scalar_one()
        if spec.name is None:
            name = f"sub-{new_id}"
            conn.execute(update(S).where(S.id == new_id).values(name=name, spec={**data, "name": name}))
    return get(store, new_id)


def _takes_filter(project, spec: SubscriptionDefinition, named: Callable[[str], str]) -> None:
    try:
        load_report(project, spec.report, dict(spec.filter))
    except ConfigError as err:
        raise UsageError(f"{named('filter')}: " + "; ".join(i.message for i in err.issues)) from None


@dataclass(frozen=True)
class Edit:
    """What :func:`edit` did: the subscription as it is now, the fields it changed as they were
    (``before``) and are (``after``), written as daypulse.yml would (empty: nothing changed), and
    what the change does to its deliveries (``notes``)."""

    subscription: Subscription
    before: dict
    after: dict
    notes: tuple[str, ...] = ()


def edit(project, store: Store, ref: str | int, changes: Mapping, *,
         validate: Callable[[dict], SubscriptionDefinition] | None = None,
         named: Callable[[str], str] = flag, now: datetime | None = None, actor: str = "cli",
         via: str | None = None) -> Edit:
    """Change a subscription added from the CLI or the API: its schedule, zone, target, filter,
    template or active flag (``changes``, see ``subscription.edited``), keeping its id, its name
    (its deliveries' key) and so its delivery history. ``validate`` checks the changed
    subscription as its caller checks a new one (`subscriptions add`'s flags, the API's fields;
    default: the API's, against the project), and its report must take its filter (UsageError
    naming ``named("filter")``). daypulse.yml's subscriptions are edited in the file (UsageError).
    A change is audit-logged (``subscription.edit`` by ``actor``, with the fields before and
    after, and ``via``: the dashboard); an edit that changes nothing is not.

    What the ledger does (docs/delivery.md, "Editing a subscription"): a period already sent is
    never sent again; deliveries not sent yet render again with the new target, filter or
    template; a new schedule or zone applies to the fires after ``now`` (see :func:`_reschedule`
    for how the next period is kept)."""
    at = _utc(now or datetime.now(UTC))
    context = {"channels": channel_kinds(project), "reports": report_names(project)}
    sub = get(store, ref, **context)
    _editable(sub, "edit")
    check = validate or (lambda data: validate_fields(data, project_timezone=project.timezone, **context))
    with _write(store) as conn:
        query = select(S.spec).where(S.id == sub.id)
        if store.dialect == "postgresql":
            query = query.with_for_update()  # one edit at a time: none is lost to another
        raw = conn.execute(query).scalar_one_or_none()
        if raw is None:
            raise UsageError(f"no subscription {str(ref)!r} (see `daypulse subscriptions list`)")
        spec = check(edited(raw, changes))
        _takes_filter(project, spec, named)
        data = spec_data(spec)
        fields = [k for k in dict.fromkeys([*raw, *data]) if raw.get(k) != data.get(k)]
        if fields:
            conn.execute(update(S).where(S.id == sub.id).values(spec=data, active=spec.active, updated_at=at))
    if not fields:
        return Edit(sub, {}, {})
    notes = []
    if set(fields) & set(CONTENT_FIELDS):
        again = ledger.render_again(store, sub.name, at)
        if again:
            what = "delivery" if again == 1 else "deliveries"
            notes.append(f"{again} {what} not sent yet will be rendered again with the new settings")
    if {"schedule", "timezone"} & set(fields):
        notes += _reschedule(project, store, sub, spec, at)
    done = Edit(get(store, sub.id, **context), {k: _shown(raw, k) for k in fields},
                {k: _shown(data, k) for k in fields}, tuple(notes))
    tokens.audit(store, actor, "subscription.edit", sub.name, {"before": done.before, "after": done.after,
                                                               **({"via": via} if via else {})})
    return done


def _shown(spec: Mapping, field: str):
    """A field as the audit log and the CLI show it (``spec_data`` leaves an empty filter out: {})."""
    return spec.get(field) or ({} if field == "filter" else spec.get(field))


def _reschedule(project, store: Store, sub: Subscription, new: SubscriptionDefinition, at: datetime) -> list[str]:
    """A new schedule (or zone) applies from ``at``; nothing already sent is sent again (its row
    is there) and the next period is not lost:

    1. the old schedule is settled up to ``at`` as a pass at ``at`` would settle it: the periods
       its fires had made due get their rows;
    2. a period from the one the old schedule would have sent next on, that the new schedule
       reports on at a fire already past (the time moved earlier, past the new time), gets its
       row now, due at once: the next pass sends it, late by the new schedule;
    3. the fires up to ``at`` are marked looked at, so the new schedule starts with its next fire.
    """
    old, notes = sub.spec, []
    if old is not None and sub.active and new.active:
        grain, cal = load_report(project, new.report).period, project.calendar
        tick = delivery_settings(project).tick
        for due in due_periods(old.schedule, old.timezone, grain, cal, sub.checked_until, at, old.catch_up,
                               old.grace, tick):
            ledger.ensure(store, sub.name, due.period_start, at, due_at=due.ready_at)
        old_next = period_for(next_fire(old.schedule, old.timezone, at), grain, cal)
        new_first = period_for(next_fire(new.schedule, new.timezone, at), grain, cal)
        # Only a fire after old_next's local day can report on old_next or later.
        since = min(at, datetime.combine(old_next, time(), ZoneInfo(new.timezone)) - timedelta(days=1))
        owed = sorted({p for f in fires_between(new.schedule, new.timezone, since, at)
                       if old_next <= (p := period_for(f, grain, cal)) < new_first})
        for start in owed:
            id = ledger.ensure(store, sub.name, start, at, due_at=period_ready_at(start, grain, cal))
            if ledger.get(store, id).status == ledger.PENDING:
                notes.append(f"the {grain} of {start}, whose new time has passed, goes out at the next pass")
    advance(store, [sub.name], at)
    return notes


def set_active(store: Store, ref: str | int, active: bool) -> Subscription:
    sub = get(store, ref)
    _editable(sub, "pause or resume")
    with _write(store) as conn:
        conn.execute(update(S).where(S.id == sub.id).values(
            active=active, spec={**conn.execute(select(S.spec).where(S.id == sub.id)).scalar_one(), "active": active},
            updated_at=_utc(datetime.now(UTC))))
    return get(store, sub.id)


def remove(store: Store, ref: str | int) -> Subscription:
    """Delete a CLI subscription (its delivery history stays, under its name)."""
    sub = get(store, ref)
    _editable(sub, "remove")
    with _write(store) as conn:
        conn.execute(delete(S).where(S.id == sub.id))
    return sub


def _editable(sub: Subscription, what: str) -> None:
    if sub.source == "yml":
        raise UsageError(f"subscription {sub.name!r} is declared in daypulse.yml: {what} it there"
                         " (active: false pauses it)")


def sync_yaml(store: Store, specs: list[SubscriptionDefinition], now: datetime | None = None) -> None:
    """Make the ``yml`` rows match daypulse.yml's subscriptions (which all have names). Safe to
    run from several processes at once: inserts ignore a row another process just made."""
    at = _utc(now or datetime.now(UTC))
    wanted = {s.name: spec_data(s) for s in specs}
    with store.engine.connect() as conn:
        have = {r.name: r for r in conn.execute(select(S.id, S.name, S.source, S.spec, S.active, S.note))}
    clash = [n for n in wanted if n in have and have[n].source != "yml"]
    if clash:
        raise UsageError(f"daypulse.yml declares subscription(s) {', '.join(clash)} whose names a CLI subscription"
                         " already has: rename one (`daypulse subscriptions remove NAME` removes the CLI one)")
    new = [n for n in wanted if n not in have]
    changed = [n for n in wanted if n in have and (have[n].spec != wanted[n] or have[n].active != wanted[n]
                                                   .get("active", True) or have[n].note == REMOVED)]
    gone = [n for n, r in have.items() if r.source == "yml" and n not in wanted and (r.active or r.note != REMOVED)]
    if not (new or changed or gone):
        return
    if store.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    with _write(store) as conn:
        for n in new:
            conn.execute(upsert(S).values(name=n, source="yml", spec=wanted[n], active=wanted[n].get("active", True),
                                          created_at=at, updated_at=at).on_conflict_do_nothing(index_elements=[S.name]))
        for n in changed:
            conn.execute(update(S).where(S.name == n, S.source == "yml").values(
                spec=wanted[n], active=wanted[n].get("active", True), note=None, updated_at=at))
        for n in gone:
            conn.execute(update(S).where(S.name == n, S.source == "yml").values(active=False, note=REMOVED,
                                                                                 updated_at=at))


def advance(store: Store, names: Iterable[str], until: datetime) -> None:
    """Record that fires up to ``until`` were looked at (never moves a subscription back)."""
    names = sorted(set(names))
    if not names:
        return
    at = _utc(until)
    with _write(store) as conn:
        conn.execute(update(S).where(S.name.in_(names), or_(S.checked_until.is_(None), S.checked_until < at))
                     .values(checked_until=at))
