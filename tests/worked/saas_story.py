"""A tiny SaaS company in America/New_York, January to April 2026, for the ``saas`` pack.

The physical schema differs from the pack's logical one on purpose (mapped in the project with
``tables:``/``columns:``/``params:``):

* ``accounts``      = users                   (columns as in the pack)
* ``subs``          = subscriptions           (``ended_at`` instead of ``canceled_at``)
* ``billing_subs``  = subscription_periods    (``amount`` instead of ``mrr_cents``)
* ``charges``       = payments                (no ``tenant`` column: mapped to null)

Clocks: EST (UTC-5) until 2026-03-08 07:00 UTC, EDT (UTC-4) after. A local day D ends at
05:00 UTC of D+1 up to D = 03-07, and at 04:00 UTC of D+1 from D = 03-08 (a 23-hour day).

The cast (tenant; what happens). MRR values are the customer's value at the end of a day.

* u1 (acme)    4900/month from 01-10. Upgrades to 9900 at 03-09 00:30 EDT (= 04:30 UTC, still
               03-08 on a UTC-5 clock). On 03-12 a 4-hour 19900 stretch that is undone the
               same day: it nets out (only end-of-day values count).
* u2 (acme)    9900 from 01-20. Downgrades to 4900 at 03-03 23:59:59 EST (03-04 04:59:59 UTC).
               Cancels 04-15 (churn 4900).
* u3 (globex)  2900 from 02-02. past_due from 03-03 11:00 EST (still in MRR), cancelled exactly
               at 03-05 00:00 EST (churn on 03-05). Comes back with a new 4900 subscription at
               03-12 23:30 EDT (03-13 03:30 UTC): reactivation on 03-12.
* u4 (acme)    annual plan 99000/year = 8250/month from 02-14.
* u5 (globex)  trial from 03-02 (trialing, 0), converts to 2900 at 03-08 23:30 EDT (new on the
               DST day), upgrades to 4900 on 03-11 (expansion 2000).
* u6 (globex)  4900 from 02-01 plus a second subscription, an add-on of 1500, from exactly
               03-04 00:00 EST (expansion 1500 on 03-04), add-on cancelled 04-10 (contraction).
* u7 (acme)    trial 03-03 .. 03-10 that never converts (cancelled unpaid).
* u8 (acme)    test account signup (excluded from signups).
* u9 (globex)  1900 from 04-20 (new in April).
* u10 (globex) signup only, at 03-09 00:15 EDT.
* u11 (acme)   signup and a free plan (active, 0) on the DST day: a subscription, not paying.
* u12 (acme)   1900 from 01-12, cancelled 02-20 (churn in February), back at 1900 on 03-10:
               a reactivation whose earlier payments are all before the March range.
"""

from __future__ import annotations

from worked import Story, Table, at

ACME, GLOBEX = "acme", "globex"

ACCOUNTS = Table.of(
    {"id": "int", "created_at": "ts", "tenant": "str", "platform": "str", "is_test": "bool"},
    (1, at("2026-01-05 15:00:00", "2026-01-05 10:00 EST"), ACME, "web", False),
    (2, at("2026-01-18 15:00:00", "2026-01-18 10:00 EST"), ACME, "web", False),
    # 1 second before February starts in New York: a January signup.
    (3, at("2026-02-01 04:59:59", "2026-01-31 23:59:59 EST"), GLOBEX, "ios", False),
    (4, at("2026-02-10 15:00:00", "2026-02-10 10:00 EST"), ACME, "web", False),
    (5, at("2026-03-02 14:00:00", "2026-03-02 09:00 EST"), GLOBEX, "android", False),
    (6, at("2026-01-30 15:00:00", "2026-01-30 10:00 EST"), GLOBEX, "web", False),
    (7, at("2026-03-03 04:30:00", "2026-03-02 23:30 EST"), ACME, "ios", False),
    (8, at("2026-03-03 18:00:00", "2026-03-03 13:00 EST"), ACME, "web", True),  # test account
    (9, at("2026-04-19 15:00:00", "2026-04-19 11:00 EDT"), GLOBEX, "web", False),
    (10, at("2026-03-09 04:15:00", "2026-03-09 00:15 EDT"), GLOBEX, "web", False),
    (11, at("2026-03-08 06:30:00", "2026-03-08 01:30 EST"), ACME, "ios", False),
    (12, at("2026-01-12 15:00:00", "2026-01-12 10:00 EST"), ACME, "web", False),
)

