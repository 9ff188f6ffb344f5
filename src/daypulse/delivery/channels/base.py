"""The channel contract: what a delivery asks for, what a channel answers, and secret handling.

A delivery is sent in two steps so that a retry re-sends the *same* content::

    payload = channel.render(outgoing)          # JSON-serialisable; the caller stores it
    result = channel.send(outgoing.with_payload(payload))
    if not result.ok and result.transient:      # retry later (after result.retry_after)
        payload = {**payload, **(result.progress or {})}   # resume where it stopped

``send`` never raises for a delivery problem: every failure is a :class:`SendResult` that says
whether trying again can help (``transient``) or not (``permanent``: bad settings, a refused
address, a channel that does not exist). Error texts never hold a secret: everything a channel
reports passes through its :class:`Secrets`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from daypulse.errors import ConfigError, Issue
from daypulse.report.model import Report

LOGGER = logging.getLogger("daypulse.delivery")
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}")  # safe in a header, a Message-ID, a file name
MAX_RETRY_AFTER = 24 * 3600.0  # a longer Retry-After is someone's mistake: wait a day at most
REDACTED = "[redacted]"


@dataclass(frozen=True)
class Outgoing:
    """One delivery of one report to one target.

    ``key`` identifies the delivery for ever ("sub-3:2026-03-01"): it becomes the email's
    Message-ID, the webhook-id, the file name, so a re-send is recognisable. ``target`` is where
    to (a Slack channel ID, email addresses, a URL, a folder); None means the channel's default.
    ``payload`` is what :meth:`Channel.render` returned, stored by the caller; ``report`` is only
    needed to render it."""

    report: Report | None
    key: str
    target: str | list[str] | None = None
    payload: dict | None = None
    template_dir: Path | None = None  # the report's own templates (email, file)

    def __post_init__(self):
        if not isinstance(self.key, str) or not KEY.fullmatch(self.key):
            raise ValueError(f"delivery key {self.key!r}: 1-200 characters, letters, digits and ._:@+=- "
                             "(it goes into headers and file names)")
        if self.report is None and self.payload is None:
            raise ValueError("an Outgoing needs a report to render or a stored payload")

    def with_payload(self, payload: dict) -> Outgoing:
        return replace(self, payload=payload)


@dataclass(frozen=True)
class SendResult:
    """What happened to one attempt.

    ``external_id`` names what was created (Slack ts, Message-ID, webhook-id, file path), set
    even on a partial failure (the Slack message was posted, a chart upload failed).
    ``progress`` holds payload keys to merge before the next attempt so it resumes instead of
    repeating (e.g. ``{"resume_ts": "1712.0001", "thread_sent": 2, "files_sent": 0}``).
    ``note`` says what the channel left out on purpose or what partly failed for good
    (charts a webhook cannot carry, refused recipients)."""

    ok: bool
    transient: bool = False
    error: str | None = None
    retry_after: float | None = None
    external_id: str | None = None
    note: str | None = None
    progress: dict[str, Any] | None = None

    @property
    def permanent(self) -> bool:
        return not self.ok and not self.transient

    @classmethod
    def sent(cls, external_id: str | None, note: str | None = None) -> SendResult:
        return cls(ok=True, external_id=external_id, note=note)

    @classmethod
    def failed(cls, error: str, *, transient: bool, retry_after: float | None = None,
               external_id: str | None = None, progress: dict | None = None, note: str | None = None) -> SendResult:
        return cls(ok=False, transient=transient, error=error, retry_after=retry_after if transient else None,
                   external_id=external_id, progress=progress, note=note)


@dataclass(frozen=True)
class CheckResult:
    """The answer to ``daypulse check`` for one channel: can it deliver, and what to fix."""

    ok: bool
    detail: str
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        lines = [("ok: " if self.ok else "FAILED: ") + self.detail, *(f"warning: {w}" for w in self.warnings)]
        return "\n".join(lines)


@runtime_checkable
class Channel(Protocol):
    """A channel kind. Besides sending, each class says what it can do: ``charts`` (whether it
    carries the PNGs, so they are drawn), ``target`` (what a subscription's ``to`` is, None when
    it takes none), ``defaults`` (the settings of a bare kind, None when they come from elsewhere)
    and ``paths`` (the settings that are paths, relative to daypulse.yml's folder)."""

    name: str
    charts: bool
    target: str | None
    defaults: dict | None
    paths: tuple[str, ...]

    def check(self, target: str | list[str] | None = None) -> CheckResult:
        """Test the connection and credentials (and the target, where the channel can) without
        delivering anything."""
        ...

    def render(self, outgoing: Outgoing) -> dict:
        """The content to send, JSON-serialisable, for the caller to store (a retry sends it again)."""
        ...

    def send(self, outgoing: Outgoing) -> SendResult:
        """Deliver ``outgoing.payload`` (rendered from ``outgoing.report`` when None)."""
        ...


# ---- secrets ----------------------------------------------------------------------------------

# Shapes of secrets that must never be shown even when we did not put them there ourselves
# (a token echoed in a server's error, a webhook URL in a library's message).
_SECRET_SHAPES = [
    re.compile(r"xox[a-z]-[A-Za-z0-9-]+"),  # Slack bot/user/app tokens
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"whsec_[A-Za-z0-9+/=]+"),  # Standard Webhooks secrets
    re.compile(r"(hooks\.slack\.com/)[A-Za-z0-9/_-]+"),  # Slack incoming webhook URLs
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
]


class Secrets:
    """The secret values one channel holds, and the redaction of any text it reports."""

    def __init__(self, values: Iterable[str] = ()):
        self._values = sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)

    def redact(self, text: object) -> str:
        out = str(text)
        for v in self._values:
            out = out.replace(v, REDACTED)
        for shape in _SECRET_SHAPES:
            out = shape.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, out)
        return out

    def logger(self, name: str) -> logging.Logger:
        """A logger for a library we hand the secrets to (slack_sdk logs request URLs at debug
        level): records are redacted, then handled by ``daypulse.delivery``'s handlers."""
        log = logging.Logger(f"{LOGGER.name}.{name}")  # not registered: one per channel, collected with it
        log.parent = LOGGER
        log.addFilter(_RedactFilter(self))
        return log


class _RedactFilter(logging.Filter):
    def __init__(self, secrets: Secrets):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = self.secrets.redact(text), ()
        return True


def read_secret(env: Mapping[str, str], variable: str | None, setting: str, kind: str) -> str | None:
    """The value of the environment variable a setting names; a ConfigError naming the variable
    (never a value) when it is unset."""
    if variable is None:
        return None
    value = env.get(variable)
    if not value:
        raise ConfigError([Issue(f"channel {kind!r}: environment variable {variable} (from `{setting}`) is not set",
                                 hint="secrets are read from the environment, never from daypulse.yml")])
    return value


def default_env() -> Mapping[str, str]:
    return os.environ


# ---- helpers shared by the channels ---------------------------------------------------------


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent
    or unreadable. Capped at a day."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A header by name, whatever the case the library kept (slack_sdk keeps the server's)."""
    if not headers:
        return None
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v[0] if isinstance(v, list) and v else v
    return None


def safe_name(key: str) -> str:
    """The key as a portable file name part (":" is not allowed on Windows)."""
    return re.sub(r"[^A-Za-z0-9._=+@-]", "_", key)


def short(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

