"""Schedules: fire instants across DST, the period each fire reports on, catch-up.

Every expected instant is written out by hand. The zone facts they rest on (2026, tzdata) are
asserted first in ``test_zone_facts`` so a reader can check the arithmetic:

* America/New_York: EST -05:00 / EDT -04:00; springs forward 2026-03-08 at 07:00 UTC
  (02:00 EST → 03:00 EDT), falls back 2026-11-01 at 06:00 UTC (02:00 EDT → 01:00 EST).
* Asia/Kolkata: +05:30 all year.
* Europe/London: GMT +00:00 / BST +01:00; BST from 2026-03-29 01:00 UTC.
* Australia/Lord_Howe: +10:30 / +11:00 (a 30-minute DST); back 2026-04-04 15:00 UTC
  (02:00 → 01:30 on Apr 5), forward 2026-10-03 15:30 UTC (02:00 → 02:30 on Oct 4).
* America/Santiago: -04:00 / -03:00, changing at midnight; back 2026-04-05 03:00 UTC
  (Apr 4 24:00 → 23:00), forward 2026-09-06 04:00 UTC (Sep 6 00:00 → 01:00: no midnight).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from daypulse.calendar import Calendar
from daypulse.delivery.schedule import (
    Due,
    Fire,
    due_periods,
    fires_between,
    next_fire,
    parse_schedule,
    period_for,
    period_ready_at,
)
from daypulse.errors import UsageError

NY, KOLKATA, LONDON = "America/New_York", "Asia/Kolkata", "Europe/London"
LORD_HOWE, SANTIAGO = "Australia/Lord_Howe", "America/Santiago"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(text: str | dict, tz: str, after: datetime, until: datetime) -> list[Fire]:
    return fires_between(parse_schedule(text), tz, after, until)


def instants(found: list[Fire]) -> list[datetime]:
    return [f.at for f in found]


def test_zone_facts():
    def offsets_around(tz: str, instant: datetime) -> tuple[float, float]:
        """The zone's UTC offset (hours) one minute before ``instant`` and at it."""
        return tuple(t.astimezone(ZoneInfo(tz)).utcoffset().total_seconds() / 3600
                     for t in (instant - timedelta(minutes=1), instant))

    assert offsets_around(NY, utc(2026, 3, 8, 7)) == (-5, -4)
    assert offsets_around(NY, utc(2026, 11, 1, 6)) == (-4, -5)
    assert offsets_around(KOLKATA, utc(2026, 1, 1)) == offsets_around(KOLKATA, utc(2026, 7, 1)) == (5.5, 5.5)
    assert offsets_around(LONDON, utc(2026, 3, 29, 1)) == (0, 1)
    assert offsets_around(LORD_HOWE, utc(2026, 4, 4, 15)) == (11, 10.5)
    assert offsets_around(LORD_HOWE, utc(2026, 10, 3, 15, 30)) == (10.5, 11)
    assert offsets_around(SANTIAGO, utc(2026, 4, 5, 3)) == (-3, -4)
    assert offsets_around(SANTIAGO, utc(2026, 9, 6, 4)) == (-4, -3)


# --- fires ------------------------------------------------------------------------------------


def test_kolkata_daily_0001_fires_1831_utc_the_previous_day_and_reports_the_previous_ist_day():
    found = fires("daily at 00:01", KOLKATA, utc(2026, 3, 1), utc(2026, 3, 3))
    # 00:01 IST on Mar 2 = 00:01 - 05:30 = 18:31 UTC on Mar 1; likewise for Mar 3.
    assert found == [Fire(utc(2026, 3, 1, 18, 31), date(2026, 3, 2), time(0, 1)),
                     Fire(utc(2026, 3, 2, 18, 31), date(2026, 3, 3), time(0, 1))]
    # The fire on IST Mar 2 reports IST Mar 1 (yesterday in India), though it is still Mar 1 in UTC.
    assert period_for(found[0], "day", Calendar(KOLKATA)) == date(2026, 3, 1)


