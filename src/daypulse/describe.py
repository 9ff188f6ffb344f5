"""A metric's definition in plain words (shown by `daypulse metrics`, later next to numbers)."""

from __future__ import annotations

from daypulse.project.model import (
    CumulativeMetric,
    DerivedMetric,
    EventMetric,
    LifecycleMetric,
    ManualMetric,
    MovementMetric,
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
    if isinstance(m, DerivedMetric):
        return f"{m.expr} for the same period (empty when a part is empty or a divisor is 0)"
    if isinstance(m, ManualMetric):
        return "typed in: the latest value set on or before the day"
    if isinstance(m, MovementMetric):
        what = "number of" if m.measure == "count" else "sum of"
        cohort = " among those above 0 when the period began" if m.cohort == "existing" else ""
        return (f"{what} {m.movement} movements of each {m.entity}'s total {m.column} in"
                f" {project.table(m.table).name} between consecutive days{cohort}")
    if isinstance(m, LifecycleMetric):
        return (f"number of {m.column} in {project.table(m.table).name} that are {m.status} in"
                " the period (by activity in it and the previous one)")
    what = _MEASURE[m.measure].format(c=m.column)
    table = project.table(m.table).name
    if isinstance(m, StateMetric):
        end = f" and not yet {m.end}" if m.end else ""
        return f"{what} in {table} open at the end of the day ({m.start} before it{end}){_where(m.where)}"
    assert isinstance(m, EventMetric)
    span = f"the {m.window} days ending with the day" if m.window else "the day"
    return f"{what} in {table} with {m.time} during {span}{_where(m.where)}"


_FORMATS = {"integer": "count", "number": "number", "currency": "money (cents)",
            "percent": "percent", "duration": "seconds"}


def metric_rows(project: Project) -> list[dict]:
    """What `daypulse metrics` lists: one row per metric, in the project's order."""
    return [{"metric": name, "label": m.label or name, "kind": m.kind,
             "formula": describe(project, name), "format": _FORMATS[m.format], "good": m.good,
             "description": (m.description or "").strip()}
            for name, m in project.metrics.items()]


def packs_markdown() -> str:
    """docs/metrics.md: every built-in pack's metrics with their formula (tested to match)."""
    import json

    from daypulse.project.loader import project_from_dict
    from daypulse.project.packs import PACKS, load_pack

    lines = ["# Built-in metrics", "",
             "Generated from the packs in `src/daypulse/packs/` by"
             " `daypulse metrics --packs --format markdown > docs/metrics.md`"
             " (a test fails when it is out of date). How to map a pack onto your own tables:"
             " [packs.md](packs.md). Money is in cents; a rate is a fraction shown as a percent.",
             ""]
    for name in PACKS:
        pack = load_pack(name)
        project = project_from_dict({"source": "duckdb:///:memory:", "include": [name]})
        lines += [f"## {name}", "", pack.data.get("description", ""), ""]
        params = pack.params
        if params:
            lines.append("Settings (`params:`): " + ", ".join(
                f"`{k}` = `{json.dumps(v)}`" for k, v in params.items()) + ".")
            lines.append("")
        lines += ["| metric | label | formula | unit | good |", "|---|---|---|---|---|"]
        for row in metric_rows(project):
            cells = [f"`{row['metric']}`", row["label"], row["formula"], row["format"], row["good"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
