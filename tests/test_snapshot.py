"""``kind: snapshot``: pre-aggregated tables with one row per day (seed 004's daily revenue
aggregate: MRR and subscribers as one row per day and plan), hand-computed, on every backend.

The rules (docs/project-file.md#kind-snapshot, docs/semantics.md):

- the value on day D is the sum of ``column`` over D's rows (per dimension value); a row's day
  is its DATE, or the local day of its timestamp in the project's zone;
- a day without a row has no value (empty): never 0, never the previous day's;
- a week, month or quarter: ``rollup: last`` (default) reads the period's last day that has
  rows, the same day for the total and every dimension value (the current period: its last
  day with rows so far); ``sum`` adds all its rows; ``avg`` averages the values of the days
  that have rows.

``daily_revenue`` (a DATE per row, seed 004's shape), Monday weeks, America/New_York, "now"
2026-03-11 15:00 EDT (today is Wed 03-11, its row not loaded yet):

    date   pro   team          date   pro   team
    02-24  900   400           03-07  1400  NULL (a NULL value is no row)
    02-26  1000  500           03-08  1500  700  (the 23-hour DST day)
    02-27  1100  500           03-09  1600  700
    02-28  1200  -             03-10  1700  -
    03-01  (no rows)           03-11  (today: no rows yet)
    03-02  1300  600           03-12  9999  -    (tomorrow: not read)
    03-03  1300  600 + 50      03-04..03-06 (no rows)

``snapshots_ts``: timestamps (naive UTC) whose New York day is the day, on both sides of
local midnight around the spring-forward change of Sunday 03-08.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from daypulse.engine import compute_values
from daypulse.project import project_from_dict
from worked import Story, Table, at
from worked.load import BACKENDS, Loader

D = date.fromisoformat
NOW = datetime(2026, 3, 11, 19, 0, tzinfo=UTC)  # 15:00 EDT
LATER = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)  # every period of the range complete
START, END = D("2026-02-26"), D("2026-03-11")
GRAINS = ("day", "week", "month", "quarter")

STORY = Story("snapshot", {
    "daily_revenue": Table.of(
        {"date": "date", "plan": "str", "mrr_cents": "int"},
        (D("2026-02-24"), "pro", 900), (D("2026-02-24"), "team", 400),
        (D("2026-02-26"), "pro", 1000), (D("2026-02-26"), "team", 500),
        (D("2026-02-27"), "pro", 1100), (D("2026-02-27"), "team", 500),
        (D("2026-02-28"), "pro", 1200),
        (D("2026-03-02"), "pro", 1300), (D("2026-03-02"), "team", 600),
        (D("2026-03-03"), "pro", 1300), (D("2026-03-03"), "team", 600),
        (D("2026-03-03"), "team", 50),  # a second row for the day and plan: added
        (D("2026-03-07"), "pro", 1400), (D("2026-03-07"), "team", None),
        (D("2026-03-08"), "pro", 1500), (D("2026-03-08"), "team", 700),
        (D("2026-03-09"), "pro", 1600), (D("2026-03-09"), "team", 700),
        (D("2026-03-10"), "pro", 1700),
        (D("2026-03-12"), "pro", 9999),
        (None, "pro", 5)),  # no day: never read
    "snapshots_ts": Table.of(
        {"taken_at": "ts", "subscribers": "int"},
        (at("2026-03-07 17:00", "2026-03-07 12:00 EST"), 40),
        (at("2026-03-08 04:59:59.999999", "2026-03-07 23:59:59.999999 EST"), 2),
        (at("2026-03-08 05:00", "2026-03-08 00:00 EST"), 44),
        (at("2026-03-09 03:59:59", "2026-03-08 23:59:59 EDT"), 1),
        (at("2026-03-09 04:00", "2026-03-09 00:00 EDT"), 46),
        (at("2026-03-11 13:00", "2026-03-11 09:00 EDT"), 47),
        (at("2026-03-12 05:00", "2026-03-12 01:00 EDT"), 99)),
})

SNAP = {"kind": "snapshot", "table": "daily_revenue", "time": "date", "column": "mrr_cents",
        "dimensions": {"plan": "plan"}, "format": "currency"}
METRICS = {
    "mrr": SNAP,  # rollup: last
    "mrr_sum": {**SNAP, "rollup": "sum"},
    "mrr_avg": {**SNAP, "rollup": "avg"},
    "subscribers": {"kind": "snapshot", "table": "snapshots_ts", "time": "taken_at",
                    "column": "subscribers"},
}

W1, W2, W3 = D("2026-02-23"), D("2026-03-02"), D("2026-03-09")
FEB, MAR, Q1 = D("2026-02-01"), D("2026-03-01"), D("2026-01-01")
TOTAL, PRO, TEAM = (), (("plan", "pro"),), (("plan", "team"),)

# day -> (total, pro, team) of mrr; None: no row that day
DAYS = {
    "2026-02-26": (1500, 1000, 500), "2026-02-27": (1600, 1100, 500),
    "2026-02-28": (1200, 1200, None), "2026-03-01": (None, None, None),
    "2026-03-02": (1900, 1300, 600), "2026-03-03": (1950, 1300, 650),
    "2026-03-04": (None, None, None), "2026-03-05": (None, None, None),
    "2026-03-06": (None, None, None), "2026-03-07": (1400, 1400, None),
    "2026-03-08": (2200, 1500, 700), "2026-03-09": (2300, 1600, 700),
    "2026-03-10": (1700, 1700, None), "2026-03-11": (None, None, None),
}
# (metric, grain, period) -> (total, pro, team); a missing team value has no row at all
PERIODS = {
    # last: the period's last day with rows; W3, March and Q1 are current: 03-10 so far
    ("mrr", "week", W1): (1200, 1200, None),   # 02-28: no team row
    ("mrr", "week", W2): (2200, 1500, 700),    # 03-08
    ("mrr", "week", W3): (1700, 1700, None),   # 03-10 (today, 03-11, has no rows yet)
    ("mrr", "month", FEB): (1200, 1200, None),
    ("mrr", "month", MAR): (1700, 1700, None),
    ("mrr", "quarter", Q1): (1700, 1700, None),
    # sum: every row of the period (02-24 too: periods are computed whole)
    ("mrr_sum", "week", W1): (5600, 4200, 1400),
    ("mrr_sum", "week", W2): (7450, 5500, 1950),
    ("mrr_sum", "week", W3): (4000, 3300, 700),
    ("mrr_sum", "month", FEB): (5600, 4200, 1400),
    ("mrr_sum", "month", MAR): (11450, 8800, 2650),
    ("mrr_sum", "quarter", Q1): (17050, 13000, 4050),
    # avg: over the days with rows (the plan's own days for a plan)
    ("mrr_avg", "week", W1): (5600 / 4, 4200 / 4, 1400 / 3),
    ("mrr_avg", "week", W2): (7450 / 4, 5500 / 4, 1950 / 3),
    ("mrr_avg", "week", W3): (4000 / 2, 3300 / 2, 700 / 1),
    ("mrr_avg", "month", FEB): (5600 / 4, 4200 / 4, 1400 / 3),
    ("mrr_avg", "month", MAR): (11450 / 6, 8800 / 6, 2650 / 4),
    ("mrr_avg", "quarter", Q1): (17050 / 10, 13000 / 10, 4050 / 7),
}
# New York days of snapshots_ts: 03-07 = 40 + 2 (23:59:59.999999 EST), 03-08 = 44 + 1 (its
# 23 hours end at 03:59:59 UTC), 03-09 = 46, 03-10 none, 03-11 = 47, 03-12 = 99 (not read)
SUBSCRIBERS_DAYS = {"2026-03-06": None, "2026-03-07": 42, "2026-03-08": 45, "2026-03-09": 46,
                    "2026-03-10": None, "2026-03-11": 47}
SUBSCRIBERS_PERIODS = {("week", W1): None, ("week", W2): 45, ("week", W3): 47,
                       ("month", FEB): None, ("month", MAR): 47, ("quarter", Q1): 47}


def expected(as_of: datetime = NOW) -> dict:
    """{(metric, grain, period, dims): value} written out from the tables above."""
    out = {}
    for day, values in DAYS.items():
        for metric in ("mrr", "mrr_sum", "mrr_avg"):
            for dims, v in zip((TOTAL, PRO, TEAM), values):
                if metric == "mrr_avg" and v is not None:
                    v = float(v)
                out[(metric, "day", D(day), dims)] = v
    for (metric, grain, period), values in PERIODS.items():
        for dims, v in zip((TOTAL, PRO, TEAM), values):
            out[(metric, grain, period, dims)] = v
    for (metric, grain) in {(m, g) for m, g, _ in PERIODS}:
        team = [k for k in out if k[:2] == (metric, grain) and k[3] == TEAM]
        if all(out[k] is None for k in team):  # team is never read at this grain: not seen
            for k in team:
                del out[k]
    for day in DAYS:
        out[("subscribers", "day", D(day), TOTAL)] = SUBSCRIBERS_DAYS.get(day)
    for (grain, period), v in SUBSCRIBERS_PERIODS.items():
        out[("subscribers", grain, period, TOTAL)] = v
    if as_of == LATER:  # 03-12 is read: the last day with rows of W3, March and Q1
        for key in [("mrr", "week", W3), ("mrr", "month", MAR), ("mrr", "quarter", Q1)]:
            out[(*key, TOTAL)] = out[(*key, PRO)] = 9999  # team: still no row on the read day
        for key in [("mrr_sum", "week", W3), ("mrr_sum", "month", MAR), ("mrr_sum", "quarter", Q1)]:
            out[(*key, TOTAL)] += 9999
            out[(*key, PRO)] += 9999
        out[("mrr_avg", "week", W3, TOTAL)] = (4000 + 9999) / 3
        out[("mrr_avg", "week", W3, PRO)] = (3300 + 9999) / 3
        out[("mrr_avg", "month", MAR, TOTAL)] = (11450 + 9999) / 7
        out[("mrr_avg", "month", MAR, PRO)] = (8800 + 9999) / 7
        out[("mrr_avg", "quarter", Q1, TOTAL)] = (17050 + 9999) / 11
        out[("mrr_avg", "quarter", Q1, PRO)] = (13000 + 9999) / 11
        for grain, period in (("week", W3), ("month", MAR), ("quarter", Q1)):
            out[("subscribers", grain, period, TOTAL)] = 99
    return out


def _project(url: str, tables: dict, tmp_path) -> dict:
    return {"source": url, "store": f"sqlite:///{tmp_path}/s.db", "timezone": "America/New_York",
            "week_start": "monday", "tables": tables, "metrics": METRICS,
            "compute": {"grains": list(GRAINS)}}  # quarters are opted in


def _same(want, got) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if isinstance(want, float):
        return isinstance(got, float) and abs(got - want) <= 1e-9 * abs(want)
    return isinstance(got, int) and not isinstance(got, bool) and got == want


def _differences(want: dict, values) -> list[str]:
    got = {(v.metric, v.grain, v.period_start, tuple(tuple(p) for p in v.dims)): v.value
           for v in values}
    out = [f"missing {k}: expected {want[k]!r}" for k in want if k not in got]
    out += [f"extra {k}: got {got[k]!r}" for k in got if k not in want]
    out += [f"wrong {k}: expected {want[k]!r}, got {got[k]!r}" for k in want
            if k in got and not _same(want[k], got[k])]
    return out


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("snapshot"))
    yield ld
    ld.close()


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b
                                     for b in BACKENDS])
def test_snapshot_days_gaps_rollups_and_the_current_period(backend, loader, tmp_path):
    url, tables = loader.get(backend, STORY)
    project = project_from_dict(_project(url, tables, tmp_path))
    # PySpark costs seconds a query whatever the data: there the current period only
    for as_of in (NOW,) if backend == "spark" else (NOW, LATER):
        values = compute_values(project, START, END, grains=GRAINS, as_of=as_of)
        problems = _differences(expected(as_of), values)
        assert not problems, f"{backend} as_of={as_of}: " + "\n".join(sorted(problems)[:30])


def test_the_reference_agrees_with_the_hand_computed_values(tmp_path):
    """tests/reference.py (the oracle of test_semantics.py) on the same story."""
    from reference import expected_values

    tables = {name: t.rows for name, t in STORY.tables.items()}
    raw = _project("duckdb:///unused", {n: n for n in tables}, tmp_path)
    for as_of in (NOW, LATER):
        got = expected_values(raw, tables, START, END, GRAINS, as_of)
        want = expected(as_of)
        assert got.keys() == want.keys()
        assert not [k for k in want if not _same(want[k], got[k])], as_of


def test_a_midnight_timestamp_is_read_as_its_date_with_timestamps_local(loader, tmp_path):
    """A day kept as a timestamp at midnight (naive) is a UTC instant, like every naive
    timestamp: 03-07 00:00 UTC is 03-06 19:00 in New York. ``timestamps: local`` on the table
    reads its wall clock instead, so the row is the day it names."""
    story = Story("snapshot_midnight", {"days": Table.of(
        {"day": "ts", "value": "int"},
        (datetime(2026, 3, 7), 1), (datetime(2026, 3, 8), 2), (datetime(2026, 3, 9), 3))})
    url, tables = loader.get("duckdb", story)
    for spec, want in (({"name": tables["days"]}, [1, 2, 3, None]),
                       ({"name": tables["days"], "timestamps": "local"}, [None, 1, 2, 3])):
        raw = _project(url, {"days": spec}, tmp_path)
        raw["metrics"] = {"v": {"kind": "snapshot", "table": "days", "time": "day", "column": "value"}}
        got = {v.period_start: v.value for v in compute_values(
            project_from_dict(raw), D("2026-03-06"), D("2026-03-09"), grains=["day"], as_of=LATER)}
        assert [got[D(f"2026-03-0{d}")] for d in (6, 7, 8, 9)] == want, spec


def test_money_in_dollars_becomes_cents_row_by_row(loader, tmp_path):
    """``unit: major``: each row's dollars are rounded to cents (half to even), then summed."""
    from decimal import Decimal

    story = Story("snapshot_dollars", {"rev": Table.of(
        {"date": "date", "mrr": "decimal"},
        (D("2026-03-02"), Decimal("10.125")), (D("2026-03-02"), Decimal("0.135")),
        (D("2026-03-03"), Decimal("20.5")))})
    url, tables = loader.get("duckdb", story)
    raw = _project(url, tables, tmp_path)
    raw["metrics"] = {"mrr": {"kind": "snapshot", "table": "rev", "time": "date", "column": "mrr",
                              "unit": "major", "rollup": "sum", "format": "currency"}}
    got = {(v.grain, v.period_start): v.value for v in compute_values(
        project_from_dict(raw), D("2026-03-02"), D("2026-03-03"), grains=["day", "week"], as_of=LATER)}
    assert got == {("day", D("2026-03-02")): 1012 + 14, ("day", D("2026-03-03")): 2050,
                   ("week", D("2026-03-02")): 3076}


