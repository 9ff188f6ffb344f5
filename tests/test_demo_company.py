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
from daypulse.project import parse_project
from daypulse.project.kinds import kind_of

END = date(2026, 3, 31)
SCALE = 0.1

COLUMNS = {
    "workspaces": ["id", "slug", "name", "created_at"],
    "users": ["id", "workspace_id", "tenant", "email", "created_at", "is_test", "platform",
              "country"],
    "plans": ["id", "name", "interval", "amount_cents", "is_free"],
    "subscriptions": ["id", "user_id", "tenant", "plan_id", "status", "started_at",
                      "trial_ends_at", "canceled_at", "mrr_cents"],
    "subscription_periods": ["id", "subscription_id", "user_id", "tenant", "plan_id", "status",
                             "mrr_cents", "valid_from", "valid_to"],
    "payments": ["id", "subscription_id", "user_id", "tenant", "created_at", "amount_cents",
                 "status", "fee_cents"],
    "events": ["id", "user_id", "tenant", "occurred_at", "kind", "platform", "plan"],
    "jobs": ["id", "tenant", "kind", "created_at", "finished_at", "status", "duration_s"],
    "ai_usage": ["id", "tenant", "occurred_at", "model", "requests", "tokens", "cost_cents"],
    "api_requests": ["occurred_at", "requests", "errors"],
    "leads": ["id", "created_at", "branch", "source", "status", "staff", "contacted_at",
              "qualified_at", "converted_at", "lost_at"],
    "calls": ["id", "lead_id", "branch", "staff", "started_at", "status", "outcome",
              "duration_s"],
    "posts": ["id", "created_at", "published_at", "platform", "status", "campaign"],
    "post_stats": ["post_id", "platform", "occurred_at", "views", "likes", "comments", "shares"],
    "ad_spend": ["occurred_at", "campaign", "platform", "spend_cents", "impressions", "clicks",
                 "conversions"],
}

# Column types the metric packs rely on (the others are checked by name only).
TYPES = {
    ("subscriptions", "started_at"): "TIMESTAMP",  # naive UTC
    ("subscriptions", "mrr_cents"): "BIGINT",
    ("subscriptions", "tenant"): "VARCHAR",
    ("subscription_periods", "status"): "VARCHAR",
    ("payments", "fee_cents"): "BIGINT",
    ("jobs", "duration_s"): "DOUBLE",
    ("api_requests", "occurred_at"): "TIMESTAMP",
    ("api_requests", "requests"): "BIGINT",
    ("api_requests", "errors"): "BIGINT",
    ("leads", "lost_at"): "TIMESTAMP",
    ("calls", "outcome"): "VARCHAR",
    ("calls", "duration_s"): "BIGINT",
    ("post_stats", "views"): "BIGINT",
    ("ad_spend", "spend_cents"): "BIGINT",
}

