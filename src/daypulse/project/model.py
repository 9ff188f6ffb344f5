"""Typed form of daypulse.yml (DESIGN §2, a contract: names and meanings are fixed).

The models only describe shapes; cross-field and cross-metric rules (a measure that needs a
column, a ratio whose parts exist, cycles) live in ``validate.py`` so that every problem is
collected with its file and line instead of failing on the first.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from daypulse.calendar import GRAINS, Calendar
from daypulse.errors import Issue, UsageError
from daypulse.project.expr import names

Measure = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
Format = Literal["integer", "number", "currency", "percent", "duration"]
Good = Literal["up", "down"]
Grain = Literal["hour", "day", "week", "month", "quarter", "year"]
MoneyUnit = Literal["minor", "major"]
Reset = Literal["week", "month", "quarter", "year"]
WHERE_OPERATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "like")
METRIC_NAME = r"^[a-z][a-z0-9_]*$"
# The longest span a setting may ask for, in days (about ten years): a `window:` reads this much
# history before the range, a first run computes `compute.initial_days` of it. Larger values are
# typing mistakes, and past a few thousand years they would not even be dates.
MAX_DAYS = 3660

Scalar = str | int | float | bool | None
WhereValue = Scalar | list[Scalar] | dict[str, Any]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnMap(Strict):
    """``columns: {ad_spend.spend_cents: {name: spend, unit: major}}``: a pack column mapped onto
    one of another name whose money is in major units (dollars), converted to cents."""

    name: str
    unit: MoneyUnit = "minor"


class TableSpec(Strict):
    """A logical table: its physical name and how its naive timestamps are meant."""

    name: str
    timestamps: Literal["utc", "local"] = "utc"


class MetricBase(Strict):
    label: str | None = None
    description: str | None = None
    formula: str | None = None  # the definition in plain words, shown next to the number
    format: Format = "number"
    good: Good = "up"
    grains: list[Grain] | None = None  # restrict the grains computed for this metric


class TableMetric(MetricBase):
    table: str
    measure: Measure = "count"
    column: str | None = None
    # Money in `column`: minor units (cents, the default) as stored, or major units (dollars as
    # DECIMAL or float) converted to integer cents row by row in the query, half to even.
    unit: MoneyUnit = "minor"
    where: dict[str, WhereValue] = Field(default_factory=dict)
    dimensions: dict[str, str] = Field(default_factory=dict)
    breakdowns: list[list[str]] = Field(default_factory=list)


class During(Strict):
    """Keep only rows whose entity had a row open in another table at the row's time, e.g.
    captures made while the user had an open subscription (a semi-join, in the source)."""

    table: str
    entity: str  # the entity column of `table` (a subscription's user_id)
    match: str | None = None  # the metric table's column holding the same entity (default: same name)
    start: str
    end: str | None = None  # NULL: still open
    where: dict[str, WhereValue] = Field(default_factory=dict)


class EventMetric(TableMetric):
    kind: Literal["event"] = "event"
    time: str
    window: int | None = None
    approx: bool = False
    during: During | None = None


class StateMetric(TableMetric):
    kind: Literal["state"]
    start: str
    end: str | None = None


class MovementMetric(TableMetric):
    """Per-entity changes of a state value between consecutive local days (MRR movements).

    Each ``entity`` (a customer) has, at the end of every day, the sum of ``column`` over
    its rows open then (``start``/``end`` as for a state metric). A day on which that value
    changes is one movement, classified by the value before and after it.
    """

    kind: Literal["movement"]
    entity: str
    column: str
    start: str
    end: str | None = None
    movement: Literal["new", "expansion", "contraction", "churn", "reactivation"]
    measure: Literal["sum", "count"] = "sum"  # the amount moved, or entities that moved
    cohort: Literal["all", "existing"] = "all"  # existing: value > 0 when the period began


class LifecycleMetric(TableMetric):
    """Entities by how their activity in a period relates to the previous period."""

    kind: Literal["lifecycle"]
    time: str
    column: str  # the entity, e.g. user_id
    status: Literal["new", "returning", "resurrecting", "dormant"]
    measure: Literal["count"] = "count"


class ManualMetric(MetricBase):
    """A value typed in by people (burn rate, runway), kept in the store's manual_values."""

    kind: Literal["manual"]