SUBS = Table.of(
    {"id": "int", "user_id": "int", "tenant": "str", "plan": "str", "started_at": "ts",
     "ended_at": "ts"},
    (1, 1, ACME, "pro", at("2026-01-10 15:00:00", "2026-01-10 10:00 EST"), None),
    (2, 2, ACME, "team", at("2026-01-20 15:00:00", "2026-01-20 10:00 EST"),
     at("2026-04-15 16:00:00", "2026-04-15 12:00 EDT")),
    (3, 3, GLOBEX, "basic", at("2026-02-02 17:00:00", "2026-02-02 12:00 EST"),
     at("2026-03-05 05:00:00", "2026-03-05 00:00 EST")),
    (4, 4, ACME, "annual", at("2026-02-14 20:00:00", "2026-02-14 15:00 EST"), None),
    (5, 5, GLOBEX, "basic", at("2026-03-02 15:00:00", "2026-03-02 10:00 EST"), None),
    (6, 6, GLOBEX, "pro", at("2026-02-01 16:00:00", "2026-02-01 11:00 EST"), None),
    (7, 6, GLOBEX, "addon", at("2026-03-04 05:00:00", "2026-03-04 00:00 EST"),
     at("2026-04-10 15:00:00", "2026-04-10 11:00 EDT")),
    (8, 7, ACME, "pro", at("2026-03-03 14:00:00", "2026-03-03 09:00 EST"),
     at("2026-03-10 14:00:00", "2026-03-10 10:00 EDT")),
    (9, 3, GLOBEX, "pro", at("2026-03-13 03:30:00", "2026-03-12 23:30 EDT"), None),
    (10, 9, GLOBEX, "small", at("2026-04-20 15:00:00", "2026-04-20 11:00 EDT"), None),
    (11, 11, ACME, "free", at("2026-03-08 06:45:00", "2026-03-08 01:45 EST"), None),
    (12, 12, ACME, "small", at("2026-01-12 15:00:00", "2026-01-12 10:00 EST"),
     at("2026-02-20 15:00:00", "2026-02-20 10:00 EST")),
    (13, 12, ACME, "small", at("2026-03-10 15:00:00", "2026-03-10 11:00 EDT"), None),
)

