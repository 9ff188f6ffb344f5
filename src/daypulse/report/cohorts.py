"""A report's cohort block (``cohorts:`` in a report definition): the latest signup cohorts
complete to the report's last day, as a table of W1, W4 and W12 (users) or of MRR retained after
1, 3 and 6 periods (revenue), with the cohorts together on the total row. Made of the report
model's breakdown table, so every renderer shows it as it shows any."""

from __future__ import annotations

from datetime import timedelta

from daypulse.cohorts.config import sources
from daypulse.cohorts.run import current_grid
from daypulse.errors import SourceError, UserError
from daypulse.report.model import Breakdown, BreakdownRow, Section

COLUMNS = {"users": (1, 4, 12), "revenue": (1, 3, 6)}


def cohort_section(project, store, block, end, filter: dict[str, str], today=None) -> tuple[Section | None, list[str]]:
    """``end``: the report's last day; the grid is complete to it, or to yesterday when the
    period is not over (a running week is never shown as complete)."""
    if today is not None and end >= today:
        end = today - timedelta(days=1)
    try:
        have = set(sources(project).signups.dimensions)
    except UserError as exc:
        return None, [f"Cohorts left out: {exc}"]
    if other := sorted(set(filter) - have):
        return None, [f"Cohorts are not kept by {', '.join(other)}, left out."]
    try:
        cells, _ = current_grid(project, store, block.by, block.measure, end, cohorts=block.cohorts, dims=filter)
    except (UserError, SourceError) as exc:
        return None, [f"Cohorts left out: {exc}"]
    if not cells:
        return None, [f"Cohorts: no signups in the last {block.cohorts} {block.by}s."]
    ks = COLUMNS[block.measure]
    unit = "W" if cells[0].unit == "week" else "M"
    grid: dict = {}
    for c in cells:
        grid.setdefault(c.cohort, {})[c.period] = c
    rows = []
    for cohort, row in grid.items():
        label = f"{cohort:%b %Y}" if block.by == "month" else f"{cohort:%d %b %Y}"
        rows.append(BreakdownRow(label, [row[0].size, *(row[k].rate if k in row else None for k in ks)], None,
                                 key=cohort.isoformat()))
    together = []
    for k in ks:  # all cohorts together: retained over size, among the cohorts that have period k
        have_k = [r for r in grid.values() if k in r and r[0].size]
        together.append(round(sum(r[k].retained for r in have_k) / sum(r[0].size for r in have_k), 4)
                        if have_k else None)
    size_fmt = "integer" if block.measure == "users" else "currency"
    title = (f"{'Customers active' if block.measure == 'users' else 'MRR retained'} by {block.by}ly signup cohort"
             f" (to {end})")
    table = Breakdown(title=title, dimension="cohort", columns=["Size", *(f"{unit}{k}" for k in ks)],
                      fmts=[size_fmt, *("percent" for _ in ks)], rows=rows,
                      total=[sum(r[0].size for r in grid.values()), *together])
    return Section(block.title, [], [table]), []
