"""The churn metrics a project with a ``churn:`` section gets (``kind: churn``, counted from the
scores and alerts in the store by the engine): customers at risk per level and open alerts per
type, each by the churn dimensions, so they chart, alert and deliver like any metric. A metric
the project defines under the same name is left as it is."""

from __future__ import annotations

from daypulse.churn.config import churn_config
from daypulse.churn.population import scored_population
from daypulse.errors import ConfigError
from daypulse.project.model import ChurnMetric, Project

CHURN_METRICS = {
    "churn_customers": {
        "measure": "customers", "by": "level", "label": "Customers by churn risk",
        "description": "Customers scored for churn risk at the end of the day; by level (low, medium, high,"
                    " critical) to chart how many are at risk (daypulse churn)."},
    "churn_open_alerts": {
        "measure": "open_alerts", "by": "type", "label": "Open churn alerts",
        "description": "Churn alerts open at the end of the day (neither cleared nor resolved by hand); by type"
                    " (inactivity, engagement_drop, high_frustration, payment_risk, trial_expiring)."},
}


def with_churn_metrics(project: Project) -> Project:
    """The project with the churn metrics added (a derivation: ``load_project(..., DERIVED)``)."""
    try:
        cfg = churn_config(project)
    except ConfigError:
        return project  # the section check reports what is wrong
    if cfg is None:
        return project
    try:
        dims = list(scored_population(project, cfg).dimensions)
    except ConfigError:
        return project
    added = {}
    for name, spec in CHURN_METRICS.items():
        if name in project.metrics:
            continue
        by = spec["by"]
        added[name] = ChurnMetric(kind="churn", measure=spec["measure"], label=spec["label"],
                                  description=spec["description"], format="integer", good="down",
                                  dimensions={by: by, **{d: d for d in dims}},
                                  breakdowns=[[by, d] for d in dims])
    return project.model_copy(update={"metrics": {**project.metrics, **added}}) if added else project
