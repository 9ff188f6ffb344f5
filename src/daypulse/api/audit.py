"""The audit log: who changed, exported or sent what (company-wide: an unscoped admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from daypulse.api.deps import CompanyAdmin, StoreDep
from daypulse.api.problems import responses
from daypulse.store import tokens

router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))


@router.get("/audit", summary="Who changed, exported or sent what (admin)")
def audit(who: CompanyAdmin, store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict]:
    return tokens.audit_entries(store, limit)
