"""A measured column may be arithmetic over the row's columns: the marketing pack's
``avg_engagement_rate``, the average of each post's own rate (issue 18, item 12), on every backend.

Hand-computed, one day, one row per post: (likes + comments + shares) / views =
p1 (10+5+5)/100 = 0.2, p2 (1+0+1)/10 = 0.2, p3 (3+0+0)/6 = 0.5, p4 0 views (no rate: skipped),
p5 NULL likes (no rate). Average of the rates: 0.3; engagement_rate (all over all) is
(likes 16 + comments 6 + shares 6) / views 116 = 28/116.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from daypulse.engine import compute_values
from daypulse.errors import ConfigError
from daypulse.project import parse_project
from worked import Story, Table
from worked.load import BACKENDS, Loader

T = datetime.fromisoformat
DAY = date(2026, 3, 2)
STORY = Story("engagement", {
    "post_stats": Table.of({"post_id": "int", "occurred_at": "ts", "platform": "str", "views": "int",
                            "likes": "int", "comments": "int", "shares": "int"},
                           (1, T("2026-03-02 00:00"), "tiktok", 100, 10, 5, 5),
                           (2, T("2026-03-02 00:00"), "tiktok", 10, 1, 0, 1),
                           (3, T("2026-03-02 00:00"), "instagram", 6, 3, 0, 0),
                           (4, T("2026-03-02 00:00"), "instagram", 0, 2, 0, 0),
                           (5, T("2026-03-02 00:00"), "instagram", 0, None, 1, 0)),
})


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("engagement"))
    yield ld
    ld.close()


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b
                                     for b in BACKENDS])
def test_average_of_per_post_rates(backend, loader):
    url, tables = loader.get(backend, STORY)
    p = parse_project(f"source: {url}\ntables: {tables}\n"
                      "include: [{marketing: [avg_engagement_rate, engagement_rate]}]\n")
    got = compute_values(p, DAY, DAY, ["avg_engagement_rate", "engagement_rate"], grains=["day"],
                         as_of=datetime(2026, 3, 10, tzinfo=UTC))
    by = {(v.metric, v.dims): v.value for v in got}
    assert by[("avg_engagement_rate", ())] == pytest.approx(0.3)
    assert by[("avg_engagement_rate", (("platform", "tiktok"),))] == pytest.approx(0.2)
    assert by[("avg_engagement_rate", (("platform", "instagram"),))] == pytest.approx(0.5)
    assert by[("engagement_rate", ())] == pytest.approx(28 / 116)


def test_an_expression_column_is_checked():
    for column, said in (("likes +", "not an arithmetic expression"), ("likes ** 2", "not allowed")):
        with pytest.raises(ConfigError) as err:
            parse_project("source: duckdb:///x.duckdb\nmetrics:\n  m: {table: t, time: at, measure: avg,"
                          f" column: '{column}'}}\n")
        assert said in str(err.value), err.value
    with pytest.raises(ConfigError) as err:
        parse_project("source: duckdb:///x.duckdb\nmetrics:\n  m: {table: t, time: at,"
                      " measure: count_distinct, column: 'a + b'}\n")
    assert "an expression is measured by sum, avg, min or max" in str(err.value)
