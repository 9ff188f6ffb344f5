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

import numpy as np
import pyarrow as pa

from daypulse.demo.company.base import (
    AD_PLATFORMS,
    AI_MODELS,
    BRANCHES,
    CALL_OUTCOMES,
    CALL_STATUS,
    COUNTRIES,
    JOB_KINDS,
    JOB_STATUS,
    KINDS,
    LEAD_SOURCES,
    LEAD_STATUS,
    PLANS,
    PLATFORMS,
    POST_PLATFORMS,
    POST_STATUS,
    STAFF,
    SUB_STATUS,
    TIERS,
    TIMEZONE,
    US,
    Days,
    build_incidents,
)
from daypulse.demo.company.marketing import build_ad_spend, build_campaigns, build_posts
from daypulse.demo.company.output import dictionary, iso, ts, write
from daypulse.demo.company.product import (
    build_ai_usage,
    build_api_requests,
    build_events,
    build_jobs,
    build_subscriptions,
    build_users,
    build_workspaces,
)
from daypulse.demo.company.sales import build_sales

__all__ = ["TIMEZONE", "generate"]


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
    cal = Days(end - timedelta(days=days - 1), days)
    rng = np.random.default_rng(seed)

    inc = build_incidents(cal)
    tables: dict[str, dict[str, pa.Array]] = {}
    ws = build_workspaces(rng, cal, scale)
    users = build_users(rng, cal, scale, ws, inc)
    subs, periods, payments = build_subscriptions(rng, cal, users, inc)
    events = build_events(rng, cal, users, subs, periods, inc)
    jobs = build_jobs(rng, cal, ws, events, inc)
    ai = build_ai_usage(rng, cal, ws, events, inc)
    api = build_api_requests(rng, cal, scale, inc)
    leads, calls = build_sales(rng, cal, scale, inc)
    campaigns = build_campaigns(cal, inc)
    posts, stats = build_posts(rng, cal, scale, campaigns)
    ads = build_ad_spend(rng, cal, scale, campaigns)

    tenant = pa.array([s for s, _ in ws["names"]])
    tables["workspaces"] = {
        "id": pa.array(np.arange(1, ws["n"] + 1)),
        "slug": tenant,
        "name": pa.array([n for _, n in ws["names"]]),
        "created_at": ts(ws["created"]),
    }
    tables["users"] = {
        "id": pa.array(np.arange(1, users["n"] + 1)),
        "workspace_id": pa.array(users["ws"] + 1),
        "tenant": dictionary(users["ws"], tenant),
        "email": pa.array(users["email"]),
        "created_at": ts(users["created"]),
        "is_test": pa.array(users["is_test"]),
        "platform": dictionary(users["platform"], PLATFORMS),
        "country": dictionary(users["country"], COUNTRIES),
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
        "tenant": dictionary(s_ws, tenant),
        "plan_id": pa.array(subs["plan"]),
        "status": dictionary(subs["status"], SUB_STATUS),
        "started_at": ts(subs["start"]),
        "trial_ends_at": ts(subs["trial_end"], subs["trial_end"] < 0),
        "canceled_at": ts(subs["cancel"], subs["cancel"] >= cal.end_us),
        "mrr_cents": pa.array(subs["mrr"]),
    }
    tables["subscription_periods"] = {
        "id": pa.array(np.arange(1, periods["n"] + 1)),
        "subscription_id": pa.array(periods["sub"] + 1),
        "user_id": pa.array(periods["user"] + 1),
        "tenant": dictionary(users["ws"][periods["user"]], tenant),
        "plan_id": pa.array(periods["plan"]),
        "status": dictionary(periods["status"], SUB_STATUS[:3]),
        "mrr_cents": pa.array(periods["mrr"]),
        "valid_from": ts(periods["start"]),
        "valid_to": ts(periods["end"], periods["end"] >= cal.end_us),
    }
    tables["payments"] = {
        "id": pa.array(np.arange(1, payments["n"] + 1)),
        "subscription_id": pa.array(payments["sub"] + 1),
        "user_id": pa.array(subs["user"][payments["sub"]] + 1),
        "tenant": dictionary(s_ws[payments["sub"]], tenant),
        "created_at": ts(payments["at"]),
        "amount_cents": pa.array(payments["amount"]),
        "status": dictionary(payments["failed"].astype(np.int8), ["succeeded", "failed"]),
        "fee_cents": pa.array(payments["fee"]),
    }
    tables["events"] = {
        "id": pa.array(np.arange(1, events["n"] + 1)),
        "user_id": pa.array(events["user"] + 1),
        "tenant": dictionary(users["ws"][events["user"]], tenant),
        "occurred_at": ts(events["at"]),
        "kind": dictionary(events["kind"], KINDS),
        "platform": dictionary(events["platform"], PLATFORMS),
        "plan": dictionary(events["tier"], TIERS),
    }
    running = jobs["status"] == 2
    tables["jobs"] = {
        "id": pa.array(np.arange(1, jobs["n"] + 1)),
        "tenant": dictionary(jobs["ws"], tenant),
        "kind": dictionary(jobs["kind"], JOB_KINDS),
        "created_at": ts(jobs["at"]),
        "finished_at": ts(jobs["finished"], running),
        "status": dictionary(jobs["status"], JOB_STATUS),
        "duration_s": pa.array((jobs["finished"] - jobs["at"]) / US, pa.float64(), mask=running),
    }
    tables["ai_usage"] = {
        "id": pa.array(np.arange(1, ai["n"] + 1)),
        "tenant": dictionary(ai["ws"], tenant),
        "occurred_at": ts(ai["at"]),
        "model": dictionary(ai["model"], AI_MODELS),
        "requests": pa.array(ai["requests"]),
        "tokens": pa.array(ai["tokens"]),
        "cost_cents": pa.array(ai["cost"]),
    }
    tables["api_requests"] = {
        "occurred_at": ts(api["at"]),
        "requests": pa.array(api["requests"]),
        "errors": pa.array(api["errors"]),
    }
    tables["leads"] = {
        "id": pa.array(np.arange(1, leads["n"] + 1)),
        "created_at": ts(leads["at"]),
        "branch": dictionary(leads["branch"], BRANCHES),
        "source": dictionary(leads["source"], LEAD_SOURCES),
        "status": dictionary(leads["status"], LEAD_STATUS),
        "staff": dictionary(leads["staff"], STAFF),
        **{f"{stage}_at": ts(leads[stage], leads[stage] < 0)
           for stage in ("contacted", "qualified", "converted", "lost")},
    }
    tables["calls"] = {
        "id": pa.array(np.arange(1, calls["n"] + 1)),
        "lead_id": pa.array(calls["lead"] + 1),
        "branch": dictionary(calls["branch"], BRANCHES),
        "staff": dictionary(calls["staff"], STAFF),
        "started_at": ts(calls["at"]),
        "status": dictionary(calls["status"], CALL_STATUS),
        "outcome": pa.DictionaryArray.from_arrays(
            pa.array(calls["outcome"].astype(np.int32), mask=calls["outcome"] < 0),
            pa.array(CALL_OUTCOMES, pa.string())),
        "duration_s": pa.array(calls["duration"]),
    }
    tables["posts"] = {
        "id": pa.array(np.arange(1, posts["n"] + 1)),
        "created_at": ts(posts["at"]),
        "published_at": ts(posts["published"], posts["status"] != 3),
        "platform": dictionary(posts["platform"], POST_PLATFORMS),
        "status": dictionary(posts["status"], POST_STATUS),
        "campaign": dictionary(posts["campaign"], campaigns["post_names"]),
    }
    tables["post_stats"] = {
        "post_id": pa.array(stats["post"] + 1),
        "platform": dictionary(posts["platform"][stats["post"]], POST_PLATFORMS),
        "occurred_at": ts(stats["at"]),
        **{k: pa.array(stats[k]) for k in ("views", "likes", "comments", "shares")},
    }
    tables["ad_spend"] = {
        "occurred_at": ts(ads["at"]),
        "campaign": dictionary(ads["campaign"], campaigns["names"]),
        "platform": dictionary(campaigns["platform"][ads["campaign"]], AD_PLATFORMS),
        **{k: pa.array(ads[k]) for k in ("spend_cents", "impressions", "clicks", "conversions")},
    }

    counts = write(Path(path), tables)
    return {
        "path": str(path),
        "seed": seed,
        "scale": scale,
        "timezone": TIMEZONE,
        "start": cal.start.isoformat(),
        "end": end.isoformat(),
        "utc_start": iso(cal.base),
        "utc_end": iso(cal.end_us),
        "tables": counts,
        "incidents": {k: cal.date(v).isoformat() for k, v in inc.items() if 0 <= v < days},
        "seconds": round(time.perf_counter() - t0, 3),
    }
