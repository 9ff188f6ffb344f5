"""The gym side: leads and calls, by branch and staff."""

from __future__ import annotations

import numpy as np

from daypulse.demo.company.base import (
    BRANCH_P,
    BRANCH_SPLIT,
    BRANCH_STAFF,
    BRANCHES,
    DAY,
    LEAD_SOURCES,
    STAFF_SKILL,
    WEEK_SIGNUPS,
    Days,
    day_factor,
    group_cumsum,
    group_ends,
    group_starts,
    sales_time,
    time_of_day,
)

# --------------------------------------------------------------------------- sales


def build_sales(rng, cal: Days, scale: float, inc: dict):
    lam = (9.0 * scale * np.exp(np.log(2.5) * cal.frac) * WEEK_SIGNUPS[cal.weekday]
           * day_factor(cal, inc, "leads"))
    day = np.repeat(np.arange(cal.days), rng.poisson(lam))
    n = len(day)
    at = np.sort(cal.day_start(day) + time_of_day(rng, n))
    branch = rng.choice(len(BRANCHES), n, p=BRANCH_P).astype(np.int8)
    staff = np.where(rng.random(n) < BRANCH_SPLIT[branch], BRANCH_STAFF[branch, 0],
                     BRANCH_STAFF[branch, 1]).astype(np.int8)
    source = rng.choice(len(LEAD_SOURCES), n, p=[0.45, 0.25, 0.15, 0.10, 0.05]).astype(np.int8)
    skill = STAFF_SKILL[staff]
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
    first = group_starts(lead)
    t = sales_time(rng, cal, at[lead] + (group_cumsum(first, gap) * DAY).astype(np.int64))
    t = t[np.lexsort((t, lead))]  # a lead's calls keep their role order

    def at_role(r: int) -> np.ndarray:
        out = np.full(n, -1, np.int64)
        out[lead[role == r]] = t[role == r]
        return out

    last = at.copy()  # each lead's last call (or its creation)
    ends = group_ends(lead)
    last[lead[ends]] = t[ends]
    said_no = np.zeros(n, bool)
    said_no[lead[ends & ((role == 1) | (role == 6))]] = True
    end_us = cal.end_us
    stamps = {
        "contacted": at_role(2),
        "qualified": at_role(4),
        "converted": np.where(won, sales_time(rng, cal, last + (rng.exponential(4.0, n)
                                                                 * DAY).astype(np.int64)), -1),
        "lost": np.where(said_no, last, np.where(
            lost, sales_time(rng, cal, last + ((5 + rng.exponential(12.0, n))
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
