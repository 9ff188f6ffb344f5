"""Churn alerts (DESIGN §8), decided from consecutive days' scored signals by pure functions.

The rules: one alert open at most per (entity, type); it opens on the first day its condition
holds, with the entity's level that day as its severity; it is resolved on the first day the
condition no longer holds (or by hand, with the action taken). The conditions:

| type             | holds when                                                     |
| inactivity       | inactivity value >= 7                                          |
| engagement_drop  | previous-7 logins > 0 and last-7 logins <= half of them        |
| high_frustration | frustration value >= 70                                        |
| payment_risk     | payment_issue                                                  |
| trial_expiring   | a trial ends in (end of D, end of D+3], no paid subscription   |

An alert whose condition still holds when someone resolves it by hand stays handled: no new alert
of that type opens for the entity until the condition has cleared once (a new episode).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from daypulse.churn.alerts import ALERT_TYPES, Alert, conditions, decide

D1 = date(2026, 3, 1)


def day(i: int) -> date:
    return D1 + timedelta(days=i)


def scored(rows: list[dict]) -> pd.DataFrame:
    """A scored frame: each row {entity, day (index from D1), level, signal columns...}."""
    out = []
    for r in rows:
        r = dict(r)
        r["day"] = pd.Timestamp(day(r.pop("i")))
        r.setdefault("level", "low")
        r.setdefault("score", 0.0)
        out.append(r)
    return pd.DataFrame(out)


def inactive(values: list[int | None], levels: list[str] | None = None, entity: str = "1") -> pd.DataFrame:
    """One entity's inactivity over consecutive days (None: not scored that day)."""
    rows = []
    for i, v in enumerate(values):
        if v is not None:
            rows.append({"entity": entity, "i": i, "inactivity": v,
                         "level": (levels or ["low"] * len(values))[i]})
    return scored(rows)


def run(frame: pd.DataFrame, days: int, live=()):
    return decide(day(0), day(days - 1), conditions(frame), live)


def test_the_five_types():
    assert ALERT_TYPES == ("inactivity", "engagement_drop", "high_frustration", "payment_risk",
                           "trial_expiring")


# -- each condition's threshold -------------------------------------------------------------

def test_conditions_thresholds():
    """inactivity 6 no, 7 yes; logins prev 0 never; last 2 of 4 (exactly half) yes, 3 of 5 no
    (more than half), 2 of 5 yes; frustration 69.99 no, 70 yes, none no; payment issue;
    trial expiring."""
    f = scored([
        {"entity": "a", "i": 0, "inactivity": 6, "logins_last": 0, "logins_prev": 0,
         "frustration": 69.99, "payment_issue": False, "trial_expiring": False},
        {"entity": "b", "i": 0, "inactivity": 7, "logins_last": 2, "logins_prev": 4,
         "frustration": 70.0, "payment_issue": True, "trial_expiring": True},
        {"entity": "c", "i": 0, "inactivity": 0, "logins_last": 3, "logins_prev": 5,
         "frustration": None, "payment_issue": False, "trial_expiring": False},
        {"entity": "d", "i": 0, "inactivity": 0, "logins_last": 2, "logins_prev": 5,
         "frustration": None, "payment_issue": False, "trial_expiring": False},
    ])
    c = conditions(f).set_index("entity")
    holds = [f"holds_{t}" for t in ALERT_TYPES]
    assert c.loc["a", holds].tolist() == [False] * 5
    assert c.loc["b", holds].tolist() == [True] * 5
    assert not c.loc["c", "holds_engagement_drop"]
    assert c.loc["d", "holds_engagement_drop"]


def test_only_the_types_whose_signals_are_there_are_decided():
    """No logins, frustration, payment or trial columns: inactivity alone."""
    c = conditions(inactive([7]))
    assert [t for t in ALERT_TYPES if f"holds_{t}" in c.columns] == ["inactivity"]


# -- open, repeat, resolve ------------------------------------------------------------------

def test_opens_on_the_first_day_it_holds_with_that_days_level():
    """Inactivity 5, 6, 7, 8, 9 with levels low, low, medium, high, critical: one alert, opened on
    day 2 (the first >= 7), severity medium (day 2's level); still open at the end."""
    d = run(inactive([5, 6, 7, 8, 9], ["low", "low", "medium", "high", "critical"]), 5)
    assert [(a.entity, a.type, a.opened, a.severity, a.cleared) for a in d.opened] == [
        ("1", "inactivity", day(2), "medium", None)]
    assert d.cleared == []
    assert [(a.type, a.opened) for a in d.live] == [("inactivity", day(2))]
    assert d.live[0].open


def test_a_condition_that_keeps_holding_does_not_open_another():
    """Inactivity 7..10 over four days: one alert (repeat days change nothing, not even the
    severity when the level rises from medium to critical)."""
    d = run(inactive([7, 8, 9, 10], ["medium", "high", "critical", "critical"]), 4)
    assert len(d.opened) == 1
    assert (d.opened[0].opened, d.opened[0].severity) == (day(0), "medium")


def test_resolved_on_the_first_day_it_no_longer_holds_and_a_new_episode_opens_anew():
    """Inactivity 8, 9, 0 (active again), 1, ..., 7 on day 9: opened day 0, cleared day 2
    ("cleared"); the condition holds again on day 9: a second alert opens that day."""
    values = [8, 9, 0, 1, 2, 3, 4, 5, 6, 7]
    d = run(inactive(values, ["high"] * 9 + ["medium"]), len(values))
    first, second = d.opened
    assert (first.opened, first.cleared, first.reason, first.severity) == (day(0), day(2), "cleared", "high")
    assert not first.open
    assert (second.opened, second.cleared, second.severity) == (day(9), None, "medium")
    assert [a.opened for a in d.live] == [day(9)]


