"""The reference itself, on small cases computed by hand (so the oracle is trusted)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reference import day_start, expected_values, like_regex, row_matches

AS_OF = datetime(2030, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def project(zone="Asia/Kolkata", week_start="monday", tables=None, **metrics):
    return {"timezone": zone, "week_start": week_start, "tables": tables or {},
            "metrics": metrics}


def ev(**kw):
    return {"table": "events", "time": "ts", **kw}


def rows(*stamps, **cols):
    return [{"id": i, "ts": ts, **{k: v[i] if isinstance(v, list) else v for k, v in cols.items()}}
            for i, ts in enumerate(stamps)]


def values(p, tables, start, end, grains=("day",), as_of=AS_OF):
    return expected_values(p, tables, start, end, grains, as_of)


# -- day starts --------------------------------------------------------------------------------

@pytest.mark.parametrize("zone, d, utc", [
    ("Asia/Kolkata", date(2026, 1, 10), datetime(2026, 1, 9, 18, 30)),
    ("America/New_York", date(2025, 11, 2), datetime(2025, 11, 2, 4)),   # 25 hours
    ("America/New_York", date(2025, 11, 3), datetime(2025, 11, 3, 5)),
    ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 8, 5)),     # 23 hours
    ("America/New_York", date(2026, 3, 9), datetime(2026, 3, 9, 4)),
    ("America/Santiago", date(2026, 9, 5), datetime(2026, 9, 5, 4)),
    ("America/Santiago", date(2026, 9, 6), datetime(2026, 9, 6, 4)),     # starts 01:00 local
    ("America/Santiago", date(2026, 9, 7), datetime(2026, 9, 7, 3)),
    ("America/Santiago", date(2026, 4, 4), datetime(2026, 4, 4, 3)),     # 25 hours
    ("America/Santiago", date(2026, 4, 5), datetime(2026, 4, 5, 4)),
    ("Australia/Lord_Howe", date(2026, 4, 5), datetime(2026, 4, 4, 13)),  # 24.5 hours
    ("Australia/Lord_Howe", date(2026, 4, 6), datetime(2026, 4, 5, 13, 30)),
    ("Europe/London", date(2025, 10, 26), datetime(2025, 10, 25, 23)),
    ("Europe/London", date(2025, 10, 27), datetime(2025, 10, 27, 0)),
])
def test_day_start(zone, d, utc):
    assert day_start(zone, d) == utc.replace(tzinfo=UTC)


# -- event days --------------------------------------------------------------------------------

def test_last_microsecond_of_the_local_day_counts_on_that_day():
    # Kolkata is UTC+05:30: local 2026-01-10 23:59:59.999999 = 18:29:59.999999 UTC
    t = rows(datetime(2026, 1, 10, 18, 29, 59, 999999), datetime(2026, 1, 10, 18, 30),
             datetime(2026, 1, 9, 18, 30), datetime(2026, 1, 9, 18, 29, 59, 999999))
    got = values(project(n=ev()), {"events": t}, date(2026, 1, 9), date(2026, 1, 11))
    assert got == {("n", "day", date(2026, 1, 9), ()): 1,
                   ("n", "day", date(2026, 1, 10), ()): 2,
                   ("n", "day", date(2026, 1, 11), ()): 1}


def test_25_and_23_hour_days():
    hourly_fall = [datetime(2025, 11, 2, 4) + timedelta(hours=h) for h in range(26)]
    hourly_spring = [datetime(2026, 3, 8, 5) + timedelta(hours=h) for h in range(24)]
    p = project("America/New_York", n=ev())
    got = values(p, {"events": rows(*hourly_fall)}, date(2025, 11, 2), date(2025, 11, 3))
    assert got[("n", "day", date(2025, 11, 2), ())] == 25
    assert got[("n", "day", date(2025, 11, 3), ())] == 1
    got = values(p, {"events": rows(*hourly_spring)}, date(2026, 3, 8), date(2026, 3, 9))
    assert got[("n", "day", date(2026, 3, 8), ())] == 23
    assert got[("n", "day", date(2026, 3, 9), ())] == 1


def test_santiago_day_after_the_midnight_gap():
    # Sep 6 2026 begins at 04:00 UTC (01:00 local) and ends at 03:00 UTC on Sep 7
    t = rows(datetime(2026, 9, 6, 3, 59, 59, 999999), datetime(2026, 9, 6, 4),
             datetime(2026, 9, 7, 2, 59, 59, 999999), datetime(2026, 9, 7, 3))
    got = values(project("America/Santiago", n=ev()), {"events": t},
                 date(2026, 9, 5), date(2026, 9, 7))
    assert [got[("n", "day", date(2026, 9, d), ())] for d in (5, 6, 7)] == [1, 2, 1]


def test_null_times_never_count_and_aware_timestamps_are_instants():
    aware = datetime(2026, 1, 10, 0, 0, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    got = values(project(n=ev()), {"events": rows(None, aware)}, date(2026, 1, 10),
                 date(2026, 1, 10))
    assert got == {("n", "day", date(2026, 1, 10), ()): 1}


def test_local_timestamps_table_uses_wall_dates():
    t = rows(datetime(2026, 1, 10, 23, 59, 59, 999999), datetime(2026, 1, 11, 0, 0),
             datetime(2026, 1, 10, 0, 0))
    p = project(tables={"events": {"name": "e", "timestamps": "local"}}, n=ev())
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 11))
    assert got == {("n", "day", date(2026, 1, 10), ()): 2,
                   ("n", "day", date(2026, 1, 11), ()): 1}


# -- measures, where, dimensions ---------------------------------------------------------------

def test_measures_and_empty_values():
    d = datetime(2026, 1, 10, 12)
    t = rows(d, d, d, d, user=[1, 1, 2, None], amount=[5, None, 7, 8])
    p = project(n=ev(), c=ev(column="amount"), u=ev(measure="count_distinct", column="user"),
                s=ev(measure="sum", column="amount"), a=ev(measure="avg", column="amount"),
                lo=ev(measure="min", column="amount"), hi=ev(measure="max", column="amount"))
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 11))
    day, nxt = date(2026, 1, 10), date(2026, 1, 11)
    assert {m: got[(m, "day", day, ())] for m in p["metrics"]} == {
        "n": 4, "c": 3, "u": 2, "s": 20, "a": 20 / 3, "lo": 5, "hi": 8}
    assert {m: got[(m, "day", nxt, ())] for m in p["metrics"]} == {
        "n": 0, "c": 0, "u": 0, "s": 0, "a": None, "lo": None, "hi": None}


def test_where_null_semantics():
    r = {"k": None, "n": None}
    for cond in ({"eq": None}, {"ne": "x"}, {"lt": 1}, {"in": ["a"]}, {"not_in": ["a"]},
                 {"like": "%"}, {"is_null": False}):
        assert not row_matches(r, {"k": cond}), cond
    assert row_matches(r, {"k": {"is_null": True}})
    assert not row_matches({"k": "b"}, {"k": {"not_in": ["a", None]}})  # SQL: NOT IN with NULL
    assert row_matches({"k": "b"}, {"k": {"ne": "a"}, "n": {"is_null": True}})
    assert row_matches({"k": 3}, {"k": {"ge": 3, "le": 3}})
    assert not row_matches({"k": 3}, {"k": {"gt": 3}})
    assert row_matches({"k": "beta"}, {"k": ["alpha", "beta"]})
    assert row_matches({"k": False}, {"k": False})
    assert not row_matches({"k": None}, {"k": False})


def test_like_is_case_sensitive_sql_like():
    assert like_regex("a%").fullmatch("acme")
    assert not like_regex("a%").fullmatch("Apex")
    assert like_regex("b_ta").fullmatch("beta")
    assert not like_regex("b_ta").fullmatch("bta")
    assert like_regex("50.%").fullmatch("50.5") and not like_regex("50.%").fullmatch("5005")


def test_dimensions_zero_fill_and_direct_totals():
    d1, d2 = datetime(2026, 1, 10, 12), datetime(2026, 1, 11, 12)
    t = rows(d1, d1, d2, user=[1, 1, 1], tenant=["a", "b", None], flag=[True, False, True])
    p = project(u=ev(measure="count_distinct", column="user",
                     dimensions={"tenant": "tenant", "flag": "flag"},
                     breakdowns=[["tenant", "flag"]]))
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 12))
    day = lambda n: date(2026, 1, n)  # noqa: E731
    assert got[("u", "day", day(10), ())] == 1  # not 2: the total is recounted
    assert got[("u", "day", day(10), (("tenant", "a"),))] == 1
    assert got[("u", "day", day(11), (("tenant", "a"),))] == 0  # zero-filled
    assert got[("u", "day", day(12), (("tenant", "(null)"),))] == 0
    assert got[("u", "day", day(11), (("tenant", "(null)"),))] == 1
    assert got[("u", "day", day(10), (("flag", "true"),))] == 1
    assert got[("u", "day", day(10), (("flag", "true"), ("tenant", "a")))] == 1
    assert got[("u", "day", day(12), (("flag", "false"), ("tenant", "b")))] == 0
    # combos only for combinations seen: (true, b) never happens
    assert ("u", "day", day(10), (("flag", "true"), ("tenant", "b"))) not in got
    assert len([k for k in got if k[2] == day(10)]) == 1 + 3 + 2 + 3


def test_values_seen_only_outside_the_range_are_not_filled():
    t = rows(datetime(2026, 1, 1, 12), datetime(2026, 1, 10, 12), tenant=["old", "new"])
    p = project(n=ev(dimensions={"tenant": "tenant"}))
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 11))
    assert {k[3] for k in got} == {(), (("tenant", "new"),)}
    # ...but a month period intersecting the range sees the whole month
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 11), grains=("month",))
    assert got[("n", "month", date(2026, 1, 1), (("tenant", "old"),))] == 1


# -- grains ------------------------------------------------------------------------------------

def test_weeks_and_months_recount_distinct_over_the_whole_period():
    # Sunday 2026-01-11 and Monday 2026-01-12 (Kolkata noon = 06:30 UTC)
    t = rows(datetime(2026, 1, 11, 6, 30), datetime(2026, 1, 12, 6, 30),
             datetime(2026, 1, 13, 6, 30), user=[1, 1, 2])
    u = ev(measure="count_distinct", column="user")
    got = values(project(u=u), {"events": t}, date(2026, 1, 12), date(2026, 1, 12),
                 grains=("week", "month"))
    assert got == {("u", "week", date(2026, 1, 12), ()): 2,
                   ("u", "month", date(2026, 1, 1), ()): 2}
    got = values(project(week_start="sunday", u=u), {"events": t}, date(2026, 1, 12),
                 date(2026, 1, 12), grains=("week",))
    assert got == {("u", "week", date(2026, 1, 11), ()): 2}


def test_window_state_and_cumulative_take_the_last_day_at_coarse_grains():
    day = lambda n, h=6: datetime(2026, 1, n, h, 30)  # noqa: E731  (noon in Kolkata)
    t = rows(day(1), day(5), day(9), day(20), user=[1, 2, 1, 3])
    p = project(w=ev(measure="count_distinct", column="user", window=7),
                n=ev(), mtd={"kind": "cumulative", "of": "n", "reset": "month"},
                wtd={"kind": "cumulative", "of": "n", "reset": "week"})
    got = values(p, {"events": t}, date(2026, 1, 1), date(2026, 1, 31),
                 grains=("day", "week", "month"))
    assert [got[("w", "day", date(2026, 1, n), ())] for n in (1, 5, 7, 8, 11, 12, 20)] == \
        [1, 2, 2, 1, 2, 1, 1]
    assert got[("w", "week", date(2026, 1, 5), ())] == 2   # Sunday Jan 11: days 5..11
    assert got[("w", "month", date(2026, 1, 1), ())] == 0  # Jan 31: days 25..31
    assert got[("mtd", "day", date(2026, 1, 9), ())] == 3
    assert got[("mtd", "week", date(2026, 1, 5), ())] == 3  # Jan 1..11
    assert got[("mtd", "month", date(2026, 1, 1), ())] == 4
    assert got[("wtd", "day", date(2026, 1, 4), ())] == 1   # week of Dec 29
    assert got[("wtd", "day", date(2026, 1, 5), ())] == 1
    assert got[("wtd", "day", date(2026, 1, 10), ())] == 2


def test_state_open_at_the_end_of_the_day():
    # Kolkata: the end of Jan 10 is 2026-01-10 18:30 UTC
    e = datetime(2026, 1, 10, 18, 30)
    t = [{"id": 1, "s": datetime(2026, 1, 1), "x": e},            # ends exactly then: open
         {"id": 2, "s": datetime(2026, 1, 1), "x": e - US},       # closed just before
         {"id": 3, "s": e, "x": None},                            # starts exactly then: not yet
         {"id": 4, "s": e - US, "x": None},                       # open
         {"id": 5, "s": datetime(2026, 1, 1), "x": e + US}]       # open
    p = project(a={"kind": "state", "table": "subs", "start": "s", "end": "x"})
    got = values(p, {"subs": t}, date(2026, 1, 10), date(2026, 1, 11), grains=("day", "month"))
    assert got[("a", "day", date(2026, 1, 10), ())] == 3
    assert got[("a", "day", date(2026, 1, 11), ())] == 2
    assert got[("a", "month", date(2026, 1, 1), ())] == 2
    # as_of inside the day: the state is taken at as_of (rows 1, 2 and 5 are open then;
    # row 4 starts exactly at as_of), and the month's value is taken at as_of too
    as_of = (e - US).replace(tzinfo=UTC)
    got = values(p, {"subs": t}, date(2026, 1, 10), date(2026, 1, 10),
                 grains=("day", "month"), as_of=as_of)
    assert got == {("a", "day", date(2026, 1, 10), ()): 3,
                   ("a", "month", date(2026, 1, 1), ()): 3}


def test_ratio_parts_and_zero_denominator():
    t = rows(datetime(2026, 1, 10, 6), datetime(2026, 1, 10, 7), user=[1, 1],
             tenant=["a", "b"])
    p = project(d=ev(measure="count_distinct", column="user", dimensions={"tenant": "tenant"}),
                n=ev(dimensions={"tenant": "tenant"}),
                r={"kind": "ratio", "numerator": "d", "denominator": "n"})
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 11), grains=("day", "week"))
    assert got[("r", "day", date(2026, 1, 10), ())] == 0.5
    assert got[("r", "day", date(2026, 1, 10), (("tenant", "a"),))] == 1.0
    assert got[("r", "day", date(2026, 1, 11), ())] is None
    assert got[("r", "week", date(2026, 1, 5), ())] == 0.5


# -- the data sets exercise what they claim to ------------------------------------------------

@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York", "Europe/London",
                                  "Australia/Lord_Howe", "America/Santiago"])
def test_datasets_pile_rows_on_boundaries(zone, dataset):
    ds = dataset(zone)
    starts = {day_start(zone, ds.start + timedelta(days=i))
              for i in range((ds.end - ds.start).days + 2)}
    ts = [datetime.replace(r["occurred_at"], tzinfo=UTC) for r in ds.tables["events"]
          if r["occurred_at"] is not None]
    on = sum(t in starts for t in ts)
    near = sum((t + US) in starts or (t - US) in starts for t in ts)
    assert on >= 0.8 * len(starts) and near >= 1.6 * len(starts)
    ends = [datetime.replace(r["canceled_at"], tzinfo=UTC) for r in ds.tables["subscriptions"]
            if r["canceled_at"] is not None]
    assert sum(e in starts for e in ends) >= 10
    lengths = {(day_start(zone, d + timedelta(days=1)) - day_start(zone, d)).total_seconds() / 3600
               for d in (ds.start + timedelta(days=i) for i in range((ds.end - ds.start).days + 1))}
    expected = {"Asia/Kolkata": {24}, "America/New_York": {23, 24, 25}, "Europe/London": {24, 25},
                "Australia/Lord_Howe": {24, 24.5}, "America/Santiago": {23, 24}}[zone]
    assert lengths == expected
    # every kind of expected value occurs: zero-filled rows, NULL avg/min/max, None ratios
    values = ds.expected
    assert any(v is None for k, v in values.items() if k[0] == "stickiness")
    assert any(v is None for k, v in values.items() if k[0] == "avg_ticket")
    assert any(v == 0 for k, v in values.items() if k[0] == "active_subs" and k[3])
    assert any(("tenant", "(null)") in k[3] for k in values)
    assert {v for k, v in values.items() if k[0] == "users_by_flag"} and \
        {k[3] for k in values if k[0] == "users_by_flag"} == \
        {(), (("test", "true"),), (("test", "false"),)}


# -- movement -----------------------------------------------------------------------------------
# Kolkata (UTC+05:30): local day D ends at D 18:30 UTC. Mondays: 2026-01-05 and 2026-01-12.

def _end(n: int) -> datetime:
    return datetime(2026, 1, n, 18, 30)  # the end of local Jan n (= start of Jan n+1)


def _mv(movement, **kw):
    return {"kind": "movement", "table": "subs", "entity": "cust", "column": "amt",
            "start": "s", "end": "e", "movement": movement, **kw}


def _subs():
    t = [  # (customer, tenant, start, end, amount)
        (1, "a", datetime(2026, 1, 9, 12), _end(11), 100),        # new on Jan 9 (before range)
        (1, "b", _end(11), datetime(2026, 1, 14, 10), 300),       # at midnight: expansion Jan 12
        (1, "b", datetime(2026, 1, 13, 6), datetime(2026, 1, 13, 8), 1000),  # nets out in a day
        (1, "b", datetime(2026, 1, 15, 10), None, 50),            # churn Jan 14, back Jan 15
        (2, "a", datetime(2026, 1, 10, 10), datetime(2026, 1, 13, 10), 200),  # new Jan 10
        (2, "a", datetime(2026, 1, 13, 10), None, 150),           # contraction Jan 13
        (3, "a", datetime(2026, 1, 10, 10), None, None),          # a NULL amount: nothing
        (4, "a", datetime(2026, 1, 14, 8, 59, 59, 999999), None, 70),  # new Jan 14
    ]
    return [{"id": i, "cust": c, "tenant": tn, "s": s, "e": e, "amt": a}
            for i, (c, tn, s, e, a) in enumerate(t)]


def test_movements_by_day_and_week():
    p = project(new=_mv("new"), exp=_mv("expansion"), con=_mv("contraction"),
                churn=_mv("churn"), react=_mv("reactivation"),
                n_new=_mv("new", measure="count"),
                react_existing=_mv("reactivation", cohort="existing"),
                new_existing=_mv("new", cohort="existing"))
    got = values(p, {"subs": _subs()}, date(2026, 1, 10), date(2026, 1, 16),
                 grains=("day", "week"))

    def daily(m):
        return {n: got[(m, "day", date(2026, 1, n), ())] for n in range(10, 17)}

    assert daily("new") == {10: 200, 11: 0, 12: 0, 13: 0, 14: 70, 15: 0, 16: 0}
    assert daily("exp") == {10: 0, 11: 0, 12: 200, 13: 0, 14: 0, 15: 0, 16: 0}
    assert daily("con") == {10: 0, 11: 0, 12: 0, 13: 50, 14: 0, 15: 0, 16: 0}
    assert daily("churn") == {10: 0, 11: 0, 12: 0, 13: 0, 14: 300, 15: 0, 16: 0}
    assert daily("react") == {10: 0, 11: 0, 12: 0, 13: 0, 14: 0, 15: 50, 16: 0}
    assert daily("n_new") == {10: 1, 11: 0, 12: 0, 13: 0, 14: 1, 15: 0, 16: 0}
    # a week is the sum of its days, all of them: Jan 9 (before the range) counts
    assert got[("new", "week", date(2026, 1, 5), ())] == 300
    assert got[("n_new", "week", date(2026, 1, 5), ())] == 2
    assert got[("new", "week", date(2026, 1, 12), ())] == 70
    # existing: above 0 when the period began, until its first churn in the period. Customer 1
    # was (Jan 11: 100) when the week of Jan 12 began, but churned before coming back on Jan 15:
    # that reactivation is not the starting cohort's. "new" is never existing.
    assert got[("react_existing", "week", date(2026, 1, 12), ())] == 0
    assert got[("react_existing", "day", date(2026, 1, 15), ())] == 0
    assert not any(v for k, v in got.items() if k[0] == "new_existing")


def test_movements_track_the_entity_per_dimension_value():
    p = project(new=_mv("new", dimensions={"tenant": "tenant"}),
                exp=_mv("expansion", dimensions={"tenant": "tenant"}),
                churn=_mv("churn", dimensions={"tenant": "tenant"}))
    got = values(p, {"subs": _subs()}, date(2026, 1, 12), date(2026, 1, 12))
    day = date(2026, 1, 12)
    # in total customer 1 expands 100 -> 300; per tenant it leaves a and arrives in b
    assert got[("exp", "day", day, ())] == 200
    assert got[("churn", "day", day, (("tenant", "a"),))] == 100
    assert got[("new", "day", day, (("tenant", "b"),))] == 300
    assert ("exp", "day", day, (("tenant", "b"),)) not in got  # no expansion in b: unseen
    assert got[("churn", "day", day, ())] == 0


def test_movements_today_follow_the_state_rule_for_now():
    # now = Jan 14 09:00 UTC (14:30 local): the 300 ending at 10:00 is still open (no churn
    # yet); customer 4's row started a microsecond before now (new)
    p = project(new=_mv("new"), churn=_mv("churn"))
    as_of = datetime(2026, 1, 14, 9, tzinfo=UTC)
    got = values(p, {"subs": _subs()}, date(2026, 1, 12), date(2026, 1, 16),
                 grains=("day", "week"), as_of=as_of)
    assert got[("churn", "day", date(2026, 1, 14), ())] == 0
    assert got[("new", "day", date(2026, 1, 14), ())] == 70
    assert got[("churn", "week", date(2026, 1, 12), ())] == 0
    assert ("churn", "day", date(2026, 1, 15), ()) not in got
    # a row starting exactly at now has not started
    as_of = datetime(2026, 1, 14, 8, 59, 59, 999999, tzinfo=UTC)
    got = values(p, {"subs": _subs()}, date(2026, 1, 14), date(2026, 1, 14), as_of=as_of)
    assert got[("new", "day", date(2026, 1, 14), ())] == 0


def test_movement_history_reaches_back_across_dst():
    # New York: paid from 23:40 EST on 2025-03-08 to 00:20 on 03-09 (above 0 at the end of
    # Mar 8 only), so coming back in November is a reactivation, not new
    t = [{"id": 1, "cust": 1, "s": datetime(2025, 3, 9, 4, 40), "e": datetime(2025, 3, 9, 5, 20),
          "amt": 10},
         {"id": 2, "cust": 1, "s": datetime(2025, 11, 3, 15), "e": None, "amt": 20},
         {"id": 3, "cust": 2, "s": datetime(2025, 3, 9, 5, 20), "e": datetime(2025, 3, 9, 5, 40),
          "amt": 10},  # within one day: never above 0 at a day's end
         {"id": 4, "cust": 2, "s": datetime(2025, 11, 3, 15), "e": None, "amt": 5}]
    p = project("America/New_York", new=_mv("new"), react=_mv("reactivation"))
    got = values(p, {"subs": t}, date(2025, 11, 3), date(2025, 11, 3))
    assert got[("react", "day", date(2025, 11, 3), ())] == 20
    assert got[("new", "day", date(2025, 11, 3), ())] == 5


# -- lifecycle ----------------------------------------------------------------------------------

def _lc(status, **kw):
    return {"kind": "lifecycle", "table": "events", "time": "ts", "column": "user",
            "status": status, **kw}


def _activity():
    at = lambda m, d, h=6: datetime(2025 + (m == 1), m, d, h)  # noqa: E731  (11:30 local)
    t = [(1, at(1, 1)), (1, at(1, 13)),          # resurrecting in the week of Jan 12
         (2, at(1, 6)), (2, at(1, 14, 12)),      # returning (Jan 14 17:30 local)
         (3, at(1, 7)),                           # dormant in the week of Jan 12
         (4, at(1, 15)),                          # new
         (5, at(12, 20)),                         # only in December
         (None, at(1, 13))]                       # no entity: ignored
    return rows(*[ts for _, ts in t], user=[u for u, _ in t])


def test_lifecycle_statuses_per_week_day_and_month():
    p = project(new=_lc("new"), ret=_lc("returning"), res=_lc("resurrecting"),
                dor=_lc("dormant"))
    got = values(p, {"events": _activity()}, date(2026, 1, 12), date(2026, 1, 18),
                 grains=("day", "week", "month"))

    def at(grain, d):
        return {m: got[(m, grain, d, ())] for m in ("new", "ret", "res", "dor")}

    assert at("week", date(2026, 1, 12)) == {"new": 1, "ret": 1, "res": 1, "dor": 1}
    assert at("day", date(2026, 1, 13)) == {"new": 0, "ret": 0, "res": 1, "dor": 0}
    assert at("day", date(2026, 1, 14)) == {"new": 0, "ret": 0, "res": 1, "dor": 1}
    assert at("day", date(2026, 1, 15)) == {"new": 1, "ret": 0, "res": 0, "dor": 1}
    assert at("day", date(2026, 1, 16)) == {"new": 0, "ret": 0, "res": 0, "dor": 1}
    assert at("day", date(2026, 1, 17)) == {"new": 0, "ret": 0, "res": 0, "dor": 0}
    # January: 1-4 are new (1's first day is Jan 1); 5 was active in December only
    assert at("month", date(2026, 1, 1)) == {"new": 4, "ret": 0, "res": 0, "dor": 1}


def test_lifecycle_today_and_per_dimension_value():
    p = project(new=_lc("new"), ret=_lc("returning", dimensions={"tenant": "tenant"}))
    as_of = datetime(2026, 1, 14, 5, tzinfo=UTC)  # 10:30 local: 2's event at 17:30 counts
    got = values(p, {"events": _activity()}, date(2026, 1, 12), date(2026, 1, 18),
                 grains=("week",), as_of=as_of)
    assert got[("new", "week", date(2026, 1, 12), ())] == 0  # 4 arrives tomorrow
    assert got[("ret", "week", date(2026, 1, 12), ())] == 1
    t = _activity()
    for r in t:
        r["tenant"] = "x" if r["ts"].day == 14 else "y"  # 2 switches tenant: not returning
    got = values(p, {"events": t}, date(2026, 1, 12), date(2026, 1, 18), grains=("week",))
    assert got[("ret", "week", date(2026, 1, 12), ())] == 1
    # per tenant 2 is new in x and dormant in y: no tenant has a returning user
    assert {k[3] for k in got if k[0] == "ret"} == {()}


# -- derived, manual, @hour ---------------------------------------------------------------------

def test_evaluate_null_division_and_types():
    from decimal import Decimal

    from reference import evaluate

    assert evaluate("(a + b) * 2 - c", {"a": 1, "b": 2, "c": 4}) == 2
    assert isinstance(evaluate("a + b", {"a": 1, "b": 2}), int)
    assert evaluate("a / b", {"a": 1, "b": 4}) == 0.25
    assert evaluate("a / b", {"a": 1, "b": 0}) is None
    assert evaluate("a / (b - 1)", {"a": 1, "b": 1}) is None
    assert evaluate("a + b", {"a": None, "b": 1}) is None
    assert evaluate("-a + 1", {"a": 3}) == -2
    assert evaluate("a * 100", {"a": 0.5}) == 50.0
    assert evaluate("a / 1000", {"a": Decimal("12000.50")}) == Decimal("12.0005")
    assert evaluate("a + b", {"a": Decimal("1.5"), "b": 0.5}) == 2.0


def test_derived_zero_fills_missing_parts_only_where_every_part_has_the_dimension():
    d1 = datetime(2026, 1, 10, 6)
    t = rows(d1, d1, d1, tenant=["a", "a", "b"], amt=[5, 7, None])
    p = project(n=ev(dimensions={"tenant": "tenant"}), s=ev(measure="sum", column="amt"),
                hi=ev(measure="max", column="amt", dimensions={"tenant": "tenant"}),
                per=({"kind": "derived", "expr": "s / n"}),
                gap=({"kind": "derived", "expr": "n - s + 1"}),
                mix=({"kind": "derived", "expr": "hi - n"}),
                twice=({"kind": "derived", "expr": "gap * 2"}))
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 11))
    day, nxt = date(2026, 1, 10), date(2026, 1, 11)
    a, b = (("tenant", "a"),), (("tenant", "b"),)
    assert got[("per", "day", day, ())] == 4.0
    # s is not broken down by tenant: neither is s / n (a zero-filled s would make it 0.0).
    assert ("per", "day", day, a) not in got and ("gap", "day", day, b) not in got
    assert got[("per", "day", nxt, ())] is None  # 0 / 0
    assert got[("gap", "day", day, ())] == -8
    assert got[("mix", "day", day, b)] is None   # hi never sees b (NULL amounts): None
    assert got[("mix", "day", day, a)] == 5      # 7 - 2
    assert got[("mix", "day", day, ())] == 4     # 7 - 3
    assert got[("twice", "day", day, ())] == -16
    assert ("twice", "day", day, a) not in got  # gap is not by tenant


def test_manual_step_function_and_last_day():
    from decimal import Decimal

    p = project(burn={"kind": "manual"})
    series = {"burn": [(date(2026, 1, 7), Decimal("5")), (date(2026, 1, 14), Decimal("9")),
                       (date(2026, 1, 20), Decimal("1"))]}
    got = expected_values(p, {}, date(2026, 1, 6), date(2026, 1, 14), ("day", "week", "month"),
                          AS_OF, manual=series)
    assert got[("burn", "day", date(2026, 1, 6), ())] is None
    assert got[("burn", "day", date(2026, 1, 13), ())] == 5
    assert got[("burn", "day", date(2026, 1, 14), ())] == 9
    assert got[("burn", "week", date(2026, 1, 5), ())] == 5      # Sunday Jan 11
    assert got[("burn", "week", date(2026, 1, 12), ())] == 9     # Sunday Jan 18
    assert got[("burn", "month", date(2026, 1, 1), ())] == 1     # Jan 31
    got = expected_values(p, {}, date(2026, 1, 6), date(2026, 1, 14), ("week", "month"),
                          datetime(2026, 1, 13, 12, tzinfo=UTC), manual=series)
    assert got == {("burn", "week", date(2026, 1, 5), ()): 5,
                   ("burn", "week", date(2026, 1, 12), ()): 5,
                   ("burn", "month", date(2026, 1, 1), ()): 5}


def test_snapshot_days_gaps_and_rollups():
    # Kolkata (UTC+05:30), Monday weeks: Mon 2026-01-05 .. Sun 01-11
    t = [{"ts": datetime(2026, 1, 5, 6), "plan": "a", "v": 10},
         {"ts": datetime(2026, 1, 5, 7), "plan": "a", "v": 1},     # the same day and plan: 11
         {"ts": datetime(2026, 1, 5, 8), "plan": "b", "v": 5},
         {"ts": datetime(2026, 1, 7, 18, 29, 59, 999999), "plan": "b", "v": 7},  # 01-07 23:59 local
         {"ts": datetime(2026, 1, 7, 18, 30), "plan": "a", "v": 20},  # 01-08 00:00 local
         {"ts": datetime(2026, 1, 8, 9), "plan": "b", "v": None},  # a NULL value is no row
         {"ts": None, "plan": "a", "v": 99},                        # no day: never read
         {"ts": date(2026, 1, 9), "plan": "a", "v": 30},            # a DATE is its own day
         {"ts": datetime(2026, 1, 9, 12), "plan": "x", "v": 1000}]  # left out by where
    snap = {"kind": "snapshot", "table": "snaps", "time": "ts", "column": "v",
            "dimensions": {"plan": "plan"}, "where": {"plan": {"ne": "x"}}}
    p = project(last=snap, total=dict(snap, rollup="sum"), mean=dict(snap, rollup="avg"))
    week, a, b = date(2026, 1, 5), (("plan", "a"),), (("plan", "b"),)
    got = expected_values(p, {"snaps": t}, date(2026, 1, 5), date(2026, 1, 11), ("day", "week"),
                          AS_OF)
    day = [date(2026, 1, d) for d in range(5, 12)]
    assert [got[("last", "day", d, ())] for d in day] == [16, None, 7, 20, 30, None, None]
    assert [got[("last", "day", d, b)] for d in day] == [5, None, 7, None, None, None, None]
    assert [got[("mean", "day", d, a)] for d in day] == [11.0, None, None, 20.0, 30.0, None, None]
    # the week: last reads Friday 01-09 (its last day with rows) for every plan; b has no row
    # then, nor in any other week read: it is not seen at week grain
    assert [got[("last", "week", week, k)] for k in ((), a)] == [30, 30]
    assert ("last", "week", week, b) not in got
    assert [got[("total", "week", week, k)] for k in ((), a, b)] == [73, 61, 12]
    assert [got[("mean", "week", week, k)] for k in ((), a, b)] == [73 / 4, 61 / 3, 6.0]
    # Thursday 01-08 at noon (06:30 UTC): the week so far ends on 01-08
    got = expected_values(p, {"snaps": t}, date(2026, 1, 5), date(2026, 1, 11), ("week",),
                          datetime(2026, 1, 8, 6, 30, tzinfo=UTC))
    assert [got[("last", "week", week, k)] for k in ((), a)] == [20, 20]
    assert [got[("mean", "week", week, k)] for k in ((), a, b)] == [43 / 3, 31 / 2, 6.0]


def test_hour_of_the_local_day():
    # New York, 2025-11-02: 01:00-02:00 happens twice (EDT, then EST from 06:00 UTC)
    t = rows(datetime(2025, 11, 2, 4), datetime(2025, 11, 2, 5, 30), datetime(2025, 11, 2, 6),
             datetime(2025, 11, 2, 6, 59, 59, 999999), datetime(2025, 11, 2, 7),
             datetime(2025, 11, 3, 4, 59, 59, 999999))
    p = project("America/New_York", n=ev(dimensions={"hour": "@hour"}))
    got = values(p, {"events": t}, date(2025, 11, 2), date(2025, 11, 2))
    hours = {k[3][0][1]: v for k, v in got.items() if k[3]}
    assert hours == {"00": 1, "01": 3, "02": 1, "23": 1}
    # a local-time table: the wall clock's own hour, even one that does not exist
    p = project("America/New_York", tables={"events": {"name": "e", "timestamps": "local"}},
                n=ev(dimensions={"hour": "@hour"}))
    got = values(p, {"events": rows(datetime(2026, 3, 8, 2, 30))}, date(2026, 3, 8),
                 date(2026, 3, 8))
    assert got[("n", "day", date(2026, 3, 8), (("hour", "02"),))] == 1
    # Lord Howe (+10:30 standard): 13:29:59 UTC is 23:59:59 local, 13:30 the next day's 00
    t = rows(datetime(2026, 4, 6, 13, 29, 59), datetime(2026, 4, 6, 13, 30))
    got = values(project("Australia/Lord_Howe", n=ev(dimensions={"hour": "@hour"})),
                 {"events": t}, date(2026, 4, 6), date(2026, 4, 7))
    assert got[("n", "day", date(2026, 4, 6), (("hour", "23"),))] == 1
    assert got[("n", "day", date(2026, 4, 7), (("hour", "00"),))] == 1


@pytest.mark.parametrize("zone", ["America/New_York", "America/Santiago"])
def test_datasets_exercise_movements_lifecycle_and_hours(zone, dataset):
    ds = dataset(zone)
    for values in (ds.expected, ds.expected_today):
        nonzero = {k[0] for k, v in values.items() if v}
        for m in ("new_mrr", "expansion_mrr", "contraction_mrr", "churn_mrr", "reactivation_mrr",
                  "new_customers", "churned_customers", "reactivations", "expansions_existing",
                  "churn_mrr_existing", "contraction_mrr_existing", "paid_churn",
                  "users_new", "users_returning", "users_resurrecting", "users_dormant",
                  "buyers_resurrecting", "buyers_dormant", "local_returning"):
            assert m in nonzero, m
    values = ds.expected
    # A reactivation within one week of an entity paying when the week began exists in the
    # data, but the starting cohort never reactivates: a customer leaves it at its first churn.
    assert any(v for k, v in values.items() if k[0] == "reactivations" and k[1] == "week")
    assert not any(v for k, v in values.items() if k[0] == "reactivations_existing")
    # per-dimension movements (plan changes are churn + new per plan) and breakdowns
    assert any(v for k, v in values.items() if k[0] == "churn_mrr"
               and k[3] == (("plan", "pro"),))
    assert any(len(k[3]) == 2 for k in values if k[0] == "new_mrr")
    assert {k[3] for k in values if k[0] == "local_by_hour"} >= \
        {(("hour", f"{h:02d}"),) for h in range(24)}
    for m in ("quick_ratio", "stickiness_pct", "ticket_spread"):
        assert any(v is None for k, v in values.items() if k[0] == m), m
        assert any(v is not None for k, v in values.items() if k[0] == m), m
    assert any(isinstance(v, float) and v < 0 for k, v in values.items()
               if k[0] == "net_new_dollars")
    # the hand-made customer 906 (history in the other DST offset) comes back in range
    subs = [r for r in ds.tables["subscriptions"] if r["customer"] == 906]
    assert subs[0]["started_at"] < datetime.combine(ds.start, datetime.min.time()) \
        - timedelta(days=100)


@pytest.mark.parametrize("zone", ["America/New_York", "Australia/Lord_Howe"])
def test_datasets_exercise_snapshots(zone, dataset):
    """The snapshot table has what the rules are about: whole days and single plans missing,
    weeks whose last day has no rows (read at an earlier day), two rows for a day and plan,
    rows on both sides of local midnights, and NULL values."""
    from reference import local_date, period_last_day

    ds = dataset(zone)
    rows = [r for r in ds.tables["snapshots"] if r["taken_at"] is not None]
    by_day: dict[date, list] = {}
    for r in rows:
        by_day.setdefault(local_date(r["taken_at"], zone), []).append(r)
    in_range = [ds.start + timedelta(days=i) for i in range((ds.end - ds.start).days + 1)]
    assert any(d not in by_day for d in in_range)
    assert any(d in by_day and len({r["plan"] for r in by_day[d]}) < 3 for d in in_range)
    assert any(period_last_day("week", d, ds.week_start) == d and d not in by_day
               and d - timedelta(days=1) in by_day for d in in_range)
    assert any(len([r for r in by_day.get(d, []) if r["plan"] == "pro"]) > 1 for d in in_range)
    assert any(r["mrr_cents"] is None for r in rows)
    values = ds.expected
    for m, grain in (("snap_mrr", "day"), ("snap_paid_mrr", "day"), ("snap_subscribers", "day"),
                     ("snap_mrr", "week"), ("snap_mrr", "month")):
        got = [v for k, v in values.items() if k[:2] == (m, grain)]
        assert any(v is None for v in got) and any(v for v in got), (m, grain)
    assert any(isinstance(v, float) and v != int(v) for k, v in values.items()
               if k[0] == "snap_subscribers" and k[1] == "week")
    assert any(len(k[3]) == 2 for k in values if k[0] == "snap_mrr")


def test_a_value_with_only_null_measured_values_is_not_seen():
    d = datetime(2026, 1, 10, 6)
    t = rows(d, d, tenant=["a", "b"], amt=[5, None])
    p = project(hi=ev(measure="max", column="amt", dimensions={"tenant": "tenant"}),
                c=ev(column="amt", dimensions={"tenant": "tenant"}),
                n=ev(dimensions={"tenant": "tenant"}))
    got = values(p, {"events": t}, date(2026, 1, 10), date(2026, 1, 10))
    assert {k[3] for k in got if k[0] == "hi"} == {(), (("tenant", "a"),)}
    assert {k[3] for k in got if k[0] == "c"} == {(), (("tenant", "a"),)}
    assert got[("n", "day", date(2026, 1, 10), (("tenant", "b"),))] == 1  # a row is a row
