"""A worked adoption, as a gym that runs seed 002's lead reports would do it (issue 18).

The schema is the seed's, on PostgreSQL: ``leads`` (UUID ids, ``branch_id``, ``lead_status``, no
contact or conversion times) and ``call_logs`` (``user_id`` of the staff member, ``status``,
``outcome``, ``duration`` in seconds, naive UTC ``created_at``), with a ``staff`` lookup table
whose names label the leaderboard.
It is mapped onto the sales pack in daypulse.yml, checked, computed, and the daily and weekly
lead reports for one branch are read as a user reads them (``daypulse report ... --filter``).

Hand-computed, in America/Chicago (CDT, UTC-5, from 2026-03-08). North's Monday 2026-03-09:
  c1 00:00 Asha completed interested 120s   c2 10:00 Asha completed not_interested 60s
  c3 11:00 Ben missed                      c4 12:30 Ben completed interested 300s
  (c0 at 04:59:59 UTC is 23:59:59 on Sunday: the week before; c5 is South's.)
  -> calls 4, completed 3, connect 75%, success 2/4 = 50%, average length (120+60+300)/3 = 160 s;
     outcomes interested 2, not_interested 1, (null) 1; Asha 2 calls, 2 completed, 50%;
     Ben 2, 1, 50%. New leads 3 (north), 1 (south).
The week of 2026-03-09 adds c6 (Tuesday, Asha, completed wrong_number, 30 s) and one lead:
  -> calls 5, completed 4, success 2/5 = 40%, average (120+60+300+30)/4 = 127.5 s;
     Asha 3 calls, 3 completed, 1/3; Ben 2, 1, 50%; new leads 4.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from sources import PG_URL, drop_postgres_schema

NORTH, SOUTH = "22222222-2222-2222-2222-222222222222", "2b2b2b2b-2b2b-2b2b-2b2b-2b2b2b2b2b2b"
ASHA, BEN, CHEN = ("55555555-5555-5555-5555-555555555555", "66666666-6666-6666-6666-666666666666",
                   "77777777-7777-7777-7777-777777777777")
GYM = "33333333-3333-3333-3333-333333333333"
T = datetime.fromisoformat
LEADS = [  # branch, status, created_at (naive UTC)
    (NORTH, "new", T("2026-03-09 14:00")), (NORTH, "contacted", T("2026-03-09 15:00")),
    (NORTH, "converted", T("2026-03-09 23:00")), (SOUTH, "new", T("2026-03-09 16:00")),
    (NORTH, "new", T("2026-03-09 04:59:59")),  # Sunday 23:59:59 local: not Monday's
    (NORTH, "lost", T("2026-03-10 15:00")),
]
CALLS = [  # branch, staff, status, outcome, duration, created_at (naive UTC)
    (NORTH, ASHA, "completed", "interested", 45, T("2026-03-09 04:59:59")),  # c0, Sunday local
    (NORTH, ASHA, "completed", "interested", 120, T("2026-03-09 05:00")),  # c1, Monday 00:00
    (NORTH, ASHA, "completed", "not_interested", 60, T("2026-03-09 15:00")),
    (NORTH, BEN, "missed", None, 0, T("2026-03-09 16:00")),
    (NORTH, BEN, "completed", "interested", 300, T("2026-03-09 17:30")),
    (SOUTH, CHEN, "completed", "interested", 100, T("2026-03-09 15:00")),  # c5
    (NORTH, ASHA, "completed", "wrong_number", 30, T("2026-03-10 15:00")),  # c6
]
PROJECT = """
name: gym
timezone: America/Chicago
source: {source}
store: sqlite:///store.db
include: [sales]
tables: {{calls: call_logs}}
columns:
  leads.branch: branch_id
  leads.status: lead_status
  leads.source: null
  leads.staff: null
  leads.contacted_at: null
  leads.qualified_at: null
  leads.converted_at: null
  calls.started_at: created_at
  calls.branch: branch_id
  calls.staff: user_id
  calls.duration_s: duration
dimensions:
  staff: {{labels: {{table: staff, key: id, label: full_name}}}}
channels: {{file: {{root: out}}}}
subscriptions:
  - {{name: north-daily, report: leads, schedule: daily at 07:00, channel: file, to: north,
     filter: {{branch: "{north}"}}}}
  - {{name: north-weekly, report: leads-weekly, schedule: {{at: "07:00", days: [mon]}}, channel: file,
     to: north, filter: {{branch: "{north}"}}}}
