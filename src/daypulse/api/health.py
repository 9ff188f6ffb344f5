"""Health: the process is up (``/healthz``), the store is reachable at the current schema (``/readyz``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from daypulse.api.deps import StoreDep
from daypulse.errors import DaypulseError

router = APIRouter()


@router.get("/healthz", summary="The process is up")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", summary="The store is reachable and at the current schema",
            responses={503: {"description": "not ready: the store is unreachable or needs an upgrade"}})
def readyz(store: StoreDep):
    try:
        ready = store.revision() == store.head()
    except (DaypulseError, SQLAlchemyError) as err:  # the store cannot be reached: not ready
        return JSONResponse({"status": "unavailable", "detail": str(err).splitlines()[0]}, status_code=503)
    if not ready:
        return JSONResponse({"status": "unavailable", "detail": "the store needs `daypulse db upgrade`"},
                            status_code=503)
    return {"status": "ready"}