class ChurnMetric(MetricBase):
    """Counted from the churn risk daypulse keeps in its store (``daypulse churn``): customers
    scored at the end of each day (``measure: customers``; dimension ``level``) or churn alerts
    open then (``measure: open_alerts``; dimensions ``type`` and ``severity``), each also by the
    churn section's dimensions (``tenant``). ``dimensions`` maps a name to one of those."""

    kind: Literal["churn"]
    measure: Literal["customers", "open_alerts"]
    dimensions: dict[str, str] = Field(default_factory=dict)
    breakdowns: list[list[str]] = Field(default_factory=list)


class DerivedMetric(MetricBase):
    """Arithmetic over other metrics' values for the same period and dimension values."""

    kind: Literal["derived"]
    expr: str

    @property
    def parts(self) -> list[str]:
        try:
            return names(self.expr)
        except (ValueError, RecursionError):  # reported by validation
            return []


class RatioMetric(MetricBase):
    kind: Literal["ratio"]
    numerator: str
    denominator: str
    format: Format = "percent"


class CumulativeMetric(MetricBase):
    kind: Literal["cumulative"]
    of: str
    reset: Reset = "month"


class SqlMetric(MetricBase):
    kind: Literal["sql"]
    sql: str
    dimensions: list[str] = Field(default_factory=list)
    # How a week/month value is made from the daily values the SQL returns: their sum, the
    # last day's value, or not at all (the SQL alone knows how to recount distinct things).
    rollup: Literal["sum", "last", "none"] = "none"


class SnapshotMetric(TableMetric):
    """A pre-aggregated table with one row per day (and dimension values): a daily MRR or
    subscriber count. The value on day D is ``column`` of D's rows (several are summed); a day
    without a row is empty. A longer period takes its last day with rows, or the sum or the
    average of its days (``rollup``)."""

    kind: Literal["snapshot"]
    time: str  # the day: a DATE, or a timestamp whose local day is the day
    column: str
    measure: Literal["sum"] = "sum"  # rows of one day and dimension values add up
    rollup: Literal["last", "sum", "avg"] = "last"


Metric = Annotated[
    EventMetric | StateMetric | RatioMetric | CumulativeMetric | SqlMetric | MovementMetric
    | LifecycleMetric | ManualMetric | DerivedMetric | SnapshotMetric | ChurnMetric,
    Field(discriminator="kind"),
]
METRIC_KINDS = ("event", "state", "ratio", "cumulative", "sql", "movement", "lifecycle", "manual",
                "derived", "snapshot", "churn")


class DimensionLabels(Strict):
    """``labels: {table: staff, key: id, label: full_name}``: display names of a dimension's
    values, from a lookup table of the source (a logical name, mapped by ``tables:``)."""

    table: str
    key: str  # the column holding the values the metrics store (a staff member's id)
    label: str  # the column shown instead (the name)


class DimensionSettings(Strict):
    """``dimensions: {staff: {...}}``: settings of a dimension, by its name as metrics use it."""

    labels: DimensionLabels | None = None


class ComputeSettings(Strict):
    lookback_days: int = Field(3, ge=0, le=366)  # re-read for late-arriving rows
    initial_days: int = Field(90, ge=1, le=MAX_DAYS)  # first incremental run with no history
    grains: list[Grain] = Field(default_factory=lambda: ["day", "week", "month"])


