"""Churn signals computed in the source (one set-based query per signal source), checked against
values worked out by hand, in America/New_York around both DST changes of 2026, on DuckDB,
SQLite, PostgreSQL and PySpark.

Every timestamp is naive UTC, written with :func:`at` next to the New York wall time it is meant
to be (checked by ``test_local_times_are_what_the_story_says``). Local days: 2026-03-08 has 23
hours (05:00 UTC to 04:00 UTC the next day), 2026-11-01 has 25 (04:00 UTC to 05:00 UTC).

The customers (subscriptions; ``active_subscribers`` is the project's own metric and leaves out
plan ``internal``):

- 1 acme: since 01-05, open. Logins 02-20, 02-27, 03-01 at noon EST, and 03-10 (after every
  scored day: never counted). Goes quiet.
- 2 acme: since 02-01. Captures 02-25, 02-26, 02-27 (noon EST); logins at 03-07 23:59:59 EST,
  03-08 00:00:00 EST and 03-09 00:30 EDT (04:30 UTC: a fixed EST reading would say 03-08
  23:30); a capture at 03-08 23:59:59 EDT (the last second of the 23-hour day). An ``unpaid``
  period opens 03-09 12:00 EDT.
- 3 globex: since 2025-12-01. Logins 03-05 (noon EST) and 03-09 (noon EDT). Frustration scores
  10 (02-20), 90 (03-02), 60 (03-06), NULL (03-07: not counted), 45 (03-09). Periods: active,
  then past_due from 03-08 01:00 EST to 03-09 11:00 EDT, then active.
- 4 globex: a trial from 03-08 12:00 EDT, ending 2026-03-10 04:00 UTC (00:00 EDT, exactly the end
  of 03-09); no paid period; past_due from 03-09 00:30 EDT (04:30 UTC, after the end of 03-08
  at 04:00 UTC, before a fixed-EST end of 05:00).
- 5 initech: since 02-20, trial ending 2026-03-11 04:00 UTC (exactly the end of 03-10); a paid
  (active) period from 03-08 13:00 EDT. A capture 03-05.
- 6 initech: an old subscription 2025-11-01 12:00 EDT .. 2025-12-01, and one from 01-10 canceled
  2026-03-09 04:30 UTC (00:30 EDT 03-09: open at the end of 03-08). Never active.
- 7 acme, plan free: since 2025-09-01; one upload at 2025-11-02 04:30 UTC (00:30 EDT 2025-11-02,
  an hour and a half before that year's change back to EST).
- 8 acme, plan internal: left out by the metric's where. 9 acme: since 2026-09-01 (November).
- 10: events but no subscription: never scored.

``sessions`` holds the login events again, as a table of their own.

Windows for a day D: last 7 = [D-6, D], previous 7 = [D-13, D-7], baseline days [D-34, D-7].
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from daypulse.churn.batch import score_range
from daypulse.churn.config import churn_config
from daypulse.churn.signals import compute_signals
from daypulse.project import project_from_dict
from worked import Story, Table
from worked.load import BACKENDS, Loader

ZONE = "America/New_York"
CLAIMS: list[tuple[datetime, str]] = []


def at(utc: str, local: str) -> datetime:
    ts = datetime.fromisoformat(utc)
    CLAIMS.append((ts, local))
    return ts


N = None
SUBS = {"user_id": "int", "tenant": "str", "plan": "str", "started_at": "ts", "canceled_at": "ts",
        "trial_ends_at": "ts"}
STORY = Story("churn", {
    "subscriptions": Table.of(
        SUBS,
        (1, "acme", "pro", at("2026-01-05 17:00", "2026-01-05 12:00 EST"), N, N),
        (2, "acme", "pro", at("2026-02-01 17:00", "2026-02-01 12:00 EST"), N, N),
        (3, "globex", "pro", at("2025-12-01 17:00", "2025-12-01 12:00 EST"), N, N),
        (4, "globex", "pro", at("2026-03-08 16:00", "2026-03-08 12:00 EDT"), N,
         at("2026-03-10 04:00", "2026-03-10 00:00 EDT")),
        (5, "initech", "pro", at("2026-02-20 17:00", "2026-02-20 12:00 EST"), N,
         at("2026-03-11 04:00", "2026-03-11 00:00 EDT")),
        (6, "initech", "pro", at("2025-11-01 16:00", "2025-11-01 12:00 EDT"),
         at("2025-12-01 17:00", "2025-12-01 12:00 EST"), N),
        (6, "initech", "pro", at("2026-01-10 17:00", "2026-01-10 12:00 EST"),
         at("2026-03-09 04:30", "2026-03-09 00:30 EDT"), N),
        (7, "acme", "free", at("2025-09-01 16:00", "2025-09-01 12:00 EDT"), N, N),
        (8, "acme", "internal", at("2026-01-01 17:00", "2026-01-01 12:00 EST"), N, N),
        (9, "acme", "pro", at("2026-09-01 16:00", "2026-09-01 12:00 EDT"), N, N),
    ),
    "events": Table.of(
        {"user_id": "int", "kind": "str", "occurred_at": "ts"},
        (1, "login", at("2026-02-20 17:00", "2026-02-20 12:00 EST")),
        (1, "login", at("2026-02-27 17:00", "2026-02-27 12:00 EST")),
        (1, "login", at("2026-03-01 17:00", "2026-03-01 12:00 EST")),
        (1, "login", at("2026-03-10 16:00", "2026-03-10 12:00 EDT")),
        (2, "capture", at("2026-02-25 17:00", "2026-02-25 12:00 EST")),
        (2, "capture", at("2026-02-26 17:00", "2026-02-26 12:00 EST")),
        (2, "capture", at("2026-02-27 17:00", "2026-02-27 12:00 EST")),
        (2, "login", at("2026-03-08 04:59:59", "2026-03-07 23:59:59 EST")),
        (2, "login", at("2026-03-08 05:00:00", "2026-03-08 00:00:00 EST")),
        (2, "login", at("2026-03-09 04:30", "2026-03-09 00:30 EDT")),
        (2, "capture", at("2026-03-09 03:59:59", "2026-03-08 23:59:59 EDT")),
        (3, "login", at("2026-03-05 17:00", "2026-03-05 12:00 EST")),
        (3, "login", at("2026-03-09 16:00", "2026-03-09 12:00 EDT")),
        (5, "capture", at("2026-03-05 17:00", "2026-03-05 12:00 EST")),
        (7, "upload", at("2025-11-02 04:30", "2025-11-02 00:30 EDT")),
        (8, "login", at("2026-03-08 17:00", "2026-03-08 13:00 EDT")),
        (9, "login", at("2026-10-31 16:00", "2026-10-31 12:00 EDT")),
        (9, "login", at("2026-11-01 04:00", "2026-11-01 00:00 EDT")),
        (9, "login", at("2026-11-02 04:30", "2026-11-01 23:30 EST")),
        (9, "login", at("2026-11-02 05:00", "2026-11-02 00:00 EST")),
        (10, "login", at("2026-03-08 17:00", "2026-03-08 13:00 EDT")),
    ),
    "feedback": Table.of(
        {"user_id": "int", "at": "ts", "score": "float"},
        (3, at("2026-02-20 17:00", "2026-02-20 12:00 EST"), 10.0),
        (3, at("2026-03-02 17:00", "2026-03-02 12:00 EST"), 90.0),
        (3, at("2026-03-06 17:00", "2026-03-06 12:00 EST"), 60.0),
        (3, at("2026-03-07 17:00", "2026-03-07 12:00 EST"), None),
        (3, at("2026-03-09 16:00", "2026-03-09 12:00 EDT"), 45.0),
        (9, at("2026-11-02 04:59:59", "2026-11-01 23:59:59 EST"), 80.0),
    ),
    "periods": Table.of(
        {"user_id": "int", "status": "str", "valid_from": "ts", "valid_to": "ts"},
        (2, "unpaid", at("2026-03-09 16:00", "2026-03-09 12:00 EDT"), N),
        (3, "active", at("2025-12-01 17:00", "2025-12-01 12:00 EST"),
         at("2026-03-08 06:00", "2026-03-08 01:00 EST")),
        (3, "past_due", at("2026-03-08 06:00", "2026-03-08 01:00 EST"),
         at("2026-03-09 15:00", "2026-03-09 11:00 EDT")),
        (3, "active", at("2026-03-09 15:00", "2026-03-09 11:00 EDT"), N),
        (4, "past_due", at("2026-03-09 04:30", "2026-03-09 00:30 EDT"), N),
        (5, "trialing", at("2026-02-20 17:00", "2026-02-20 12:00 EST"),
         at("2026-03-08 17:00", "2026-03-08 13:00 EDT")),
        (5, "active", at("2026-03-08 17:00", "2026-03-08 13:00 EDT"), N),
        (9, "past_due", at("2026-11-02 04:30", "2026-11-01 23:30 EST"),
         at("2026-11-02 05:00", "2026-11-02 00:00 EST")),
    ),
})

# sessions: the login events again, in a table of their own (read by a query of its own)
STORY.tables["sessions"] = Table.of({"user_id": "int", "began": "ts"}, *[
    (r["user_id"], r["occurred_at"]) for r in STORY.tables["events"].rows if r["kind"] == "login"])
SOURCES = {
    "activity": {"table": "events", "time": "occurred_at"},
    "logins": {"table": "events", "time": "occurred_at", "where": {"kind": "login"}},
    "progress": {"table": "events", "time": "occurred_at", "where": {"kind": ["capture", "upload"]}},
    "frustration": {"table": "feedback", "time": "at", "score": "score"},
    "payment": {"table": "periods", "start": "valid_from", "end": "valid_to"},
    "trial": {"table": "subscriptions", "end": "trial_ends_at",
              "paid": {"table": "periods", "start": "valid_from", "end": "valid_to",
                       "where": {"status": "active"}}},
}
ACTIVE_SUBSCRIBERS = {"kind": "state", "table": "subscriptions", "start": "started_at",
                      "end": "canceled_at", "measure": "count_distinct", "column": "user_id",
                      "where": {"plan": {"ne": "internal"}}, "dimensions": {"tenant": "tenant"}}

COLS = ("inactivity", "active_last", "active_base", "logins_last", "logins_prev", "progress_last",
        "progress_prev", "frustration", "payment_issue", "trial_expiring")
M7, M8, M9 = date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)
F = False
# (entity, day) -> the columns above, reasoned from the story (module docstring):
MARCH = {
    # 1: last activity 03-01 -> 6, 7, 8 days. Active days in the baseline [D-34, D-7]: 02-20 and
    # 02-27 for 03-07 ([02-01, 02-28]), plus 03-01 for 03-08 and 03-09. Logins last 7 / previous
    # 7: [03-01, 03-07] 1 / [02-22, 02-28] 1; [03-02, 03-08] 0 / [02-23, 03-01] 2; 0 / 2.
    ("1", M7): (6, 1, 2, 1, 1, 0, 0, N, F, F),
    ("1", M8): (7, 0, 3, 0, 2, 0, 0, N, F, F),
    ("1", M9): (8, 0, 3, 0, 2, 0, 0, N, F, F),
    # 2: active every scored day. Logins: 03-07 23:59:59 EST is 03-07; 00:00 EST is 03-08; 00:30
    # EDT is 03-09 -> last 7 = 1, 2, 3. Captures 02-25..27 are the previous 7 of every day (3);
    # the 23:59:59 EDT capture is 03-08 -> last 7 = 0, 1, 1. Baseline days: the three captures.
    # The unpaid period is open at the end of 03-09 only.
    ("2", M7): (0, 1, 3, 1, 0, 0, 3, N, F, F),
    ("2", M8): (0, 2, 3, 2, 0, 1, 3, N, F, F),
    ("2", M9): (0, 3, 3, 3, 0, 1, 3, N, True, F),
    # 3: logins 03-05, 03-09 -> inactivity 2, 3, 0. Frustration of the last 7: 03-07 and 03-08
    # mean(90, 60) = 75 (the NULL is not a score), 03-09 mean(60, 45) = 52.5. Past due at the
    # end of 03-08 (04:00 UTC 03-09) only.
    ("3", M7): (2, 1, 0, 1, 0, 0, 0, 75.0, F, F),
    ("3", M8): (3, 1, 0, 1, 0, 0, 0, 75.0, True, F),
    ("3", M9): (0, 2, 0, 2, 0, 0, 0, 52.5, F, F),
    # 4: scored from 03-08 (starts 03-08 16:00 UTC, after the end of 03-07). Never active: days
    # since the first subscription start, 0 and 1. Trial ends 03-10 04:00 UTC: in (end of 03-08,
    # end of 03-11] yes; in (end of 03-09, ...] no (exactly the end of 03-09 is not after it).
    # Past due from 04:30 UTC 03-09: not open at the end of 03-08 (04:00 UTC), open at 03-09's.
    ("4", M8): (0, 0, 0, 0, 0, 0, 0, N, F, True),
    ("4", M9): (1, 0, 0, 0, 0, 0, 0, N, True, F),
    # 5: capture 03-05 -> 2, 3, 4; progress 1 of 0. Trial ends exactly at the end of 03-10 =
    # end of D+3 for 03-07: expiring (the bound is inclusive); from 03-08 a paid period is open.
    ("5", M7): (2, 1, 0, 0, 0, 1, 0, N, F, True),
    ("5", M8): (3, 1, 0, 0, 0, 1, 0, N, F, F),
    ("5", M9): (4, 1, 0, 0, 0, 1, 0, N, F, F),
    # 6: never active; first subscription start 2025-11-01 -> 126, 127 days. Canceled 00:30 EDT
    # 03-09: open at the end of 03-08, not scored on 03-09.
    ("6", M7): (126, 0, 0, 0, 0, 0, 0, N, F, F),
    ("6", M8): (127, 0, 0, 0, 0, 0, 0, N, F, F),
    # 7: last activity 2025-11-02 (00:30 EDT; read with March's EST offset it would be 11-01)
    # -> 125, 126, 127 days.
    ("7", M7): (125, 0, 0, 0, 0, 0, 0, N, F, F),
    ("7", M8): (126, 0, 0, 0, 0, 0, 0, N, F, F),
    ("7", M9): (127, 0, 0, 0, 0, 0, 0, N, F, F),
}
TENANTS = {"1": "acme", "2": "acme", "3": "globex", "4": "globex", "5": "initech", "6": "initech",
           "7": "acme", "8": "acme", "9": "acme"}
O31, N1, N2 = date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)
NOVEMBER = {
    # 9: logins 10-31 noon; 00:00 EDT 11-01; 23:30 EST 11-01 (04:30 UTC 11-02); 00:00 EST 11-02
    # -> last 7 = 1, 3, 4. Frustration 80 at 23:59:59 EST 11-01. Past due from 23:30 EST 11-01
    # to exactly the end of 11-01 (05:00 UTC): open at the end of 11-01 (an end at the end of
    # the day still counts, as for kind: state).
    ("9", O31): (0, 1, 0, 1, 0, 0, 0, N, F, F),
    ("9", N1): (0, 2, 0, 3, 0, 0, 0, 80.0, True, F),
    ("9", N2): (0, 3, 0, 4, 0, 0, 0, 80.0, F, F),
}
# Days since the last activity, from before the 34-day look-back: 1's 03-10 -> 235 days to
# 10-31 (31+30+31+30+31+31+30 to 10-10, +21); 7's 2025-11-02 -> 363; 4 never active, since 03-08
# -> 237 (2 more than 1's).
NOVEMBER_INACTIVITY = {"1": (235, 236, 237), "7": (363, 364, 365), "4": (237, 238, 239)}


def test_local_times_are_what_the_story_says():
    tz = ZoneInfo(ZONE)
    for utc, local in CLAIMS:
        wall = utc.replace(tzinfo=UTC).astimezone(tz)
        fmt = "%Y-%m-%d %H:%M:%S" if local.count(":") == 2 else "%Y-%m-%d %H:%M"
        assert f"{wall.strftime(fmt)} {wall.tzname()}" == local, utc


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("churn"))
    yield ld
    ld.close()


def make_project(loader, backend: str, folder, churn: dict | None = None, metric: bool = True):
    url, tables = loader.get(backend, STORY)
    data = {"source": url, "store": f"sqlite:///{folder}/s.db", "timezone": ZONE, "tables": tables,
            "churn": {**SOURCES, **(churn or {})}}
    if metric:
        data["metrics"] = {"active_subscribers": ACTIVE_SUBSCRIBERS}
    return project_from_dict(data)


_CACHE: dict = {}


@pytest.fixture(scope="module")
def computed(loader, tmp_path_factory):
    """``computed(backend, first, last)``: the signals frame of the default project, made once."""
    folder = tmp_path_factory.mktemp("churn_projects")

    def get(backend: str, first: date, last: date):
        key = (backend, first, last)
        if key not in _CACHE:
            project = make_project(loader, backend, folder)
            _CACHE[key] = compute_signals(project, churn_config(project), first, last)
        return _CACHE[key]

    return get


def by_key(frame) -> dict:
    return {(r["entity"], r["day"].date()): r for r in frame.to_dict("records")}


def values(row: dict) -> tuple:
    out = []
    for c in COLS:
        v = row[c]
        if c == "frustration":
            v = None if v is None or v != v else float(v)
        elif c in ("payment_issue", "trial_expiring"):
            v = bool(v)
        else:
            v = int(v)
        out.append(v)
    return tuple(out)


ALL_BACKENDS = [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b for b in BACKENDS]
SQL_BACKENDS = [b for b in BACKENDS if b != "spark"]


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_march_signals_around_the_spring_change(backend, computed):
    rows = by_key(computed(backend, M7, M9))
    assert set(rows) == set(MARCH), "who is scored on each day"
    for key, expected in MARCH.items():
        assert values(rows[key]) == expected, key
        assert rows[key]["d_tenant"] == TENANTS[key[0]], key


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_november_signals_around_the_autumn_change(backend, computed):
    rows = by_key(computed(backend, O31, N2))
    scored = {e for e, _ in rows}
    assert scored == {"1", "2", "3", "4", "5", "7", "9"}
    assert all((e, d) in rows for e in scored for d in (O31, N1, N2))
    for key, expected in NOVEMBER.items():
        assert values(rows[key]) == expected, key
    for entity, days in NOVEMBER_INACTIVITY.items():
        assert tuple(int(rows[(entity, d)]["inactivity"]) for d in (O31, N1, N2)) == days, entity
    assert bool(rows[("4", O31)]["payment_issue"]) and bool(rows[("2", N2)]["payment_issue"])


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_scores_and_export_records_on_03_08(backend, computed, loader, tmp_path):
    """The default weights, all six signals in use:

    - 1: inactivity 7 -> 0.5 * 25 = 12.5; engagement 0 of a 0.75 baseline -> 1 * 20; logins 0 of
      2 -> 1 * 15; the rest 0: 47.5, medium.
    - 2: progress 1 of 3 -> 2/3 * 15 = 10; the rest 0: 10.0, low.
    - 3: inactivity 3 -> 3/14 * 25 = 5.357..; frustration 75 -> 11.25; past due -> 10: 26.6.
    - 4: 0.0 low. 5: inactivity 3 -> 5.357.. -> 5.4 low.
    - 6 (127 days) and 7 (126 days): inactivity risk 1 -> 25.0 exactly: medium.
    """
    project = make_project(loader, backend, tmp_path)
    batch = score_range(project, M8, M8)
    recs = {r["entity"]: r for r in batch.records()}
    assert {e: (r["score"], r["level"]) for e, r in recs.items()} == {
        "1": (47.5, "medium"), "2": (10.0, "low"), "3": (26.6, "medium"), "4": (0.0, "low"),
        "5": (5.4, "low"), "6": (25.0, "medium"), "7": (25.0, "medium")}
    assert recs["3"] == {
        "entity": "3", "day": "2026-03-08", "score": 26.6, "level": "medium",
        "dimensions": {"tenant": "globex"},
        "signals": {
            "inactivity": {"value": 3, "risk": 0.2143, "weight": 25.0, "points": 5.36},
            "engagement_decay": {"value": {"last": 1, "baseline": 0.0}, "risk": 0.0, "weight": 20.0,
                                 "points": 0.0},
            "frustration": {"value": 75.0, "risk": 0.75, "weight": 15.0, "points": 11.25},
            "login_decay": {"value": {"last": 1, "previous": 0}, "risk": 0.0, "weight": 15.0,
                            "points": 0.0},
            "progress_stall": {"value": {"last": 0, "previous": 0}, "risk": 0.0, "weight": 15.0,
                               "points": 0.0},
            "payment_issue": {"value": True, "risk": 1.0, "weight": 10.0, "points": 10.0},
        },
    }


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_without_frustration_and_payment_sources_the_weights_are_rescaled(backend, loader, tmp_path):
    """25 + 20 + 15 + 15 = 75 left: inactivity 33.33.., engagement 26.66.., logins 20,
    progress 20. On 03-08: 1 = 0.5 * 33.33 + 26.67 + 20 = 63.3 high; 3 = 3/14 * 33.33 = 7.1 low;
    6 = 33.3 medium. The records carry only the four signals."""
    project = make_project(loader, backend, tmp_path, {"frustration": None, "payment": None})
    batch = score_range(project, M8, M8)
    recs = {r["entity"]: r for r in batch.records()}
    assert (recs["1"]["score"], recs["1"]["level"]) == (63.3, "high")
    assert (recs["3"]["score"], recs["3"]["level"]) == (7.1, "low")
    assert (recs["6"]["score"], recs["6"]["level"]) == (33.3, "medium")
    assert list(recs["1"]["signals"]) == ["inactivity", "engagement_decay", "login_decay", "progress_stall"]
    assert recs["1"]["signals"]["inactivity"]["weight"] == 25 * 100 / 75


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_alerts_over_the_march_days(backend, loader, tmp_path):
    """From no alert before 03-07, over 03-07..03-09 (levels from the scores; 3 on 03-07:
    2/14*25 + 11.25 = 14.8 low; 2 on 03-09: 10 + 10 = 20.0 low; 4 on 03-09: 1/14*25 + 10 = 11.8
    low; 5 on 03-07: 3.6 low):

    - 1 inactivity (7 on 03-08) and engagement_drop (0 of 2 logins from 03-08): open 03-08, medium.
    - 3 high_frustration (75, 75, 52.5): opens 03-07 low, resolved 03-09; payment_risk 03-08
      medium, resolved 03-09.
    - 2 and 4 payment_risk open 03-09 (low). 4 trial_expiring 03-08 (low), resolved 03-09; 5 trial
      expiring 03-07 (low), resolved 03-08 (paid).
    - 6 inactivity opens 03-07 (25.0 medium), resolved 03-09: no longer scored. 7 inactivity opens
      03-07 medium and stays open.
    """
    project = make_project(loader, backend, tmp_path)
    d = score_range(project, M7, M9).alerts([])
    assert sorted((a.entity, a.type, a.opened, a.severity, a.cleared, a.reason) for a in d.opened) == [
        ("1", "engagement_drop", M8, "medium", None, None),
        ("1", "inactivity", M8, "medium", None, None),
        ("2", "payment_risk", M9, "low", None, None),
        ("3", "high_frustration", M7, "low", M9, "cleared"),
        ("3", "payment_risk", M8, "medium", M9, "cleared"),
        ("4", "payment_risk", M9, "low", None, None),
        ("4", "trial_expiring", M8, "low", M9, "cleared"),
        ("5", "trial_expiring", M7, "low", M8, "cleared"),
        ("6", "inactivity", M7, "medium", M9, "not_scored"),
        ("7", "inactivity", M7, "medium", None, None),
    ]


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_the_scored_population_follows_the_saas_definition(backend, loader, tmp_path):
    """Without a project metric active_subscribers, the saas pack's definition is used
    (subscriptions, started_at .. canceled_at, user_id): customer 8 (plan internal) is scored too.
    With churn.scored.where: {tenant: {ne: initech}} on top of the project's metric, 5 and 6 go."""
    pack = make_project(loader, backend, tmp_path, metric=False)
    rows = by_key(compute_signals(pack, churn_config(pack), M7, M7))
    assert {e for e, _ in rows} == {"1", "2", "3", "5", "6", "7", "8"}
    assert rows[("8", M7)]["d_tenant"] == "acme"  # the pack's dimensions: {tenant: tenant}
    narrowed = make_project(loader, backend, tmp_path, {"scored": {"where": {"tenant": {"ne": "initech"}}}})
    rows = by_key(compute_signals(narrowed, churn_config(narrowed), M7, M7))
    assert {e for e, _ in rows} == {"1", "2", "3", "7"}


