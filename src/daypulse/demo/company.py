"""The demo company: a seeded, multi-tenant SaaS business with two years of history.

``generate(path)`` writes it into a DuckDB file. Everything is drawn with numpy from one
seeded generator (same seed, same numbers, same rows) and bulk-loaded through Arrow, so the
default size (about 8k users, 15 workspaces, 330k product events) takes a few seconds.

The company's day is the **Asia/Kolkata** day (the demo project's ``timezone``; no DST):
local day D is the UTC interval [D-1 18:30, D 18:30). All timestamps are naive UTC and lie in
[start of the first local day, end of the last local day); money is integer cents.

Tables (``*`` = nullable; value lists are the complete vocabularies):

The product and its billing

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
  today: ``plan_id`` is the current plan, ``status`` trialing|active|past_due|canceled (the
  status of its open period, or canceled), ``canceled_at`` NULL while open. ``mrr_cents`` is
  the monthly-normalised amount the subscription brings while open (annual / 12), past_due
  included; 0 for trials (running, or never converted) and the free plan. A reactivation is
  a new subscription row for the same user.
- ``subscription_periods(id, subscription_id, user_id, tenant, plan_id, status, mrr_cents,
  valid_from, valid_to*)`` — the exact history behind each subscription, one row per
  (plan, status) stretch: ``status`` trialing|active|past_due. A trial period (trialing,
  mrr 0), then paid periods: a plan change (upgrade/downgrade) or a status change closes one
  period and opens the next at the same instant. A failed payment opens a past_due period
  (same plan and mrr) that ends when a retry succeeds (back to active, at that payment's
  time) or when the subscription is cancelled after two weeks of dunning (the period ends at
  ``canceled_at``). The last period of a subscription ends at its ``canceled_at`` (NULL
  ``valid_to`` while open) and its status is the subscription's. Periods of one user never
  overlap. Use this table for historical MRR and states (state metrics on
  ``valid_from``/``valid_to``); ``subscriptions`` only knows today.
- ``payments(id, subscription_id, user_id, tenant, created_at, amount_cents, status,
  fee_cents)`` — invoices per billing cycle of paid periods (and at a plan change), plus
  retries: status succeeded|failed. A failed invoice is retried: ~70% succeed 1-7 days later
  (a succeeded row), the rest get failed retries after 3, 7 and 11 days and the subscription
  is cancelled 14 days after the first failure. ``fee_cents`` is the processor fee
  (2.9% rounded + 30) on succeeded payments, 0 on failed ones.
- ``events(id, user_id, tenant, occurred_at, kind, platform, plan)`` — product events,
  kind login|capture|file_upload|worklog|report. **Captures are events with
  kind = 'capture'** (there is no separate captures table). ``platform`` is where the event
  happened; ``plan`` is the user's plan tier at that instant (free|starter|pro|business, a
  trial counts as its plan) or 'none' without an open subscription.
- ``jobs(id, tenant, kind, created_at, finished_at*, status, duration_s*)`` — background
  jobs: ocr (per file upload), report_render (per report), sync (nightly per workspace);
  status succeeded|failed|running (running = not finished when the history ends);
  ``duration_s`` DOUBLE seconds (= finished_at - created_at), NULL while running.
- ``ai_usage(id, tenant, occurred_at, model, requests, tokens, cost_cents)`` — AI usage as
  the provider bills it: one row per workspace x local day x model, stamped at the start of
  the local day. Starts with the AI feature launch.
- ``api_requests(occurred_at, requests, errors)`` — the public API's traffic: one row per
  UTC hour of the history (``occurred_at`` at the hour, naive UTC; the first is the first
  whole hour, 19:00 UTC = 00:30 local), requests following product activity (weekly and
  daily seasonality, growth), errors ~0.3% of them, most requests failing on the outage day.

The sales team (gym-style lead desk; staff work Monday to Saturday, 09:00-20:00 local)

- ``leads(id, created_at, branch, source, status, staff, contacted_at*, qualified_at*,
  converted_at*, lost_at*)`` — ``branch`` downtown|uptown|riverside|airport, ``source``
  website|ads|referral|event|partner, ``staff`` the lead's owner (asha, ben, carmen, dev,
  elif, farah; each works at one branch). ``status`` is the current status,
  new|contacted|qualified|converted|lost: created_at < contacted_at < qualified_at <
  converted_at for the stages reached; converted implies qualified implies contacted; a
  lost lead has ``lost_at`` (after every other timestamp; it may have reached any stage
  but converted); a new lead has no ``contacted_at``. ``contacted_at`` and
  ``qualified_at`` are the times of completed calls. Roughly 70% of leads get contacted,
  35% qualified, 12% converted; recent leads are mostly still new or contacted.
- ``calls(id, lead_id, branch, staff, started_at, status, outcome*, duration_s)`` — every
  call to a lead, by its owner, in sales hours (a lunch dip, busy late mornings and early
  evenings, Saturdays half as busy, no Sundays): ``status`` completed|missed|failed;
  ``outcome`` interested|not_interested|wrong_number|callback for completed calls, NULL
  otherwise; ``duration_s`` whole seconds, 0 unless completed. Staff differ in lead volume,
  in how many attempts they need to reach someone and in how many leads they qualify.

Marketing (the company's own, no tenant)

- ``posts(id, created_at, published_at*, platform, status, campaign)`` — organic social
  posts, a few a day: ``platform`` tiktok|instagram|youtube_shorts, ``status``
  draft|ready|approved|posted|failed (draft -> ready -> approved -> posted, or failed when
  publishing failed; some drafts are abandoned); ``published_at`` only for posted ones.
  ``campaign`` is evergreen|product_tips|customer_stories or, while one runs, the ad
  campaign of the moment (launch_week, ai_assist_launch, signup_blitz).
- ``post_stats(post_id, platform, occurred_at, views, likes, comments, shares)`` — one row
  per posted post per local day from its publishing day for 30 days (or to the end of the
  history), stamped at the start of the local day (so the first row's ``occurred_at`` is the
  start of the day it was published, at or before ``published_at``): decaying daily views,
  likes ~4%, comments ~0.5%, shares ~0.8% of views.
- ``ad_spend(occurred_at, campaign, platform, spend_cents, impressions, clicks,
  conversions)`` — one row per local day x running campaign, stamped at the start of the
  local day; ``platform`` google|meta|tiktok (one per campaign): search_brand and
  search_generic (google), meta_retargeting (meta) and tiktok_creators (tiktok, from the AI
  launch) run all along; launch_week (meta), ai_assist_launch (google) and signup_blitz
  (tiktok, the signup campaign's three days: spend and conversions spike) are bursts.

Injected so reports have something to say (dates in the returned summary): weekly
seasonality (weekdays busier), growth (signups x4 over two years), a launch-day spike, a
signup campaign (lower-quality signups, a burst of ad spend and conversions), an outage day
(almost no events or signups, an API error spike), a churn wave after a price change, an
OCR job-failure spike, and an Android capture bug over the last three days.
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
SUB_STATUS = ["trialing", "active", "past_due", "canceled"]

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
BRANCHES = ["downtown", "uptown", "riverside", "airport"]
BRANCH_P = [0.35, 0.28, 0.22, 0.15]
STAFF = ["asha", "ben", "carmen", "dev", "elif", "farah"]
# Each branch's sales staff: the first takes ``_BRANCH_SPLIT`` of its leads, the second the rest.
_BRANCH_STAFF = np.array([[0, 1], [2, 4], [3, 3], [5, 5]])
_BRANCH_SPLIT = np.array([0.6, 0.55, 1.0, 1.0])
_STAFF_SKILL = np.array([1.15, 1.0, 0.9, 1.05, 0.8, 1.2])
CALL_STATUS = ["completed", "missed", "failed"]
CALL_OUTCOMES = ["interested", "not_interested", "wrong_number", "callback"]
POST_PLATFORMS = ["tiktok", "instagram", "youtube_shorts"]
POST_STATUS = ["draft", "ready", "approved", "posted", "failed"]
POST_THEMES = ["evergreen", "product_tips", "customer_stories"]
AD_PLATFORMS = ["google", "meta", "tiktok"]
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
# Local hour-of-day profile of sales calls: 09:00-20:00, a lunch dip, an early-evening peak.
_CALL_HOURS = np.array([0] * 9 + [5, 9, 10, 9, 5, 5, 7, 8, 9, 8, 5] + [0] * 4, dtype=float)
_CALL_CDF = np.cumsum(_CALL_HOURS) / _CALL_HOURS.sum()
# Monday..Sunday factors.
_WEEK_SIGNUPS = np.array([1.10, 1.15, 1.10, 1.05, 0.95, 0.60, 0.55])
_WEEK_ACTIVITY = np.array([1.00, 1.05, 1.05, 1.00, 0.90, 0.45, 0.40])

# Billing: share of invoices that fail, of failures a retry recovers, and how long dunning
# lasts before an unrecovered subscription is cancelled.
P_FAIL = 0.05
P_RECOVER = 0.7
DUNNING = 14 * DAY


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


def _time_of_day(rng: np.random.Generator, n: int, cdf: np.ndarray = _HOUR_CDF) -> np.ndarray:
    hour = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), 23)
    return hour * HOUR + (rng.random(n) * HOUR).astype(np.int64)


def _sales_time(rng, cal: _Calendar, after: np.ndarray) -> np.ndarray:
    """A moment in sales hours soon after each instant of ``after``: same local day if the
    drawn time of day is still ahead, else the next day. Nobody works on Sundays and half
    the Saturday work waits: that backlog spreads over the first days of the next week."""
    n = len(after)
    tod = _time_of_day(rng, n, _CALL_CDF)
    d = cal.day_of(after)
    d = np.where(cal.day_start(d) + tod <= after, d + 1, d)
    wd = (cal.start.weekday() + d) % 7
    later = rng.integers(0, 3, n)
    d = d + np.where(wd == 6, 1 + later, np.where((wd == 5) & (rng.random(n) < 0.5),
                                                   2 + later % 2, 0))
    return cal.day_start(d) + tod


def _ragged_index(counts: np.ndarray):
    """For groups of sizes ``counts``: each item's group and its position in the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group)) - starts[group]


