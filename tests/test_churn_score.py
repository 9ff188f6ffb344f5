"""Churn scoring (DESIGN §8): risks, rescaled weights, points, the score's rounding, levels and the
export record, from signal values written by hand (no source: ``daypulse.churn.score`` is pure).

Every expectation below is worked out in its docstring from the table of DESIGN §8:

| signal           | weight | risk                                                         |
| inactivity       | 25     | min(value / 14, 1)                                           |
| engagement_decay | 20     | baseline = base days / 4; 0 if baseline = 0 else clamp(1 - last / baseline) |
| frustration      | 15     | value / 100; no data -> 0                                    |
| login_decay      | 15     | 0 if previous = 0 else clamp((previous - last) / previous)  |
| progress_stall   | 15     | as login_decay                                               |
| payment_issue    | 10     | 1 or 0                                                       |
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from daypulse.churn.score import (
    DEFAULT_WEIGHTS,
    LEVELS,
    level_of,
    records,
    rescaled,
    round_half_up,
    score,
)

ALL = tuple(DEFAULT_WEIGHTS)


def frame(**columns) -> pd.DataFrame:
    """A signals frame of one or more entity-days: ``entity`` and ``day`` filled in."""
    n = len(next(iter(columns.values())))
    base = {"entity": [str(i + 1) for i in range(n)], "day": [pd.Timestamp("2026-03-01")] * n}
    return pd.DataFrame({**base, **columns})


def one(weights: dict[str, float], **signals) -> pd.Series:
    """The scored row of a single entity-day."""
    return score(frame(**{k: [v] for k, v in signals.items()}), weights).iloc[0]


# -- the weights ----------------------------------------------------------------------------

def test_default_weights_are_the_design_ones_and_sum_to_100():
    assert DEFAULT_WEIGHTS == {"inactivity": 25, "engagement_decay": 20, "frustration": 15,
                               "login_decay": 15, "progress_stall": 15, "payment_issue": 10}
    assert rescaled(DEFAULT_WEIGHTS, ALL) == {k: float(v) for k, v in DEFAULT_WEIGHTS.items()}


def test_a_signal_without_a_source_is_left_out_and_the_rest_rescaled_to_100():
    """No frustration and no payment source: 25 + 20 + 15 + 15 = 75 remain, each times 100 / 75:
    inactivity 33.33.., engagement_decay 26.66.., login_decay 20, progress_stall 20 (unrounded)."""
    w = rescaled(DEFAULT_WEIGHTS, ["inactivity", "engagement_decay", "login_decay", "progress_stall"])
    assert list(w) == ["inactivity", "engagement_decay", "login_decay", "progress_stall"]
    assert w["inactivity"] == pytest.approx(100 / 3, abs=1e-12)
    assert w["engagement_decay"] == pytest.approx(80 / 3, abs=1e-12)
    assert w["login_decay"] == w["progress_stall"] == pytest.approx(20.0, abs=1e-12)
    assert math.fsum(w.values()) == pytest.approx(100.0, abs=1e-9)


def test_rescaled_keeps_the_table_order_and_configured_weights():
    """Weights {inactivity: 50, payment_issue: 50} over inactivity and payment_issue: 50 / 50."""
    w = rescaled({**DEFAULT_WEIGHTS, "inactivity": 50, "payment_issue": 50}, ["payment_issue", "inactivity"])
    assert w == {"inactivity": 50.0, "payment_issue": 50.0}


# -- each signal's risk ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "risk"), [
    (0, 0.0),        # active on the day
    (7, 0.5),        # 7 / 14
    (9, 9 / 14),     # DESIGN's example: 0.6429
    (14, 1.0),
    (40, 1.0),       # capped
])
def test_inactivity_risk(value, risk):
    row = one({"inactivity": 100.0}, inactivity=value)
    assert row["risk_inactivity"] == pytest.approx(risk)
    assert row["points_inactivity"] == pytest.approx(risk * 100)


@pytest.mark.parametrize(("last", "base_days", "risk"), [
    (0, 0, 0.0),      # no baseline (a new customer): 0
    (3, 0, 0.0),
    (0, 8, 1.0),      # baseline 8 / 4 = 2 active days a week, none this week: 1
    (1, 8, 0.5),      # 1 - 1 / 2
    (2, 8, 0.0),      # as active as usual
    (5, 8, 0.0),      # more active than usual: clamped to 0
    (1, 3, 0.0),      # baseline 0.75, 1 - 1 / 0.75 < 0: clamped
    (1, 6, 1 / 3),    # baseline 1.5: 1 - 1 / 1.5
])
def test_engagement_decay_risk(last, base_days, risk):
    row = one({"engagement_decay": 100.0}, active_last=last, active_base=base_days)
    assert row["risk_engagement_decay"] == pytest.approx(risk)


@pytest.mark.parametrize(("value", "risk"), [(None, 0.0), (0.0, 0.0), (52.5, 0.525), (100.0, 1.0)])
def test_frustration_risk(value, risk):
    row = one({"frustration": 100.0}, frustration=[value][0])
    assert row["risk_frustration"] == pytest.approx(risk)


@pytest.mark.parametrize("signal", ["login_decay", "progress_stall"])
@pytest.mark.parametrize(("last", "previous", "risk"), [
    (0, 0, 0.0),      # nothing before: 0
    (5, 0, 0.0),
    (1, 4, 0.75),     # (4 - 1) / 4
    (0, 2, 1.0),
    (1, 3, 2 / 3),
    (4, 4, 0.0),
    (9, 4, 0.0),      # more than before: clamped
])
def test_login_decay_and_progress_stall_risk(signal, last, previous, risk):
    prefix = "logins" if signal == "login_decay" else "progress"
    row = one({signal: 100.0}, **{f"{prefix}_last": last, f"{prefix}_prev": previous})
    assert row[f"risk_{signal}"] == pytest.approx(risk)


@pytest.mark.parametrize(("value", "risk"), [(True, 1.0), (False, 0.0)])
def test_payment_issue_risk(value, risk):
    assert one({"payment_issue": 100.0}, payment_issue=value)["risk_payment_issue"] == risk


# -- the score, its rounding and the levels -------------------------------------------------

def test_score_is_the_sum_of_points_rounded_to_one_decimal():
    """All six signals at their default weights:
    inactivity 3 -> 3/14 * 25 = 5.357142..; engagement last 1 of baseline 0 -> 0;
    frustration 75 -> 0.75 * 15 = 11.25; logins 1 of 0 -> 0; progress 0 of 0 -> 0; payment
    issue -> 10. Sum 26.607142.. -> 26.6, medium."""
    row = one(rescaled(DEFAULT_WEIGHTS, ALL), inactivity=3, active_last=1, active_base=0,
              frustration=75.0, logins_last=1, logins_prev=0, progress_last=0, progress_prev=0,
              payment_issue=True)
    assert row["score"] == 26.6
    assert row["level"] == "medium"


@pytest.mark.parametrize(("value", "level"), [
    (0.0, "low"), (24.9, "low"), (25.0, "medium"), (49.9, "medium"), (50.0, "high"),
    (74.9, "high"), (75.0, "critical"), (100.0, "critical"),
])
def test_level_boundaries(value, level):
    assert level_of(value) == level


@pytest.mark.parametrize(("mean", "expected", "level"), [
    (24.9, 24.9, "low"), (25.0, 25.0, "medium"), (49.9, 49.9, "medium"), (50.0, 50.0, "high"),
    (74.9, 74.9, "high"), (75.0, 75.0, "critical"),
])
def test_level_boundaries_through_a_score(mean, expected, level):
    """Frustration alone (its weight rescaled to 100): the score is the mean score itself."""
    w = rescaled(DEFAULT_WEIGHTS, ["frustration"])
    assert w == {"frustration": 100.0}
    row = one(w, frustration=mean)
    assert row["score"] == expected
    assert row["level"] == level


@pytest.mark.parametrize(("total", "rounded"), [
    (21.25, 21.3),     # an exact tie in binary: half up (Python's round() says 21.2)
    (24.95, 25.0),     # 24.95 is 24.9499999.. in binary: still a tie, up (round() says 24.9)
    (24.949, 24.9),
    (0.05, 0.1),
    (74.95, 75.0),     # and so critical
    (99.99, 100.0),
])
def test_rounding_is_half_up(total, rounded):
    assert round_half_up(total, 1) == rounded


def test_a_tie_at_a_boundary_rounds_into_the_higher_level():
    """inactivity 7 (0.5 * 25 = 12.5) + login decay 1 of 4 (0.75 * 15 = 11.25) + progress 3 of 4
    (0.25 * 15 = 3.75) = 27.5 -- not a boundary; and frustration 49.95 alone = 49.95 -> 50.0:
    the score shown is 50.0 and its level is high, as a person reading 50.0 expects."""
    row = one(rescaled(DEFAULT_WEIGHTS, ALL), inactivity=7, active_last=0, active_base=0,
              frustration=None, logins_last=1, logins_prev=4, progress_last=3, progress_prev=4,
              payment_issue=False)
    assert row["score"] == 27.5
    row = one(rescaled(DEFAULT_WEIGHTS, ["frustration"]), frustration=49.95)
    assert (row["score"], row["level"]) == (50.0, "high")


def test_levels_are_four():
    assert LEVELS == ("low", "medium", "high", "critical")


# -- the export record ----------------------------------------------------------------------

def test_record_shape_matches_the_contract():
    """DESIGN's example: inactivity 9 -> risk 9/14 = 0.642857.. shown 0.6429, points 16.0714..
    shown 16.07; with only inactivity and payment issue configured (25 + 10 = 35, rescaled to
    71.428571.. and 28.571428..): 0.642857 * 71.428571 = 45.918367 + 28.571428 = 74.489796 ->
    74.5, high."""
    w = rescaled(DEFAULT_WEIGHTS, ["inactivity", "payment_issue"])
    f = frame(inactivity=[9], payment_issue=[True])
    f["entity"] = ["4711"]
    f["day"] = [pd.Timestamp("2026-03-01")]
    f["d_tenant"] = ["acme"]
    rec = next(records(score(f, w), w, ["tenant"]))
    assert rec == {
        "entity": "4711", "day": "2026-03-01", "score": 74.5, "level": "high",
        "dimensions": {"tenant": "acme"},
        "signals": {
            "inactivity": {"value": 9, "risk": 0.6429, "weight": 100 * 25 / 35, "points": 45.92},
            "payment_issue": {"value": True, "risk": 1.0, "weight": 100 * 10 / 35, "points": 28.57},
        },
    }
    assert type(rec["signals"]["inactivity"]["value"]) is int
    assert type(rec["signals"]["payment_issue"]["value"]) is bool


def test_record_values_of_every_signal():
    """engagement_decay shows {last, baseline} with baseline = base days / 4 (6 -> 1.5); the two
    decays {last, previous}; frustration a number rounded to 2 decimals, or null; weights with
    no rescaling are the defaults as floats."""
    w = rescaled(DEFAULT_WEIGHTS, ALL)
    f = frame(inactivity=[0, 3], active_last=[1, 0], active_base=[6, 0], frustration=[200 / 3, None],
              logins_last=[1, 0], logins_prev=[4, 0], progress_last=[2, 0], progress_prev=[3, 0],
              payment_issue=[False, False])
    recs = list(records(score(f, w), w, []))
    a, b = recs
    assert list(a["signals"]) == list(ALL)
    assert a["dimensions"] == {}
    assert a["signals"]["engagement_decay"] == {"value": {"last": 1, "baseline": 1.5}, "risk": 0.3333,
                                                "weight": 20.0, "points": 6.67}
    assert a["signals"]["frustration"] == {"value": 66.67, "risk": 0.6667, "weight": 15.0, "points": 10.0}
    assert a["signals"]["login_decay"] == {"value": {"last": 1, "previous": 4}, "risk": 0.75,
                                           "weight": 15.0, "points": 11.25}
    assert a["signals"]["progress_stall"]["value"] == {"last": 2, "previous": 3}
    assert a["signals"]["payment_issue"] == {"value": False, "risk": 0.0, "weight": 10.0, "points": 0.0}
    # 0 + 6.666.. + 10 + 11.25 + 5 + 0 = 32.916.. -> 32.9
    assert (a["score"], a["level"]) == (32.9, "medium")
    assert b["signals"]["frustration"]["value"] is None
    assert b["signals"]["engagement_decay"]["value"] == {"last": 0, "baseline": 0.0}
    assert b["day"] == date(2026, 3, 1).isoformat()
