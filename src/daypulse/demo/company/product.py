"""The product: workspaces, users, subscriptions, invoices, payments, events, jobs, AI usage, API requests."""

from __future__ import annotations

import numpy as np

from daypulse.demo.company.base import (
    AI_CENTS_PER_MTOK,
    COUNTRIES,
    COUNTRY_P,
    DAY,
    DUNNING,
    FIRST,
    HOUR,
    HOURS,
    LAST,
    MINUTE,
    NEVER,
    P_FAIL,
    P_RECOVER,
    PLAN_AMOUNT,
    PLAN_MRR,
    PLAN_TIER,
    PLANS,
    US,
    WEEK_ACTIVITY,
    WEEK_SIGNUPS,
    WORKSPACES,
    Days,
    day_factor,
    group_cumsum,
    group_ends,
    group_starts,
    ragged_index,
    time_of_day,
)

# --------------------------------------------------------------------------- entities


def build_workspaces(rng, cal: Days, scale: float) -> dict:
    n = max(6, round(15 * scale ** 0.5))  # 15 tenants: every metric is stored per tenant
    n_old = max(3, round(n * 0.4))
    old = -rng.integers(30, 900, n_old)
    w = np.exp(np.log(3.0) * cal.frac)
    lo, hi = min(10, cal.days - 1), max(min(10, cal.days - 1) + 1, cal.days - 30)
    new = rng.choice(np.arange(lo, hi), n - n_old, p=w[lo:hi] / w[lo:hi].sum())
    created = np.sort(cal.day_start(np.concatenate([old, new])) + time_of_day(rng, n))
    names = [WORKSPACES[i] if i < len(WORKSPACES)
             else (f"{WORKSPACES[i % len(WORKSPACES)][0]}{i // len(WORKSPACES) + 1}",
                   f"{WORKSPACES[i % len(WORKSPACES)][1]} {i // len(WORKSPACES) + 1}")
             for i in range(n)]
    weight = rng.lognormal(0.0, 0.9, n)
    weight[0] = weight.max() * 1.5  # acme, the oldest, is the biggest customer
    return {"n": n, "created": created, "names": names, "weight": weight}


def build_users(rng, cal: Days, scale: float, ws: dict, inc: dict) -> dict:
    n = max(60, round(8000 * scale))
    n_test = max(3, round(n * 0.025))
    growth = np.exp(np.log(4.0) * cal.frac)
    p = (growth * WEEK_SIGNUPS[cal.weekday] * day_factor(cal, inc, "signups")
         * rng.lognormal(0.0, 0.15, cal.days))
    day = np.concatenate([rng.choice(cal.days, n - n_test, p=p / p.sum()),
                          rng.integers(0, cal.days, n_test)])
    is_test = np.arange(n) >= n - n_test
    created = cal.day_start(day) + time_of_day(rng, n)
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
    camp = inc.get("signup_campaign", NEVER)
    campaign = (day >= camp) & (day < camp + 3)
    return {"n": n, "created": created, "day": day, "is_test": is_test, "ws": wsi,
            "platform": platform, "country": country, "email": email, "campaign": campaign}


