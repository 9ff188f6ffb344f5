"""Display labels of dimension values (``dimension_labels``): a staff member's name for its id.

The engine replaces them on each compute with what the source's lookup table holds now; reports,
the dashboard and the API read them next to the values they show. Values, filters and exports
keep the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update

from daypulse.store.db import Store, write_transaction
from daypulse.store.models import DimensionLabel as L

BATCH = 500  # keys per IN (...) read or delete


def replace(store: Store, found: dict[str, dict[str, str]], labelled: Iterable[str]) -> None:
    """The labels of each dimension of ``found`` ({dimension: {key: label}}, read from the source
    just now) become exactly those: new keys added, changed labels updated (and their
    ``updated_at``), keys no longer there removed; dimensions not ``labelled`` any more lose
    theirs. One transaction: a reader sees the labels before or after, never half."""
    at = datetime.now(UTC)
    with write_transaction(store) as conn:
        if store.dialect == "postgresql":  # two computes take turns on the read-then-write below
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('daypulse.dimension_labels'))")
        conn.execute(delete(L).where(L.dimension.not_in(sorted(set(labelled)))))
        for dimension, labels in found.items():
            have = dict(conn.execute(select(L.key, L.label).where(L.dimension == dimension)).all())
            gone = [k for k in have if k not in labels]
            for i in range(0, len(gone), BATCH):
                conn.execute(delete(L).where(L.dimension == dimension, L.key.in_(gone[i:i + BATCH])))
            new = [{"dimension": dimension, "key": k, "label": v, "updated_at": at}
                   for k, v in labels.items() if k not in have]
            if new:
                conn.execute(insert(L), new)
            changed = [{"d": dimension, "k": k, "l": v} for k, v in labels.items() if k in have and have[k] != v]
            if changed:
                conn.execute(update(L).where(L.dimension == bindparam("d"), L.key == bindparam("k"))
                             .values(label=bindparam("l"), updated_at=at), changed)


def of(store: Store, dimension: str, keys: Iterable[str] | None = None) -> dict[str, str]:
    """{key: label} of one dimension (of these ``keys``, or all); a key without a label has no entry."""
    q = select(L.key, L.label).where(L.dimension == dimension)
    with store.engine.connect() as conn:
        if keys is None:
            return dict(conn.execute(q).all())
        keys = sorted(set(keys))
        out = {}
        for i in range(0, len(keys), BATCH):
            out.update(conn.execute(q.where(L.key.in_(keys[i:i + BATCH]))).all())
        return out


def shown(store: Store, dims: dict[str, str]) -> dict[str, str]:
    """{dimension: its value's label, or the value itself} for one set of dimension values (a
    series' ``dims``), in one query."""
    if not dims:
        return {}
    q = select(L.dimension, L.key, L.label).where(or_(*(and_(L.dimension == d, L.key == v) for d, v in dims.items())))
    with store.engine.connect() as conn:
        found = {d: label for d, k, label in conn.execute(q) if dims.get(d) == k}
    return {d: found.get(d, v) for d, v in dims.items()}
