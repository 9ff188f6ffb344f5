"""Report definitions: ``reports:`` in daypulse.yml, plus the built-in ones (builtin.yml).

A report is sections of metrics, a period (a day, a week, a month or a quarter), the
comparisons shown next to each number, charts, breakdowns by a dimension, and what "what
changed" looks for. Definitions are validated against the project: every metric, dimension and
grain named must exist (some metric of the report computed at its period), with file and line
for each problem. A definition's size is capped (MAX_* below), in daypulse.yml as over the
API: a report of 20,000 sections would take a worker for seconds on every preview and every
delivery.
"""

from __future__ import annotations

import copy
import difflib
import functools
import weakref
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from daypulse.errors import ConfigError, Issue, UsageError
from daypulse.project.model import unknown_metric

Comparison = Literal["previous", "same_weekday", "last_year"]
REPORT_NAME = r"^[a-z][a-z0-9_-]*$"
BUILTIN_ORIGIN = "daypulse/report/builtin.yml"
TEMPLATE_ORIGIN = "report template (store)"  # see daypulse.report.stored

# How big a report may be (docs/reports.md, "Template limits").
MAX_SECTIONS = 200
MAX_SECTION_METRICS = 100  # metrics in one section
MAX_SECTION_BREAKDOWNS = 20
MAX_ALSO = 10  # companion metrics of a breakdown
MAX_CHARTS = 20
MAX_ENTRIES = 500  # metrics, breakdowns and charts in all
MAX_FILTERS = 10


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Breakdown(Strict):
    """A table of one metric (and companions) per value of a dimension: a staff leaderboard."""

    metric: str
    by: str  # a dimension of the metric
    also: list[str] = Field(default_factory=list, max_length=MAX_ALSO)  # more metrics in columns (same dimension)
    top: int = Field(10, ge=1, le=50)
    title: str | None = None


class Section(Strict):
    title: str
    metrics: list[str] = Field(default_factory=list, max_length=MAX_SECTION_METRICS)
    breakdowns: list[Breakdown] = Field(default_factory=list, max_length=MAX_SECTION_BREAKDOWNS)


class Chart(Strict):
    metric: str
    kind: Literal["line", "bar", "heatmap", "hours"] = "line"  # hours: the day's local hours (grain hour)
    periods: int = Field(30, ge=2, le=400)  # line: how many periods back (days for a daily report)
    by: str | None = None  # bar: a dimension; heatmap: the hour dimension (rows are days)
    top: int = Field(12, ge=1, le=30)
    title: str | None = None


class Changes(Strict):
    """What "what changed" looks for."""

    top: int = Field(5, ge=0, le=20)  # largest moves listed
    min_change: float = Field(0.1, ge=0)  # a move smaller than this fraction is not news
    anomalies: bool = True
    history: int = Field(8, ge=3, le=52)  # same-weekday (or same-period) values judged against
    min_history: int = Field(4, ge=3, le=52)  # fewer than this: no anomaly verdict
    threshold: float = Field(3.5, gt=0)  # robust z-score (median / MAD) beyond which it is odd
    drivers: int = Field(3, ge=0, le=10)  # dimension values that drove a move, per move


class ChurnBlock(Strict):
    """The churn risk block: customers by level, the newly critical, the period's alerts."""

    title: str = "At risk"
    top: int = Field(10, ge=0, le=50)  # newly critical customers listed (0: only their number)


class CohortBlock(Strict):
    """The latest signup cohorts: W1/W4/W12 (users) or MRR retained after 1, 3 and 6 periods."""

    title: str = "Cohorts"
    by: Literal["week", "month"] = "month"
    measure: Literal["users", "revenue"] = "users"
    cohorts: int = Field(6, ge=1, le=24)


class AlertsBlock(Strict):
    """The metric alert events open during the period (docs/alerts.md)."""

    title: str = "Alerts"
    top: int = Field(20, ge=1, le=100)
    say_none: bool = True  # a note when none was open


