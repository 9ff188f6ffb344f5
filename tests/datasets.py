"""Deterministic test data sets with rows piled up on local-day boundaries and DST changes.

``make_dataset(zone)`` returns a :class:`Dataset`: rows for the tables ``users``, ``events``,
``subscriptions`` (naive UTC timestamps) and ``events_local`` (naive local wall times), their
column types, the date range to compute, an ``as_of`` instant and a project dict whose
metrics cover every kind, measure and ``where`` operator. Many rows sit exactly at a local
midnight, at midnight ± 1 µs and ± 1 s, at DST change instants ± 1 µs / 1 s, inside repeated
hours, and subscriptions open and close exactly on end-of-day instants.

Boundary instants come from :mod:`tests.reference` (zoneinfo), never from daypulse.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from reference import day_start, expected_values

US = timedelta(microseconds=1)
SEC = timedelta(seconds=1)
NUDGES = (timedelta(0), US, -US, SEC, -SEC, -500 * US)  # -500 µs: SQLite rounds ms

# zone -> (first day, last day, week start) of the range the tests compute. Each range holds
# the zone's DST changes (New York: both; the others: one, Santiago's at midnight).
ZONES: dict[str, tuple[date, date, str]] = {
    "Asia/Kolkata": (date(2025, 12, 10), date(2026, 2, 17), "monday"),
    "America/New_York": (date(2025, 10, 27), date(2026, 3, 15), "sunday"),
    "Europe/London": (date(2025, 10, 1), date(2025, 12, 9), "monday"),
    "Australia/Lord_Howe": (date(2026, 3, 10), date(2026, 5, 18), "monday"),
    "America/Santiago": (date(2026, 8, 5), date(2026, 10, 13), "sunday"),
}

TENANTS = ["acme", "Apex", "beta", "umbrella"]  # 'a%' and 'b_ta' are case-sensitive LIKEs
KINDS = ["login", "view", "purchase", "refund", "export"]
PLANS = ["free", "pro", "team"]

SCHEMA: dict[str, dict[str, str]] = {
    "users": {"id": "int", "created_at": "ts", "tenant": "str", "plan": "str",
              "is_test": "bool", "amount_cents": "int"},
    "events": {"id": "int", "user_id": "int", "occurred_at": "ts", "tenant": "str",
               "kind": "str", "amount_cents": "int", "priority": "int"},
    "subscriptions": {"id": "int", "user_id": "int", "tenant": "str", "started_at": "ts",
                      "canceled_at": "ts", "mrr_cents": "int"},
    "events_local": {"id": "int", "user_id": "int", "occurred_at": "ts", "tenant": "str",
                     "kind": "str"},
}
LOCAL_TABLES = ("events_local",)


def metrics() -> dict:
    ev = {"table": "events", "time": "occurred_at"}
    return {
        "events_total": {**ev, "measure": "count",
                         "dimensions": {"tenant": "tenant", "kind": "kind"},
                         "breakdowns": [["tenant", "kind"]]},
        "purchases": {**ev, "where": {"kind": ["purchase", "refund"]}},
        "dau": {**ev, "measure": "count_distinct", "column": "user_id",
                "dimensions": {"tenant": "tenant"}},
        "revenue": {**ev, "measure": "sum", "column": "amount_cents",
                    "where": {"kind": "purchase"}, "dimensions": {"tenant": "tenant"},
                    "format": "currency"},
        "avg_ticket": {**ev, "measure": "avg", "column": "amount_cents",
                       "where": {"amount_cents": {"gt": 0}}, "dimensions": {"kind": "kind"}},
        "min_amount": {**ev, "measure": "min", "column": "amount_cents",
                       "where": {"amount_cents": {"is_null": False}, "tenant": {"ne": "beta"}}},
        "max_amount": {**ev, "measure": "max", "column": "amount_cents",
                       "where": {"kind": {"not_in": ["login", "view"]}},
                       "dimensions": {"priority": "priority"}},
        "amounts_logged": {**ev, "measure": "count", "column": "amount_cents",
                           "where": {"tenant": {"like": "a%"}}},
        "mid_events": {**ev, "where": {"amount_cents": {"ge": 100, "le": 5000},
                                       "user_id": {"lt": 120}}},
        "beta_logins": {**ev, "where": {"tenant": {"like": "b_ta"}, "kind": {"eq": "login"}}},
        "untenanted": {**ev, "where": {"tenant": {"is_null": True}},
                       "dimensions": {"kind": "kind"}},
        "buyers": {**ev, "measure": "count_distinct", "column": "user_id",
                   "where": {"kind": {"in": ["purchase", "export"]}}},
        "wau": {**ev, "measure": "count_distinct", "column": "user_id", "window": 7,
                "dimensions": {"tenant": "tenant"}},
        "mau": {**ev, "measure": "count_distinct", "column": "user_id", "window": 28,
                "dimensions": {"tenant": "tenant"}},
        "stickiness": {"kind": "ratio", "numerator": "dau", "denominator": "mau"},
        "events_mtd": {"kind": "cumulative", "of": "events_total", "reset": "month"},
        "dau_wtd": {"kind": "cumulative", "of": "dau", "reset": "week"},
        "signups": {"table": "users", "time": "created_at", "where": {"is_test": False},
                    "dimensions": {"plan": "plan"}},
        "users_by_flag": {"table": "users", "time": "created_at",
                          "dimensions": {"test": "is_test"}},
        "active_subs": {"kind": "state", "table": "subscriptions", "start": "started_at",
                        "end": "canceled_at", "dimensions": {"tenant": "tenant"}},
        "mrr": {"kind": "state", "table": "subscriptions", "start": "started_at",
                "end": "canceled_at", "measure": "sum", "column": "mrr_cents",
                "dimensions": {"tenant": "tenant"}},
        "subscribers": {"kind": "state", "table": "subscriptions", "start": "started_at",
                        "end": "canceled_at", "measure": "count_distinct",
                        "column": "user_id", "dimensions": {"tenant": "tenant"}},
        "local_events": {"table": "events_local", "time": "occurred_at",
                         "dimensions": {"tenant": "tenant"}},
        "local_wau": {"table": "events_local", "time": "occurred_at",
                      "measure": "count_distinct", "column": "user_id", "window": 7},
    }


@dataclass
class Dataset:
    zone: str
    start: date
    end: date
    week_start: str
    as_of: datetime
    tables: dict[str, list[dict]]
    grains: tuple[str, ...] = ("day", "week", "month")
    transitions: list[datetime] = field(default_factory=list)
    _expected: dict | None = None

    @property
    def key(self) -> str:
        return self.zone.replace("/", "_").lower()

    def project(self, source: str, tables: dict[str, str], store: str | None = None) -> dict:
        """The project dict; ``tables`` maps logical names to physical ones."""
        mapping = {name: ({"name": tables[name], "timestamps": "local"}
                          if name in LOCAL_TABLES else tables[name]) for name in SCHEMA}
        out = {"name": f"test {self.zone}", "timezone": self.zone,
               "week_start": self.week_start, "source": source, "tables": mapping,
               "metrics": metrics()}
        if store:
            out["store"] = store
        return out

    @property
    def expected(self) -> dict:
        if self._expected is None:
            self._expected = expected_values(
                self.project("duckdb:///unused", {n: n for n in SCHEMA}), self.tables,
                self.start, self.end, self.grains, self.as_of)
        return self._expected


def transitions(zone: str, lo: datetime, hi: datetime) -> list[datetime]:
    """UTC instants (aware) in [lo, hi) where the zone's offset changes, to the second."""
    tz = ZoneInfo(zone)
    out, t = [], lo
    step = timedelta(hours=1)
    while t < hi:
        if (t + step).astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset():
            a, b = t, t + step
            while b - a > SEC:
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if mid.astimezone(tz).utcoffset() == a.astimezone(tz).utcoffset():
                    a = mid
                else:
                    b = mid
            out.append(b)
        t += step
    return out


