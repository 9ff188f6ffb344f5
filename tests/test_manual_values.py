"""Manual values (kind: manual metrics such as burn rate and runway): the store functions,
the 0002 migration and `daypulse manual`, on both stores daypulse supports."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from daypulse.errors import StoreError, UsageError
from daypulse.project import load_project
from daypulse.store.db import Store, open_store
from daypulse.store.manual import (
    ManualValue,
    list_values,
    manual_metrics,
    parse_value,
    require_manual,
    series,
    set_value,
    unset_value,
)
from daypulse.store.models import ManualValueRow
from storekit import PROJECT, write_project

MANUAL = {
    "burn_rate": {"kind": "manual", "format": "currency", "good": "down"},
    "runway_months": {"kind": "manual", "good": "up"},
}


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.engine.dispose()


def project_file(folder: Path, store: str) -> Path:
    # The source is never opened by `daypulse manual`.
    return write_project(folder, "duckdb:///app.duckdb", store,
                         metrics={**PROJECT["metrics"], **MANUAL})


def count(store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(ManualValueRow)).scalar_one()


# -- the store ---------------------------------------------------------------------------

def test_set_replace_unset_list_and_series(store):
    first = set_value(store, "burn_rate", date(2026, 3, 1), Decimal(4_500_000), note="budget",
                      set_by="alice")
    assert first.changed and first.previous is None
    assert first.value.value == Decimal(4_500_000) and first.value.set_at.tzinfo is not None
    set_value(store, "burn_rate", date(2026, 1, 1), Decimal("4000000"))
    set_value(store, "runway_months", date(2026, 2, 1), Decimal("14.50"))
    again = set_value(store, "burn_rate", date(2026, 3, 1), Decimal("4600000"), set_by="bob")
    assert again.changed and again.previous.value == Decimal(4_500_000)
    assert again.previous.note == "budget" and again.value.note is None  # replaced whole

    values = list_values(store)
    assert [(v.metric, v.effective_from, v.value, v.note, v.set_by) for v in values] == [
        ("burn_rate", date(2026, 1, 1), Decimal(4_000_000), None, None),
        ("burn_rate", date(2026, 3, 1), Decimal(4_600_000), None, "bob"),
        ("runway_months", date(2026, 2, 1), Decimal("14.5"), None, None),
    ]
    assert all(isinstance(v, ManualValue) and v.set_at.tzinfo is not None for v in values)
    assert [v.metric for v in list_values(store, "runway_months")] == ["runway_months"]
    assert list_values(store, "nothing") == []

    assert series(store, ["burn_rate", "runway_months", "unknown"]) == {
        "burn_rate": [(date(2026, 1, 1), Decimal(4_000_000)), (date(2026, 3, 1), Decimal(4_600_000))],
        "runway_months": [(date(2026, 2, 1), Decimal("14.5"))],
        "unknown": [],
    }
    assert series(store, []) == {}

    assert unset_value(store, "burn_rate", date(2026, 3, 1)) is True
    assert unset_value(store, "burn_rate", date(2026, 3, 1)) is False
    assert unset_value(store, "runway_months", date(2026, 3, 1)) is False
    assert series(store, ["burn_rate"]) == {"burn_rate": [(date(2026, 1, 1), Decimal(4_000_000))]}


def test_setting_the_same_value_again_changes_nothing(store):
    a = set_value(store, "burn_rate", date(2026, 3, 1), Decimal(100), note="n", set_by="alice")
    b = set_value(store, "burn_rate", date(2026, 3, 1), Decimal("100.00"), note=" n ",
                  set_by="bob")
    assert not b.changed and b.value == a.value and b.previous == a.value
    assert list_values(store) == [a.value]  # set_at and set_by kept
    assert count(store) == 1
    c = set_value(store, "burn_rate", date(2026, 3, 1), Decimal(100), note="other")
    assert c.changed and count(store) == 1  # a new note is a change


def test_one_value_per_metric_and_day(store):
    set_value(store, "burn_rate", date(2026, 3, 1), Decimal(1))
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(ManualValueRow).values(
            metric="burn_rate", effective_from=date(2026, 3, 1), value=2,
            set_at=datetime.now(UTC)))
    assert series(store, ["burn_rate"])["burn_rate"] == [(date(2026, 3, 1), Decimal(1))]
    with store.engine.connect() as conn:
        uniques = inspect(conn).get_unique_constraints("manual_values")
    assert [sorted(u["column_names"]) for u in uniques] == [["effective_from", "metric"]]


def test_concurrent_sets_of_one_day_leave_one_row(store):
    errors = []

    def worker(i):
        try:
            set_value(store, "burn_rate", date(2026, 3, 1), Decimal(1000 + i))
        except Exception as exc:  # the test reports any
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(store) == 1
    assert 1000 <= series(store, ["burn_rate"])["burn_rate"][0][1] < 1006


def test_values_are_exact(store):
    for day, text in enumerate(["0.1", "-250", "123456789012", "1E+3", "0.000125"], 1):
        set_value(store, "runway_months", date(2026, 1, day), Decimal(text))
    got = [v for _, v in series(store, ["runway_months"])["runway_months"]]
    assert got == [Decimal("0.1"), Decimal(-250), Decimal(123456789012), Decimal(1000),
                   Decimal("0.000125")]
    assert [str(v) for v in got] == ["0.1", "-250", "123456789012", "1000", "0.000125"]
    precise = Decimal("12345678901234567.25")
    if store.dialect == "postgresql":  # NUMERIC keeps every digit
        set_value(store, "runway_months", date(2026, 2, 1), precise)
        assert series(store, ["runway_months"])["runway_months"][-1][1] == precise
    else:  # a double cannot: refused rather than rounded
        with pytest.raises(UsageError, match="more digits than a SQLite store keeps"):
            set_value(store, "runway_months", date(2026, 2, 1), precise)
    with pytest.raises(UsageError):
        set_value(store, "runway_months", date(2026, 2, 2), Decimal("NaN"))
    with pytest.raises(TypeError):
        set_value(store, "runway_months", datetime(2026, 2, 2), Decimal(1))


def test_the_migration_upgrades_a_0001_store(store_url):
    from alembic import command

    from daypulse.store.values import start_run

    old = Store(store_url)
    with old._connect() as conn, conn.begin():
        command.upgrade(old._alembic(conn), "0001")
    assert old.revision() == "0001"
    with old.engine.connect() as conn:
        assert "manual_values" not in inspect(conn).get_table_names()
    run_id = start_run(old, "compute", {}, None, None)  # data written before the upgrade
    with pytest.raises(StoreError, match=r"at schema 0001.*daypulse db upgrade"):
        open_store(store_url)
    assert old.upgrade() == ("0001", old.head())
    assert old.head() >= "0002"
    store = open_store(store_url, create=False)
    with store.engine.connect() as conn:
        insp = inspect(conn)
        assert {c["name"] for c in insp.get_columns("manual_values")} == {
            c.name for c in ManualValueRow.__table__.columns}
        assert conn.exec_driver_sql("select id from runs").scalar_one() == run_id
    set_value(store, "burn_rate", date(2026, 3, 1), Decimal(5))
    assert series(store, ["burn_rate"])["burn_rate"] == [(date(2026, 3, 1), Decimal(5))]
    store.engine.dispose()
    with old._connect() as conn, conn.begin():  # and back: 0002 is reversible
        command.downgrade(old._alembic(conn), "0001")
    with old.engine.connect() as conn:
        assert "manual_values" not in inspect(conn).get_table_names()
    assert old.revision() == "0001"
    old.engine.dispose()


def test_reading_does_not_create_a_store(tmp_path):
    path = tmp_path / "missing.db"
    with pytest.raises(StoreError, match="no daypulse store"):
        open_store(f"sqlite:///{path}", create=False)
    assert not path.exists()


# -- the project's side ------------------------------------------------------------------

def test_manual_metrics_and_values_are_checked_against_the_project(tmp_path):
    project = load_project(project_file(tmp_path, "sqlite:///store.db"))
    assert manual_metrics(project) == ["burn_rate", "runway_months"]
    require_manual(project, "burn_rate")
    with pytest.raises(UsageError, match=r"'revenue' is not a manual metric.*manual metrics:"
                                         r" burn_rate, runway_months"):
        require_manual(project, "revenue")
    with pytest.raises(UsageError, match=r"unknown metric 'burn_rat' \(did you mean 'burn_rate'"):
        require_manual(project, "burn_rat")
    assert parse_value(project, "burn_rate", "4_500_000") == Decimal(4_500_000)
    assert parse_value(project, "runway_months", " 12.50 ") == Decimal("12.5")
    with pytest.raises(UsageError, match="in cents and must be a whole number"):
        parse_value(project, "burn_rate", "45000.50")
    for bad in ("abc", "1,000", "", "inf", "nan"):
        with pytest.raises(UsageError, match="VALUE: not a"):
            parse_value(project, "runway_months", bad)


# -- the CLI -----------------------------------------------------------------------------

def daypulse(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daypulse.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def cli_project(tmp_path):
    project_file(tmp_path, "sqlite:///store.db")
    return tmp_path


def test_cli_set_list_unset(store_url, tmp_path):
    project_file(tmp_path, store_url)
    r = daypulse("manual", "set", "burn_rate", "4500000", "--from", "2026-03-01", "--note",
                 "March budget", cwd=tmp_path, env={"USER": "alice"})
    assert r.returncode == 0, r.stderr
    assert "burn_rate = 4500000 (45,000.00) from 2026-03-01" in r.stderr
    r = daypulse("manual", "set", "burn_rate", "4500000", "--from", "2026-03-01", "--note",
                 "March budget", cwd=tmp_path, env={"USER": "bob"})
    assert r.returncode == 0 and "nothing changed" in r.stderr
    r = daypulse("manual", "set", "burn_rate", "-500", "--from", "2026-01-01",  # negative
                 cwd=tmp_path, env={"USER": ""})
    assert r.returncode == 0, r.stderr
    r = daypulse("manual", "set", "runway_months", "14.5", "--from", "2026-02-01", cwd=tmp_path)
    assert r.returncode == 0, r.stderr

    r = daypulse("manual", "list", cwd=tmp_path)  # not a terminal: tab-separated lines
    assert r.returncode == 0, r.stderr
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    assert rows[0] == ["metric", "from", "value", "note", "set_by", "set_at"]
    assert [row[:5] for row in rows[1:]] == [
        ["burn_rate", "2026-01-01", "-500", "", "cli"],
        ["burn_rate", "2026-03-01", "4500000", "March budget", "alice"],
        ["runway_months", "2026-02-01", "14.5", "", rows[3][4]],
    ]
    assert rows[1][5].endswith("+05:30")  # set_at in the project's zone (Asia/Kolkata)
    r = daypulse("manual", "list", "runway_months", cwd=tmp_path)
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["metric", "runway_months"]

    r = daypulse("manual", "unset", "burn_rate", "--from", "2026-02-01", cwd=tmp_path)
    assert r.returncode == 2
    assert "no value of burn_rate is set from 2026-02-01 (values are set from 2026-01-01," \
           " 2026-03-01)" in r.stderr
    r = daypulse("manual", "unset", "burn_rate", "--from", "2026-03-01", cwd=tmp_path)
    assert r.returncode == 0 and "removed the value of burn_rate from 2026-03-01" in r.stderr
    store = open_store(store_url, create=False)
    assert series(store, ["burn_rate"]) == {"burn_rate": [(date(2026, 1, 1), Decimal(-500))]}
    store.engine.dispose()


def test_cli_from_defaults_to_today_in_the_project_zone(cli_project):
    from daypulse.calendar import Calendar

    cal = Calendar("Asia/Kolkata", "monday")
    before = cal.today()
    r = daypulse("manual", "set", "runway_months", "12", cwd=cli_project)
    assert r.returncode == 0, r.stderr
    days = [d for (d, _) in series(open_store(f"sqlite:///{cli_project / 'store.db'}"),
                                   ["runway_months"])["runway_months"]]
    assert len(days) == 1 and before <= days[0] <= cal.today()


@pytest.mark.parametrize("args, message", [
    (["set", "revenue", "5"], "'revenue' is not a manual metric (it is a kind: event metric,"
                              " computed from the source); manual metrics: burn_rate, runway_months"),
    (["set", "burn_rat", "5"], "unknown metric 'burn_rat' (did you mean 'burn_rate'?);"
                               " manual metrics: burn_rate, runway_months"),
    (["set", "runway_months", "twelve"], "VALUE: not a number: 'twelve'"),
    (["set", "burn_rate", "45000.50"], "must be a whole number"),
    (["set", "runway_months", "12", "--from", "2026-02-30"], "--from: not a date: '2026-02-30'"),
    (["set", "runway_months", "12", "--from", "9999-12-31"], "--from: 9999-12-31 is outside 1970-01-01 .. 2200-12-31"),
    (["list", "events"], "'events' is not a manual metric"),
    (["unset", "revenue", "--from", "2026-03-01"], "'revenue' is not a manual metric"),
])
def test_cli_bad_input_is_one_line_exit_2_and_creates_no_store(cli_project, args, message):
    r = daypulse("manual", *args, cwd=cli_project)
    assert r.returncode == 2, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (cli_project / "store.db").exists()  # refused before the store opens


def test_cli_values_of_a_metric_no_longer_in_the_project_can_be_listed_and_removed(cli_project):
    store = open_store(f"sqlite:///{cli_project / 'store.db'}")
    set_value(store, "old_runway", date(2026, 1, 1), Decimal(9))
    store.engine.dispose()
    r = daypulse("manual", "list", "old_runway", cwd=cli_project)
    assert r.returncode == 0 and "old_runway\t2026-01-01\t9" in r.stdout, r.stderr
    r = daypulse("manual", "unset", "old_runway", "--from", "2026-01-01", cwd=cli_project)
    assert r.returncode == 0, r.stderr
    for args in (["list", "old_runway"], ["unset", "old_runway", "--from", "2026-01-01"]):
        r = daypulse("manual", *args, cwd=cli_project)  # nothing stored: a typo after all
        assert r.returncode == 2 and "unknown metric 'old_runway'; manual metrics:" in r.stderr


def test_cli_reading_commands_do_not_create_the_store(cli_project):
    for args in (["list"], ["unset", "burn_rate", "--from", "2026-03-01"]):
        r = daypulse("manual", *args, cwd=cli_project)
        assert r.returncode == 1 and "no daypulse store at" in r.stderr, r.stderr
    assert not (cli_project / "store.db").exists()


def test_cli_project_without_manual_metrics_says_how_to_declare_one(tmp_path):
    write_project(tmp_path, "duckdb:///app.duckdb", "sqlite:///store.db")
    r = daypulse("manual", "set", "burn_rate", "5", cwd=tmp_path)
    assert r.returncode == 2
    assert "the project has no manual metrics (declare one with kind: manual)" in r.stderr


def test_cli_help_says_money_is_in_cents(cli_project):
    r = daypulse("manual", "set", "--help", cwd=cli_project)
    assert r.returncode == 0
    assert "cents" in r.stdout and "--from" in r.stdout and "--note" in r.stdout
