"""Schedules: wall-clock times in an IANA zone, the instants they fire, the periods they deliver.

A schedule is written in one of two forms:

* friendly, as text or as fields::

      daily at 00:01                    {at: "00:01"}
      weekly on mon,thu at 09:00        {at: "09:00", days: [mon, thu]}
      monthly on day 1 at 06:00         {at: "06:00", day_of_month: 1}     (1..28, or last)

* cron, five fields read as wall-clock time in the subscription's zone: ``{cron: "1 0 * * *"}``
  (a bare string with five fields is read as cron too).

The DST contract (cron libraries get this wrong: croniter and APScheduler fire a daily 01:30
twice on the New York fall-back day and move a missing 02:30 to 03:00 or 03:30):

* a wall time that does not exist (spring-forward gap: 02:30 New York on 2026-03-08) fires once,
  at the first instant after the gap (03:00 local, the moment the clocks jump);
* a wall time that happens twice (fall-back: 01:30 New York on 2026-11-01) fires once, at its
  first occurrence (01:30 EDT);
* so a daily/weekly/monthly schedule fires exactly once on each scheduled local date; a cron
  fires at most once per wall-clock minute (its wall times are enumerated by croniter on naive
  local datetimes, then each is resolved by the two rules above and duplicates dropped).

Even so, the **delivery key is the period** (``Due.key``), never the fire instant: two
schedulers, a restart or a catch-up may all see the same fire, and the unique
``(subscription, period_start)`` row is what makes it deliver once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from croniter import CroniterError, croniter
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from daypulse.calendar import Calendar
from daypulse.errors import UsageError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CATCH_UP = ("latest", "all", "none")
DEFAULT_GRACE = timedelta(hours=24)
DEFAULT_TICK = timedelta(minutes=15)  # how often the scheduler looks; `catch_up: none` keeps fires this fresh
ReportPeriod = Literal["day", "week", "month"]

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_FRIENDLY = re.compile(
    r"^(?:daily|every day)\s+at\s+(?P<at_d>\S+)$"
    r"|^weekly\s+on\s+(?P<days>.+?)\s+at\s+(?P<at_w>\S+)$"
    r"|^monthly\s+on\s+day\s+(?P<dom>\S+)\s+at\s+(?P<at_m>\S+)$",
    re.IGNORECASE,
)
FORMS = ('"daily at HH:MM", "weekly on mon,thu at HH:MM", "monthly on day N at HH:MM" (N 1-28 or last),'
         ' or a 5-field cron expression')


# ---------------------------------------------------------------------------------------------
# Parsing


def check_zone(name: str) -> str:
    """``name`` if it is an IANA zone, else ValueError with the closest name."""
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        pass
    zones = available_timezones()
    exact = [z for z in zones if z.lower() == str(name).lower()]
    close = exact or difflib.get_close_matches(str(name), zones, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else " (use an IANA name such as Asia/Kolkata)"
    raise ValueError(f"unknown time zone {name!r}{hint}")


def parse_time(value: object) -> time:
    """``HH:MM`` (00:00 to 23:59). An int is what YAML 1.1 makes of an unquoted 12:30 (750)."""
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 60:
        value = "{}:{:02d}".format(*divmod(value, 60))
    m = _TIME.match(str(value).strip())
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"invalid time {str(value)!r} (expected HH:MM from 00:00 to 23:59)")
    return time(int(m[1]), int(m[2]))


def parse_days(value: object) -> tuple[str, ...]:
    """``mon,thu`` or ``[mon, thu]`` (full names too), in week order without repeats."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    days = set()
    for item in items:
        word = str(item).strip().lower()
        day = word[:3] if len(word) >= 3 and any(full.startswith(word) for full in _FULL_DAYS) else word
        if day not in WEEKDAYS:  # "mon", "monday" and "mond" are Monday; "xyz" is nothing
            raise ValueError(f"invalid day {str(item).strip()!r} (expected {', '.join(WEEKDAYS)})")
        days.add(day)
    if not days:
        raise ValueError(f"no days given (expected some of {', '.join(WEEKDAYS)})")
    return tuple(d for d in WEEKDAYS if d in days)