def test_new_york_0130_on_the_fall_back_day_fires_once_at_the_first_0130():
    found = fires("daily at 01:30", NY, utc(2026, 10, 31), utc(2026, 11, 3))
    # Oct 31 01:30 EDT = 05:30 UTC. Nov 1: 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC
    # (EST); only the first fires. Nov 2 01:30 EST = 06:30 UTC.
    assert instants(found) == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    nov1 = [f for f in found if f.local_date == date(2026, 11, 1)]
    assert len(nov1) == 1
    assert period_for(nov1[0], "day", Calendar(NY)) == date(2026, 10, 31)
    # A window holding only the second 01:30 (EST) has no fire.
    assert fires("daily at 01:30", NY, utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)) == []


def test_new_york_0230_on_the_spring_forward_day_fires_at_0300_edt():
    found = fires("daily at 02:30", NY, utc(2026, 3, 7), utc(2026, 3, 10))
    # Mar 7 02:30 EST = 07:30 UTC; Mar 8 02:30 does not exist: the clocks jump 02:00 → 03:00 at
    # 07:00 UTC, the first instant after the gap; Mar 9 02:30 EDT = 06:30 UTC.
    assert instants(found) == [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]
    mar8 = found[1]
    assert mar8.at.astimezone(ZoneInfo(NY)).time() == time(3, 0)
    assert (mar8.local_date, mar8.wall) == (date(2026, 3, 8), time(2, 30))  # as scheduled
    assert period_for(mar8, "day", Calendar(NY)) == date(2026, 3, 7)


def test_weekly_monday_0900_london_reports_the_previous_full_week():
    found = fires("weekly on mon at 09:00", LONDON, utc(2026, 3, 23), utc(2026, 4, 1))
    # Mondays in the window: Mar 23 (09:00 GMT = 09:00 UTC) and Mar 30 (09:00 BST = 08:00 UTC).
    assert instants(found) == [utc(2026, 3, 23, 9), utc(2026, 3, 30, 8)]
    monday = found[1]
    # Weeks from Monday: Mon Mar 23 .. Sun Mar 29. Weeks from Sunday: Sun Mar 22 .. Sat Mar 28
    # (the week that started Sunday Mar 29 is still running on Monday Mar 30).
    assert period_for(monday, "week", Calendar(LONDON, "monday")) == date(2026, 3, 23)
    assert period_for(monday, "week", Calendar(LONDON, "sunday")) == date(2026, 3, 22)


def test_weekly_on_several_days():
    found = fires({"at": "09:00", "days": ["thu", "mon"]}, LONDON, utc(2026, 3, 22), utc(2026, 3, 29))
    # Mon Mar 23 and Thu Mar 26, both GMT.
    assert [f.local_date for f in found] == [date(2026, 3, 23), date(2026, 3, 26)]
    # Both report the week before the one they fall in: Mon Mar 16.
    assert {period_for(f, "week", Calendar(LONDON)) for f in found} == {date(2026, 3, 16)}


def test_monthly_on_day_1_reports_the_previous_month():
    found = fires("monthly on day 1 at 06:00", KOLKATA, utc(2026, 3, 1), utc(2026, 5, 1))
    # 06:00 IST = 00:30 UTC on Apr 1 (Mar 1 00:30 UTC is in the window too).
    assert instants(found) == [utc(2026, 3, 1, 0, 30), utc(2026, 4, 1, 0, 30)]
    assert period_for(found[1], "month", Calendar(KOLKATA)) == date(2026, 3, 1)
    assert period_for(found[0], "month", Calendar(KOLKATA)) == date(2026, 2, 1)


def test_monthly_on_the_last_day():
    found = fires({"at": "18:00", "day_of_month": "last"}, NY, utc(2026, 1, 1), utc(2026, 5, 1))
    # Jan 31 and Feb 28 (2026 is not a leap year) 18:00 EST = 23:00 UTC; Mar 31 and Apr 30
    # 18:00 EDT = 22:00 UTC.
    assert instants(found) == [utc(2026, 1, 31, 23), utc(2026, 2, 28, 23), utc(2026, 3, 31, 22),
                               utc(2026, 4, 30, 22)]
    leap = fires("monthly on day last at 18:00", NY, utc(2028, 2, 1), utc(2028, 3, 1, 12))
    assert [f.local_date for f in leap] == [date(2028, 2, 29)]
    # On the last day the month is not over: a daily report gets the day before, a monthly one
    # the month before.
    assert period_for(found[1], "day", Calendar(NY)) == date(2026, 2, 27)
    assert period_for(found[1], "month", Calendar(NY)) == date(2026, 1, 1)