class ReportDefinition(Strict):
    title: str
    description: str | None = None
    period: Literal["day", "week", "month", "quarter"] = "day"
    compare: list[Comparison] = Field(default_factory=lambda: ["previous", "same_weekday"], max_length=3)
    spark: int = Field(14, ge=0, le=120)  # periods in each metric's sparkline
    filter: dict[str, str] = Field(default_factory=dict, max_length=MAX_FILTERS)  # a dimension value: {tenant: acme}
    sections: list[Section] = Field(max_length=MAX_SECTIONS)
    charts: list[Chart] = Field(default_factory=list, max_length=MAX_CHARTS)
    changes: Changes = Field(default_factory=Changes)
    churn: ChurnBlock | None = None  # churn risk, after the sections (a project with a churn: section)
    cohorts: CohortBlock | None = None  # the latest signup cohorts, after the sections
    alerts: AlertsBlock | None = None  # the metric alert events open in the period, after the sections
    template: str | None = None  # a folder of templates overriding the built-in ones

    @model_validator(mode="after")
    def _not_too_big(self):
        entries = sum(len(s.metrics) + len(s.breakdowns) for s in self.sections) + len(self.charts)
        if entries > MAX_ENTRIES:
            raise ValueError(f"a report shows at most {MAX_ENTRIES} metrics, breakdowns and charts in all;"
                             f" this one has {entries:,}")
        return self

    @property
    def metrics(self) -> list[str]:
        """Every metric the report reads, in order of appearance."""
        names: list[str] = []
        for s in self.sections:
            names += s.metrics
            for b in s.breakdowns:
                names += [b.metric, *b.also]
        names += [c.metric for c in self.charts]
        return list(dict.fromkeys(names))


def builtin_reports() -> dict[str, dict]:
    return copy.deepcopy(_builtin())


@functools.cache
def _builtin() -> dict[str, dict]:
    # Parsed once per process: the scheduler asks for it for every subscription of every pass.
    text = resources.files("daypulse.report").joinpath("builtin.yml").read_text()
    return yaml.safe_load(text)["reports"]


def report_names(project) -> list[str]:
    return list(dict.fromkeys([*_builtin(), *project.reports]))


def load_report(project, name: str, filter: dict[str, str] | None = None) -> ReportDefinition:
    """The project's definition of ``name``, else the built-in one, narrowed by ``filter`` (a
    subscription's); ConfigError listing every problem (unknown metrics, dimensions, a filter
    no metric can take...) or a UsageError for an unknown name. Checked once per project: the
    scheduler asks for every subscription's report on every pass, the dashboard on every page."""
    checked = _checked_for(project)
    key = (name, tuple(sorted((filter or {}).items())))
    if key not in checked:
        checked[key] = _load_report(project, name, filter)
    return checked[key]


# Checked definitions by project. A project is immutable (a merge of the store's templates makes
# a new one), so what was checked stays true for as long as the project lives; the entry goes
# with it. Keyed by id with a weak reference, as a project (holding dicts) cannot be hashed.
_CHECKED: dict[int, tuple[weakref.ref, dict]] = {}


def _checked_for(project) -> dict:
    entry = _CHECKED.get(id(project))
    if entry is not None and entry[0]() is project:
        return entry[1]
    key, checked = id(project), {}

    def forget(_ref) -> None:  # runs as the project dies, before its id can be another's
        _CHECKED.pop(key, None)

    _CHECKED[key] = (weakref.ref(project, forget), checked)
    return checked


def _load_report(project, name: str, filter: dict[str, str] | None) -> ReportDefinition:

    own = project.reports
    if name in own:
        raw = own[name]
        origin = TEMPLATE_ORIGIN if name in project.stored_reports else "daypulse.yml"
    elif name in (builtin := _builtin()) and name in report_names(project):
        raw, origin = builtin[name], BUILTIN_ORIGIN
    else:
        names = report_names(project)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"unknown report {name!r}{hint}; reports: {', '.join(names)}")
    try:
        spec = ReportDefinition.model_validate(raw)
    except ValidationError as err:
        raise ConfigError([Issue(f"reports.{name}: {'.'.join(map(str, e['loc']))}: {e['msg']}",
                                 file=origin) for e in err.errors()]) from None
    if filter:
        spec = spec.model_copy(update={"filter": {**spec.filter, **filter}})
    issues = check_report(project, name, spec, origin)
    if issues:
        raise ConfigError(issues)
    return spec