def test_dimensions_can_be_set_or_dropped(loader, tmp_path):
    """churn.dimensions: {plan: plan} replaces the metric's tenant; {} keeps none."""
    project = make_project(loader, "duckdb", tmp_path, {"dimensions": {"plan": "plan"}})
    f = compute_signals(project, churn_config(project), M7, M7)
    assert "d_tenant" not in f.columns
    assert dict(zip(f.entity, f.d_plan))["7"] == "free"
    project = make_project(loader, "duckdb", tmp_path, {"dimensions": {}})
    f = compute_signals(project, churn_config(project), M7, M7)
    assert not [c for c in f.columns if c.startswith("d_")]


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_logins_from_a_table_of_their_own(backend, loader, tmp_path):
    """The same logins read from ``sessions``: a second windowed query, attached to the first;
    every value as in MARCH."""
    project = make_project(loader, backend, tmp_path, {"logins": {"table": "sessions", "time": "began"}})
    rows = by_key(compute_signals(project, churn_config(project), M7, M9))
    assert set(rows) == set(MARCH)
    for key, expected in MARCH.items():
        assert values(rows[key]) == expected, key
        assert isinstance(rows[key]["logins_last"], int)


def test_one_query_per_source(loader, tmp_path, monkeypatch):
    """One query per source -- activity, logins and progress read the same table (events,
    occurred_at, user_id) and share one scan and window pass, which also works out who is
    scored: four queries for a three-day range, as for one day (never one per customer or per
    day). Without a windowed source, who is scored is a query of its own."""
    import daypulse.churn.signals as S

    project = make_project(loader, "duckdb", tmp_path)
    calls = []
    real = S.execute
    monkeypatch.setattr(S, "execute", lambda name, expr: calls.append(name) or real(name, expr))
    compute_signals(project, churn_config(project), M7, M9)
    assert calls == ["activity+logins+progress", "frustration", "payment", "trial"]
    calls.clear()
    compute_signals(project, churn_config(project), M8, M8)
    assert len(calls) == 4
    calls.clear()
    only = make_project(loader, "duckdb", tmp_path, dict.fromkeys(("activity", "logins", "progress", "frustration")))
    f = compute_signals(only, churn_config(only), M7, M9)
    assert calls == ["population", "payment", "trial"]
    assert list(f.columns) == ["entity", "day", "d_tenant", "payment_issue", "trial_expiring"]
    assert by_key(f)[("3", M8)]["payment_issue"] and not by_key(f)[("3", M7)]["payment_issue"]
