"""A cohort grid computed: the range of cohorts asked for, the query of the measure, the cells."""

from __future__ import annotations

from datetime import date, timedelta

from daypulse.cohorts.config import BY, MEASURES, sources
from daypulse.cohorts.grid import EPOCH, Cell, cohort_of, period_ends, revenue_cells, user_cells
from daypulse.cohorts.query import revenue_sums, user_counts
from daypulse.compile.rows import Source
from daypulse.errors import UsageError
from daypulse.project.model import Project

MAX_COHORTS = 520  # ten years of weekly cohorts


def compute_cohorts(project: Project, by: str, measure: str, last: date, *, cohorts: int = 12,
                    dims: dict[str, str] | None = None, source: Source | None = None) -> list[Cell]:
    """The ``cohorts`` weekly or monthly cohorts ending with the one holding ``last`` (the last
    complete local day), every cell of the measure that is complete by ``last``."""
    if by not in BY:
        raise UsageError(f"--by: {by!r} is not one of {', '.join(BY)}")
    if measure not in MEASURES:
        raise UsageError(f"--measure: {measure!r} is not one of {', '.join(MEASURES)}")
    if not 1 <= cohorts <= MAX_COHORTS:
        raise UsageError(f"--cohorts: {cohorts} is not between 1 and {MAX_COHORTS}")
    cal = project.calendar
    first = cal.shift(by, cal.period_start(by, last), cohorts - 1)
    srcs = sources(project)
    if measure == "revenue" and srcs.revenue is None:
        raise UsageError("--measure revenue: the project has no MRR definition (a state metric mrr, or"
                         " cohorts.revenue.metric; see docs/cohorts.md)")
    src = source or Source.open(project.source)
    if measure == "users":
        sizes, counts = user_counts(src, project, srcs, first, last, dims or {})
        return user_cells(sizes, counts, by, cal.week_start, last)
    ends = period_ends(cal, by, first, last)
    if not ends:
        return []
    sizes, sums = revenue_sums(src, project, srcs, first, last, dims or {}, ends)
    starts = sorted({int(x) for x in cohort_of(sizes.s.to_numpy(), by, cal.week_start)}) if len(sizes) else []
    return revenue_cells(sums, by, cal.week_start, ends, [EPOCH + timedelta(days=x) for x in starts])
