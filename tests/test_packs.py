"""Every built-in pack on the (small) demo company: the same numbers on every backend.

The worked examples (test_worked_examples.py) check the definitions against hand-computed
numbers; this checks that all 100-odd pack metrics, on realistic data, come out identical on
DuckDB, SQLite, PostgreSQL and PySpark, including the ops and marketing packs.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import duckdb
import pytest

from daypulse.demo import generate
from daypulse.engine import compute_values
from daypulse.project import project_from_dict
from daypulse.project.packs import PACKS
from worked import Story, Table
from worked.load import Loader

END = date(2026, 3, 31)
START, STOP = date(2026, 1, 1), date(2026, 3, 31)  # three months, weeks across their edges
AS_OF = datetime(2026, 4, 2, tzinfo=UTC)
TYPES = {"BIGINT": "int", "INTEGER": "int", "VARCHAR": "str", "BOOLEAN": "bool",
         "TIMESTAMP": "ts", "DOUBLE": "float"}


@pytest.fixture(scope="module")
def demo_story(tmp_path_factory) -> Story:
    path = tmp_path_factory.mktemp("packs") / "demo.duckdb"
    generate(path, days=240, end=END, scale=0.1)
    con = duckdb.connect(str(path), read_only=True)
    tables = {}
    for (name,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
        cols = {c: TYPES[t] for c, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?"
            " ORDER BY ordinal_position", [name]).fetchall()}
        rel = con.execute(f'SELECT * FROM "{name}"')
        tables[name] = Table(cols, [dict(zip(cols, r)) for r in rel.fetchall()])
    con.close()
    return Story("demo_packs", tables)


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("packs_src"))
    yield ld
    ld.close()


def _values(backend, story, loader, tmp_path) -> dict:
    url, tables = loader.get(backend, story)
    project = project_from_dict({"source": url, "store": f"sqlite:///{tmp_path}/s.db",
                                 "timezone": "Asia/Kolkata", "include": list(PACKS),
                                 "tables": tables})
    values = compute_values(project, START, STOP, grains=["day", "week", "month"], as_of=AS_OF,
                            manual={"burn_rate": [(date(2026, 3, 1), 4_500_000)]})
    return {(v.metric, v.grain, v.period_start, v.dims): v.value for v in values}


@pytest.fixture(scope="module")
def expected(demo_story, loader, tmp_path_factory):
    return _values("duckdb", demo_story, loader, tmp_path_factory.mktemp("duck"))


def test_every_pack_metric_has_values(expected):
    project = project_from_dict({"source": "duckdb:///:memory:", "include": list(PACKS)})
    computed = {k[0] for k in expected}
    assert computed == set(project.metrics)
    nonzero = {k[0] for k, v in expected.items() if v}
    # runway is typed in and was not set here; everything else has data in the demo.
    assert set(project.metrics) - nonzero == {"runway"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres", pytest.param("spark", marks=pytest.mark.spark)])
def test_packs_agree_with_duckdb(backend, demo_story, loader, expected, tmp_path):
    got = _values(backend, demo_story, loader, tmp_path)
    assert got.keys() == expected.keys()
    wrong = [(k, expected[k], got[k]) for k in expected if not _same(expected[k], got[k])]
    assert not wrong, f"{len(wrong)} values differ, e.g. {wrong[:5]}"


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b and type(a) is type(b)
