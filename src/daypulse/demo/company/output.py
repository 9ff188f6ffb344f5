"""Writing the generated tables into the DuckDB file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

# --------------------------------------------------------------------------- output


def ts(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us"), mask=null)


def dictionary(codes: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)),
                                          pa.array(values, pa.string()))


def iso(us: int) -> str:
    return (datetime(1970, 1, 1) + timedelta(microseconds=int(us))).isoformat()


def write(path: Path, tables: dict[str, dict[str, pa.Array]]) -> dict[str, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    counts = {}
    con = duckdb.connect(str(path))
    try:
        for name, columns in tables.items():
            arrow = pa.table(columns)
            con.register("_demo_src", arrow)
            select = ", ".join(
                f'CAST("{c}" AS VARCHAR) AS "{c}"' if pa.types.is_dictionary(a.type) else f'"{c}"'
                for c, a in columns.items())
            con.execute(f'CREATE TABLE "{name}" AS SELECT {select} FROM _demo_src')
            con.unregister("_demo_src")
            counts[name] = arrow.num_rows
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return counts
