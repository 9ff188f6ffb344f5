"""Reading and replacing stored metric values, and the runs that wrote them."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import islice

from sqlalchemy import and_, delete, func, insert, or_, select, update

from daypulse.store.db import Store
from daypulse.store.models import MetricValueRow, Run
from daypulse.values import MetricValue

WRITE_BATCH = int(os.environ.get("DAYPULSE_WRITE_BATCH", "5000"))


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Scope:
    """What a computation replaces: these periods of these metrics at these grains."""

    metric: str
    grain: str
    first: date
    last: date


def scopes_of(values: Iterable[MetricValue]) -> list[Scope]:
    spans: dict[tuple[str, str], list[date]] = {}
    for v in values:
        s = spans.setdefault((v.metric, v.grain), [v.period_start, v.period_start])
        s[0], s[1] = min(s[0], v.period_start), max(s[1], v.period_start)
    return [Scope(m, g, a, b) for (m, g), (a, b) in sorted(spans.items())]


def _storable(v):
    if type(v) is Decimal and v == v.to_integral_value():
        return int(v)
    return v


def replace_values(store: Store, values: list[MetricValue], hashes: dict[str, str],
                   run_id: int, finish: dict | None = None) -> int:
    """Replace the stored values of the computed periods, in ONE transaction.

    Either every period of every metric is replaced and the run marked finished, or
    nothing changed: a crash or Ctrl-C half-way leaves the previous values in place.
    """
    at = now()
    scopes = scopes_of(values)
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            # Two overlapping computes take turns instead of colliding on the unique key.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('daypulse.metric_values'))")
        for sc in scopes:
            conn.execute(delete(MetricValueRow).where(
                MetricValueRow.metric == sc.metric, MetricValueRow.grain == sc.grain,
                MetricValueRow.period_start >= sc.first, MetricValueRow.period_start <= sc.last))
        _insert_values(conn, store.dialect, values, hashes, run_id, at)
        if finish is not None:
            conn.execute(update(Run).where(Run.id == run_id).values(
                state="succeeded", finished_at=now(), rows=len(values), **finish))
    return len(values)


_COLUMNS = ("metric", "grain", "period_start", "hour", "dims_key", "dims", "value", "definition_hash",
            "run_id", "computed_at")


def _insert_values(conn, dialect: str, values, hashes, run_id: int, at: datetime) -> None:
    """Bulk insert through the driver: a backfill writes hundreds of thousands of rows, and
    per-row type processing in the ORM layer would cost more than computing them. Dates,
    dimension JSON and the timestamp repeat a lot, so each is rendered once."""
    sqlite = dialect != "postgresql"
    dims_json: dict = {}
    dates: dict = {}
    stamp = at.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else at

    def rows():
        for v in values:
            dj = dims_json.get(v.dims)
            if dj is None:
                dj = dims_json[v.dims] = json.dumps(dict(v.dims), sort_keys=True)
            p = v.period_start
            if sqlite:
                p = dates.get(p) or dates.setdefault(p, p.isoformat())
            yield (v.metric, v.grain, p, v.hour, v.dims_key, dj, _storable(v.value),
                   hashes[v.metric], run_id, stamp)

    if not sqlite:
        cur = conn.connection.driver_connection.cursor()
        with cur.copy(f"COPY metric_values ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
            for n, row in enumerate(rows(), 1):
                copy.write_row(row)
                if n % WRITE_BATCH == 0:
                    _fault_point("write")
        return
    marks = ", ".join("?" for _ in _COLUMNS)
    sql = f"INSERT INTO metric_values ({', '.join(_COLUMNS)}) VALUES ({marks})"
    it = rows()
    while batch := list(islice(it, WRITE_BATCH)):
        conn.exec_driver_sql(sql, batch)
        _fault_point("write")


def _fault_point(name: str) -> None:
    """Crash the process here, as kill -9 would, when DAYPULSE_FAULT names this point.

    Used by the crash-safety tests: a real process dies mid-transaction and the next run
    must find the store exactly as it was before.
    """
    if os.environ.get("DAYPULSE_FAULT") == name:
        os._exit(137)


def stored_values(store: Store, scopes: Iterable[Scope]) -> dict[tuple, float | None]:
    """{(metric, grain, period_start, dims_key, hour): value} for the given scopes."""
    out = {}
    scopes = list(scopes)
    if not scopes:
        return out
    conds = [and_(MetricValueRow.metric == s.metric, MetricValueRow.grain == s.grain,
                  MetricValueRow.period_start.between(s.first, s.last)) for s in scopes]
    with store.engine.connect() as conn:
        for i in range(0, len(conds), 200):
            q = select(MetricValueRow.metric, MetricValueRow.grain, MetricValueRow.period_start,
                       MetricValueRow.dims_key, MetricValueRow.hour,
                       MetricValueRow.value).where(or_(*conds[i:i + 200]))
            for m, g, p, k, h, v in conn.execute(q):
                out[(m, g, p, k, h)] = v
    return out


def stale_counts(store: Store, hashes: dict[str, str]) -> dict[str, int]:
    """Stored rows per metric computed with another definition than the current one."""
    out = {}
    with store.engine.connect() as conn:
        q = select(MetricValueRow.metric, MetricValueRow.definition_hash, func.count()).group_by(
            MetricValueRow.metric, MetricValueRow.definition_hash)
        for metric, h, n in conn.execute(q):
            if metric in hashes and h != hashes[metric]:
                out[metric] = out.get(metric, 0) + n
    return out


def export_rows(store: Store, metrics: list[str] | None, grains: list[str] | None,
                start: date | None, end: date | None) -> Iterator[MetricValueRow]:
    yield from export_selection(store, metrics, grains, start, end)


def export_selection(store: Store, metrics: list[str] | None, grains: list[str] | None,
                     start: date | None, end: date | None, *, dims_key: str | None = None,
                     latest: bool = False) -> Iterator[MetricValueRow]:
    """The export's rows (metric, grain, period_start, hour, dims, value), in its order: metric,
    grain, period (and hour), dimension key. ``dims_key``: only the rows of exactly that dimension set ('' is the
    total), as a series read selects them. ``latest``: of each (metric, grain, dimension set)
    series, only its latest stored period within ``start`` .. ``end`` (of an hour series, its
    latest hour)."""
    V = MetricValueRow
    conds = []
    if metrics:
        conds.append(V.metric.in_(metrics))
    if grains:
        conds.append(V.grain.in_(grains))
    if start:
        conds.append(V.period_start >= start)
    if end:
        conds.append(V.period_start <= end)
    if dims_key is not None:
        conds.append(V.dims_key == dims_key)
    q = select(V.metric, V.grain, V.period_start, V.hour, V.dims, V.value).where(*conds)
    if latest:
        last = (select(V.metric, V.grain, V.dims_key, func.max(V.period_start).label("period_start"))
                .where(*conds).group_by(V.metric, V.grain, V.dims_key).subquery())
        q = q.join(last, and_(V.metric == last.c.metric, V.grain == last.c.grain,
                              V.dims_key == last.c.dims_key, V.period_start == last.c.period_start))
    q = q.order_by(V.metric, V.grain, V.period_start, V.hour, V.dims_key)
    with store.engine.connect() as conn:
        rows = conn.execution_options(yield_per=10_000).execute(q)
        if not latest:
            yield from rows
            return
        # The latest day of an hour series holds all its hours: keep the last (a few dozen rows).
        last_hour: dict[tuple, list] = {}
        for row in rows:
            if row.grain != "hour":
                yield row
                continue
            key = (row.metric, tuple(sorted(row.dims.items())))
            if key not in last_hour or row.hour >= last_hour[key][0].hour:
                last_hour[key] = [row] if key not in last_hour or row.hour > last_hour[key][0].hour \
                    else [*last_hour[key], row]
        yield from sorted((r for rs in last_hour.values() for r in rs),
                          key=lambda r: (r.metric, r.hour, sorted(r.dims.items())))


# -- runs ---------------------------------------------------------------------------------

def start_run(store: Store, kind: str, params: dict, first: date | None,
              last: date | None) -> int:
    _reconcile_dead_runs(store)
    params = {**params, "pid": os.getpid(), "host": socket.gethostname()}
    with store.engine.begin() as conn:
        return conn.execute(insert(Run).values(
            kind=kind, params=params, state="running", started_at=now(),
            range_start=first, range_end=last).returning(Run.id)).scalar_one()


def forget_run(store: Store, run_id: int) -> None:
    """Bad input: the run never really started, so it leaves no trace."""
    with store.engine.begin() as conn:
        conn.execute(delete(Run).where(Run.id == run_id))


def fail_run(store: Store, run_id: int, error: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run_id).values(
            state="failed", finished_at=now(), error=error[:2000]))


def _reconcile_dead_runs(store: Store) -> None:
    """Runs left 'running' by a process on this host that no longer exists were killed."""
    host = socket.gethostname()
    with store.engine.begin() as conn:
        for run_id, params in conn.execute(select(Run.id, Run.params).where(Run.state == "running")):
            if params.get("host") == host and not _alive(params.get("pid")):
                conn.execute(update(Run).where(Run.id == run_id).values(
                    state="interrupted", finished_at=now(),
                    error="the process stopped before the run finished; nothing was written"))


def _alive(pid) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def last_complete_day(store: Store, local_date=None) -> date | None:
    """The last day of the unbroken run of days computed for every metric at every grain,
    counted from the first such run: an incremental run continues from there, so a gap
    (a `--date` run after days of downtime) is filled rather than skipped.

    ``local_date(instant)`` gives the project's local date of an instant: a run covers no
    day after the one before it started (today's values were partial).
    """
    spans = []
    with store.engine.connect() as conn:
        rows = conn.execute(select(Run.params, Run.range_start, Run.range_end, Run.started_at)
                            .where(Run.kind == "compute", Run.state == "succeeded",
                                   Run.range_start.is_not(None), Run.range_end.is_not(None)))
        for params, first, last, started in rows:
            if params.get("metrics") or params.get("grains"):
                continue  # a partial run does not make days complete
            if local_date is not None:
                last = min(last, local_date(started) - timedelta(days=1))
            if first <= last:
                spans.append((first, last))
    if not spans:
        return None
    spans.sort()
    covered = spans[0][1]
    for first, last in spans[1:]:
        if first > covered + timedelta(days=1):
            break  # a gap: everything after it must be computed again
        covered = max(covered, last)
    return covered
