"""Subscriptions: which report goes where, and when (``subscriptions:`` in daypulse.yml, or the CLI).

.. code-block:: yaml

    subscriptions:
      - name: ops-daily                 # optional; lower case, digits, - and _
        report: daily
        schedule: daily at 00:01        # or {at: "00:01", days: [mon]}, or {cron: "1 0 * * *"}
        timezone: Asia/Kolkata          # IANA; default: the project's
        channel: slack-bot              # slack-webhook | slack-bot | email | webhook | file | a configured channel
        to: C0123456789
        filter: {tenant: acme}          # optional
        template: templates/ops         # optional
        active: true
        catch_up: latest                # latest | all | none
        grace: 6h                       # default 24h

``to`` by channel kind: slack-bot → a channel **ID** (C…/G…/D…; ``files_upload_v2`` refuses
names); email → one or more addresses (a list or comma-separated; always a list once parsed);
webhook → an http(s) URL; file → a folder; slack-webhook → nothing (the webhook's URL, a
secret kept in the environment, fixes its channel). With a channel configured in the
project (``channels``: name → kind) ``to`` may be left out and is checked against that kind.

:func:`parse_subscription` / :func:`parse_subscriptions` raise one ConfigError listing every
problem (with file:line when given the loader's ``Located``); :func:`subscription_from_options`
raises a UsageError naming the flags. Both exit 2.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import PurePath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from daypulse.delivery.schedule import (
    CATCH_UP,
    DEFAULT_GRACE,
    Schedule,
    check_zone,
    error_message,
    parse_duration,
)
from daypulse.errors import ConfigError, Issue, UsageError

if TYPE_CHECKING:
    from daypulse.project.located import Located

# The kinds' names, here without importing the channels (their libraries take a third of a
# second to import, and every command checks subscriptions); tests hold it equal to CHANNELS.
CHANNEL_KINDS = ("slack-webhook", "slack-bot", "email", "webhook", "file")
NAME = r"^[a-z][a-z0-9_-]*$"
_SLACK_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# CLI flag of each field (schedule fields are flat on the command line).
FLAGS = {("schedule", "at"): "--at", ("schedule", "days"): "--days", ("schedule", "day_of_month"): "--day-of-month",
         ("schedule", "cron"): "--cron", ("schedule",): "--at/--cron"}


class SubscriptionDefinition(BaseModel):
    """One subscription. Validate with context ``{"timezone": project zone, "channels": {name: kind},
    "reports": [names]}`` (all optional) — or use :func:`parse_subscription`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    report: str
    schedule: Schedule
    timezone: str
    channel: str
    to: str | list[str] | None = Field(None, validate_default=True)  # after channel: checked by its kind
    filter: dict[str, str] = Field(default_factory=dict)
    template: str | None = None
    active: bool = True
    catch_up: str = "latest"
    grace: timedelta = DEFAULT_GRACE

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any, info: ValidationInfo) -> Any:
        zone = (info.context or {}).get("timezone")
        if isinstance(data, dict) and data.get("timezone") is None and zone:
            data = {**data, "timezone": zone}
        return data

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and (not re.fullmatch(NAME, v) or len(v) > 100):
            raise ValueError(f"invalid name {v!r} (up to 100 lower case letters, digits, - and _, starting with"
                             " a letter)")
        return v

    @field_validator("report")
    @classmethod
    def _report(cls, v: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("reports")
        if known is not None and v not in known:
            raise ValueError(f"unknown report {v!r}{_did_you_mean(v, known)}; reports: {', '.join(known)}")
        if known is None and not re.fullmatch(NAME, v):
            raise ValueError(f"invalid report name {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        return check_zone(v)

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str, info: ValidationInfo) -> str:
        configured = _configured(info)
        if v in CHANNEL_KINDS or v in configured:
            return v
        names = [*CHANNEL_KINDS, *configured]
        raise ValueError(f"unknown channel {v!r}{_did_you_mean(v, names)}; channels: {', '.join(names)}")

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any, info: ValidationInfo) -> str | list[str] | None:
        channel = info.data.get("channel")
        if channel is None:  # the channel itself was invalid: reported there
            return v
        kind = channel if channel in CHANNEL_KINDS else _configured(info).get(channel)
        if kind == "slack-webhook":
            if v not in (None, "", []):
                raise ValueError("an incoming webhook posts to the channel it was created for: leave `to` out"
                                 " (its URL is a secret: name its environment variable in channels:"
                                 " <name>: {kind: slack-webhook, url_env: ...})")
            return None
        if v is None or v == "" or v == []:
            if channel in CHANNEL_KINDS and channel != "file":  # a file channel writes to its root
                from daypulse.delivery.channels.registry import CHANNELS  # heavy: see CHANNEL_KINDS

                raise ValueError(f"channel {channel} needs a target (to: {CHANNELS[channel].target})")
            return None
        if kind == "email":
            return check_emails(v)
        if isinstance(v, list):
            raise ValueError(f"channel {channel} takes one target, not a list")
        return check_target(kind, str(v))

    @field_validator("filter", mode="before")
    @classmethod
    def _filter(cls, v: Any) -> Any:
        if isinstance(v, str):  # CLI: tenant=acme,region=eu
            return parse_filter(v)
        if isinstance(v, dict):  # YAML may read tenant: 42 as a number
            return {k: str(val) if isinstance(val, int | float) and not isinstance(val, bool) else val
                    for k, val in v.items()}
        return v

    @field_validator("catch_up", mode="before")
    @classmethod
    def _catch_up(cls, v: Any) -> str:
        if v not in CATCH_UP:
            raise ValueError(f"unknown catch_up {v!r} (expected latest, all or none)")
        return v

    @field_validator("grace", mode="before")
    @classmethod
    def _grace(cls, v: Any) -> timedelta:
        return parse_duration(v)

    @property
    def label(self) -> str:
        """How lists and logs name it: its name, else report → channel."""
        return self.name or f"{self.report} → {self.channel}"


