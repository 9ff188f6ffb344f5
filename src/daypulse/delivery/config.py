"""Delivery settings in daypulse.yml: ``channels:``, ``delivery:`` and ``subscriptions:``.

.. code-block:: yaml

    channels:                          # optional: a kind's own name sets that kind's defaults
      slack-bot: {token_env: SLACK_BOT_TOKEN}
      ops-slack: {kind: slack-webhook, url_env: OPS_SLACK_WEBHOOK_URL}
    delivery:
      ops: {channel: ops-slack}        # failed deliveries are announced here
      max_attempts: 8
    subscriptions:
      - {name: ops-daily, report: daily, schedule: daily at 00:01, timezone: Asia/Kolkata,
         channel: slack-bot, to: C0123456789}

A subscription may name a channel kind without configuring it: the kind's defaults below then
apply, their secrets read from the environment when the channel is first used.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from daypulse.alerts.metric_alerts import check_alerts
from daypulse.churn.config import check_churn
from daypulse.churn.metrics import with_churn_metrics
from daypulse.cohorts.config import check_cohorts
from daypulse.delivery.schedule import DEFAULT_TICK, error_message, parse_duration
from daypulse.delivery.subscription import (
    CHANNEL_KINDS,
    SubscriptionDefinition,
    check_emails,
    check_target,
    parse_subscriptions,
)
from daypulse.errors import ConfigError, Issue
from daypulse.report.definition import check_reports, report_names
from daypulse.report.needs import with_implied_breakdowns

if TYPE_CHECKING:
    from daypulse.delivery.channels.base import Channel
    from daypulse.project.located import Located
    from daypulse.project.model import Project

MAX_ATTEMPTS = 5  # tries of a transient failure before a delivery is failed (the ledger's default too)
SMTP_ENV = {"host": "SMTP_HOST", "port": "SMTP_PORT", "user": "SMTP_USER", "sender": "SMTP_FROM",
            "security": "SMTP_SECURITY"}


class OpsSettings(BaseModel):
    """Where failed deliveries are announced (one short message per failure)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: str
    to: str | list[str] | None = None


class DeliverySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(MAX_ATTEMPTS, ge=1, le=100)
    lease: timedelta = timedelta(minutes=10)  # a sender silent this long is presumed dead
    tick: timedelta = DEFAULT_TICK  # how often `daypulse scheduler` runs a pass
    ops: OpsSettings | None = None

    @field_validator("lease", "tick", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> timedelta:
        return parse_duration(v)


def channel_kinds(project: Project) -> dict[str, str]:
    """Configured channel name -> kind (bare kinds are always available too)."""
    kinds = {}
    for name, cfg in project.channels.items():
        kind = cfg.get("kind", name) if isinstance(cfg, dict) else name
        kinds[name] = kind
    return kinds


def channel_settings(project: Project, name: str, env: Mapping[str, str]) -> tuple[str, dict]:
    """(kind, settings) of channel ``name``: configured in daypulse.yml, or a bare kind's defaults."""
    if name in project.channels:
        cfg = dict(project.channels[name] or {})
        return cfg.pop("kind", name), cfg
    if name == "email":
        settings = {k: env[v] for k, v in SMTP_ENV.items() if env.get(v)}
        if env.get("SMTP_PASSWORD"):
            settings["password_env"] = "SMTP_PASSWORD"
        if "host" not in settings or "sender" not in settings:
            raise ConfigError([Issue(
                "channel 'email' is not configured: set SMTP_HOST and SMTP_FROM (and SMTP_USER, SMTP_PASSWORD,"
                " SMTP_PORT, SMTP_SECURITY as needed), or configure it under channels: email: {host:, sender:}")])
        return "email", settings
    from daypulse.delivery.channels.registry import CHANNELS  # lazy: the channels' libraries are heavy

    if name in CHANNELS and CHANNELS[name].defaults is not None:  # a bare kind: its defaults
        return name, dict(CHANNELS[name].defaults)
    raise ConfigError([Issue(f"unknown channel {name!r}", hint="channels: " + ", ".join(
        [*CHANNEL_KINDS, *project.channels]))])


def make_project_channel(project: Project, name: str, env: Mapping[str, str] | None = None, *,
                         base_dir: Path | None = None) -> Channel:
    from daypulse.delivery.channels import make_channel  # lazy: the channels' libraries are heavy
    from daypulse.delivery.channels.base import default_env

    env = default_env() if env is None else env
    kind, settings = channel_settings(project, name, env)
    return make_channel(kind, settings, env, base_dir=base_dir)


def delivery_settings(project: Project) -> DeliverySettings:
    return DeliverySettings.model_validate(project.delivery or {})


def default_name(raw: Mapping[str, Any]) -> str:
    """A name for a subscription written without one: its report and channel and a digest of
    its target and filter, so it stays the same while those do (its deliveries are keyed by it)."""
    digest = hashlib.sha256(json.dumps([raw.get("to"), raw.get("filter")], sort_keys=True, default=str)
                            .encode()).hexdigest()[:6]
    return f"{raw.get('report')}-{raw.get('channel')}-{digest}"


def yaml_subscriptions(project: Project, loc: Located | None = None) -> list[SubscriptionDefinition]:
    """The subscriptions declared in daypulse.yml, each with a name; ConfigError listing problems."""

    raw = [({**s, "name": s.get("name") or default_name(s)} if isinstance(s, dict) else s)
           for s in project.subscriptions]
    return parse_subscriptions(raw, project_timezone=project.timezone, channels=channel_kinds(project),
                               reports=report_names(project), loc=loc)


def validate_delivery(project: Project, loc: Located) -> list[Issue]:
    """Problems in channels:, delivery: and subscriptions: (file:line), without contacting anything."""
    if not (project.channels or project.delivery or project.subscriptions):
        return []
    from daypulse.delivery.channels import CHANNELS  # lazy: every command checks these sections

    issues: list[Issue] = []
    for name, cfg in project.channels.items():
        at = ("channels", name)
        if not isinstance(cfg, dict):
            issues.append(loc.issue(at, f"channel {name!r}: expected a mapping of settings (kind:, ...)"))
            continue
        kind = cfg.get("kind", name)
        if kind not in CHANNELS:
            what = "kind" if "kind" in cfg else "name (give kind: for a channel not named after its kind)"
            issues.append(loc.issue(at + (("kind",) if "kind" in cfg else ()),
                                    f"channel {name!r}: unknown {what} {kind!r}; kinds: {', '.join(CHANNELS)}"))
            continue
        try:
            CHANNELS[kind].Settings.model_validate({k: v for k, v in cfg.items() if k != "kind"})
        except ValidationError as err:
            for e in err.errors(include_url=False):
                issues.append(loc.issue(at + tuple(e["loc"]), f"channel {name!r}: "
                                        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {error_message(e)}"))
    try:
        settings = DeliverySettings.model_validate(project.delivery or {})
    except ValidationError as err:
        settings = None
        for e in err.errors(include_url=False):
            issues.append(loc.issue(("delivery", *e["loc"]), f"delivery.{'.'.join(map(str, e['loc']))}: "
                                    f"{error_message(e)}"))
    kinds = channel_kinds(project)
    if settings is not None and settings.ops is not None:
        ops = settings.ops
        kind = kinds.get(ops.channel, ops.channel if ops.channel in CHANNEL_KINDS else None)
        if kind is None:
            issues.append(loc.issue(("delivery", "ops", "channel"), f"delivery.ops.channel: unknown channel "
                                    f"{ops.channel!r}; channels: {', '.join([*CHANNEL_KINDS, *kinds])}"))
        elif ops.to is not None:
            try:
                if kind == "email":
                    check_emails(ops.to)
                else:
                    check_target(kind, str(ops.to))
            except ValueError as exc:
                issues.append(loc.issue(("delivery", "ops", "to"), f"delivery.ops.to: {exc}"))
    if not isinstance(project.subscriptions, list):
        return [*issues, loc.issue(("subscriptions",), "subscriptions: expected a list")]
    try:
        yaml_subscriptions(project, loc)
    except ConfigError as err:
        issues += err.issues
    return issues


# The checks of daypulse.yml's upper sections, for the loader (``load_project(path, SECTIONS)``):
# the reports (their metrics and dimensions), then channels, delivery and subscriptions, and the
# churn section (churn.config). Every entry point loads with them: the CLI, the served app, the
# scheduler and the demo.
SECTIONS = (check_reports, validate_delivery, check_churn, check_cohorts, check_alerts)
# ...and what they add to the project first: the churn metrics of a churn: section, and the
# breakdowns its filtered reports read (``load_project(path, SECTIONS, DERIVED)``).
DERIVED = (with_churn_metrics, with_implied_breakdowns)
