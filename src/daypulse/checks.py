"""`daypulse check`: the project against its source and store, every problem collected."""

from __future__ import annotations

from collections.abc import Callable

from daypulse import warehouse
from daypulse.churn import sources as churn_sources
from daypulse.compile.rows import Source, check_rows
from daypulse.engine.labels import label_issues, label_lines
from daypulse.errors import ConfigError, DaypulseError, Issue, SourceError, StoreError
from daypulse.project.kinds import kind_of
from daypulse.project.loader import config_path, locate
from daypulse.project.model import (
    EventMetric,
    Project,
    TableMetric,
    depends_on,
)
from daypulse.store.db import Store, open_store
from daypulse.store.values import stale_counts


def source_issues(project: Project, con, loc, names: list[str] | None = None) -> list[Issue]:
    """Tables and columns each metric (of ``names``, default all) names must exist in the source."""
    issues, tables = [], {}
    for name in names if names is not None else list(project.metrics):
        m = project.metrics[name]
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


def connect_source(project: Project, loc) -> Source:
    """The source, open: a URL no engine reads is a ConfigError at the ``source:`` line (exit 2),
    one that cannot be reached a SourceError naming that line (exit 1)."""
    if warehouse.engine_for(project.source) is None:
        raise ConfigError([loc.issue(("source",), warehouse.unsupported(project.source))])
    try:
        return Source.open(project.source)
    except SourceError as exc:
        raise exc.at(loc.file, loc.line(("source",))) from exc.__cause__


def url_issues(project: Project, loc) -> list[Issue]:
    """A source URL no engine reads, a store URL daypulse cannot use: at the line of ``source:``
    or ``store:``, without connecting to either (nothing is opened or created)."""
    from daypulse.store.db import Store

    issues = []
    if warehouse.engine_for(project.source) is None:
        issues.append(loc.issue(("source",), warehouse.unsupported(project.source)))
    try:
        Store(project.store)
    except StoreError as exc:
        issues.append(loc.issue(("store",), str(exc)))
    return issues


def check_urls(project: Project, config=None) -> None:
    """ConfigError for :func:`url_issues` (`daypulse check`, --offline too)."""
    if issues := url_issues(project, locate(config_path(config))):
        raise ConfigError(issues)


def query_issues(project: Project, src: Source, loc, names: list[str] | None = None,
                 skip: set[str] = frozenset()) -> list[Issue]:
    """The rows each metric reads compiled (not run) against the source's tables: a ``where``
    value a column cannot take, tables whose timestamps differ..., at the metric's line."""
    issues = []
    for name in names if names is not None else list(project.metrics):
        if name in skip:
            continue
        try:
            check_rows(src, project, name, project.metrics[name])
        except ConfigError as err:
            issues += [_at_metric(loc, name, i) for i in err.issues]
        except DaypulseError as exc:
            issues.append(loc.issue(("metrics", name), str(exc), metric=name))
        except Exception as exc:  # noqa: BLE001 - Ibis raises many types; the run would fail alike
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            issues.append(loc.issue(("metrics", name), f"its query cannot be built: {first}",
                                    metric=name))
    return issues


def _at_metric(loc, name: str, issue: Issue) -> Issue:
    """A compiler's issue ("where.tenant: ...") at the line of the setting it names."""
    if issue.file:
        return issue
    setting = issue.message.split(":", 1)[0]
    path = ("metrics", name, *setting.split(".")) if " " not in setting else ("metrics", name)
    return loc.issue(path, issue.message, metric=issue.metric or name, hint=issue.hint,
                     level=issue.level)


def located(exc: DaypulseError, config=None) -> DaypulseError:
    """A failure while computing at the line of the metric it names: a SourceError's ``metric``,
    a ConfigError's issues without a file (the compiler's, the SQL's columns). For the CLI, the
    one that knows the file; anything else is returned as it is."""
    if isinstance(exc, SourceError) and exc.metric and exc.where is None:
        loc = locate(config_path(config))
        return exc.at(loc.file, loc.line(("metrics", exc.metric)))
    if isinstance(exc, ConfigError) and any(i.file is None and i.metric for i in exc.issues):
        loc = locate(config_path(config))
        return ConfigError([_at_metric(loc, i.metric, i) if i.metric else i for i in exc.issues])
    return exc


def ready_to_compute(project: Project, names: list[str], config=None) -> Source:
    """Everything `daypulse compute` can know is wrong before it opens (or creates) the store:
    the store URL, the source (connected), the tables and columns of ``names`` and their parts,
    the rows each reads compiled. ConfigError (exit 2) with every problem at its line, or SourceError
    (exit 1) when the source cannot be reached; the open source otherwise."""
    loc = locate(config_path(config))
    if issues := url_issues(project, loc):
        raise ConfigError(issues)
    src = connect_source(project, loc)
    wanted = project.with_parts(names)
    issues = source_issues(project, src.con, loc, wanted)
    bad = {i.metric for i in issues}
    issues += query_issues(project, src, loc, wanted, skip=bad)
    if issues:
        raise ConfigError(issues)
    return src


