"""The tables and columns the ``churn:`` section reads, checked against the live source the way
``daypulse check`` checks a metric's: a table that is not there (with the source's own list), a
column that is not in its table (with the table's columns), a time that is not a timestamp, a
score that is not a number, then each query compiled (never run) for ``where`` values a column
cannot take. Every problem at the line of its setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import ibis

from daypulse import warehouse
from daypulse.churn import signals as S
from daypulse.churn.config import ChurnConfig, churn_config
from daypulse.churn.population import Population, scored_population
from daypulse.compile.rows import Source
from daypulse.errors import ConfigError, DaypulseError, Issue
from daypulse.project.model import Project


@dataclass(frozen=True)
class Need:
    """What one setting block reads: its path under ``churn``, its table, setting -> column."""

    path: tuple
    table: str
    columns: dict[str, str]
    times: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    table_path: tuple | None = None  # where the table is named (default: path + ("table",))
    about: str = field(default="", compare=False)  # for the scored table: where it is defined


def needs(cfg: ChurnConfig, pop: Population) -> list[Need]:
    """Every table and column the section reads, the scored customers' first."""
    out = [Need(("scored",), pop.table, {"entity": pop.entity, "start": pop.start,
                                         **({"end": pop.end} if pop.end else {})},
                frozenset({"start", "end"}), table_path=("scored",), about=pop.origin)]
    dims = {f"dimensions.{d}": c for d, c in pop.dimensions.items()}
    wheres = {f"scored.where.{c}": c for c in cfg.scored.where}
    if dims or wheres:
        out.append(Need((), pop.table, {**dims, **wheres}, table_path=("scored",), about=pop.origin))
    for name in ("activity", "logins", "progress", "frustration"):
        spec = getattr(cfg, name)
        if spec is not None:
            cols = {"entity": cfg.entity_of(spec, pop), "time": spec.time, **_where(spec)}
            numbers = frozenset()
            if name == "frustration":
                cols["score"], numbers = spec.score, frozenset({"score"})
            out.append(Need((name,), spec.table, cols, frozenset({"time"}), numbers))
    if (p := cfg.payment) is not None:
        out.append(Need(("payment",), p.table, {"entity": cfg.entity_of(p, pop), "start": p.start,
                                                 **({"end": p.end} if p.end else {}), "status": p.status,
                                                 **_where(p)}, frozenset({"start", "end"})))
    if (t := cfg.trial) is not None:
        out.append(Need(("trial",), t.table, {"entity": cfg.entity_of(t, pop), "end": t.end, **_where(t)},
                        frozenset({"end"})))
        paid = t.paid
        out.append(Need(("trial", "paid"), paid.table or t.table,
                        {"entity": paid.entity or cfg.entity_of(t, pop), "start": paid.start,
                         **({"end": paid.end} if paid.end else {}), **_where(paid)},
                        frozenset({"start", "end"}),
                        table_path=("trial", "paid", "table") if paid.table else ("trial", "paid")))
    return out


def _where(spec) -> dict[str, str]:
    return {f"where.{c}": c for c in spec.where}


def source_issues(project: Project, con, loc) -> list[Issue]:
    """Every problem of the churn section against the source ``con`` (an open Ibis backend)."""
    cfg = churn_config(project)
    if cfg is None:
        return []
    pop = scored_population(project, cfg)
    schemas: dict[str, object] = {}
    issues: list[Issue] = []
    for need in needs(cfg, pop):
        issues += _need_issues(project, con, loc, schemas, need)
    if issues:  # a query over a missing table or column says nothing more
        return issues
    day = project.calendar.today() - timedelta(days=1)  # compiled for yesterday: any day would do
    ctx = S.Ctx(Source(con, con.name), project, cfg, pop, day, day)
    grid = None
    for name in ["population", *[n for n in S.query_names(ctx) if n != "population"]]:
        try:
            built = S.build(ctx, name, grid if grid is not None or name == "population" else _dummy_grid())
        except ConfigError as err:
            issues += [_located(loc, i) for i in err.issues]
            continue
        except DaypulseError as exc:
            issues.append(loc.issue(("churn", "scored" if name == "population" else name.split("+")[0]),
                                    str(exc)))
            continue
        if name == "population":
            grid = built
    return issues


def _dummy_grid():
    """Scored pairs of the right shape, to compile a source's query when the population's fails."""
    return ibis.memtable({"entity": ["x"], "day": [0], "first_day": [0]},
                         schema={"entity": "string", "day": "int64", "first_day": "int64"})


def _located(loc, issue: Issue) -> Issue:
    """``churn.logins.where.kind: ...`` at the line of that setting."""
    setting = issue.message.split(":", 1)[0]
    path = tuple(setting.split(".")) if " " not in setting else ("churn",)
    return loc.issue(path, issue.message, hint=issue.hint, level=issue.level)


def _need_issues(project: Project, con, loc, schemas: dict, need: Need) -> list[Issue]:
    physical = project.table(need.table).name
    at = ("churn", *need.path)
    table_at = ("churn", *(need.table_path or (*need.path, "table")))
    label = ".".join(["churn", *map(str, need.table_path or (*need.path, "table"))])
    issues = []
    if physical not in schemas:
        try:
            schemas[physical] = warehouse.table(con, physical).schema()
        except DaypulseError as exc:
            schemas[physical] = None
            what = f" ({need.about})" if need.about else ""
            issues.append(loc.issue(table_at, f"{label}: {exc}{what}",
                                    hint="map it under tables: or check the source URL"))
    schema = schemas[physical]
    if schema is None:
        return issues
    for setting, col in need.columns.items():
        name = ".".join(["churn", *need.path, setting]) if need.path else f"churn.{setting}"
        path = (*at, *setting.split("."))
        if need.about and need.path == ("scored",):  # from the metric's definition, not the section
            name, path = f"churn.scored: {need.about}: {setting}", at
        if col not in schema.names:
            issues.append(loc.issue(path, f"{name}: column {col!r} is not in table {physical!r}",
                                    hint="its columns: " + ", ".join(schema.names[:30])))
            continue
        typ = schema[col]
        if setting in need.times and not (typ.is_timestamp() or typ.is_date() or typ.is_string()):
            issues.append(loc.issue(path, f"{name}: column {col!r} is {typ}, not a timestamp"))
        elif setting in need.numbers and not typ.is_numeric():
            issues.append(loc.issue(path, f"{name}: column {col!r} is {typ}, not a number"))
    return issues
