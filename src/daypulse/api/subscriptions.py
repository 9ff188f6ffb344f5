"""Subscriptions: the list (a scoped token sees those of its scope), add, edit (pause or resume,
schedule, zone, target, filter), remove."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

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
from daypulse.delivery.subscription import FieldErrors, SubscriptionDefinition, validate_fields
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
    """Any of these (at least one); the others stay as they are. Validated as a new subscription
    is (`POST /subscriptions`), with the same messages."""

    model_config = ConfigDict(extra="forbid")

    # Not nullable: a null active or schedule is 422 (their absence leaves them as they are).
    active: bool = Field(None, description="false pauses, true resumes")  # type: ignore[assignment]
    schedule: str | ScheduleFields = Field(  # type: ignore[assignment]
        None, description='a whole new schedule ("daily at 17:00"), or fields that change the current one'
                          ' ({"at": "17:00"} keeps a weekly one\'s days; {"days": null} makes it daily)')
    timezone: str | None = Field(None, max_length=100, description="IANA zone (null: the project's)")
    to: str | list[str] | None = Field(None, description="the target (null: none, for a file channel's root)")
    filter: dict[str, str] | None = Field(None, description="dimension values (null or {}: none)")
    # What POST takes and an edit cannot change: refused with the reason (not in the schema).
    name: SkipJsonSchema[Any] = None
    report: SkipJsonSchema[Any] = None
    channel: SkipJsonSchema[Any] = None
    catch_up: SkipJsonSchema[Any] = None
    grace: SkipJsonSchema[Any] = None

    @field_validator("name", "report", "channel", "catch_up", "grace", mode="before")
    @classmethod
    def _fixed(cls, v: Any, info) -> None:
        why = {"name": "deliveries are keyed by it (add a new subscription to start a new history)",
               "report": "a subscription to another report is a new subscription (add one)",
               "channel": "a subscription to another channel is a new subscription (add one)"}
        raise PydanticCustomError("fixed", "cannot be changed by an edit: {why}",
                                  {"why": why.get(info.field_name, "set it when adding the subscription")})


def _validated(project, who: Principal, data: dict) -> SubscriptionDefinition:
    """``data`` as a subscription, checked as the POST checks it (422 naming each field). Only the
    reports this token may see: another tenant's is "unknown", and not listed."""
    try:
        return validate_fields(data, project_timezone=project.timezone, channels=channel_kinds(project),
                               reports=visible_reports(project, who))
    except FieldErrors as err:
        raise invalid(err.problems) from None


def _forbid_other_scope(who: Principal, filter: dict) -> None:
    if other_scope(who, filter):
        raise HTTPException(403, "this token sees " + ", ".join(f"{k} {v!r}" for k, v in who.scope.items()) + " only")


@router.post("/subscriptions", summary="Add a subscription (admin)", status_code=201)
def add_subscription(who: Admin, store: StoreDep, project: Project, body: SubscriptionCreate) -> dict:
    data = body.model_dump(exclude_none=True)
    _forbid_other_scope(who, body.filter)
    data["filter"] = {**body.filter, **who.scope}  # a scoped admin's subscriptions are of its scope
    spec = _validated(project, who, data)
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


@router.patch("/subscriptions/{id}", summary="Edit a subscription: pause or resume, schedule, zone, target,"
                                             " filter (admin)")
def change_subscription(who: Admin, store: StoreDep, project: Project, id: SubscriptionId,
                        body: Annotated[SubscriptionChange, Body()]) -> dict:
    sub = _own_subscription(project, store, who, id)
    given = body.model_fields_set
    if not given:
        raise invalid([("body", "nothing to change: give active, schedule, timezone, to or filter")])
    if given == {"active"}:  # pause or resume, as before
        subs.set_active(store, id, body.active)
        tokens.audit(store, who.name, "subscription.resume" if body.active else "subscription.pause", sub["name"])
        return visible(project, store, who)[sub["name"]]
    changes = _changes(who, body)
    subs.edit(project, store, id, changes, validate=lambda data: _validated(project, who, data),
              named=lambda field: field, actor=who.name)
    return visible(project, store, who)[sub["name"]]


def _changes(who: Principal, body: SubscriptionChange) -> dict:
    """The body as changes for ``subscription_store.edit``: only the fields given; a scoped admin's
    filter keeps its scope (another tenant's is 403: a subscription never leaves its tenant)."""
    changes = {}
    for field in body.model_fields_set:
        value = getattr(body, field)
        if field == "schedule" and isinstance(value, ScheduleFields):
            value = {k: getattr(value, k) for k in value.model_fields_set}  # a field given as null is removed
        changes[field] = value
    if "filter" in changes:
        _forbid_other_scope(who, changes["filter"] or {})
        changes["filter"] = {**(changes["filter"] or {}), **who.scope}
    return changes


@router.delete("/subscriptions/{id}", summary="Remove a subscription (admin; its delivery history stays)")
def remove_subscription(who: Admin, store: StoreDep, project: Project, id: SubscriptionId) -> dict:
    sub = _own_subscription(project, store, who, id)
    subs.remove(store, id)
    tokens.audit(store, who.name, "subscription.remove", sub["name"])
    return {"removed": sub["name"], "id": id}