def ready_to_score(project: Project, config=None) -> Source:
    """What `daypulse churn` can know is wrong before it opens the store: the URLs, the source,
    and the tables and columns the churn: section reads (each problem at its line, exit 2)."""
    loc = locate(config_path(config))
    if issues := url_issues(project, loc):
        raise ConfigError(issues)
    src = connect_source(project, loc)
    if issues := churn_sources.source_issues(project, src.con, loc):
        raise ConfigError(issues)
    return src


MONEY_SAMPLE = 10_000  # rows of a money column looked at for amounts with a fraction


def money_issues(project: Project, src: Source, loc) -> list[Issue]:
    """A warning for each currency metric that reads, as cents, a column holding amounts with a
    fraction in a sample of its rows: dollars, most likely, that would show 100 times too small."""
    out, fractional = [], {}
    for name, m in project.metrics.items():
        if (m.format != "currency" or not isinstance(m, TableMetric) or not m.column
                or m.unit != "minor" or m.measure in ("count", "count_distinct")):
            continue
        key = (project.table(m.table).name, m.column)
        if key not in fractional:
            fractional[key] = _has_fractions(src, *key)
        if fractional[key]:
            out.append(loc.issue(("metrics", name, "column"), f"column {m.column!r} of {key[0]!r} holds"
                                 " amounts with a fraction, and this currency metric reads it as cents",
                                 metric=name, level="warning",
                                 hint="if it holds dollars, say unit: major (for a pack metric: columns:"
                                 " {<table>.<column>: {name: ..., unit: major}}); docs/packs.md#money"))
    return out


def _has_fractions(src: Source, table: str, column: str) -> bool:
    try:
        t = warehouse.table(src.con, table)
        typ = t[column].type()
        if not (typ.is_floating() or (typ.is_decimal() and (typ.scale or 0) > 0)):
            return False
        sample = t.select(v=t[column]).limit(MONEY_SAMPLE)
        return bool(sample.filter(sample.v != sample.v.floor()).count().execute())
    except Exception:  # noqa: BLE001 - a sample that cannot be read is no reason to fail `check`
        return False


def implied_lines(project: Project) -> list[str]:
    """The breakdowns filtered reports made the loader add, one line per metric."""
    return [f"stored for filtered reports: {name}: " + ", ".join(f"[{', '.join(c)}]" for c in sorted(combos))
            for name, combos in sorted(project.implied_breakdowns.items())]


def breakdown_notes(project: Project) -> list[str]:
    """Why a ratio or derived metric is broken down by fewer dimensions than its parts: one
    line per metric ("call_success_rate is not broken down by outcome: successful_calls is
    not"), as a side without the dimension would be a made-up zero."""
    out = []
    for name, m in project.metrics.items():
        parts = [p for p in depends_on(m) if p in project.metrics]
        if len(parts) < 2:
            continue
        missing = set().union(*(project.dimensions_of(p) for p in parts)) - project.dimensions_of(name)
        if missing:
            lacking = sorted({p for p in parts for d in missing if d not in project.dimensions_of(p)})
            out.append(f"{name} is not broken down by {', '.join(sorted(missing))}:"
                       f" {', '.join(lacking)} {'is' if len(lacking) == 1 else 'are'} not")
    return out


def check_project(project: Project, info: Callable[[str], None], config=None) -> None:
    loc = locate(config_path(config))
    if issues := url_issues(project, loc):
        raise ConfigError(issues)
    src = connect_source(project, loc)
    info(f"source {warehouse.redact(project.source)}: connected ({src.backend})")
    issues = source_issues(project, src.con, loc)
    issues += query_issues(project, src, loc, skip={i.metric for i in issues})
    issues += label_issues(project, src, loc)  # dimensions: labels' lookup tables and columns
    issues += churn_sources.source_issues(project, src.con, loc)  # churn: its tables and columns
    if issues:
        raise ConfigError(issues)
    info("every table and column the metrics use exists in the source")
    if project.churn:
        info("churn: every table and column it reads exists in the source")
    for line in label_lines(project):
        info(line)
    for warning in money_issues(project, src, loc):
        info(str(warning))
    for line in implied_lines(project) + breakdown_notes(project):
        info(line)
    if not Store(project.store).exists():
        info(f"store {warehouse.redact(project.store)}: not created yet (compute creates it)")
        return
    store = open_store(project.store, create=False)
    info(f"store {warehouse.redact(project.store)}: ready (schema {store.revision()})")
    stale = stale_counts(store, {n: project.definition_hash(n) for n in project.metrics})
    if stale:
        info("stale values (definition changed since they were computed; recompute them): "
             + ", ".join(f"{m} ({n} values)" for m, n in sorted(stale.items())))
    else:
        info("no stale values in the store")