def check_report(project, name: str, spec: ReportDefinition, origin: str,
                 loc=None) -> list[Issue]:
    """Names the report uses must exist in the project (a built-in report may mention pack
    metrics the project does not include: those are dropped, not errors). With ``loc`` (the
    Located of daypulse.yml) each problem is at its line, an unknown metric once per mention."""
    at = ("reports", name)

    def problem(path: tuple, message: str, hint: str | None = None) -> Issue:
        if loc is not None:
            return loc.issue(at + path, message, hint=hint)
        return Issue(message, file=origin, hint=hint)

    issues = []
    builtin = origin == BUILTIN_ORIGIN
    missing = [m for m in spec.metrics if m not in project.metrics]
    if missing and not builtin and loc is not None:
        issues += [problem(path, f"reports.{name}: {unknown_metric(project, [m])}",
                           hint="see `daypulse metrics`")
                   for path, m in _mentions(spec) if m not in project.metrics]
    elif missing and not builtin:
        issues.append(problem((), f"reports.{name}: unknown metric(s) {', '.join(missing)}",
                              hint="see `daypulse metrics`"))
    present = [m for m in spec.metrics if m in project.metrics]
    if present and project.grain_problem(present, spec.period):
        issues.append(problem(("period",), f"reports.{name}: period {spec.period}: none of its metrics is"
                              f" computed by {spec.period}", hint=f"add {spec.period} to compute.grains in"
                              " daypulse.yml, or to the metrics' grains:"))
    for i, s in enumerate(spec.sections):
        for j, b in enumerate(s.breakdowns):
            issues += _dimension_issue(project, name, b.metric, b.by, problem,
                                       ("sections", i, "breakdowns", j, "by"))
    for i, c in enumerate(spec.charts):
        if c.kind in ("bar", "heatmap") and not c.by:
            issues.append(problem(("charts", i), f"reports.{name}: a {c.kind} chart of {c.metric}"
                                  " needs by: <dimension>"))
        elif c.kind == "hours" and c.metric in project.metrics and not project.grains_of(c.metric, ["hour"]):
            why = "is not computed by hour" if project.hourly(c.metric) else "has no hourly values"
            issues.append(problem(("charts", i, "kind"), f"reports.{name}: an hours chart of {c.metric}: it {why}",
                                  hint="add hour to compute.grains in daypulse.yml, or to the metric's grains:"
                                  if project.hourly(c.metric) else "hours are counted for event metrics without a"
                                  " window, and their ratios"))
        elif c.by:
            issues += _dimension_issue(project, name, c.metric, c.by, problem, ("charts", i, "by"))
    for dim in spec.filter:
        if not any(dim in project.dimensions_of(m) for m in spec.metrics if m in project.metrics):
            issues.append(problem(("filter", dim), f"reports.{name}: filter: no metric of the"
                                  f" report has a dimension {dim!r}"))
    return issues


def check_reports(project, loc) -> list[Issue]:
    """The ``reports:`` of daypulse.yml, each problem at its line: a section check for the loader
    (``load_project(path, (check_reports, ...))``), so every command refuses a report that names
    an unknown metric or dimension instead of failing when the report is first used."""
    issues: list[Issue] = []
    for name, raw in project.reports.items():
        try:
            spec = ReportDefinition.model_validate(raw)
        except ValidationError as err:
            issues += [loc.issue(("reports", name, *e["loc"]), f"reports.{name}:"
                                 f" {'.'.join(map(str, e['loc'])) or 'definition'}: {e['msg']}")
                       for e in err.errors()]
            continue
        issues += check_report(project, name, spec, "daypulse.yml", loc)
    return issues


def _mentions(spec: ReportDefinition):
    """(path in the definition, metric) for every metric the report names."""
    for i, s in enumerate(spec.sections):
        for j, m in enumerate(s.metrics):
            yield ("sections", i, "metrics", j), m
        for j, b in enumerate(s.breakdowns):
            yield ("sections", i, "breakdowns", j, "metric"), b.metric
            for k, m in enumerate(b.also):
                yield ("sections", i, "breakdowns", j, "also", k), m
    for i, c in enumerate(spec.charts):
        yield ("charts", i, "metric"), c.metric


def _dimension_issue(project, name, metric, dim, problem, path: tuple) -> list[Issue]:
    if metric not in project.metrics or dim in project.dimensions_of(metric):
        return []
    return [problem(path, f"reports.{name}: metric {metric!r} has no dimension {dim!r}",
                    hint="its dimensions: " + (", ".join(project.dimensions_of(metric)) or "none"))]
