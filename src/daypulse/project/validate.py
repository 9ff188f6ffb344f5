"""Rules that span fields and metrics. Each returns Issues; nothing raises here."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from daypulse.calendar import zone
from daypulse.errors import Issue
from daypulse.project import expr
from daypulse.project.model import (
    MAX_DAYS,
    METRIC_NAME,
    WHERE_OPERATORS,
    ChurnMetric,
    CumulativeMetric,
    DerivedMetric,
    EventMetric,
    Project,
    RatioMetric,
    SqlMetric,
    StateMetric,
    TableMetric,
    depends_on,
)

if TYPE_CHECKING:
    from daypulse.project.located import Located

NEEDS_COLUMN = ("count_distinct", "sum", "avg", "min", "max")


def validate_project(project: Project, loc: Located, declared: set[str] | None = None) -> list[Issue]:
    """``declared``: every metric name in the file, valid or not (so a broken part is not
    reported again as unknown)."""
    known = declared if declared is not None else set(project.metrics)
    issues: list[Issue] = []
    try:
        zone(project.timezone)
    except ValueError:
        issues.append(loc.issue(("timezone",), f"unknown time zone {project.timezone!r}",
                                hint="use an IANA name such as Asia/Kolkata or America/New_York"))
    for name, m in project.metrics.items():
        at = ("metrics", name)
        if not isinstance(name, str) or not re.match(METRIC_NAME, name):
            issues.append(loc.issue(at, "metric names are lower case letters, digits and _,"
                                    " starting with a letter", metric=name))
        if isinstance(m, TableMetric):
            issues += _table_metric(name, m, loc)
        if isinstance(m, DerivedMetric):
            try:
                expr.compiled(m.expr)  # parses and checks it, then builds what will run
            except ValueError as exc:
                issues.append(loc.issue(at + ("expr",), f"expr: {exc}", metric=name))
            except (SyntaxError, RecursionError, MemoryError):
                issues.append(loc.issue(at + ("expr",), "expr: too deeply nested to evaluate;"
                                        " split it into several derived metrics", metric=name))
        for part in depends_on(m):
            if part not in known:
                field = "of" if isinstance(m, CumulativeMetric) else "expr" if isinstance(
                    m, DerivedMetric) else (
                    "numerator" if part == getattr(m, "numerator", None) else "denominator")
                issues.append(loc.issue(at + (field,), f"refers to unknown metric {part!r}",
                                        metric=name, hint=_close(part, project.metrics)))
        if isinstance(m, CumulativeMetric) and m.of in project.metrics:
            of = project.metrics[m.of]
            if not isinstance(of, EventMetric) or of.window:
                issues.append(loc.issue(at + ("of",), "a cumulative metric accumulates an event"
                                        " metric without a window", metric=name))
        if isinstance(m, ChurnMetric) and not project.churn:
            issues.append(loc.issue(at + ("kind",), "a churn metric counts the churn scores, and the project has"
                                    " no churn: section", metric=name,
                                    hint="add a churn: section (docs/churn.md), or remove the metric"))
        if isinstance(m, SqlMetric):
            for p in (":start", ":end"):
                if p not in m.sql:
                    issues.append(loc.issue(at + ("sql",), f"the SQL does not use {p}",
                                            metric=name, level="warning",
                                            hint="filter on the range so only needed rows are read"))
    issues += _cycles(project, loc)
    issues += _part_grains(project, loc)
    issues += _hour_grains(project, loc)
    # A broken metric's dimensions are unknown (and a cycle has none): no guesses then.
    if known == set(project.metrics) and not any(i.level == "error" for i in issues):
        issues += _dimension_settings(project, loc)
    return issues


def _part_grains(project: Project, loc: Located) -> list[Issue]:
    """A ratio or derived metric opted in to a grain (its own ``grains:``) is made from its parts
    at that grain: each part must be computed at it too, else the grain would silently be empty."""
    issues = []
    for name, m in project.metrics.items():
        if not isinstance(m, DerivedMetric | RatioMetric) or m.grains is None:
            continue
        for grain in dict.fromkeys(project.grains_of(name, m.grains)):
            for part in dict.fromkeys(depends_on(m)):
                if part in project.metrics and not project.grains_of(part, [grain]):
                    how = (f"add {grain} to {part}'s grains:" if project.metrics[part].grains is not None
                           else f"add {grain} to compute.grains in daypulse.yml, or to {part}'s grains:")
                    issues.append(loc.issue(("metrics", name, "grains"), f"grains: {part!r} is not"
                                            f" computed by {grain}, so neither is this metric",
                                            metric=name, hint=how))
    return issues


def _hour_grains(project: Project, loc: Located) -> list[Issue]:
    """``grains: [hour, ...]`` on a metric that has no hourly values would stay empty."""
    return [loc.issue(("metrics", name, "grains"), f"grains: {project.grain_problem([name], 'hour')}",
                      metric=name, hint="drop hour from its grains:")
            for name, m in project.metrics.items()
            if m.grains is not None and "hour" in m.grains and not project.hourly(name)]


def _dimension_settings(project: Project, loc: Located) -> list[Issue]:
    """``dimensions:`` names dimensions the metrics have (labels of a misspelt one would never show)."""
    have = set().union(*(project.dimensions_of(n) for n in project.metrics))
    return [loc.issue(("dimensions", name), f"dimensions.{name}: no metric has a dimension {name!r}",
                      hint=_close(name, have) or ("the metrics' dimensions: " + ", ".join(sorted(have))
                                                  if have else "no metric has dimensions"))
            for name in project.dimensions if name not in have]


def _table_metric(name: str, m: TableMetric, loc: Located) -> list[Issue]:
    at = ("metrics", name)
    out = []
    if m.measure in NEEDS_COLUMN and not m.column:
        out.append(loc.issue(at + ("measure",), f"measure {m.measure} needs a column",
                             metric=name, hint="add column: <the column to measure>"))
    if m.column and not m.column.isidentifier():
        if m.measure not in ("sum", "avg", "min", "max") or not isinstance(m, (EventMetric, StateMetric)):
            out.append(loc.issue(at + ("column",), "column: an expression is measured by sum, avg, min"
                                 " or max of an event or state metric; otherwise name one column",
                                 metric=name))
        else:
            try:
                expr.parse(m.column)
            except ValueError as exc:
                out.append(loc.issue(at + ("column",), f"column: {exc}", metric=name,
                                     hint="a column, or + - * / over columns: (likes + comments) / views"))
    out += _where_issues(at, m.where, name, loc)
    if isinstance(m, EventMetric) and m.during is not None:
        out += _where_issues(at + ("during",), m.during.where, name, loc)
    for i, combo in enumerate(m.breakdowns):
        for d in combo:
            if d not in m.dimensions:
                out.append(loc.issue(at + ("breakdowns", i), f"breakdown names unknown"
                                     f" dimension {d!r}", metric=name,
                                     hint="declare it under dimensions: first"))
    for dim, col in m.dimensions.items():
        if isinstance(col, str) and col.startswith("@"):
            if col != "@hour":
                out.append(loc.issue(at + ("dimensions", dim), f"unknown computed dimension"
                                     f" {col!r}", metric=name, hint="@hour is the hour of the local day"))
            elif not isinstance(m, EventMetric):
                out.append(loc.issue(at + ("dimensions", dim), "@hour needs a metric with a time"
                                     " (kind: event)", metric=name))
    if isinstance(m, EventMetric) and m.window is not None and not 1 <= m.window <= MAX_DAYS:
        out.append(loc.issue(at + ("window",), f"window must be 1 to {MAX_DAYS} days, not"
                             f" {m.window}", metric=name, hint="WAU is 7, MAU 28"))
    return out


def _where_issues(at: tuple, where: dict, name: str, loc: Located) -> list[Issue]:
    out = []
    for col, cond in where.items():
        if isinstance(cond, dict):
            for op, value in cond.items():
                if op not in WHERE_OPERATORS:
                    out.append(loc.issue(at + ("where", col), f"unknown operator {op!r}",
                                         metric=name, hint="one of " + " ".join(WHERE_OPERATORS)))
                elif problem := _operand_problem(op, value):
                    out.append(loc.issue(at + ("where", col, op), f"where.{col}.{op}: {problem}",
                                         metric=name))
    return out


def _operand_problem(op: str, value) -> str | None:
    """What is wrong with an operator's value (a string given to `in` would be split into
    characters, so the shapes are checked here rather than trusted)."""
    if op in ("in", "not_in") and not isinstance(value, list):
        return f"{op} takes a list, e.g. [a, b]"
    if op == "is_null" and not isinstance(value, bool):
        return "is_null takes true or false"
    if op == "like" and not isinstance(value, str):
        return "like takes a pattern string such as 'acme%'"
    if op not in ("in", "not_in") and isinstance(value, (list, dict)):
        return f"{op} takes a single value"
    return None


def _cycles(project: Project, loc: Located) -> list[Issue]:
    issues, state = [], {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == "done" or name not in project.metrics:
            return
        if state.get(name) == "active":
            cycle = trail[trail.index(name):] + [name]
            issues.append(loc.issue(("metrics", name), "definitions form a cycle: "
                                    + " -> ".join(cycle), metric=name))
            return
        state[name] = "active"
        for part in depends_on(project.metrics[name]):
            visit(part, trail + [name])
        state[name] = "done"

    for name in project.metrics:
        visit(name, [])
    return issues


def _close(name: str, known) -> str | None:
    match = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {match[0]!r}?" if match else None
