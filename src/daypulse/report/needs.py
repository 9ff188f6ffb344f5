"""The breakdowns a project's filtered reports read, stored without being declared by hand.

A report narrowed to one branch (its own ``filter:``, or a subscription's) shows its staff
leaderboard and call outcomes *within* that branch: values by branch and staff together. A table
metric stores each dimension on its own and only the combinations under its ``breakdowns:``, so
without this the branch report's tables would be empty. At load (``load_project(path, SECTIONS,
DERIVED)``) every combination the file's filtered reports read is added to the table metrics
they are computed from; `daypulse check` lists them. What cannot be computed (a part without one
of the dimensions) is left to the report, which says so in a note.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from daypulse.project.model import Project, TableMetric
from daypulse.report.definition import ReportDefinition, builtin_reports


def implied_breakdowns(project: Project) -> dict[str, list[tuple[str, ...]]]:
    """{table metric: [dimension combination, ...]} that filtered reports read and the metric
    does not store yet (sorted names), each combination once."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for spec, flt in _filtered_reports(project):
        for metric, dims in _reads(spec, flt):
            if metric not in project.metrics or len(dims) < 2:
                continue
            for part in project.with_parts([metric]):
                m = project.metrics[part]
                combo = tuple(sorted(dims))
                if (isinstance(m, TableMetric) and set(combo) <= set(m.dimensions)
                        and frozenset(combo) not in project.groupings_of(part)
                        and combo not in out.setdefault(part, [])):
                    out[part].append(combo)
    return {k: v for k, v in out.items() if v}


def with_implied_breakdowns(project: Project) -> Project:
    """The project whose table metrics also store the combinations its filtered reports read."""
    return project.with_breakdowns(implied_breakdowns(project))


def _filtered_reports(project: Project) -> Iterator[tuple[ReportDefinition, dict[str, str]]]:
    """(definition, the filter it is read with) of every report the file narrows: a report's own
    ``filter:``, and each subscription's on top of it."""
    raw = {**builtin_reports(), **project.reports}
    specs: dict[str, ReportDefinition] = {}
    for name, body in raw.items():
        try:
            specs[name] = ReportDefinition.model_validate(body)
        except ValidationError:
            continue  # the report's own check names the problem
    for spec in specs.values():
        if spec.filter:
            yield spec, dict(spec.filter)
    for sub in project.subscriptions if isinstance(project.subscriptions, list) else ():
        if isinstance(sub, dict) and sub.get("report") in specs:
            flt = _filter(sub.get("filter"))
            if flt:
                spec = specs[sub["report"]]
                yield spec, {**spec.filter, **flt}


def _filter(value) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, str):  # tenant=acme,region=eu (malformed parts: delivery's check names them)
        pairs = [p.split("=", 1) for p in value.split(",") if "=" in p]
        return {k.strip(): v.strip() for k, v in pairs if k.strip()}
    return {}


def _reads(spec: ReportDefinition, flt: dict[str, str]) -> Iterator[tuple[str, set[str]]]:
    """(metric, the dimensions read together) for a report read with ``flt``."""
    base = set(flt)
    for m in spec.metrics:
        yield m, base
    for s in spec.sections:
        for b in s.breakdowns:
            for m in (b.metric, *b.also):
                yield m, base | {b.by}
    for c in spec.charts:
        if c.by:
            yield c.metric, base | {c.by}
