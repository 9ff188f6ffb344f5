"""Which churn alerts open, stay open and clear over consecutive local days (DESIGN §8). Pure:
a scored frame and the alerts live before the range in, decisions out -- the store keeps them.

An alert is one *episode* of a condition for one (entity, type): it opens on the first day the
condition holds, with the entity's level that day as its severity, and clears on the first day
it no longer holds -- which resolves it, unless someone resolved it by hand (with the action
taken) before; such a handled alert keeps the episode going, so no second alert of that type opens
for the entity until the condition has cleared once. At most one alert per (entity, type) is
live. A day on which the entity is not scored (it left the scored customers) is a day the
condition does not hold (reason ``not_scored``); a live alert of a type that is no longer
evaluated (its source was removed from the configuration) clears on the first day
(``not_evaluated``).

A store-backed caller hands :func:`decide` the alerts whose episode had not cleared at the start
of the range (open ones, and handled ones), and keeps ``opened`` (new alerts), ``cleared`` (the
given ones that cleared, with the day) and ``live`` (to hand in next time). Re-running a range
is: drop what the range opened, undo what it cleared, decide again from the same alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from daypulse.calendar import day_num, from_day_num

ALERT_TYPES = ("inactivity", "engagement_drop", "high_frustration", "payment_risk", "trial_expiring")
INACTIVE_DAYS = 7
FRUSTRATED = 70.0
# The signal columns each type reads (a type whose columns are missing is not evaluated).
NEEDS = {"inactivity": ("inactivity",), "engagement_drop": ("logins_last", "logins_prev"),
         "high_frustration": ("frustration",), "payment_risk": ("payment_issue",),
         "trial_expiring": ("trial_expiring",)}


@dataclass(frozen=True)
class Alert:
    entity: str
    type: str
    opened: date
    severity: str  # the entity's level on the day it opened
    cleared: date | None = None  # the first day the condition no longer held
    reason: str | None = None  # why it cleared: cleared | not_scored | not_evaluated
    resolved_by_hand: bool = False  # resolved with the action taken while the condition held
    id: int | None = None  # the store's (None: opened by this decision)
    snapshot: dict[str, Any] | None = field(default=None, compare=False)  # score, level, value at opening

    @property
    def open(self) -> bool:
        return self.cleared is None and not self.resolved_by_hand


@dataclass(frozen=True)
class Decision:
    opened: list[Alert]  # alerts opened in the range (some cleared in it too)
    cleared: list[Alert]  # alerts handed in that cleared in the range
    live: list[Alert]  # alerts whose episode goes on after the range (the next call's input)


def conditions(scored: pd.DataFrame) -> pd.DataFrame:
    """``entity``, ``day``, ``level``, ``score`` and a boolean ``holds_<type>`` column for each
    alert type whose signals are in the frame (plus those signals, for the snapshots)."""
    out = scored[[c for c in ("entity", "day", "level", "score") if c in scored.columns]].copy()
    num = {c: pd.to_numeric(scored[c], errors="coerce") for c in
           {c for cols in NEEDS.values() for c in cols} if c in scored.columns}
    for t in ALERT_TYPES:
        if not all(c in num for c in NEEDS[t]):
            continue
        if t == "inactivity":
            held = num["inactivity"] >= INACTIVE_DAYS
        elif t == "engagement_drop":
            held = (num["logins_prev"] > 0) & (2 * num["logins_last"] <= num["logins_prev"])
        elif t == "high_frustration":
            held = num["frustration"] >= FRUSTRATED  # NaN (no score) is never >= 70
        else:
            held = num[NEEDS[t][0]].fillna(0) > 0
        out[f"holds_{t}"] = held.fillna(False).astype(bool).to_numpy()
        for c in NEEDS[t]:
            out[c] = scored[c].to_numpy()
    return out


def _value(t: str, row: dict) -> Any:
    if t == "inactivity":
        return int(row["inactivity"])
    if t == "engagement_drop":
        return {"last": int(row["logins_last"]), "previous": int(row["logins_prev"])}
    if t == "high_frustration":
        return float(row["frustration"])
    return True


def decide(first: date, last: date, conds: pd.DataFrame, live: Iterable[Alert] = ()) -> Decision:
    """The alerts of local days [first, last] (consecutive; ``conds`` from :func:`conditions`,
    one row per scored entity-day), given the alerts ``live`` at the start of ``first``."""
    lo, hi = day_num(first), day_num(last)
    days = _day_numbers(conds)
    if len(days) and (days.min() < lo or days.max() > hi):
        raise ValueError(f"conditions for days outside {first} .. {last}")
    before: dict[tuple[str, str], Alert] = {}
    for a in live:
        before[(a.entity, a.type)] = a
    types = [t for t in ALERT_TYPES if f"holds_{t}" in conds.columns]
    scored = set(zip(conds["entity"].astype(str), days)) if len(conds) else set()
    opened, cleared, carried = [], [], []
    for t in types:
        o, c, k = _decide_type(t, conds, days, lo, hi, before, scored)
        opened += o
        cleared += c
        carried += k
    for (_, t), a in before.items():  # types no longer evaluated
        if t not in types:
            cleared.append(replace(a, cleared=first, reason="not_evaluated"))
    key = lambda a: (a.entity, a.type, a.opened)  # noqa: E731
    return Decision(sorted(opened, key=key), sorted(cleared, key=key), sorted(carried, key=key))


def _day_numbers(conds: pd.DataFrame) -> np.ndarray:
    if not len(conds):
        return np.zeros(0, dtype="int64")
    d = pd.to_datetime(conds["day"]).to_numpy().astype("datetime64[D]").astype("int64")
    return d


def _decide_type(t: str, conds: pd.DataFrame, days: np.ndarray, lo: int, hi: int,
                 before: dict, scored: set) -> tuple[list, list, list]:
    """One type: the runs of consecutive days it holds, per entity, become episodes."""
    held = conds[f"holds_{t}"].to_numpy(dtype=bool)
    h = pd.DataFrame({"entity": conds["entity"].astype(str).to_numpy()[held], "d": days[held],
                      "row": np.flatnonzero(held)}).sort_values(["entity", "d"], kind="stable")
    ent, d = h["entity"].to_numpy(), h["d"].to_numpy()
    starts = np.ones(len(h), dtype=bool)
    if len(h):
        starts[1:] = (ent[1:] != ent[:-1]) | (d[1:] != d[:-1] + 1)
    run = np.cumsum(starts)
    runs = h.assign(run=run).groupby("run", sort=True).agg(entity=("entity", "first"), start=("d", "min"),
                                                             end=("d", "max"), row=("row", "first"))
    opened, cleared, carried = [], [], []
    continued = set()
    records = conds.iloc[runs["row"].to_numpy()].to_dict("records") if len(runs) else []
    for (entity, start, end), row in zip(runs[["entity", "start", "end"]].itertuples(index=False), records):
        clear_day = int(end) + 1 if end < hi else None
        reason = None if clear_day is None else ("cleared" if (entity, clear_day) in scored else "not_scored")
        prior = before.get((entity, t))
        if prior is not None and start == lo:  # the episode began before the range
            continued.add(entity)
            if clear_day is None:
                carried.append(prior)
            else:
                cleared.append(replace(prior, cleared=from_day_num(clear_day), reason=reason))
            continue
        alert = Alert(entity, t, from_day_num(int(start)), str(row.get("level", "")),
                      from_day_num(clear_day) if clear_day is not None else None, reason,
                      snapshot={"score": _float(row.get("score")), "level": row.get("level"),
                                "value": _value(t, row)})
        opened.append(alert)
        if clear_day is None:
            carried.append(alert)
    for (entity, typ), prior in before.items():  # live before, not holding on the first day
        if typ == t and entity not in continued:
            reason = "cleared" if (entity, lo) in scored else "not_scored"
            cleared.append(replace(prior, cleared=from_day_num(lo), reason=reason))
    return opened, cleared, carried


def _float(v: Any) -> float | None:
    return None if v is None or v != v else float(v)
