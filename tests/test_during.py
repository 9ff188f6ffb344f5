"""`during`: event rows kept only while their entity had a row open in another table.

Hand-computed, in America/New_York, on every backend. Subscriptions (naive UTC):

- u1: 03-02 15:00 .. 03-04 15:00 (ends exactly at a capture: that capture is outside)
- u2: 03-01 12:00 .. open, but plan 1 (the free plan, filtered out by `where`)
- u2: 03-03 05:00 .. open (a paid one from 03-03 00:00 EST)
- u3: none
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from daypulse.engine import compute_values
from daypulse.project import project_from_dict
from worked import Story, Table
from worked.load import BACKENDS, Loader

T = datetime.fromisoformat
STORY = Story("during", {
    "subs": Table.of({"user_id": "int", "plan_id": "int", "started_at": "ts", "canceled_at": "ts"},
                     (1, 2, T("2026-03-02 15:00"), T("2026-03-04 15:00")),
                     (2, 1, T("2026-03-01 12:00"), None),
                     (2, 3, T("2026-03-03 05:00"), None)),
    "caps": Table.of({"uid": "int", "at": "ts"},
                     (1, T("2026-03-02 14:59:59")),   # 03-02 09:59 EST, before u1's start: out
                     (1, T("2026-03-02 15:00")),      # at the start: in (03-02)
                     (1, T("2026-03-03 04:59:59")),   # 03-02 23:59:59 EST: in, still 03-02
                     (1, T("2026-03-04 15:00")),      # at the end: out
                     (2, T("2026-03-02 10:00")),      # only the free plan open: out
                     (2, T("2026-03-03 05:00")),      # 03-03 00:00 EST, paid plan starts: in
                     (2, T("2026-03-04 05:30")),      # in (03-04)
                     (3, T("2026-03-03 12:00"))),     # never subscribed: out
})
# day -> (captures, distinct capturing users) while subscribed
EXPECTED = {date(2026, 3, 2): (2, 1), date(2026, 3, 3): (1, 1), date(2026, 3, 4): (1, 1)}


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("during"))
    yield ld
    ld.close()


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b
                                     for b in BACKENDS])
def test_during_keeps_rows_while_the_entity_had_a_row_open(backend, loader, tmp_path):
    url, tables = loader.get(backend, STORY)
    during = {"table": "subs", "entity": "user_id", "match": "uid", "start": "started_at",
              "end": "canceled_at", "where": {"plan_id": {"ne": 1}}}
    project = project_from_dict({
        "source": url, "store": f"sqlite:///{tmp_path}/s.db", "timezone": "America/New_York",
        "tables": tables,
        "metrics": {"n": {"table": "caps", "time": "at", "during": during},
                    "users": {"table": "caps", "time": "at", "measure": "count_distinct",
                              "column": "uid", "during": during},
                    "users_7d": {"table": "caps", "time": "at", "measure": "count_distinct",
                                 "column": "uid", "window": 7, "during": during}}})
    values = compute_values(project, date(2026, 3, 2), date(2026, 3, 4), grains=["day", "month"],
                            as_of=datetime(2026, 4, 1, tzinfo=UTC))
    got = {(v.metric, v.grain, v.period_start): v.value for v in values}
    for day, (n, users) in EXPECTED.items():
        assert got[("n", "day", day)] == n, day
        assert got[("users", "day", day)] == users, day
    assert got[("n", "month", date(2026, 3, 1))] == 4
    assert got[("users", "month", date(2026, 3, 1))] == 2
    assert got[("users_7d", "day", date(2026, 3, 4))] == 2