class Project(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "daypulse"
    timezone: str = "UTC"
    week_start: Literal["monday", "sunday"] = "monday"
    source: str
    store: str = "sqlite:///daypulse.db"
    # A pack's name, or {pack: [metrics]} for some of its metrics (with their parts).
    include: list[str | dict[str, list[str]]] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)  # pack metrics not to use
    params: dict[str, Any] = Field(default_factory=dict)  # values the packs' $name refer to
    tables: dict[str, str | TableSpec] = Field(default_factory=dict)
    columns: dict[str, str | ColumnMap | None] = Field(default_factory=dict)
    metrics: dict[str, Metric] = Field(default_factory=dict)
    compute: ComputeSettings = Field(default_factory=ComputeSettings)
    dimensions: dict[str, DimensionSettings] = Field(default_factory=dict)  # labels, by dimension name
    # Sections the report and delivery layers own: the shape of reports is checked here, what is
    # in each section by the layer that owns it (report definitions when first used, checked once
    # per project; delivery.config.SECTIONS handed to the loader), each problem at its line.
    reports: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Left loose here: delivery.config's own messages for a malformed channel or subscription
    # ("a subscription is a mapping (report:, schedule:, ...)") say more than a type error would.
    channels: dict[str, Any] = Field(default_factory=dict)
    delivery: dict[str, Any] = Field(default_factory=dict)
    subscriptions: list[Any] = Field(default_factory=list)
    churn: dict[str, Any] = Field(default_factory=dict)  # churn risk: checked by churn.config.check_churn (a section)
    cohorts: dict[str, Any] = Field(default_factory=dict)  # cohort sources: checked by cohorts.config.check_cohorts
    alerts: list[Any] = Field(default_factory=list)  # metric alert rules: checked by alerts.metric_alerts.check_alerts
    # Names in ``reports`` that came from the store's report templates, not from the file: errors
    # then name their origin, and a second merge drops templates deleted since. Never read from
    # daypulse.yml (a private attribute), set only through :meth:`with_stored_reports`.
    _stored_reports: frozenset[str] = PrivateAttr(default_factory=frozenset)
    # What the loader found worth saying that does not stop the project (a pack metric left out
    # for a column mapped to null, a param no pack reads): `daypulse check` prints them.
    _warnings: tuple[Issue, ...] = PrivateAttr(default=())
    # Breakdowns added at load for the file's filtered reports (not written under breakdowns:).
    _implied: dict[str, tuple[tuple[str, ...], ...]] = PrivateAttr(default_factory=dict)

    @property
    def implied_breakdowns(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        return self._implied

    def with_breakdowns(self, added: dict[str, list[tuple[str, ...]]]) -> Project:
        """A copy whose table metrics also store these dimension combinations, remembered as
        implied (`daypulse check` lists them)."""
        if not added:
            return self
        metrics = dict(self.metrics)
        for name, combos in added.items():
            m = metrics[name]
            metrics[name] = m.model_copy(update={"breakdowns": [*m.breakdowns, *map(list, combos)]})
        copy = self.model_copy(update={"metrics": metrics})
        copy._implied = {**self._implied, **{k: tuple(v) for k, v in added.items()}}
        return copy

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return self._warnings

    def with_warnings(self, issues: Iterable[Issue]) -> Project:
        self._warnings = tuple(i for i in issues if i.level == "warning")
        return self

    @property
    def stored_reports(self) -> frozenset[str]:
        """The names in ``reports`` that are report templates kept in the store."""
        return self._stored_reports

    def with_stored_reports(self, found: dict[str, dict]) -> Project:
        """A copy whose ``reports`` are the file's plus ``found`` (templates from the store, in
        place of any merged before)."""
        own = {k: v for k, v in self.reports.items() if k not in self._stored_reports}
        if not found and not self._stored_reports:
            return self
        merged = self.model_copy(update={"reports": {**own, **found}})
        merged._stored_reports = frozenset(found)
        return merged

    @property
    def calendar(self) -> Calendar:
        """Local days, weeks and months of the project's zone."""
        return _calendar(self.timezone, self.week_start)

    def not_in_future(self, day: date, field: str, now: datetime | None = None, today: date | None = None) -> date:
        """``day``, unless it is after today in the project's zone (``today``, else that of
        ``now``): then UsageError naming ``field`` (``--date``, ``start``...). The one wording of
        "in the future" everywhere."""
        today = today or self.calendar.today(now)
        if day > today:
            raise UsageError(f"{field}: {day} is in the future (today is {today} in {self.timezone})")
        return day

    def metric(self, name: str, field: str | None = None) -> Any:
        """The metric called ``name``, else UsageError naming ``field`` (a flag, a parameter)
        with the closest name."""
        if name not in self.metrics:
            raise UsageError((f"{field}: " if field else "") + unknown_metric(self, [name]))
        return self.metrics[name]

    def resolve(self, names: Iterable[str] | None, field: str | None = None) -> list[str]:
        """The metrics asked for (every metric for none), each once, in order; UsageError for
        unknown ones, naming ``field`` (``--metric`` on the command line, ``metrics`` in the API)."""
        if not names:
            return list(self.metrics)
        names = list(names)
        if unknown := [n for n in names if n not in self.metrics]:
            raise UsageError((f"{field}: " if field else "") + unknown_metric(self, unknown))
        return list(dict.fromkeys(names))

    def with_parts(self, names: Iterable[str]) -> list[str]:
        """The metrics and everything they are computed from, parts first."""
        out: list[str] = []

        def add(n: str) -> None:
            if n in out:
                return
            for part in depends_on(self.metrics[n]):
                add(part)
            out.append(n)

        for n in names:
            add(n)
        return out

    def grains_of(self, name: str, grains: Iterable[str]) -> tuple[str, ...]:
        """Which of ``grains`` the metric is computed at: those of its ``grains:``, else of
        ``compute.grains`` (so quarter and year are opted in); SQL with no rollup is daily only."""
        m = self.metrics[name]
        allowed = m.grains if m.grains is not None else self.compute.grains
        if isinstance(m, SqlMetric) and m.rollup == "none":
            allowed = ["day"]
        if "hour" in allowed and not self.hourly(name):
            allowed = [g for g in allowed if g != "hour"]
        return tuple(g for g in grains if g in allowed)

    def hourly(self, name: str) -> bool:
        """Whether a metric can have hour values: an event metric without a window counts the
        rows of each hour; a ratio or derived metric when all its parts can. A state, window,
        cumulative, movement, snapshot, SQL or manual metric is a day's value (or the end of
        it), so compute.grains' hour passes it by."""
        m = self.metrics[name]
        if isinstance(m, EventMetric):
            return m.window is None
        if isinstance(m, RatioMetric | DerivedMetric):
            return all(p in self.metrics and self.hourly(p) for p in depends_on(m))
        return False

    def computed_grains(self, names: Iterable[str] | None = None) -> tuple[str, ...]:
        """The grains any of ``names`` (every metric by default) is computed at, finest first."""
        among = list(self.metrics if names is None else names)
        return tuple(g for g in GRAINS if any(self.grains_of(n, [g]) for n in among))

    def grain_problem(self, names: Iterable[str] | None, grain: str) -> str | None:
        """Why ``grain`` cannot be asked of ``names`` (every metric when None): none of them is
        computed at it, and how to opt in; None when one is."""
        among = list(self.metrics if names is None else names)
        if any(self.grains_of(n, [grain]) for n in among):
            return None
        if names is None or not among:
            return (f"no metric is computed by {grain} (add {grain} to compute.grains in daypulse.yml,"
                    " or to a metric's grains:)")
        if len(among) > 1:
            return (f"none of the metrics {', '.join(map(repr, among))} is computed by {grain} (add {grain}"
                    " to compute.grains in daypulse.yml, or to their grains:)")
        m = self.metrics[among[0]]
        if grain == "hour" and not self.hourly(among[0]):
            how = f"a {m.kind} metric{' with a window' if getattr(m, 'window', None) else ''} has no hourly"\
                  " values; hour is for event metrics and ratios or derived metrics of them"
        elif isinstance(m, SqlMetric) and m.rollup == "none":
            how = "a kind: sql metric with rollup: none is daily only; set rollup: sum or last"
        elif m.grains is not None:
            how = f"add {grain} to the metric's grains:"
        else:
            how = f"add {grain} to compute.grains in daypulse.yml, or to the metric's grains:"
        return f"metric {among[0]!r} is not computed by {grain} ({how})"

    def dimensions_of(self, name: str) -> set[str]:
        """The dimensions a metric is stored by, each on its own (see :meth:`groupings_of`)."""
        return set().union(*self.groupings_of(name))

    def groupings_of(self, name: str) -> frozenset[frozenset[str]]:
        """The dimension combinations a metric's values are stored by, the total (no dimension)
        included. A table metric: each dimension and its ``breakdowns:``. A ratio or derived
        metric: only those every part has, as a part without the dimension would take its
        zero there (a success rate of 0 by outcome when successes are not broken down by it).
        A cumulative metric: its metric's."""
        m = self.metrics[name]
        if isinstance(m, TableMetric | ChurnMetric):
            return frozenset({frozenset(), *(frozenset([d]) for d in m.dimensions),
                              *(frozenset(b) for b in m.breakdowns)})
        if isinstance(m, SqlMetric):  # whichever columns a row fills
            return frozenset(frozenset(c) for n in range(len(m.dimensions) + 1)
                             for c in itertools.combinations(m.dimensions, n))
        parts = [p for p in depends_on(m) if p in self.metrics]
        if not parts:
            return frozenset({frozenset()})
        return frozenset.intersection(*(self.groupings_of(p) for p in parts))

    def not_stored(self, name: str, dims: Iterable[str]) -> str | None:
        """None when the metric's values are stored by exactly these dimensions together; else
        what to add ("calls is not stored by branch and staff together: add breakdowns:
        [[branch, staff]] to calls"), naming the table metrics it is computed from."""
        dims = sorted(set(dims))
        if frozenset(dims) in self.groupings_of(name):
            return None
        roots = [n for n in self.with_parts([name]) if isinstance(self.metrics[n], TableMetric)
                 and frozenset(dims) not in self.groupings_of(n)]
        where = " and ".join(roots) or name
        return (f"{name} is not stored by {' and '.join(dims)} together: add breakdowns:"
                f" [[{', '.join(dims)}]] to {where} in daypulse.yml, then compute")

    def table(self, logical: str) -> TableSpec:
        mapped = self.tables.get(logical, logical)
        return mapped if isinstance(mapped, TableSpec) else TableSpec(name=mapped)

    def definition_hash(self, metric: str) -> str:
        """A fingerprint of everything that decides a metric's numbers.

        Includes the calendar, the table mapping and, for derived metrics, the parts, so
        a changed definition anywhere below marks stored values as stale.
        """
        return hashlib.sha256(
            json.dumps(self._definition(metric), sort_keys=True, default=str).encode()
        ).hexdigest()[:16]

    def _definition(self, name: str) -> dict:
        m = self.metrics[name]
        body = m.model_dump(exclude={"label", "description", "formula", "format", "good"})
        body["_calendar"] = [self.timezone, self.week_start]
        if isinstance(m, TableMetric):
            body["_table"] = self.table(m.table).model_dump()
        if getattr(m, "during", None) is not None:
            body["_during_table"] = self.table(m.during.table).model_dump()
        for part in depends_on(m):
            body[f"_part_{part}"] = self._definition(part) if part in self.metrics else None
        return body


@lru_cache(maxsize=32)
def _calendar(timezone: str, week_start: str) -> Calendar:
    # Not a cached_property: a model_copy with another zone must not keep the old calendar.
    return Calendar(timezone, week_start)


def unknown_metric(project: Project, names: list[str], among: list[str] | None = None) -> str:
    """"unknown metric 'x' (did you mean 'y'?)": the one wording everywhere a name is checked;
    the closest name is looked for ``among`` these (default: every metric of the project)."""
    known = among or list(project.metrics)
    hints = [m[0] for n in names if (m := difflib.get_close_matches(n, known, n=1))]
    return (f"unknown metric {', '.join(map(repr, names))}"
            + (f" (did you mean {', '.join(map(repr, hints))}?)" if hints else ""))


def depends_on(m: Any) -> list[str]:
    if isinstance(m, RatioMetric):
        return [m.numerator, m.denominator]
    if isinstance(m, CumulativeMetric):
        return [m.of]
    if isinstance(m, DerivedMetric):
        return m.parts
    return []
