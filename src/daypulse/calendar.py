"""Local days, periods and UTC offsets, computed in Python with zoneinfo.

Ibis has no "convert to time zone" operation that works on every engine, so the engine
never asks the database about zones. Instead this module hands it plain integers:

* ``day_num``: days since 1970-01-01 of a *local* date;
* offset segments: the zone's UTC offset as a step function of the UTC epoch second, so the
  local day of an instant ``e`` is ``(e + offset(e)) // 86400`` (a CASE over a few segments);
* ``day_start(d)``: the UTC epoch second at which local day ``d`` begins. Day ``d`` is the
  half-open interval ``[day_start(d), day_start(d + 1))``: 23 or 25 hours long across DST.

Everything here is pure and small (one entry per day or per transition, never per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH_DATE = date(1970, 1, 1)
# The days a user may name (a date parameter, a flag, a manual value): a period and the ones it
# is compared with stay far inside what datetime can hold, so no arithmetic overflows.
FIRST_DAY, LAST_DAY = EPOCH_DATE, date(2200, 12, 31)
SECONDS_PER_DAY = 86_400
GRAINS = ("hour", "day", "week", "month", "quarter", "year")
# An hour-grain period is keyed ``day_num * HOUR_SLOTS + i``: the i-th hour (from 0) of a local
# day. A day has 23, 24 or 25 of them, so the repeated autumn hour is two keys, not one.
HOUR_SLOTS = 32
WEEK_STARTS = ("monday", "sunday")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def outside(d: date) -> str | None:
    """Why ``d`` cannot be asked for, or None when it is between FIRST_DAY and LAST_DAY."""
    return None if FIRST_DAY <= d <= LAST_DAY else f"{d} is outside {FIRST_DAY} .. {LAST_DAY}"


def day_num(d: date) -> int:
    return (d - EPOCH_DATE).days


def from_day_num(n: int) -> date:
    return EPOCH_DATE + timedelta(days=n)


def _offset_at(tz: ZoneInfo, epoch: int) -> int:
    instant = datetime.fromtimestamp(epoch, UTC)
    return int(tz.utcoffset(instant.astimezone(tz)).total_seconds())


@dataclass(frozen=True)
class OffsetSegment:
    """From UTC epoch second ``since`` (inclusive) on, the zone is ``offset`` seconds ahead."""

    since: int
    offset: int


@lru_cache(maxsize=256)
def offset_segments(tz_name: str, lo: int, hi: int) -> tuple[OffsetSegment, ...]:
    """The zone's offsets over UTC epoch seconds [lo, hi), as few segments as possible.

    The first segment's ``since`` is ``lo``. Transitions are found by sampling every 6 hours
    and bisecting to the second where the offset changes (no zone changes twice that fast).
    """
    tz = zone(tz_name)
    step = 6 * 3600
    segments = [OffsetSegment(lo, _offset_at(tz, lo))]
    probe = lo
    while probe < hi:
        nxt = min(probe + step, hi)
        current = segments[-1].offset
        if _offset_at(tz, nxt) != current:
            a, b = probe, nxt  # offset(a) == current, offset(b) != current
            while b - a > 1:
                mid = (a + b) // 2
                if _offset_at(tz, mid) == current:
                    a = mid
                else:
                    b = mid
            segments.append(OffsetSegment(b, _offset_at(tz, b)))
        probe = nxt
    return tuple(segments)


def local_day_num(tz_name: str, epoch: int) -> int:
    """The local day of a UTC epoch second (the same formula the engine sends to SQL)."""
    return (epoch + _offset_at(zone(tz_name), epoch)) // SECONDS_PER_DAY


@lru_cache(maxsize=8192)
def day_start(tz_name: str, d: date) -> int:
    """UTC epoch second at which local date ``d`` begins in the zone.

    The first instant whose local date is ``d``: usually local midnight; when midnight does
    not exist (America/Santiago springs forward at 00:00) it is the moment the clocks jump.
    """
    tz = zone(tz_name)
    target = day_num(d) * SECONDS_PER_DAY
    # Local midnight read with either offset around it; the true start is the earliest
    # instant whose local wall time is at or after midnight of d.
    candidates = []
    for fold in (0, 1):
        local = datetime(d.year, d.month, d.day, tzinfo=tz).replace(fold=fold)
        candidates.append(int(local.timestamp()))
    lo, hi = min(candidates) - 2 * 3600, max(candidates) + 2 * 3600
    # Bisect on the monotone predicate "local wall time >= midnight of d".
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid + _offset_at(tz, mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class Calendar:
    """The project's calendar: its zone and the first day of its week."""

    tz: str
    week_start: str = "monday"

    def today(self, now: datetime | None = None) -> date:
        now = now or datetime.now(UTC)
        return now.astimezone(zone(self.tz)).date()

    def day_start(self, d: date) -> int:
        return day_start(self.tz, d)

    def hour_starts(self, d: date) -> list[int]:
        """UTC epoch seconds at which the local hours of day ``d`` begin: 23, 24 or 25 of them
        (the last one shorter in a zone whose clocks move by half an hour)."""
        return list(range(self.day_start(d), self.day_start(d + timedelta(days=1)), 3600))

    def hour_label(self, d: date, index: int) -> str:
        """The start of hour ``index`` of day ``d`` as an ISO instant with its offset:
        ``2026-11-01T01:00-04:00`` and ``2026-11-01T01:00-05:00`` are the two 01:00s."""
        start = datetime.fromtimestamp(self.day_start(d) + 3600 * index, zone(self.tz))
        return start.isoformat(timespec="minutes")

    def period_start(self, grain: str, d: date) -> date:
        """The first local day of the period holding ``d`` (an hour is filed under its day)."""
        if grain in ("day", "hour"):
            return d
        if grain == "week":
            shift = d.weekday() if self.week_start == "monday" else (d.weekday() + 1) % 7
            return d - timedelta(days=shift)
        if grain == "month":
            return d.replace(day=1)
        if grain == "quarter":
            return d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
        if grain == "year":
            return d.replace(month=1, day=1)
        raise ValueError(f"unknown grain {grain!r}")

    def next_period_start(self, grain: str, d: date) -> date:
        start = self.period_start(grain, d)
        if grain in ("day", "hour"):
            return start + timedelta(days=1)
        if grain == "week":
            return start + timedelta(days=7)
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        m = start.month - 1 + months
        return date(start.year + m // 12, m % 12 + 1, 1)

    def period_end(self, grain: str, d: date) -> date:
        """Last local date of the period that contains ``d``."""
        return self.next_period_start(grain, d) - timedelta(days=1)

    def shift(self, grain: str, start: date, n: int) -> date:
        """The start of the period ``n`` periods before the one starting at ``start``."""
        d = start
        for _ in range(n):
            d = self.period_start(grain, d - timedelta(days=1))
        return d

    def comparison_start(self, key: str, grain: str, start: date) -> date | None:
        """The start of the period a ``key`` comparison (previous, same_weekday, last_year)
        holds the one starting at ``start`` against; None where it does not apply."""
        if key == "previous":
            return self.shift(grain, start, 1)
        if key == "same_weekday":
            return start - timedelta(days=7) if grain == "day" else None
        if key == "last_year":
            try:
                return self.period_start(grain, start.replace(year=start.year - 1))
            except ValueError:  # 29 February
                return self.period_start(grain, start.replace(year=start.year - 1, day=28))
        return None

    def periods(self, grain: str, first: date, last: date) -> list[date]:
        """Starts of the periods that intersect [first, last]."""
        out, p = [], self.period_start(grain, first)
        while p <= last:
            out.append(p)
            p = self.next_period_start(grain, p)
        return out

    def segments(self, first: date, last: date) -> tuple[OffsetSegment, ...]:
        """Offset segments covering local days [first, last] (with a day of margin)."""
        lo = day_num(first - timedelta(days=1)) * SECONDS_PER_DAY - 2 * SECONDS_PER_DAY
        hi = day_num(last + timedelta(days=2)) * SECONDS_PER_DAY + 2 * SECONDS_PER_DAY
        return offset_segments(self.tz, lo, hi)


def parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date: {text!r} (expected YYYY-MM-DD)") from exc