def test_cron_0130_on_the_fall_back_day_fires_once():
    found = fires({"cron": "30 1 * * *"}, NY, utc(2026, 11, 1), utc(2026, 11, 2))
    assert instants(found) == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT; not again at 01:30 EST
    # Every half hour in the 01:00 hour: 01:00 and 01:30 EDT once each, nothing in the repeat.
    found = fires({"cron": "*/30 1 * * *"}, NY, utc(2026, 11, 1), utc(2026, 11, 2))
    assert instants(found) == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 5, 30)]


def test_cron_times_in_the_spring_forward_gap_fire_once_at_the_jump():
    # 02:00, 02:15, 02:30, 02:45 do not exist on Mar 8: all land on 03:00 EDT = 07:00 UTC, once.
    assert instants(fires("*/15 2 * * *", NY, utc(2026, 3, 8), utc(2026, 3, 9))) == [utc(2026, 3, 8, 7)]
    # 01:00 EST 06:00, 01:30 EST 06:30, 02:00/02:30 → 03:00 EDT 07:00 (and 03:00 itself is the
    # same wall-clock minute: one fire), 03:30 EDT 07:30.
    found = fires({"cron": "0,30 1-3 * * *"}, NY, utc(2026, 3, 8), utc(2026, 3, 9))
    assert instants(found) == [utc(2026, 3, 8, 6), utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30)]


def test_cron_is_read_in_the_subscription_zone():
    # "1 0 * * *" in Kolkata is 18:31 UTC the day before, like the friendly form.
    assert fires("1 0 * * *", KOLKATA, utc(2026, 3, 1), utc(2026, 3, 2)) == fires(
        "daily at 00:01", KOLKATA, utc(2026, 3, 1), utc(2026, 3, 2))


def test_lord_howe_and_santiago_fire_once_a_day():
    # Lord Howe 00:00 is never in a gap or repeat (its changes are at 02:00): +11 → 13:00 UTC the
    # day before; +10:30 → 13:30 UTC.
    found = fires("daily at 00:00", LORD_HOWE, utc(2026, 4, 3), utc(2026, 4, 6))
    assert instants(found) == [utc(2026, 4, 3, 13), utc(2026, 4, 4, 13), utc(2026, 4, 5, 13, 30)]
    # Its 30-minute gap: 02:15 on Oct 4 does not exist (02:00 → 02:30 at 15:30 UTC Oct 3).
    gap = fires("daily at 02:15", LORD_HOWE, utc(2026, 10, 3), utc(2026, 10, 4))
    assert instants(gap) == [utc(2026, 10, 3, 15, 30)]
    # Its 30-minute repeat: 01:45 on Apr 5 happens at +11 (14:45 UTC Apr 4) and +10:30 (15:15): first.
    assert instants(fires("daily at 01:45", LORD_HOWE, utc(2026, 4, 4), utc(2026, 4, 5))) == [utc(2026, 4, 4, 14, 45)]

    # Santiago has no midnight on Sep 6: it fires at 01:00 -03 = 04:00 UTC, on Sep 6.
    found = fires("daily at 00:00", SANTIAGO, utc(2026, 9, 5), utc(2026, 9, 8))
    # Sep 5 00:00 -04 = 04:00 UTC; Sep 6 → 04:00 UTC; Sep 7 00:00 -03 = 03:00 UTC.
    assert instants(found) == [utc(2026, 9, 5, 4), utc(2026, 9, 6, 4), utc(2026, 9, 7, 3)]
    assert [f.local_date for f in found] == [date(2026, 9, 5), date(2026, 9, 6), date(2026, 9, 7)]
    # Apr 4 24:00 → 23:00: Apr 5 00:00 happens once (04:00 UTC); 23:30 on Apr 4 twice, first at -03.
    assert instants(fires("daily at 00:00", SANTIAGO, utc(2026, 4, 4), utc(2026, 4, 6))) == [
        utc(2026, 4, 4, 3), utc(2026, 4, 5, 4)]
    assert instants(fires("daily at 23:30", SANTIAGO, utc(2026, 4, 5), utc(2026, 4, 5, 6))) == [utc(2026, 4, 5, 2, 30)]


