"""A metric's definition in plain words (shown by `daypulse metrics`, later next to numbers)."""

from __future__ import annotations

from daypulse.spec.model import (
    CumulativeMetric,
    EventMetric,
    Project,
    RatioMetric,
    SqlMetric,
    StateMetric,
)

_MEASURE = {"count": "number of rows", "count_distinct": "number of distinct {c}",
            "sum": "sum of {c}", "avg": "average of {c}", "min": "smallest {c}",
            "max": "largest {c}"}


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


def describe(project: Project, name: str) -> str:
    m = project.metrics[name]
    if m.formula:
        return m.formula
    if isinstance(m, RatioMetric):
        return f"{m.numerator} / {m.denominator} for the same period (empty when {m.denominator} is 0)"
    if isinstance(m, CumulativeMetric):
        return f"{m.of} from the start of the {m.reset} to the end of the day"
    if isinstance(m, SqlMetric):
        return "custom SQL"
    what = _MEASURE[m.measure].format(c=m.column)
    table = project.table(m.table).name
    if isinstance(m, StateMetric):
        end = f" and not yet {m.end}" if m.end else ""
        return f"{what} in {table} open at the end of the day ({m.start} before it{end}){_where(m.where)}"
    assert isinstance(m, EventMetric)
    span = f"the {m.window} days ending with the day" if m.window else "the day"
    return f"{what} in {table} with {m.time} during {span}{_where(m.where)}"
