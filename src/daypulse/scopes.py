"""What a token's scope lets a read cover, for the reads that are not a metric's values (churn
scores, cohorts, alert rules and events), where the API and the dashboard must say the same."""

from __future__ import annotations

from collections.abc import Iterable


class FilterRefused(Exception):
    """A filter or a scope a read cannot answer: ``forbidden`` when the scope forbids it (another
    tenant's rows, or a scope on a dimension the rows do not keep), else the filter is wrong."""

    def __init__(self, message: str, forbidden: bool):
        super().__init__(message)
        self.forbidden = forbidden


def visible_filter(what: str, dimensions: Iterable[str], scope: dict[str, str],
                   asked: dict[str, str]) -> dict[str, str]:
    """The dimension values a read of ``what`` ("churn scores", "signups") covers: what was asked,
    within the token's scope. A scope on a dimension ``what`` does not keep is refused: any row
    could be another tenant's."""
    have = set(dimensions)
    scope_text = ", ".join(f"{k} {v!r}" for k, v in sorted(scope.items()))
    for dim in asked:
        if dim not in have:
            raise FilterRefused(f"{dim}: {what} have no dimension {dim!r}"
                                f" (dimensions: {', '.join(sorted(have)) or 'none'})", forbidden=False)
    for dim, value in scope.items():
        if dim in asked and asked[dim] != value:
            raise FilterRefused(f"this token sees {scope_text} only", forbidden=True)
        if dim not in have:
            raise FilterRefused(f"{what} are not kept by {dim}: any of them could be another {dim}'s,"
                                f" and this token sees {scope_text} only", forbidden=True)
    return {**asked, **scope}


def within(dims: dict | None, want: dict[str, str]) -> bool:
    """Whether stored dimension values hold every wanted one (a scope, a filter)."""
    return all(str((dims or {}).get(k)) == v for k, v in want.items())
