"""The CLI as a user runs it: real processes, exit codes, one clear line, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storekit import make_source, write_project

AS_OF = "2026-03-20T12:00:00+00:00"


def daypulse(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "daypulse.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def project(tmp_path):
    write_project(tmp_path, make_source(tmp_path / "app.duckdb"), "sqlite:///store.db")
    return tmp_path


def stored_rows(folder: Path) -> int:
    import sqlite3

    db = folder / "store.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as c:
        try:
            return c.execute("select count(*) from metric_values").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def test_compute_then_export_jsonl_and_csv(project):
    r = daypulse("compute", "--start", "2026-02-01", "--end", "2026-02-28", "--as-of", AS_OF,
                 cwd=project)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr
    r = daypulse("export", "--format", "jsonl", "--metric", "events", "--grain", "day",
                 "--start", "2026-02-03", "--end", "2026-02-03", cwd=project)
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines == [
        {"metric": "events", "grain": "day", "period": "2026-02-03", "dimensions": {}, "value": 6},
        {"metric": "events", "grain": "day", "period": "2026-02-03",
         "dimensions": {"tenant": "acme"}, "value": 3},
        {"metric": "events", "grain": "day", "period": "2026-02-03",
         "dimensions": {"tenant": "globex"}, "value": 3},
    ]
    r = daypulse("export", "--format", "csv", "--metric", "events", "--grain", "month", cwd=project)
    assert r.stdout.splitlines()[0] == "metric,grain,period,dimensions,value"
    assert "events,month,2026-02-01,tenant=acme," in r.stdout


def test_dry_run_with_diff_writes_nothing(project):
    r = daypulse("compute", "--start", "2026-02-01", "--end", "2026-02-05", "--metric", "events",
                 "--dry-run", "--diff", "--as-of", AS_OF, cwd=project)
    assert r.returncode == 0, r.stderr
    assert "nothing written" in r.stderr and "changed" in r.stdout
    assert stored_rows(project) == 0


@pytest.mark.parametrize("args, code, message", [
    (["compute", "--date", "2026-02-30"], 2, "--date: not a date: '2026-02-30'"),
    (["compute", "--start", "1969-12-31", "--end", "1970-01-02"], 2,
     "--start: 1969-12-31 is outside 1970-01-01 .. 2200-12-31"),
    (["compute", "--date", "2024-W01-1"], 2, "--date: not a date: '2024-W01-1'"),
    (["compute", "--days-back", "739000"], 2, "--days-back: 739000 days go back before 1970-01-01"),
    (["run-due", "--now", "0001-01-01T00:00:00+05:00"], 2, "--now: 0001-01-01T00:00:00+05:00 is outside"),
    (["run-due", "--now", "9999-12-31T23:00:00-05:00"], 2, "is outside 1970-01-01 .. 2200-12-31"),
    (["compute", "--start", "2026-02-10", "--end", "2026-02-01"], 2, "before --start"),
    (["compute", "--date", "2026-02-03", "--metric", "evnets"], 2,
     "unknown metric 'evnets' (did you mean 'events'?)"),
    (["compute", "--date", "2026-02-03", "--grain", "fortnight"], 2, "unknown grain"),
    (["compute", "--date", "2027-01-01"], 2, "is in the future"),
    (["export", "--format", "xml"], 2, "--format: 'xml' is not jsonl or csv"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(project, args, code, message):
    r = daypulse(*args, "--as-of", AS_OF, cwd=project) if args[0] == "compute" else \
        daypulse(*args, cwd=project)
    assert r.returncode == code, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (project / "store.db").exists()  # bad flags are refused before the store opens


def test_unreachable_source_is_a_runtime_failure(tmp_path):
    write_project(tmp_path, "postgresql://nobody:secret@127.0.0.1:1/nowhere", "sqlite:///store.db")
    r = daypulse("compute", "--date", "2026-02-03", "--as-of", AS_OF, cwd=tmp_path)
    assert r.returncode == 1
    assert "cannot connect to source" in r.stderr and "secret" not in r.stderr
    assert "Traceback" not in r.stderr
    assert stored_rows(tmp_path) == 0


def test_a_column_that_does_not_exist_names_file_line_and_metric(project):
    text = (project / "daypulse.yml").read_text().replace("column: amount_cents",
                                                          "column: amount")
    (project / "daypulse.yml").write_text(text)
    r = daypulse("check", cwd=project)
    assert r.returncode == 2
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "column: amount" in s)
    assert f"daypulse.yml:{line}: error: metric 'revenue': column: column 'amount' is not in" \
           " table 'events'" in r.stderr
    r = daypulse("compute", "--date", "2026-02-03", "--as-of", AS_OF, cwd=project)
    # compute asks the source before it opens the store: the same line, and no store file
    assert r.returncode == 2 and f"daypulse.yml:{line}: error: metric 'revenue': column: column" \
        " 'amount' is not in table 'events'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (project / "store.db").exists()


def test_check_collects_every_problem_with_its_line(tmp_path):
    (tmp_path / "daypulse.yml").write_text("""\
