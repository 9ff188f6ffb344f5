"""A stored number and its key: the one shape the engine produces and the store keeps.

A leaf: the engine, the store, reports and the API all speak of metric values, so the type
lives below all of them (nothing here imports the rest of daypulse).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

Dims = tuple[tuple[str, str], ...]


class MetricValue(NamedTuple):
    """One stored number. A tuple: millions are made per run, so construction must be cheap."""

    metric: str
    grain: str
    period_start: date
    dims: Dims  # sorted (name, value) pairs; () is the total
    value: int | float | Decimal | None

    @property
    def dims_key(self) -> str:
        """``name=value;...`` sorted by name ('' for the total); backslashes, ``;`` and ``=`` in
        values are escaped with a backslash so two different dimension sets never share a key."""
        return ";".join(f"{k}={_escape(v)}" for k, v in self.dims)


def dims_key(dims: dict[str, str]) -> str:
    """The stored key of a set of dimension values ({} is the total), as ``MetricValue.dims_key``."""
    return MetricValue("", "", date.min, tuple(sorted(dims.items())), None).dims_key


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace("=", "\\=")
