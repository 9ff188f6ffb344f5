"""The demo company: a seeded, multi-tenant SaaS business with two years of history.

``generate(path)`` writes it into a DuckDB file. Everything is drawn with numpy from one
seeded generator (same seed, same numbers, same rows) and bulk-loaded through Arrow, so the
default size (about 8k users, 40 workspaces, 300k product events) takes a few seconds.

The company's day is the **Asia/Kolkata** day (the demo project's ``timezone``; no DST):
local day D is the UTC interval [D-1 18:30, D 18:30). All timestamps are naive UTC and lie in
[start of the first local day, end of the last local day); money is integer cents.

Tables (``*`` = nullable):

- ``workspaces(id, slug, name, created_at)`` — the tenants (acme, globex, initech...). The
  oldest ones predate the history window; the rest appear over the two years.
- ``users(id, workspace_id, tenant, email, created_at, is_test, platform, country)`` —
  ``tenant`` is the workspace slug; ``platform`` web|ios|android (the signup platform);
  ``is_test`` marks QA / synthetic-signup accounts (~2.5%): they never subscribe and never
  produce events, so they only need filtering out of signups.
- ``plans(id, name, interval, amount_cents, is_free)`` — Free, Starter, Pro, Business, each
  monthly and annual (annual prices are multiples of 12 so MRR is exact).
- ``subscriptions(id, user_id, tenant, plan_id, status, started_at, trial_ends_at*,
  canceled_at*, mrr_cents)`` — one row per subscription, as the billing system shows it
  today: ``plan_id`` is the current plan, ``status`` trialing|active|past_due|canceled,
  ``canceled_at`` NULL while open. ``mrr_cents`` is the monthly-normalised amount the
  subscription brings while open (annual / 12); 0 for trials (running, or never converted)
  and the free plan. A reactivation is a new subscription row for the same user.
- ``subscription_periods(id, subscription_id, user_id, tenant, plan_id, mrr_cents,
  valid_from, valid_to*)`` — the exact history behind each subscription: a trial period
  (mrr 0), then one period per plan (upgrades/downgrades close one and open the next).
  Periods of one user never overlap. Use this table for historical MRR (a state metric on
  ``valid_from``/``valid_to``); ``subscriptions.mrr_cents`` only knows the current plan.
- ``payments(id, subscription_id, user_id, tenant, created_at, amount_cents, status)`` —
  invoices per billing cycle of paid periods; status succeeded|failed (failed ones are
  mostly retried a few days later; the last invoice of a past_due subscription failed).
- ``events(id, user_id, tenant, occurred_at, kind, platform, plan)`` — product events,
  kind login|capture|file_upload|worklog|report. **Captures are events with
  kind = 'capture'** (there is no separate captures table). ``platform`` is where the event
  happened; ``plan`` is the user's plan tier at that instant (free|starter|pro|business, a
  trial counts as its plan) or 'none' without an open subscription.
- ``jobs(id, tenant, kind, created_at, finished_at*, status, duration_ms*)`` — background
  jobs: ocr (per file upload), report_render (per report), sync (nightly per workspace);
  status succeeded|failed|running (running = not finished when the history ends).
- ``ai_usage(id, tenant, occurred_at, model, requests, tokens, cost_cents)`` — AI usage as
  the provider bills it: one row per workspace x local day x model, stamped at the start of
  the local day. Starts with the AI feature launch.
- ``leads(id, created_at, source, status, owner, converted_at*)`` and
  ``calls(id, lead_id, staff, started_at, duration_s, outcome, successful)`` — the company's
  own sales team. outcome connected|booked_demo|voicemail|no_answer; successful =
  connected or booked_demo.

Injected so reports have something to say (dates in the returned summary): weekly
seasonality (weekdays busier), growth (signups x4 over two years), a launch-day spike, a
signup campaign (lower-quality signups), an outage day (almost no events or signups), a
churn wave after a price change, an OCR job-failure spike, and an Android capture bug over
the last three days.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

__all__ = ["TIMEZONE", "generate"]

TIMEZONE = "Asia/Kolkata"
UTC_OFFSET = timedelta(hours=5, minutes=30)  # Asia/Kolkata has no DST

US = 1_000_000
MINUTE = 60 * US
HOUR = 60 * MINUTE
DAY = 24 * HOUR

WORKSPACES = [
    ("acme", "Acme Corp"), ("globex", "Globex"), ("initech", "Initech"),
    ("umbrella", "Umbrella"), ("hooli", "Hooli"), ("stark", "Stark Industries"),
    ("wayne", "Wayne Enterprises"), ("wonka", "Wonka Industries"), ("soylent", "Soylent"),
    ("tyrell", "Tyrell Corp"), ("cyberdyne", "Cyberdyne Systems"), ("oscorp", "Oscorp"),
    ("aperture", "Aperture Science"), ("blackmesa", "Black Mesa"), ("piedpiper", "Pied Piper"),
    ("dundermifflin", "Dunder Mifflin"), ("vandelay", "Vandelay Industries"),
    ("gringotts", "Gringotts"), ("monarch", "Monarch Solutions"), ("massive", "Massive Dynamic"),
    ("nakatomi", "Nakatomi Trading"), ("weyland", "Weyland-Yutani"), ("zorg", "Zorg Industries"),
    ("bluth", "Bluth Company"), ("prestige", "Prestige Worldwide"), ("krustykrab", "Krusty Krab"),
    ("sterling", "Sterling Cooper"), ("wernham", "Wernham Hogg"), ("duff", "Duff Beer"),
    ("momcorp", "MomCorp"), ("planetexpress", "Planet Express"), ("lexcorp", "LexCorp"),
    ("rekall", "Rekall"), ("virtucon", "Virtucon"), ("spacely", "Spacely Sprockets"),
    ("cogswell", "Cogswell Cogs"), ("ollivanders", "Ollivanders"), ("genco", "Genco"),
    ("lospollos", "Los Pollos Hermanos"), ("paperstreet", "Paper Street Soap"),
    ("gekko", "Gekko & Co"), ("burnsnuclear", "Burns Nuclear"), ("sirius", "Sirius Cybernetics"),
    ("tessier", "Tessier-Ashpool"), ("yoyodyne", "Yoyodyne"), ("ingen", "InGen"),
]

# id, name, interval, amount_cents, is_free; tiers: 0 free, 1 starter, 2 pro, 3 business.
# plan id of (tier, annual) = 1 for free, else 2 * tier + annual.
PLANS = [
    (1, "Free", "month", 0, True),
    (2, "Starter", "month", 1_500, False),
    (3, "Starter Annual", "year", 14_400, False),
    (4, "Pro", "month", 4_900, False),
    (5, "Pro Annual", "year", 46_800, False),
    (6, "Business", "month", 14_900, False),
    (7, "Business Annual", "year", 142_800, False),
]
PLAN_AMOUNT = np.array([0] + [p[3] for p in PLANS], dtype=np.int64)
PLAN_MRR = np.array([0] + [p[3] // (12 if p[2] == "year" else 1) for p in PLANS], dtype=np.int64)
PLAN_TIER = np.array([0, 0, 1, 1, 2, 2, 3, 3])
TIERS = ["free", "starter", "pro", "business", "none"]

PLATFORMS = ["web", "ios", "android"]
COUNTRIES = ["IN", "US", "GB", "DE", "BR", "CA", "AU", "SG", "AE", "FR", "NL", "JP"]
COUNTRY_P = [0.34, 0.22, 0.08, 0.06, 0.05, 0.05, 0.04, 0.04, 0.04, 0.03, 0.03, 0.02]
KINDS = ["login", "capture", "file_upload", "worklog", "report"]
JOB_KINDS = ["ocr", "report_render", "sync"]
JOB_STATUS = ["succeeded", "failed", "running"]
AI_MODELS = ["gpt-4o-mini", "claude-sonnet-4"]
AI_CENTS_PER_MTOK = np.array([60.0, 900.0])  # blended price, cents per million tokens
LEAD_SOURCES = ["website", "ads", "referral", "event", "partner"]
LEAD_STATUS = ["new", "contacted", "qualified", "converted", "lost"]
STAFF = ["asha", "ben", "carmen", "dev", "elif", "farah"]
OUTCOMES = ["connected", "booked_demo", "voicemail", "no_answer"]
FIRST = ["aarav", "priya", "rohan", "ananya", "vikram", "sara", "james", "emma", "liam",
         "olivia", "noah", "mia", "lucas", "sofia", "arjun", "diya", "ken", "yuki", "leon",
         "hannah", "omar", "layla", "mateo", "lucia", "kabir", "meera", "ethan", "zoe"]
LAST = ["sharma", "patel", "iyer", "reddy", "singh", "smith", "jones", "brown", "garcia",
        "mueller", "silva", "tanaka", "khan", "nair", "rao", "martin", "dubois", "rossi",
        "costa", "kim", "wong", "novak", "jensen", "walsh"]

# Local (IST) hour-of-day profile of product activity; busy in working hours.
_HOURS = np.array([1.2, 0.8, 0.6, 0.5, 0.6, 0.9, 1.5, 2.5, 4, 6, 8, 8.5,
                   8, 7.5, 8, 8, 7.5, 6.5, 5.5, 5, 4.5, 4, 3, 2])
_HOUR_CDF = np.cumsum(_HOURS) / _HOURS.sum()
# Monday..Sunday factors.
_WEEK_SIGNUPS = np.array([1.10, 1.15, 1.10, 1.05, 0.95, 0.60, 0.55])
_WEEK_ACTIVITY = np.array([1.00, 1.05, 1.05, 1.00, 0.90, 0.45, 0.40])


class _Calendar:
    """Local days 0..days-1 and their UTC instants (int64 microseconds since the epoch)."""

    def __init__(self, start: date, days: int):
        self.start, self.days = start, days
        midnight = datetime(start.year, start.month, start.day) - UTC_OFFSET
        self.base = int((midnight - datetime(1970, 1, 1)) / timedelta(microseconds=1))
        self.end_us = self.base + days * DAY
        self.weekday = (start.weekday() + np.arange(days)) % 7
        self.frac = np.arange(days) / max(days - 1, 1)

    def day_start(self, d):
        return self.base + np.asarray(d, dtype=np.int64) * DAY

    def day_of(self, us):
        return (np.asarray(us, dtype=np.int64) - self.base) // DAY

    def date(self, d: int) -> date:
        return self.start + timedelta(days=int(d))

    def on_weekday(self, d: int, weekday: int) -> int:
        """The latest day <= d that falls on ``weekday`` (0 = Monday)."""
        return d - int((self.weekday[d] - weekday) % 7) if 0 <= d < self.days else d


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    hour = np.minimum(np.searchsorted(_HOUR_CDF, rng.random(n), side="right"), 23)
    return hour * HOUR + (rng.random(n) * HOUR).astype(np.int64)


def _ragged_index(counts: np.ndarray):
    """For groups of sizes ``counts``: each item's group and its position in the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group)) - starts[group]


