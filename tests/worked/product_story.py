"""Five users' product events around the 2026-11-01 fall-back in New York, for the lifecycle
metrics of the ``product`` pack (weeks start on Monday).

EDT (UTC-4) until 2026-11-01 06:00 UTC, EST (UTC-5) after; local day 11-01 is 25 hours long,
[11-01 04:00 UTC, 11-02 05:00 UTC), and 01:00-02:00 happens twice on it.

Weeks: W1 10-19..10-25, W2 10-26..11-01 (the long day is its last), W3 11-02..11-08,
W4 11-09..11-15, W5 11-16..11-22.

* A (t1): first event ever 10-20 (a worklog: activated), active again 10-27 and 10-28, then
  nothing until 11-18: new in W1, returning in W2, dormant in W3, resurrecting in W5.
* B (t2): one login 09-01 (long before), then two captures on 11-01 at 01:30 EDT and 01:30 EST
  (the repeated hour): resurrecting on 11-01 / in W2, dormant on 11-02 / in W3. Captures are
  not activation events: never activated.
* C (t1): first event 11-01 23:30 EST (= 11-02 04:30 UTC, which would be 11-02 on an EDT clock),
  a report at exactly 11-02 00:00 EST: new in W2, returning in W3; activated on 11-02 (W3).
* D (t2): a login 10-21, first activation event (file upload) 11-03, another 11-10.
* E (t1): a file upload 10-10 (before the range), another exactly at 10-19 00:00 EDT:
  resurrecting on 10-19 / in W1; already activated before the range.
"""

from __future__ import annotations

from worked import Story, Table, at

EVENTS = Table.of(
    {"id": "int", "user_id": "int", "occurred_at": "ts", "kind": "str", "tenant": "str",
     "platform": "str", "plan": "str"},
    (1, 5, at("2026-10-10 16:00:00", "2026-10-10 12:00 EDT"), "file_upload", "t1", "web", "pro"),
    (2, 5, at("2026-10-19 04:00:00", "2026-10-19 00:00 EDT"), "file_upload", "t1", "web", "pro"),
    (3, 1, at("2026-10-20 14:00:00", "2026-10-20 10:00 EDT"), "worklog", "t1", "web", "none"),
    (4, 4, at("2026-10-21 14:00:00", "2026-10-21 10:00 EDT"), "login", "t2", "ios", "none"),
    (5, 1, at("2026-10-27 13:00:00", "2026-10-27 09:00 EDT"), "login", "t1", "web", "none"),
    (6, 1, at("2026-10-27 20:00:00", "2026-10-27 16:00 EDT"), "capture", "t1", "web", "none"),
    (7, 1, at("2026-10-28 15:00:00", "2026-10-28 11:00 EDT"), "capture", "t1", "web", "none"),
    (8, 2, at("2026-09-01 14:00:00", "2026-09-01 10:00 EDT"), "login", "t2", "ios", "none"),
    (9, 2, at("2026-11-01 05:30:00", "2026-11-01 01:30 EDT"), "capture", "t2", "ios", "pro"),
    (10, 2, at("2026-11-01 06:30:00", "2026-11-01 01:30 EST"), "capture", "t2", "ios", "pro"),
    (11, 3, at("2026-11-02 04:30:00", "2026-11-01 23:30 EST"), "login", "t1", "android", "none"),
    (12, 3, at("2026-11-02 05:00:00", "2026-11-02 00:00 EST"), "report", "t1", "android", "none"),
    (13, 4, at("2026-11-03 15:00:00", "2026-11-03 10:00 EST"), "file_upload", "t2", "ios", "none"),
    (14, 4, at("2026-11-10 15:00:00", "2026-11-10 10:00 EST"), "file_upload", "t2", "ios", "none"),
    (15, 1, at("2026-11-18 15:00:00", "2026-11-18 10:00 EST"), "login", "t1", "web", "none"),
)

STORY = Story("worked_product", {"product_events": EVENTS})


def project(source: str, tables: dict[str, str], store: str) -> dict:
    return {
        "name": "worked product", "timezone": "America/New_York", "week_start": "monday",
        "source": source, "store": store, "include": ["product"],
        "tables": {"events": tables["product_events"]},
    }
