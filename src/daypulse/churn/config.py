"""The ``churn:`` section of daypulse.yml (docs/churn.md): who is scored, where each signal comes
from, the dimensions and the weights.

.. code-block:: yaml

    churn:
      entity: user_id                 # the customer's column in every source (default: the scored metric's)
      scored: {metric: active_subscribers, where: {is_test: false}}
      activity: {table: events, time: occurred_at}
      logins: {table: events, time: occurred_at, where: {kind: login}}
      progress: {table: events, time: occurred_at, where: {kind: [capture, file_upload]}}
      frustration: {table: feedback, time: created_at, score: score}
      payment: {table: subscription_periods, start: valid_from, end: valid_to, status: status}
      trial:
        table: subscriptions
        end: trial_ends_at
        paid: {table: subscription_periods, start: valid_from, end: valid_to, where: {status: active}}
      dimensions: {tenant: tenant}
      weights: {inactivity: 30}

The loader only knows ``churn`` as a mapping (``Project.churn``); :func:`check_churn` is the
section check every entry point loads with (``delivery.config.SECTIONS``), so each problem is
reported at its line when the file is read. Nothing here imports Ibis or pandas.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from daypulse.churn.population import Population, population_problem, scored_population
from daypulse.errors import ConfigError, Issue
from daypulse.project.loader import document_path
from daypulse.project.model import Scalar, WhereValue

if TYPE_CHECKING:
    from daypulse.project.located import Located
    from daypulse.project.model import Project

# The signals of DESIGN §8, in the order of its table (and of an export record's "signals").
SIGNALS = ("inactivity", "engagement_decay", "frustration", "login_decay", "progress_stall", "payment_issue")
DEFAULT_WEIGHTS = {"inactivity": 25, "engagement_decay": 20, "frustration": 15, "login_decay": 15,
                   "progress_stall": 15, "payment_issue": 10}
# The source each signal is computed from: a signal whose source is not configured is left out.
SIGNAL_SOURCE = {"inactivity": "activity", "engagement_decay": "activity", "frustration": "frustration",
                 "login_decay": "logins", "progress_stall": "progress", "payment_issue": "payment"}
SOURCES = ("activity", "logins", "progress", "frustration", "payment", "trial")
PAYMENT_STATUSES = ("past_due", "unpaid")
DOCS = "docs/churn.md"
WEIGHT_HINT = "0 leaves the signal out of the score; the weights in use are rescaled to sum to 100"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSource(Strict):
    """Rows that each count once on the local day of ``time``: activity, logins, progress."""

    table: str  # a logical name (mapped by tables:) or a physical one
    entity: str | None = None  # the customer's column (default: churn.entity)
    time: str
    where: dict[str, WhereValue] = Field(default_factory=dict)


class FrustrationSource(EventSource):
    score: str  # a number from 0 (content) to 100 (furious)


class PaymentSource(Strict):
    """Rows open over [start, end) (NULL end: still open) whose status may be a payment issue."""

    table: str
    entity: str | None = None
    start: str
    end: str | None = None
    status: str = "status"
    statuses: list[Scalar] = Field(default_factory=lambda: list(PAYMENT_STATUSES))
    where: dict[str, WhereValue] = Field(default_factory=dict)


class PaidSource(Strict):
    """What makes a subscription paid: its rows open over [start, end) that match ``where``."""

    table: str | None = None  # default: the trial's table
    entity: str | None = None
    start: str
    end: str | None = None
    where: dict[str, WhereValue] = Field(default_factory=dict)


class TrialSource(Strict):
    table: str
    entity: str | None = None
    end: str  # when the trial ends
    where: dict[str, WhereValue] = Field(default_factory=dict)
    paid: PaidSource


class Scored(Strict):
    """Who is scored: the customers a state metric counts (the saas pack's active_subscribers),
    narrowed by ``where`` (for churn only; narrow the metric itself to narrow both)."""

    metric: str = "active_subscribers"
    where: dict[str, WhereValue] = Field(default_factory=dict)


class ChurnConfig(Strict):
    entity: str | None = None
    scored: Scored = Field(default_factory=Scored)
    activity: EventSource | None = None
    logins: EventSource | None = None
    progress: EventSource | None = None
    frustration: FrustrationSource | None = None
    payment: PaymentSource | None = None
    trial: TrialSource | None = None
    dimensions: dict[str, str] | None = None  # name -> column of the scored table (default: the metric's)
    weights: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_weights(self) -> ChurnConfig:
        for name, w in self.weights.items():
            if why := weight_problem(name, w):
                raise ValueError(f"weights.{name}: {why}")
        return self

    @property
    def signals_in_use(self) -> tuple[str, ...]:
        """The signals whose source is configured, in the table's order."""
        return tuple(s for s in SIGNALS if getattr(self, SIGNAL_SOURCE[s]) is not None)

    def weight(self, signal: str) -> float:
        return float(self.weights.get(signal, DEFAULT_WEIGHTS[signal]))

    def weights_in_use(self) -> dict[str, float]:
        """The signals in use and their weights, rescaled to sum to 100 (unrounded)."""
        return rescaled({s: self.weight(s) for s in SIGNALS}, self.signals_in_use)

    def entity_of(self, source: Any, population: Population) -> str:
        """The customer's column in a source: its own ``entity``, else churn.entity, else the
        scored metric's."""
        return getattr(source, "entity", None) or self.entity or population.entity


def rescaled(weights: Mapping[str, float], in_use: Iterable[str]) -> dict[str, float]:
    """The weights of the signals ``in_use``, in the table's order, times 100 / their sum (the
    rest are left out, DESIGN §8). A sum of 0 is refused when the file is read."""
    used = [s for s in SIGNALS if s in set(in_use)]
    total = math.fsum(float(weights[s]) for s in used)
    if total <= 0:
        raise ValueError(f"the weights of {', '.join(used) or 'no signal'} sum to 0")
    return {s: float(weights[s]) * 100 / total for s in used}


def weight_problem(name: str, value: Any) -> str | None:
    if name not in SIGNALS:
        return f"unknown signal {name!r}"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return f"a weight is a number of 0 or more, not {value!r}"
    return None


def churn_config(project: Project, loc: Located | None = None) -> ChurnConfig | None:
    """The project's churn settings (None when it has no ``churn:`` section); ConfigError with
    every problem when they are not valid (a project loaded with the section check never is)."""
    if not project.churn:
        return None
    from daypulse.project.located import Located

    issues = [i for i in check_churn(project, loc or Located(None, None)) if i.level == "error"]
    if issues:
        raise ConfigError(issues)
    return ChurnConfig.model_validate(project.churn)


def check_churn(project: Project, loc: Located) -> list[Issue]:
    """Every problem of the ``churn:`` section, each at its line with a hint (a section check)."""
    raw = project.churn
    if not raw:
        return []
    if not isinstance(raw, dict):
        return [loc.issue(("churn",), "churn: expected a mapping of settings", hint=f"see {DOCS}")]
    issues: list[Issue] = []
    data = dict(raw)
    if "weights" in data:
        data["weights"] = _weights(data["weights"], loc, issues)
    try:
        cfg = ChurnConfig.model_validate(data)
    except ValidationError as err:
        return issues + _shape_issues(err, data, loc)
    return issues + _meaning(project, cfg, loc)


def _weights(weights: Any, loc: Located, issues: list[Issue]) -> dict:
    """The valid weights; an issue for each other one (unknown signal, negative, not a number)."""
    if not isinstance(weights, dict):
        issues.append(loc.issue(("churn", "weights"), "churn.weights: a mapping of signal: weight",
                                hint="signals: " + ", ".join(SIGNALS)))
        return {}
    clean = {}
    for name, value in weights.items():
        why = weight_problem(str(name), value)
        if why is None:
            clean[name] = value
        elif str(name) not in SIGNALS:
            close = difflib.get_close_matches(str(name), SIGNALS, n=1)
            issues.append(loc.issue(("churn", "weights", name), f"churn.weights.{name}: {why}",
                                    hint=(f"did you mean {close[0]!r}? " if close else "")
                                    + "signals: " + ", ".join(SIGNALS)))
        else:
            issues.append(loc.issue(("churn", "weights", name), f"churn.weights.{name}: {why}",
                                    hint=WEIGHT_HINT))
    return clean


def _shape_issues(err: ValidationError, data: dict, loc: Located) -> list[Issue]:
    """Pydantic's errors as issues at the line of the setting, with the section's wording."""
    out = []
    for e in err.errors(include_url=False):
        path = document_path(e["loc"], data)
        where = ".".join(["churn", *map(str, path)])
        if e["type"] == "extra_forbidden":
            parent = ".".join(["churn", *map(str, path[:-1])])
            model = _field_model(ChurnConfig, *path[:-1])
            known = list(model.model_fields) if model is not None else []
            close = difflib.get_close_matches(str(path[-1]), known, n=1)
            hint = (f"did you mean {close[0]!r}? " if close else "") + f"settings of {parent}: " + ", ".join(known)
            out.append(loc.issue(("churn", *path), f"{where}: unknown setting", hint=hint))
        elif e["type"] == "missing":
            field = str(e["loc"][-1])
            out.append(loc.issue(("churn", *path), f"{where}: missing required setting {field!r}",
                                 hint=f"see {DOCS}"))
        else:
            out.append(loc.issue(("churn", *path), f"{where}: {e['msg']}", hint=f"see {DOCS}"))
    return out


def _field_model(model: type[BaseModel] | None, *parts: Any) -> type[BaseModel] | None:
    """The model of a nested setting (``payment`` -> PaymentSource), None past the models."""
    for part in parts:
        if model is None or part not in model.model_fields:
            return None
        ann = model.model_fields[part].annotation
        args = getattr(ann, "__args__", (ann,))
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model


def _meaning(project: Project, cfg: ChurnConfig, loc: Located) -> list[Issue]:
    """What a valid shape can still get wrong: no signal at all, weights that sum to 0, a weight
    nothing uses, a scored metric that does not exist or counts something else."""
    issues = []
    in_use = cfg.signals_in_use
    if not in_use:
        issues.append(loc.issue(("churn",), "churn: no signal has a source",
                                hint="configure at least one of activity, logins, progress, frustration,"
                                f" payment (see {DOCS})"))
    elif math.fsum(cfg.weight(s) for s in in_use) <= 0:
        issues.append(loc.issue(("churn", "weights"), f"churn.weights: the signals in use ({', '.join(in_use)})"
                                " have weights that sum to 0", hint="give one of them a weight above 0"))
    for name in cfg.weights:
        if name not in in_use:
            source = SIGNAL_SOURCE[name]
            issues.append(loc.issue(("churn", "weights", name), f"churn.weights.{name}: {name} has no source"
                                    f" (churn.{source} is not configured): its weight is not used",
                                    level="warning", hint=f"configure churn.{source}, or drop the weight"))
    if problem := population_problem(project, cfg):
        path, message, hint = problem
        issues.append(loc.issue(("churn", *path), message, hint=hint))
    else:
        issues += _metric_dimensions(project, cfg, loc)
    return issues


def _metric_dimensions(project: Project, cfg: ChurnConfig, loc: Located) -> list[Issue]:
    """Each ``kind: churn`` metric's dimensions name what its measure is counted by."""
    dims = set(scored_population(project, cfg).dimensions)
    issues = []
    for name, m in project.metrics.items():
        if getattr(m, "kind", None) != "churn":
            continue
        own = {"customers": {"level"}, "open_alerts": {"type", "severity"}}[m.measure]
        for dim, what in m.dimensions.items():
            if what not in own | dims:
                issues.append(loc.issue(("metrics", name, "dimensions", dim),
                                        f"{name}: {m.measure} are not counted by {what!r}", metric=name,
                                        hint=f"one of {', '.join(sorted(own | dims))}"))
    return issues