def generate(path: Path, *, seed: int = 7, days: int = 730, end: date | None = None,
             scale: float = 1.0) -> dict:
    """Write the demo company into the DuckDB file ``path`` (replacing it) and summarise it.

    ``end``: the last local (Asia/Kolkata) day of history, default yesterday in UTC.
    ``scale`` multiplies users, events and everything that follows from them.
    Returns ``{"path", "seed", "scale", "timezone", "start", "end", "utc_start", "utc_end",
    "tables": {table: rows}, "incidents": {name: date}, "seconds"}``.
    """
    t0 = time.perf_counter()
    if days < 1:
        raise ValueError("days must be 1 or more")
    if scale <= 0:
        raise ValueError("scale must be positive")
    if end is None:
        end = datetime.now(UTC).date() - timedelta(days=1)
    cal = _Calendar(end - timedelta(days=days - 1), days)
    rng = np.random.default_rng(seed)

    inc = _incidents(cal)
    tables: dict[str, dict[str, pa.Array]] = {}
    ws = _workspaces(rng, cal, scale)
    users = _users(rng, cal, scale, ws, inc)
    subs, periods = _subscriptions(rng, cal, users, inc)
    payments = _payments(rng, cal, subs, periods)
    events = _events(rng, cal, users, subs, periods, inc)
    jobs = _jobs(rng, cal, ws, events, inc)
    ai = _ai_usage(rng, cal, ws, events, inc)
    leads, calls = _sales(rng, cal, scale, inc)

    tenant = pa.array([s for s, _ in ws["names"]])
    tables["workspaces"] = {
        "id": pa.array(np.arange(1, ws["n"] + 1)),
        "slug": tenant,
        "name": pa.array([n for _, n in ws["names"]]),
        "created_at": _ts(ws["created"]),
    }
    tables["users"] = {
        "id": pa.array(np.arange(1, users["n"] + 1)),
        "workspace_id": pa.array(users["ws"] + 1),
        "tenant": _dict(users["ws"], tenant),
        "email": pa.array(users["email"]),
        "created_at": _ts(users["created"]),
        "is_test": pa.array(users["is_test"]),
        "platform": _dict(users["platform"], PLATFORMS),
        "country": _dict(users["country"], COUNTRIES),
    }
    tables["plans"] = {
        "id": pa.array([p[0] for p in PLANS], pa.int64()),
        "name": pa.array([p[1] for p in PLANS]),
        "interval": pa.array([p[2] for p in PLANS]),
        "amount_cents": pa.array([p[3] for p in PLANS], pa.int64()),
        "is_free": pa.array([p[4] for p in PLANS]),
    }
    s_ws = users["ws"][subs["user"]]
    tables["subscriptions"] = {
        "id": pa.array(np.arange(1, subs["n"] + 1)),
        "user_id": pa.array(subs["user"] + 1),
        "tenant": _dict(s_ws, tenant),
        "plan_id": pa.array(subs["plan"]),
        "status": _dict(subs["status"], ["trialing", "active", "past_due", "canceled"]),
        "started_at": _ts(subs["start"]),
        "trial_ends_at": _ts(subs["trial_end"], subs["trial_end"] < 0),
        "canceled_at": _ts(subs["cancel"], subs["cancel"] >= cal.end_us),
        "mrr_cents": pa.array(subs["mrr"]),
    }
    tables["subscription_periods"] = {
        "id": pa.array(np.arange(1, periods["n"] + 1)),
        "subscription_id": pa.array(periods["sub"] + 1),
        "user_id": pa.array(periods["user"] + 1),
        "tenant": _dict(users["ws"][periods["user"]], tenant),
        "plan_id": pa.array(periods["plan"]),
        "mrr_cents": pa.array(periods["mrr"]),
        "valid_from": _ts(periods["start"]),
        "valid_to": _ts(periods["end"], periods["end"] >= cal.end_us),
    }
    tables["payments"] = {
        "id": pa.array(np.arange(1, payments["n"] + 1)),
        "subscription_id": pa.array(payments["sub"] + 1),
        "user_id": pa.array(subs["user"][payments["sub"]] + 1),
        "tenant": _dict(s_ws[payments["sub"]], tenant),
        "created_at": _ts(payments["at"]),
        "amount_cents": pa.array(payments["amount"]),
        "status": _dict(payments["failed"].astype(np.int8), ["succeeded", "failed"]),
    }
    tables["events"] = {
        "id": pa.array(np.arange(1, events["n"] + 1)),
        "user_id": pa.array(events["user"] + 1),
        "tenant": _dict(users["ws"][events["user"]], tenant),
        "occurred_at": _ts(events["at"]),
        "kind": _dict(events["kind"], KINDS),
        "platform": _dict(events["platform"], PLATFORMS),
        "plan": _dict(events["tier"], TIERS),
    }
    tables["jobs"] = {
        "id": pa.array(np.arange(1, jobs["n"] + 1)),
        "tenant": _dict(jobs["ws"], tenant),
        "kind": _dict(jobs["kind"], JOB_KINDS),
        "created_at": _ts(jobs["at"]),
        "finished_at": _ts(jobs["finished"], jobs["status"] == 2),
        "status": _dict(jobs["status"], JOB_STATUS),
        "duration_ms": pa.array(jobs["duration_ms"], mask=jobs["status"] == 2),
    }
    tables["ai_usage"] = {
        "id": pa.array(np.arange(1, ai["n"] + 1)),
        "tenant": _dict(ai["ws"], tenant),
        "occurred_at": _ts(ai["at"]),
        "model": _dict(ai["model"], AI_MODELS),
        "requests": pa.array(ai["requests"]),
        "tokens": pa.array(ai["tokens"]),
        "cost_cents": pa.array(ai["cost"]),
    }
    tables["leads"] = {
        "id": pa.array(np.arange(1, leads["n"] + 1)),
        "created_at": _ts(leads["at"]),
        "source": _dict(leads["source"], LEAD_SOURCES),
        "status": _dict(leads["status"], LEAD_STATUS),
        "owner": _dict(leads["owner"], STAFF),
        "converted_at": _ts(leads["converted"], leads["converted"] < 0),
    }
    tables["calls"] = {
        "id": pa.array(np.arange(1, calls["n"] + 1)),
        "lead_id": pa.array(calls["lead"] + 1),
        "staff": _dict(calls["staff"], STAFF),
        "started_at": _ts(calls["at"]),
        "duration_s": pa.array(calls["duration"]),
        "outcome": _dict(calls["outcome"], OUTCOMES),
        "successful": pa.array(calls["outcome"] <= 1),
    }

    counts = _write(Path(path), tables)
    return {
        "path": str(path),
        "seed": seed,
        "scale": scale,
        "timezone": TIMEZONE,
        "start": cal.start.isoformat(),
        "end": end.isoformat(),
        "utc_start": _iso(cal.base),
        "utc_end": _iso(cal.end_us),
        "tables": counts,
        "incidents": {k: cal.date(v).isoformat() for k, v in inc.items() if 0 <= v < days},
        "seconds": round(time.perf_counter() - t0, 3),
    }


