"""Worked examples: the built-in packs on tiny hand-built companies, checked against numbers
worked out BY HAND from the definitions (the packs' formulas, docs/semantics.md) — never
produced by running daypulse — on DuckDB, SQLite, PostgreSQL and PySpark alike.

The stories (who does what, when, in UTC and in New York time) are in ``tests/worked/``; the
comments here say how each non-obvious number follows from them. Conventions:

* a state metric (MRR, paying customers...) is the value when the local day ends; a week or
  month takes the value of its last day;
* a movement compares a customer's MRR at the end of day D-1 and of day D; a week's or month's
  movement is the sum of its days'; ``cohort_*`` keeps only customers paying when the period
  began (at the end of the day before it);
* ``None`` is an empty value (a ratio or a division by 0).

Counts and sums must come back as exact integers; ratios are compared with pytest.approx.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from worked import LOCAL_CLAIMS, ZONE
from worked import product_story as product
from worked import saas_story as saas
from worked import sales_story as sales
from worked.load import BACKENDS, Loader

N = None  # an empty value

BACKEND_PARAMS = [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b for b in BACKENDS]


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("worked"))
    yield ld
    ld.close()


def _compute(story, backend, loader, tmp_path, start, end, grains, as_of, metrics=None):
    from daypulse.engine import compute_values
    from daypulse.project import project_from_dict

    url, tables = loader.get(backend, story.STORY)
    project = project_from_dict(story.project(url, tables, f"sqlite:///{tmp_path}/store.db"))
    values = compute_values(project, start, end, metrics=metrics, grains=grains, as_of=as_of)
    return project, values


def test_story_timestamps_are_the_local_times_the_stories_say():
    """Every timestamp of the stories is at the New York wall time written next to it (zoneinfo,
    not daypulse): the hand reasoning below starts from these local times."""
    tz = ZoneInfo(ZONE)
    wrong = []
    for ts, claim in LOCAL_CLAIMS:
        wall, abbr = claim.rsplit(" ", 1)
        local = ts.replace(tzinfo=UTC).astimezone(tz)
        fmt = "%Y-%m-%d %H:%M" + (":%S" if wall.count(":") == 2 else "") + (".%f" if "." in wall else "")
        if local.strftime(fmt) != wall or local.tzname() != abbr:
            wrong.append(f"{ts} is {local} {local.tzname()}, not {claim}")
    assert len(LOCAL_CLAIMS) > 100
    assert not wrong, "\n".join(wrong)


# -- comparing -----------------------------------------------------------------------------------

def _same(want, got) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if isinstance(got, bool):
        return False
    if isinstance(want, float):
        return isinstance(got, (int, float, Decimal)) and float(got) == pytest.approx(want, rel=1e-9, abs=1e-12)
    if isinstance(got, Decimal):  # exact and integral (a float would export as 12.0)
        return got == want and got == got.to_integral_value()
    return isinstance(got, int) and got == want


def _series(grain: str, periods: list[date], table: dict[str, list]) -> dict:
    """{metric: [value per period]} -> {(metric, grain, period): value}."""
    out = {}
    for metric, row in table.items():
        assert len(row) == len(periods), f"{metric}: {len(row)} values for {len(periods)} periods"
        for period, value in zip(periods, row):
            out[(metric, grain, period)] = value
    return out


def _check(values, totals: dict, dims: dict, no_dims: tuple = ()) -> None:
    """``totals``: {(metric, grain, period): value} — exactly these total rows for those metrics
    and grains, no more; ``dims``: {(metric, grain, period, dim, value): value}; ``no_dims``:
    metrics that must have no dimension rows at all."""
    got, problems = {}, []
    for v in values:
        key = (v.metric, v.grain, v.period_start, tuple(tuple(p) for p in v.dims))
        if key in got:
            problems.append(f"duplicate {key}: {got[key]!r} and {v.value!r}")
        got[key] = v.value

    def show(metric, grain, period, dims=()):
        return f"{metric:28} {grain:5} {period} [{','.join(f'{k}={x}' for k, x in dims) or 'total'}]"

    for (metric, grain, period), want in totals.items():
        key = (metric, grain, period, ())
        if key not in got:
            problems.append(f"missing {show(*key)}: expected {want!r}")
        elif not _same(want, got[key]):
            problems.append(f"wrong   {show(*key)}: expected {want!r}, got {got[key]!r}")
    checked = {(m, g) for m, g, _ in totals}
    for (metric, grain, period, d) in got:
        if not d and (metric, grain) in checked and (metric, grain, period) not in totals:
            problems.append(f"extra   {show(metric, grain, period)}: got {got[(metric, grain, period, d)]!r}")
        if d and metric in no_dims:
            problems.append(f"extra   {show(metric, grain, period, d)}: this metric has no dimensions here")
    for (metric, grain, period, dim, dim_value), want in dims.items():
        key = (metric, grain, period, ((dim, dim_value),))
        if key not in got:
            problems.append(f"missing {show(*key)}: expected {want!r}")
        elif not _same(want, got[key]):
            problems.append(f"wrong   {show(*key)}: expected {want!r}, got {got[key]!r}")
    assert not problems, f"{len(problems)} differences from the worked numbers:\n" + "\n".join(problems)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ================================================================================================
# saas: the company of tests/worked/saas_story.py
# ================================================================================================
# End of day D (UTC): D+1 05:00 up to 03-07 (EST), D+1 04:00 from 03-08 (EDT).
#
# Each customer's MRR at the end of each day (trials excluded, sum over open periods):
#   u1   4900 from 01-10; 9900 from 03-09 (upgrade at 00:30 EDT; the 19900 stretch on 03-12
#        ends at 14:00, so 03-12 ends at 9900 as it began: no movement)
#   u2   9900 from 01-20; 4900 from 03-03 (downgrade at 23:59:59 EST); 0 from 04-15
#   u3   2900 from 02-02 (past due from 03-03, still counted); 0 from 03-05 (its period ends at
#        exactly the end of 03-04, so it is open then); 4900 from 03-12 (starts 23:30 EDT)
#   u4   8250 from 02-14 (annual 99000 / 12)
#   u5   0 while trialing; 2900 from 03-08 (converts 23:30 EDT, before 03-08 ends at 04:00 UTC);
#        4900 from 03-11
#   u6   4900 from 02-01; 6400 from 03-04 (add-on starts at exactly the end of 03-03, so it is
#        not open then); 4900 from 04-10
#   u9   1900 from 04-20
#   u12  1900 from 01-12; 0 from 02-20; 1900 from 03-10
#   u7 (trial only), u11 (free plan) are always 0.
# MRR at the end of 02-28 = 4900 + 9900 + 2900 + 8250 + 4900 = 30850 (u1 u2 u3 u4 u6), 5 payers.
#
# Movements, day by day:
#   01-10 new u1 4900, 01-12 new u12 1900, 01-20 new u2 9900,
#   02-01 new u6 4900, 02-02 new u3 2900, 02-14 new u4 8250, 02-20 churn u12 1900,
#   03-03 contraction u2 5000, 03-04 expansion u6 1500, 03-05 churn u3 2900, 03-08 new u5 2900,
#   03-09 expansion u1 5000, 03-10 reactivation u12 1900 (paid in January: not new),
#   03-11 expansion u5 2000, 03-12 reactivation u3 4900,
#   04-10 contraction u6 1500, 04-15 churn u2 4900, 04-20 new u9 1900.

SAAS_DAYS = _days(date(2026, 3, 1), date(2026, 3, 14))
# Each list: Mar 1-7 on the first line, Mar 8 (the 23-hour DST day) - 14 on the second.
SAAS_DAY = {
    # signups: 03-02 u5 and u7 (23:30 EST, although 03-03 in UTC); 03-03 only u8, a test account;
    # 03-08 u11 (01:30 EST); 03-09 u10 (00:15 EDT = 04:15 UTC, which a UTC-5 clock puts on 03-08)
    "signups": [0, 2, 0, 0, 0, 0, 0,
                1, 1, 0, 0, 0, 0, 0],
    "signups_mtd": [0, 2, 2, 2, 2, 2, 2,
                    3, 4, 4, 4, 4, 4, 4],
    # s5 (u5 trial) 03-02, s8 (u7 trial) 03-03, s7 (u6 add-on, at 00:00 EST) 03-04, s11 (u11 free)
    # 03-08, s13 (u12) 03-10, s9 (u3 again, 23:30 EDT) 03-12
    "subscriptions_created": [0, 1, 1, 1, 0, 0, 0,
                              1, 0, 1, 0, 1, 0, 0],
    "subscriptions_created_mtd": [0, 1, 2, 3, 3, 3, 3,
                                  4, 4, 5, 5, 6, 6, 6],
    # s3 ends at 03-05 00:00 EST (a 03-05 event), u7's unpaid trial s8 ends 03-10
    "subscriptions_cancelled": [0, 0, 0, 0, 1, 0, 0,
                                0, 0, 1, 0, 0, 0, 0],
    # open at 03-01: s1 s2 s3 s4 s6 = 5; +s5 (03-02) +s8 (03-03) +s7 (03-04); s3 is still open at
    # the end of 03-04 (it ends at that very instant) and gone at the end of 03-05; +s11 (03-08);
    # 03-10: s8 ends, s13 starts; +s9 (03-12)
    "active_subscriptions": [5, 6, 7, 8, 7, 7, 7,
                             8, 8, 8, 8, 9, 9, 9],
    # distinct customers: as above, but s7 is u6's second subscription (03-04 stays 7)
    "active_subscribers": [5, 6, 7, 7, 6, 6, 6,
                           7, 7, 7, 7, 8, 8, 8],
    # u5's trial open at the end of 03-02..03-07 (it ends 03-09 03:30 UTC, before 03-08 ends at
    # 04:00 UTC); u7's open at the end of 03-03..03-09
    "trials": [0, 1, 2, 2, 2, 2, 2,
               1, 1, 0, 0, 0, 0, 0],
    # u3's past-due period: from 03-03 11:00 EST to exactly the end of 03-04
    "past_due_subscriptions": [0, 0, 1, 1, 0, 0, 0,
                               0, 0, 0, 0, 0, 0, 0],
    # 30850; -5000 (u2) = 25850; +1500 (u6) = 27350; -2900 (u3) = 24450; +2900 (u5) = 27350;
    # +5000 (u1) = 32350; +1900 (u12) = 34250; +2000 (u5) = 36250; +4900 (u3) = 41150
    "mrr": [30850, 30850, 25850, 27350, 24450, 24450, 24450,
            27350, 32350, 34250, 36250, 41150, 41150, 41150],
    "arr": [370200, 370200, 310200, 328200, 293400, 293400, 293400,
            328200, 388200, 411000, 435000, 493800, 493800, 493800],
    # u3 past due still pays; u6 counts once with two subscriptions; u11's free plan never;
    # 5 (u1 u2 u3 u4 u6); 03-05 -u3; 03-08 +u5; 03-10 +u12; 03-12 +u3
    "paying_customers": [5, 5, 5, 5, 4, 4, 4,
                         5, 5, 6, 6, 7, 7, 7],
    "arpa": [30850 / 5, 30850 / 5, 25850 / 5, 27350 / 5, 24450 / 4, 24450 / 4, 24450 / 4,
             27350 / 5, 32350 / 5, 34250 / 6, 36250 / 6, 41150 / 7, 41150 / 7, 41150 / 7],
    "new_mrr": [0, 0, 0, 0, 0, 0, 0,
                2900, 0, 0, 0, 0, 0, 0],  # u5's first payment ever, on the DST day
    "expansion_mrr": [0, 0, 0, 1500, 0, 0, 0,  # u6 adds a second subscription
                      0, 5000, 0, 2000, 0, 0, 0],  # u1 4900 -> 9900, u5 2900 -> 4900
    "contraction_mrr": [0, 0, 5000, 0, 0, 0, 0,  # u2 9900 -> 4900 one second before 03-03 ends
                        0, 0, 0, 0, 0, 0, 0],
    "churned_mrr": [0, 0, 0, 0, 2900, 0, 0,  # u3 cancelled at 03-05 00:00 EST
                    0, 0, 0, 0, 0, 0, 0],
    "reactivation_mrr": [0, 0, 0, 0, 0, 0, 0,
                         0, 0, 1900, 0, 4900, 0, 0],  # u12 (last paid in February), u3
    "net_new_mrr": [0, 0, -5000, 1500, -2900, 0, 0,
                    2900, 5000, 1900, 2000, 4900, 0, 0],
    # (new + expansion + reactivation) / (contraction + churn): only 03-03 and 03-05 lose MRR,
    # and nothing is gained on those days
    "quick_ratio": [N, N, 0.0, N, 0.0, N, N,
                    N, N, N, N, N, N, N],
    "new_customers": [0, 0, 0, 0, 0, 0, 0,
                      1, 0, 0, 0, 0, 0, 0],
    "churned_customers": [0, 0, 0, 0, 1, 0, 0,
                          0, 0, 0, 0, 0, 0, 0],
    "reactivated_customers": [0, 0, 0, 0, 0, 0, 0,
                              0, 0, 1, 0, 1, 0, 0],
    # MRR at the end of the day before
    "starting_mrr": [30850, 30850, 30850, 25850, 27350, 24450, 24450,
                     24450, 27350, 32350, 34250, 36250, 41150, 41150],
    # paying customers at the end of the day before (= paying - new - reactivated + churned)
    "starting_customers": [5, 5, 5, 5, 5, 4, 4,
                           4, 5, 5, 6, 6, 7, 7],
    # At day grain every expansion/contraction/churn is by a customer paying when the day began
    # (it needs MRR > 0 at the end of the day before), so cohort_* equal the plain movements.
    "cohort_expansion_mrr": [0, 0, 0, 1500, 0, 0, 0,
                             0, 5000, 0, 2000, 0, 0, 0],
    "cohort_contraction_mrr": [0, 0, 5000, 0, 0, 0, 0,
                               0, 0, 0, 0, 0, 0, 0],
    "cohort_churned_mrr": [0, 0, 0, 0, 2900, 0, 0,
                           0, 0, 0, 0, 0, 0, 0],
    "cohort_churned_customers": [0, 0, 0, 0, 1, 0, 0,
                                 0, 0, 0, 0, 0, 0, 0],
    # (starting + cohort expansion - cohort contraction - cohort churn) / starting; new business
    # (03-08) and reactivations (03-10, 03-12) leave it at 1
    "nrr": [1.0, 1.0, 25850 / 30850, 27350 / 25850, 24450 / 27350, 1.0, 1.0,
            1.0, 32350 / 27350, 1.0, 36250 / 34250, 1.0, 1.0, 1.0],
    "grr": [1.0, 1.0, 25850 / 30850, 1.0, 24450 / 27350, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
    "customer_churn_rate": [0.0, 0.0, 0.0, 0.0, 1 / 5, 0.0, 0.0,  # u3 of the 5 paying at 03-05's start
                            0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    "revenue_churn_rate": [0.0, 0.0, 5000 / 30850, 0.0, 2900 / 27350, 0.0, 0.0,
                           0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    # charges: 03-01 at exactly 00:00 EST and at 23:59:59.999999 EST (both 03-01); 03-03 failed
    # (its fee of 30 is not a succeeded payment's); 03-04 add-on at 00:00 EST + failed retry;
    # 03-08 at 23:30 EDT; 03-09 at 00:30 EDT; 03-11; 03-12 'declined' (a failed status through
    # params) + 23:30 EDT; 03-14 'pending' (an attempt, neither failed nor succeeded)
    "payments_attempted": [2, 0, 1, 2, 0, 0, 0,
                           1, 1, 0, 1, 2, 0, 1],
    "failed_payments": [0, 0, 1, 1, 0, 0, 0,
                        0, 0, 0, 0, 1, 0, 0],
    "payment_failure_rate": [0.0, N, 1.0, 0.5, N, N, N,
                             0.0, 0.0, N, 0.0, 0.5, N, 0.0],
    "gross_revenue": [4900 + 2900, 0, 0, 1500, 0, 0, 0,
                      2900, 5000, 0, 2000, 4900, 0, 0],
    "payment_fees": [172 + 114, 0, 0, 74, 0, 0, 0,
                     114, 175, 0, 88, 172, 0, 0],
    "net_revenue": [7514, 0, 0, 1426, 0, 0, 0,
                    2786, 4825, 0, 1912, 4728, 0, 0],
}

# Weeks start on Sunday: W1 = 03-01..03-07, W2 = 03-08..03-14. W1 begins at the end of 02-28
# (payers u1 u2 u3 u4 u6, MRR 30850), W2 at the end of 03-07 (payers u1 u2 u4 u6, MRR 24450).
SAAS_WEEKS = [date(2026, 3, 1), date(2026, 3, 8)]
SAAS_WEEK = {
    "signups": [2, 2],
    "signups_mtd": [2, 4],  # the value on the week's last day
    "subscriptions_created": [3, 3],  # s5 s8 s7 | s11 s13 s9
    "subscriptions_created_mtd": [3, 6],
    "subscriptions_cancelled": [1, 1],
    "active_subscriptions": [7, 9],
    "active_subscribers": [6, 8],
    "trials": [2, 0],
    "past_due_subscriptions": [0, 0],
    "mrr": [24450, 41150],
    "arr": [293400, 493800],
    "paying_customers": [4, 7],
    "arpa": [24450 / 4, 41150 / 7],
    "new_mrr": [0, 2900],
    "expansion_mrr": [1500, 5000 + 2000],
    "contraction_mrr": [5000, 0],
    "churned_mrr": [2900, 0],
    "reactivation_mrr": [0, 1900 + 4900],
    "net_new_mrr": [-6400, 16700],  # 30850 -> 24450 -> 41150
    "quick_ratio": [1500 / 7900, N],
    "new_customers": [0, 1],
    "churned_customers": [1, 0],
    "reactivated_customers": [0, 2],
    "starting_mrr": [30850, 24450],
    "starting_customers": [5, 4],  # W2: 7 - 1 new - 2 reactivated + 0 churned
    "cohort_expansion_mrr": [1500, 5000],  # W2: u5 (2000) was not paying when the week began
    "cohort_contraction_mrr": [5000, 0],
    "cohort_churned_mrr": [2900, 0],
    "cohort_churned_customers": [1, 0],
    "nrr": [(30850 + 1500 - 5000 - 2900) / 30850, (24450 + 5000) / 24450],
    "grr": [(30850 - 5000 - 2900) / 30850, 1.0],
    "customer_churn_rate": [1 / 5, 0 / 4],
    "revenue_churn_rate": [(5000 + 2900) / 30850, 0.0],
    "payments_attempted": [5, 6],
    "failed_payments": [2, 1],
    "payment_failure_rate": [2 / 5, 1 / 6],
    "gross_revenue": [7800 + 1500, 2900 + 5000 + 2000 + 4900],
    "payment_fees": [286 + 74, 114 + 175 + 88 + 172],
    "net_revenue": [8940, 14251],
}

# Months: January .. April. Each begins at the end of the month before.
#   Jan: starts at 0 (nobody paying): the retention ratios divide by 0 -> empty.
#   Feb: cohort u1 u2 u12 (16700); u12 churns (1900); u6 u3 u4 are new (16050).
#   Mar: cohort u1 u2 u3 u4 u6 (30850): u6 +1500, u1 +5000, u2 -5000, u3 churns 2900 (and
#        comes back: a reactivation, outside NRR); u5's +2000 is not the cohort's (new in March).
#   Apr: cohort u1 u2 u3 u4 u5 u6 u12 (41150): u6 -1500, u2 churns 4900; u9 new 1900.
SAAS_MONTHS = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
SAAS_MONTH = {
    # Jan: u1 u12 u2 u6 and u3 (01-31 23:59:59 EST); Feb: u4; Mar: u5 u7 u11 u10 (not u8); Apr: u9
    "signups": [5, 1, 4, 1],
    "signups_mtd": [5, 1, 4, 1],
    "subscriptions_created": [3, 3, 6, 1],  # s1 s12 s2 | s6 s3 s4 | s5 s8 s7 s11 s13 s9 | s10
    "subscriptions_created_mtd": [3, 3, 6, 1],
    "subscriptions_cancelled": [0, 1, 2, 2],  # s12 | s3 s8 | s7 s2
    "active_subscriptions": [3, 5, 9, 8],
    "active_subscribers": [3, 5, 8, 8],
    "trials": [0, 0, 0, 0],
    "past_due_subscriptions": [0, 0, 0, 0],
    # Jan 4900 + 1900 + 9900; Feb 30850; Mar 41150; Apr 41150 - 4900 - 1500 + 1900
    "mrr": [16700, 30850, 41150, 36650],
    "arr": [200400, 370200, 493800, 439800],
    "paying_customers": [3, 5, 7, 7],
    "arpa": [16700 / 3, 30850 / 5, 41150 / 7, 36650 / 7],
    "new_mrr": [4900 + 1900 + 9900, 4900 + 2900 + 8250, 2900, 1900],
    "expansion_mrr": [0, 0, 1500 + 5000 + 2000, 0],
    "contraction_mrr": [0, 0, 5000, 1500],
    "churned_mrr": [0, 1900, 2900, 4900],
    "reactivation_mrr": [0, 0, 1900 + 4900, 0],
    "net_new_mrr": [16700, 14150, 10300, -4500],
    "quick_ratio": [N, 16050 / 1900, (2900 + 8500 + 6800) / (5000 + 2900), 1900 / (1500 + 4900)],
    "new_customers": [3, 3, 1, 1],
    "churned_customers": [0, 1, 1, 1],
    "reactivated_customers": [0, 0, 2, 0],
    "starting_mrr": [0, 16700, 30850, 41150],
    "starting_customers": [0, 3, 5, 7],
    "cohort_expansion_mrr": [0, 0, 1500 + 5000, 0],
    "cohort_contraction_mrr": [0, 0, 5000, 1500],
    "cohort_churned_mrr": [0, 1900, 2900, 4900],
    "cohort_churned_customers": [0, 1, 1, 1],
    "nrr": [N, (16700 - 1900) / 16700, (30850 + 6500 - 5000 - 2900) / 30850, (41150 - 1500 - 4900) / 41150],
    "grr": [N, (16700 - 1900) / 16700, (30850 - 5000 - 2900) / 30850, (41150 - 1500 - 4900) / 41150],
    "customer_churn_rate": [N, 1 / 3, 1 / 5, 1 / 7],
    "revenue_churn_rate": [N, 1900 / 16700, (5000 + 2900) / 30850, (1500 + 4900) / 41150],
    # ARPA / customer churn rate; January: the churn rate is empty
    "ltv": [N, (30850 / 5) / (1 / 3), (41150 / 7) / (1 / 5), (36650 / 7) / (1 / 7)],
    # Jan: two January charges + one at 01-31 23:59:59 EST; Feb: five (one failed) + one at
    # 02-28 23:30 EST (03-01 in UTC); Mar: 11 in the first fortnight + one at 03-31 23:30 EDT;
    # Apr: at exactly 04-01 00:00 EDT, a failed one, u9's
    "payments_attempted": [3, 6, 12, 3],
    "failed_payments": [0, 1, 3, 1],
    "payment_failure_rate": [0.0, 1 / 6, 3 / 12, 1 / 3],
    "gross_revenue": [4900 + 9900 + 2900, 4900 + 2900 + 99000 + 9900 + 4900, 29000, 9900 + 1900],
    "payment_fees": [172 + 317 + 114, 172 + 114 + 2901 + 317 + 172, 1081, 317 + 85],
    "net_revenue": [17097, 117924, 27919, 11398],
}

SAAS_DIMS = {
    # day
    ("mrr", "day", date(2026, 3, 1), "tenant", "acme"): 23050,  # u1 4900 + u2 9900 + u4 8250
    ("mrr", "day", date(2026, 3, 1), "tenant", "globex"): 7800,  # u3 2900 + u6 4900
    ("mrr", "day", date(2026, 3, 14), "tenant", "acme"): 24950,  # u1 9900 + u2 4900 + u4 8250 + u12 1900
    ("mrr", "day", date(2026, 3, 14), "tenant", "globex"): 16200,  # u3 4900 + u5 4900 + u6 6400
    ("paying_customers", "day", date(2026, 3, 14), "tenant", "acme"): 4,
    ("paying_customers", "day", date(2026, 3, 14), "tenant", "globex"): 3,
    ("arpa", "day", date(2026, 3, 14), "tenant", "acme"): 24950 / 4,
    ("arpa", "day", date(2026, 3, 14), "tenant", "globex"): 16200 / 3,
    ("active_subscriptions", "day", date(2026, 3, 3), "tenant", "acme"): 4,  # s1 s2 s4 s8
    ("active_subscriptions", "day", date(2026, 3, 3), "tenant", "globex"): 3,  # s3 s5 s6
    ("trials", "day", date(2026, 3, 3), "tenant", "acme"): 1,  # u7
    ("trials", "day", date(2026, 3, 3), "tenant", "globex"): 1,  # u5
    ("past_due_subscriptions", "day", date(2026, 3, 4), "tenant", "globex"): 1,  # u3
    ("signups", "day", date(2026, 3, 2), "platform", "ios"): 1,  # u7
    ("signups", "day", date(2026, 3, 2), "platform", "android"): 1,  # u5
    ("contraction_mrr", "day", date(2026, 3, 3), "tenant", "acme"): 5000,
    ("churned_mrr", "day", date(2026, 3, 5), "tenant", "globex"): 2900,  # u3
    ("reactivation_mrr", "day", date(2026, 3, 10), "tenant", "acme"): 1900,  # u12
    # week
    ("expansion_mrr", "week", date(2026, 3, 8), "tenant", "acme"): 5000,  # u1
    ("expansion_mrr", "week", date(2026, 3, 8), "tenant", "globex"): 2000,  # u5
    ("cohort_expansion_mrr", "week", date(2026, 3, 8), "tenant", "globex"): 0,  # u5 was not paying at 03-08's start
    # month: March by tenant. acme began it with u1 u2 u4 (23050): +5000 -5000, u12 reactivates;
    # globex with u3 u6 (7800): +1500, u3 churns 2900 (and reactivates), u5 new, u5 +2000.
    ("expansion_mrr", "month", date(2026, 3, 1), "tenant", "acme"): 5000,
    ("expansion_mrr", "month", date(2026, 3, 1), "tenant", "globex"): 1500 + 2000,
    ("cohort_expansion_mrr", "month", date(2026, 3, 1), "tenant", "globex"): 1500,
    ("reactivation_mrr", "month", date(2026, 3, 1), "tenant", "acme"): 1900,
    ("reactivation_mrr", "month", date(2026, 3, 1), "tenant", "globex"): 4900,
    ("starting_mrr", "month", date(2026, 3, 1), "tenant", "acme"): 23050,
    ("starting_mrr", "month", date(2026, 3, 1), "tenant", "globex"): 7800,
    ("nrr", "month", date(2026, 3, 1), "tenant", "acme"): 1.0,
    ("nrr", "month", date(2026, 3, 1), "tenant", "globex"): (7800 + 1500 - 2900) / 7800,
    ("starting_customers", "month", date(2026, 3, 1), "tenant", "globex"): 2,  # u3 u6
    ("customer_churn_rate", "month", date(2026, 3, 1), "tenant", "acme"): 0.0,
    ("customer_churn_rate", "month", date(2026, 3, 1), "tenant", "globex"): 1 / 2,
    ("ltv", "month", date(2026, 3, 1), "tenant", "acme"): N,  # no churn: no lifetime
    ("ltv", "month", date(2026, 3, 1), "tenant", "globex"): (16200 / 3) / (1 / 2),
    ("signups", "month", date(2026, 3, 1), "platform", "ios"): 2,  # u7 u11
    ("signups", "month", date(2026, 3, 1), "platform", "android"): 1,  # u5
    ("signups", "month", date(2026, 3, 1), "platform", "web"): 1,  # u10 (u8 is a test account)
    ("signups", "month", date(2026, 3, 1), "tenant", "acme"): 2,  # u7 u11
}
# payments.tenant is mapped to null: the payment metrics have only totals.
SAAS_NO_DIMS = ("payments_attempted", "failed_payments", "payment_failure_rate", "gross_revenue",
                "payment_fees")

SAAS_AS_OF = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _saas_dims(grains) -> dict:
    return {k: v for k, v in SAAS_DIMS.items() if k[1] in grains}


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_saas_days_and_weeks(backend, loader, tmp_path):
    project, values = _compute(saas, backend, loader, tmp_path, SAAS_DAYS[0], SAAS_DAYS[-1],
                               ["day", "week"], SAAS_AS_OF)
    assert set(project.metrics) == set(SAAS_DAY) | {"ltv"}  # every saas metric has worked numbers
    _check(values, {**_series("day", SAAS_DAYS, SAAS_DAY), **_series("week", SAAS_WEEKS, SAAS_WEEK)},
           _saas_dims(("day", "week")), SAAS_NO_DIMS)


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_saas_months(backend, loader, tmp_path):
    project, values = _compute(saas, backend, loader, tmp_path, date(2026, 1, 1), date(2026, 4, 30),
                               ["month"], SAAS_AS_OF)
    assert set(project.metrics) == set(SAAS_MONTH)
    _check(values, _series("month", SAAS_MONTHS, SAAS_MONTH), _saas_dims(("month",)), SAAS_NO_DIMS)


# ================================================================================================
# product: lifecycle (tests/worked/product_story.py); weeks start on Monday
# ================================================================================================
# Active local days: E 10-10, 10-19 | A 10-20, 10-27, 10-28, 11-18 | D 10-21, 11-03, 11-10 |
# B 09-01, 11-01 | C 11-01 (23:30 EST), 11-02.

LIFE_DAYS = _days(date(2026, 10, 19), date(2026, 11, 22))
LIFE_METRICS = ["lifecycle_new", "lifecycle_returning", "lifecycle_resurrecting", "lifecycle_dormant",
                "activated_users"]
LIFE_DAY_NONZERO = {  # every other day is 0
    "lifecycle_new": {"10-20": 1, "10-21": 1, "11-01": 1},  # A, D, C (first events ever)
    "lifecycle_returning": {"10-28": 1, "11-02": 1},  # A (10-27 too), C (11-01 too)
    # E (10-10 before), A (10-20), B (09-01; both 01:30s of 11-01 are one day), D (10-21), D, A
    "lifecycle_resurrecting": {"10-19": 1, "10-27": 1, "11-01": 1, "11-03": 1, "11-10": 1, "11-18": 1},
    # the day after each stretch of activity: E, A, D, A, B, C, D, D, A
    "lifecycle_dormant": {"10-20": 1, "10-21": 1, "10-22": 1, "10-29": 1, "11-02": 1, "11-03": 1,
                          "11-04": 1, "11-11": 1, "11-19": 1},
    # first upload/worklog/report ever: A's worklog, C's report (00:00 EST), D's upload;
    # E's first was 10-10 and B only captures
    "activated_users": {"10-20": 1, "11-02": 1, "11-03": 1},
}
LIFE_WEEKS = [date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
# Active weeks: E (10-05 week), W1 | A W1 W2 W5 | D W1 W3 W4 | B (08-31 week), W2 | C W2 W3.
LIFE_WEEK = {
    "lifecycle_new": [2, 1, 0, 0, 0],  # A D | C
    "lifecycle_returning": [0, 1, 1, 1, 0],  # A | C | D
    "lifecycle_resurrecting": [1, 1, 1, 0, 1],  # E | B | D | A
    "lifecycle_dormant": [0, 2, 2, 1, 1],  # E D | A B | C | D
    "activated_users": [1, 0, 2, 0, 0],  # A | C D
}
LIFE_DIMS = {
    ("lifecycle_new", "week", date(2026, 10, 19), "tenant", "t1"): 1,  # A
    ("lifecycle_new", "week", date(2026, 10, 19), "tenant", "t2"): 1,  # D
    ("lifecycle_dormant", "week", date(2026, 10, 26), "tenant", "t1"): 1,  # E
    ("lifecycle_dormant", "week", date(2026, 10, 26), "tenant", "t2"): 1,  # D
    ("lifecycle_dormant", "week", date(2026, 11, 2), "tenant", "t1"): 1,  # A
    ("lifecycle_dormant", "week", date(2026, 11, 2), "tenant", "t2"): 1,  # B
    ("lifecycle_resurrecting", "week", date(2026, 10, 26), "tenant", "t2"): 1,  # B
    ("lifecycle_resurrecting", "week", date(2026, 10, 26), "tenant", "t1"): 0,
    ("lifecycle_new", "day", date(2026, 11, 1), "tenant", "t1"): 1,  # C
    ("activated_users", "week", date(2026, 11, 2), "tenant", "t1"): 1,  # C
    ("activated_users", "week", date(2026, 11, 2), "tenant", "t2"): 1,  # D
}


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_product_lifecycle(backend, loader, tmp_path):
    _, values = _compute(product, backend, loader, tmp_path, LIFE_DAYS[0], LIFE_DAYS[-1], ["day", "week"],
                         datetime(2026, 12, 15, tzinfo=UTC), metrics=LIFE_METRICS)
    day = {m: [nonzero.get(d.strftime("%m-%d"), 0) for d in LIFE_DAYS] for m, nonzero in LIFE_DAY_NONZERO.items()}
    _check(values, {**_series("day", LIFE_DAYS, day), **_series("week", LIFE_WEEKS, LIFE_WEEK)}, LIFE_DIMS)


# ================================================================================================
# sales: funnel and calls (tests/worked/sales_story.py), 03-06 .. 03-09 and March
# ================================================================================================
# Leads by local creation day: 03-06 L1 L2 L3 (L3 at 23:30 EST), 03-08 L4 (01:00 EST) L5
# (23:30 EDT), 03-09 L6 (00:30 EDT); L7 on 03-20; L0 in February (converts 03-07 00:00 EST).
#   contacted: L1 L2 | L4 L5 | L6 (+ L7); qualified: L1 | L4 | L6; converted: L1 | - | L6.
# Calls: 03-06 C1 (ann 10:00, interested) C2 (ann 11:30, missed) C3 (bob 23:30, not
# interested); 03-08 C4 (bob 01:30 EST, interested) C5 (ann 03:30 EDT, failed) C6 (ann 23:30
# EDT, interested); 03-09 C7 (bob 10:00, wrong number) C8 (ann 11:15, interested); C9 on 03-20
# (bob 10:00, interested). Completed durations: C1 300, C3 120, C4 600, C6 240, C7 30, C8 420,
# C9 200.
SALES_DAYS = _days(date(2026, 3, 6), date(2026, 3, 9))
SALES_DAY = {
    "leads_created": [3, 0, 2, 1],
    "leads_converted": [0, 1, 0, 2],  # L0 at 03-07 00:00 EST | L1 and L6
    "funnel_contacted": [2, 0, 2, 1],
    "funnel_qualified": [1, 0, 1, 1],
    "funnel_converted": [1, 0, 0, 1],
    "contact_rate": [2 / 3, N, 1.0, 1.0],
    "qualification_rate": [1 / 2, N, 1 / 2, 1.0],
    "close_rate": [1.0, N, 0.0, 1.0],
    "lead_conversion_rate": [1 / 3, N, 0.0, 1.0],
    "calls": [3, 0, 3, 2],
    "completed_calls": [2, 0, 2, 2],
    "successful_calls": [1, 0, 2, 1],
    "call_connect_rate": [2 / 3, N, 2 / 3, 1.0],
    "call_success_rate": [1 / 3, N, 2 / 3, 1 / 2],
    "avg_call_duration": [(300 + 120) / 2, N, (600 + 240) / 2, (30 + 420) / 2],
}
SALES_MONTH = {  # March: L1..L7, C1..C9
    "leads_created": [7],
    "leads_converted": [3],  # L0 L1 L6
    "funnel_contacted": [6],
    "funnel_qualified": [3],
    "funnel_converted": [2],
    "contact_rate": [6 / 7],
    "qualification_rate": [3 / 6],
    "close_rate": [2 / 3],
    "lead_conversion_rate": [2 / 7],
    "calls": [9],
    "completed_calls": [7],
    "successful_calls": [5],
    "call_connect_rate": [7 / 9],
    "call_success_rate": [5 / 9],
    "avg_call_duration": [(300 + 120 + 600 + 240 + 30 + 420 + 200) / 7],
}
M6, M7, M8, M9, MAR = date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 1)
SALES_DIMS = {
    # leads by their current status
    ("leads_created", "day", M6, "status", "converted"): 1,  # L1
    ("leads_created", "day", M6, "status", "lost"): 1,  # L2
    ("leads_created", "day", M6, "status", "new"): 1,  # L3
    ("leads_created", "day", M8, "status", "qualified"): 1,  # L4
    ("leads_created", "day", M8, "status", "contacted"): 1,  # L5
    ("leads_created", "day", M8, "status", "lost"): 0,
    ("leads_created", "month", MAR, "status", "lost"): 2,  # L2 L7
    ("leads_created", "month", MAR, "status", "converted"): 2,  # L1 L6
    ("funnel_contacted", "day", M8, "staff", "bob"): 1,  # L4
    # calls by staff
    ("calls", "day", M6, "staff", "ann"): 2,
    ("calls", "day", M6, "staff", "bob"): 1,
    ("calls", "day", M7, "staff", "ann"): 0,
    ("calls", "day", M8, "staff", "ann"): 2,  # C5 C6
    ("calls", "day", M8, "staff", "bob"): 1,  # C4
    ("calls", "month", MAR, "staff", "ann"): 5,
    ("calls", "month", MAR, "staff", "bob"): 4,
    # calls by local hour: 23:30 EST on 03-06; 01:30 EST and 03:30 EDT on the DST day (there is
    # no hour 02 that day), 23:30 EDT late on it
    ("calls", "day", M6, "hour", "10"): 1,
    ("calls", "day", M6, "hour", "11"): 1,
    ("calls", "day", M6, "hour", "23"): 1,
    ("calls", "day", M8, "hour", "01"): 1,
    ("calls", "day", M8, "hour", "03"): 1,
    ("calls", "day", M8, "hour", "23"): 1,
    ("calls", "day", M9, "hour", "10"): 1,
    ("calls", "day", M9, "hour", "23"): 0,
    ("calls", "month", MAR, "hour", "10"): 3,  # C1 C7 C9
    ("calls", "month", MAR, "hour", "23"): 2,  # C3 C6
    ("calls", "month", MAR, "hour", "03"): 1,  # C5
    # the leaderboard
    ("call_success_rate", "day", M6, "staff", "ann"): 1 / 2,
    ("call_success_rate", "day", M6, "staff", "bob"): 0.0,
    ("call_success_rate", "day", M7, "staff", "ann"): N,  # no calls
    ("call_success_rate", "day", M8, "staff", "ann"): 1 / 2,
    ("call_success_rate", "day", M8, "staff", "bob"): 1.0,
    ("call_success_rate", "day", M9, "staff", "ann"): 1.0,
    ("call_success_rate", "day", M9, "staff", "bob"): 0.0,
    ("call_success_rate", "month", MAR, "staff", "ann"): 3 / 5,  # C1 C6 C8 of C1 C2 C5 C6 C8
    ("call_success_rate", "month", MAR, "staff", "bob"): 2 / 4,  # C4 C9 of C3 C4 C7 C9
    ("call_success_rate", "day", M6, "hour", "23"): 0.0,  # C3
    ("call_success_rate", "day", M8, "hour", "23"): 1.0,  # C6
    ("avg_call_duration", "day", M8, "staff", "bob"): 600.0,
    ("avg_call_duration", "day", M8, "staff", "ann"): 240.0,  # C5 failed: not completed
    ("avg_call_duration", "day", M7, "staff", "ann"): N,
}


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_sales_funnel_and_calls(backend, loader, tmp_path):
    project, values = _compute(sales, backend, loader, tmp_path, SALES_DAYS[0], SALES_DAYS[-1],
                               ["day", "month"], datetime(2026, 4, 15, tzinfo=UTC))
    assert set(project.metrics) == set(SALES_DAY)
    _check(values, {**_series("day", SALES_DAYS, SALES_DAY), **_series("month", [MAR], SALES_MONTH)},
           SALES_DIMS)
    hours = {dict(v.dims).get("hour") for v in values if v.metric == "calls"} - {None}
    assert "02" not in hours  # 02:xx never happens on 03-08, and no call was made at 02:xx on other days
