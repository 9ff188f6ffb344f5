"""Dimension labels read from the source: ``dimensions: {staff: {labels: {table: staff, key: id,
label: full_name}}}`` in daypulse.yml.

One query per labelled dimension, at compute time: the lookup table's keys, cast as the metrics
cast a dimension's values (so a UUID or an integer id matches the stored value), each with its
label. :func:`daypulse.engine.run.run_compute` keeps them in the store (``store.labels``), so
reports, the dashboard and the API never need the source to show them.
"""

from __future__ import annotations

from collections.abc import Iterable

from daypulse import warehouse
from daypulse.compile.rows import Source, dimension_value
from daypulse.errors import ConfigError, DaypulseError, Issue
from daypulse.project.model import DimensionLabels, Project

# A lookup table (staff, plans, branches) has hundreds of rows; one of millions (every user) would
# be read on every compute and kept in the store: refused, with what to do instead.
MAX_LABELS = 100_000


def labelled(project: Project) -> dict[str, DimensionLabels]:
    """{dimension: its labels setting} of the dimensions that take labels from a table."""
    return {d: s.labels for d, s in project.dimensions.items() if s.labels is not None}


def wanted(project: Project, names: Iterable[str]) -> list[str]:
    """The labelled dimensions that these metrics (and their parts) have."""
    have = set().union(*(project.dimensions_of(n) for n in project.with_parts(names)))
    return [d for d in labelled(project) if d in have]


# A problem: (the path of the setting at fault under daypulse.yml, the message, a hint).
Problem = tuple[tuple, str, str | None]


def read(project: Project, src: Source, dimensions: Iterable[str]) -> dict[str, dict[str, str]]:
    """{dimension: {key: label}} from the source; ConfigError naming each setting at fault (a
    table or column that is not there, a table too large to be a lookup)."""
    out, problems = {}, []
    for dim in dimensions:
        found, wrong = _read(project, src, dim)
        problems += wrong
        if found is not None:
            out[dim] = found
    if problems:
        raise ConfigError([Issue(message, hint=hint) for _, message, hint in problems])
    return out


def label_issues(project: Project, src: Source, loc) -> list[Issue]:
    """`daypulse check`: every labelled dimension's lookup read as compute reads it, each problem
    at the line of its setting under ``dimensions:``."""
    return [loc.issue(path, message, hint=hint) for dim in labelled(project)
            for path, message, hint in _read(project, src, dim)[1]]


def label_lines(project: Project) -> list[str]:
    """What `daypulse check` says of each labelled dimension: "labels of staff: staff.full_name by id"."""
    return [f"labels of {d}: {project.table(s.table).name}.{s.label} by {s.key}"
            for d, s in labelled(project).items()]


def _read(project: Project, src: Source, dim: str) -> tuple[dict[str, str] | None, list[Problem]]:
    spec = labelled(project)[dim]
    at = ("dimensions", dim, "labels")
    physical = project.table(spec.table).name
    try:
        t = warehouse.table(src.con, physical)
        names = t.schema().names
    except DaypulseError as exc:
        return None, [(at + ("table",), f"dimensions.{dim}.labels.table: {exc}",
                       "map it under tables: or check the source URL")]
    missing = [(at + (setting,), f"dimensions.{dim}.labels.{setting}: column {col!r} is not in table"
                f" {physical!r}", "its columns: " + ", ".join(names[:30]))
               for setting, col in (("key", spec.key), ("label", spec.label)) if col not in names]
    if missing:
        return None, missing
    label = t[spec.label].cast("string")
    # One label per key (the smallest, should the table hold two): the same on every run.
    q = (t.filter(t[spec.key].notnull(), label.notnull(), label != "")
         .group_by(key=dimension_value(t[spec.key])).aggregate(label=label.min()))
    try:
        df = q.limit(MAX_LABELS + 1).execute()
    except Exception as exc:  # noqa: BLE001 - Ibis and the drivers raise many types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, [(at, f"dimensions.{dim}.labels: the labels of {physical!r} cannot be read: {first}", None)]
    if len(df) > MAX_LABELS:
        return None, [(at + ("table",), f"dimensions.{dim}.labels.table: {physical!r} has more than"
                       f" {MAX_LABELS:,} keys, too many for a lookup table read on every compute",
                       "label a dimension of few values (staff, plans, branches)")]
    return {str(k): str(v) for k, v in zip(df["key"], df["label"], strict=True)}, []
