"""The demo company generator (daypulse.demo): deterministic, well-formed, realistic enough.

Generated at scale 0.1 (800 users, ~30k events) with a fixed ``end`` so the numbers do not
depend on today's date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from daypulse.demo import DATABASE_FILE, generate, project_yaml
from daypulse.spec import parse_project

END = date(2026, 3, 31)
SCALE = 0.1

COLUMNS = {
    "workspaces": ["id", "slug", "name", "created_at"],
    "users": ["id", "workspace_id", "tenant", "email", "created_at", "is_test", "platform",
              "country"],
    "plans": ["id", "name", "interval", "amount_cents", "is_free"],
    "subscriptions": ["id", "user_id", "tenant", "plan_id", "status", "started_at",
                      "trial_ends_at", "canceled_at", "mrr_cents"],
    "subscription_periods": ["id", "subscription_id", "user_id", "tenant", "plan_id",
                             "mrr_cents", "valid_from", "valid_to"],
    "payments": ["id", "subscription_id", "user_id", "tenant", "created_at", "amount_cents",
                 "status"],
    "events": ["id", "user_id", "tenant", "occurred_at", "kind", "platform", "plan"],
    "jobs": ["id", "tenant", "kind", "created_at", "finished_at", "status", "duration_ms"],
    "ai_usage": ["id", "tenant", "occurred_at", "model", "requests", "tokens", "cost_cents"],
    "leads": ["id", "created_at", "source", "status", "owner", "converted_at"],
    "calls": ["id", "lead_id", "staff", "started_at", "duration_s", "outcome", "successful"],
}

# Timestamp columns that must lie inside the generated history [utc_start, utc_end).
IN_RANGE = {
    "users": ["created_at"],
    "subscriptions": ["started_at", "canceled_at"],
    "subscription_periods": ["valid_from", "valid_to"],
    "payments": ["created_at"],
    "events": ["occurred_at"],
    "jobs": ["created_at", "finished_at"],
    "ai_usage": ["occurred_at"],
    "leads": ["created_at", "converted_at"],
    "calls": ["started_at"],
}

LOCAL = "CAST(({} + INTERVAL 330 MINUTE) AS DATE)"  # Asia/Kolkata local date of a naive UTC ts


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / DATABASE_FILE
    summary = generate(path, seed=7, end=END, scale=SCALE)
    con = duckdb.connect(str(path), read_only=True)
    yield summary, con
    con.close()


def one(con, sql: str, *params):
    return con.execute(sql, list(params)).fetchone()


def checksum(path: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: one(con, f"SELECT md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY id))"
                            f" FROM \"{t}\" AS t")[0] for t in COLUMNS}
    finally:
        con.close()


def test_summary_describes_the_file(company):
    summary, con = company
    assert summary["start"] == (END - timedelta(days=729)).isoformat()
    assert summary["end"] == END.isoformat()
    assert summary["timezone"] == "Asia/Kolkata"
    # The history is whole Asia/Kolkata days: [start 00:00 IST, end+1 00:00 IST) in UTC.
    assert summary["utc_start"] == "2024-03-31T18:30:00"
    assert summary["utc_end"] == "2026-03-31T18:30:00"
    assert set(summary["tables"]) == set(COLUMNS)
    for table, rows in summary["tables"].items():
        assert one(con, f'SELECT count(*) FROM "{table}"')[0] == rows
    t = summary["tables"]
    assert t["users"] == 800 and t["plans"] == 7
    assert 15_000 < t["events"] < 60_000
    assert t["subscriptions"] > 50 and t["workspaces"] >= 6
    assert set(summary["incidents"]) >= {"outage", "signup_campaign", "churn_wave"}


def test_generation_is_deterministic(company, tmp_path):
    summary, _ = company
    a = generate(tmp_path / "a.duckdb", seed=7, end=END, scale=SCALE)
    b = generate(tmp_path / "b.duckdb", seed=8, end=END, scale=SCALE)
    assert a["tables"] == summary["tables"]
    assert a["incidents"] == summary["incidents"]
    assert checksum(tmp_path / "a.duckdb") == checksum(Path(summary["path"]))
    assert checksum(tmp_path / "b.duckdb")["events"] != checksum(tmp_path / "a.duckdb")["events"]
    assert b["tables"]["users"] == a["tables"]["users"]  # size follows scale, not seed


def test_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "demo.duckdb"
    generate(path, days=10, end=END, scale=0.02)
    second = generate(path, days=20, end=END, scale=0.02)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert one(con, "SELECT count(*) FROM events")[0] == second["tables"]["events"]
    finally:
        con.close()


def test_default_end_is_yesterday_utc(tmp_path):
    summary = generate(tmp_path / "d.duckdb", days=3, scale=0.02)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert summary["end"] in (yesterday.isoformat(), (yesterday - timedelta(days=1)).isoformat())


def test_tables_have_the_expected_columns(company):
    _, con = company
    for table, columns in COLUMNS.items():
        got = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
            " ORDER BY ordinal_position", [table]).fetchall()]
        assert got == columns, table
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns"
                             " WHERE table_name = 'subscriptions'").fetchall())
    assert types["started_at"] == "TIMESTAMP"  # naive UTC
    assert types["mrr_cents"] == "BIGINT" and types["tenant"] == "VARCHAR"


def test_timestamps_lie_in_the_history(company):
    summary, con = company
    lo, hi = (datetime.fromisoformat(summary[k]) for k in ("utc_start", "utc_end"))
    for table, columns in IN_RANGE.items():
        for column in columns:
            first, last = one(con, f'SELECT min("{column}"), max("{column}") FROM "{table}"')
            assert first >= lo and last < hi, (table, column, first, last)
    # Tenants may predate the history, never a user of theirs.
    assert one(con, "SELECT count(*) FROM users u JOIN workspaces w ON w.id = u.workspace_id"
                    " WHERE u.created_at < w.created_at OR u.tenant <> w.slug")[0] == 0
    assert one(con, "SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id"
                    " WHERE e.occurred_at < u.created_at OR e.tenant <> u.tenant")[0] == 0
    assert one(con, "SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id"
                    " WHERE s.started_at < u.created_at OR s.tenant <> u.tenant")[0] == 0


def test_weekdays_are_busier_than_weekends(company):
    _, con = company
    weekday, weekend = one(con, f"""
        WITH d AS (SELECT {LOCAL.format('occurred_at')} AS dd, count(*) AS n FROM events
                   GROUP BY 1)
        SELECT avg(n) FILTER (WHERE isodow(dd) <= 5), avg(n) FILTER (WHERE isodow(dd) >= 6)
        FROM d""")
    assert weekday > 1.5 * weekend


def test_usage_grows(company):
    _, con = company
    first, last = one(con, f"""
        WITH d AS (SELECT {LOCAL.format('occurred_at')} AS dd FROM events)
        SELECT count(*) FILTER (WHERE dd < DATE '2024-07-01'),
               count(*) FILTER (WHERE dd >= DATE '2025-12-01' AND dd < DATE '2026-03-01')
        FROM d""")
    assert last > 2 * first


def test_subscription_states(company):
    _, con = company
    rows = {r[0]: r[1:] for r in con.execute("""
        SELECT status, count(*), max(mrr_cents), count(canceled_at),
               count(*) FILTER (WHERE trial_ends_at IS NULL)
        FROM subscriptions GROUP BY 1""").fetchall()}
    assert set(rows) == {"trialing", "active", "past_due", "canceled"}
    assert rows["trialing"][1] == 0          # trials bring no MRR
    assert rows["trialing"][3] == 0          # and always have a trial end
    for status in ("trialing", "active", "past_due"):
        assert rows[status][2] == 0          # open: no cancel time
    assert rows["canceled"][2] == rows["canceled"][0]
    # Free plans bring no MRR; paid ones their monthly-normalised price.
    assert one(con, "SELECT count(*) FROM subscriptions s JOIN plans p ON p.id = s.plan_id"
                    " WHERE p.is_free AND s.mrr_cents <> 0")[0] == 0
    assert one(con, """SELECT count(*) FROM subscriptions s JOIN plans p ON p.id = s.plan_id
                       WHERE s.status IN ('active', 'past_due') AND NOT p.is_free
                         AND s.mrr_cents <> CASE p."interval" WHEN 'year'
                             THEN p.amount_cents // 12 ELSE p.amount_cents END""")[0] == 0
    # Today's MRR is the same from the subscriptions and from their period history.
    now_subs, now_periods = one(con, """
        SELECT (SELECT sum(mrr_cents) FROM subscriptions WHERE canceled_at IS NULL),
               (SELECT sum(mrr_cents) FROM subscription_periods WHERE valid_to IS NULL)""")
    assert now_subs == now_periods > 0