# --------------------------------------------------------------------------- incidents


def _incidents(cal: _Calendar) -> dict[str, int]:
    """Day index of each injected incident, placed relative to the last day so the latest
    daily/weekly reports always have something to talk about. Incidents that would fall
    before the first day (short histories) are left out."""
    last = cal.days - 1
    days = {
        "launch_spike": cal.on_weekday(round(cal.days * 0.22), 1),   # featured launch
        "ai_launch": round(cal.days * 0.45),                           # AI usage starts
        "signup_campaign": cal.on_weekday(last - 75, 1),               # 3-day campaign
        "outage": cal.on_weekday(last - 40, 2),                        # ~no events
        "churn_wave": cal.on_weekday(last - 21, 0),                    # price change week
        "job_failures": cal.on_weekday(last - 5, 3),                   # OCR worker bug
        "android_capture_bug": last - 2,                               # through the last day
    }
    return {k: v for k, v in days.items() if 0 <= v < cal.days}


_NEVER = 1 << 40  # day index of an incident that is not in the history


def _day_factor(cal: _Calendar, inc: dict[str, int], what: str) -> np.ndarray:
    f = np.ones(cal.days)

    def put(name: str, values) -> None:
        day = inc.get(name, _NEVER)
        for i, v in enumerate(values):
            if 0 <= day + i < cal.days:
                f[day + i] *= v

    if what == "signups":
        put("launch_spike", [4.0, 1.8])
        put("signup_campaign", [6.0, 3.5, 1.8])
        put("outage", [0.05])
    elif what == "activity":
        put("outage", [0.015])
    elif what == "leads":
        put("launch_spike", [3.0, 1.5])
        put("signup_campaign", [3.0, 2.0, 1.4])
        put("outage", [0.3])
    return f


