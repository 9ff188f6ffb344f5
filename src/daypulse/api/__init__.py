"""The REST API: one router per resource, mounted under ``/api/v1`` by ``daypulse.app.create_app``.

``deps`` holds what the routes depend on (who is asking, the project, shared checks) and
``problems`` how every error is answered (RFC 9457 problem details).
"""

from daypulse.api import (
    alerts,
    audit,
    churn,
    cohorts,
    config,
    deliveries,
    health,
    manual,
    metrics,
    reports,
    runs,
    subscriptions,
    templates,
)
from daypulse.api.problems import document_unreadable_bodies

# In the order the OpenAPI document lists them.
V1_ROUTERS = (metrics.router, subscriptions.router, deliveries.router, audit.router, runs.router, manual.router,
              alerts.router, churn.router, cohorts.router, config.router, reports.router, templates.router)
HEALTH_ROUTER = health.router
for _router in V1_ROUTERS:
    document_unreadable_bodies(_router.routes)

__all__ = ["HEALTH_ROUTER", "V1_ROUTERS"]