def test_periods_never_overlap_and_explain_the_event_plan(company):
    _, con = company
    assert one(con, """
        SELECT count(*) FROM subscription_periods a JOIN subscription_periods b
          ON a.user_id = b.user_id AND a.id < b.id
         AND a.valid_from < coalesce(b.valid_to, 'infinity'::TIMESTAMP)
         AND b.valid_from < coalesce(a.valid_to, 'infinity'::TIMESTAMP)""")[0] == 0
    assert one(con, """
        SELECT count(*) FROM events e
        LEFT JOIN subscription_periods p ON p.user_id = e.user_id AND p.valid_from <= e.occurred_at
              AND (p.valid_to IS NULL OR p.valid_to > e.occurred_at)
        LEFT JOIN plans pl ON pl.id = p.plan_id
        WHERE coalesce(lower(split_part(pl.name, ' ', 1)), 'none') <> e.plan""")[0] == 0
    assert one(con, "SELECT count(DISTINCT plan) FROM events")[0] >= 4


def test_test_users_exist_and_stay_out_of_the_product(company):
    _, con = company
    n_test, n_events, n_subs = one(con, """
        SELECT (SELECT count(*) FROM users WHERE is_test),
               (SELECT count(*) FROM events e JOIN users u ON u.id = e.user_id WHERE u.is_test),
               (SELECT count(*) FROM subscriptions s JOIN users u ON u.id = s.user_id
                 WHERE u.is_test)""")
    assert n_test > 0 and n_events == 0 and n_subs == 0


