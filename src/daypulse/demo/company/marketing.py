"""Marketing: campaigns, posts and ad spend."""

from __future__ import annotations

import numpy as np

from daypulse.demo.company.base import (
    DAY,
    NEVER,
    POST_PLATFORMS,
    POST_THEMES,
    Days,
    ragged_index,
    time_of_day,
)

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


def build_campaigns(cal: Days, inc: dict) -> dict:
    """The campaigns that run inside the history and their local days [first, last)."""
    days = cal.days
    launch, ai = inc.get("launch_spike", NEVER), inc.get("ai_launch", NEVER)
    blitz = inc.get("signup_campaign", NEVER)
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


def build_posts(rng, cal: Days, scale: float, campaigns: dict):
    size = scale ** 0.5  # marketing grows slower than the customer base
    lam = (3.0 * size * (1 + 0.5 * cal.frac)
           * np.array([1.1, 1.1, 1.1, 1.1, 1.0, 0.5, 0.4])[cal.weekday])
    day = np.repeat(np.arange(cal.days), rng.poisson(lam))
    n = len(day)
    at = np.sort(cal.day_start(day) + time_of_day(rng, n))
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
    grp, k = ragged_index(np.minimum(30, cal.days - pub_day))
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


def build_ad_spend(rng, cal: Days, scale: float, campaigns: dict) -> dict:
    grp, k = ragged_index(campaigns["last"] - campaigns["first"])
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
