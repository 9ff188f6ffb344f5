"""daypulse.calendar against zoneinfo: day starts, offset segments, periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from datasets import transitions
from daypulse import calendar as cal
from reference import day_start as ref_day_start

ZONES = ["Asia/Kolkata", "America/New_York", "Europe/London", "Australia/Lord_Howe",
         "America/Santiago"]
FIRST, LAST = date(2019, 1, 1), date(2028, 12, 31)


def _epoch(dt: datetime) -> int:
    return int(dt.timestamp())


def _local_date(zone: str, epoch: int) -> date:
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(zone)).date()


@pytest.mark.parametrize("zone", ZONES)
def test_day_start_is_the_first_instant_of_the_local_date(zone):
    d = FIRST
    while d <= LAST:
        got = cal.day_start(zone, d)
        assert got == _epoch(ref_day_start(zone, d)), (zone, d)
        d += timedelta(days=1)


@pytest.mark.parametrize("zone", ZONES)
def test_day_start_around_every_transition(zone):
    """Days around each change: start belongs to the day, the second before does not, and
    the day is 23/23.5/24/24.5/25 hours long exactly as zoneinfo says."""
    lo = datetime.combine(FIRST, datetime.min.time(), UTC)
    hi = datetime.combine(LAST, datetime.min.time(), UTC)
    changes = transitions(zone, lo, hi)
    if zone == "Asia/Kolkata":
        assert changes == []
    else:
        assert len(changes) >= 2 * (LAST.year - FIRST.year)
    tz = ZoneInfo(zone)
    for c in changes:
        local = c.astimezone(tz).date()
        for d in (local - timedelta(days=1), local, local + timedelta(days=1)):
            s, e = cal.day_start(zone, d), cal.day_start(zone, d + timedelta(days=1))
            assert _local_date(zone, s) == d
            assert _local_date(zone, s - 1) == d - timedelta(days=1)
            assert _local_date(zone, e - 1) == d
            assert _local_date(zone, e) == d + timedelta(days=1)
            # (aware datetimes in one zone subtract as wall clocks: go through UTC)
            length = (datetime.combine(d + timedelta(days=1), datetime.min.time(), tz)
                      .astimezone(UTC)
                      - datetime.combine(d, datetime.min.time(), tz).astimezone(UTC))
            if zone != "America/Santiago":  # there midnight itself may not exist
                assert e - s == length.total_seconds(), (zone, d)


def test_santiago_midnight_gap_and_repeated_hour():
    z = "America/Santiago"
    # 2026-09-06: clocks jump 00:00 -> 01:00 (the day begins at 01:00 local, 04:00 UTC)
    assert cal.day_start(z, date(2026, 9, 6)) == _epoch(datetime(2026, 9, 6, 4, tzinfo=UTC))
    assert cal.day_start(z, date(2026, 9, 7)) - cal.day_start(z, date(2026, 9, 6)) == 23 * 3600
    # 2026-04-04: 24:00 -> 23:00, so April 4 has 25 hours
    assert cal.day_start(z, date(2026, 4, 5)) - cal.day_start(z, date(2026, 4, 4)) == 25 * 3600
    assert cal.day_start(z, date(2026, 4, 5)) == _epoch(datetime(2026, 4, 5, 4, tzinfo=UTC))
    # 2025-09-07 likewise
    assert cal.day_start(z, date(2025, 9, 7)) == _epoch(datetime(2025, 9, 7, 4, tzinfo=UTC))


def test_lord_howe_half_hour_changes():
    z = "Australia/Lord_Howe"
    d = date(2026, 4, 5)  # +11 -> +10:30 at 02:00 local
    assert cal.day_start(z, d) == _epoch(datetime(2026, 4, 4, 13, tzinfo=UTC))
    assert cal.day_start(z, d + timedelta(days=1)) - cal.day_start(z, d) == 24 * 3600 + 1800
    d = date(2026, 10, 4)  # +10:30 -> +11 at 02:00 local
    assert cal.day_start(z, d + timedelta(days=1)) - cal.day_start(z, d) == 24 * 3600 - 1800


@pytest.mark.parametrize("zone", ZONES)
def test_offset_segments_match_zoneinfo(zone):
    tz = ZoneInfo(zone)
    lo = _epoch(datetime(2019, 1, 1, tzinfo=UTC)) + 12345
    hi = _epoch(datetime(2029, 1, 1, tzinfo=UTC))
    segs = cal.offset_segments(zone, lo, hi)
    assert segs[0].since == lo
    assert all(a.since < b.since and a.offset != b.offset for a, b in zip(segs, segs[1:]))
    changes = [_epoch(c) for c in transitions(zone, datetime.fromtimestamp(lo, UTC),
                                              datetime.fromtimestamp(hi, UTC))]
    assert [s.since for s in segs[1:]] == changes

    def offset(epoch: int) -> int:
        return int(datetime.fromtimestamp(epoch, UTC).astimezone(tz).utcoffset().total_seconds())

    def seg_offset(epoch: int) -> int:
        return [s.offset for s in segs if s.since <= epoch][-1]

    probes = list(range(lo, hi, 7 * 3600 + 17))
    probes += [c + k for c in changes for k in (-3600, -1, 0, 1, 3600)]
    for e in probes:
        assert seg_offset(e) == offset(e), (zone, e)
        # the formula the engine sends to SQL gives zoneinfo's local date
        assert cal.from_day_num((e + seg_offset(e)) // 86400) == _local_date(zone, e)
        assert cal.from_day_num(cal.local_day_num(zone, e)) == _local_date(zone, e)


@pytest.mark.parametrize("zone", ZONES)
def test_calendar_segments_cover_the_days(zone):
    c = cal.Calendar(zone)
    first, last = date(2025, 10, 1), date(2026, 4, 30)
    segs = c.segments(first, last)
    assert segs[0].since <= cal.day_start(zone, first - timedelta(days=1))
    d = first
    while d <= last:
        s = cal.day_start(zone, d)
        for e in (s, s + 1, s + 43200, cal.day_start(zone, d + timedelta(days=1)) - 1):
            off = [x.offset for x in segs if x.since <= e][-1]
            assert cal.from_day_num((e + off) // 86400) == d
        d += timedelta(days=1)


def test_fixed_offset_zone_has_one_segment():
    lo = _epoch(datetime(2020, 1, 1, tzinfo=UTC))
    segs = cal.offset_segments("Asia/Kolkata", lo, lo + 400 * 86400)
    assert segs == (cal.OffsetSegment(lo, 19800),)


def test_day_num_round_trip():
    assert cal.day_num(date(1970, 1, 1)) == 0
    assert cal.day_num(date(1969, 12, 31)) == -1
    for n in (-400, -1, 0, 1, 20000, 20454):
        assert cal.day_num(cal.from_day_num(n)) == n


@pytest.mark.parametrize("week_start, expected", [("monday", date(2026, 3, 2)),
                                                   ("sunday", date(2026, 3, 8))])
def test_periods(week_start, expected):
    c = cal.Calendar("America/New_York", week_start)
    d = date(2026, 3, 8)  # a Sunday
    assert c.period_start("day", d) == d
    assert c.period_start("week", d) == expected
    assert c.period_end("week", d) == expected + timedelta(days=6)
    assert c.period_start("month", d) == date(2026, 3, 1)
    assert c.period_end("month", date(2028, 2, 10)) == date(2028, 2, 29)
    assert c.period_start("quarter", date(2026, 12, 31)) == date(2026, 10, 1)
    assert c.next_period_start("quarter", date(2026, 12, 31)) == date(2027, 1, 1)
    assert c.period_start("year", d) == date(2026, 1, 1)
    assert c.next_period_start("month", date(2026, 12, 15)) == date(2027, 1, 1)
    assert c.periods("month", date(2025, 11, 20), date(2026, 2, 1)) == [
        date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    weeks = c.periods("week", date(2026, 3, 1), date(2026, 3, 31))
    assert all(w.weekday() == (0 if week_start == "monday" else 6) for w in weeks)
    assert weeks[0] <= date(2026, 3, 1) < weeks[0] + timedelta(days=7)
    assert weeks[-1] <= date(2026, 3, 31) < weeks[-1] + timedelta(days=7)
    with pytest.raises(ValueError):
        c.period_start("fortnight", d)


def test_today_is_the_local_date():
    c = cal.Calendar("Asia/Kolkata")
    assert c.today(datetime(2026, 1, 10, 18, 29, 59, tzinfo=UTC)) == date(2026, 1, 10)
    assert c.today(datetime(2026, 1, 10, 18, 30, tzinfo=UTC)) == date(2026, 1, 11)


def test_bad_inputs():
    with pytest.raises(ValueError):
        cal.zone("Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        cal.parse_date("2026-13-01")
    assert cal.parse_date("2026-02-28") == date(2026, 2, 28)
