"""What daypulse says about a change, on hand-built numbers: which period a value is compared
with (a month-to-date value with the same day last month), when a % is shown, when a move is
news (coloured) and when it is noise, and drivers whose shares add up."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from daypulse import judgement as J
from daypulse.calendar import Calendar
from daypulse.report import format as F
from daypulse.values import Delta

CAL = Calendar("Asia/Kolkata")
MTD = SimpleNamespace(kind="cumulative", reset="month")
YTD = SimpleNamespace(kind="cumulative", reset="year")
WTD = SimpleNamespace(kind="cumulative", reset="week")
COUNT = SimpleNamespace(kind="event")


# -- the base: the same point of the previous period for a period-to-date value -------------------

@pytest.mark.parametrize("day, base", [
    (date(2026, 12, 1), date(2026, 11, 1)),    # the 1st: never the whole of November (30 Nov)
    (date(2026, 12, 15), date(2026, 11, 15)),
    (date(2026, 12, 31), date(2026, 11, 30)),  # clamped to November's 30 days
    (date(2026, 3, 31), date(2026, 2, 28)),    # and to a 28-day February
    (date(2026, 3, 28), date(2026, 2, 28)),
    (date(2028, 3, 31), date(2028, 2, 29)),    # a leap year's February
    (date(2026, 1, 31), date(2025, 12, 31)),   # across a year
    (date(2026, 2, 28), date(2026, 1, 28)),    # February's last day is its 28th: January's 28th
])
def test_a_month_to_date_value_is_compared_with_the_same_day_last_month(day, base):
    reset = J.to_date_reset(MTD, "day")
    assert reset == "month"
    assert J.base_start(CAL, "previous", "day", day, reset) == base
    assert J.base_label("previous", "day", reset) == "vs the same day last month"


def test_other_period_to_date_values_and_what_is_not_one():
    assert J.base_start(CAL, "previous", "day", date(2026, 3, 1), J.to_date_reset(YTD, "day")) == date(2025, 3, 1)
    assert J.base_label("previous", "day", "year") == "vs the same day last year"
    wednesday = date(2026, 3, 4)
    assert J.base_start(CAL, "previous", "day", wednesday, J.to_date_reset(WTD, "day")) == date(2026, 2, 25)
    # A month-to-date value read by month is the whole month: compared with the month before.
    assert J.to_date_reset(MTD, "month") is None and J.to_date_reset(COUNT, "day") is None
    assert J.base_start(CAL, "previous", "day", date(2026, 12, 1), None) == date(2026, 11, 30)
    assert J.base_label("previous", "day") == "vs the day before"
    # A week of a month-to-date value has no "same point" a week before: no comparison.
    assert J.base_start(CAL, "previous", "week", date(2026, 11, 30), J.to_date_reset(MTD, "week")) is None
    # The noise of a month-to-date value: the same day of the earlier months.
    # ... each found from the day itself: one short month does not pull the earlier ones to the 28th.
    assert J.history_starts(CAL, "day", date(2026, 3, 31), 3, "month") == [
        date(2026, 2, 28), date(2026, 1, 31), date(2025, 12, 31)]
    assert J.history_starts(CAL, "day", date(2026, 5, 31), 3, "month") == [
        date(2026, 4, 30), date(2026, 3, 31), date(2026, 2, 28)]
    # Year- and quarter-to-date: the same calendar day (clamped), not a count of days.
    assert J.base_start(CAL, "previous", "day", date(2024, 3, 1), "year") == date(2023, 3, 1)
    assert J.base_start(CAL, "previous", "day", date(2024, 2, 29), "year") == date(2023, 2, 28)
    assert J.base_start(CAL, "previous", "day", date(2026, 3, 31), "quarter") == date(2025, 12, 31)
    assert J.base_start(CAL, "previous", "day", date(2026, 5, 31), "quarter") == date(2026, 2, 28)
    # A week of a month-to-date value: no comparison, and no label claiming one.
    assert J.base_label("previous", "week", "month") == "vs the week before"
    assert J.history_starts(CAL, "day", date(2026, 3, 6), 2) == [date(2026, 2, 27), date(2026, 2, 20)]


QTD = SimpleNamespace(kind="cumulative", reset="quarter")


def test_a_quarter_to_date_value_is_compared_with_the_same_point_last_quarter():
    # By day: the same day of the quarter's month three months before (clamped).
    assert J.base_start(CAL, "previous", "day", date(2026, 2, 15), J.to_date_reset(QTD, "day")) == date(2025, 11, 15)
    assert J.base_label("previous", "day", "quarter") == "vs the same day last quarter"
    # By month: the same month of the quarter before (its value at that month's end), never the
    # month before (the whole of the previous quarter on the 1st month of a quarter).
    reset = J.to_date_reset(QTD, "month")
    assert reset == "quarter"
    assert J.base_start(CAL, "previous", "month", date(2026, 2, 1), reset) == date(2025, 11, 1)
    assert J.base_start(CAL, "previous", "month", date(2026, 1, 1), reset) == date(2025, 10, 1)
    assert J.base_label("previous", "month", reset) == "vs the same month last quarter"
    assert J.history_starts(CAL, "month", date(2026, 2, 1), 3, reset) == [
        date(2025, 11, 1), date(2025, 8, 1), date(2025, 5, 1)]
    plan = J.plan(CAL, "previous", "month", QTD, date(2026, 2, 1), 2)
    assert (plan.base, plan.label) == (date(2025, 11, 1), "vs the same month last quarter")
    assert plan.past == [(date(2025, 11, 1), date(2025, 8, 1)), (date(2025, 8, 1), date(2025, 5, 1))]
    # A year-to-date value by month or by quarter: the same month or quarter last year.
    assert J.base_start(CAL, "previous", "month", date(2026, 2, 1), "year") == date(2025, 2, 1)
    ytd = J.to_date_reset(YTD, "quarter")
    assert J.base_start(CAL, "previous", "quarter", date(2026, 4, 1), ytd) == date(2025, 4, 1)
    assert J.base_label("previous", "quarter", ytd) == "vs the same quarter last year"
    # A quarter of a quarter-to-date value is the whole quarter: the quarter before.
    assert J.to_date_reset(QTD, "quarter") is None
    assert J.base_start(CAL, "previous", "quarter", date(2026, 4, 1), None) == date(2026, 1, 1)
    assert J.base_label("previous", "quarter") == "vs the quarter before"
    # A week of a quarter-to-date value still has no same point.
    assert J.base_start(CAL, "previous", "week", date(2026, 2, 2), J.to_date_reset(QTD, "week")) is None


# -- percentages only where they mean something -------------------------------------------------------

@pytest.mark.parametrize("value, base, fmt, pct, shown", [
    (112, 100, "integer", 0.12, "+12.0%"),
    (5, 0, "integer", None, ""),             # from zero: no %
    (-30, -10, "currency", None, ""),        # a negative base
    (-300, 500, "currency", None, ""),       # the sign changes (net new MRR crossing zero)
    (800, -100, "currency", None, ""),
    (0.31, 0.30, "percent", None, ""),       # a rate: its change is in points
    (10_001, 10_000, "integer", None, ""),   # +0.01% shows as 0.0%: left out
    (0, 40, "integer", -1.0, "−100.0%"),     # to zero is a real fall
])
def test_a_percent_only_where_it_is_meaningful(value, base, fmt, pct, shown):
    d = Delta.between(value, base, "up", fmt=fmt)
    assert d.pct == (pytest.approx(pct) if pct is not None else None)
    assert F.pct(d.pct) == shown


@pytest.mark.parametrize("change, fmt, shown", [
    (0, "integer", "no change"), (0.4, "integer", "no change"), (0.5, "integer", "no change"),
    (0.00004, "percent", "no change"), (0.0003, "percent", "no change"),
    (-0.0004, "percent", "no change"), (0.3, "currency", "no change"), (-0.004, "number", "no change"),
    (0.012, "percent", "+1.2 pp"), (-0.002, "percent", "−0.2 pp"), (-150, "currency", "−$1.50"), (3, "integer", "+3"),
])
def test_a_change_that_shows_as_zero_is_no_change(change, fmt, shown):
    assert F.change(change, fmt) == shown
    if shown == "no change":
        assert Delta.between(change, 0, "up", fmt=fmt).verdict == "flat"
        assert F.arrow(change, "flat", fmt) == "•"  # "• no change", never "▲ no change"


# -- colour only for news -------------------------------------------------------------------------------

def test_a_move_within_the_metrics_own_range_is_neutral():
    mondays = [-5, 5, 0, -3, 3]  # Monday against Sunday, in earlier weeks: median 0, MAD 3
    assert J.scale(mondays, "integer") == pytest.approx(1.4826 * 3.0)
    assert J.judge(104, 100, "up", "integer", mondays).verdict == "flat"   # +4: within the noise
    assert J.judge(120, 100, "up", "integer", mondays).verdict == "good"   # +20: news
    assert J.judge(80, 100, "up", "integer", mondays).verdict == "bad"
    assert J.judge(80, 100, "down", "integer", mondays).verdict == "good"  # fewer failed payments


def test_a_weekly_pattern_is_not_news():
    saturdays = [-50, -48, -52, -49, -51, -50]  # every Saturday falls about 50 from its Friday
    assert J.judge(50, 100, "up", "integer", saturdays).verdict == "flat"    # the usual weekend
    assert J.judge(20, 100, "up", "integer", saturdays).verdict == "bad"     # a fall far beyond it
    # A smaller fall than usual is not a rise: the number still fell, so no green on a ▼.
    assert J.judge(90, 100, "up", "integer", saturdays).verdict == "flat"


@pytest.mark.parametrize("fmt, moves, value, base, verdict", [
    ("integer", [0] * 8, 101, 100, "good"),                 # a steady count: one more is news (the floor: 1)
    ("currency", [0] * 8, 10_050, 10_000, "flat"),          # 50 cents: below the $1 floor
    ("currency", [0] * 8, 10_100, 10_000, "good"),
    ("percent", [0.0] * 8, 0.304, 0.30, "flat"),            # 0.4 pp: below the 0.5 pp floor
    ("percent", [0.0] * 8, 0.306, 0.30, "good"),
    ("integer", [], 101, 100, "good"),                      # no history: the floor alone
    ("number", [0.0] * 8, 7.2, 7.0, "flat"),
])
def test_the_noise_floor_per_format(fmt, moves, value, base, verdict):
    assert J.judge(value, base, "up", fmt, moves).verdict == verdict


def test_a_quantity_that_swings_below_zero_gets_no_percent():
    net_new = [-35_800, 18_800, 6_600, -2_000, 5_100]  # net new MRR in cents, on earlier days
    d = J.judge(42_700, 5_100, "up", "currency", [], net_new)
    assert d.pct is None and d.change == 37_600 and F.change(d.change, "currency") == "+$376.00"
    assert J.judge(42_700, 5_100, "up", "currency", [], [5_000] * 5).pct == pytest.approx(37_600 / 5_100)


def test_drivers_only_for_totals_that_are_the_sum_of_their_parts():
    from daypulse.report.whatchanged import _adds_up

    metrics = {"signups": SimpleNamespace(kind="event", measure="count", format="integer"),
               "users": SimpleNamespace(kind="event", measure="count_distinct", format="integer"),
               "length": SimpleNamespace(kind="event", measure="avg", format="duration"),
               "rate": SimpleNamespace(kind="ratio", format="percent"),
               "signups_mtd": SimpleNamespace(kind="cumulative", of="signups", format="integer"),
               "users_mtd": SimpleNamespace(kind="cumulative", of="users", format="integer")}
    project = SimpleNamespace(metrics=metrics)
    assert {n for n, m in metrics.items() if _adds_up(project, m)} == {"signups", "signups_mtd"}


def test_a_missing_value_has_no_verdict():
    assert J.judge(None, 5, "up", "integer", [0] * 8).verdict == "none"
    assert J.judge(5, None, "up", "integer", [0] * 8).pct is None


def test_a_plan_reads_each_earlier_period_against_its_own_base():
    p = J.plan(CAL, "previous", "day", COUNT, date(2026, 3, 7), n=3)  # a Saturday
    assert p.base == date(2026, 3, 6) and p.label == "vs the day before"
    assert p.past == [(date(2026, 2, 28), date(2026, 2, 27)), (date(2026, 2, 21), date(2026, 2, 20)),
                      (date(2026, 2, 14), date(2026, 2, 13))]
    week = {date(2026, 3, 6): 100, date(2026, 3, 7): 50}  # Fridays 100, Saturdays 50, every week
    week.update({d: 100 if d.weekday() == 4 else 50 for pair in p.past for d in pair})
    assert p.judge(week.get, "up", "integer").verdict == "flat"  # the usual Saturday
    mtd = J.plan(CAL, "previous", "day", MTD, date(2026, 3, 31), n=2)
    assert (mtd.base, mtd.label) == (date(2026, 2, 28), "vs the same day last month")
    assert mtd.past == [(date(2026, 2, 28), date(2026, 1, 28)), (date(2026, 1, 31), date(2025, 12, 31))]
    assert J.plan(CAL, "previous", "week", MTD, date(2026, 3, 2)).label == ""  # no base, no claim


# -- drivers that add up ---------------------------------------------------------------------------------

def test_drivers_name_what_moved_the_other_way_and_their_shares_sum_to_100():
    before = {"acme": 2, "piedpiper": 1, "umbrella": 1, "globex": 6, "initech": 3}
    now = {"acme": 5, "piedpiper": 3, "umbrella": 3, "globex": 2, "initech": 3}  # +3 +2 +2 −4: total +3
    found = J.drivers(now, before, top=3)
    assert [(v, d) for v, d, _ in found.parts] == [("acme", 3), ("piedpiper", 2), ("umbrella", 2)]
    assert found.offsets == [("globex", -4)] and found.others is None
    shares = J.whole_percents([s for *_, s in found.parts])
    assert shares == [43, 29, 28] and sum(shares) == 100
    top2 = J.drivers(now, before, top=2)
    assert top2.others == (2, pytest.approx(2 / 7))
    assert sum(J.whole_percents([s for *_, s in top2.parts] + [top2.others[1]])) == 100
    assert J.drivers({"a": 1}, {"a": 1}, top=3) is None  # nothing moved
