"""Metric alert rules as a project has them -- the ``alerts:`` of daypulse.yml and the threshold
rules kept in the store (``daypulse thresholds``: each a threshold rule of one period, named
``threshold-<id>``) -- checked at their line, and evaluated over the stored values of the periods
that are over: every event opened and resolved is kept (``store.alert_events``).

Evaluation reads a window of complete periods per rule (60 days, 26 weeks, 24 months, 8
quarters, 5 years) and the periods its comparisons and history need before it; events opened
before the window are left as they are.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from daypulse import judgement
from daypulse.alerts.rules import HISTORY, KINDS, OPS, SEVERITIES, Rule, episodes, judge
from daypulse.errors import Issue
from daypulse.project.located import Located
from daypulse.store import alert_events as stored
from daypulse.store import read
from daypulse.store.db import Store
from daypulse.store.thresholds import listing
from daypulse.values import dims_key

DOCS = "docs/alerts.md"
WINDOW = {"day": 60, "week": 26, "month": 24, "quarter": 8, "year": 5}


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    metric: str
    kind: str = "threshold"
    op: str = "above"
    value: float = Field(3.5, description="the limit, the change, or the anomaly's z")
    grain: str = "day"
    dims: dict[str, str] = Field(default_factory=dict)
    by: str = "percent"
    compare: str = "previous"
    periods: int = 1
    severity: str = "warning"
    note: str | None = None


@dataclass
class Outcome:
    rule: Rule
    opened: int = 0
    resolved: int = 0
    open_now: int = 0
    unjudged: list[str] = field(default_factory=list)  # "2026-03-01: not enough history (3 of 4 ...)"


def yml_rules(project) -> list[Rule]:
    out = []
    for raw in project.alerts or []:
        spec = RuleSpec.model_validate(raw)
        out.append(Rule(spec.name, spec.metric, spec.kind, spec.op, spec.value, spec.grain, dict(spec.dims),
                        spec.by, spec.compare, spec.periods, spec.severity, spec.note))
    return out


def all_rules(project, store: Store) -> list[Rule]:
    """daypulse.yml's rules, then the store's thresholds (of metrics the project still has)."""
    kept = [Rule(f"threshold-{t.id}", t.metric, "threshold", t.op, float(t.limit), t.grain, dict(t.dims),
                 severity=t.severity, note=t.note, source=f"threshold {t.id}")
            for t in listing(store) if t.metric in project.metrics]
    return yml_rules(project) + kept


def check_alerts(project, loc: Located) -> list[Issue]:
    """Every problem of the ``alerts:`` section, each at its line (a section check)."""
    raw = project.alerts
    if not raw:
        return []
    if not isinstance(raw, list):
        return [loc.issue(("alerts",), "alerts: expected a list of rules", hint=f"see {DOCS}")]
    issues, names = [], set()
    for i, item in enumerate(raw):
        at = ("alerts", i)
        try:
            spec = RuleSpec.model_validate(item)
        except ValidationError as err:
            issues += [loc.issue((*at, *e["loc"]), f"alerts[{i}].{'.'.join(map(str, e['loc']))}: {e['msg']}",
                                 hint=f"see {DOCS}") for e in err.errors()]
            continue
        problem = rule_problem(project, spec)
        if problem:
            key, message, hint = problem
            issues.append(loc.issue((*at, key), f"alerts[{i}] ({spec.name}): {message}", hint=hint))
        if spec.name in names:
            issues.append(loc.issue((*at, "name"), f"alerts[{i}]: a second rule named {spec.name!r}",
                                    hint="rule names are unique"))
        names.add(spec.name)
    return issues


def rule_problem(project, spec: RuleSpec) -> tuple[str, str, str] | None:
    """(setting, message, hint) of what is wrong with a rule, else None."""
    if spec.metric not in project.metrics:
        close = difflib.get_close_matches(spec.metric, list(project.metrics), n=1)
        return "metric", f"unknown metric {spec.metric!r}", (f"did you mean {close[0]!r}?" if close
                                                             else "see `daypulse metrics`")
    for key, value, allowed in (("kind", spec.kind, KINDS), ("op", spec.op, OPS), ("severity", spec.severity,
                                SEVERITIES), ("by", spec.by, ("percent", "absolute")),
                                ("compare", spec.compare, ("previous", "same_weekday"))):
        if value not in allowed:
            return key, f"{key}: {value!r} is not one of {', '.join(allowed)}", f"see {DOCS}"
    if spec.op == "any" and spec.kind != "anomaly":
        return "op", "op: any is for anomaly rules (a threshold or a change is above or below)", f"see {DOCS}"
    if spec.compare == "same_weekday" and spec.grain != "day":
        return "compare", "compare: same_weekday is for daily rules", "use previous"
    if spec.grain == "hour":
        return "grain", "alert rules judge days or longer periods, not hours", "use grain: day"
    if re.fullmatch(r"threshold-\d+", spec.name):
        return "name", f"name: {spec.name!r} is how stored thresholds are named", "choose another name"
    if spec.periods < 1:
        return "periods", f"periods: {spec.periods} is not 1 or more (the breaching periods in a row that" \
                          " open an event)", "1 opens on the first breach"
    if not project.grains_of(spec.metric, [spec.grain]):
        return "grain", project.grain_problem([spec.metric], spec.grain), "see docs/project-file.md#grains"
    have = project.dimensions_of(spec.metric)
    for dim in spec.dims:
        if dim not in have:
            return "dims", f"metric {spec.metric!r} has no dimension {dim!r} (its dimensions:" \
                           f" {', '.join(sorted(have)) or 'none'})", "see `daypulse metrics`"
    if spec.dims and (problem := project.not_stored(spec.metric, spec.dims)):
        return "dims", problem, "a rule reads values stored by exactly its dimensions"
    if spec.kind == "anomaly" and spec.value <= 0:
        return "value", "value: an anomaly's z must be above 0 (3.5 by default)", "3.5 is what reports use"
    return None


def evaluate(project, store: Store, now: datetime | None = None, rules: list[Rule] | None = None) -> list[Outcome]:
    """Every rule over its window of complete periods; the events kept, the outcome of each."""
    cal = project.calendar
    today = cal.today(now)
    out = []
    for rule in rules if rules is not None else all_rules(project, store):
        outcome = Outcome(rule)
        out.append(outcome)
        if rule.grain not in WINDOW:
            outcome.unjudged.append(f"{rule.grain}: alert rules judge days or longer periods")
            continue
        if rule.metric not in project.metrics or not project.grains_of(rule.metric, [rule.grain]):
            outcome.unjudged.append(f"{rule.metric} is not computed by {rule.grain}")
            continue
        key = dims_key(rule.dims)
        last = cal.shift(rule.grain, cal.period_start(rule.grain, today), 1)  # the last period that is over
        first = cal.shift(rule.grain, last, WINDOW[rule.grain] - 1)
        # An event still open from before the window: evaluate from its opening, so a long breach
        # stays one event (and resolves) instead of opening again at each window's start.
        first = min([first, *stored.open_before(store, rule.name, key, first)])
        periods = cal.periods(rule.grain, first, last)
        reset = judgement.to_date_reset(project.metrics[rule.metric], rule.grain)
        base_of = {p: _base(cal, rule, p, reset) for p in periods}
        history_of = {p: _history(cal, rule.grain, p, reset) if rule.kind == "anomaly" else [] for p in periods}
        needed = [p for ps in history_of.values() for p in ps] + [b for b in base_of.values() if b]
        got = read.values(store, [rule.metric], rule.grain, min([periods[0], *needed]), last, key)
        values = {p: (float(v) if v is not None else None) for (_, p), v in got.items()}
        verdicts = judge(rule, periods, values, base_of, history_of, project.metrics[rule.metric].format)
        found = episodes(rule, verdicts)
        outcome.opened, outcome.resolved = stored.reconcile(store, rule.name, rule.metric, rule.grain, key,
                                                            dict(rule.dims), rule.severity, periods[0], found)
        outcome.open_now = sum(e.resolved is None for e in found)
        outcome.unjudged = [f"{v.period}: {v.why}" for v in verdicts if v.breach is None and v.why != "no value"]
    return out


def _base(cal, rule: Rule, p: date, reset: str | None) -> date | None:
    """The period a change compares with: as reports compare (a month-to-date value with the
    same day of the month before)."""
    if rule.kind != "change":
        return None
    return judgement.base_start(cal, rule.compare, rule.grain, p, reset)


def _history(cal, grain: str, p: date, reset: str | None) -> list[date]:
    """The earlier periods an anomaly is judged against, oldest first, as reports judge it: the
    same weekday for days, the same point of earlier resets for a period-to-date value, else the
    periods before."""
    return list(reversed(judgement.history_starts(cal, grain, p, HISTORY, reset)))
