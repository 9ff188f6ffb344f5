"""Who is scored on a local day D: exactly the customers a ``kind: state`` distinct count counts
at the end of D -- by default the saas pack's ``active_subscribers`` (an open subscription,
trials and free plans included), or the project's own metric of that name when it has one, so
the churn list and the metric agree. ``churn.scored.where`` narrows the churn side only.

Takes the churn settings by their attributes (``scored``, ``dimensions``, ``entity``) and does not
import ``churn.config``, which asks it for its problems.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from daypulse.errors import ConfigError, Issue
from daypulse.project import packs
from daypulse.project.model import Project, StateMetric

PACK = "saas"
PACK_METRIC = "active_subscribers"
KIND_HINT = ("the scored customers come from a kind: state metric with measure: count_distinct and"
             " column: (the customer), like the saas pack's active_subscribers")


@dataclass(frozen=True)
class Population:
    """The rows a customer is scored by: ``table``'s rows open at the end of a day (start before
    it, end NULL or at or after it), ``where`` applied (each mapping ANDed)."""

    table: str  # logical, mapped by the project's tables:
    entity: str  # the customer's column
    start: str
    end: str | None
    where: list[dict] = field(default_factory=list)
    dimensions: dict[str, str] = field(default_factory=dict)  # name -> column of ``table``
    origin: str = ""  # where the definition came from, for messages


def _pack_definition(project: Project) -> StateMetric | None:
    """The saas pack's active_subscribers, with the project's params and columns: mapping."""
    columns = {k: (v.model_dump() if hasattr(v, "model_dump") else v) for k, v in project.columns.items()}
    found, _ = packs.expand([{PACK: [PACK_METRIC]}], dict(project.params), columns, [],
                            lambda *a, **k: None)
    body = found.get(PACK_METRIC)
    return StateMetric.model_validate(body) if body is not None else None


def _metric(project: Project, cfg: Any) -> tuple[Any, str] | tuple[None, tuple]:
    """(the scored metric, its origin), or (None, (path, message, hint))."""
    name = cfg.scored.metric
    m = project.metrics.get(name)
    origin = f"metric {name!r}"
    if m is None and name == PACK_METRIC:
        m, origin = _pack_definition(project), f"the {PACK} pack's {PACK_METRIC} (daypulse/packs/{PACK}.yml)"
        if m is None:
            return None, (("scored", "metric"), f"churn.scored.metric: the {PACK} pack's {PACK_METRIC}"
                          " cannot be used: a column it needs is mapped to null",
                          f"define {PACK_METRIC} under metrics:, or name another metric in churn.scored.metric")
    if m is None:
        states = [n for n, x in project.metrics.items() if isinstance(x, StateMetric)]
        close = difflib.get_close_matches(name, [*states, PACK_METRIC], n=1)
        return None, (("scored", "metric"), f"churn.scored.metric: unknown metric {name!r}",
                      (f"did you mean {close[0]!r}? " if close else "") + KIND_HINT)
    if not isinstance(m, StateMetric) or m.measure != "count_distinct" or not m.column:
        what = f"kind: {m.kind}" + (f" with measure: {m.measure}" if isinstance(m, StateMetric) else "")
        return None, (("scored", "metric"), f"churn.scored.metric: metric {name!r} is {what}", KIND_HINT)
    return m, origin


def population_problem(project: Project, cfg: Any) -> tuple[tuple, str, str] | None:
    """(path under churn, message, hint) when the scored customers cannot be found, else None."""
    m, problem = _metric(project, cfg)
    return problem if m is None else None


def scored_population(project: Project, cfg: Any) -> Population:
    """Who is scored, with the churn section's extra ``where`` and its dimensions (default: the
    metric's own)."""
    m, origin = _metric(project, cfg)
    if m is None:
        _, message, hint = origin
        raise ConfigError([Issue(message, hint=hint)])
    dims = dict(m.dimensions) if cfg.dimensions is None else dict(cfg.dimensions)
    where = [w for w in (dict(m.where), dict(cfg.scored.where)) if w]
    return Population(m.table, m.column, m.start, m.end, where, dims, origin)
