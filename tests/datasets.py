"""Deterministic test data sets with rows piled up on local-day boundaries and DST changes.

``make_dataset(zone)`` returns a :class:`Dataset`: rows for the tables ``users``, ``events``,
``subscriptions``, ``snapshots`` (one row per day and plan, with gaps; naive UTC timestamps)
and ``events_local`` (naive local wall times), their
column types, the date range to compute, an ``as_of`` instant (long after the range) and an
``as_of_today`` instant (mid-afternoon inside the range), and a project dict whose metrics
cover every kind, measure and ``where`` operator. Many rows sit exactly at a local
midnight, at midnight ± 1 µs and ± 1 s, at DST change instants ± 1 µs / 1 s, inside repeated
hours, and subscriptions open and close exactly on end-of-day instants.

Subscriptions belong to a ``customer`` (the entity of the movement metrics) with a ``plan``.
Besides random ones, hand-made customers (ids 900 and up, see ``movement_rows``) upgrade and
downgrade at one instant (at a DST change, at a local midnight), change and change back
within a day, churn and come back, hold overlapping rows, cancel exactly at "now" of
``as_of_today``, and have history long before the range in the other DST offset. Events
reach back months before the range (users returning after a gap, see ``history_events``)
for the lifecycle metrics, which read all history.

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
                      "canceled_at": "ts", "mrr_cents": "int", "customer": "int",
                      "plan": "str"},
    "events_local": {"id": "int", "user_id": "int", "occurred_at": "ts", "tenant": "str",
                     "kind": "str"},
    "snapshots": {"id": "int", "taken_at": "ts", "plan": "str", "tenant": "str",
                  "mrr_cents": "int", "subscribers": "int"},
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
        **hour_metrics(), **movement_metrics(), **lifecycle_metrics(), **derived_metrics(),
        **snapshot_metrics(),
    }


def snapshot_metrics() -> dict:
    snap = {"kind": "snapshot", "table": "snapshots", "time": "taken_at"}
    return {
        "snap_mrr": {**snap, "column": "mrr_cents", "dimensions": {"plan": "plan", "tenant": "tenant"},
                     "breakdowns": [["plan", "tenant"]]},  # rollup: last
        "snap_paid_mrr": {**snap, "column": "mrr_cents", "rollup": "sum",
                          "where": {"plan": {"ne": "free"}}, "dimensions": {"plan": "plan"}},
        "snap_subscribers": {**snap, "column": "subscribers", "rollup": "avg",
                             "dimensions": {"tenant": "tenant"}},
    }


def hour_metrics() -> dict:
    ev = {"table": "events", "time": "occurred_at"}
    return {
        "events_by_hour": {**ev, "dimensions": {"hour": "@hour", "tenant": "tenant"},
                           "breakdowns": [["hour", "tenant"]]},
        "users_by_hour": {**ev, "measure": "count_distinct", "column": "user_id",
                          "dimensions": {"hour": "@hour", "tenant": "tenant"},
                          "breakdowns": [["hour", "tenant"]]},
        "wau_by_hour": {**ev, "measure": "count_distinct", "column": "user_id", "window": 7,
                        "dimensions": {"hour": "@hour"}},
        "local_by_hour": {"table": "events_local", "time": "occurred_at",
                          "dimensions": {"hour": "@hour"}},
    }


def movement_metrics() -> dict:
    sub = {"kind": "movement", "table": "subscriptions", "entity": "customer",
           "column": "mrr_cents", "start": "started_at", "end": "canceled_at"}
    by = {"dimensions": {"tenant": "tenant", "plan": "plan"}, "breakdowns": [["tenant", "plan"]]}
    out = {f"{kind}_mrr": {**sub, "movement": kind, **by}
           for kind in ("new", "expansion", "contraction", "churn", "reactivation")}
    out.update({  # the same dimensions: one query for all of them
        "new_customers": {**sub, "movement": "new", "measure": "count", **by},
        "churned_customers": {**sub, "movement": "churn", "measure": "count", **by},
        "reactivations": {**sub, "movement": "reactivation", "measure": "count", **by},
        "expansions_existing": {**sub, "movement": "expansion", "measure": "count",
                                "cohort": "existing", **by},
        "reactivations_existing": {**sub, "movement": "reactivation", "measure": "count",
                                   "cohort": "existing", **by},
        "churn_mrr_existing": {**sub, "movement": "churn", "cohort": "existing", **by},
        "contraction_mrr_existing": {**sub, "movement": "contraction", "cohort": "existing",
                                     **by},
        "paid_churn": {**sub, "movement": "churn", "where": {"plan": {"ne": "free"}},
                       "dimensions": {"tenant": "tenant"}},
    })
    return out


def lifecycle_metrics() -> dict:
    lc = {"kind": "lifecycle", "table": "events", "time": "occurred_at", "column": "user_id"}
    out = {f"users_{st}": {**lc, "status": st, "dimensions": {"tenant": "tenant"}}
           for st in ("new", "returning", "resurrecting", "dormant")}
    buyers = {**lc, "where": {"kind": {"in": ["purchase", "export"]}}}
    out.update({
        "buyers_resurrecting": {**buyers, "status": "resurrecting"},
        "buyers_dormant": {**buyers, "status": "dormant"},
        "local_returning": {"kind": "lifecycle", "table": "events_local",
                            "time": "occurred_at", "column": "user_id", "status": "returning"},
    })
    return out


def derived_metrics() -> dict:
    def d(expr: str) -> dict:
        return {"kind": "derived", "expr": expr}

    return {
        "net_new_mrr": d("new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr"
                         " - churn_mrr"),
        "quick_ratio": d("(new_mrr + expansion_mrr + reactivation_mrr)"
                         " / (contraction_mrr + churn_mrr)"),
        "net_new_dollars": d("net_new_mrr / 100"),  # a derived part
        "stickiness_pct": d("stickiness * 100"),  # a ratio part (NULL where MAU is 0)
        "revenue_per_event": d("revenue / events_total"),  # parts with other dimensions
        "ticket_spread": d("max_amount - avg_ticket"),  # NULL zero-fill of avg/max
        "existing_score": d("-churn_mrr_existing + 2 * (expansions_existing - 1)"),
    }


@dataclass
class Dataset:
    zone: str
    start: date
    end: date
    week_start: str
    as_of: datetime
    tables: dict[str, list[dict]]
    # Quarters over the same range: each zone's range crosses a quarter's start or begins on one.
    grains: tuple[str, ...] = ("day", "week", "month", "quarter")
    transitions: list[datetime] = field(default_factory=list)
    as_of_today: datetime | None = None
    _expected: dict | None = None
    _expected_today: dict | None = None

    @property
    def key(self) -> str:
        return self.zone.replace("/", "_").lower()

    def project(self, source: str, tables: dict[str, str], store: str | None = None) -> dict:
        """The project dict; ``tables`` maps logical names to physical ones."""
        mapping = {name: ({"name": tables[name], "timestamps": "local"}
                          if name in LOCAL_TABLES else tables[name]) for name in SCHEMA}
        out = {"name": f"test {self.zone}", "timezone": self.zone,
               "week_start": self.week_start, "source": source, "tables": mapping,
               "metrics": metrics(), "compute": {"grains": list(self.grains)}}
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

    @property
    def expected_today(self) -> dict:
        """The reference with ``as_of_today``: its day is the last one computed."""
        if self._expected_today is None:
            self._expected_today = expected_values(
                self.project("duckdb:///unused", {n: n for n in SCHEMA}), self.tables,
                self.start, self.end, self.grains, self.as_of_today)
        return self._expected_today


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

    # Customers and plans for the movement metrics, from a stream of their own (the rows
    # above stay what they were): 40 customers over 262 rows overlap a lot.
    crnd = random.Random(f"{zone}:{seed}:customers")
    for sub in subs:
        sub["customer"] = crnd.randrange(1, 41)
        sub["plan"] = crnd.choice(PLANS)
    as_of_today = starts[last - timedelta(days=3)] + timedelta(hours=13, microseconds=1)
    for row in movement_rows(zone, first, last, changes, as_of_today):
        subs.append({"id": len(subs) + 1, "user_id": row["customer"], **row})
    for row in history_events(zone, first, last, rnd):
        events.append({"id": len(events) + 1, **row})

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

    snapshots = snapshot_rows(span, starts, week_start, random.Random(f"{zone}:{seed}:snapshots"))

    as_of = datetime.combine(last + timedelta(days=400), time(12), tzinfo=UTC)
    return Dataset(zone=zone, start=first, end=last, week_start=week_start, as_of=as_of,
                   tables={"users": users, "events": events, "subscriptions": subs,
                           "events_local": events_local, "snapshots": snapshots},
                   transitions=changes, as_of_today=as_of_today)


def snapshot_rows(span: list[date], starts: dict[date, datetime], week_start: str,
                  rnd: random.Random) -> list[dict]:
    """A daily snapshot table (one row per day and plan, in a random stream of its own): whole
    days missing (some weeks' last days among them), a plan missing on a day, two rows for
    one day and plan, rows at a local midnight, 1 µs after it and 1 µs or 1 s before the next
    one, NULL values, NULL tenants, a row without a time."""
    out = []

    def add(ts, plan, mrr, subscribers, tenant="acme"):
        out.append({"id": len(out) + 1, "taken_at": ts if ts is None else _naive(ts), "plan": plan,
                    "tenant": tenant, "mrr_cents": mrr, "subscribers": subscribers})

    week_end = 6 if week_start == "monday" else 5  # date.weekday() of a week's last day
    for d in span:
        if rnd.random() < 0.12 or (d.weekday() == week_end and d.toordinal() // 7 % 3 == 0):
            continue  # the load did not run that day (every third week's last day among them)
        nxt = starts[d + timedelta(days=1)]
        for plan in PLANS:
            if rnd.random() < 0.15:
                continue
            at = rnd.choice((starts[d], starts[d] + US, nxt - US, nxt - SEC,
                             starts[d] + (nxt - starts[d]) / 2))
            tenant = None if rnd.random() < 0.1 else rnd.choice(TENANTS[:3])
            mrr = None if rnd.random() < 0.05 else rnd.randrange(0, 50) * 100
            add(at, plan, mrr, rnd.randrange(0, 40), tenant)
            if rnd.random() < 0.1:  # a second row for the day and plan (another tenant)
                add(starts[d] + timedelta(hours=rnd.randrange(1, 20)), plan, rnd.randrange(0, 900),
                    None if rnd.random() < 0.3 else rnd.randrange(0, 10), rnd.choice(TENANTS[:3]))
    add(None, "pro", 100, 1)
    return out


def other_offset_day(zone: str, first: date) -> date:
    """A day 150-400 days before ``first`` whose UTC offset differs from the offset at the
    range's start (the other side of DST); Kolkata has none, so just 200 days before."""
    tz = ZoneInfo(zone)
    ref = (day_start(zone, first) - timedelta(days=3)).astimezone(tz).utcoffset()
    for k in range(150, 400):
        d = first - timedelta(days=k)
        if (day_start(zone, d) + timedelta(hours=12)).astimezone(tz).utcoffset() != ref:
            return d
    return first - timedelta(days=200)


def movement_rows(zone: str, first: date, last: date, changes: list[datetime],
                  now: datetime) -> list[dict]:
    """Hand-made subscriptions (customers 900+) for the movement metrics: see the comments.

    ``now`` is ``as_of_today``: a microsecond past a whole second, so rows at now - 1 µs
    started (and ended) before now, rows at now + 1 µs after it.
    """
    def day(k: int) -> datetime:  # start of the range's k-th day (0 = first)
        return day_start(zone, first + timedelta(days=k))

    h, mn = timedelta(hours=1), timedelta(minutes=1)
    hist = day_start(zone, other_offset_day(zone, first) + timedelta(days=1))
    in_range = [c for c in changes if day(0) <= c < day((last - first).days + 1)]
    rows = [
        # 900 upgrades at the first DST change in range (Kolkata: a local midnight): one row
        # closes at the instant the next opens. Total: expansion; per plan: pro churns,
        # team is new.
        (900, "acme", "pro", day(-10), (in_range or [day(20)])[0], 2900),
        (900, "acme", "team", (in_range or [day(20)])[0], None, 9900),
        # 901 downgrades exactly at local midnight: contraction on day 4, not day 3
        (901, "beta", "team", day(-30), day(4), 14900),
        (901, "beta", "pro", day(4), None, 2900),
        # 902: a row opened and closed within day 6 nets out; 903 cancels and resubscribes
        # on day 8 at the same price (nothing), then holds a 900 for 1 µs across midnight
        # into day 9 (expansion on day 8, contraction on day 9)
        (902, "acme", "pro", day(-5) + 3 * h, None, 2900),
        (902, "acme", "pro", day(6) + 2 * h, day(6) + 5 * h, 5000),
        (903, "Apex", "pro", day(-3) + h, day(8) + 3 * h, 2900),
        (903, "Apex", "pro", day(8) + 8 * h, None, 2900),
        (903, "Apex", "pro", day(9) - US, day(9), 900),
        # 904 churns on day 10 (started long before the range), reactivates on day 13 in
        # another plan, churns again on day 17 and comes back within the week on day 19
        (904, "umbrella", "pro", day(-50) + 5 * h, day(10) + 2 * h, 4900),
        (904, "umbrella", "team", day(13) + h, day(17), 9900),
        (904, "umbrella", "team", day(19) - SEC, None, 900),
        # 905: two rows starting at one instant (new = their sum), an overlapping third
        # (expansion on day 6, contraction on day 12), the second ends on day 15's start
        (905, "acme", "team", day(2) + 3 * h, None, 9900),
        (905, "acme", "team", day(2) + 3 * h, day(15), 900),
        (905, "acme", "pro", day(7) - SEC, day(12) + SEC, 2900),
        # 906 was paid across one midnight long ago, in the other DST offset (23:40 to
        # 00:20 local): its subscription on day 5 is a reactivation, not new
        (906, "beta", "pro", hist - 20 * mn, hist + 20 * mn, 2900),
        (906, "beta", "pro", day(5) + 4 * h, None, 2900),
        # 907: history in the other offset, then back on the range's first day
        (907, None, "team", hist - timedelta(days=9), hist + 3 * h, 4900),
        (907, None, "team", day(0), None, 4900),
        # 908: a row that ends before it starts, a NULL amount, a zero amount: no movement
        # until a real one on day 21
        (908, "acme", "free", day(3) + h, day(3), 900),
        (908, "acme", "free", day(3) + 2 * h, None, None),
        (908, "acme", "free", day(3) + 3 * h, day(25), 0),
        (908, "acme", "pro", day(21) + 59 * mn, None, 1900),
        # 909-912 around now (as_of_today): started/ended at now - 1 µs (before now: open /
        # closed), at now + 1 µs (after now), at now - 1 s
        (909, "acme", "pro", now - US, None, 2900),
        (910, "acme", "pro", now + US, None, 900),
        (911, "Apex", "team", day(-10), now - US, 9900),
        (912, "Apex", "team", day(-10), now + US, 4900),
        (913, "beta", "pro", day(-10), now - SEC, 1900),
        (913, "beta", "pro", now - SEC, None, 500),
    ]
    # Around every DST change in range: an upgrade at the change instant - 1 µs, a
    # downgrade at the second reading of a repeated wall time (or just after a gap), a
    # row that opens before the change and closes after it on the same day (nothing).
    for i, c in enumerate(in_range):
        tz = ZoneInfo(zone)
        wall = (c + 20 * mn).astimezone(tz).replace(tzinfo=None)
        second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        cust = 920 + 10 * i
        rows += [
            (cust, "acme", "pro", c - timedelta(days=3), c - US, 2900),
            (cust, "acme", "team", c - US, second, 9900),
            (cust, "acme", "pro", second, None, 4900),
            (cust + 1, "beta", "team", c - 40 * mn, c + 20 * mn, 9900),
            (cust + 2, "Apex", "pro", c - timedelta(days=20), c, 2900),
            (cust + 2, "Apex", "pro", c + timedelta(days=1), None, 2900),
        ]
    return [{"customer": cu, "tenant": t, "plan": pl, "started_at": _naive(a),
             "canceled_at": None if b is None else _naive(b), "mrr_cents": v}
            for cu, t, pl, a, b, v in rows]


def history_events(zone: str, first: date, last: date, rnd: random.Random) -> list[dict]:
    """Events months before the range (for lifecycle's "ever active") and hand-made users
    (500+) active with gaps of days, weeks and months, on the first and last microsecond of
    weeks and months."""
    def at(d: date, delta=timedelta(0)) -> datetime:
        return day_start(zone, d) + delta

    hist = other_offset_day(zone, first)
    out = []

    def add(user: int, ts: datetime, tenant: str | None = "acme", kind: str = "purchase"):
        out.append({"user_id": user, "occurred_at": _naive(ts), "tenant": tenant,
                    "kind": kind, "amount_cents": 700 if kind == "purchase" else None,
                    "priority": 1})

    # Users 1..40 were active once long ago (some at a midnight in the other DST offset):
    # their first activity in range resurrects them instead of making them new.
    for user in range(1, 41):
        d = hist - timedelta(days=rnd.randrange(0, 60))
        add(user, at(d, rnd.choice((timedelta(0), -US, US, timedelta(hours=rnd.randrange(24))))),
            rnd.choice(TENANTS + [None]), rnd.choice(KINDS))
    # 500: weekly at local midnight for the whole range (returning weekly, dormant daily)
    for k in range(-14, (last - first).days + 8, 7):
        add(500, at(first + timedelta(days=k)))
    # 501: the last microsecond of months and the first of the month after the next
    month = first.replace(day=1)
    for _ in range(4):
        nxt = (month + timedelta(days=32)).replace(day=1)
        add(501, at(nxt, -US), "beta")
        month = (nxt + timedelta(days=32)).replace(day=1)
        add(501, at(month), "beta")
    # 502: in history (other offset) and then once in the range's third week
    add(502, at(hist, timedelta(hours=23, minutes=40)), "Apex")
    add(502, at(first + timedelta(days=15), timedelta(hours=9)), "Apex")
    # 503: on the day before the range only (dormant on its first day, week or month)
    add(503, at(first - timedelta(days=1), timedelta(hours=23)), "umbrella", "export")
    # 504: every other day across the range, in two tenants (entities per tenant)
    for k in range(0, (last - first).days + 1, 2):
        add(504, at(first + timedelta(days=k), timedelta(hours=k % 24)),
            "acme" if k % 4 else "beta", "export")
    return out


def columns(table: str) -> list[str]:
    return list(SCHEMA[table])
