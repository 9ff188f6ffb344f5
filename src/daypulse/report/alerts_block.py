"""A report's alerts block (``alerts:`` in a report definition): the metric alert events that
were open during the report's period -- opened in it, or open when it began -- with what they
said, in words, and how many periods each has been open. Made of the report model's breakdown
table, so every renderer shows it as it shows any."""

from __future__ import annotations

from daypulse.alerts.metric_alerts import all_rules
from daypulse.report import format as F
from daypulse.report.model import Breakdown, BreakdownRow, Section
from daypulse.scopes import within
from daypulse.store import alert_events as events


def alerts_section(project, store, block, start, end, filter: dict[str, str]) -> tuple[Section | None, list[str]]:
    rules = {r.name: r for r in all_rules(project, store)}
    rows = []
    cal = project.calendar
    for r in events.events(store, open_during=(start, end)):
        if not within(r.dims, filter):
            continue
        m = project.metrics.get(r.metric)
        fmt = m.format if m else "number"
        rule = rules.get(r.rule)
        kind = rule.kind if rule else "threshold"
        said = (f"{F.value(r.value, fmt)}, unusual (z {r.limit:g})" if kind == "anomaly" and r.limit is not None
                else f"{F.value(r.value, fmt)} against {F.limit(r.limit, fmt)}")
        where = "".join(f" · {k} {v}" for k, v in r.dims.items())
        state = events.state(r) + (f" on {r.resolved_period}" if r.resolved_period else "") \
            + (f": {r.ack_note}" if r.ack_note else "")
        label = f"{r.rule} ({r.severity}): {(m.label if m and m.label else r.metric)}{where} {said}," \
                f" since {r.period} — {state}"
        until = r.resolved_period or cal.next_period_start(r.grain, end)
        periods = len(cal.periods(r.grain, r.period, until)) - (1 if until > end or r.resolved_period else 0)
        rows.append(BreakdownRow(label, [max(periods, 1)], None, key=str(r.id)))
    if not rows:
        return None, ["No metric alert was open in this period."] if block.say_none else []
    table = Breakdown(title=f"Alerts open in the period ({len(rows)})", dimension="alert",
                      columns=["Periods open"], fmts=["integer"], rows=rows[:block.top], total=[len(rows)])
    return Section(block.title, [], [table]), []
