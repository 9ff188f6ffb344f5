"""Manual values: the numbers people type in for kind: manual metrics (company-wide, audit-logged)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from daypulse.api.deps import CompanyAdmin, CompanyViewer, Day, Number, ProjectDep, StoreDep
from daypulse.api.problems import missing, responses
from daypulse.errors import UsageError
from daypulse.store import tokens
from daypulse.store.manual import list_values, parse_value, require_manual, set_value, unset_value

router = APIRouter(responses=responses(401, 403, 422, 503))




class ManualBody(BaseModel):
    """The value as an exact decimal: a string ("4500000", "14.5") or a number; money in cents."""

    model_config = ConfigDict(extra="forbid")
    value: Number
    note: str | None = Field(None, max_length=2000)


def _manual_metric(project, name: str, known_only: bool = True) -> None:
    """Refuse a metric that is not a manual one: 404 if the project has no such metric (unless
    ``known_only`` is False: values of a metric since removed from the project can still be
    listed and removed, as with the CLI), 422 if it is computed."""
    if name not in project.metrics:
        if not known_only:
            return
        raise HTTPException(404, f"no metric {name!r} (see /api/v1/metrics)")
    try:
        require_manual(project, name)
    except UsageError as exc:
        raise HTTPException(422, f"metric: {exc}") from None


@router.get("/manual-values", summary="Values typed in for kind: manual metrics (company-wide)",
            responses=missing("no such metric"))
def manual_values(who: CompanyViewer, project: ProjectDep, store: StoreDep,
                  metric: Annotated[str | None, Query(max_length=200)] = None) -> list[dict]:
    if metric is not None:
        _manual_metric(project, metric, known_only=False)
    found = list_values(store, metric)
    if metric is not None and not found:
        _manual_metric(project, metric)
    return [_manual(v) for v in found]


@router.put("/manual-values/{metric}/{date}", summary="Set a manual metric's value from a day on (admin)",
            responses=missing("no such metric"))
def set_manual_value(who: CompanyAdmin, project: ProjectDep, store: StoreDep,
                     metric: Annotated[str, Path(max_length=200)],
                     on: Annotated[Day, Path(alias="date")], body: ManualBody) -> dict:
    _manual_metric(project, metric)
    raw = repr(body.value) if isinstance(body.value, float) else str(body.value)
    try:
        result = set_value(store, metric, on, parse_value(project, metric, raw), note=body.note, set_by=who.name)
    except UsageError as exc:  # the CLI's wording names its VALUE argument; here it is the body's value
        message = str(exc)
        raise HTTPException(422, "value:" + message[6:] if message.startswith("VALUE:") else message) from None
    if result.changed:
        tokens.audit(store, who.name, "manual.set", f"{metric}@{on.isoformat()}", {
            "value": str(result.value.value), "note": result.value.note,
            "previous": str(result.previous.value) if result.previous else None})
    return {**_manual(result.value), "previous": str(result.previous.value) if result.previous else None,
            "changed": result.changed}


@router.delete("/manual-values/{metric}/{date}", status_code=204, response_class=Response,
               summary="Remove the value set for a day (admin)", responses=missing("no such metric or value"))
def unset_manual_value(who: CompanyAdmin, project: ProjectDep, store: StoreDep,
                       metric: Annotated[str, Path(max_length=200)],
                       on: Annotated[Day, Path(alias="date")]) -> Response:
    _manual_metric(project, metric, known_only=False)
    if not unset_value(store, metric, on):
        _manual_metric(project, metric)
        raise HTTPException(404, f"no value of {metric} is set from {on}")
    tokens.audit(store, who.name, "manual.unset", f"{metric}@{on.isoformat()}")
    return Response(status_code=204)


def _manual(v) -> dict:
    return {"metric": v.metric, "effective_from": v.effective_from.isoformat(), "value": str(v.value),
            "note": v.note, "set_by": v.set_by, "set_at": v.set_at.isoformat()}
