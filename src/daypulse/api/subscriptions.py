"""Subscriptions: the list (a scoped token sees those of its scope), add, pause or resume, remove."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from daypulse.api.deps import (
    Admin,
    Project,
    ProjectDep,
    StoreDep,
    SubscriptionId,
    Viewer,
    invalid,
    other_scope,
    visible,
    visible_reports,
)
from daypulse.api.problems import responses
from daypulse.delivery import subscription_store as subs
from daypulse.delivery.config import channel_kinds
from daypulse.delivery.schedule import error_message
from daypulse.delivery.subscription import SubscriptionDefinition, _context
from daypulse.store import tokens
from daypulse.store.tokens import Principal

router = APIRouter(responses=responses(401, 403, 404, 409, 422, 503))


@router.get("/subscriptions", summary="Subscriptions (a scoped token sees those of its scope)")
def subscriptions(who: Viewer, project: ProjectDep, store: StoreDep) -> list[dict]:
    return list(visible(project, store, who).values())


class ScheduleFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: str | None = Field(None, description="local time HH:MM")
    days: str | list[str] | None = Field(None, description="weekdays: mon or [mon, thu] (weekly)")
    day_of_month: int | str | None = Field(None, description="1-28 or last (monthly)")
    cron: str | None = Field(None, description="a 5-field cron expression in local time, instead of at")


class SubscriptionCreate(BaseModel):
    """As `daypulse subscriptions add` (and an entry under subscriptions: in daypulse.yml)."""

    model_config = ConfigDict(extra="forbid")

    report: str = Field(max_length=100)
    schedule: str | ScheduleFields = Field(description='"daily at 07:00", "weekly on mon at 09:00" or fields')
    timezone: str | None = Field(None, max_length=100, description="IANA zone (default: the project's)")
    channel: str = Field(max_length=100)
    to: str | list[str] | None = None
    filter: dict[str, str] = Field(default_factory=dict)
    name: str | None = Field(None, max_length=100)
    catch_up: Literal["latest", "all", "none"] = "latest"
    grace: str = "24h"
    active: bool = True


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool = Field(description="false pauses, true resumes")


@router.post("/subscriptions", summary="Add a subscription (admin)", status_code=201)
def add_subscription(who: Admin, store: StoreDep, project: Project, body: SubscriptionCreate) -> dict:
    data = body.model_dump(exclude_none=True)
    if other_scope(who, body.filter):
        raise HTTPException(403, "this token sees " + ", ".join(f"{k} {v!r}" for k, v in who.scope.items()) + " only")
    data["filter"] = {**body.filter, **who.scope}  # a scoped admin's subscriptions are of its scope
    try:
        # Only the reports this token may see: another tenant's is "unknown", and not listed.
        spec = SubscriptionDefinition.model_validate(data, context=_context(project.timezone, channel_kinds(project),
                                                                      visible_reports(project, who)))
    except ValidationError as err:
        raise invalid([(".".join(map(str, e["loc"])) or "subscription", error_message(e))
                        for e in err.errors()]) from None
    sub = subs.subscribe(project, store, spec, named=lambda field: field)
    tokens.audit(store, who.name, "subscription.add", sub.name, {"spec": subs.spec_data(spec)})
    return visible(project, store, who)[sub.name]


def _own_subscription(project, store, who: Principal, id: int) -> dict:
    """A subscription the token may change: visible to it (a scoped token's are of its scope),
    and added from the CLI or the API (daypulse.yml is the truth for its own). Its callers take
    the ``Project`` dependency so that a subscription of a template reads as valid here."""
    found = next((s for s in visible(project, store, who).values() if s["id"] == id), None)
    if found is None:
        raise HTTPException(404, f"no subscription {id} (see /api/v1/subscriptions)")
    if found["source"] == "yml":
        raise HTTPException(409, f"subscription {found['name']!r} is declared in daypulse.yml: edit it there"
                                 " (active: false pauses it)")
    return found


@router.patch("/subscriptions/{id}", summary="Pause or resume a subscription (admin)")
def change_subscription(who: Admin, store: StoreDep, project: Project, id: SubscriptionId,
                        body: Annotated[SubscriptionChange, Body()]) -> dict:
    sub = _own_subscription(project, store, who, id)
    subs.set_active(store, id, body.active)
    tokens.audit(store, who.name, "subscription.resume" if body.active else "subscription.pause", sub["name"])
    return visible(project, store, who)[sub["name"]]


@router.delete("/subscriptions/{id}", summary="Remove a subscription (admin; its delivery history stays)")
def remove_subscription(who: Admin, store: StoreDep, project: Project, id: SubscriptionId) -> dict:
    sub = _own_subscription(project, store, who, id)
    subs.remove(store, id)
    tokens.audit(store, who.name, "subscription.remove", sub["name"])
    return {"removed": sub["name"], "id": id}