def parse_day_of_month(value: object) -> int | Literal["last"]:
    if str(value).strip().lower() == "last":
        return "last"
    try:
        n = int(str(value).strip())
    except ValueError:
        n = None
    if n is None or not 1 <= n <= 28:
        raise ValueError(f"invalid day of month {str(value)!r} (expected 1 to 28, or last: not every month"
                         " has a day 29, 30 or 31)")
    return n


def parse_cron(text: str) -> str:
    expr = " ".join(str(text).split())
    if not expr.startswith("@") and len(expr.split()) != 5:
        raise ValueError(f"invalid cron expression {text!r} (expected 5 fields: minute hour day month weekday)")
    if not croniter.is_valid(expr):
        raise ValueError(f"invalid cron expression {text!r} (expected 5 fields: minute hour day month weekday)")
    try:
        croniter(expr, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterError, ValueError) as exc:
        raise ValueError(f"cron expression {text!r} never fires") from exc
    return expr


def parse_duration(value: object) -> timedelta:
    """``30m``, ``6h``, ``2d``, ``1h30m`` (or a timedelta); must be positive."""
    if isinstance(value, timedelta):
        delta = value
    else:
        m = re.fullmatch(r"\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*", str(value))
        if not m or not any(m.groups()):
            raise ValueError(f"invalid duration {str(value)!r} (expected e.g. 30m, 6h, 2d or 1h30m)")
        d, h, mi, s = (int(g or 0) for g in m.groups())
        try:
            delta = timedelta(days=d, hours=h, minutes=mi, seconds=s)
        except OverflowError:
            raise ValueError(f"invalid duration {str(value)!r} (too long)") from None
    if delta <= timedelta(0):
        raise ValueError(f"invalid duration {str(value)!r} (must be more than zero)")
    return delta


class Schedule(BaseModel):
    """When a subscription fires, in wall-clock time of its zone (the zone is the subscription's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: time | None = None
    days: tuple[str, ...] | None = None  # weekly
    day_of_month: int | Literal["last"] | None = None  # monthly
    cron: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            return _parse_text(value)
        return value

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: object) -> time | None:
        return None if v is None else parse_time(v)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, v: object) -> tuple[str, ...] | None:
        return None if v is None else parse_days(v)

    @field_validator("day_of_month", mode="before")
    @classmethod
    def _dom(cls, v: object) -> int | str | None:
        return None if v is None else parse_day_of_month(v)

    @field_validator("cron", mode="before")
    @classmethod
    def _cron(cls, v: object) -> str | None:
        return None if v is None else parse_cron(v)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        if self.cron is not None:
            if self.at is not None or self.days is not None or self.day_of_month is not None:
                raise ValueError("give either cron or at/days/day_of_month, not both")
            return self
        if self.at is None:
            raise ValueError(f"a schedule needs a time (at: HH:MM) or a cron expression; forms: {FORMS}")
        if self.days is not None and self.day_of_month is not None:
            raise ValueError("give days (weekly) or day_of_month (monthly), not both")
        return self

    @property
    def kind(self) -> Literal["daily", "weekly", "monthly", "cron"]:
        if self.cron is not None:
            return "cron"
        return "weekly" if self.days else "monthly" if self.day_of_month is not None else "daily"

    def describe(self) -> str:
        """The friendly text form (parses back to the same schedule)."""
        at = self.at.strftime("%H:%M") if self.at else ""
        return {
            "daily": f"daily at {at}",
            "weekly": f"weekly on {','.join(self.days or ())} at {at}",
            "monthly": f"monthly on day {self.day_of_month} at {at}",
            "cron": f"cron {self.cron}",
        }[self.kind]

    def fires_on(self, d: date) -> bool:
        """Whether a friendly schedule is due on local date ``d`` (not for cron)."""
        if self.days:
            return WEEKDAYS[d.weekday()] in self.days
        if self.day_of_month == "last":
            return (d + timedelta(days=1)).day == 1
        if self.day_of_month is not None:
            return d.day == self.day_of_month
        return True


def _parse_text(text: str) -> dict:
    s = " ".join(text.split())
    if s.lower().startswith("cron "):
        return {"cron": s[5:]}
    m = _FRIENDLY.match(s)
    if m:
        if m["at_d"]:
            return {"at": m["at_d"]}
        if m["at_w"]:
            return {"at": m["at_w"], "days": m["days"].replace(" ", "")}
        return {"at": m["at_m"], "day_of_month": m["dom"]}
    words = s.split()
    if s.startswith("@") or (len(words) >= 5 and words[0].lower() not in ("daily", "weekly", "monthly")):
        return {"cron": s}  # a bare cron expression (a wrong field count is reported by parse_cron)
    raise ValueError(f"invalid schedule {text!r} (expected {FORMS})")


def parse_schedule(value: str | dict | Schedule) -> Schedule:
    """A Schedule from text or fields; UsageError with the first problem's message."""
    if isinstance(value, Schedule):
        return value
    try:
        return Schedule.model_validate(value)
    except ValidationError as err:
        raise UsageError(error_message(err.errors()[0])) from None