"""


@pytest.fixture(scope="module")
def gym(tmp_path_factory) -> Path:
    schema = f"dp_gym_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"SET search_path TO {schema}")
        con.execute("CREATE TABLE leads (id uuid PRIMARY KEY, branch_id uuid, gym_id uuid, first_name text,"
                    " last_name text, phone text, email text, lead_status text, created_at timestamp,"
                    " updated_at timestamp)")
        con.execute("CREATE TABLE call_logs (id uuid PRIMARY KEY, lead_id uuid, branch_id uuid, gym_id uuid,"
                    " user_id uuid, direction text, status text, outcome text, duration integer,"
                    " created_at timestamp, notes text)")
        con.execute("CREATE TABLE staff (id uuid PRIMARY KEY, full_name text)")
        with con.cursor() as cur:
            cur.executemany("INSERT INTO leads VALUES (gen_random_uuid(), %s, %s, 'A', 'B', '', '', %s, %s, %s)",
                            [(b, GYM, s, at, at) for b, s, at in LEADS])
            cur.executemany("INSERT INTO call_logs VALUES (gen_random_uuid(), NULL, %s, %s, %s, 'outbound',"
                            " %s, %s, %s, %s, '')", [(b, GYM, u, s, o, d, at) for b, u, s, o, d, at in CALLS])
            cur.executemany("INSERT INTO staff VALUES (%s, %s)",
                            [(ASHA, "Asha Rao"), (BEN, "Ben Ortiz"), (CHEN, "Chen Li")])
    folder = tmp_path_factory.mktemp("gym")
    (folder / "daypulse.yml").write_text(PROJECT.format(source=f"{PG_URL}?schema={schema}", north=NORTH))
    yield folder
    drop_postgres_schema(schema)


@pytest.fixture
def daypulse(gym, capsys, monkeypatch):
    """``daypulse ARGS`` in the gym's folder, in this process: (exit code, stdout, stderr)."""
    from deliverykit import cli

    return lambda *args: cli(capsys, monkeypatch, gym, *args)


def report(daypulse, name: str, day: str) -> dict:
    code, out, err = daypulse("report", name, "--date", day, "--format", "json", "--no-charts",
                              "--filter", f"branch={NORTH}")
    assert code == 0, err
    return json.loads(out)


def lines(rep: dict) -> dict:
    return {ln["metric"]: ln["value"] for s in rep["sections"] for ln in s["lines"]}


def tables(rep: dict) -> dict:
    return {b["title"]: {r["label"]: r["values"] for r in b["rows"]} for s in rep["sections"]
            for b in s["breakdowns"]}


def test_check_then_compute_then_the_branch_reports(daypulse):
    code, _, err = daypulse("check")
    assert code == 0, err
    assert "store sqlite:///" in err and "not created yet (compute creates it)" in err
    for gone in ("funnel_contacted", "leads_converted", "contact_rate", "lead_conversion_rate"):
        assert f"{gone} is left out" in err, (gone, err)
    assert "stored for filtered reports: calls: [branch, hour], [branch, outcome], [branch, staff]" in err
    code, _, err = daypulse("compute", "--start", "2026-03-02", "--end", "2026-03-15", "--as-of",
                            "2026-03-16T12:00:00+00:00")
    assert code == 0, err

    daily = report(daypulse, "leads", "2026-03-09")
    got = lines(daily)
    assert got["leads_created"] == 3 and got["calls"] == 4 and got["completed_calls"] == 3
    assert got["call_connect_rate"] == 0.75 and got["call_success_rate"] == 0.5
    assert got["avg_call_duration"] == 160
    assert "leads_converted" not in got  # left out: the schema has no conversion time
    t = tables(daily)
    assert t["Call outcomes"] == {"interested": [2], "not_interested": [1], "(null)": [1]}
    assert t["Staff leaderboard"] == {"Asha Rao": [2, 2, 0.5], "Ben Ortiz": [2, 1, 0.5]}  # names, not UUIDs
    keys = {r["label"]: r["key"] for s in daily["sections"] for b in s["breakdowns"] for r in b["rows"]
            if b["title"] == "Staff leaderboard"}
    assert keys == {"Asha Rao": ASHA, "Ben Ortiz": BEN}
    assert not [n for n in daily["notes"] if "not shown" in n], daily["notes"]

    weekly = report(daypulse, "leads-weekly", "2026-03-09")
    got = lines(weekly)
    assert got["leads_created"] == 4 and got["calls"] == 5 and got["completed_calls"] == 4
    assert got["call_success_rate"] == 0.4 and got["avg_call_duration"] == 127.5
    t = tables(weekly)
    assert t["Staff leaderboard"] == {"Asha Rao": [3, 3, pytest.approx(1 / 3)], "Ben Ortiz": [2, 1, 0.5]}
    assert t["Call outcomes"] == {"interested": [2], "not_interested": [1], "wrong_number": [1], "(null)": [1]}
