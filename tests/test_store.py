"""The store: atomic replacement, idempotent re-runs, crash safety, staleness, runs.

Every test runs on both stores daypulse supports: SQLite (embedded) and PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text

from daypulse.engine.run import incremental_range, run_compute
from daypulse.project import load_project
from daypulse.store.db import open_store
from daypulse.store.models import MetricValueRow, Run
from storekit import make_source, postgres_store, write_project

AS_OF = datetime(2026, 3, 20, 12, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def project_file(request, tmp_path):
    source = make_source(tmp_path / "app.duckdb")
    if request.param == "sqlite":
        yield write_project(tmp_path, source, f"sqlite:///{tmp_path / 'store.db'}")
    else:
        with postgres_store() as url:
            yield write_project(tmp_path, source, url)


def snapshot(store) -> dict:
    with store.engine.connect() as conn:
        rows = conn.execute(select(MetricValueRow.metric, MetricValueRow.grain,
                                   MetricValueRow.period_start, MetricValueRow.dims_key,
                                   MetricValueRow.value))
        return {(m, g, p, k): (None if v is None else round(float(v), 9)) for m, g, p, k, v in rows}


def test_rerunning_a_range_changes_nothing(project_file):
    project = load_project(project_file)
    store = open_store(project.store)
    run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), as_of=AS_OF)
    first = snapshot(store)
    assert first[("events", "day", date(2026, 2, 3), "")] == 2 * (2 % 5 + 1)
    assert first[("events", "day", date(2026, 2, 3), "tenant=acme")] == 3
    out = run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), as_of=AS_OF,
                      want_diff=True)
    assert out.changes == []
    assert snapshot(store) == first
    with store.engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(MetricValueRow)).scalar_one()
    assert n == len(first)


def test_recomputing_part_of_a_range_replaces_only_that_part(project_file):
    project = load_project(project_file)
    store = open_store(project.store)
    run_compute(project, store, date(2026, 2, 1), date(2026, 3, 10), as_of=AS_OF, grains=["day"])
    before = snapshot(store)
    with store.engine.begin() as conn:  # tamper with a value outside and one inside the range
        conn.execute(text("update metric_values set value = -1 where metric = 'events' and "
                          "grain = 'day' and dims_key = '' and period_start in (:a, :b)"),
                     {"a": date(2026, 2, 2), "b": date(2026, 2, 20)})
    out = run_compute(project, store, date(2026, 2, 15), date(2026, 2, 25), as_of=AS_OF,
                      grains=["day"], want_diff=True)
    assert [(c.period, c.old, c.new) for c in out.changes] == [(date(2026, 2, 20), -1, 2 * (19 % 5 + 1))]
    after = snapshot(store)
    assert after[("events", "day", date(2026, 2, 2), "")] == -1  # untouched: outside the range
    assert after[("events", "day", date(2026, 2, 20), "")] == before[("events", "day", date(2026, 2, 20), "")]


def test_a_crash_mid_write_leaves_the_store_as_it_was(project_file, tmp_path):
    project = load_project(project_file)
    store = open_store(project.store)
    run_compute(project, store, date(2026, 2, 1), date(2026, 2, 10), as_of=AS_OF)
    before = snapshot(store)
    env = {**os.environ, "DAYPULSE_FAULT": "write", "DAYPULSE_WRITE_BATCH": "50"}
    cmd = [sys.executable, "-m", "daypulse.cli", "compute", "--config", str(project_file),
           "--start", "2026-02-01", "--end", "2026-03-10", "--as-of", AS_OF.isoformat()]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 137, proc.stderr  # killed inside the write transaction
    store = open_store(project.store)
    assert snapshot(store) == before  # nothing half-written
    # The next run notices the dead run, and a clean re-run gives exactly the clean result.
    env.pop("DAYPULSE_FAULT")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with store.engine.connect() as conn:
        states = [s for (s,) in conn.execute(select(Run.state).order_by(Run.id))]
    assert states == ["succeeded", "interrupted", "succeeded"]
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = load_project(write_project(clean_dir, project.source, f"sqlite:///{clean_dir / 's.db'}"))
    clean_store = open_store(clean.store)
    run_compute(clean, clean_store, date(2026, 2, 1), date(2026, 3, 10), as_of=AS_OF)
    assert snapshot(store) == snapshot(clean_store)


def test_dry_run_writes_nothing_and_shows_the_diff(project_file):
    project = load_project(project_file)
    store = open_store(project.store)
    out = run_compute(project, store, date(2026, 2, 1), date(2026, 2, 5), as_of=AS_OF,
                      dry_run=True, want_diff=True)
    assert out.run_id is None and out.values
    assert len(out.changes) == len(out.values)  # everything is new
    assert snapshot(store) == {}
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar_one() == 0


def test_changed_definition_marks_values_stale(project_file):
    project = load_project(project_file)
    store = open_store(project.store)
    run_compute(project, store, date(2026, 2, 1), date(2026, 2, 5), as_of=AS_OF, grains=["day"])
    changed = project.model_copy(update={"timezone": "America/New_York"})
    out = run_compute(changed, store, date(2026, 2, 6), date(2026, 2, 6), as_of=AS_OF,
                      grains=["day"], dry_run=True)
    assert set(out.stale_before) == set(project.metrics)  # the zone decides every value
    out = run_compute(project, store, date(2026, 2, 6), date(2026, 2, 6), as_of=AS_OF,
                      grains=["day"], dry_run=True)
    assert out.stale_before == {}


def test_incremental_range_follows_the_last_full_run(project_file):
    project = load_project(project_file)
    store = open_store(project.store)
    first = incremental_range(project, store, AS_OF)
    assert (first.start, first.end) == (date(2026, 3, 19) - (project.compute.initial_days - 1)
                                        * (date(2026, 1, 2) - date(2026, 1, 1)), date(2026, 3, 19))
    run_compute(project, store, date(2026, 3, 1), date(2026, 3, 10), as_of=AS_OF)
    nxt = incremental_range(project, store, AS_OF)
    assert (nxt.start, nxt.end) == (date(2026, 3, 8), date(2026, 3, 19))  # 3 days look-back
    # A run of a few metrics does not count as a complete run.
    run_compute(project, store, date(2026, 3, 11), date(2026, 3, 15), metrics=["events"],
                as_of=AS_OF)
    assert incremental_range(project, store, AS_OF).start == date(2026, 3, 8)


def test_db_upgrade_is_idempotent_and_matches_the_models(project_file):
    from sqlalchemy import inspect

    from daypulse.store.db import Store
    from daypulse.store.models import Base

    project = load_project(project_file)
    s = Store(project.store)
    assert s.upgrade()[0] is None
    assert s.upgrade()[0] == s.head()  # second time: nothing to do
    with s.engine.connect() as conn:
        insp = inspect(conn)
        for table in Base.metadata.sorted_tables:
            migrated = {c["name"] for c in insp.get_columns(table.name)}
            assert migrated == {c.name for c in table.columns}, table.name


def test_incremental_fills_a_gap_left_by_downtime(project_file):
    """Cron was down for days, then someone computed only yesterday: the next incremental
    run starts from the gap, not from yesterday."""
    project = load_project(project_file)
    store = open_store(project.store)
    run_compute(project, store, date(2026, 2, 1), date(2026, 3, 1), as_of=AS_OF)
    run_compute(project, store, date(2026, 3, 19), date(2026, 3, 19), as_of=AS_OF)
    nxt = incremental_range(project, store, AS_OF)
    assert (nxt.start, nxt.end) == (date(2026, 2, 27), date(2026, 3, 19))
    # A run for one grain only does not make days complete either.
    run_compute(project, store, date(2026, 3, 2), date(2026, 3, 18), grains=["week"], as_of=AS_OF)
    assert incremental_range(project, store, AS_OF).start == date(2026, 2, 27)


def test_the_migrations_build_exactly_the_models(store_url):
    """Alembic's autogenerate finds nothing to change after `db upgrade`: the migrations and
    store/models.py describe the same tables, columns, indexes and defaults."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from daypulse.store.db import open_store
    from daypulse.store.models import Base

    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        store.engine.dispose()
