"""From signal values to a score (DESIGN §8): each signal's risk in [0, 1], its points (risk times
its weight, the weights of the signals in use rescaled to 100), the score and its level, and the
export record of ``daypulse churn list --format jsonl``. Pure: columns in, columns out.

The signals frame (``churn.signals``) has one row per scored entity-day: ``entity`` (text),
``day``, ``d_<dimension>`` and the columns of :data:`SIGNAL_COLUMNS` for the signals in use.

Rounding is half up (a tie goes to the larger number, as PostgreSQL's ``round(numeric)`` and a
spreadsheet do; Python's ``round`` rounds a tie to even and, on binary floats, 24.95 down):
after absorbing floating-point noise below 1e-9 of the last digit kept, ``round_half_up(24.95,
1)`` is 25.0. The level is the rounded score's, so a score shown as 25.0 is always medium.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from daypulse.churn.config import DEFAULT_WEIGHTS, SIGNALS, rescaled

__all__ = ["DEFAULT_WEIGHTS", "LEVELS", "SIGNALS", "SIGNAL_COLUMNS", "level_of", "levels", "records",
           "rescaled", "risks", "round_half_up", "score"]

LEVELS = ("low", "medium", "high", "critical")
BANDS = (25.0, 50.0, 75.0)  # score < 25 low, < 50 medium, < 75 high, else critical (not configurable)
INACTIVE_DAYS_FOR_FULL_RISK = 14
BASELINE_WEEKS = 4  # the engagement baseline: active days in [D-34, D-7] per week
NOISE = 1e-9
# The columns each signal reads from the signals frame.
SIGNAL_COLUMNS = {
    "inactivity": ("inactivity",),
    "engagement_decay": ("active_last", "active_base"),
    "frustration": ("frustration",),
    "login_decay": ("logins_last", "logins_prev"),
    "progress_stall": ("progress_last", "progress_prev"),
    "payment_issue": ("payment_issue",),
}


def round_half_up(x, digits: int):
    """``x`` rounded to ``digits`` decimals, ties up (a number, or an array of them)."""
    scale = 10.0 ** digits
    out = np.floor(np.asarray(x, dtype="float64") * scale + 0.5 + NOISE) / scale
    return float(out) if np.ndim(out) == 0 else out


def level_of(value: float) -> str:
    return str(levels(np.asarray([value]))[0])


def levels(scores: np.ndarray) -> pd.Categorical:
    """Each score's level (score < 25 low, < 50 medium, < 75 high, else critical), as a
    categorical of LEVELS (ordered, so ``>= "high"`` compares as a person means it)."""
    codes = np.searchsorted(np.asarray(BANDS), np.asarray(scores, dtype="float64"), side="right")
    return pd.Categorical.from_codes(codes, categories=list(LEVELS), ordered=True)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _decay(last: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """clamp((previous - last) / previous, 0, 1); 0 when nothing was there before."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.clip((previous - last) / previous, 0.0, 1.0)
    return np.where(previous > 0, r, 0.0)


def _risk(frame: pd.DataFrame, signal: str) -> np.ndarray:
    cols = [_numbers(frame, c) for c in SIGNAL_COLUMNS[signal]]
    if signal == "inactivity":
        return np.clip(cols[0] / INACTIVE_DAYS_FOR_FULL_RISK, 0.0, 1.0)
    if signal == "engagement_decay":
        last, baseline = cols[0], cols[1] / BASELINE_WEEKS
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.clip(1.0 - last / baseline, 0.0, 1.0)
        return np.where(baseline > 0, r, 0.0)
    if signal == "frustration":  # a mean of 0-100 scores; no score in the window: 0
        return np.where(np.isnan(cols[0]), 0.0, np.clip(cols[0] / 100.0, 0.0, 1.0))
    if signal in ("login_decay", "progress_stall"):
        return _decay(cols[0], cols[1])
    if signal == "payment_issue":
        return np.where(cols[0] > 0, 1.0, 0.0)
    raise ValueError(f"unknown signal {signal!r}")


def risks(frame: pd.DataFrame, signals: Sequence[str]) -> dict[str, np.ndarray]:
    return {s: _risk(frame, s) for s in signals}


def score(frame: pd.DataFrame, weights: Mapping[str, float]) -> pd.DataFrame:
    """``frame`` with ``risk_<signal>``, ``points_<signal>`` (unrounded), ``score`` (rounded to
    one decimal, half up) and ``level``. ``weights``: the signals in use and their rescaled
    weights (``ChurnConfig.weights_in_use()``)."""
    cols: dict[str, object] = {}
    total = np.zeros(len(frame))
    for signal, r in risks(frame, list(weights)).items():
        points = r * float(weights[signal])
        cols[f"risk_{signal}"] = r
        cols[f"points_{signal}"] = points
        total = total + points
    cols["score"] = np.clip(np.atleast_1d(round_half_up(total, 1)), 0.0, 100.0) if len(frame) else np.zeros(0)
    cols["level"] = levels(cols["score"])
    return pd.concat([frame, pd.DataFrame(cols, index=frame.index)], axis=1)


def _values(scored: pd.DataFrame, signal: str) -> list:
    """What a person reads for each row: DESIGN §8's ``value`` of the signal."""
    cols = [scored[c] for c in SIGNAL_COLUMNS[signal]]
    if signal == "inactivity":
        return [int(v) for v in cols[0].tolist()]
    if signal == "engagement_decay":
        return [{"last": int(a), "baseline": float(b) / BASELINE_WEEKS}
                for a, b in zip(cols[0].tolist(), cols[1].tolist())]
    if signal == "frustration":
        v = _numbers(scored, "frustration")
        shown = round_half_up(np.nan_to_num(v), 2)
        return [None if np.isnan(a) else float(b) for a, b in zip(v, np.atleast_1d(shown))]
    if signal in ("login_decay", "progress_stall"):
        return [{"last": int(a), "previous": int(b)} for a, b in zip(cols[0].tolist(), cols[1].tolist())]
    return [bool(v) for v in cols[0].tolist()]


def records(scored: pd.DataFrame, weights: Mapping[str, float], dimensions: Sequence[str]) -> Iterator[dict]:
    """The export records of a scored frame (DESIGN §8), by day then entity: ``entity`` as text,
    ``day`` ISO, ``score``, ``level``, ``dimensions`` and, for each signal in use, ``value``,
    ``risk`` (4 decimals), ``weight`` (rescaled, unrounded) and ``points`` (2 decimals)."""
    if not len(scored):
        return
    scored = scored.sort_values(["day", "entity"], kind="stable")
    days = pd.to_datetime(scored["day"]).dt.strftime("%Y-%m-%d").tolist()
    entities = scored["entity"].astype(str).tolist()
    scores, lvls = scored["score"].tolist(), scored["level"].tolist()
    dims = {d: scored[f"d_{d}"].tolist() for d in dimensions}
    parts = {s: (_values(scored, s), np.atleast_1d(round_half_up(scored[f"risk_{s}"].to_numpy(), 4)).tolist(),
                 float(weights[s]), np.atleast_1d(round_half_up(scored[f"points_{s}"].to_numpy(), 2)).tolist())
             for s in weights}
    for i, entity in enumerate(entities):
        yield {
            "entity": entity, "day": days[i], "score": float(scores[i]), "level": str(lvls[i]),
            "dimensions": {d: v[i] for d, v in dims.items()},
            "signals": {s: {"value": values[i], "risk": rs[i], "weight": w, "points": ps[i]}
                        for s, (values, rs, w, ps) in parts.items()},
        }
