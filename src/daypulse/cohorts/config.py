"""Where cohorts come from: who signed up and when, who was active, and the MRR of each
customer. By default the packs' own definitions, mapped through the project's ``tables:``,
``columns:`` and ``params:`` (the saas pack's ``signups`` and ``mrr``, the product pack's
``dau``) -- or the project's metrics of those names -- so a cohort counts exactly the people
those metrics count. A ``cohorts:`` section overrides any part."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from daypulse.errors import ConfigError, Issue
from daypulse.project.located import Located
from daypulse.project.model import EventMetric, Project, StateMetric
from daypulse.project.packs import expand

DOCS = "docs/cohorts.md"
BY = ("week", "month")
MEASURES = ("users", "revenue")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignupSource(Strict):
    metric: str = "signups"  # an event metric: its table, time, where and dimensions
    entity: str = "id"  # the signed-up customer's key in that table


class ActivitySource(Strict):
    metric: str = "dau"  # an event metric counting distinct customers: its column is the key
    entity: str | None = None  # default: the metric's column


class RevenueSource(Strict):
    metric: str = "mrr"  # a state metric summing MRR (cents)
    entity: str = "user_id"  # the customer's key in its table


class CohortConfig(Strict):
    signups: SignupSource = Field(default_factory=SignupSource)
    activity: ActivitySource = Field(default_factory=ActivitySource)
    revenue: RevenueSource = Field(default_factory=RevenueSource)


@dataclass(frozen=True)
class Events:
    """Rows with a time and a customer: signups, or activity."""

    table: str
    time: str
    entity: str
    where: dict[str, Any] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)  # name -> column (signups only)


@dataclass(frozen=True)
class Revenue:
    table: str
    start: str
    end: str | None
    column: str
    entity: str
    where: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sources:
    signups: Events
    activity: Events
    revenue: Revenue | None  # None: no MRR definition (revenue cohorts say so)


def config_of(project: Project) -> CohortConfig:
    try:
        return CohortConfig.model_validate(project.cohorts or {})
    except ValidationError as err:
        raise ConfigError([Issue(f"cohorts: {e['msg']} at {'.'.join(map(str, e['loc']))}", hint=f"see {DOCS}")
                           for e in err.errors()]) from None


def sources(project: Project) -> Sources:
    """The three sources, or ConfigError naming what cannot be found."""
    cfg = config_of(project)
    signups = _metric(project, cfg.signups.metric, EventMetric, "cohorts.signups.metric", "saas")
    activity = _metric(project, cfg.activity.metric, EventMetric, "cohorts.activity.metric", "product")
    if activity.measure != "count_distinct" or not activity.column:
        raise ConfigError([Issue(f"cohorts.activity.metric: {cfg.activity.metric!r} does not count distinct"
                                 " customers (measure: count_distinct, column: <the customer>)", hint=f"see {DOCS}")])
    try:
        mrr = _metric(project, cfg.revenue.metric, StateMetric, "cohorts.revenue.metric", "saas")
        revenue = Revenue(mrr.table, mrr.start, mrr.end, mrr.column, cfg.revenue.entity, dict(mrr.where))
    except ConfigError:
        revenue = None
    return Sources(
        Events(signups.table, signups.time, cfg.signups.entity, dict(signups.where), dict(signups.dimensions)),
        Events(activity.table, activity.time, cfg.activity.entity or activity.column, dict(activity.where)),
        revenue)


def check_cohorts(project: Project, loc: Located) -> list[Issue]:
    """The ``cohorts:`` section's shape, each problem at its line (a section check)."""
    raw = project.cohorts
    if not raw:
        return []
    try:
        CohortConfig.model_validate(raw)
    except ValidationError as err:
        return [loc.issue(("cohorts", *e["loc"]), f"cohorts.{'.'.join(map(str, e['loc']))}: {e['msg']}",
                          hint=f"see {DOCS}") for e in err.errors()]
    return []


def _metric(project: Project, name: str, kind: type, setting: str, pack: str):
    m = project.metrics.get(name)
    if m is None:
        columns = {k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in project.columns.items()}
        found, _ = expand([{pack: [name]}], dict(project.params), columns, [], lambda *a, **k: None)
        body = found.get(name)
        if body is not None:
            body = {"kind": "event", **body}
            try:
                m = kind.model_validate(body)
            except ValidationError:
                m = None
    if not isinstance(m, kind):
        what = "an event metric" if kind is EventMetric else "a state metric"
        raise ConfigError([Issue(f"{setting}: no {what} {name!r} in the project or the {pack} pack",
                                 hint=f"define it under metrics:, or name another in {setting} ({DOCS})")])
    return m