def error_message(error: dict) -> str:
    """A pydantic error's message without pydantic's "Value error, " prefix."""
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    msg = str(error["msg"])
    return msg.removeprefix("Value error, ")


# ---------------------------------------------------------------------------------------------
# Fires


@dataclass(frozen=True, order=True)
class Fire:
    """One firing: the instant (aware, UTC) and the local date and wall time it was scheduled for
    in the subscription's zone. ``at`` may differ from ``local_date`` + ``wall`` read in the zone
    only in a spring-forward gap (02:30 scheduled, fired at 03:00)."""

    at: datetime
    local_date: date
    wall: time


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(check_zone(name))


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got {value.isoformat()})")
    return value.astimezone(UTC)


def resolve(tz: ZoneInfo, wall: datetime) -> datetime:
    """The UTC instant at which naive local ``wall`` fires: its first occurrence when the clocks
    show it twice, the end of the gap when they skip it."""
    first = wall.replace(tzinfo=tz, fold=0)  # fold=0: the earlier of two readings (PEP 495)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc
    # In a gap, fold=0 and fold=1 read ``wall`` with the offsets before and after the jump; the
    # jump lies between. Bisect for the first second whose local wall time is at or past ``wall``.
    lo = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(first.timestamp())
    lo, hi = min(lo, hi), max(lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def fires_between(schedule: Schedule, tz: str, after: datetime, until: datetime) -> list[Fire]:
    """Every fire with ``after < at <= until``, oldest first (``after``/``until`` aware)."""
    after, until = _aware("after", after), _aware("until", until)
    zi = _zone(tz)
    if until <= after:
        return []
    # A fire scheduled on local date d happens on d (or just after, past a gap at midnight):
    # a day of margin either side of the window's local dates covers every case.
    first = after.astimezone(zi).date() - timedelta(days=1)
    last = until.astimezone(zi).date() + timedelta(days=1)
    fires: list[Fire] = []
    if schedule.cron is None:
        d = first
        while d <= last:
            if schedule.fires_on(d):
                wall = datetime.combine(d, schedule.at)
                at = resolve(zi, wall)
                if after < at <= until:
                    fires.append(Fire(at, d, schedule.at))
            d += timedelta(days=1)
        return sorted(fires)
    seen: set[datetime] = set()
    walls = croniter(schedule.cron, datetime.combine(first, time()) - timedelta(minutes=1))
    end = datetime.combine(last, time(23, 59))
    while (wall := walls.get_next(datetime)) <= end:
        at = resolve(zi, wall)
        # Several skipped wall times (02:00, 02:15... in a gap) land on the same instant: once.
        if after < at <= until and at not in seen:
            seen.add(at)
            fires.append(Fire(at, wall.date(), wall.time()))
    return sorted(fires)


def next_fire(schedule: Schedule, tz: str, after: datetime) -> Fire:
    """The first fire strictly after ``after`` (for display)."""
    for days in (2, 40, 400, 3000):  # a cron on 29 February may wait 8 years (2096 → 2104)
        fires = fires_between(schedule, tz, after, _aware("after", after) + timedelta(days=days))
        if fires:
            return fires[0]
    raise ValueError(f"schedule {schedule.describe()!r} does not fire within 3000 days")


# ---------------------------------------------------------------------------------------------
# Periods


def period_for(fire: Fire, report_period: ReportPeriod, calendar: Calendar) -> date:
    """Start of the period a fire reports on: the last complete period *before the fire's local
    date*, periods counted in the project's calendar (its weeks start on its week_start).

    The local date is the one in the **subscription's** zone (what its readers call "today"),
    so a subscriber in New York at 08:00 gets "yesterday" as New York sees it, for a project
    kept in Asia/Kolkata. A subscriber east of the project can fire before that period has
    ended in the project's zone (00:01 Kolkata is still the afternoon before in New York):
    the period is the same, and :func:`period_ready_at` says when it is complete; the sender
    must wait for it (``Due.ready_at``). The period never depends on the fire instant beyond
    its local date, so DST shifts and double fires map to the same period.
    """
    current = calendar.period_start(report_period, fire.local_date)
    return calendar.period_start(report_period, current - timedelta(days=1))


def period_ready_at(period_start: date, report_period: ReportPeriod, calendar: Calendar) -> datetime:
    """The instant (UTC) the period ends in the project's zone: nothing is sent before."""
    end = calendar.next_period_start(report_period, period_start)
    return datetime.fromtimestamp(calendar.day_start(end), UTC)


@dataclass(frozen=True)
class Due:
    """A period to deliver now. ``key`` is the delivery row's identity within its subscription:
    the period, never the fire instant (one row per (subscription, period_start))."""

    period_start: date
    fire_at: datetime
    ready_at: datetime  # the period's end in the project's zone; send at or after it
    key: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.period_start.isoformat())


