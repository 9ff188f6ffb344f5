"""A report's churn risk block (``churn:`` in a report definition): customers by level on the
period's last scored day against the last one before the period, the customers newly critical
(with their top reason), and the alerts opened, cleared and resolved by hand in the period. It
is made of the report model's breakdown tables, so every renderer shows it as it shows any."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from daypulse.churn.config import churn_config
from daypulse.churn.listing import reason
from daypulse.churn.population import scored_population
from daypulse.report.model import Breakdown, BreakdownRow, Section
from daypulse.scopes import within
from daypulse.store import churn as stored

LEVELS = ("critical", "high", "medium", "low")


def churn_section(project, store, block, start, end, filter: dict[str, str]) -> tuple[Section | None, list[str]]:
    """(the section, notes) of the period [start, end]; ``filter`` the report's dimension values."""
    if not project.churn:
        return None, ["Churn risk is not set up for this project (no churn: section), left out."]
    kept = scored_population(project, churn_config(project)).dimensions
    if other := sorted(set(filter) - set(kept)):
        return None, [f"Churn risk is not kept by {', '.join(other)}, left out (its dimensions:"
                      f" {', '.join(kept) or 'none'})."]
    last = stored.latest_scored(store, end + timedelta(days=1), since=start)
    if last is None:
        return None, [f"Churn risk: nobody was scored from {start} to {end} (run `daypulse churn`)."]
    before = stored.latest_scored(store, start)
    now = stored.scores_on(store, last, None, filter)
    then = stored.scores_on(store, before, None, filter) if before else []
    had = {lv: sum(r.level == lv for r in then) for lv in LEVELS}
    levels = Breakdown(
        title=f"Customers by churn risk on {last}" + (f" (change since {before})" if before else ""),
        dimension="level", columns=["Customers"], fmts=["integer"],
        rows=[BreakdownRow(lv, [n], n - had[lv] if before else None)
              for lv in LEVELS if (n := sum(r.level == lv for r in now)) or had[lv]],
        total=[len(now)])
    critical_then = {r.entity: r.score for r in then if r.level == "critical"}
    scores_then = {r.entity: r.score for r in then}
    fresh = [r for r in now if r.level == "critical" and r.entity not in critical_then]
    tables = [levels]
    if fresh and block.top:
        tables.append(Breakdown(
            title=f"Newly critical ({len(fresh)})", dimension="customer", columns=["Score"], fmts=["number"],
            rows=[BreakdownRow(_who(r) + " — " + _top_reason(r.signals), [r.score],
                               round(r.score - scores_then[r.entity], 1) if r.entity in scores_then else None,
                               key=r.entity)
                  for r in fresh[:block.top]],
            total=[len(fresh)]))
    zone = ZoneInfo(project.timezone)
    # The period's instants in UTC: the store compares them as written (SQLite keeps no offset).
    since = datetime.combine(start, datetime.min.time(), zone).astimezone(UTC)
    until = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    counts: dict[str, dict[str, int]] = {}
    for what, typ, dims, n in stored.alert_activity(store, start, end, since, until):
        if within(dims, filter):
            counts.setdefault(typ, {"opened": 0, "cleared": 0, "resolved": 0})[what] += n
    if counts:
        tables.append(Breakdown(
            title="Churn alerts in the period", dimension="alert", columns=["Opened", "Cleared", "Resolved by hand"],
            fmts=["integer"] * 3,
            rows=[BreakdownRow(t.replace("_", " "), [c["opened"], c["cleared"], c["resolved"]], None, key=t)
                  for t, c in sorted(counts.items(), key=lambda kv: -kv[1]["opened"])],
            total=[sum(c[w] for c in counts.values()) for w in ("opened", "cleared", "resolved")]))
    return Section(block.title, [], tables), []


def _top_reason(signals: dict) -> str:
    """The signal that gives the score the most points, in words ("inactive 13 days")."""
    ranked = sorted(((-s["points"], name) for name, s in signals.items() if s["points"] > 0))
    return reason(ranked[0][1], signals[ranked[0][1]]["value"]) if ranked else "no warning sign"


def _who(r) -> str:
    return r.entity + (f" ({', '.join(str(v) for v in r.dims.values())})" if r.dims else "")