def _naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None)


def make_dataset(zone: str, seed: int = 7) -> Dataset:
    first, last, week_start = ZONES[zone]
    rnd = random.Random(f"{zone}:{seed}")
    tz = ZoneInfo(zone)
    # Data from well before the range (28-day windows, weeks and months that start before
    # it) to after the month holding its last day (months/weeks are computed whole).
    span_lo = first - timedelta(days=40)
    span_hi = (last.replace(day=28) + timedelta(days=10)).replace(day=1) + timedelta(days=9)
    span = [span_lo + timedelta(days=i) for i in range((span_hi - span_lo).days + 1)]
    starts = {d: day_start(zone, d) for d in span + [span_hi + timedelta(days=1)]}
    changes = transitions(zone, starts[span_lo], starts[span_hi])
    hot_days = {(c.astimezone(tz).date() + timedelta(days=k)) for c in changes for k in (-1, 0, 1)}
    # Busy days away from DST too: range ends, month and week starts.
    hot_days |= {first, last, first - timedelta(days=1), last + timedelta(days=1)}

    def tenant():
        return None if rnd.random() < 0.08 else rnd.choice(TENANTS)

    def random_instant(d: date) -> datetime:
        a, b = starts[d], starts[d + timedelta(days=1)]
        us = rnd.randrange(int((b - a).total_seconds() * 1_000_000))
        return a + timedelta(microseconds=us)

    # Instants to pile rows on: every day's start ± 1 µs / 1 s, DST changes ± 1 µs / 1 s,
    # both readings of a wall time inside a repeated hour.
    # The number of rows on each nudge varies (0-2) so that a systematic one-sided error
    # (say, every 23:59:59.999999 row landing on the next day) changes daily totals too.
    boundary: list[datetime] = []
    for d in span:
        for n in NUDGES:
            boundary += [starts[d] + n] * rnd.choice((0, 1, 1, 2) if d not in hot_days else (1, 2))
    for c in changes:
        for n in NUDGES + (timedelta(minutes=30), -timedelta(minutes=30)):
            boundary.append(c + n)
        wall = (c - timedelta(minutes=20)).astimezone(tz).replace(tzinfo=None)
        for fold in (0, 1):
            boundary.append(wall.replace(tzinfo=tz, fold=fold).astimezone(UTC))
    instants = list(boundary)
    for d in span:
        for _ in range(12 if d in hot_days else 4):
            instants.append(random_instant(d))
    instants.sort()

    # users: created on boundaries and at random
    n_users = 160
    user_times = rnd.sample(boundary, 60) + [random_instant(rnd.choice(span))
                                             for _ in range(n_users - 60)]
    users = []
    for i, ts in enumerate(sorted(user_times), start=1):
        users.append({"id": i, "created_at": _naive(ts), "tenant": tenant(),
                      "plan": rnd.choice(PLANS), "is_test": rnd.random() < 0.12,
                      "amount_cents": None if rnd.random() < 0.1 else rnd.randrange(0, 5000)})

    events = []
    for i, ts in enumerate(instants, start=1):
        kind = None if rnd.random() < 0.03 else rnd.choice(KINDS)
        if kind == "purchase":
            amount = rnd.randrange(100, 9999)
        elif kind == "refund":
            amount = -rnd.randrange(100, 5000)
        else:
            amount = None if rnd.random() < 0.7 else rnd.randrange(0, 300)
        user = None if rnd.random() < 0.05 else rnd.randrange(1, n_users + 1)
        events.append({"id": i, "user_id": user,
                       "occurred_at": _naive(ts), "tenant": tenant(), "kind": kind,
                       "amount_cents": amount,
                       "priority": None if rnd.random() < 0.2 else rnd.randrange(1, 4)})
    # Rare tenants: 'zeta' only in the range's first days (later its 28-day MAU is 0, so
    # DAU/MAU divides by zero), 'omega' only three days before the range (seen by months,
    # weeks and windows that reach back there, not by the range's days).
    rare = (("zeta", first + timedelta(days=1)), ("zeta", first + timedelta(days=2)),
            ("omega", first - timedelta(days=3)))
    for tenant_name, d in rare:
        for n in (timedelta(0), timedelta(hours=5)):
            events.append({"id": len(events) + 1, "user_id": rnd.randrange(1, n_users + 1),
                           "occurred_at": _naive(starts[d] + n), "tenant": tenant_name,
                           "kind": "purchase", "amount_cents": 500, "priority": 2})
    # a few rows with no time at all never count
    for j in range(3):
        events.append({"id": len(events) + 1, "user_id": 1 + j, "occurred_at": None,
                       "tenant": TENANTS[j], "kind": "login", "amount_cents": 10,
                       "priority": 1})

    subs = []
    for i in range(1, 261):
        r = rnd.random()
        if r < 0.2:
            start = starts[span_lo] - timedelta(days=rnd.randrange(1, 60),
                                                seconds=rnd.randrange(86400))
        elif r < 0.6:
            start = starts[rnd.choice(span)] + rnd.choice(NUDGES + (timedelta(0),))
        else:
            start = random_instant(rnd.choice(span))
        r = rnd.random()
        if r < 0.35:
            end = None
        elif r < 0.75:  # on (or a hair off) the end of a day soon after the start
            later = [d for d in span if starts[d] >= start][:40]
            end = (starts[rnd.choice(later)] + rnd.choice(NUDGES + (timedelta(0),) * 3)
                   if later else None)
        elif r < 0.8:
            end = start  # open and closed at the same instant
        else:
            end = start + timedelta(days=rnd.randrange(0, 50),
                                    microseconds=rnd.randrange(86_400_000_000))
        subs.append({"id": i, "user_id": rnd.randrange(1, n_users + 1), "tenant": tenant(),
                     "started_at": _naive(start),
                     "canceled_at": None if end is None else _naive(end),
                     "mrr_cents": (None if rnd.random() < 0.05
                                   else rnd.choice([0, 900, 2900, 9900, 14900]))})

    # 'zeta' is subscribed from exactly the start of the range's 2nd day to exactly the end
    # of its 5th (open at the end of days 2..5, zero-filled on the others); 'omega' closed
    # before the range (never seen).
    for tenant_name, a, b in (("zeta", 1, 5), ("omega", -20, -3)):
        subs.append({"id": len(subs) + 1, "user_id": 7, "tenant": tenant_name,
                     "started_at": _naive(starts[first + timedelta(days=a)]),
                     "canceled_at": _naive(starts[first + timedelta(days=b)]),
                     "mrr_cents": 4900})

    # naive local wall times: midnight ± 1 µs / 1 s of every day, random times, and (where
    # a zone skips or repeats wall times) times that do not exist or exist twice.
    local_times = []
    for d in span:
        midnight = datetime.combine(d, time(0))
        local_times += [midnight + n for n in NUDGES for _ in range(rnd.choice((0, 1, 1, 2)))]
        local_times += [midnight + timedelta(microseconds=rnd.randrange(86_400_000_000))
                        for _ in range(2)]
    for c in changes:
        local_times.append((c + timedelta(minutes=10)).astimezone(tz).replace(tzinfo=None)
                           - timedelta(hours=1))
    events_local = []
    for i, ts in enumerate(sorted(local_times), start=1):
        events_local.append({"id": i, "user_id": rnd.randrange(1, 60), "occurred_at": ts,
                             "tenant": tenant(), "kind": rnd.choice(KINDS)})

    as_of = datetime.combine(last + timedelta(days=400), time(12), tzinfo=UTC)
    return Dataset(zone=zone, start=first, end=last, week_start=week_start, as_of=as_of,
                   tables={"users": users, "events": events, "subscriptions": subs,
                           "events_local": events_local},
                   transitions=changes)


def columns(table: str) -> list[str]:
    return list(SCHEMA[table])
