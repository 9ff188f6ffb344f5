"""The retention triangle from the queries' per-signup-day numbers (pure, vectorised over days):
one cell per (cohort, period), the contract's export records (DESIGN §9).

A cohort is the week (from the project's ``week_start``) or month holding the signup day, named
by its first local day. **Users**: period k is the k-th week after each member's own signup day;
week 0 is the cohort itself (rate 1); week k is reported only once s + 7k + 6 is a complete day
for every member (the cohort's last signup day s). **Revenue**: the cohort's MRR at the end of
the k-th period (week or month, as the cohorts) after its own over its MRR at the end of its own;
a period is reported once it is over.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from daypulse.calendar import Calendar, day_num

EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Cell:
    cohort: date  # the cohort's first local day
    by: str  # week | month
    measure: str  # users | revenue
    size: int  # customers, or MRR in cents at the end of period 0
    period: int  # k
    unit: str  # week (users; revenue by week) | month (revenue by month)
    retained: int  # customers active in week k, or MRR in cents at the end of period k
    rate: float | None  # retained / size, 4 decimals (None when size is 0)

    def record(self) -> dict:
        out = asdict(self)
        out["cohort"] = self.cohort.isoformat()
        return out


def cohort_of(days: np.ndarray, by: str, week_start: str) -> np.ndarray:
    """The first day (a day number) of the week or month holding each day number."""
    days = np.asarray(days, dtype=np.int64)
    if by == "week":
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        shift = weekday if week_start == "monday" else (weekday + 1) % 7
        return days - shift
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64)


def period_index(starts: np.ndarray, by: str) -> np.ndarray:
    """Consecutive integers for consecutive weeks or months (of their first days)."""
    starts = np.asarray(starts, dtype=np.int64)
    if by == "week":
        return starts // 7
    return starts.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def period_ends(cal: Calendar, by: str, first: date, last: date) -> list[date]:
    """The last day of every week or month from the one holding ``first`` that is over by ``last``."""
    return [e for p in cal.periods(by, first, last) if (e := cal.period_end(by, p)) <= last]


def user_cells(sizes: pd.DataFrame, counts: pd.DataFrame, by: str, week_start: str, last: date) -> list[Cell]:
    if sizes.empty:
        return []
    s = sizes.assign(c=cohort_of(sizes.s.to_numpy(), by, week_start))
    cohorts = s.groupby("c").agg(size=("n", "sum"), last_s=("s", "max"))
    retained = {}
    if not counts.empty:
        k = counts.assign(c=cohort_of(counts.s.to_numpy(), by, week_start)).groupby(["c", "k"]).n.sum()
        retained = {(int(c), int(kk)): int(n) for (c, kk), n in k.items()}
    end = day_num(last)
    out = []
    for c, row in cohorts.sort_index().iterrows():
        size, top = int(row["size"]), (end - int(row["last_s"]) - 6) // 7
        start = EPOCH + timedelta(days=int(c))
        out.append(Cell(start, by, "users", size, 0, "week", size, 1.0 if size else None))
        for kk in range(1, top + 1):
            n = retained.get((int(c), kk), 0)
            out.append(Cell(start, by, "users", size, kk, "week", n, round(n / size, 4) if size else None))
    return out


def revenue_cells(sums: pd.DataFrame, by: str, week_start: str, ends: list[date],
                  cohort_starts: list[date]) -> list[Cell]:
    """``ends``: the complete periods' last days; ``cohort_starts``: the cohorts with signups (one
    without MRR at its own end, all trials say, has size 0 and rate None)."""
    if not ends:
        return []
    last_ix = int(period_index(cohort_of(np.array([day_num(ends[-1])]), by, week_start), by)[0])
    mrr: dict[tuple[int, int], int] = {}
    if not sums.empty:
        c = cohort_of(sums.s.to_numpy(), by, week_start)
        k = period_index(cohort_of(sums.end.to_numpy(), by, week_start), by) - period_index(c, by)
        frame = pd.DataFrame({"c": c, "k": k, "mrr": sums.mrr.to_numpy()})
        frame = frame[frame.k >= 0].groupby(["c", "k"]).mrr.sum()
        mrr = {(int(a), int(b)): int(v) for (a, b), v in frame.items()}
    unit = by
    out = []
    for start in cohort_starts:
        c = day_num(start)
        top = last_ix - int(period_index(np.array([c]), by)[0])
        if top < 0:
            continue
        size = mrr.get((c, 0), 0)
        for kk in range(top + 1):
            v = mrr.get((c, kk), 0)
            out.append(Cell(start, by, "revenue", size, kk, unit, v, round(v / size, 4) if size else None))
    return out