def test_incidents_are_visible(company):
    summary, con = company
    inc = {k: date.fromisoformat(v) for k, v in summary["incidents"].items()}

    def daily(sql_ts: str, table: str, where: str = "TRUE") -> dict[date, int]:
        return dict(con.execute(f"SELECT {LOCAL.format(sql_ts)} AS dd, count(*) FROM {table}"
                                f" WHERE {where} GROUP BY 1").fetchall())

    events = daily("occurred_at", "events")
    around = [events.get(inc["outage"] + timedelta(days=k), 0) for k in (-7, 7)]
    assert events.get(inc["outage"], 0) < 0.1 * min(around)

    signups = daily("created_at", "users", "NOT is_test")
    usual = sum(signups.get(inc["signup_campaign"] - timedelta(days=k), 0)
                for k in range(7, 35)) / 28
    assert signups.get(inc["signup_campaign"], 0) > 3 * usual

    cancels = daily("canceled_at", "subscriptions", "canceled_at IS NOT NULL")
    wave = sum(cancels.get(inc["churn_wave"] + timedelta(days=k), 0) for k in range(7))
    before = sum(cancels.get(inc["churn_wave"] - timedelta(days=k), 0) for k in range(1, 8))
    assert wave > 2 * max(before, 1)


def test_project_file_matches_the_data(company):
    summary, con = company
    base = Path(summary["path"]).parent
    project = parse_project(project_yaml(), file="daypulse.yml", base=base)
    assert project.timezone == "Asia/Kolkata"
    assert project.source == f"duckdb:///{(base / DATABASE_FILE).resolve()}"
    contract = {"signups", "subscriptions_created", "subscriptions_cancelled",
                "active_subscriptions", "mrr", "captures", "capturing_users", "dau", "wau",
                "mau", "stickiness", "signups_mtd", "subscriptions_created_mtd"}
    assert contract <= set(project.metrics)
    assert project.metrics["mrr"].format == "currency"
    assert project.metrics["wau"].window == 7 and project.metrics["mau"].window == 28
    columns = {}
    for table, column in con.execute("SELECT table_name, column_name"
                                     " FROM information_schema.columns").fetchall():
        columns.setdefault(table, set()).add(column)
    for name, m in project.metrics.items():
        assert m.description, name
        if not hasattr(m, "table"):
            continue
        used = {getattr(m, k, None) for k in ("time", "start", "end", "column")}
        used |= set(m.where) | set(m.dimensions.values())
        assert used - {None} <= columns[m.table], name
        for column, cond in m.where.items():  # where values that select nothing are typos
            values = cond if not isinstance(cond, dict) else next(iter(cond.values()))
            values = values if isinstance(values, list) else [values]
            seen = {r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM "{m.table}"')
                    .fetchall()}
            if isinstance(cond, dict) and next(iter(cond)) in ("gt", "ge", "lt", "le"):
                continue
            assert set(values) <= seen, (name, column, values)