def _subscription_block(rng, cal: Days, inc: dict, user, start, tier, annual, trial,
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


def build_subscriptions(rng, cal: Days, users: dict, inc: dict):
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
    last = by_sub[group_ends(periods["sub"][by_sub])]  # each subscription's last period
    last = last[periods["end"][last] >= cal.end_us]
    status[periods["sub"][last]] = periods["status"][last]
    plan = np.where(change_at >= 0, s["plan1"], s["plan0"])
    mrr = np.where((status == 0) | ~s["convert"], 0, PLAN_MRR[plan])
    subs = {"n": total, "user": s["user"], "start": s["start"], "trial_end": s["trial_end"],
            "cancel": cancel, "status": status, "plan": plan, "mrr": mrr}
    return subs, periods, payments


def _invoices(rng, cal: Days, s: dict):
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
    grp, k = ragged_index(n_inv)
    at = start[grp] + k * cycle_us[grp]
    i_sub, amount = sub[grp], PLAN_AMOUNT[plan[grp]]
    order = np.lexsort((at, i_sub))
    at, i_sub, amount = at[order], i_sub[order], amount[order]
    m = len(at)

    failed = rng.random(m) < P_FAIL
    recovered = rng.random(m) < P_RECOVER
    # A few renewals of the last two weeks failed and are still in dunning when history ends.
    last = group_ends(i_sub)
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


def _payment_rows(rng, cal: Days, inv: dict, cancel: np.ndarray) -> dict:
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


def _periods(cal: Days, s: dict, cancel, change_at, pd_sub, pd_start, pd_end) -> dict:
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
    key_first = group_starts(b_sub) | group_starts(b_at)
    u = np.flatnonzero(key_first)
    b_delta = np.add.reduceat(b_delta, u) if len(u) else b_delta[:0]
    b_sub, b_at = b_sub[u], b_at[u]
    sub_first = group_starts(b_sub)
    coverage = group_cumsum(sub_first, b_delta)
    status = np.where(coverage > 0, 2, 1).astype(np.int8)
    plan = np.where(changed[b_sub] & (b_at >= change_at[b_sub]), s["plan1"][b_sub],
                    s["plan0"][b_sub])
    # Merge boundaries that change neither plan nor status.
    new = sub_first.copy()
    new[1:] |= (status[1:] != status[:-1]) | (plan[1:] != plan[:-1])
    b_sub, b_at, status, plan = b_sub[new], b_at[new], status[new], plan[new]
    b_end = np.append(b_at[1:], 0)
    sub_last = group_ends(b_sub)
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


def build_events(rng, cal: Days, users: dict, subs: dict, periods: dict, inc: dict) -> dict:
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
    wmax = WEEK_ACTIVITY.max()
    n_cand = rng.binomial(span, np.minimum(1.0, p_act * wmax))
    grp = np.repeat(np.arange(n), n_cand)
    d = s_day[grp] + (rng.random(len(grp)) * span[grp]).astype(np.int64)
    tenure = d - s_day[grp]
    decay = np.where(subscriber[grp], 1.0, 0.45 + 0.55 * np.exp(-tenure / 30.0))
    accept = WEEK_ACTIVITY[cal.weekday[d]] / wmax * decay * day_factor(cal, inc, "activity")[d]
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
    at = cal.day_start(day) + time_of_day(rng, m)
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
    bug = ((day >= inc.get("android_capture_bug", NEVER)) & (kind == 1) & (platform == 2)
           & (rng.random(m) < 0.75))
    # Some customers go quiet before they cancel, as real ones do, so churn risk has someone to
    # find: they stop using the product 8 to 21 days before their subscription ends.
    quiet = _quiet_from(cal, last_cancel)
    keep = ~bug & ~((day >= quiet[uidx]) & ~first_day)
    at, kind, platform, uidx = at[keep], kind[keep], platform[keep], uidx[keep]

    order = np.argsort(at, kind="stable")
    at, kind, platform, uidx = at[order], kind[order], platform[order], uidx[order]
    return {"n": len(at), "at": at, "kind": kind, "platform": platform, "user": uidx,
            "ws": users["ws"][uidx], "tier": _tier_at(cal, periods, uidx, at)}


def _quiet_from(cal: Days, last_cancel: np.ndarray) -> np.ndarray:
    """The day index from which each user makes no more events (NEVER: none): 40% of those whose
    last subscription ended within the history, and 3% of those still subscribed (who will
    cancel after it), 8 to 21 days before the end. Picked by user number, not by the generator,
    so the other tables keep their random draws."""
    user = np.arange(len(last_cancel), dtype=np.int64)
    share = (user * 2654435761) % 1000
    lead = 8 + user % 14
    quiet = np.full(len(last_cancel), NEVER, np.int64)
    ended = (last_cancel >= 0) & (last_cancel < cal.end_us) & (share < 400)
    quiet[ended] = cal.day_of(last_cancel[ended]) - lead[ended]
    going = (last_cancel >= cal.end_us) & (share < 30)
    quiet[going] = cal.days - lead[going]
    return quiet


def _tier_at(cal: Days, periods: dict, user, at) -> np.ndarray:
    """Plan tier of each (user, instant) from the non-overlapping periods; 4 = none."""
    span = np.int64(cal.end_us - cal.base + 400 * DAY)
    pkey = periods["user"] * span + (periods["start"] - cal.base)
    ekey = user * span + (at - cal.base)
    i = np.searchsorted(pkey, ekey, side="right") - 1
    ok = i >= 0
    i = np.maximum(i, 0)
    ok &= (periods["user"][i] == user) & (periods["end"][i] > at)
    return np.where(ok, PLAN_TIER[periods["plan"][i]], 4).astype(np.int8)


def build_jobs(rng, cal: Days, ws: dict, events: dict, inc: dict) -> dict:
    src = np.flatnonzero((events["kind"] == 2) | (events["kind"] == 4))
    kind_ev = np.where(events["kind"][src] == 2, 0, 1).astype(np.int8)
    at_ev = events["at"][src] + rng.integers(1, 30, len(src)) * US
    # Nightly sync per workspace at 01:00 local, from the day after it was created.
    first = np.maximum(cal.day_of(ws["created"]) + 1, 0)
    n_sync = np.maximum(cal.days - first, 0)
    grp, k = ragged_index(n_sync)
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
    jf = inc.get("job_failures", NEVER)
    p_fail = np.where((kind == 0) & (day >= jf) & (day < jf + 2), 0.35, 0.015)
    failed = rng.random(m) < p_fail
    duration = np.where(failed, duration // 3, duration)
    finished = at + duration * 1000
    status = np.where(finished >= cal.end_us, 2, failed.astype(np.int8)).astype(np.int8)
    order = np.argsort(at, kind="stable")
    return {"n": m, "at": at[order], "kind": kind[order], "ws": wsi[order],
            "finished": finished[order], "status": status[order]}


def build_ai_usage(rng, cal: Days, ws: dict, events: dict, inc: dict) -> dict:
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


def build_api_requests(rng, cal: Days, scale: float, inc: dict) -> dict:
    """Hourly API traffic: one row per whole UTC hour of the history."""
    first = cal.base + (-cal.base) % HOUR
    n = max(0, -(-(cal.end_us - first) // HOUR))
    at = first + np.arange(n, dtype=np.int64) * HOUR
    local = at - cal.base
    d, hour = local // DAY, (local % DAY) // HOUR
    rate = (2_500 * scale * np.exp(np.log(3.5) * cal.frac[d]) * WEEK_ACTIVITY[cal.weekday[d]]
            * (0.1 + HOURS[hour] / HOURS.max()) * rng.lognormal(0.0, 0.08, n))
    p_err = np.minimum(0.003 * rng.lognormal(0.0, 0.35, n), 0.05)
    # The outage: clients keep retrying and most requests fail all day.
    outage = d == inc.get("outage", NEVER)
    rate = np.where(outage, rate * 1.3, rate)
    p_err = np.where(outage, np.where((hour >= 8) & (hour < 20), 0.6, 0.2), p_err)
    requests = rng.poisson(rate).astype(np.int64)
    errors = rng.binomial(requests, p_err).astype(np.int64)
    return {"n": n, "at": at, "requests": requests, "errors": errors}