def due_periods(schedule: Schedule, tz: str, report_period: ReportPeriod, calendar: Calendar,
                last_run: datetime | None, now: datetime, catch_up: str = "latest",
                grace: timedelta = DEFAULT_GRACE, tick: timedelta = DEFAULT_TICK) -> list[Due]:
    """The periods to deliver at ``now``, from the fires in (last_run, now] (never run: the fires
    in (now - grace, now]), by catch-up policy:

    * ``latest``: the most recent fire's period, if that fire is no older than ``grace``;
    * ``all``: every fire's period, one per period, oldest period first;
    * ``none``: only fires no older than ``tick`` (the scheduler's interval): on time or never.

    Pure: calling it again over an overlapping window returns the same keys, and the store's
    unique (subscription, period_start) row makes the second call a no-op.
    """
    if catch_up not in CATCH_UP:
        raise ValueError(f"unknown catch_up {catch_up!r} (expected {', '.join(CATCH_UP)})")
    if grace <= timedelta(0) or tick <= timedelta(0):
        raise ValueError("grace and tick must be positive")
    now = _aware("now", now)
    since = _aware("last_run", last_run) if last_run is not None else now - grace
    if catch_up == "latest":
        since = max(since, now - grace)  # older fires cannot qualify: don't enumerate them
    elif catch_up == "none":
        since = max(since, now - tick)
    fires = fires_between(schedule, tz, since, now)
    if catch_up == "latest":
        fires = fires[-1:]
    by_period: dict[date, Fire] = {}
    for fire in fires:  # oldest first: keep each period's first fire
        by_period.setdefault(period_for(fire, report_period, calendar), fire)
    return [Due(p, f.at, period_ready_at(p, report_period, calendar)) for p, f in sorted(by_period.items())]
