"""A fixed report content for renderer tests (snapshots): hand-made, no store involved."""

from __future__ import annotations

from datetime import UTC, date, datetime

from daypulse.report.model import Breakdown, BreakdownRow, Change, ChartImage, Comparison, Line, Report, Section


def delta(key, label, base, change, pct, verdict) -> Comparison:
    return Comparison(key, label, base, change, pct, verdict)


def sample_report(charts: list[ChartImage] | None = None, sections: int = 2) -> Report:
    """A daily report for Friday 2026-03-06, Asia/Kolkata, with two sections, a breakdown,
    three changes and the given charts. ``sections`` > 2 repeats the second one (limit tests)."""
    growth = Section("Growth", [
        Line("signups", "New signups", "Accounts created during the day.", "count of users created",
             "integer", "up", 120,
             [delta("previous", "vs day before", 100, 20, 0.2, "good"),
              delta("same_weekday", "vs same weekday last week", 150, -30, -0.2, "bad")],
             [90, 95, 100, 110, 98, 102, 97, 101, 99, 105, 100, 111, 100, 120]),
        Line("mrr", "MRR", "Monthly recurring revenue at the end of the day.", "sum of MRR",
             "currency", "up", 3538600,
             [delta("previous", "vs day before", 3519800, 18800, 0.00534, "good"),
              delta("same_weekday", "vs same weekday last week", 3344800, 193800, 0.0579, "good")],
             [3344800, 3400000, 3519800, 3538600]),
        Line("customer_churn_rate", "Customer churn rate", "Share of starting customers who left.",
             "churned ÷ starting customers", "percent", "down", 0.004,
             [delta("previous", "vs day before", 0.0, 0.004, None, "bad"),
              delta("same_weekday", "vs same weekday last week", None, None, None, "none")],
             [0.0, 0.002, None, 0.004], anomaly="Unusually high for a Friday (usual 0.0%–0.1%)."),
    ])
    calls = Section("Calls", [
        Line("calls", "Calls", "Calls made.", "count of calls", "integer", "up", 65,
             [delta("previous", "vs day before", 82, -17, -0.207, "bad"),
              delta("same_weekday", "vs same weekday last week", 93, -28, -0.301, "bad")],
             [80, 82, 65]),
        Line("avg_call_duration", "Average call length", "Average length of completed calls.",
             "average duration", "duration", "up", 265.4,
             [delta("previous", "vs day before", 340.0, -74.6, -0.219, "bad")], [300, 340, 265.4]),
    ], [Breakdown("Staff leaderboard", "staff", ["Calls", "Call success rate"], ["integer", "percent"],
                  [BreakdownRow("asha", [20, 0.30], 4), BreakdownRow("ben", [15, 0.2], -6),
                   BreakdownRow("carmen <b>", [12, None], 0)],
                  [47, 0.25])])
    more = [Section(f"{calls.title} {i}", calls.lines, calls.breakdowns) for i in range(3, sections + 1)]
    return Report(
        name="daily", title="Daily pulse", project="Capturely (demo)", timezone="Asia/Kolkata",
        grain="day", start=date(2026, 3, 6), end=date(2026, 3, 6),
        period_label="Friday 6 March 2026", generated_at=datetime(2026, 3, 7, 0, 1, tzinfo=UTC),
        filter={}, sections=[growth, calls, *more],
        changes=[
            Change("move", "signups", "New signups", "New signups rose 20.0% to 120 (vs 100 the day before).",
                   "good", 0.2, ["acme +12 (60% of the rise)", "globex +5 (25%)"]),
            Change("move", "calls", "Calls", "Calls fell 20.7% to 65 (vs 82 the day before).", "bad", 0.207,
                   ["dev −10", "elif −7"]),
            Change("anomaly", "customer_churn_rate", "Customer churn rate",
                   "Customer churn rate 0.4% is unusually high for a Friday (usual 0.0%–0.1%).", "bad", 5.2),
        ],
        charts=charts or [], notes=[], has_data=True)