BILLING_SUBS = Table.of(
    {"id": "int", "subscription_id": "int", "user_id": "int", "tenant": "str", "status": "str",
     "amount": "int", "valid_from": "ts", "valid_to": "ts"},
    # u1: 4900 -> 9900 (03-09 00:30 EDT) -> 19900 for four hours on 03-12 -> 9900 again
    (1, 1, 1, ACME, "active", 4900, at("2026-01-10 15:00:00", "2026-01-10 10:00 EST"),
     at("2026-03-09 04:30:00", "2026-03-09 00:30 EDT")),
    (2, 1, 1, ACME, "active", 9900, at("2026-03-09 04:30:00", "2026-03-09 00:30 EDT"),
     at("2026-03-12 14:00:00", "2026-03-12 10:00 EDT")),
    (3, 1, 1, ACME, "active", 19900, at("2026-03-12 14:00:00", "2026-03-12 10:00 EDT"),
     at("2026-03-12 18:00:00", "2026-03-12 14:00 EDT")),
    (4, 1, 1, ACME, "active", 9900, at("2026-03-12 18:00:00", "2026-03-12 14:00 EDT"), None),
    # u2: 9900 -> 4900 one second before 03-03 ends, ends 04-15
    (5, 2, 2, ACME, "active", 9900, at("2026-01-20 15:00:00", "2026-01-20 10:00 EST"),
     at("2026-03-04 04:59:59", "2026-03-03 23:59:59 EST")),
    (6, 2, 2, ACME, "active", 4900, at("2026-03-04 04:59:59", "2026-03-03 23:59:59 EST"),
     at("2026-04-15 16:00:00", "2026-04-15 12:00 EDT")),
    # u3: active, then past due, cancelled exactly at the start of 03-05
    (7, 3, 3, GLOBEX, "active", 2900, at("2026-02-02 17:00:00", "2026-02-02 12:00 EST"),
     at("2026-03-03 16:00:00", "2026-03-03 11:00 EST")),
    (8, 3, 3, GLOBEX, "past_due", 2900, at("2026-03-03 16:00:00", "2026-03-03 11:00 EST"),
     at("2026-03-05 05:00:00", "2026-03-05 00:00 EST")),
    # u4: annual 99000 / 12
    (9, 4, 4, ACME, "active", 8250, at("2026-02-14 20:00:00", "2026-02-14 15:00 EST"), None),
    # u5: trial, converts late on the DST day, upgrades 03-11
    (10, 5, 5, GLOBEX, "trialing", 0, at("2026-03-02 15:00:00", "2026-03-02 10:00 EST"),
     at("2026-03-09 03:30:00", "2026-03-08 23:30 EDT")),
    (11, 5, 5, GLOBEX, "active", 2900, at("2026-03-09 03:30:00", "2026-03-08 23:30 EDT"),
     at("2026-03-11 18:00:00", "2026-03-11 14:00 EDT")),
    (12, 5, 5, GLOBEX, "active", 4900, at("2026-03-11 18:00:00", "2026-03-11 14:00 EDT"), None),
    # u6: two subscriptions at once
    (13, 6, 6, GLOBEX, "active", 4900, at("2026-02-01 16:00:00", "2026-02-01 11:00 EST"), None),
    (14, 7, 6, GLOBEX, "active", 1500, at("2026-03-04 05:00:00", "2026-03-04 00:00 EST"),
     at("2026-04-10 15:00:00", "2026-04-10 11:00 EDT")),
    # u7: a trial that never converts
    (15, 8, 7, ACME, "trialing", 0, at("2026-03-03 14:00:00", "2026-03-03 09:00 EST"),
     at("2026-03-10 14:00:00", "2026-03-10 10:00 EDT")),
    # u3 again: reactivation
    (16, 9, 3, GLOBEX, "active", 4900, at("2026-03-13 03:30:00", "2026-03-12 23:30 EDT"), None),
    # u9: new in April
    (17, 10, 9, GLOBEX, "active", 1900, at("2026-04-20 15:00:00", "2026-04-20 11:00 EDT"), None),
    # u11: a free plan (active, 0)
    (18, 11, 11, ACME, "active", 0, at("2026-03-08 06:45:00", "2026-03-08 01:45 EST"), None),
    # u12: paid in January/February, back in March
    (19, 12, 12, ACME, "active", 1900, at("2026-01-12 15:00:00", "2026-01-12 10:00 EST"),
     at("2026-02-20 15:00:00", "2026-02-20 10:00 EST")),
    (20, 13, 12, ACME, "active", 1900, at("2026-03-10 15:00:00", "2026-03-10 11:00 EDT"), None),
)