name: broken
timezone: Mars/Olympus
source: duckdb:///nowhere.duckdb
metrics:
  signups:
    table: users
    time: created_at
    measure: sum
  ratio_x:
    kind: ratio
    numerator: signup
    denominator: signups
  weird:
    kind: histogram
  loop_a: {kind: ratio, numerator: loop_b, denominator: signups}
  loop_b: {kind: ratio, numerator: loop_a, denominator: signups}
  mtd:
    kind: cumulative
    of: signups
    rest: month
  by_letters:
    table: users
    time: created_at
    where: {tenant: {in: ab}}
""")
    r = daypulse("check", cwd=tmp_path)
    assert r.returncode == 2
    err = r.stderr
    assert "daypulse.yml:2: error: unknown time zone 'Mars/Olympus'" in err
    assert "daypulse.yml:8: error: metric 'signups': measure sum needs a column" in err
    assert "daypulse.yml:11: error: metric 'ratio_x': refers to unknown metric 'signup'" \
           " (hint: did you mean 'signups'?)" in err
    assert "daypulse.yml:14: error: metric 'weird'" in err
    assert "cycle: loop_a -> loop_b -> loop_a" in err
    assert "daypulse.yml:20: error: metric 'mtd': unknown setting 'rest'" in err
    assert "daypulse.yml:24: error: metric 'by_letters': where.tenant.in: in takes a list" in err
    assert "Traceback" not in err


def test_missing_environment_variable(tmp_path):
    (tmp_path / "daypulse.yml").write_text("source: postgresql://app:${APP_DB_PASSWORD}@db/app\n")
    r = daypulse("check", "--offline", cwd=tmp_path, env={"APP_DB_PASSWORD": ""})
    assert r.returncode == 0, r.stderr
    import os

    env = {k: v for k, v in os.environ.items() if k != "APP_DB_PASSWORD"}
    r = subprocess.run([sys.executable, "-m", "daypulse.cli", "check", "--offline"],
                       cwd=tmp_path, capture_output=True, text=True, env=env)
    assert r.returncode == 2
    assert "daypulse.yml:1: error: environment variable APP_DB_PASSWORD is not set" in r.stderr


def test_db_upgrade_twice(project):
    assert "upgraded from empty to 0012" in daypulse("db", "upgrade", cwd=project).stderr
    assert "is up to date" in daypulse("db", "upgrade", cwd=project).stderr


def test_help_explains_the_commands(project):
    r = daypulse("--help", cwd=project)
    for cmd in ("compute", "export", "check", "demo", "db", "init", "metrics"):
        assert cmd in r.stdout
    r = daypulse("compute", "--help", cwd=project)
    assert "--days-back" in r.stdout and "--dry-run" in r.stdout


def test_export_from_a_store_that_does_not_exist_creates_nothing(tmp_path):
    write_project(tmp_path, make_source(tmp_path / "app.duckdb"), "sqlite:///typo.db")
    r = daypulse("export", "--format", "jsonl", cwd=tmp_path)
    assert r.returncode == 1
    assert "no daypulse store at" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "typo.db").exists()


def test_export_into_a_closed_pipe_is_quiet(project):
    assert daypulse("compute", "--start", "2026-02-01", "--end", "2026-02-28", "--as-of", AS_OF,
                    cwd=project).returncode == 0
    import os

    r = subprocess.run(f"{sys.executable} -m daypulse.cli export --format jsonl | head -n 1",
                       shell=True, cwd=project, capture_output=True, text=True,
                       env={**os.environ})
    assert r.stdout.count("\n") == 1 and "Traceback" not in r.stderr


def test_passwords_never_appear_in_messages():
    from daypulse.warehouse import redact

    assert redact("postgresql://u:p@ss@host/db") == "postgresql://u:***@host/db"
    assert redact("postgresql://:topsecret@host/db") == "postgresql://:***@host/db"
    assert redact("postgresql://u@h/db?password=x&sslmode=require") == \
        "postgresql://u@h/db?password=***&sslmode=require"


def test_a_where_value_of_the_wrong_type_is_a_config_error(project):
    text = (project / "daypulse.yml").read_text().replace(
        "  users:\n", "  users:\n    where: {tenant: 5}\n", 1)
    (project / "daypulse.yml").write_text(text)
    r = daypulse("compute", "--date", "2026-02-03", "--as-of", AS_OF, cwd=project)
    assert r.returncode == 2, r.stderr
    assert "metric 'users': where.tenant: 5 cannot be compared with column 'tenant'" in r.stderr
    assert "Traceback" not in r.stderr


def test_dimension_keys_never_collide():
    from datetime import date

    from daypulse.values import MetricValue

    one = MetricValue("m", "day", date(2026, 1, 1), (("a", "x;b=y"),), 1)
    two = MetricValue("m", "day", date(2026, 1, 1), (("a", "x"), ("b", "y")), 1)
    assert one.dims_key != two.dims_key
    assert two.dims_key == "a=x;b=y"