def parse_filter(text: str) -> dict[str, str]:
    """``tenant=acme,region=eu`` as {dimension: value} (the CLI's --filter, the dashboard's form)."""
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 or not p[0].strip() for p in pairs):
        raise ValueError(f"invalid filter {text!r} (expected dimension=value, e.g. tenant=acme)")
    return {k.strip(): val.strip() for k, val in pairs}


def check_target(kind: str | None, target: str) -> str:
    """``target`` if it suits a channel of ``kind`` (None: a configured channel of unknown kind)."""
    target = target.strip()
    if kind == "slack-bot":
        if not _SLACK_ID.match(target):
            what = "a channel name" if target.startswith("#") or target.islower() else "not a channel ID"
            raise ValueError(f"slack-bot target {target!r} is {what}: give the channel ID (like C1234567890,"
                             " in the channel's details in Slack), because files_upload_v2 needs an ID")
        return target
    if kind in ("webhook", "slack-webhook"):
        return check_url(target)
    if kind == "email":
        return check_emails(target)[0]
    if kind == "file":
        if not target:
            raise ValueError("file target is empty (expected a folder)")
        rel = PurePath(target)
        if any(ord(c) < 32 or ord(c) == 127 for c in target):
            raise ValueError("file target holds a control character (expected a folder name)")
        if rel.is_absolute() or rel.drive or ".." in rel.parts:
            raise ValueError(f"file target {target!r} must be a folder under the channel's root (relative,"
                             " without '..'); set the channel's `root` to write elsewhere")
    return target


