"""`daypulse check`: the project against its source and store, every problem collected."""

from __future__ import annotations

from collections.abc import Callable

from daypulse import warehouse
from daypulse.errors import ConfigError, DaypulseError, Issue
from daypulse.project.kinds import kind_of
from daypulse.project.loader import config_path, locate
from daypulse.project.model import (
    EventMetric,
    Project,
)
from daypulse.store.db import open_store
from daypulse.store.values import stale_counts


def source_issues(project: Project, con, loc) -> list[Issue]:
    """Tables and columns each metric names must exist in the source."""
    issues, tables = [], {}
    for name, m in project.metrics.items():
        wanted = kind_of(m).columns(m)
        if not wanted:  # not read from a table of the source (sql, ratio, derived, manual)
            continue
        issues += _table_issues(project, con, loc, tables, name, m, ("metrics", name), wanted)
        if isinstance(m, EventMetric) and m.during is not None:
            d = m.during
            wanted = {"entity": d.entity, "start": d.start, "end": d.end}
            wanted.update({f"where.{c}": c for c in d.where})
            issues += _table_issues(project, con, loc, tables, name, d, ("metrics", name, "during"),
                                    wanted)
    return issues


def _table_issues(project, con, loc, tables: dict, name: str, m, at: tuple,
                  wanted: dict) -> list[Issue]:
    issues = []
    physical = project.table(m.table).name
    if physical not in tables:
        try:
            tables[physical] = warehouse.table(con, physical).schema()
        except DaypulseError as exc:
            tables[physical] = None
            issues.append(loc.issue(at + ("table",), str(exc), metric=name,
                                    hint="map it under tables: or check the source URL"))
    schema = tables[physical]
    if schema is None:
        return issues
    for setting, col in wanted.items():
        if col and col not in schema.names:
            path = at + tuple(setting.split("."))
            issues.append(loc.issue(path, f"{setting}: column {col!r} is not in table"
                                    f" {physical!r}", metric=name,
                                    hint="its columns: " + ", ".join(schema.names[:30])))
        elif col and setting in ("time", "start", "end"):
            typ = schema[col]
            if not (typ.is_timestamp() or typ.is_date() or typ.is_string()):
                issues.append(loc.issue(at + (setting,), f"{setting}: column {col!r} is"
                                        f" {typ}, not a timestamp", metric=name))
    return issues


def check_project(project: Project, info: Callable[[str], None], config=None) -> None:
    loc = locate(config_path(config))
    con = warehouse.connect(project.source)
    info(f"source {warehouse.redact(project.source)}: connected ({con.name})")
    issues = source_issues(project, con, loc)
    if issues:
        raise ConfigError(issues)
    info("every table and column the metrics use exists in the source")
    store = open_store(project.store, create=False)
    info(f"store {warehouse.redact(project.store)}: ready (schema {store.revision()})")
    stale = stale_counts(store, {n: project.definition_hash(n) for n in project.metrics})
    if stale:
        info("stale values (definition changed since they were computed; recompute them): "
             + ", ".join(f"{m} ({n} values)" for m, n in sorted(stale.items())))
    else:
        info("no stale values in the store")
