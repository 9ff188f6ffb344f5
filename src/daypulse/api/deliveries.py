"""The delivery history (a scoped token sees its subscriptions' deliveries) and retrying one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from daypulse.api.deps import Admin, ProjectDep, StoreDep, Viewer, delivery_json, visible
from daypulse.api.problems import responses
from daypulse.delivery import ledger
from daypulse.store import tokens

router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))


@router.get("/deliveries", summary="The delivery history, newest first")
def deliveries(who: Viewer, project: ProjectDep, store: StoreDep,
               status: Literal["pending", "sending", "sent", "failed", "skipped"] | None = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    shown = visible(project, store, who)
    rows = ledger.listing(store, status=status, limit=limit,
                          among=list(shown) if who.scope else None)
    return [delivery_json(r) for r in rows]


@router.post("/deliveries/{id}/retry", summary="Send a failed or skipped delivery again at the next pass")
def retry(who: Admin, project: ProjectDep, store: StoreDep, id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> dict:
    row = ledger.get(store, id)
    if row is None or row.subscription not in visible(project, store, who):
        raise HTTPException(404, f"no delivery {id}")
    if not ledger.retry(store, id, datetime.now(UTC)):
        raise HTTPException(409, f"delivery {id} is {row.status}: only failed or skipped deliveries are retried")
    tokens.audit(store, who.name, "delivery.retry", str(id), {"subscription": row.subscription})
    return delivery_json(ledger.get(store, id))
