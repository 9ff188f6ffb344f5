"""The project's settings that are safe to show (an unscoped admin)."""

from __future__ import annotations

from fastapi import APIRouter

from daypulse.api.deps import CompanyAdmin, ProjectDep, StoreDep
from daypulse.api.problems import responses
from daypulse.api.runs import MAX_RUN_DAYS
from daypulse.delivery.config import channel_kinds, delivery_settings
from daypulse.report.definition import report_names
from daypulse.store.manual import manual_metrics

router = APIRouter(responses=responses(401, 403, 422, 503))


@router.get("/config", summary="The project's settings that are safe to show (admin)")
def settings(who: CompanyAdmin, project: ProjectDep, store: StoreDep) -> dict:
    delivery = delivery_settings(project)
    # URLs, tokens and passwords stay out: the dialects say where data lives, not how to get in.
    return {"name": project.name, "timezone": project.timezone, "week_start": project.week_start,
            "source": {"dialect": project.source.split(":", 1)[0].split("+", 1)[0]},
            "store": {"dialect": store.dialect},
            "metrics": len(project.metrics), "manual_metrics": manual_metrics(project),
            "compute": {"lookback_days": project.compute.lookback_days, "initial_days": project.compute.initial_days,
                        "grains": list(project.compute.grains), "max_days_per_api_run": MAX_RUN_DAYS},
            "reports": report_names(project),
            "channels": [{"name": n, "kind": k} for n, k in sorted(channel_kinds(project).items())],
            "delivery": {"max_attempts": delivery.max_attempts, "lease_seconds": delivery.lease.total_seconds(),
                         "tick_seconds": delivery.tick.total_seconds(),
                         "ops_channel": delivery.ops.channel if delivery.ops else None}}