def check_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", url)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"malformed URL {url!r} (expected an http:// or https:// URL with a host)")
    return url


def check_emails(value: str | list) -> list[str]:
    """The addresses of a target, each as written ("Ann <a@x.com>" keeps its display name; a comma
    inside a quoted name is the name's); a malformed one is a ValueError naming it."""
    items = [str(a) for a in ([value] if isinstance(value, str) else list(value))]
    written = [w.strip() for item in items for w in _split_addresses(item) if w.strip()]
    if not written:
        raise ValueError("no email address given")
    for w in written:
        _, addr = parseaddr(w)
        bare = addr if "<" in w else w  # without angle brackets the whole text is the address
        if not _EMAIL.match(bare) or ".." in bare.split("@")[0] or ("<" in w and not w.endswith(">")):
            raise ValueError(f"malformed email address {w!r} (expected name@example.com)")
    return written


def _split_addresses(text: str) -> list[str]:
    """Split at the commas outside double quotes and angle brackets, keeping each address as
    written (``email.utils.getaddresses`` parses the same but returns what it could make of a
    malformed one, not what the person wrote: the error must quote that)."""
    parts, current, quoted, angled = [], "", False, False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angled = True
        elif ch == ">" and not quoted:
            angled = False
        if ch == "," and not quoted and not angled:
            parts.append(current)
            current = ""
            continue
        current += ch
    return [*parts, current]


def _configured(info: ValidationInfo) -> Mapping[str, str]:
    return (info.context or {}).get("channels") or {}


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _context(project_timezone: str | None, channels: Mapping[str, str] | None,
             reports: Iterable[str] | None) -> dict:
    return {"timezone": project_timezone, "channels": dict(channels or {}),
            "reports": list(reports) if reports is not None else None}


def parse_subscriptions(raw: list, *, project_timezone: str, channels: Mapping[str, str] | None = None,
                        reports: Iterable[str] | None = None, loc: Located | None = None,
                        file: str = "daypulse.yml") -> list[SubscriptionDefinition]:
    """Every subscription under ``subscriptions:``; one ConfigError with all problems (and
    duplicate names)."""
    issues: list[Issue] = []
    specs: list[SubscriptionDefinition] = []
    for i, item in enumerate(raw or []):
        try:
            specs.append(parse_subscription(item, project_timezone=project_timezone, channels=channels,
                                            reports=reports, loc=loc, index=i, file=file))
        except ConfigError as err:
            issues += err.issues
    seen: set[str | None] = set()
    for i, spec in enumerate(specs):
        if spec.name is not None and spec.name in seen:
            issues.append(_issue(loc, file, i, ("name",), f"duplicate subscription name {spec.name!r}"))
        seen.add(spec.name)
    if issues:
        raise ConfigError(issues)
    return specs


def parse_subscription(raw: Any, *, project_timezone: str, channels: Mapping[str, str] | None = None,
                       reports: Iterable[str] | None = None, loc: Located | None = None, index: int = 0,
                       file: str = "daypulse.yml") -> SubscriptionDefinition:
    """One subscription from daypulse.yml; ConfigError with an Issue per problem."""
    if not isinstance(raw, dict):
        raise ConfigError([_issue(loc, file, index, (), "a subscription is a mapping (report:, schedule:,"
                                                       " channel:, to: ...)")])
    try:
        return SubscriptionDefinition.model_validate(raw, context=_context(project_timezone, channels, reports))
    except ValidationError as err:
        raise ConfigError([_issue(loc, file, index, tuple(e["loc"]), error_message(e))
                           for e in err.errors()]) from None


def subscription_from_options(options: Mapping[str, Any], *, project_timezone: str,
                              channels: Mapping[str, str] | None = None,
                              reports: Iterable[str] | None = None) -> SubscriptionDefinition:
    """A subscription from CLI flags (flat: ``at``, ``days``, ``day_of_month``, ``cron`` beside
    ``report``, ``channel``, ``to``...; None means not given). UsageError naming each flag."""
    given = {k: v for k, v in options.items() if v is not None}
    schedule = {k: given.pop(k) for k in SCHEDULE_FIELDS if k in given}
    return validate_options({**given, "schedule": schedule}, project_timezone=project_timezone,
                            channels=channels, reports=reports)


def validate_options(data: Mapping[str, Any], *, project_timezone: str, channels: Mapping[str, str] | None = None,
                     reports: Iterable[str] | None = None,
                     flags: Mapping[str, str] | None = None) -> SubscriptionDefinition:
    """A subscription from fields as the CLI gathers them (``schedule`` a mapping of fields or
    text); UsageError naming each flag as `subscriptions add` does. ``flags``: a field -> flag that
    overrides the usual one for every problem under that field (``{"schedule": "--schedule"}``)."""
    try:
        return SubscriptionDefinition.model_validate(dict(data), context=_context(project_timezone, channels, reports))
    except ValidationError as err:
        problems = []
        for e in err.errors():
            where = tuple(e["loc"])
            flag = ((flags or {}).get(str(where[0])) if where else None) or FLAGS.get(where) or (
                f"--{str(where[0]).replace('_', '-')}" if where else "options")
            problems.append(f"{flag}: {error_message(e)}")
        raise UsageError("; ".join(problems)) from None


class FieldErrors(UsageError):
    """Bad fields of a subscription as the API and the dashboard name them: ``problems`` is a list
    of (field, message), ``schedule.at`` for a field inside the schedule."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))


def validate_fields(data: Mapping[str, Any], *, project_timezone: str, channels: Mapping[str, str] | None = None,
                    reports: Iterable[str] | None = None) -> SubscriptionDefinition:
    """A subscription from the API's fields (``POST`` and ``PATCH /subscriptions``, the dashboard's
    form); FieldErrors naming each field."""
    try:
        return SubscriptionDefinition.model_validate(dict(data), context=_context(project_timezone, channels, reports))
    except ValidationError as err:
        raise FieldErrors([(".".join(map(str, e["loc"])) or "subscription", error_message(e))
                           for e in err.errors()]) from None


# -- editing ---------------------------------------------------------------------------------

# What an edit may change. The report and channel are what the subscription is (and the name is
# its deliveries' key): a different one is a new subscription.
EDITABLE = ("schedule", "timezone", "to", "filter", "template", "active")
SCHEDULE_FIELDS = ("at", "days", "day_of_month", "cron")
# What is rendered, and where it goes: an edit of one of these renders unsent deliveries again.
CONTENT_FIELDS = ("to", "filter", "template")


def merge_schedule(current: Any, given: Any) -> Any:
    """The schedule after an edit. Text (``"daily at 17:00"``) replaces it. Fields change only
    those given over the current schedule's: ``{"at": "17:00"}`` keeps the days of a weekly one;
    ``days`` replaces a day of the month and ``day_of_month`` the days; ``cron`` replaces the
    whole schedule, and fields given to a cron schedule start from nothing (so need ``at``). A
    field given as None is removed (``{"days": None}``: a weekly schedule becomes daily)."""
    if not isinstance(given, Mapping):
        return given
    try:
        base = Schedule.model_validate(current)
    except ValidationError:  # the stored one no longer parses: the fields given are the schedule
        base = None
    fields: dict[str, Any] = {}
    if base is not None and base.cron is None and given.get("cron") is None:
        fields = {"at": base.at.strftime("%H:%M") if base.at else None,
                  "days": list(base.days) if base.days else None, "day_of_month": base.day_of_month}
    if given.get("days") is not None:
        fields.pop("day_of_month", None)
    if given.get("day_of_month") is not None:
        fields.pop("days", None)
    fields.update(given)
    return {k: v for k, v in fields.items() if v is not None}


def edited(raw: Mapping[str, Any], changes: Mapping[str, Any]) -> dict:
    """A stored subscription (as daypulse.yml would write it) with ``changes`` applied, to be
    validated like a new one. A change to None sets the field back to its default: ``to`` none
    (a file channel's root), ``timezone`` the project's, ``filter`` none, ``template`` the report's."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValueError(f"not editable: {', '.join(unknown)}")
    data = dict(raw)
    for field, value in changes.items():
        if field == "schedule":
            data["schedule"] = merge_schedule(raw.get("schedule"), value)
        elif value is None:
            data.pop(field, None)
        else:
            data[field] = value
    return data


def _issue(loc: Located | None, file: str, index: int, where: tuple, message: str) -> Issue:
    path = f"subscriptions[{index}]" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in where)
    text = f"{path}: {message}"
    if loc is not None:
        return loc.issue(("subscriptions", index, *where), text)
    return Issue(text, file=file)
