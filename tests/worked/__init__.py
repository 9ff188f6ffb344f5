"""Worked examples: tiny hand-built data sets whose expected metric values are written down by
hand in ``tests/test_worked_examples.py`` (reasoned from the definitions, never produced by
running daypulse).

Every timestamp is stored as naive UTC and written with :func:`at`, which also records the
New York wall time the row is meant to happen at; a test checks those claims with zoneinfo so
that the hand reasoning about local days starts from correct local times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ZONE = "America/New_York"

# (naive UTC instant, the local wall time the story says it is) for every timestamp written.
LOCAL_CLAIMS: list[tuple[datetime, str]] = []


def at(utc: str, local: str) -> datetime:
    """A naive UTC timestamp; ``local`` is its New York wall time ``YYYY-MM-DD HH:MM[:SS[.ffffff]]``
    followed by the zone abbreviation (EST/EDT), e.g. ``"2026-03-03 23:59:59 EST"``."""
    ts = datetime.fromisoformat(utc)
    LOCAL_CLAIMS.append((ts, local))
    return ts


@dataclass
class Table:
    columns: dict[str, str]  # column -> int | str | bool | ts | float | decimal | date
    rows: list[dict]

    @classmethod
    def of(cls, columns: dict[str, str], *rows: tuple) -> Table:
        names = list(columns)
        for r in rows:
            assert len(r) == len(names), (names, r)
        return cls(columns, [dict(zip(names, r)) for r in rows])


@dataclass
class Story:
    key: str
    tables: dict[str, Table]
