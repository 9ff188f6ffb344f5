"""The metric kinds, in one table: what each kind is made from, what a period with no rows is
worth, which source columns it names, and its definition in plain words.

``compile`` (the query of each kind: ``compile.BUILDERS``), the engine, ``daypulse check`` and
``describe`` read this table instead of testing a metric's class; a new kind is a row here and
a builder there (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from daypulse.project.expr import names
from daypulse.project.model import (
    METRIC_KINDS,
    ChurnMetric,
    CumulativeMetric,
    DerivedMetric,
    EventMetric,
    LifecycleMetric,
    ManualMetric,
    MovementMetric,
    Project,
    RatioMetric,
    SnapshotMetric,
    SqlMetric,
    StateMetric,
    TableMetric,
)

MEASURE_WORDS = {"count": "number of rows", "count_distinct": "number of distinct {c}", "sum": "sum of {c}",
                 "avg": "average of {c}", "min": "smallest {c}", "max": "largest {c}"}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    # Computed by a query in the source; otherwise from other values (its parts', the store's).
    in_source: bool
    describe: Callable[[Project, object], str]  # the definition in plain words
    # A period with no rows: 0 for counts and sums, None (no value) for averages, ratios...
    zero: Callable[[Project, object], int | None]
    # The source columns the metric names, by the setting that names them (checked by `check`).
    columns: Callable[[object], dict[str, str | None]] = lambda m: {}


def _where(where: dict) -> str:
    if not where:
        return ""
    parts = []
    for col, cond in where.items():
        if isinstance(cond, dict):
            parts += [f"{col} {op} {v!r}" for op, v in cond.items()]
        elif isinstance(cond, list):
            parts.append(f"{col} in {cond!r}")
        else:
            parts.append(f"{col} = {cond!r}")
    return " where " + " and ".join(parts)


def _table_columns(m: TableMetric, **named) -> dict[str, str | None]:
    wanted = {"column": m.column, **named}
    if m.column and not m.column.isidentifier():  # an expression: each column it names
        del wanted["column"]
        wanted.update({f"column.{c}": c for c in names(m.column)})
    wanted.update({f"dimensions.{d}": c for d, c in m.dimensions.items() if not c.startswith("@")})
    wanted.update({f"where.{c}": c for c in m.where})
    return wanted


def _measure_zero(m) -> int | None:
    return 0 if m.measure in ("count", "count_distinct", "sum") else None


def _event(project: Project, m: EventMetric) -> str:
    span = f"the {m.window} days ending with the day" if m.window else "the day"
    what = MEASURE_WORDS[m.measure].format(c=m.column)
    return f"{what} in {project.table(m.table).name} with {m.time} during {span}{_where(m.where)}"


def _event_columns(m: EventMetric) -> dict[str, str | None]:
    more = {"during.match": m.during.match or m.during.entity} if m.during is not None else {}
    return _table_columns(m, time=m.time, **more)


def _state(project: Project, m: StateMetric) -> str:
    end = f" and not yet {m.end}" if m.end else ""
    what = MEASURE_WORDS[m.measure].format(c=m.column)
    return (f"{what} in {project.table(m.table).name} open at the end of the day ({m.start} before it{end})"
            f"{_where(m.where)}")


def _movement(project: Project, m: MovementMetric) -> str:
    what = "number of" if m.measure == "count" else "sum of"
    cohort = " among those above 0 when the period began" if m.cohort == "existing" else ""
    return (f"{what} {m.movement} movements of each {m.entity}'s total {m.column} in"
            f" {project.table(m.table).name} between consecutive days{cohort}")


def _lifecycle(project: Project, m: LifecycleMetric) -> str:
    return (f"number of {m.column} in {project.table(m.table).name} that are {m.status} in"
            " the period (by activity in it and the previous one)")


_SNAPSHOT_ROLLUP = {"last": "its last day with rows", "sum": "the sum of its days",
                    "avg": "the average of its days with rows"}


def _snapshot(project: Project, m: SnapshotMetric) -> str:
    return (f"{m.column} of {project.table(m.table).name}'s rows for the day ({m.time}), summed{_where(m.where)};"
            f" a longer period takes {_SNAPSHOT_ROLLUP[m.rollup]}")


CHURN_WORDS = {"customers": "customers scored for churn risk at the end of the day (daypulse churn)",
               "open_alerts": "churn alerts open at the end of the day (neither cleared nor resolved)"}


def _none(project: Project, m) -> None:
    return None


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("event", EventMetric, True, _event, lambda p, m: _measure_zero(m), _event_columns),
    Kind("state", StateMetric, True, _state, lambda p, m: _measure_zero(m),
         lambda m: _table_columns(m, start=m.start, end=m.end)),
    Kind("ratio", RatioMetric, False,
         lambda p, m: f"{m.numerator} / {m.denominator} for the same period (empty when {m.denominator} is 0)",
         _none),
    Kind("cumulative", CumulativeMetric, True,
         lambda p, m: f"{m.of} from the start of the {m.reset} to the end of the day",
         lambda p, m: _measure_zero(p.metrics[m.of]) if m.of in p.metrics else None),
    Kind("sql", SqlMetric, True, lambda p, m: "custom SQL", lambda p, m: 0),
    Kind("movement", MovementMetric, True, _movement, lambda p, m: 0,
         lambda m: _table_columns(m, start=m.start, end=m.end, entity=m.entity)),
    Kind("lifecycle", LifecycleMetric, True, _lifecycle, lambda p, m: 0, lambda m: _table_columns(m, time=m.time)),
    Kind("manual", ManualMetric, False, lambda p, m: "typed in: the latest value set on or before the day", _none),
    Kind("derived", DerivedMetric, False,
         lambda p, m: f"{m.expr} for the same period (empty when a part is empty or a divisor is 0)", _none),
    # A day without a row has no value: a snapshot that did not load is not a snapshot of 0.
    Kind("snapshot", SnapshotMetric, True, _snapshot, _none, lambda m: _table_columns(m, time=m.time)),
    Kind("churn", ChurnMetric, False, lambda p, m: CHURN_WORDS[m.measure], lambda p, m: 0),
)}


if tuple(KINDS) != METRIC_KINDS:  # the Metric union in model.py and this table list the same kinds
    raise RuntimeError(f"metric kinds differ: {tuple(KINDS)} != {METRIC_KINDS}")


def kind_of(m) -> Kind:
    """The table's row for a metric definition."""
    return KINDS[m.kind]
