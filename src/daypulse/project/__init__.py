"""The project file: daypulse.yml to typed, validated specs (DESIGN §2)."""

from daypulse.project.loader import config_path, load_project, parse_project, project_from_dict
from daypulse.project.model import (
    CumulativeMetric,
    EventMetric,
    Project,
    RatioMetric,
    SqlMetric,
    StateMetric,
    TableSpec,
)

__all__ = [
    "CumulativeMetric", "EventMetric", "Project", "RatioMetric", "SqlMetric", "StateMetric",
    "TableSpec", "config_path", "load_project", "parse_project", "project_from_dict",
]
