"""The values of ``kind: churn`` metrics, counted from the churn risk daypulse keeps in its store
(``daypulse churn``): customers scored at the end of each day by level, or churn alerts open
then by type and severity, and by the churn section's dimensions.

A day nobody was scored has no value (NULL: churn was not run, which is not "0 customers at
risk"); on a scored day every combination seen in the range is counted, 0 where none. The
store groups the rows (one row per day, level and dimension values; per alert episode shape):
no Python loop over customers or alerts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from daypulse.project.model import ChurnMetric
from daypulse.store import churn as stored
from daypulse.store.db import Store

Counts = dict[tuple[date, tuple], int]  # (day, ((dimension, value), ...)) -> count


def churn_counts(store: Store, zone: str, m: ChurnMetric, groupings, first: date, last: date) -> Counts:
    """{(day, dims): count} for every scored day of [first, last] and every grouping of ``m``
    (``Project.groupings_of``: the total, each dimension, its breakdowns)."""
    days = stored.scored_days(store, first, last)
    if not days:
        return {}
    combos = [tuple(sorted(g)) for g in groupings]
    out: Counts = {(d, ()): 0 for d in days}
    if m.measure == "customers":
        for day, level, dims, n in stored.level_counts(store, first, last):
            have = {**dims, "level": level}
            for key in _keys(m, combos, have):
                out[(day, key)] = out.get((day, key), 0) + n
        return out
    # Open alerts: +n from the day an episode is open, -n from the day it is not (cleared, or
    # resolved by hand: not open at the end of the local day of its resolution).
    tz = ZoneInfo(zone)
    change: dict[tuple, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for opened, cleared, resolved_at, typ, severity, dims, n in stored.alert_spans(store, first, last):
        ends = [d for d in (cleared, _local_day(resolved_at, tz)) if d is not None]
        end = min(ends) if ends else None
        begin = max(opened, first)
        if end is not None and end <= begin:
            continue
        have = {**dims, "type": typ, "severity": severity}
        for key in _keys(m, combos, have):
            change[key][begin] += n
            if end is not None and end <= last:
                change[key][end] -= n
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for key, steps in change.items():
        running = 0
        for day in span:
            running += steps.get(day, 0)
            if day in days:
                out[(day, key)] = running
    return out


def _keys(m: ChurnMetric, combos: list[tuple[str, ...]], have: dict) -> list[tuple]:
    """The dimension tuples one group of rows counts in: one per grouping whose every
    dimension has a value."""
    keys = []
    for combo in combos:
        values = [(name, have.get(m.dimensions[name])) for name in combo]
        if all(v is not None for _, v in values):
            keys.append(tuple(values))
    return keys


def _local_day(at: datetime | None, tz: ZoneInfo) -> date | None:
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite gives back naive UTC
        at = at.replace(tzinfo=ZoneInfo("UTC"))
    return at.astimezone(tz).date()