def _expected_instant(tz: str, wall: datetime) -> datetime:
    """Independent oracle (no fold arithmetic): the earliest UTC instant whose local wall time
    is ``wall``; when there is none, the first instant whose local wall time is past it."""
    zi = ZoneInfo(tz)
    offsets = {(wall - timedelta(hours=h)).replace(tzinfo=UTC).astimezone(zi).utcoffset() for h in range(-30, 31)}
    exact = [(wall - off).replace(tzinfo=UTC) for off in offsets]
    exact = [t for t in exact if t.astimezone(zi).replace(tzinfo=None) == wall]
    if exact:
        return min(exact)
    t = min((wall - off).replace(tzinfo=UTC) for off in offsets)
    while t.astimezone(zi).replace(tzinfo=None) < wall:  # minute steps up to the jump
        t += timedelta(minutes=1)
    return t


@pytest.mark.parametrize("tz", [NY, LONDON, LORD_HOWE, SANTIAGO, KOLKATA])
@pytest.mark.parametrize("at", ["00:30", "02:30", "23:59"])
def test_daily_fires_exactly_once_per_local_date(tz, at):
    first, days = date(2026, 1, 1), 400
    after = datetime.combine(first, time(), ZoneInfo(tz)).astimezone(UTC) - timedelta(seconds=1)
    until = datetime.combine(first + timedelta(days=days), time(), ZoneInfo(tz)).astimezone(UTC)
    found = fires(f"daily at {at}", tz, after, until)
    dates = [f.local_date for f in found]
    assert dates == [first + timedelta(days=i) for i in range(days)]  # each date once, none missing
    assert instants(found) == sorted(set(instants(found)))
    wall = time.fromisoformat(at)
    for f in found:
        assert f.at == _expected_instant(tz, datetime.combine(f.local_date, wall)), f


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        fires("daily at 00:01", KOLKATA, datetime(2026, 3, 1), utc(2026, 3, 2))


def test_next_fire():
    s = parse_schedule("daily at 00:01")
    # Strictly after: at 18:31 UTC exactly, the next one is a day later.
    assert next_fire(s, KOLKATA, utc(2026, 3, 1, 18, 31)).at == utc(2026, 3, 2, 18, 31)
    assert next_fire(s, KOLKATA, utc(2026, 3, 1, 18, 30)).at == utc(2026, 3, 1, 18, 31)
    # Sat Mar 28 → the next Monday 09:00 in London is Mar 30, 08:00 UTC (BST).
    assert next_fire(parse_schedule("weekly on mon at 09:00"), LONDON, utc(2026, 3, 28)).at == utc(2026, 3, 30, 8)
    # A cron on Feb 29 waits for 2028.
    assert next_fire(parse_schedule("0 0 29 2 *"), "UTC", utc(2026, 1, 1)).at == utc(2028, 2, 29)


# --- zones: the subscription's date, the project's periods --------------------------------------


def test_subscription_in_new_york_for_a_kolkata_project():
    # 08:00 EST on Mar 2 = 13:00 UTC = 18:30 IST on Mar 2.
    (fire,) = fires("daily at 08:00", NY, utc(2026, 3, 2), utc(2026, 3, 3))
    assert fire == Fire(utc(2026, 3, 2, 13), date(2026, 3, 2), time(8, 0))
    project = Calendar(KOLKATA)
    # "Yesterday" for the New York reader is Mar 1; the period is Mar 1 of the Kolkata calendar,
    # complete since 00:00 IST Mar 2 = 18:30 UTC Mar 1, before the fire.
    assert period_for(fire, "day", project) == date(2026, 3, 1)
    assert period_ready_at(date(2026, 3, 1), "day", project) == utc(2026, 3, 1, 18, 30)
    (due,) = due_periods(parse_schedule("daily at 08:00"), NY, "day", project, None, utc(2026, 3, 2, 13, 5))
    assert (due.period_start, due.fire_at, due.key) == (date(2026, 3, 1), utc(2026, 3, 2, 13), "2026-03-01")
    assert due.ready_at <= due.fire_at