def test_an_entity_that_is_no_longer_scored_has_its_alerts_resolved():
    """Inactivity 9, 10, then the customer's subscription ends (not scored on day 2): resolved on
    day 2, reason not_scored."""
    d = run(inactive([9, 10, None]), 3)
    (a,) = d.opened
    assert (a.opened, a.cleared, a.reason) == (day(0), day(2), "not_scored")
    assert d.live == []


def test_a_gap_in_scoring_ends_the_episode():
    """Scored on days 0 and 2 only (inactivity 9 both): alert one opens day 0, resolves day 1
    (not_scored), alert two opens day 2."""
    d = run(inactive([9, None, 11]), 3)
    assert [(a.opened, a.cleared) for a in d.opened] == [(day(0), day(1)), (day(2), None)]


def test_alerts_are_per_entity_and_type():
    """Two entities, each with inactivity and a payment issue on days 0-1: four alerts; entity b's
    payment issue clears on day 1 and only that one is resolved."""
    f = scored([
        {"entity": "a", "i": 0, "inactivity": 9, "payment_issue": True},
        {"entity": "a", "i": 1, "inactivity": 10, "payment_issue": True},
        {"entity": "b", "i": 0, "inactivity": 9, "payment_issue": True},
        {"entity": "b", "i": 1, "inactivity": 10, "payment_issue": False},
    ])
    d = run(f, 2)
    assert sorted((a.entity, a.type) for a in d.opened) == [
        ("a", "inactivity"), ("a", "payment_risk"), ("b", "inactivity"), ("b", "payment_risk")]
    assert [(a.entity, a.type, a.cleared) for a in d.opened if a.cleared] == [("b", "payment_risk", day(1))]


def test_snapshot_of_the_opening_day():
    """The alert keeps the day's score, level and the value that raised it."""
    f = scored([{"entity": "a", "i": 0, "inactivity": 9, "score": 40.2, "level": "medium",
                 "logins_last": 1, "logins_prev": 6, "frustration": 81.5}])
    d = run(f, 1)
    snaps = {a.type: a.snapshot for a in d.opened}
    assert snaps["inactivity"] == {"score": 40.2, "level": "medium", "value": 9}
    assert snaps["engagement_drop"] == {"score": 40.2, "level": "medium", "value": {"last": 1, "previous": 6}}
    assert snaps["high_frustration"] == {"score": 40.2, "level": "medium", "value": 81.5}


# -- across runs: what the store hands in ---------------------------------------------------

def test_a_live_alert_from_before_the_range_carries_on():
    """An open inactivity alert from Feb 20 (id 17); inactivity holds on days 0-1: nothing opens,
    the alert stays live, unchanged."""
    before = Alert("1", "inactivity", date(2026, 2, 20), "high", id=17)
    d = run(inactive([9, 10]), 2, [before])
    assert d.opened == [] and d.cleared == []
    assert d.live == [before]


def test_a_live_alert_clears_on_the_first_day_of_the_range():
    """The same alert; the customer is active on day 0: resolved on day 0 (its id kept)."""
    before = Alert("1", "inactivity", date(2026, 2, 20), "high", id=17)
    d = run(inactive([0, 1]), 2, [before])
    (a,) = d.cleared
    assert (a.id, a.opened, a.cleared, a.reason, a.severity) == (17, date(2026, 2, 20), day(0), "cleared", "high")
    assert d.live == [] and d.opened == []


def test_a_live_alert_clears_within_the_range():
    before = Alert("1", "inactivity", date(2026, 2, 20), "high", id=17)
    d = run(inactive([9, 3, 8]), 3, [before])
    assert [(a.id, a.cleared) for a in d.cleared] == [(17, day(1))]
    assert [(a.opened, a.id) for a in d.opened] == [(day(2), None)]


def test_resolved_by_hand_does_not_reopen_until_the_condition_clears():
    """Alert 17 was resolved by hand ("called, offered discount") while the customer was still
    inactive: days 0-1 still inactive -> no new alert; day 2 active -> the episode ends (cleared,
    nothing to resolve); day 3 inactive again -> a new alert opens."""
    handled = Alert("1", "inactivity", date(2026, 2, 20), "high", id=17, resolved_by_hand=True)
    assert not handled.open
    d = run(inactive([9, 10, 0, 7]), 4, [handled])
    assert [(a.id, a.cleared, a.resolved_by_hand) for a in d.cleared] == [(17, day(2), True)]
    assert [(a.opened, a.cleared) for a in d.opened] == [(day(3), None)]


def test_a_live_alert_of_a_type_no_longer_evaluated_is_resolved():
    """An engagement_drop alert, but the frame has no logins columns (the source was removed from
    the configuration): resolved on the first day, reason not_evaluated."""
    before = Alert("1", "engagement_drop", date(2026, 2, 20), "low", id=3)
    d = run(inactive([0]), 1, [before])
    assert [(a.id, a.cleared, a.reason) for a in d.cleared] == [(3, day(0), "not_evaluated")]


def test_days_outside_the_range_are_refused():
    with pytest.raises(ValueError, match="outside"):
        decide(day(1), day(2), conditions(inactive([9])), [])
