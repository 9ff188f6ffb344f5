"""A compute run: pick the range, compute, compare with the store, replace atomically."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from daypulse.calendar import FIRST_DAY
from daypulse.compile.rows import Source
from daypulse.engine import labels as dimension_labels
from daypulse.engine.churn_counts import churn_counts
from daypulse.engine.compute import MetricTiming, compute_values
from daypulse.errors import UsageError, UserError
from daypulse.project.model import ManualMetric, Project
from daypulse.store import labels as stored_labels
from daypulse.store import values as sv
from daypulse.store.db import Store
from daypulse.store.manual import series
from daypulse.values import MetricValue


@dataclass(frozen=True)
class Range:
    start: date
    end: date
    why: str  # how the range was chosen, for the log


# What the range's inputs are called where they come from: flags on the command line, fields in
# the API's body. Errors name them so (``--end: ...`` or ``end: ...``).
FLAGS = {"date": "--date", "start": "--start", "end": "--end", "days_back": "--days-back"}
FIELDS = {"start": "start", "end": "end", "days_back": "days_back"}  # the API has no single day


def choose_range(project: Project, *, on: date | None = None, start: date | None = None,
                 end: date | None = None, days_back: int | None = None, now: datetime | None = None,
                 names: dict[str, str] = FIELDS) -> Range | None:
    """The days asked for: one day, a range (its end defaults to yesterday) or the last N
    complete days; None when nothing was asked (an incremental run, :func:`incremental_range`).
    UsageError naming the flag or field (``names``) at fault; a range may not start in the future."""
    today = project.calendar.today(now)
    yesterday = today - timedelta(days=1)
    if sum(x is not None for x in (on, start or end, days_back)) > 1:
        ways = [w for w in (names.get("date"), f"{names['start']}/{names['end']}") if w]
        raise UsageError(f"{names['days_back'] if days_back is not None else names['date']}: give one of"
                         f" {', '.join(ways)} or {names['days_back']}")
    if on is not None:
        rng, field = Range(on, on, f"the day {on}"), names.get("date", "date")
    elif start is not None or end is not None:
        if start is None:
            raise UsageError(f"{names['start']}: {names['end']} needs {names['start']}")
        rng, field = Range(start, end or yesterday, "the range asked for"), names["start"]
    elif days_back is not None:
        if days_back < 1:
            raise UsageError(f"{names['days_back']}: at least 1 day")
        if days_back > (yesterday - FIRST_DAY).days + 1:
            raise UsageError(f"{names['days_back']}: {days_back} days go back before {FIRST_DAY}"
                             f" (at most {(yesterday - FIRST_DAY).days + 1})")
        rng, field = Range(yesterday - timedelta(days=days_back - 1), yesterday, f"the last {days_back} days"), \
            names["days_back"]
    else:
        return None
    project.not_in_future(rng.start, field, now)
    if rng.end < rng.start:
        raise UsageError(f"{names['end']}: {rng.end} is before {names['start']} {rng.start}")
    return rng


def incremental_range(project: Project, store: Store, as_of: datetime | None = None) -> Range:
    """Days since the last successful full run, re-reading ``lookback_days`` before it.

    The last complete local day is yesterday; a first run computes ``initial_days``.
    """
    cal = project.calendar
    yesterday = cal.today(as_of) - timedelta(days=1)
    last = sv.last_complete_day(store, lambda t: cal.today(t))
    settings = project.compute
    if last is None:
        start = yesterday - timedelta(days=settings.initial_days - 1)
        return Range(start, yesterday, f"first run: the last {settings.initial_days} days")
    start = min(last + timedelta(days=1), yesterday) - timedelta(days=settings.lookback_days)
    return Range(start, yesterday,
                 f"incremental: since {last} with {settings.lookback_days} days of look-back")


@dataclass
class Change:
    metric: str
    grain: str
    period: date
    dims_key: str
    old: object
    new: object
    hour: int = 0  # of an hour-grain value


@dataclass
class ComputeOutcome:
    run_id: int | None
    values: list[MetricValue]
    timings: list[MetricTiming] = field(default_factory=list)
    changes: list[Change] | None = None
    unchanged: int = 0
    stale_before: dict[str, int] = field(default_factory=dict)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))


def diff(store: Store, values: list[MetricValue]) -> tuple[list[Change], int]:
    stored = sv.stored_values(store, sv.scopes_of(values))
    changes, unchanged = [], 0
    fresh = set()
    for v in values:
        key = (v.metric, v.grain, v.period_start, v.dims_key, v.hour)
        fresh.add(key)
        if key in stored and _same(stored[key], v.value):
            unchanged += 1
        else:
            changes.append(Change(*key[:4], stored.get(key, "(none)"), v.value, v.hour))
    for key, old in stored.items():
        if key not in fresh:  # a dimension value no longer seen: its row goes away
            changes.append(Change(*key[:4], old, "(removed)", key[4]))
    return changes, unchanged


def run_compute(project: Project, store: Store, start: date, end: date,
                metrics: list[str] | None = None, grains: list[str] | None = None,
                dry_run: bool = False, want_diff: bool = False, as_of: datetime | None = None,
                on_metric: Callable[[MetricTiming], None] | None = None,
                params: dict | None = None, run_id: int | None = None,
                source: Source | None = None) -> ComputeOutcome:
    """Compute [start, end] and replace those periods in the store, recorded as a run.

    ``run_id``: a run the caller already recorded (the API answers with its id before the
    compute starts). Bad input then fails that run instead of erasing it: someone holds its id.
    ``source``: the source already open (`daypulse compute` connects and checks it before it
    opens the store, :func:`daypulse.checks.ready_to_compute`).
    """
    told = run_id is not None
    names = project.resolve(metrics)
    hashes = {n: project.definition_hash(n) for n in project.metrics}
    stale = sv.stale_counts(store, hashes)
    if not dry_run and run_id is None:
        run_id = sv.start_run(store, "compute", {
            "metrics": metrics or None, "grains": grains or None, **(params or {})}, start, end)
    timings: list[MetricTiming] = []

    def record(t: MetricTiming) -> None:
        timings.append(t)
        if on_metric:
            on_metric(t)

    try:
        # The labels of the dimensions computed (one query each), first: a lookup table that is
        # not there stops the run before anything is computed or written.
        labels, labelled = {}, dimension_labels.wanted(project, names)
        if labelled:
            source = source or Source.open(project.source)
            labels = dimension_labels.read(project, source, labelled)
        values = compute_values(project, start, end, names, grains, as_of=as_of, source=source,
                                on_metric=record, manual=_manual_series(project, store),
                                churn=lambda name, first, last: churn_counts(
                                    store, project.timezone, project.metrics[name], project.groupings_of(name),
                                    first, last))
        outcome = ComputeOutcome(run_id, values, timings, stale_before=stale)
        if want_diff:
            outcome.changes, outcome.unchanged = diff(store, values)
        if not dry_run:
            stored_labels.replace(store, labels, dimension_labels.labelled(project))
            sv.replace_values(store, values, hashes, run_id, finish={})
    except KeyboardInterrupt:
        if run_id is not None:
            sv.fail_run(store, run_id, "interrupted (Ctrl-C); nothing was written")
        raise
    except UserError as exc:
        if told:
            sv.fail_run(store, run_id, str(exc))
        elif run_id is not None:
            sv.forget_run(store, run_id)
        raise
    except Exception as exc:
        if run_id is not None:
            sv.fail_run(store, run_id, f"{type(exc).__name__}: {exc}")
        raise
    return outcome


def _manual_series(project: Project, store: Store) -> dict:
    names = [n for n, m in project.metrics.items() if isinstance(m, ManualMetric)]
    return series(store, names) if names else {}
