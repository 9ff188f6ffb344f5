"""The demo company's constants, its calendar of days, random times of day, grouped-array helpers and incidents."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

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
# Each branch's sales staff: the first takes ``BRANCH_SPLIT`` of its leads, the second the rest.
BRANCH_STAFF = np.array([[0, 1], [2, 4], [3, 3], [5, 5]])
BRANCH_SPLIT = np.array([0.6, 0.55, 1.0, 1.0])
STAFF_SKILL = np.array([1.15, 1.0, 0.9, 1.05, 0.8, 1.2])
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
HOURS = np.array([1.2, 0.8, 0.6, 0.5, 0.6, 0.9, 1.5, 2.5, 4, 6, 8, 8.5,
                   8, 7.5, 8, 8, 7.5, 6.5, 5.5, 5, 4.5, 4, 3, 2])
_HOUR_CDF = np.cumsum(HOURS) / HOURS.sum()
# Local hour-of-day profile of sales calls: 09:00-20:00, a lunch dip, an early-evening peak.
_CALL_HOURS = np.array([0] * 9 + [5, 9, 10, 9, 5, 5, 7, 8, 9, 8, 5] + [0] * 4, dtype=float)
_CALL_CDF = np.cumsum(_CALL_HOURS) / _CALL_HOURS.sum()
# Monday..Sunday factors.
WEEK_SIGNUPS = np.array([1.10, 1.15, 1.10, 1.05, 0.95, 0.60, 0.55])
WEEK_ACTIVITY = np.array([1.00, 1.05, 1.05, 1.00, 0.90, 0.45, 0.40])

# Billing: share of invoices that fail, of failures a retry recovers, and how long dunning
# lasts before an unrecovered subscription is cancelled.
P_FAIL = 0.05
P_RECOVER = 0.7
DUNNING = 14 * DAY


class Days:
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


def time_of_day(rng: np.random.Generator, n: int, cdf: np.ndarray = _HOUR_CDF) -> np.ndarray:
    hour = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), 23)
    return hour * HOUR + (rng.random(n) * HOUR).astype(np.int64)


def sales_time(rng, cal: Days, after: np.ndarray) -> np.ndarray:
    """A moment in sales hours soon after each instant of ``after``: same local day if the
    drawn time of day is still ahead, else the next day. Nobody works on Sundays and half
    the Saturday work waits: that backlog spreads over the first days of the next week."""
    n = len(after)
    tod = time_of_day(rng, n, _CALL_CDF)
    d = cal.day_of(after)
    d = np.where(cal.day_start(d) + tod <= after, d + 1, d)
    wd = (cal.start.weekday() + d) % 7
    later = rng.integers(0, 3, n)
    d = d + np.where(wd == 6, 1 + later, np.where((wd == 5) & (rng.random(n) < 0.5),
                                                   2 + later % 2, 0))
    return cal.day_start(d) + tod


def ragged_index(counts: np.ndarray):
    """For groups of sizes ``counts``: each item's group and its position in the group."""
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(len(group)) - starts[group]


def group_starts(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``: whether each item is the first of its run of equal keys."""
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def group_ends(keys: np.ndarray) -> np.ndarray:
    """For sorted ``keys``: whether each item is the last of its run of equal keys."""
    last = np.ones(len(keys), bool)
    last[:-1] = keys[1:] != keys[:-1]
    return last


def group_cumsum(first: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sums of ``values`` restarting at each ``first`` item."""
    cs = np.cumsum(values)
    start = np.maximum.accumulate(np.where(first, np.arange(len(values)), 0))
    return cs - cs[start] + values[start]


# --------------------------------------------------------------------------- incidents


def build_incidents(cal: Days) -> dict[str, int]:
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


NEVER = 1 << 40  # day index of an incident that is not in the history


def day_factor(cal: Days, inc: dict[str, int], what: str) -> np.ndarray:
    f = np.ones(cal.days)

    def put(name: str, values) -> None:
        day = inc.get(name, NEVER)
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
