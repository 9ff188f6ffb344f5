"""The engine against the pure-Python reference: every backend × five zones, exactly.

Each case builds the zone's data set into the backend, computes every metric of the data
set's project (every kind, measure and ``where`` operator; dimensions, breakdowns,
zero-fill) at day, week and month grain over the zone's range, and compares the full set of
values with :func:`reference.expected_values`. Floats (avg, ratio, derived divisions) get a
tiny relative tolerance; everything else must be equal, and counts/sums must be integers.

Every kind is covered: event (with ``@hour`` dimensions), window, state, ratio, cumulative,
movement, lifecycle, snapshot and derived in the data sets' projects; manual in its own test (its
values come from the store). Each zone is computed with ``as_of`` long after the range and
with ``as_of`` inside its last computed day (``as_of_today``); one case computes today alone.
"""

from __future__ import annotations

import math
import time
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from datasets import SCHEMA, ZONES
from sources import BACKENDS, as_naive_utc

REL_TOL = 1e-9
MAX_SHOWN = 20


def _backend_params():
    return [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b for b in BACKENDS]


# PySpark costs about a second per query whatever the data, so it runs one zone, the one that
# differs most: Lord Howe, a half-hour offset whose DST shift is 30 minutes (days of 23.5 and
# 24.5 hours). Every other backend runs all five; the worked examples run PySpark in New York
# across its March change (Sunday weeks). Spark shares the compiled SQL shapes with the others.
SPARK_ZONES = ("Australia/Lord_Howe",)


# The *_tz variants (the same engines over zone-aware timestamp columns) run the two zones that
# differ most from UTC's rules: New York (an hour's DST) and Lord Howe (half an hour's).
TZ_VARIANT_ZONES = ("America/New_York", "Australia/Lord_Howe")


def _backend_zone_params():
    def runs(b, z):
        if b == "spark":
            return z in SPARK_ZONES
        return z in TZ_VARIANT_ZONES if b.endswith("_tz") else True

    return [pytest.param(b, z, marks=pytest.mark.spark) if b == "spark" else (b, z)
            for b in BACKENDS for z in ZONES if runs(b, z)]


# ``as_of`` inside the range: every zone on DuckDB; the other backends (whose zone handling
# test_engine_matches_reference checks in every zone) in New York, across its DST change.
# PySpark runs neither this nor today-alone (about 3 minutes each in CI, whose budget is 30):
# every metric kind is checked on it against the reference by test_engine_matches_reference,
# and it compiles the same Ibis expressions as the others.
AS_OF_ZONES = ("America/New_York",)


def _as_of_params():
    return [(b, z) for b in BACKENDS if b != "spark" for z in ZONES if b == "duckdb" or z in AS_OF_ZONES]


def _project(ds, sources, backend, tmp_path):
    from daypulse.project import project_from_dict

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

@pytest.mark.parametrize(("backend", "zone"), _backend_zone_params())
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


@pytest.mark.parametrize(("backend", "zone"), _as_of_params())
def test_engine_as_of_inside_the_range(backend, zone, dataset, sources, tmp_path):
    """``as_of`` mid-afternoon three days before the range ends (a microsecond past a whole
    second, with subscriptions starting and ending on either side of it): later days are
    not computed, the current week/month take their values at ``as_of``'s day, states and
    movements use the rows open at ``as_of``, lifecycle periods end with its day."""
    from daypulse.engine import compute_values

    ds = dataset(zone)
    project = _project(ds, sources, backend, tmp_path)
    values = compute_values(project, start=ds.start, end=ds.end, metrics=None,
                            grains=list(ds.grains), as_of=ds.as_of_today)
    problems = compare(ds.expected_today, values)
    assert not problems, f"{backend} / {zone} as_of={ds.as_of_today}: {len(problems)} " + \
        "differences\n" + "\n".join(problems[:MAX_SHOWN])


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "spark"])
def test_engine_today_alone(backend, dataset, sources, tmp_path):
    """The range is today alone (``as_of_today``'s date), as in a run for today: its week and
    month still come whole up to today, and rows ending later today are open now."""
    from daypulse.engine import compute_values
    from reference import expected_values

    ds = dataset("America/New_York")
    today = ds.as_of_today.astimezone(ZoneInfo(ds.zone)).date()
    project = _project(ds, sources, backend, tmp_path)
    values = compute_values(project, start=today, end=today, metrics=None,
                            grains=list(ds.grains), as_of=ds.as_of_today)
    url, tables = sources.get(backend, ds)
    expected = expected_values(ds.project(url, tables), ds.tables, today, today, ds.grains,
                               ds.as_of_today)
    problems = compare(expected, values)
    assert not problems, f"{backend} today={today}: {len(problems)} differences\n" + \
        "\n".join(problems[:MAX_SHOWN])


def test_manual_values_hold_until_the_next_and_take_the_last_day(dataset, sources, tmp_path):
    """kind: manual (and a derived metric over it) from the store's series: a step function;
    weeks and months take their last day's value, or today's for the current period."""
    from daypulse.engine import compute_values
    from daypulse.project import project_from_dict
    from reference import expected_values

    ds = dataset("America/New_York")
    url, tables = sources.get("duckdb", ds)
    raw = ds.project(url, tables, store=f"sqlite:///{tmp_path}/store.db")
    raw["metrics"] = {"burn_rate": {"kind": "manual", "format": "currency"},
                      "runway": {"kind": "manual"},
                      "burn_k": {"kind": "derived", "expr": "burn_rate / 1000"},
                      "burn_per_runway": {"kind": "derived", "expr": "burn_rate / runway"}}
    manual = {"burn_rate": [(ds.start - timedelta(days=40), Decimal("12000.50")),
                            (ds.start + timedelta(days=9), Decimal("15000")),
                            (ds.start + timedelta(days=10), Decimal("0.01")),
                            (ds.start + timedelta(days=31), Decimal("-3.25"))],
              "runway": [(ds.start + timedelta(days=20), Decimal("0")),
                         (ds.end - timedelta(days=2), Decimal("7"))]}
    project = project_from_dict(raw)
    for as_of in (ds.as_of, ds.as_of_today):
        values = compute_values(project, start=ds.start, end=ds.end, metrics=None,
                                grains=list(ds.grains), as_of=as_of, manual=manual)
        expected = expected_values(raw, ds.tables, ds.start, ds.end, ds.grains, as_of,
                                   manual=manual)
        problems = compare(expected, values)
        assert not problems, f"as_of={as_of}: {len(problems)} differences\n" + \
            "\n".join(problems[:MAX_SHOWN])
    # the week of the range's 10th day takes its last day's value
    week = [v for v in values if v.metric == "burn_rate" and v.grain == "week"]
    assert {v.value for v in week} >= {Decimal("0.01"), Decimal("-3.25")}
    assert any(v.value is None for v in values if v.metric == "runway")


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
    if isinstance(want, Decimal):  # manual values (and derived over them) stay exact
        return isinstance(got, Decimal) and got == want
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
