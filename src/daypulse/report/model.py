"""A report's content, computed once and rendered many ways (text, Markdown, Slack, HTML, JSON).

Plain data: every number is already a number (money in cents, rates as fractions), with the
metric's format and good direction next to it, so renderers only format; none reads the
store or decides anything.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal

from daypulse.values import Delta, Number


@dataclass(frozen=True)
class Comparison:
    """The value against one of the report's comparisons (``compare:``): a :class:`Delta` with
    what it compares with (its fields in this order are the JSON format's)."""

    key: str  # previous | same_weekday | last_year
    label: str  # "vs the day before", "vs the same day last month" (daypulse.judgement.base_label)
    base: Number  # the compared value
    change: Number  # value - base (None when either is missing)
    pct: float | None  # change / base where that means something (see values.Delta)
    verdict: str  # good | bad | flat (no change, or within the noise) | none

    @classmethod
    def of(cls, key: str, label: str, delta: Delta) -> Comparison:
        return cls(key, label, delta.base, delta.change, delta.pct, delta.verdict)


@dataclass(frozen=True)
class Line:
    """One metric in a section."""

    metric: str
    label: str
    description: str
    formula: str
    fmt: str  # integer | number | currency | percent | duration
    good: str  # up | down
    value: Number
    deltas: list[Comparison]
    spark: list[Number]  # the last N periods, oldest first, ending with this one
    anomaly: str | None = None  # a sentence when the value is unusual for its history


@dataclass(frozen=True)
class BreakdownRow:
    label: str  # what is shown: the dimension value's label (dimensions: labels:), else the value
    values: list[Number]  # the breakdown's metric, then its `also` metrics
    change: Number  # the first metric against the previous period
    key: str | None = None  # the dimension value as stored and filtered on (default: the label)

    def __post_init__(self):
        if self.key is None:
            object.__setattr__(self, "key", self.label)


@dataclass(frozen=True)
class Breakdown:
    title: str
    dimension: str
    columns: list[str]  # labels of the metrics in `values`
    fmts: list[str]
    rows: list[BreakdownRow]
    total: list[Number]


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[Line]
    breakdowns: list[Breakdown] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    """One item of "what changed": a large move, an anomaly, and what drove it."""

    kind: str  # move | anomaly
    metric: str
    label: str
    text: str  # the sentence shown, numbers formatted
    verdict: str  # good | bad | flat
    score: float  # how big (|pct| for moves, |z| for anomalies), for ordering
    drivers: list[str] = field(default_factory=list)  # "acme +12 (60% of the rise)"


@dataclass(frozen=True)
class ChartImage:
    id: str  # stable, safe as a file name and a Content-ID local part: "chart-1-signups"
    title: str
    alt: str
    png: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    project: str
    timezone: str
    grain: str  # day | week | month
    start: date  # the period reported on: first and last local day
    end: date
    period_label: str  # "Friday 20 November 2026", "Week of 16 November 2026", "November 2026"
    generated_at: datetime
    filter: dict[str, str]
    sections: list[Section]
    changes: list[Change]
    charts: list[ChartImage]
    notes: list[str]  # e.g. "no data for this period", "metrics left out: ..."
    has_data: bool

    def to_json(self) -> dict:
        """The JSON form (charts without their bytes: id, title, alt and size)."""
        out = asdict(self)
        out["charts"] = [{k: v for k, v in c.items() if k != "png"} for c in out["charts"]]
        return _jsonable(out)


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, float) and v.is_integer():
        return v
    return v