def test_subscription_in_kolkata_for_a_new_york_project_waits_for_the_period_to_end():
    # 00:01 IST Mar 2 = 18:31 UTC Mar 1 = 13:31 EST Mar 1: the reader's "yesterday" (Mar 1) is
    # still running in New York. The period is still Mar 1 (the subscription's date decides),
    # and ready_at says it ends at 00:00 EST Mar 2 = 05:00 UTC: the sender waits until then.
    (fire,) = fires("daily at 00:01", KOLKATA, utc(2026, 3, 1), utc(2026, 3, 2))
    project = Calendar(NY)
    assert period_for(fire, "day", project) == date(2026, 3, 1)
    (due,) = due_periods(parse_schedule("daily at 00:01"), KOLKATA, "day", project, None, utc(2026, 3, 1, 18, 35))
    assert due.ready_at == utc(2026, 3, 2, 5)
    assert due.ready_at > due.fire_at


# --- due periods and catch-up ----------------------------------------------------------------

DAILY_IST = parse_schedule("daily at 00:01")
PROJECT_IST = Calendar(KOLKATA)
# Last pass just after the fire of IST Mar 2 (18:31 UTC Mar 1), which delivered Mar 1. Then the
# scheduler is down for 3 days, missing the fires of IST Mar 3, 4 and 5 (18:31 UTC Mar 2, 3, 4),
# whose periods are Mar 2, 3 and 4.
LAST_RUN = utc(2026, 3, 1, 18, 40)
BACK = utc(2026, 3, 4, 20)  # 01:30 IST Mar 5: the latest missed fire is 1h29m old


def due(now: datetime, catch_up: str, grace: timedelta = timedelta(hours=24), last_run=LAST_RUN) -> list[Due]:
    return due_periods(DAILY_IST, KOLKATA, "day", PROJECT_IST, last_run, now, catch_up, grace)