def test_snapshot_settings_and_formula():
    from daypulse.describe import describe
    from daypulse.project.kinds import kind_of

    project = project_from_dict(_project("duckdb:///unused", {}, "/tmp"))
    m = project.metrics["mrr"]
    assert (m.rollup, m.measure) == ("last", "sum")
    assert kind_of(m).zero(project, m) is None  # a day without a row is empty, not 0
    assert kind_of(m).columns(m) == {"column": "mrr_cents", "time": "date", "dimensions.plan": "plan"}
    assert describe(project, "mrr") == ("mrr_cents of daily_revenue's rows for the day (date), summed;"
                                        " a longer period takes its last day with rows")
    assert describe(project, "mrr_avg").endswith("a longer period takes the average of its days with rows")
    assert describe(project, "mrr_sum").endswith("a longer period takes the sum of its days")


def test_story_timestamps_are_the_new_york_times_written_next_to_them():
    from zoneinfo import ZoneInfo

    from worked import LOCAL_CLAIMS

    tz = ZoneInfo("America/New_York")
    rows = STORY.tables["snapshots_ts"].rows
    claims = [c for ts, c in LOCAL_CLAIMS if ts in {r["taken_at"] for r in rows}]
    assert len(claims) >= len(rows)
    for ts, claim in LOCAL_CLAIMS:
        if ts in {r["taken_at"] for r in rows}:
            local = ts.replace(tzinfo=UTC).astimezone(tz)
            wall, abbr = claim.rsplit(" ", 1)
            fmt = "%Y-%m-%d %H:%M" + (":%S" if wall.count(":") == 2 else "") + (".%f" if "." in wall else "")
            assert (local.strftime(fmt), local.tzname()) == (wall, abbr), claim
