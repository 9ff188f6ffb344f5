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
    resolved (by a person, with the ``action_taken``)."""
    state = "resolved" if a.resolved_at else "cleared" if a.cleared else "open"
    return {"id": a.id, "entity": a.entity, "type": a.type, "state": state, "severity": a.severity,
            "opened": a.opened.isoformat(), "cleared": a.cleared.isoformat() if a.cleared else None,
            "reason": a.reason, "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
            "resolved_by": a.resolved_by, "action_taken": a.action, "dimensions": a.dims, "snapshot": a.snapshot}


def reasons(signals: dict, top: int = 3) -> str:
    """The signals that give a score the most points, in words a customer-success person reads:
    "inactive 9 days (16.1 pts); logins 4 → 1 (11.2 pts)"."""
    ranked = sorted(((s["points"], name, s["value"]) for name, s in signals.items() if s["points"] > 0),
                    key=lambda x: (-x[0], x[1]))[:top]
    return "; ".join(f"{reason(name, v)} ({p:.1f} pts)" for p, name, v in ranked) or "—"


def reason(signal: str, v: Any) -> str:
    """One signal's value in words."""
    if signal == "inactivity":
        return f"inactive {v} day{'s' if v != 1 else ''}"
    if signal == "engagement_decay":
        return f"active {v['last']} of the last 7 days (usually {_number(v['baseline'])})"
    if signal in ("login_decay", "progress_stall"):
        what = "logins" if signal == "login_decay" else "progress"
        return f"{what} {v['previous']} → {v['last']} a week"
    if signal == "frustration":
        return f"frustration {_number(v)} of 100"
    if signal == "payment_issue":
        return "a payment failing" if v else "payments fine"
    return f"{signal} {value_text(v)}"


def _number(x: Any) -> str:
    return "—" if x is None else f"{x:g}" if isinstance(x, float) else str(x)


def value_text(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {x}" for k, x in v.items())
    if isinstance(v, bool):
        return "yes" if v else "no"
    return "—" if v is None else str(v)
