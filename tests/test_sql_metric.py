"""``kind: sql``: the user's SQL runs as written, with :start/:end/:tz bound, on every backend.

The SQL is in each engine's own dialect (that is the point of the escape hatch). In a UTC
project its daily count must equal the engine's own event metric over the same rows.
"""

from __future__ import annotations

import pytest

from sources import BACKENDS

# A UTC day from a timestamp, per dialect; :start/:end arrive as naive UTC timestamps.
DAY = {"duckdb": "CAST(occurred_at AS DATE)", "duckdb_tz": "CAST(occurred_at AT TIME ZONE 'UTC' AS DATE)",
       "sqlite": "substr(occurred_at, 1, 10)", "postgres": "CAST(occurred_at AS DATE)",
       "postgres_tz": "CAST(occurred_at AT TIME ZONE 'UTC' AS DATE)",
       "spark": "CAST(occurred_at AS DATE)"}
BOUND = {"sqlite": "occurred_at >= :start AND occurred_at < :end",
         "duckdb_tz": "occurred_at >= CAST(:start AS TIMESTAMP) AT TIME ZONE 'UTC'"
                      " AND occurred_at < CAST(:end AS TIMESTAMP) AT TIME ZONE 'UTC'",
         "postgres_tz": "occurred_at >= CAST(:start AS TIMESTAMP) AT TIME ZONE 'UTC'"
                        " AND occurred_at < CAST(:end AS TIMESTAMP) AT TIME ZONE 'UTC'"}


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark"
                                     else b for b in BACKENDS])
def test_sql_metric_equals_the_event_metric(backend, dataset, sources, tmp_path):
    from daypulse.engine import compute_values
    from daypulse.project import project_from_dict

    ds = dataset("Europe/London")
    url, tables = sources.get(backend, ds)
    bound = BOUND.get(backend, "occurred_at >= :start AND occurred_at < :end")
    sql = (f"SELECT {DAY[backend]} AS day, COUNT(*) AS value FROM {tables['events']}"
           f" WHERE {bound} AND kind = 'purchase' GROUP BY 1")
    project = project_from_dict({
        "timezone": "UTC", "source": url, "store": f"sqlite:///{tmp_path}/s.db",
        "metrics": {
            "purchases_sql": {"kind": "sql", "sql": sql, "rollup": "sum"},
            "purchases": {"table": tables["events"], "time": "occurred_at",
                          "where": {"kind": "purchase"}},
        }})
    values = compute_values(project, ds.start, ds.end, grains=["day", "month"], as_of=ds.as_of)
    by = {}
    for v in values:
        by.setdefault((v.grain, v.period_start), {})[v.metric] = v.value
    assert len(by) > 60
    assert sum(x["purchases"] for x in by.values()) > 0
    for key, pair in by.items():
        assert pair["purchases_sql"] == pair["purchases"], (backend, key, pair)


def test_sql_errors_name_the_metric(tmp_path):
    from datetime import UTC, date, datetime

    from daypulse.engine import compute_values
    from daypulse.errors import ConfigError, SourceError
    from daypulse.project import project_from_dict
    from storekit import make_source

    url = make_source(tmp_path / "app.duckdb")

    def run(sql):
        project = project_from_dict({"source": url, "metrics": {"custom": {"kind": "sql", "sql": sql}}})
        return compute_values(project, date(2026, 2, 1), date(2026, 2, 3), grains=["day"],
                              as_of=datetime(2026, 3, 1, tzinfo=UTC))

    with pytest.raises(SourceError, match="metric 'custom': its SQL failed"):
        run("SELECT day, value FROM no_such_table WHERE t >= :start AND t < :end")
    with pytest.raises(ConfigError, match="missing: value"):
        run("SELECT CAST(occurred_at AS DATE) AS day, COUNT(*) AS n FROM events"
            " WHERE occurred_at >= :start AND occurred_at < :end GROUP BY 1")
    values = run("SELECT CAST(occurred_at AS DATE) AS day, COUNT(*) AS value FROM events"
                 " WHERE occurred_at >= :start AND occurred_at < :end GROUP BY 1")
    assert [v.value for v in values] == [2, 4, 6]
