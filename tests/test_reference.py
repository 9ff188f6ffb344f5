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