def test_catch_up_after_three_days_down():
    assert [d.period_start for d in due(BACK, "all")] == [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
    assert [d.period_start for d in due(BACK, "latest")] == [date(2026, 3, 4)]
    assert due(BACK, "latest", grace=timedelta(hours=1)) == []  # the latest fire is 1h29m old
    assert due(BACK, "none") == []  # older than the 15-minute tick
    # all: oldest first, each with its own fire
    assert [d.fire_at for d in due(BACK, "all")] == [utc(2026, 3, 2, 18, 31), utc(2026, 3, 3, 18, 31),
                                                     utc(2026, 3, 4, 18, 31)]


def test_latest_respects_grace():
    # 23h29m after the Mar 4 18:31 fire (the next is at 18:31): within 24h, outside 6h.
    late = utc(2026, 3, 5, 18)
    assert [d.key for d in due(late, "latest")] == ["2026-03-04"]
    assert due(late, "latest", grace=timedelta(hours=6)) == []


def test_on_time_passes():
    on_time = utc(2026, 3, 4, 18, 40)  # 9 minutes after the fire of IST Mar 5
    for policy in ("latest", "all", "none"):
        assert [d.key for d in due(on_time, policy, last_run=utc(2026, 3, 4, 18, 25))] == ["2026-03-04"], policy
    # Never run: fires in (now - grace, now].
    assert [d.key for d in due(on_time, "all", last_run=None)] == ["2026-03-04"]
    assert due(utc(2026, 3, 4, 18, 30), "latest", last_run=utc(2026, 3, 4, 18, 15)) == []  # one minute early


def test_a_double_fire_yields_the_same_key():
    # Two schedulers (or a restart) over overlapping windows see the same fire: same key, so the
    # unique (subscription, period_start) row stores it once.
    a = due(utc(2026, 3, 4, 18, 35), "latest", last_run=utc(2026, 3, 4, 18, 20))
    b = due(utc(2026, 3, 4, 18, 45), "latest", last_run=None)
    assert [d.key for d in a] == [d.key for d in b] == ["2026-03-04"]
    # New York's fall-back day: a pass after each 01:30 (05:35 and 06:35 UTC) delivers once.
    s = parse_schedule("daily at 01:30")
    first = due_periods(s, NY, "day", Calendar(NY), utc(2026, 11, 1, 5, 20), utc(2026, 11, 1, 5, 35))
    second = due_periods(s, NY, "day", Calendar(NY), utc(2026, 11, 1, 5, 35), utc(2026, 11, 1, 6, 35))
    fresh = due_periods(s, NY, "day", Calendar(NY), None, utc(2026, 11, 1, 6, 35))
    assert [d.key for d in first] == [d.key for d in fresh] == ["2026-10-31"]
    assert second == []


def test_a_daily_schedule_for_a_weekly_report_dedupes_by_period():
    # Fires on Tue, Wed, Thu of the week of Mon Mar 2 (IST) all report the week of Feb 23.
    got = due_periods(DAILY_IST, KOLKATA, "week", PROJECT_IST, utc(2026, 3, 2, 12), utc(2026, 3, 5, 12), "all")
    assert [(d.period_start, d.fire_at) for d in got] == [(date(2026, 2, 23), utc(2026, 3, 2, 18, 31))]


def test_bad_policy():
    with pytest.raises(ValueError, match="catch_up"):
        due(BACK, "sometimes")


# --- schedule forms --------------------------------------------------------------------------


@pytest.mark.parametrize("text,fields", [
    ("daily at 00:01", {"at": "00:01"}),
    ("weekly on mon,thu at 09:00", {"at": "09:00", "days": ["mon", "thu"]}),
    ("Weekly on Monday, Thursday at 9:00", {"at": "09:00", "days": "mon,thu"}),
    ("monthly on day 1 at 06:00", {"at": "06:00", "day_of_month": 1}),
    ("monthly on day last at 18:00", {"at": "18:00", "day_of_month": "last"}),
    ("1 0 * * *", {"cron": "1 0 * * *"}),
    ("cron 1 0 * * *", {"cron": "1 0 * * *"}),
])
def test_text_and_fields_parse_alike(text, fields):
    assert parse_schedule(text) == parse_schedule(fields)
    assert parse_schedule(parse_schedule(text).describe()) == parse_schedule(text)


@pytest.mark.parametrize("value,message", [
    ("daily at 25:00", "invalid time '25:00' (expected HH:MM from 00:00 to 23:59)"),
    ("daily at 9:60", "invalid time '9:60'"),
    ({"at": "09:00", "days": "mon,xyz"}, "invalid day 'xyz' (expected mon, tue, wed, thu, fri, sat, sun)"),
    ("monthly on day 31 at 09:00", "invalid day of month '31' (expected 1 to 28, or last"),
    ("monthly on day 0 at 09:00", "invalid day of month '0'"),
    ({"cron": "61 * * * *"}, "invalid cron expression '61 * * * *'"),
    ("* * * * * *", "expected 5 fields"),
    ({"cron": "0 0 30 2 *"}, "never fires"),
    ({"cron": "0 0 * * *", "at": "09:00"}, "either cron or at/days/day_of_month"),
    ({"days": ["mon"]}, "a schedule needs a time"),
    ({"at": "09:00", "days": ["mon"], "day_of_month": 1}, "days (weekly) or day_of_month (monthly)"),
    ("every now and then", "invalid schedule 'every now and then'"),
])
def test_invalid_schedules(value, message):
    with pytest.raises(UsageError) as err:
        parse_schedule(value)
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_yaml_reads_unquoted_times_as_base_60_numbers():
    import yaml

    raw = yaml.safe_load("at: 12:30")  # YAML 1.1: 12*60 + 30
    assert raw == {"at": 750}
    assert parse_schedule(raw).at == time(12, 30)
