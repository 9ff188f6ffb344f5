"""``kind: sql``: the escape hatch. The user's SQL runs as written, with bound parameters.

It receives ``:start`` and ``:end`` (naive UTC timestamps: the start of the first local day
and the end of the last) and ``:tz`` (the project's zone name), and returns columns ``day``
(a local date), the declared dimension columns, and ``value``. Rows whose dimension
columns are all NULL are the total.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from daypulse import warehouse
from daypulse.errors import ConfigError, Issue, SourceError
from daypulse.project.model import SqlMetric


def run_sql_metric(src, name: str, m: SqlMetric, start_epoch: int, end_epoch: int,
                   tz: str) -> list[dict]:
    params = {
        "start": datetime.fromtimestamp(start_epoch, UTC).replace(tzinfo=None),
        "end": datetime.fromtimestamp(end_epoch, UTC).replace(tzinfo=None),
        "tz": tz,
    }
    used = set(warehouse.PARAM.findall(m.sql))
    try:
        names, rows = warehouse.run_sql(src.backend, src.con, m.sql, {k: v for k, v in params.items() if k in used})
    except Exception as exc:  # the drivers raise many types; say which metric failed
        text = str(exc).strip().splitlines()
        raise SourceError(f"metric {name!r}: its SQL failed: {text[0] if text else exc}",
                          metric=name) from exc
    missing = {"day", "value", *m.dimensions} - set(names)
    if missing:
        raise ConfigError([Issue(f"the SQL must return columns day, value"
                                 f"{''.join(', ' + d for d in m.dimensions)}; missing: "
                                 f"{', '.join(sorted(missing))}", metric=name)])
    out = []
    for row in rows:
        rec = dict(zip(names, row))
        day = rec["day"]
        if isinstance(day, datetime):
            day = day.date()
        elif isinstance(day, str):
            day = date.fromisoformat(day[:10])
        rec["day"] = day
        out.append(rec)
    return out
