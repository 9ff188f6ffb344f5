"""Which subscriptions a tenant-scoped token may see (the API and the dashboard ask the same)."""

from __future__ import annotations

from daypulse.delivery.runner import load_subscriptions


def visible_subscriptions(project, store, scope: dict[str, str] | None) -> dict[str, dict]:
    """Subscriptions by name that a token of ``scope`` may see: all, or (scoped) those narrowed to
    its scope, as the API and the dashboard list them."""

    out = {}
    for s in load_subscriptions(project, store):
        flt = dict(s.spec.filter) if s.spec else {}
        if scope and any(flt.get(k) != v for k, v in scope.items()):
            continue
        spec = s.spec
        out[s.name] = {"id": s.id, "name": s.name, "source": s.source, "active": s.active,
                       "report": spec.report if spec else None,
                       "schedule": spec.schedule.describe() if spec else None,
                       "timezone": spec.timezone if spec else None, "channel": spec.channel if spec else None,
                       "filter": flt, "problem": s.problem or s.note}
    return out
