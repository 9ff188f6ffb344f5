"""Time columns that are not naive UTC timestamps: DATE columns are local calendar days."""

from __future__ import annotations

from datetime import UTC, date, datetime


def test_a_date_column_counts_on_its_own_day_in_every_zone(tmp_path):
    import duckdb

    from daypulse.engine import compute_values
    from daypulse.project import project_from_dict

    path = tmp_path / "orders.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table orders(id int, ordered_on date, opened date, closed date)")
    con.execute("insert into orders values (1, '2024-03-01', '2024-03-01', '2024-03-03'),"
                " (2, '2024-03-01', '2024-03-02', null), (3, '2024-03-02', '2024-03-02', null)")
    con.close()
    for zone in ("America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"):
        project = project_from_dict({"timezone": zone, "source": f"duckdb:///{path}", "metrics": {
            "orders": {"table": "orders", "time": "ordered_on"},
            "open_orders": {"kind": "state", "table": "orders", "start": "opened", "end": "closed"},
        }})
        got = {(v.metric, v.period_start): v.value for v in compute_values(
            project, date(2024, 3, 1), date(2024, 3, 3), grains=["day"],
            as_of=datetime(2024, 4, 1, tzinfo=UTC))}
        assert [got[("orders", date(2024, 3, d))] for d in (1, 2, 3)] == [2, 1, 0], zone
        # open at the end of the day: #1 from Mar 1 until its close on Mar 3; #2, #3 from Mar 2
        assert [got[("open_orders", date(2024, 3, d))] for d in (1, 2, 3)] == [1, 3, 2], zone