# --------------------------------------------------------------------------- entities


def _workspaces(rng, cal: _Calendar, scale: float) -> dict:
    n = max(6, round(40 * scale ** 0.5))
    n_old = max(3, round(n * 0.4))
    old = -rng.integers(30, 900, n_old)
    w = np.exp(np.log(3.0) * cal.frac)
    lo, hi = min(10, cal.days - 1), max(min(10, cal.days - 1) + 1, cal.days - 30)
    new = rng.choice(np.arange(lo, hi), n - n_old, p=w[lo:hi] / w[lo:hi].sum())
    created = np.sort(cal.day_start(np.concatenate([old, new])) + _time_of_day(rng, n))
    names = [WORKSPACES[i] if i < len(WORKSPACES)
             else (f"{WORKSPACES[i % len(WORKSPACES)][0]}{i // len(WORKSPACES) + 1}",
                   f"{WORKSPACES[i % len(WORKSPACES)][1]} {i // len(WORKSPACES) + 1}")
             for i in range(n)]
    weight = rng.lognormal(0.0, 0.9, n)
    weight[0] = weight.max() * 1.5  # acme, the oldest, is the biggest customer
    return {"n": n, "created": created, "names": names, "weight": weight}


def _users(rng, cal: _Calendar, scale: float, ws: dict, inc: dict) -> dict:
    n = max(60, round(8000 * scale))
    n_test = max(3, round(n * 0.025))
    growth = np.exp(np.log(4.0) * cal.frac)
    p = (growth * _WEEK_SIGNUPS[cal.weekday] * _day_factor(cal, inc, "signups")
         * rng.lognormal(0.0, 0.15, cal.days))
    day = np.concatenate([rng.choice(cal.days, n - n_test, p=p / p.sum()),
                          rng.integers(0, cal.days, n_test)])
    is_test = np.arange(n) >= n - n_test
    created = cal.day_start(day) + _time_of_day(rng, n)
    order = np.argsort(created, kind="stable")
    created, day, is_test = created[order], day[order], is_test[order]

    # Workspace: among those that exist at signup, by size weight.
    k = np.maximum(np.searchsorted(ws["created"], created, side="right"), 1)
    cum = np.cumsum(ws["weight"])
    wsi = np.minimum(np.searchsorted(cum, rng.random(n) * cum[k - 1], side="right"), k - 1)
    # Created ahead of the workspace's first users, make sure the workspace came first.
    created = np.maximum(created, ws["created"][wsi] + MINUTE)

    f = cal.frac[day]
    pw, pi = 0.62 - 0.14 * f, 0.24 + 0.08 * f
    u = rng.random(n)
    platform = np.where(u < pw, 0, np.where(u < pw + pi, 1, 2)).astype(np.int8)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_P).astype(np.int8)

    first = rng.integers(0, len(FIRST), n)
    last = rng.integers(0, len(LAST), n)
    slugs = [s for s, _ in ws["names"]]
    email = [f"qa+{i + 1}@daypulse-synthetic.test" if t
             else f"{FIRST[a]}.{LAST[b]}{i + 1}@{slugs[w]}.example"
             for i, (t, a, b, w) in enumerate(zip(is_test.tolist(), first.tolist(),
                                                   last.tolist(), wsi.tolist(), strict=True))]
    camp = inc.get("signup_campaign", _NEVER)
    campaign = (day >= camp) & (day < camp + 3)
    return {"n": n, "created": created, "day": day, "is_test": is_test, "ws": wsi,
            "platform": platform, "country": country, "email": email, "campaign": campaign}


