"""A range of local days scored in one batch: the signals from the source (one query per signal
source), the scores, and what the export and the alerts need from them. The seam the store, the
``daypulse churn`` command and the API build on: they keep the rows this returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd

from daypulse.churn.alerts import Alert, Decision, conditions, decide
from daypulse.churn.config import ChurnConfig, churn_config
from daypulse.churn.population import scored_population
from daypulse.churn.score import records, score
from daypulse.churn.signals import compute_signals
from daypulse.compile.rows import Source
from daypulse.errors import UsageError
from daypulse.project.model import Project


@dataclass(frozen=True)
class Batch:
    first: date
    last: date
    frame: pd.DataFrame  # one row per scored entity-day: signals, risk_*, points_*, score, level
    weights: dict[str, float]  # the signals in use, rescaled to 100
    dimensions: tuple[str, ...]

    def records(self) -> Iterator[dict]:
        """DESIGN §8's export records, by day then entity."""
        return records(self.frame, self.weights, self.dimensions)

    def alerts(self, live: Iterable[Alert] = ()) -> Decision:
        """The alerts of the range, given those live before its first day."""
        return decide(self.first, self.last, conditions(self.frame), live)


def score_range(project: Project, first: date, last: date, source: Source | None = None,
                cfg: ChurnConfig | None = None) -> Batch:
    """Every scored customer on every local day of [first, last], scored."""
    cfg = cfg or churn_config(project)
    if cfg is None:
        raise UsageError("the project has no churn: section (see docs/churn.md)")
    signals = compute_signals(project, cfg, first, last, source)
    weights = cfg.weights_in_use()
    dims = tuple(scored_population(project, cfg).dimensions)
    return Batch(first, last, score(signals, weights), weights, dims)