CHARGES = Table.of(
    {"id": "int", "user_id": "int", "created_at": "ts", "amount_cents": "int", "fee_cents": "int",
     "status": "str"},
    # January
    (12, 1, at("2026-01-10 15:00:00", "2026-01-10 10:00 EST"), 4900, 172, "succeeded"),
    (13, 2, at("2026-01-20 15:00:00", "2026-01-20 10:00 EST"), 9900, 317, "succeeded"),
    (14, 6, at("2026-02-01 04:59:59", "2026-01-31 23:59:59 EST"), 2900, 114, "succeeded"),
    # February
    (15, 6, at("2026-02-01 16:00:00", "2026-02-01 11:00 EST"), 4900, 172, "succeeded"),
    (17, 3, at("2026-02-02 17:00:00", "2026-02-02 12:00 EST"), 2900, 114, "succeeded"),
    (18, 1, at("2026-02-10 12:00:00", "2026-02-10 07:00 EST"), 9900, 0, "failed"),
    (16, 4, at("2026-02-14 20:00:00", "2026-02-14 15:00 EST"), 99000, 2901, "succeeded"),
    (19, 2, at("2026-02-20 15:00:00", "2026-02-20 10:00 EST"), 9900, 317, "succeeded"),
    (20, 6, at("2026-03-01 04:30:00", "2026-02-28 23:30 EST"), 4900, 172, "succeeded"),
    # March
    (1, 6, at("2026-03-01 05:00:00", "2026-03-01 00:00 EST"), 4900, 172, "succeeded"),
    (2, 3, at("2026-03-02 04:59:59.999999", "2026-03-01 23:59:59.999999 EST"), 2900, 114,
     "succeeded"),
    (3, 3, at("2026-03-03 16:00:00", "2026-03-03 11:00 EST"), 2900, 30, "failed"),  # fee not counted
    (10, 6, at("2026-03-04 05:00:00", "2026-03-04 00:00 EST"), 1500, 74, "succeeded"),
    (4, 3, at("2026-03-04 17:00:00", "2026-03-04 12:00 EST"), 2900, 0, "failed"),
    (5, 5, at("2026-03-09 03:30:00", "2026-03-08 23:30 EDT"), 2900, 114, "succeeded"),
    (6, 1, at("2026-03-09 04:30:00", "2026-03-09 00:30 EDT"), 5000, 175, "succeeded"),
    (7, 5, at("2026-03-11 18:00:00", "2026-03-11 14:00 EDT"), 2000, 88, "succeeded"),
    (9, 1, at("2026-03-12 14:00:00", "2026-03-12 10:00 EDT"), 19900, 0, "declined"),  # params
    (8, 3, at("2026-03-13 03:30:00", "2026-03-12 23:30 EDT"), 4900, 172, "succeeded"),
    (11, 2, at("2026-03-14 15:00:00", "2026-03-14 11:00 EDT"), 9900, 0, "pending"),  # attempt only
    (21, 1, at("2026-04-01 03:30:00", "2026-03-31 23:30 EDT"), 4900, 172, "succeeded"),
    # April
    (22, 2, at("2026-04-01 04:00:00", "2026-04-01 00:00 EDT"), 9900, 317, "succeeded"),
    (24, 2, at("2026-04-15 12:00:00", "2026-04-15 08:00 EDT"), 4900, 0, "failed"),
    (23, 9, at("2026-04-20 15:00:00", "2026-04-20 11:00 EDT"), 1900, 85, "succeeded"),
)

STORY = Story("worked_saas", {"accounts": ACCOUNTS, "subs": SUBS, "billing_subs": BILLING_SUBS,
                              "charges": CHARGES})


def project(source: str, tables: dict[str, str], store: str) -> dict:
    """The saas pack mapped onto this schema."""
    return {
        "name": "worked saas", "timezone": "America/New_York", "week_start": "sunday",
        "source": source, "store": store,
        "include": ["saas"],
        "tables": {"users": tables["accounts"], "subscriptions": tables["subs"],
                   "subscription_periods": tables["billing_subs"], "payments": tables["charges"]},
        "columns": {"subscription_periods.mrr_cents": "amount",
                    "subscriptions.canceled_at": "ended_at",
                    "payments.tenant": None},  # no tenant on charges: payment metrics lose it
        "params": {"failed_payment_statuses": ["failed", "declined"]},
    }