def _subscription_block(rng, cal: _Calendar, inc: dict, user, start, tier, annual, trial,
                        convert) -> dict:
    m = len(user)
    trial_end = np.where(trial, start + 14 * DAY, -1)
    paid_start = np.where(trial, trial_end, start)
    mean_days = np.where(tier == 0, 300, np.where(annual, 1100, 520))
    cancel = paid_start + (rng.exponential(1.0, m) * mean_days * DAY).astype(np.int64)
    cancel = np.where(convert, cancel, trial_end)
    # Churn wave: a price change makes ~12% of paying customers leave within a week.
    u = rng.random(m)
    if "churn_wave" in inc:
        w0 = int(cal.day_start(inc["churn_wave"]))
        hit = convert & (tier > 0) & (paid_start < w0) & (cancel > w0) & (u < 0.12)
        cancel = np.where(hit, w0 + (rng.random(m) * 7 * DAY).astype(np.int64), cancel)
    plan0 = np.where(tier == 0, 1, 2 * tier + annual)
    # One plan change for some paying customers: mostly upgrades.
    lo, hi = paid_start, np.minimum(cancel, cal.end_us)
    new_tier = np.where(rng.random(m) < 0.7, np.minimum(tier + 1, 3), np.maximum(tier - 1, 1))
    change = (convert & (tier > 0) & (new_tier != tier) & (hi - lo > 7 * DAY)
              & (rng.random(m) < 0.15))
    change_at = np.where(change, lo + DAY + (rng.random(m) * (hi - lo - 2 * DAY)).astype(np.int64),
                         -1)
    plan1 = np.where(change, 2 * new_tier + annual, plan0)
    return {"user": user, "start": start, "trial_end": trial_end, "paid_start": paid_start,
            "cancel": cancel, "convert": convert, "plan0": plan0, "plan1": plan1,
            "change_at": change_at, "tier": tier}


def _subscriptions(rng, cal: _Calendar, users: dict, inc: dict):
    n = users["n"]
    p_sub = np.where(users["campaign"], 0.10, 0.21)
    cand = np.flatnonzero(~users["is_test"] & (rng.random(n) < p_sub))
    m = len(cand)
    delay = np.where(rng.random(m) < 0.4, rng.random(m) * 0.2, rng.exponential(12.0, m))
    start = (users["created"][cand] + (delay * DAY).astype(np.int64)
             + rng.integers(5, 60, m) * MINUTE)
    keep = start < cal.end_us
    cand, start, m = cand[keep], start[keep], int(keep.sum())
    tier = rng.choice(4, m, p=[0.08, 0.45, 0.35, 0.12])
    annual = ((tier > 0) & (rng.random(m) < 0.22)).astype(np.int64)
    trial = (tier > 0) & (rng.random(m) < 0.5)
    convert = ~trial | (rng.random(m) < 0.6)
    first = _subscription_block(rng, cal, inc, cand, start, tier, annual, trial, convert)

    # Reactivations: some churned customers come back with a new subscription.
    churned = (first["convert"] & (tier > 0) & (first["cancel"] < cal.end_us))
    r_start = first["cancel"] + ((14 + rng.random(m) * 136) * DAY).astype(np.int64)
    back = churned & (rng.random(m) < 0.18) & (r_start < cal.end_us)
    k = int(back.sum())
    r_tier = np.clip(tier[back] + rng.choice([-1, 0, 0, 1], k), 1, 3)
    second = _subscription_block(rng, cal, inc, cand[back], r_start[back], r_tier,
                                 (rng.random(k) < 0.1).astype(np.int64), np.zeros(k, bool),
                                 np.ones(k, bool))
    s = {key: np.concatenate([first[key], second[key]]) for key in first}
    order = np.argsort(s["start"], kind="stable")
    s = {key: v[order] for key, v in s.items()}
    total = len(order)

    end_us = cal.end_us
    open_ = s["cancel"] >= end_us
    trialing = (s["trial_end"] >= 0) & (s["trial_end"] > end_us)
    past_due = open_ & ~trialing & (s["tier"] > 0) & (rng.random(total) < 0.04)
    status = np.where(~open_, 3, np.where(trialing, 0, np.where(past_due, 2, 1))).astype(np.int8)
    plan = np.where(s["change_at"] >= 0, s["plan1"], s["plan0"])
    mrr = np.where(trialing | ~s["convert"], 0, PLAN_MRR[plan])
    subs = {"n": total, "user": s["user"], "start": s["start"], "trial_end": s["trial_end"],
            "cancel": s["cancel"], "status": status, "plan": plan, "mrr": mrr,
            "past_due": past_due, "tier": s["tier"]}

    # Periods: trial (mrr 0), first plan, plan after the change.
    idx = np.arange(total)
    has_trial = s["trial_end"] >= 0
    paid = s["convert"] & (s["paid_start"] < end_us)
    changed = s["change_at"] >= 0
    parts = [
        (idx[has_trial], s["start"][has_trial],
         np.minimum(s["trial_end"], s["cancel"])[has_trial], s["plan0"][has_trial], True),
        (idx[paid], s["paid_start"][paid], np.where(changed, s["change_at"], s["cancel"])[paid],
         s["plan0"][paid], False),
        (idx[changed], s["change_at"][changed], s["cancel"][changed], s["plan1"][changed], False),
    ]
    sub = np.concatenate([p[0] for p in parts])
    p_start = np.concatenate([p[1] for p in parts])
    p_end = np.concatenate([p[2] for p in parts])
    p_plan = np.concatenate([p[3] for p in parts])
    p_mrr = np.concatenate([np.zeros(len(p[0]), np.int64) if p[4] else PLAN_MRR[p[3]]
                            for p in parts])
    p_user = s["user"][sub]
    order = np.lexsort((p_start, p_user))
    periods = {"n": len(sub), "sub": sub[order], "user": p_user[order], "start": p_start[order],
               "end": p_end[order], "plan": p_plan[order], "mrr": p_mrr[order]}
    return subs, periods