# Every value each categorical column takes (a contract: packs select on these).
VOCABULARY = {
    ("subscriptions", "status"): {"trialing", "active", "past_due", "canceled"},
    ("subscription_periods", "status"): {"trialing", "active", "past_due"},
    ("payments", "status"): {"succeeded", "failed"},
    ("leads", "status"): {"new", "contacted", "qualified", "converted", "lost"},
    ("leads", "branch"): {"downtown", "uptown", "riverside", "airport"},
    ("leads", "staff"): {"asha", "ben", "carmen", "dev", "elif", "farah"},
    ("calls", "status"): {"completed", "missed", "failed"},
    ("calls", "outcome"): {"interested", "not_interested", "wrong_number", "callback", None},
    ("posts", "platform"): {"tiktok", "instagram", "youtube_shorts"},
    ("posts", "status"): {"draft", "ready", "approved", "posted", "failed"},
    ("ad_spend", "platform"): {"google", "meta", "tiktok"},
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
    "api_requests": ["occurred_at"],
    "leads": ["created_at", "contacted_at", "qualified_at", "converted_at", "lost_at"],
    "calls": ["started_at"],
    "posts": ["created_at", "published_at"],
    "post_stats": ["occurred_at"],
    "ad_spend": ["occurred_at"],
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
        return {t: one(con, f"SELECT md5(string_agg(CAST(t AS VARCHAR), '|'"
                            f" ORDER BY CAST(t AS VARCHAR))) FROM \"{t}\" AS t")[0]
                for t in COLUMNS}
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
    types = {(t, c): d for t, c, d in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns").fetchall()}
    for key, expected in TYPES.items():
        assert types[key] == expected, key
    for (table, column), values in VOCABULARY.items():
        seen = {r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall()}
        # Posts wait in ready/approved for a day or so: only the last days' few posts may be.
        maybe = {"ready", "approved"} if (table, column) == ("posts", "status") else set()
        assert values - maybe <= seen <= values, (table, column, seen)


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

    def daily_sum(table: str, columns: str) -> dict[date, tuple]:
        return {r[0]: r[1:] for r in con.execute(
            f"SELECT {LOCAL.format('occurred_at')}, {columns} FROM {table} GROUP BY 1").fetchall()}

    # The signup campaign is a burst of ad spend that brings conversions.
    ads = daily_sum("ad_spend", "sum(spend_cents), sum(conversions)")
    for i in (0, 1):
        usual = sum(ads[inc["signup_campaign"] - timedelta(days=k)][i] for k in range(7, 35)) / 28
        assert ads[inc["signup_campaign"]][i] > 3 * usual

    # During the outage most API requests fail; otherwise a few in a thousand do.
    api = daily_sum("api_requests", "sum(requests), sum(errors)")
    assert api[inc["outage"]][1] > 0.3 * api[inc["outage"]][0]
    for k in (-7, 7):
        requests, errors = api[inc["outage"] + timedelta(days=k)]
        assert 0.001 * requests < errors < 0.01 * requests


def test_subscription_periods_follow_the_billing(company):
    _, con = company
    # A subscription's periods are contiguous (a change closes one period and opens the next
    # at the same instant), each one changes the plan or the status, and only the first one
    # may be the trial, which brings no MRR.
    assert one(con, """
        WITH p AS (SELECT *, lead(valid_from) OVER w AS next_from, lead(status) OVER w AS next_status,
                          lead(plan_id) OVER w AS next_plan, row_number() OVER w AS k
                   FROM subscription_periods
                   WINDOW w AS (PARTITION BY subscription_id ORDER BY valid_from))
        SELECT count(*) FILTER (WHERE next_from IS NOT NULL AND valid_to IS DISTINCT FROM next_from),
               count(*) FILTER (WHERE next_status = status AND next_plan = plan_id),
               count(*) FILTER (WHERE status = 'trialing' AND (k > 1 OR mrr_cents <> 0)),
               count(*) FILTER (WHERE valid_to <= valid_from)
        FROM p""") == (0, 0, 0, 0)
    # Today's status is the open period's, or canceled when the last one ended (at canceled_at).
    assert one(con, """
        WITH last AS (SELECT * FROM subscription_periods QUALIFY row_number() OVER
                        (PARTITION BY subscription_id ORDER BY valid_from DESC) = 1)
        SELECT count(*) FROM subscriptions s LEFT JOIN last l ON l.subscription_id = s.id
        WHERE l.id IS NULL OR l.valid_to IS DISTINCT FROM s.canceled_at OR l.plan_id <> s.plan_id
           OR s.status <> CASE WHEN l.valid_to IS NULL THEN l.status ELSE 'canceled' END""")[0] == 0
    # past_due starts at a failed payment (or continues across a plan change) and is left
    # for active only at a succeeded payment (the retry); every failed payment is in one.
    started, recovered, unpaid = one(con, """
        WITH p AS (SELECT *, lag(status) OVER w AS prev, lead(status) OVER w AS next
                   FROM subscription_periods
                   WINDOW w AS (PARTITION BY subscription_id ORDER BY valid_from))
        SELECT count(*) FILTER (WHERE status = 'past_due' AND prev IS DISTINCT FROM 'past_due'
                                  AND NOT EXISTS (SELECT 1 FROM payments y
                                      WHERE y.subscription_id = p.subscription_id
                                        AND y.created_at = p.valid_from AND y.status = 'failed')),
               count(*) FILTER (WHERE status = 'past_due' AND next = 'active'
                                  AND NOT EXISTS (SELECT 1 FROM payments y
                                      WHERE y.subscription_id = p.subscription_id
                                        AND y.created_at = p.valid_to AND y.status = 'succeeded')),
               (SELECT count(*) FROM payments y WHERE status = 'failed' AND NOT EXISTS (
                    SELECT 1 FROM subscription_periods q
                    WHERE q.subscription_id = y.subscription_id AND q.status = 'past_due'
                      AND q.valid_from <= y.created_at
                      AND (q.valid_to IS NULL OR q.valid_to > y.created_at)))
        FROM p""")
    assert started == recovered == unpaid == 0
    # Both ways out of past_due happen: recovering, and being cancelled while past_due.
    back, cancelled = one(con, """
        WITH p AS (SELECT *, lead(status) OVER (PARTITION BY subscription_id ORDER BY valid_from)
                             AS next FROM subscription_periods)
        SELECT count(*) FILTER (WHERE status = 'past_due' AND next = 'active'),
               count(*) FILTER (WHERE status = 'past_due' AND next IS NULL AND valid_to IS NOT NULL)
        FROM p""")
    assert back > 0 and cancelled > 0
    # Payments fall in a paid period; fees only on succeeded ones.
    assert one(con, """
        SELECT count(*) FROM payments y WHERE NOT EXISTS (
            SELECT 1 FROM subscription_periods q WHERE q.subscription_id = y.subscription_id
               AND q.status <> 'trialing' AND q.valid_from <= y.created_at
               AND (q.valid_to IS NULL OR q.valid_to > y.created_at))""")[0] == 0
    assert one(con, """
        SELECT count(*) FILTER (WHERE status = 'failed' AND fee_cents <> 0),
               count(*) FILTER (WHERE status = 'succeeded'
                                  AND fee_cents <> round(amount_cents * 0.029) + 30),
               count(*) FILTER (WHERE status = 'failed') > 0
        FROM payments""") == (0, 0, True)


def test_leads_move_through_the_funnel(company):
    _, con = company
    # Timestamps in funnel order, each stage implying the ones before; status = latest stage.
    assert one(con, """
        SELECT count(*) FROM leads WHERE NOT (
            (contacted_at IS NULL OR contacted_at > created_at)
            AND (qualified_at IS NULL OR contacted_at < qualified_at)
            AND (converted_at IS NULL OR qualified_at < converted_at)
            AND (lost_at IS NULL OR (converted_at IS NULL
                 AND lost_at > greatest(created_at, contacted_at, qualified_at)))
            AND status = CASE WHEN lost_at IS NOT NULL THEN 'lost'
                              WHEN converted_at IS NOT NULL THEN 'converted'
                              WHEN qualified_at IS NOT NULL THEN 'qualified'
                              WHEN contacted_at IS NOT NULL THEN 'contacted' ELSE 'new' END)
        """)[0] == 0
    # Lost leads were lost at every stage but the last.
    lost_at = {r[0] for r in con.execute("""
        SELECT CASE WHEN qualified_at IS NOT NULL THEN 'qualified'
                    WHEN contacted_at IS NOT NULL THEN 'contacted' ELSE 'new' END
        FROM leads WHERE status = 'lost'""").fetchall()}
    assert lost_at == {"new", "contacted", "qualified"}
    # A realistic funnel for leads old enough to have gone through it...
    contacted, qualified, converted = one(con, """
        SELECT avg((contacted_at IS NOT NULL)::INT), avg((qualified_at IS NOT NULL)::INT),
               avg((converted_at IS NOT NULL)::INT)
        FROM leads WHERE created_at < (SELECT max(created_at) - INTERVAL 60 DAY FROM leads)""")
    assert 0.6 < contacted < 0.8 and 0.25 < qualified < 0.45 and 0.07 < converted < 0.18
    # ...while the newest leads are mostly still new or contacted.
    assert one(con, """
        SELECT avg((status IN ('new', 'contacted'))::INT) FROM leads
        WHERE created_at >= (SELECT max(created_at) - INTERVAL 3 DAY FROM leads)""")[0] > 0.8
    # Being contacted and qualified are completed calls by the lead's owner.
    assert one(con, """
        SELECT count(*) FROM leads l, unnest([l.contacted_at, l.qualified_at]) AS s(stamp)
        WHERE s.stamp IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM calls c WHERE c.lead_id = l.id AND c.started_at = s.stamp
               AND c.status = 'completed')""")[0] == 0


def test_calls_are_made_in_sales_hours(company):
    _, con = company
    # Outcome and duration only for completed calls; calls by the owner, at the lead's branch,
    # after the lead came in and no later than it was won or lost.
    assert one(con, """
        SELECT count(*) FROM calls c JOIN leads l ON l.id = c.lead_id
        WHERE (c.outcome IS NULL) <> (c.status <> 'completed')
           OR (c.duration_s > 0) <> (c.status = 'completed')
           OR c.staff <> l.staff OR c.branch <> l.branch OR c.started_at <= l.created_at
           OR c.started_at > coalesce(l.converted_at, l.lost_at, 'infinity'::TIMESTAMP)
        """)[0] == 0
    assert one(con, "SELECT count(*) FROM calls c LEFT JOIN leads l ON l.id = c.lead_id"
                    " WHERE l.id IS NULL")[0] == 0
    # Local working hours 09:00-20:00, Monday to Saturday, busiest late morning and evening.
    hours = dict(con.execute("""
        SELECT hour(started_at + INTERVAL 330 MINUTE), count(*) FROM calls GROUP BY 1""").fetchall())
    assert set(hours) == set(range(9, 20))
    assert hours[11] > 1.5 * hours[9] and hours[11] > 1.5 * hours[13]
    days = dict(con.execute(f"SELECT isodow({LOCAL.format('started_at')}), count(*) FROM calls"
                            " GROUP BY 1").fetchall())
    assert 7 not in days and days[6] < 0.7 * days[3]
    # A leaderboard has something to say: staff differ in volume and in success.
    board = con.execute("""
        SELECT staff, count(*), avg((status = 'completed')::INT), avg((outcome = 'interested')::INT)
        FROM calls GROUP BY 1""").fetchall()
    assert len(board) == 6
    volumes, completed = [r[1] for r in board], [r[2] for r in board]
    assert max(volumes) > 1.3 * min(volumes) and max(completed) - min(completed) > 0.08


def test_jobs_durations(company):
    _, con = company
    assert one(con, """
        SELECT count(*) FROM jobs
        WHERE (duration_s IS NULL) <> (status = 'running')
           OR abs(epoch(finished_at) - epoch(created_at) - duration_s) > 0.001
           OR duration_s <= 0""")[0] == 0


def test_api_requests_one_row_per_hour(company):
    summary, con = company
    lo, hi = (datetime.fromisoformat(summary[k]) for k in ("utc_start", "utc_end"))
    rows, distinct, first, last, off_hour, bad = one(con, """
        SELECT count(*), count(DISTINCT occurred_at), min(occurred_at), max(occurred_at),
               count(*) FILTER (WHERE date_trunc('hour', occurred_at) <> occurred_at),
               count(*) FILTER (WHERE errors < 0 OR errors > requests OR requests <= 0)
        FROM api_requests""")
    assert off_hour == bad == 0 and rows == distinct
    # Every whole UTC hour starting inside the history, no gaps.
    assert first == lo.replace(minute=0) + timedelta(hours=1) and last == hi.replace(minute=0)
    assert rows == (last - first) // timedelta(hours=1) + 1 == 730 * 24
    # Daily seasonality follows local (IST) working hours; traffic grows.
    night, day, early, late = one(con, """
        SELECT avg(requests) FILTER (WHERE hour(occurred_at + INTERVAL 330 MINUTE) = 3),
               avg(requests) FILTER (WHERE hour(occurred_at + INTERVAL 330 MINUTE) = 11),
               avg(requests) FILTER (WHERE occurred_at < ? + INTERVAL 90 DAY),
               avg(requests) FILTER (WHERE occurred_at >= ? - INTERVAL 90 DAY)
        FROM api_requests""", lo, hi)
    assert day > 3 * night and late > 2 * early


def test_posts_and_their_stats(company):
    summary, con = company
    assert one(con, """
        SELECT count(*) FROM posts WHERE (published_at IS NOT NULL) <> (status = 'posted')
            OR published_at <= created_at""")[0] == 0
    assert one(con, "SELECT count(*) / (SELECT count(DISTINCT {}) FROM posts) FROM posts"
                    .format(LOCAL.format("created_at")))[0] > 0.5  # a few posts a day
    # Stats: only posted posts, one row per local day from the publishing day for 30 days,
    # stamped at the start of the local day.
    assert one(con, f"""
        SELECT count(*) FROM post_stats s LEFT JOIN posts p ON p.id = s.post_id
        WHERE p.status IS DISTINCT FROM 'posted' OR s.platform <> p.platform
           OR {LOCAL.format('s.occurred_at')} < {LOCAL.format('p.published_at')}
           OR {LOCAL.format('s.occurred_at')} >= {LOCAL.format('p.published_at')} + 30
           OR CAST(s.occurred_at + INTERVAL 330 MINUTE AS TIME) <> TIME '00:00'""")[0] == 0
    assert one(con, "SELECT count(*) - count(DISTINCT (post_id, occurred_at)) FROM post_stats")[0] == 0
    full, days = one(con, f"""
        SELECT count(*) FILTER (WHERE n <> 30), count(*) FROM (
            SELECT p.id, count(s.post_id) AS n FROM posts p LEFT JOIN post_stats s ON s.post_id = p.id
            WHERE p.status = 'posted'
              AND {LOCAL.format('p.published_at')} <= DATE '{summary["end"]}' - 29 GROUP BY 1)""")
    assert full == 0 and days > 0
    # Views decay after publishing; engagement is a small share of views.
    first_day, tenth_day, likes, comments, shares = one(con, f"""
        SELECT sum(views) FILTER (WHERE d = 0), sum(views) FILTER (WHERE d = 9),
               sum(likes) / sum(views), sum(comments) / sum(views), sum(shares) / sum(views)
        FROM (SELECT s.*, {LOCAL.format('s.occurred_at')} - {LOCAL.format('p.published_at')} AS d
              FROM post_stats s JOIN posts p ON p.id = s.post_id)""")
    assert first_day > 10 * tenth_day
    assert 0.03 < likes < 0.05 and 0.003 < comments < 0.007 and 0.006 < shares < 0.01


def test_ad_spend_per_day_and_campaign(company):
    _, con = company
    assert one(con, f"""
        SELECT count(*) - count(DISTINCT (occurred_at, campaign)),
               count(*) FILTER (WHERE CAST(occurred_at + INTERVAL 330 MINUTE AS TIME) <> TIME '00:00'),
               count(*) FILTER (WHERE NOT (0 < spend_cents AND clicks <= impressions
                                           AND conversions <= clicks)),
               count(DISTINCT {LOCAL.format('occurred_at')})
        FROM ad_spend""") == (0, 0, 0, 730)
    # One platform per campaign.
    assert one(con, "SELECT max(n) FROM (SELECT count(DISTINCT platform) AS n FROM ad_spend"
                    " GROUP BY campaign)")[0] == 1


def test_project_file_matches_the_data(company):
    summary, con = company
    base = Path(summary["path"]).parent
    from daypulse.delivery.config import SECTIONS, yaml_subscriptions

    # With the delivery sections checked, as every command loads it: the digest goes to the
    # file channel's root (outbox/), with no target of its own.
    project = parse_project(project_yaml(), file="daypulse.yml", base=base, sections=SECTIONS)
    assert [(s.name, s.channel, s.to) for s in yaml_subscriptions(project)] == [("exec-digest", "file", None)]
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
        used = {getattr(m, k, None) for k in ("time", "start", "end", "entity")}
        used |= set(kind_of(m).columns(m).values())  # the measured column, or those its arithmetic names
        used |= set(m.where) | {c for c in m.dimensions.values() if not c.startswith("@")}
        assert used - {None} <= columns[m.table], name
        for column, cond in m.where.items():  # where values that select nothing are typos
            values = cond if not isinstance(cond, dict) else next(iter(cond.values()))
            values = values if isinstance(values, list) else [values]
            seen = {r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM "{m.table}"')
                    .fetchall()}
            if isinstance(cond, dict) and next(iter(cond)) in ("gt", "ge", "lt", "le", "is_null"):
                continue
            assert set(values) <= seen, (name, column, values)


def test_some_customers_go_quiet_before_they_cancel_and_churn_risk_finds_them(tmp_path):
    """The demo's churn story: 40% of the customers who cancel, and 3% of those still subscribed,
    stop using the product 8 to 21 days before the end. Scored with the demo's churn: section,
    the customers going quiet now rank far above the others; the scored customers are exactly
    those active_subscribers counts."""
    import statistics

    from daypulse.churn.run import run_churn
    from daypulse.engine.run import run_compute
    from daypulse.store.db import open_store

    summary = generate(tmp_path / DATABASE_FILE, seed=7, end=END, scale=SCALE)
    with duckdb.connect(summary["path"], read_only=True) as con:
        # Customers whose last subscription ended in the history: silent in their last 7 days.
        quiet, ended = one(con, """
            WITH gone AS (SELECT user_id, max(canceled_at) AS at FROM subscriptions GROUP BY user_id
                          HAVING count(*) FILTER (WHERE canceled_at IS NULL) = 0)
            SELECT count(*) FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM events e WHERE e.user_id = g.user_id
                       AND e.occurred_at >= g.at - INTERVAL 7 DAY AND e.occurred_at < g.at)),
                   count(*) FROM gone g""")
    assert ended > 50 and quiet / ended > 0.4, (quiet, ended)

    text = project_yaml().replace("store: sqlite:///daypulse.db", f"store: sqlite:///{tmp_path}/s.db")
    project = parse_project(text, file="daypulse.yml", base=tmp_path)
    store = open_store(project.store)
    outcome = run_churn(project, store, END - timedelta(days=13), END)
    computed = run_compute(project, store, END, END, metrics=["active_subscribers"], grains=["day"])
    on_end = [r for r in outcome.records if r["day"] == END.isoformat()]
    counted = next(v.value for v in computed.values if v.metric == "active_subscribers" and not v.dims)
    assert len(on_end) == counted
    with duckdb.connect(summary["path"], read_only=True) as con:
        going = {str(u) for (u,) in con.execute("""
            SELECT user_id FROM subscriptions GROUP BY user_id
            HAVING count(*) FILTER (WHERE canceled_at IS NULL) > 0""").fetchall()
                 if (u - 1) * 2654435761 % 1000 < 30}  # user_id is the user number + 1
    mine = [r["score"] for r in on_end if r["entity"] in going]
    rest = [r["score"] for r in on_end if r["entity"] not in going]
    assert len(mine) >= 3 and statistics.mean(mine) > statistics.mean(rest) + 20, (mine, statistics.mean(rest))
    assert outcome.levels.get("critical", 0) > 0


def test_the_demo_incidents_raise_their_alerts_and_a_weekend_does_not(tmp_path):
    """The demo's alert rules (its daypulse.yml) over the last 130 days, at full scale: the API
    outage raises error-rate and quiet-day on its day, the OCR worker bug job-failures, the
    price-change week churn-spike; no weekend is a "quiet day" (the history is the same weekday)."""
    from datetime import datetime

    from daypulse.alerts.metric_alerts import evaluate
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.engine.run import run_compute
    from daypulse.store import alert_events
    from daypulse.store.db import open_store

    summary = generate(tmp_path / DATABASE_FILE, seed=7, end=END, scale=1.0)
    incident = {k: date.fromisoformat(v) for k, v in summary["incidents"].items()}
    text = project_yaml().replace("store: sqlite:///daypulse.db", f"store: sqlite:///{tmp_path}/s.db")
    project = parse_project(text, file="daypulse.yml", base=tmp_path, sections=SECTIONS)
    for derive in DERIVED:
        project = derive(project)
    store = open_store(project.store)
    run_compute(project, store, END - timedelta(days=130), END, grains=["day", "week"],
                metrics=["dau", "error_rate", "job_failure_rate", "customer_churn_rate", "payment_failure_rate"])
    evaluate(project, store, datetime(2026, 4, 1, 6, tzinfo=UTC))
    raised: dict[str, list[date]] = {}
    for e in alert_events.events(store):
        raised.setdefault(e.rule, []).append(e.period)
    assert raised["error-rate"] == [incident["outage"]]
    assert incident["outage"] in raised["quiet-day"]
    assert all(d.weekday() < 5 for d in raised["quiet-day"]), raised["quiet-day"]  # no weekend dip
    assert incident["job_failures"] in raised["job-failures"]
    assert incident["churn_wave"] in raised["churn-spike"]  # the week of the price change (from Monday)
    store.engine.dispose()
