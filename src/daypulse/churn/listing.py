"""What the churn commands, the API and the dashboard show of the stored scores and alerts: the
DESIGN §8 export record, an alert as JSON, and a score's top reasons in words."""

from __future__ import annotations

from typing import Any


def record(r) -> dict:
    """DESIGN §8's export record of a stored score (``store.churn`` row)."""
    return {"entity": r.entity, "day": r.day.isoformat(), "score": r.score, "level": r.level,
            "dimensions": r.dims, "signals": r.signals}


def alert_record(a) -> dict:
    """A stored alert: ``state`` is open, cleared (the condition went away, ``reason``) or
    resolved (by a person, with the ``action`` taken)."""
    state = "resolved" if a.resolved_at else "cleared" if a.cleared else "open"
    return {"id": a.id, "entity": a.entity, "type": a.type, "state": state, "severity": a.severity,
            "opened": a.opened.isoformat(), "cleared": a.cleared.isoformat() if a.cleared else None,
            "reason": a.reason, "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
            "resolved_by": a.resolved_by, "action": a.action, "dimensions": a.dims, "snapshot": a.snapshot}


def reasons(signals: dict, top: int = 3) -> str:
    """The signals that weigh most in a score, in words: "inactivity 9 (16.1)"."""
    ranked = sorted(((s["points"], name, s["value"]) for name, s in signals.items() if s["points"] > 0),
                    reverse=True)[:top]
    return "; ".join(f"{name} {value_text(v)} ({p:.1f})" for p, name, v in ranked) or "—"


def value_text(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {x}" for k, x in v.items())
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "—" if v is None else str(v)


def within(dims: dict | None, want: dict[str, str]) -> bool:
    """Whether stored dimension values hold every wanted one (a scope, a filter)."""
    return all(str((dims or {}).get(k)) == v for k, v in want.items())