def _group_starts(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``: whether each item is the first of its run of equal keys."""
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def _group_ends(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``: whether each item is the last of its run of equal keys."""
    last = np.ones(len(keys), bool)
    last[:-1] = keys[1:] != keys[:-1]
    return last


def _group_cumsum(first: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at each ``first`` item."""
    cs = np.cumsum(values)
    start = np.maximum.accumulate(np.where(first, np.arange(len(values)), 0))
    return cs - cs[start] + values[start]


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
    subs, periods, payments = _subscriptions(rng, cal, users, inc)
    events = _events(rng, cal, users, subs, periods, inc)
    jobs = _jobs(rng, cal, ws, events, inc)
    ai = _ai_usage(rng, cal, ws, events, inc)
    api = _api_requests(rng, cal, scale, inc)
    leads, calls = _sales(rng, cal, scale, inc)
    campaigns = _campaigns(cal, inc)
    posts, stats = _posts(rng, cal, scale, campaigns)
    ads = _ad_spend(rng, cal, scale, campaigns)

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
        "status": _dict(subs["status"], SUB_STATUS),
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
        "status": _dict(periods["status"], SUB_STATUS[:3]),
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
        "fee_cents": pa.array(payments["fee"]),
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
    running = jobs["status"] == 2
    tables["jobs"] = {
        "id": pa.array(np.arange(1, jobs["n"] + 1)),
        "tenant": _dict(jobs["ws"], tenant),
        "kind": _dict(jobs["kind"], JOB_KINDS),
        "created_at": _ts(jobs["at"]),
        "finished_at": _ts(jobs["finished"], running),
        "status": _dict(jobs["status"], JOB_STATUS),
        "duration_s": pa.array((jobs["finished"] - jobs["at"]) / US, pa.float64(), mask=running),
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
    tables["api_requests"] = {
        "occurred_at": _ts(api["at"]),
        "requests": pa.array(api["requests"]),
        "errors": pa.array(api["errors"]),
    }
    tables["leads"] = {
        "id": pa.array(np.arange(1, leads["n"] + 1)),
        "created_at": _ts(leads["at"]),
        "branch": _dict(leads["branch"], BRANCHES),
        "source": _dict(leads["source"], LEAD_SOURCES),
        "status": _dict(leads["status"], LEAD_STATUS),
        "staff": _dict(leads["staff"], STAFF),
        **{f"{stage}_at": _ts(leads[stage], leads[stage] < 0)
           for stage in ("contacted", "qualified", "converted", "lost")},
    }
    tables["calls"] = {
        "id": pa.array(np.arange(1, calls["n"] + 1)),
        "lead_id": pa.array(calls["lead"] + 1),
        "branch": _dict(calls["branch"], BRANCHES),
        "staff": _dict(calls["staff"], STAFF),
        "started_at": _ts(calls["at"]),
        "status": _dict(calls["status"], CALL_STATUS),
        "outcome": pa.DictionaryArray.from_arrays(
            pa.array(calls["outcome"].astype(np.int32), mask=calls["outcome"] < 0),
            pa.array(CALL_OUTCOMES, pa.string())),
        "duration_s": pa.array(calls["duration"]),
    }
    tables["posts"] = {
        "id": pa.array(np.arange(1, posts["n"] + 1)),
        "created_at": _ts(posts["at"]),
        "published_at": _ts(posts["published"], posts["status"] != 3),
        "platform": _dict(posts["platform"], POST_PLATFORMS),
        "status": _dict(posts["status"], POST_STATUS),
        "campaign": _dict(posts["campaign"], campaigns["post_names"]),
    }
    tables["post_stats"] = {
        "post_id": pa.array(stats["post"] + 1),
        "platform": _dict(posts["platform"][stats["post"]], POST_PLATFORMS),
        "occurred_at": _ts(stats["at"]),
        **{k: pa.array(stats[k]) for k in ("views", "likes", "comments", "shares")},
    }
    tables["ad_spend"] = {
        "occurred_at": _ts(ads["at"]),
        "campaign": _dict(ads["campaign"], campaigns["names"]),
        "platform": _dict(campaigns["platform"][ads["campaign"]], AD_PLATFORMS),
        **{k: pa.array(ads[k]) for k in ("spend_cents", "impressions", "clicks", "conversions")},
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
        put("outage", [0.01])
    elif what == "leads":
        put("launch_spike", [3.0, 1.5])
        put("signup_campaign", [3.0, 2.0, 1.4])
        put("outage", [0.3])
    return f


# --------------------------------------------------------------------------- entities


def _workspaces(rng, cal: _Calendar, scale: float) -> dict:
    n = max(6, round(15 * scale ** 0.5))  # 15 tenants: every metric is stored per tenant
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
    # One plan change for some paying customers: Starter mostly upgrades, Pro and Business
    # downgrade about as often as they upgrade (so contraction MRR is not a rarity).
    lo, hi = paid_start, np.minimum(cancel, cal.end_us)
    p_up = np.where(tier == 1, 0.8, 0.45)
    new_tier = np.where(rng.random(m) < p_up, np.minimum(tier + 1, 3), np.maximum(tier - 1, 1))
    change = (convert & (tier > 0) & (new_tier != tier) & (hi - lo > 7 * DAY)
              & (rng.random(m) < 0.2))
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

    inv, cancel, change_at = _invoices(rng, cal, s)
    pd_start, pd_end, pd_sub = _past_due(inv, cancel)
    payments = _payment_rows(rng, cal, inv, cancel)
    periods = _periods(cal, s, cancel, change_at, pd_sub, pd_start, pd_end)

    # Today's status is the open period's; a subscription whose periods all ended is canceled.
    status = np.full(total, 3, np.int8)
    by_sub = np.lexsort((periods["start"], periods["sub"]))
    last = by_sub[_group_ends(periods["sub"][by_sub])]  # each subscription's last period
    last = last[periods["end"][last] >= cal.end_us]
    status[periods["sub"][last]] = periods["status"][last]
    plan = np.where(change_at >= 0, s["plan1"], s["plan0"])
    mrr = np.where((status == 0) | ~s["convert"], 0, PLAN_MRR[plan])
    subs = {"n": total, "user": s["user"], "start": s["start"], "trial_end": s["trial_end"],
            "cancel": cancel, "status": status, "plan": plan, "mrr": mrr}
    return subs, periods, payments


def _invoices(rng, cal: _Calendar, s: dict):
    """Invoices per billing cycle of each paid plan segment (and at a plan change), whether
    each failed and was recovered, and the cancellations and plan changes that follow."""
    end_us = cal.end_us
    idx = np.arange(len(s["start"]))
    paid = s["convert"] & (s["paid_start"] < end_us)
    changed = s["change_at"] >= 0  # only ever set for paid subscriptions
    sub = np.concatenate([idx[paid], idx[changed]])
    start = np.concatenate([s["paid_start"][paid], s["change_at"][changed]])
    stop = np.concatenate([np.where(changed, s["change_at"], s["cancel"])[paid],
                           s["cancel"][changed]])
    plan = np.concatenate([s["plan0"][paid], s["plan1"][changed]])
    charged = PLAN_AMOUNT[plan] > 0
    sub, start, plan = sub[charged], start[charged], plan[charged]
    stop = np.minimum(stop[charged], end_us)
    cycle = np.where(np.array([p[2] == "year" for p in PLANS])[plan - 1], 12, 1)
    cycle_us = (cycle * 30.436875 * DAY).astype(np.int64)
    n_inv = np.maximum(1, -(-(stop - start) // cycle_us))
    grp, k = _ragged_index(n_inv)
    at = start[grp] + k * cycle_us[grp]
    i_sub, amount = sub[grp], PLAN_AMOUNT[plan[grp]]
    order = np.lexsort((at, i_sub))
    at, i_sub, amount = at[order], i_sub[order], amount[order]
    m = len(at)

    failed = rng.random(m) < P_FAIL
    recovered = rng.random(m) < P_RECOVER
    # A few renewals of the last two weeks failed and are still in dunning when history ends.
    last = _group_ends(i_sub)
    still = (last & (at >= end_us - DUNNING) & (s["cancel"][i_sub] >= end_us)
             & (rng.random(m) < 0.1))
    failed |= still
    recovered &= ~still
    retry_at = at + ((1 + rng.random(m) * 6) * DAY).astype(np.int64)
    # An unrecovered failure cancels the subscription when dunning gives up.
    cancel = s["cancel"].copy()
    lost = failed & ~recovered
    np.minimum.at(cancel, i_sub[lost], at[lost] + DUNNING)
    keep = at < cancel[i_sub]
    change_at = np.where(changed & (s["change_at"] < cancel), s["change_at"], -1)
    inv = {"sub": i_sub[keep], "at": at[keep], "amount": amount[keep], "failed": failed[keep],
           "recovered": recovered[keep], "retry_at": retry_at[keep]}
    return inv, cancel, change_at


def _past_due(inv: dict, cancel: np.ndarray):
    """The past_due stretch each failed invoice opens: to its successful retry, or to the
    cancellation (dunning gave up, or the customer cancelled before the retry)."""
    f = inv["failed"]
    sub, start = inv["sub"][f], inv["at"][f]
    end = np.where(inv["recovered"][f], np.minimum(inv["retry_at"][f], cancel[sub]), cancel[sub])
    return start, end, sub


def _payment_rows(rng, cal: _Calendar, inv: dict, cancel: np.ndarray) -> dict:
    end_us = cal.end_us
    f, sub = inv["failed"], inv["sub"]
    # The successful retry of a recovered invoice.
    ok = f & inv["recovered"] & (inv["retry_at"] < np.minimum(cancel[sub], end_us))
    # Dunning: failed retries of an unrecovered invoice after 3, 7 and 11 days.
    lost = np.flatnonzero(f & ~inv["recovered"])
    d_src = np.repeat(lost, 3)
    d_at = (inv["at"][d_src] + np.tile(np.array([3, 7, 11]) * DAY, len(lost))
            + rng.integers(0, 6 * 60, len(d_src)) * MINUTE)
    keep = d_at < np.minimum(cancel[sub[d_src]], end_us)
    d_src, d_at = d_src[keep], d_at[keep]
    ok_src = np.flatnonzero(ok)
    src = np.concatenate([np.arange(len(sub)), ok_src, d_src])
    at = np.concatenate([inv["at"], inv["retry_at"][ok_src], d_at])
    failed = np.concatenate([f, np.zeros(len(ok_src), bool), np.ones(len(d_src), bool)])
    amount = inv["amount"][src]
    fee = np.where(failed, 0, np.rint(amount * 0.029).astype(np.int64) + 30)
    order = np.argsort(at, kind="stable")
    return {"n": len(order), "at": at[order], "sub": sub[src][order], "amount": amount[order],
            "failed": failed[order], "fee": fee[order]}


def _periods(cal: _Calendar, s: dict, cancel, change_at, pd_sub, pd_start, pd_end) -> dict:
    """Non-overlapping (plan, status) stretches of each subscription: the trial, then the
    paid life [paid_start, cancel) cut at the plan change and at past_due edges."""
    end_us = cal.end_us
    idx = np.arange(len(cancel))
    has_trial = s["trial_end"] >= 0
    paid = s["convert"] & (s["paid_start"] < end_us)
    changed = change_at >= 0
    # Boundaries of the paid life, with the change in past_due coverage each brings.
    inner = pd_end < cancel[pd_sub]
    b_sub = np.concatenate([idx[paid], idx[changed], pd_sub, pd_sub[inner]])
    b_at = np.concatenate([s["paid_start"][paid], change_at[changed], pd_start, pd_end[inner]])
    b_delta = np.concatenate([np.zeros(int(paid.sum() + changed.sum()), np.int64),
                              np.ones(len(pd_sub), np.int64), -np.ones(int(inner.sum()), np.int64)])
    inside = b_at < end_us
    b_sub, b_at, b_delta = b_sub[inside], b_at[inside], b_delta[inside]
    order = np.lexsort((b_at, b_sub))
    b_sub, b_at, b_delta = b_sub[order], b_at[order], b_delta[order]
    # One boundary per (subscription, instant); coverage = running sum within the subscription.
    key_first = _group_starts(b_sub) | _group_starts(b_at)
    u = np.flatnonzero(key_first)
    b_delta = np.add.reduceat(b_delta, u) if len(u) else b_delta[:0]
    b_sub, b_at = b_sub[u], b_at[u]
    sub_first = _group_starts(b_sub)
    coverage = _group_cumsum(sub_first, b_delta)
    status = np.where(coverage > 0, 2, 1).astype(np.int8)
    plan = np.where(changed[b_sub] & (b_at >= change_at[b_sub]), s["plan1"][b_sub],
                    s["plan0"][b_sub])
    # Merge boundaries that change neither plan nor status.
    new = sub_first.copy()
    new[1:] |= (status[1:] != status[:-1]) | (plan[1:] != plan[:-1])
    b_sub, b_at, status, plan = b_sub[new], b_at[new], status[new], plan[new]
    b_end = np.append(b_at[1:], 0)
    sub_last = _group_ends(b_sub)
    b_end = np.where(sub_last, cancel[b_sub], b_end)

    t = np.flatnonzero(has_trial)
    sub = np.concatenate([t, b_sub])
    p_plan = np.concatenate([s["plan0"][t], plan])
    p_status = np.concatenate([np.zeros(len(t), np.int8), status])
    p_mrr = np.concatenate([np.zeros(len(t), np.int64), PLAN_MRR[plan]])
    p_start = np.concatenate([s["start"][t], b_at])
    p_end = np.concatenate([np.minimum(s["trial_end"], cancel)[t], b_end])
    p_user = s["user"][sub]
    order = np.lexsort((p_start, p_user))
    return {"n": len(sub), "sub": sub[order], "user": p_user[order], "start": p_start[order],
            "end": p_end[order], "plan": p_plan[order], "status": p_status[order],
            "mrr": p_mrr[order]}


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
            "finished": finished[order], "status": status[order]}


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


def _api_requests(rng, cal: _Calendar, scale: float, inc: dict) -> dict:
    """Hourly API traffic: one row per whole UTC hour of the history."""
    first = cal.base + (-cal.base) % HOUR
    n = max(0, -(-(cal.end_us - first) // HOUR))
    at = first + np.arange(n, dtype=np.int64) * HOUR
    local = at - cal.base
    d, hour = local // DAY, (local % DAY) // HOUR
    rate = (2_500 * scale * np.exp(np.log(3.5) * cal.frac[d]) * _WEEK_ACTIVITY[cal.weekday[d]]
            * (0.1 + _HOURS[hour] / _HOURS.max()) * rng.lognormal(0.0, 0.08, n))
    p_err = np.minimum(0.003 * rng.lognormal(0.0, 0.35, n), 0.05)
    # The outage: clients keep retrying and most requests fail all day.
    outage = d == inc.get("outage", _NEVER)
    rate = np.where(outage, rate * 1.3, rate)
    p_err = np.where(outage, np.where((hour >= 8) & (hour < 20), 0.6, 0.2), p_err)
    requests = rng.poisson(rate).astype(np.int64)
    errors = rng.binomial(requests, p_err).astype(np.int64)
    return {"n": n, "at": at, "requests": requests, "errors": errors}


# --------------------------------------------------------------------------- sales


def _sales(rng, cal: _Calendar, scale: float, inc: dict):
    lam = (9.0 * scale * np.exp(np.log(2.5) * cal.frac) * _WEEK_SIGNUPS[cal.weekday]
           * _day_factor(cal, inc, "leads"))
    day = np.repeat(np.arange(cal.days), rng.poisson(lam))
    n = len(day)
    at = np.sort(cal.day_start(day) + _time_of_day(rng, n))
    branch = rng.choice(len(BRANCHES), n, p=BRANCH_P).astype(np.int8)
    staff = np.where(rng.random(n) < _BRANCH_SPLIT[branch], _BRANCH_STAFF[branch, 0],
                     _BRANCH_STAFF[branch, 1]).astype(np.int8)
    source = rng.choice(len(LEAD_SOURCES), n, p=[0.45, 0.25, 0.15, 0.10, 0.05]).astype(np.int8)
    skill = _STAFF_SKILL[staff]
    src_q = np.array([1.0, 0.8, 1.5, 1.2, 1.3])[source]
    # How far each lead would get given time; the history's end cuts it short below.
    contacted = rng.random(n) < np.minimum(0.95, 0.70 * skill ** 0.5)
    qualified = contacted & (rng.random(n) < np.minimum(0.9, 0.46 * skill * src_q))
    won = qualified & (rng.random(n) < np.minimum(0.9, 0.33 * skill))
    lost = ~won & (rng.random(n) < 0.85)

    # Each lead's calls in order, by role: 0 attempts that reach nobody, 1 a wrong number,
    # 2 the first conversation (contacted), 3 follow-ups, 4 the qualifying call,
    # 5 follow-ups before the sale, 6 the lead says no (lost).
    wrong = ~contacted & lost & (rng.random(n) < 0.2)
    counts = [np.where(contacted, rng.poisson(0.9 / skill ** 2), 1 + rng.poisson(1.5, n)),
              wrong, contacted, np.where(contacted, rng.poisson(0.6, n), 0), qualified,
              np.where(qualified, rng.poisson(1.0, n), 0),
              lost & contacted & (rng.random(n) < 0.6)]
    lead = np.concatenate([np.repeat(np.arange(n), c) for c in counts])
    role = np.concatenate([np.full(int(np.sum(c)), r, np.int8) for r, c in enumerate(counts)])
    order = np.lexsort((role, lead))
    lead, role = lead[order], role[order]
    c = len(lead)
    mean_gap = np.array([0.7, 0.7, 0.8, 2.0, 3.0, 3.0, 6.0])  # days since the previous call
    gap = rng.exponential(1.0, c) * mean_gap[role] / np.where(role == 0, skill[lead], 1.0)
    first = _group_starts(lead)
    t = _sales_time(rng, cal, at[lead] + (_group_cumsum(first, gap) * DAY).astype(np.int64))
    t = t[np.lexsort((t, lead))]  # a lead's calls keep their role order

    def at_role(r: int) -> np.ndarray:
        out = np.full(n, -1, np.int64)
        out[lead[role == r]] = t[role == r]
        return out

    last = at.copy()  # each lead's last call (or its creation)
    ends = _group_ends(lead)
    last[lead[ends]] = t[ends]
    said_no = np.zeros(n, bool)
    said_no[lead[ends & ((role == 1) | (role == 6))]] = True
    end_us = cal.end_us
    stamps = {
        "contacted": at_role(2),
        "qualified": at_role(4),
        "converted": np.where(won, _sales_time(rng, cal, last + (rng.exponential(4.0, n)
                                                                 * DAY).astype(np.int64)), -1),
        "lost": np.where(said_no, last, np.where(
            lost, _sales_time(rng, cal, last + ((5 + rng.exponential(12.0, n))
                                                * DAY).astype(np.int64)), -1)),
    }
    stamps = {k: np.where(v < end_us, v, -1) for k, v in stamps.items()}
    status = np.select([stamps["lost"] >= 0, stamps["converted"] >= 0, stamps["qualified"] >= 0,
                        stamps["contacted"] >= 0], [4, 3, 2, 1], 0).astype(np.int8)
    leads = {"n": n, "at": at, "branch": branch, "source": source, "staff": staff,
             "status": status, **stamps}

    # Calls: conversations are completed; other attempts are missed (or fail on the line);
    # follow-ups reach people more often for better callers.
    u, v = rng.random(c), rng.random(c)
    follow_up = (role == 3) | (role == 5)
    completed = ~follow_up & (role > 0) | follow_up & (u < np.minimum(0.9, 0.5 * skill[lead]))
    status = np.where(completed, 0, np.where(v < 0.2, 2, 1)).astype(np.int8)
    q = qualified[lead]
    outcome = np.select(
        [~completed, role == 1, (role == 2) & q, role == 2, role == 4, role == 6],
        [-1, 2, np.where(v < 0.5, 0, 3), np.where(v < 0.45, 3, np.where(v < 0.7, 0, 1)), 0, 1],
        np.where(v < 0.3, 0, 3)).astype(np.int8)
    median_s = np.array([420, 75, 20, 150])[np.maximum(outcome, 0)]
    duration = np.where(outcome >= 0, np.maximum(5, median_s * rng.lognormal(0.0, 0.45, c)), 0)
    keep = np.flatnonzero(t < end_us)
    keep = keep[np.argsort(t[keep], kind="stable")]
    calls = {"n": len(keep), "lead": lead[keep], "branch": branch[lead[keep]],
             "staff": staff[lead[keep]], "at": t[keep], "status": status[keep],
             "outcome": outcome[keep], "duration": duration[keep].astype(np.int64)}
    return leads, calls


# --------------------------------------------------------------------------- marketing

# Ad campaigns: name, platform (AD_PLATFORMS), daily budget (cents, before growth and scale),
# cost per thousand impressions (cents), click-through rate, conversion rate per click.
_CAMPAIGNS = [
    ("search_brand", 0, 3_000, 2_500, 0.08, 0.09),
    ("search_generic", 0, 5_000, 1_800, 0.035, 0.04),
    ("meta_retargeting", 1, 4_000, 900, 0.012, 0.03),
    ("tiktok_creators", 2, 4_500, 450, 0.008, 0.012),
    ("launch_week", 1, 20_000, 800, 0.014, 0.02),
    ("ai_assist_launch", 0, 9_000, 2_000, 0.04, 0.05),
    ("signup_blitz", 2, 60_000, 500, 0.012, 0.035),
]
_BURSTS = ("launch_week", "ai_assist_launch", "signup_blitz")


def _campaigns(cal: _Calendar, inc: dict) -> dict:
    """The campaigns that run inside the history and their local days [first, last)."""
    days = cal.days
    launch, ai = inc.get("launch_spike", _NEVER), inc.get("ai_launch", _NEVER)
    blitz = inc.get("signup_campaign", _NEVER)
    spans = {"search_brand": (0, days), "search_generic": (round(days * 0.08), days),
             "meta_retargeting": (round(days * 0.04), days), "tiktok_creators": (ai, days),
             "launch_week": (launch - 3, launch + 7), "ai_assist_launch": (ai, ai + 28),
             "signup_blitz": (blitz, blitz + 3)}
    rows = [(*c, max(spans[c[0]][0], 0), min(spans[c[0]][1], days)) for c in _CAMPAIGNS]
    rows = [r for r in rows if r[6] < r[7]]
    col = list(zip(*rows)) if rows else [()] * 8
    names = list(col[0])
    return {"names": names, "platform": np.array(col[1], np.int8),
            "budget": np.array(col[2], float), "cpm": np.array(col[3], float),
            "ctr": np.array(col[4], float), "cvr": np.array(col[5], float),
            "first": np.array(col[6], np.int64), "last": np.array(col[7], np.int64),
            "post_names": POST_THEMES + [b for b in _BURSTS if b in names]}


def _posts(rng, cal: _Calendar, scale: float, campaigns: dict):
    size = scale ** 0.5  # marketing grows slower than the customer base
    lam = (3.0 * size * (1 + 0.5 * cal.frac)
           * np.array([1.1, 1.1, 1.1, 1.1, 1.0, 0.5, 0.4])[cal.weekday])
    day = np.repeat(np.arange(cal.days), rng.poisson(lam))
    n = len(day)
    at = np.sort(cal.day_start(day) + _time_of_day(rng, n))
    platform = rng.choice(len(POST_PLATFORMS), n, p=[0.45, 0.35, 0.20]).astype(np.int8)
    # Most posts made while a burst campaign runs belong to it; the rest to a content theme.
    burst = np.full(cal.days, -1)
    for code, name in enumerate(campaigns["post_names"]):
        if name in campaigns["names"]:
            i = campaigns["names"].index(name)
            burst[campaigns["first"][i]:campaigns["last"][i]] = code
    b = burst[cal.day_of(at)]
    campaign = np.where((b >= 0) & (rng.random(n) < 0.7), b,
                        rng.choice(len(POST_THEMES), n, p=[0.5, 0.3, 0.2]))
    # Pipeline: draft -> ready -> approved -> published (or publishing failed); some drafts
    # are abandoned. Status is the stage reached by the end of the history.
    ready = at + (rng.exponential(0.5, n) * DAY).astype(np.int64)
    approved = ready + (rng.exponential(0.7, n) * DAY).astype(np.int64)
    publish = approved + (rng.exponential(1.0, n) * DAY).astype(np.int64)
    fate = rng.random(n)
    end_us = cal.end_us
    status = np.select([(fate < 0.07) | (ready >= end_us), approved >= end_us,
                        publish >= end_us, fate < 0.10], [0, 1, 2, 4], 3).astype(np.int8)
    posts = {"n": n, "at": at, "published": np.where(status == 3, publish, -1),
             "platform": platform, "status": status, "campaign": campaign}

    # Daily stats from the publishing day for 30 days: views decay, engagement is a share.
    p = np.flatnonzero(status == 3)
    pub_day = cal.day_of(publish[p])
    grp, k = _ragged_index(np.minimum(30, cal.days - pub_day))
    reach = (rng.lognormal(np.log([4_000, 1_500, 2_500])[platform[p]],
                           np.array([1.2, 0.9, 1.1])[platform[p]]) * (0.5 + cal.frac[pub_day]))
    decay = np.exp(-np.arange(30) / 2.5) + 0.015
    views = rng.poisson(reach[grp] * decay[k] / decay.sum()).astype(np.int64)
    eng = np.clip(rng.lognormal(0.0, 0.3, len(p)), 0.2, 5.0)[grp]
    stats = {"post": p[grp], "at": cal.day_start(pub_day[grp] + k), "views": views,
             **{name: rng.binomial(views, share * eng).astype(np.int64)
                for name, share in (("likes", 0.04), ("comments", 0.005), ("shares", 0.008))}}
    order = np.lexsort((stats["post"], stats["at"]))
    return posts, {key: v[order] for key, v in stats.items()}


def _ad_spend(rng, cal: _Calendar, scale: float, campaigns: dict) -> dict:
    grp, k = _ragged_index(campaigns["last"] - campaigns["first"])
    day = campaigns["first"][grp] + k
    m = len(day)
    week = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.8, 0.75])[cal.weekday[day]]
    spend = (campaigns["budget"][grp] * scale ** 0.5 * np.exp(np.log(2.5) * cal.frac[day]) * week
             * rng.lognormal(0.0, 0.15, m))
    impressions = rng.poisson(spend / campaigns["cpm"][grp] * 1000).astype(np.int64)
    ctr = np.minimum(campaigns["ctr"][grp] * rng.lognormal(0.0, 0.1, m), 1.0)
    clicks = rng.binomial(impressions, ctr).astype(np.int64)
    conversions = rng.binomial(clicks, campaigns["cvr"][grp]).astype(np.int64)
    at = cal.day_start(day)
    order = np.lexsort((grp, at))
    return {"at": at[order], "campaign": grp[order],
            "spend_cents": np.rint(spend[order]).astype(np.int64), "impressions": impressions[order],
            "clicks": clicks[order], "conversions": conversions[order]}


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