def _payments(rng, cal: _Calendar, subs: dict, periods: dict) -> dict:
    paid = periods["mrr"] > 0
    sub, start = periods["sub"][paid], periods["start"][paid]
    stop = np.minimum(periods["end"][paid], cal.end_us)
    plan = periods["plan"][paid]
    cycle = np.where(np.array([p[2] == "year" for p in PLANS])[plan - 1], 12, 1)
    cycle_us = (cycle * 30.436875 * DAY).astype(np.int64)
    n_inv = np.maximum(1, -(-(stop - start) // cycle_us))
    grp, k = _ragged_index(n_inv)
    at = start[grp] + k * cycle_us[grp]
    amount = PLAN_AMOUNT[plan[grp]]
    failed = rng.random(len(at)) < 0.045
    # The latest invoice of a past_due subscription's open period failed and is unpaid.
    last = np.cumsum(n_inv) - 1
    open_pd = subs["past_due"][sub] & (periods["end"][paid] >= cal.end_us)
    failed[last[open_pd]] = True
    no_retry = np.zeros(len(at), bool)
    no_retry[last[open_pd]] = True
    retry_at = at + ((1 + rng.random(len(at)) * 3) * DAY).astype(np.int64)
    retry = failed & ~no_retry & (rng.random(len(at)) < 0.75) & (retry_at < cal.end_us)
    all_at = np.concatenate([at, retry_at[retry]])
    all_sub = np.concatenate([sub[grp], sub[grp][retry]])
    all_amount = np.concatenate([amount, amount[retry]])
    all_failed = np.concatenate([failed, np.zeros(int(retry.sum()), bool)])
    order = np.argsort(all_at, kind="stable")
    return {"n": len(order), "at": all_at[order], "sub": all_sub[order],
            "amount": all_amount[order], "failed": all_failed[order]}


def _events(rng, cal: _Calendar, users: dict, subs: dict, periods: dict, inc: dict) -> dict:
    real = np.flatnonzero(~users["is_test"])
    n = len(real)
    s_day = users["day"][real]
    # Natural engagement lifetime: many try it once, some stay for weeks, some for good.
    u = rng.random(n)
    one_shot = 0.35 + 0.25 * users["campaign"][real]
    life = np.where(u < one_shot, rng.integers(0, 4, n),
                    np.where(u < one_shot + 0.40, rng.exponential(45.0, n),
                             rng.exponential(400.0, n))).astype(np.int64)
    e_day = s_day + life
    p_act = rng.beta(1.3, 7.0, n)
    # Subscribers stay active while subscribed and drift away shortly after cancelling.
    last_cancel = np.full(users["n"], -1, np.int64)
    np.maximum.at(last_cancel, subs["user"], np.minimum(subs["cancel"], cal.end_us + 30 * DAY))
    lc = last_cancel[real]
    subscriber = lc >= 0
    e_day = np.where(subscriber, cal.day_of(lc) + rng.integers(0, 10, n), e_day)
    p_act = np.where(subscriber, np.minimum(0.9, p_act * 1.5 + 0.05), p_act)
    e_day = np.clip(e_day, s_day, cal.days - 1)

    span = e_day - s_day + 1
    wmax = _WEEK_ACTIVITY.max()
    n_cand = rng.binomial(span, np.minimum(1.0, p_act * wmax))
    grp = np.repeat(np.arange(n), n_cand)
    d = s_day[grp] + (rng.random(len(grp)) * span[grp]).astype(np.int64)
    tenure = d - s_day[grp]
    decay = np.where(subscriber[grp], 1.0, 0.45 + 0.55 * np.exp(-tenure / 30.0))
    accept = _WEEK_ACTIVITY[cal.weekday[d]] / wmax * decay * _day_factor(cal, inc, "activity")[d]
    keep = rng.random(len(grp)) < accept
    key = np.unique(np.concatenate([grp[keep] * cal.days + d[keep],
                                    np.arange(n) * cal.days + s_day]))  # signup day: active
    row_user, row_day = key // cal.days, key % cal.days
    r = len(key)

    lam_capture = rng.gamma(2.0, 0.7, n) * np.where(subscriber, 1.3, 1.0)
    counts = [1 + rng.poisson(0.2, r),                  # login
              rng.poisson(lam_capture[row_user]),       # capture
              rng.poisson(0.3, r),                      # file_upload
              rng.poisson(0.35, r),                     # worklog
              rng.poisson(0.12, r)]                     # report
    rows = np.concatenate([np.repeat(np.arange(r), c) for c in counts])
    kind = np.concatenate([np.full(int(c.sum()), i, np.int8) for i, c in enumerate(counts)])
    m = len(rows)
    uidx = real[row_user[rows]]
    day = row_day[rows]
    at = cal.day_start(day) + _time_of_day(rng, m)
    created = users["created"][uidx]
    first_day = day == users["day"][uidx]
    day_end = cal.day_start(day + 1)
    at = np.where(first_day & (at <= created),
                  created + 1 + (rng.random(m) * (day_end - created - 1)).astype(np.int64), at)

    # Platform: mostly the signup platform; mobile users also use the web app.
    home = users["platform"][uidx]
    v = rng.random(m)
    platform = np.where(home == 0, np.where(v < 0.9, 0, np.where(v < 0.96, 1, 2)),
                        np.where(v < 0.7, home, 0)).astype(np.int8)

    # The Android capture bug: most Android captures fail to arrive in the last days.
    bug = ((day >= inc.get("android_capture_bug", _NEVER)) & (kind == 1) & (platform == 2)
           & (rng.random(m) < 0.75))
    keep = ~bug
    at, kind, platform, uidx = at[keep], kind[keep], platform[keep], uidx[keep]

    order = np.argsort(at, kind="stable")
    at, kind, platform, uidx = at[order], kind[order], platform[order], uidx[order]
    return {"n": len(at), "at": at, "kind": kind, "platform": platform, "user": uidx,
            "ws": users["ws"][uidx], "tier": _tier_at(cal, periods, uidx, at)}


def _tier_at(cal: _Calendar, periods: dict, user, at) -> np.ndarray:
    """Plan tier of each (user, instant) from the non-overlapping periods; 4 = none."""
    span = np.int64(cal.end_us - cal.base + 400 * DAY)
    pkey = periods["user"] * span + (periods["start"] - cal.base)
    ekey = user * span + (at - cal.base)
    i = np.searchsorted(pkey, ekey, side="right") - 1
    ok = i >= 0
    i = np.maximum(i, 0)
    ok &= (periods["user"][i] == user) & (periods["end"][i] > at)
    return np.where(ok, PLAN_TIER[periods["plan"][i]], 4).astype(np.int8)


def _jobs(rng, cal: _Calendar, ws: dict, events: dict, inc: dict) -> dict:
    src = np.flatnonzero((events["kind"] == 2) | (events["kind"] == 4))
    kind_ev = np.where(events["kind"][src] == 2, 0, 1).astype(np.int8)
    at_ev = events["at"][src] + rng.integers(1, 30, len(src)) * US
    # Nightly sync per workspace at 01:00 local, from the day after it was created.
    first = np.maximum(cal.day_of(ws["created"]) + 1, 0)
    n_sync = np.maximum(cal.days - first, 0)
    grp, k = _ragged_index(n_sync)
    at_sync = cal.day_start(first[grp] + k) + HOUR + rng.integers(0, 600, len(grp)) * US
    at = np.concatenate([at_ev, at_sync])
    kind = np.concatenate([kind_ev, np.full(len(grp), 2, np.int8)])
    wsi = np.concatenate([events["ws"][src], grp])
    inside = at < cal.end_us
    at, kind, wsi = at[inside], kind[inside], wsi[inside]
    m = len(at)
    median_ms = np.array([8_000, 3_000, 45_000])[kind]
    duration = (median_ms * rng.lognormal(0.0, 0.6, m)).astype(np.int64)
    day = cal.day_of(at)
    jf = inc.get("job_failures", _NEVER)
    p_fail = np.where((kind == 0) & (day >= jf) & (day < jf + 2), 0.35, 0.015)
    failed = rng.random(m) < p_fail
    duration = np.where(failed, duration // 3, duration)
    finished = at + duration * 1000
    status = np.where(finished >= cal.end_us, 2, failed.astype(np.int8)).astype(np.int8)
    order = np.argsort(at, kind="stable")
    return {"n": m, "at": at[order], "kind": kind[order], "ws": wsi[order],
            "finished": finished[order], "status": status[order],
            "duration_ms": duration[order]}


def _ai_usage(rng, cal: _Calendar, ws: dict, events: dict, inc: dict) -> dict:
    launch = inc.get("ai_launch", 0)
    cap = np.flatnonzero(events["kind"] == 1)
    day = cal.day_of(events["at"][cap])
    ramp = np.clip((day - launch) / max(cal.days - launch, 1), 0, 1)
    used = (day >= launch) & (rng.random(len(cap)) < 0.25 + 0.45 * ramp)
    cap, day = cap[used], day[used]
    model = (rng.random(len(cap)) < 0.15).astype(np.int64)
    tokens = (rng.lognormal(np.log(6_000), 0.5, len(cap))).astype(np.int64)
    wsi = events["ws"][cap]
    key = (wsi * cal.days + day) * 2 + model
    uniq, inv, requests = np.unique(key, return_inverse=True, return_counts=True)
    tok = np.bincount(inv, weights=tokens).astype(np.int64)
    m_ = (uniq % 2).astype(np.int8)
    d_ = (uniq // 2) % cal.days
    w_ = uniq // 2 // cal.days
    cost = np.rint(tok * AI_CENTS_PER_MTOK[m_] / 1e6).astype(np.int64)
    at = cal.day_start(d_)
    order = np.lexsort((m_, w_, at))
    return {"n": len(uniq), "at": at[order], "ws": w_[order], "model": m_[order],
            "requests": requests[order].astype(np.int64), "tokens": tok[order],
            "cost": cost[order]}


def _sales(rng, cal: _Calendar, scale: float, inc: dict):
    lam = (9.0 * scale * np.exp(np.log(2.5) * cal.frac) * _WEEK_SIGNUPS[cal.weekday]
           * _day_factor(cal, inc, "leads"))
    per_day = rng.poisson(lam)
    day = np.repeat(np.arange(cal.days), per_day)
    n = len(day)
    at = np.sort(cal.day_start(day) + _time_of_day(rng, n))
    source = rng.choice(len(LEAD_SOURCES), n, p=[0.45, 0.25, 0.15, 0.10, 0.05]).astype(np.int8)
    owner = rng.choice(len(STAFF), n, p=[0.22, 0.2, 0.18, 0.16, 0.14, 0.1]).astype(np.int8)
    skill = np.array([1.15, 1.0, 0.9, 1.05, 0.8, 1.2])[owner]
    src_q = np.array([1.0, 0.8, 1.5, 1.2, 1.3])[source]
    # Funnel stage reached: 0 new, 1 contacted, 2 qualified, 3 converted.
    contacted = rng.random(n) < 0.75
    qualified = contacted & (rng.random(n) < np.minimum(0.9, 0.42 * skill * src_q))
    won = qualified & (rng.random(n) < 0.35 * skill)
    stage = (contacted.astype(np.int8) + qualified + won).astype(np.int8)
    converted = np.where(stage == 3, at + (rng.exponential(12.0, n) * DAY).astype(np.int64), -1)
    late = converted >= cal.end_us
    stage = np.where(late, 2, stage)
    converted = np.where(late, -1, converted)
    age_days = (cal.end_us - at) / DAY
    lost = (age_days > 30) & ((stage == 1) | (stage == 2) | ((stage == 0) & (rng.random(n) < 0.7)))
    status = np.where(lost, 4, stage).astype(np.int8)

    # Calls: contacted leads are called until someone answers; others get a few attempts.
    n_calls = np.where(stage >= 1, 1 + rng.poisson(1.2, n), rng.poisson(0.8, n))
    lead, k = _ragged_index(n_calls)
    c = len(lead)
    gap = rng.exponential(2.0, c) * DAY
    offset = np.zeros(c)
    if c:
        cs = np.cumsum(gap)
        starts = np.cumsum(n_calls) - n_calls
        offset = cs - cs[starts[lead]] + gap[starts[lead]] * 0.3
    c_day = cal.day_of(at[lead] + offset.astype(np.int64))
    c_day = np.where(c_day < cal.days, c_day, cal.days)  # beyond the end: dropped below
    wd = (cal.start.weekday() + c_day) % 7
    # The sales team works Monday to Friday: weekend follow-ups wait until early next week.
    c_day = c_day + np.where(wd >= 5, 7 - wd + rng.integers(0, 3, c), 0)
    c_at = cal.day_start(c_day) + (9 * HOUR + rng.random(c) * 10 * HOUR).astype(np.int64)
    c_at = np.maximum(c_at, at[lead] + 10 * MINUTE)
    last = k == n_calls[lead] - 1
    st = stage[lead]
    u = rng.random(c)
    # Earlier attempts mostly miss; better callers reach people more often.
    answered = np.where(u < 0.12 * skill[lead] ** 3, 0, np.where(u < 0.55, 3, 2))
    outcome = np.where(last & (st >= 2), np.where(u < 0.55, 1, 0),
                       np.where(last & (st == 1), np.where(u < 0.1, 1, 0), answered))
    outcome = outcome.astype(np.int8)
    duration = np.select([outcome == 0, outcome == 1, outcome == 2],
                         [rng.lognormal(np.log(240), 0.5, c), rng.lognormal(np.log(720), 0.4, c),
                          rng.lognormal(np.log(35), 0.3, c)], 0).astype(np.int64)
    keep = c_at < cal.end_us
    order = np.argsort(c_at[keep], kind="stable")
    calls = {"n": int(keep.sum()), "lead": lead[keep][order], "staff": owner[lead][keep][order],
             "at": c_at[keep][order], "duration": duration[keep][order],
             "outcome": outcome[keep][order]}
    leads = {"n": n, "at": at, "source": source, "status": status, "owner": owner,
             "converted": converted}
    return leads, calls


# --------------------------------------------------------------------------- output


def _ts(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(us, dtype=np.int64), type=pa.timestamp("us"), mask=null)


def _dict(codes: np.ndarray, values) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)),
                                          pa.array(values, pa.string()))


def _iso(us: int) -> str:
    return (datetime(1970, 1, 1) + timedelta(microseconds=int(us))).isoformat()


def _write(path: Path, tables: dict[str, dict[str, pa.Array]]) -> dict[str, int]:
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
