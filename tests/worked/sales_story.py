"""A two-person sales team (ann, bob) around the 2026-03-08 spring-forward, for the ``sales``
pack: leads through the funnel, calls by staff and by local hour.

EST (UTC-5) until 2026-03-08 07:00 UTC, then EDT (UTC-4); on 03-08 the local hour 02 does not
exist (01:59:59 EST is followed by 03:00 EDT).
"""

from __future__ import annotations

from worked import Story, Table, at

LEADS = Table.of(
    {"id": "int", "created_at": "ts", "branch": "str", "source": "str", "status": "str",
     "staff": "str", "contacted_at": "ts", "qualified_at": "ts", "converted_at": "ts"},
    # L0: came in in February, converts at exactly 03-07 00:00 EST
    (0, at("2026-02-25 15:00:00", "2026-02-25 10:00 EST"), "north", "web", "converted", "ann",
     at("2026-02-25 16:00:00", "2026-02-25 11:00 EST"), at("2026-02-27 15:00:00", "2026-02-27 10:00 EST"),
     at("2026-03-07 05:00:00", "2026-03-07 00:00 EST")),
    (1, at("2026-03-06 15:00:00", "2026-03-06 10:00 EST"), "north", "web", "converted", "ann",
     at("2026-03-06 16:00:00", "2026-03-06 11:00 EST"), at("2026-03-07 15:00:00", "2026-03-07 10:00 EST"),
     at("2026-03-09 15:00:00", "2026-03-09 11:00 EDT")),
    (2, at("2026-03-06 20:00:00", "2026-03-06 15:00 EST"), "north", "ads", "lost", "bob",
     at("2026-03-07 14:00:00", "2026-03-07 09:00 EST"), None, None),
    (3, at("2026-03-07 04:30:00", "2026-03-06 23:30 EST"), "south", "web", "new", "ann",
     None, None, None),
    (4, at("2026-03-08 06:00:00", "2026-03-08 01:00 EST"), "south", "referral", "qualified", "bob",
     at("2026-03-08 07:30:00", "2026-03-08 03:30 EDT"), at("2026-03-09 14:00:00", "2026-03-09 10:00 EDT"),
     None),
    (5, at("2026-03-09 03:30:00", "2026-03-08 23:30 EDT"), "north", "web", "contacted", "ann",
     at("2026-03-09 13:00:00", "2026-03-09 09:00 EDT"), None, None),
    (6, at("2026-03-09 04:30:00", "2026-03-09 00:30 EDT"), "north", "ads", "converted", "bob",
     at("2026-03-09 14:00:00", "2026-03-09 10:00 EDT"), at("2026-03-09 15:00:00", "2026-03-09 11:00 EDT"),
     at("2026-03-09 20:00:00", "2026-03-09 16:00 EDT")),
    (7, at("2026-03-20 15:00:00", "2026-03-20 11:00 EDT"), "south", "web", "lost", "ann",
     at("2026-03-20 16:00:00", "2026-03-20 12:00 EDT"), None, None),
)

CALLS = Table.of(
    {"id": "int", "started_at": "ts", "branch": "str", "staff": "str", "status": "str",
     "outcome": "str", "duration_s": "int"},
    (1, at("2026-03-06 15:00:00", "2026-03-06 10:00 EST"), "north", "ann", "completed", "interested", 300),
    (2, at("2026-03-06 16:30:00", "2026-03-06 11:30 EST"), "north", "ann", "missed", None, 0),
    (3, at("2026-03-07 04:30:00", "2026-03-06 23:30 EST"), "south", "bob", "completed", "not_interested", 120),
    (4, at("2026-03-08 06:30:00", "2026-03-08 01:30 EST"), "south", "bob", "completed", "interested", 600),
    (5, at("2026-03-08 07:30:00", "2026-03-08 03:30 EDT"), "north", "ann", "failed", None, 0),
    (6, at("2026-03-09 03:30:00", "2026-03-08 23:30 EDT"), "north", "ann", "completed", "interested", 240),
    (7, at("2026-03-09 14:00:00", "2026-03-09 10:00 EDT"), "south", "bob", "completed", "wrong_number", 30),
    (8, at("2026-03-09 15:15:00", "2026-03-09 11:15 EDT"), "north", "ann", "completed", "interested", 420),
    (9, at("2026-03-20 14:00:00", "2026-03-20 10:00 EDT"), "south", "bob", "completed", "interested", 200),
)

STORY = Story("worked_sales", {"leads": LEADS, "calls": CALLS})


def project(source: str, tables: dict[str, str], store: str) -> dict:
    return {
        "name": "worked sales", "timezone": "America/New_York", "week_start": "monday",
        "source": source, "store": store, "include": ["sales"],
        "tables": {"leads": tables["leads"], "calls": tables["calls"]},
    }
