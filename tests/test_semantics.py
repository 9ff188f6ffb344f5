"""The engine against the pure-Python reference: every backend × five zones, exactly.

Each case builds the zone's data set into the backend, computes every metric of the data
set's project (every kind, measure and ``where`` operator; dimensions, breakdowns,
zero-fill) at day, week and month grain over the zone's range, and compares the full set of
values with :func:`reference.expected_values`. Floats (avg, ratio) get a tiny relative
tolerance; everything else must be equal, and counts/sums must be integers.
"""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest

from datasets import SCHEMA, ZONES
from sources import BACKENDS, as_naive_utc

REL_TOL = 1e-9
MAX_SHOWN = 20


def _backend_params():
    return [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b for b in BACKENDS]


def _project(ds, sources, backend, tmp_path):
    from daypulse.spec import project_from_dict

    url, tables = sources.get(backend, ds)
    return project_from_dict(ds.project(url, tables, store=f"sqlite:///{tmp_path}/store.db"))


# -- the sources themselves ---------------------------------------------------------------------

@pytest.mark.parametrize("backend", _backend_params())
def test_sources_read_back_exactly(backend, dataset, sources):
    """Every row, timestamp (to the microsecond) and boolean survives the trip through Ibis."""
    from daypulse import warehouse

    ds = dataset("America/New_York")
    url, tables = sources.get(backend, ds)
    con = warehouse.connect(url)
    for name, cols in SCHEMA.items():
        t = warehouse.table(con, tables[name])
        df = t.order_by("id").execute()
        assert len(df) == len(ds.tables[name]), name
        for col, kind in cols.items():
            got = [None if _is_null(v) else v for v in df[col].tolist()]
            want = [r[col] for r in sorted(ds.tables[name], key=lambda r: r["id"])]
            if kind == "ts":
                got = [as_naive_utc(v) for v in got]
            elif kind == "bool":
                assert all(isinstance(v, bool) or v is None for v in got), (name, col, got[:5])
            elif kind == "int":
                got = [None if v is None else int(v) for v in got]
            bad = [(w, g) for w, g in zip(want, got) if w != g]
            assert not bad, f"{backend} {name}.{col}: {len(bad)} values differ, e.g. {bad[:3]}"


def _is_null(v) -> bool:
    try:
        return v is None or bool(v != v)  # NaN, NaT
    except (TypeError, ValueError):
        return False


# -- the engine ---------------------------------------------------------------------------------

@pytest.mark.parametrize("zone", list(ZONES))
@pytest.mark.parametrize("backend", _backend_params())
def test_engine_matches_reference(backend, zone, dataset, sources, tmp_path):
    from daypulse.engine import compute_values

    ds = dataset(zone)
    expected = ds.expected
    project = _project(ds, sources, backend, tmp_path)
    t0 = time.perf_counter()
    values = compute_values(project, start=ds.start, end=ds.end, metrics=None,
                            grains=list(ds.grains), as_of=ds.as_of)
    elapsed = time.perf_counter() - t0
    problems = compare(expected, values)
    assert not problems, (
        f"{backend} / {zone} ({ds.start}..{ds.end}, compute {elapsed:.1f}s): "
        f"{len(problems)} differences\n" + "\n".join(problems[:MAX_SHOWN]))


@pytest.mark.parametrize("backend", ["duckdb", "sqlite", "postgres"])
def test_engine_as_of_inside_the_range(backend, dataset, sources, tmp_path):
    """``as_of`` mid-afternoon three days before the range ends: later days are not computed,
    the current week/month take their values at ``as_of``'s day, and states at ``as_of``."""
    from daypulse.engine import compute_values
    from reference import day_start, expected_values

    ds = dataset("America/New_York")
    as_of = day_start(ds.zone, ds.end - timedelta(days=3)) + timedelta(hours=13, microseconds=1)
    project = _project(ds, sources, backend, tmp_path)
    values = compute_values(project, start=ds.start, end=ds.end, metrics=None,
                            grains=list(ds.grains), as_of=as_of)
    url, tables = sources.get(backend, ds)
    expected = expected_values(ds.project(url, tables), ds.tables, ds.start, ds.end,
                               ds.grains, as_of)
    problems = compare(expected, values)
    assert not problems, f"{backend} as_of={as_of}: {len(problems)} differences\n" + \
        "\n".join(problems[:MAX_SHOWN])


def _key(v) -> tuple:
    return (v.metric, v.grain, v.period_start, tuple(tuple(p) for p in v.dims))


def _show(key) -> str:
    metric, grain, period, dims = key
    d = ",".join(f"{k}={v}" for k, v in dims) or "total"
    return f"{metric} {grain} {period} [{d}]"


def _same(want, got) -> bool:
    if want is None or got is None:
        return want is None and got is None
    if isinstance(got, bool):
        return False
    if isinstance(want, float):
        return isinstance(got, (int, float, Decimal)) and math.isclose(
            float(got), want, rel_tol=REL_TOL, abs_tol=1e-12)
    # counts, sums, min/max of integers: exact and integral (a float would export as 12.0)
    if isinstance(got, Decimal):
        return got == want and got == got.to_integral_value()
    return isinstance(got, int) and got == want


def compare(expected: dict, values) -> list[str]:
    """Readable differences: duplicates, missing keys, extra keys, wrong values."""
    got: dict = {}
    problems = []
    for v in values:
        k = _key(v)
        if not isinstance(k[2], date) or hasattr(k[2], "hour"):
            problems.append(f"period_start is not a date: {k[2]!r} ({_show(k)})")
        if k in got:
            problems.append(f"duplicate   {_show(k)}: {got[k]!r} and {v.value!r}")
        got[k] = v.value
    wrong = [k for k in expected if k in got and not _same(expected[k], got[k])]
    missing = [k for k in expected if k not in got]
    extra = [k for k in got if k not in expected]
    lines = []  # (metric, text), interleaved below so the first lines cover many metrics
    for k in sorted(wrong, key=_sort):
        lines.append((k[0], f"wrong       {_show(k)}: expected {expected[k]!r}, got {got[k]!r}"))
    for k in sorted(missing, key=_sort):
        lines.append((k[0], f"missing     {_show(k)}: expected {expected[k]!r}"))
    for k in sorted(extra, key=_sort):
        lines.append((k[0], f"extra       {_show(k)}: got {got[k]!r}"))
    rank: dict = {}
    ordered = []
    for metric, text in lines:
        rank[metric] = rank.get(metric, 0) + 1
        ordered.append((rank[metric], len(ordered), text))
    problems += [text for _, _, text in sorted(ordered)]
    if problems:
        summary = (f"summary: {len(wrong)} wrong, {len(missing)} missing, {len(extra)} extra"
                   f" (of {len(expected)} expected); wrong by metric: "
                   + ", ".join(f"{m}={n}" for m, n in _count(wrong).items()))
        missing_by = ", ".join(f"{m}={n}" for m, n in _count(missing).items())
        extra_by = ", ".join(f"{m}={n}" for m, n in _count(extra).items())
        problems.insert(0, summary + (f"; missing by metric: {missing_by}" if missing_by else "")
                        + (f"; extra by metric: {extra_by}" if extra_by else ""))
    return problems


def _sort(k):
    return (k[0], k[1], k[2], str(k[3]))


def _count(keys) -> dict:
    out: dict = {}
    for k in keys:
        out[k[0]] = out.get(k[0], 0) + 1
    return dict(sorted(out.items()))
