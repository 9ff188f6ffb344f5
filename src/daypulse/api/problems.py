"""Problem details (RFC 9457): how every API error is answered, and how OpenAPI documents them."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

PROBLEM = "application/problem+json"
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large", 422: "Unprocessable Content"}


class Problem(BaseModel):
    """RFC 9457 problem details: every error the API answers."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[dict] | None = None  # 422: [{"field", "message"}]


def responses(*codes: int) -> dict:
    words = {400: "the body cannot be read (not UTF-8, or not the media type it says)",
             401: "no token, or an unknown or revoked one", 403: "the token's role or scope does not allow it",
             404: "no such metric, delivery or value", 409: "the delivery is not in a state that allows it",
             422: "a parameter is invalid (the field is named)", 503: "the store cannot be reached"}
    return {c: {"model": Problem, "description": words[c], "content": {"application/problem+json": {}}}
            for c in codes}


def problem(status: int, title: str, detail: str | None = None, **extra) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, **({"detail": detail} if detail else {}),
            **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def document_unreadable_bodies(routes) -> None:
    """Every operation that takes a body may answer 400 when the body cannot be parsed at all
    (FastAPI's own answer, before validation): say so in the OpenAPI document."""
    for route in routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses.setdefault(400, responses(400)[400])


def conflict(what: str) -> dict:
    return {409: {**responses(409)[409], "description": what}}


def missing(what: str) -> dict:
    return {404: {**responses(404)[404], "description": what}}
