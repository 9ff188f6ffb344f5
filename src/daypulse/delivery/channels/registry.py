"""The channel kinds by name, and building one from its settings and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from daypulse.delivery.channels.base import Channel, default_env
from daypulse.delivery.channels.file import FileChannel
from daypulse.delivery.channels.slack import SlackBotChannel, SlackWebhookChannel
from daypulse.delivery.channels.smtp import EmailChannel
from daypulse.delivery.channels.webhook import WebhookChannel
from daypulse.errors import ConfigError, Issue

CHANNELS: dict[str, Any] = {
    "slack-webhook": SlackWebhookChannel,
    "slack-bot": SlackBotChannel,
    "email": EmailChannel,
    "webhook": WebhookChannel,
    "file": FileChannel,
}


def make_channel(kind: str, settings: Mapping[str, Any], env: Mapping[str, str] | None = None, *,
                 base_dir: Path | None = None, file: str | None = None, line: int | None = None) -> Channel:
    """A channel of ``kind`` from its settings (as written in daypulse.yml) with its secrets read
    from ``env`` (default: the process environment) and its relative paths under ``base_dir``
    (daypulse.yml's folder; default: the working directory). Every problem is a ConfigError
    listing the issues (at ``file``:``line`` when given), naming variables but never their values."""
    cls = CHANNELS.get(kind)
    if cls is None:
        raise ConfigError([Issue(f"unknown channel kind {kind!r}", file=file, line=line,
                                 hint="kinds: " + ", ".join(CHANNELS))])
    try:
        parsed = cls.Settings.model_validate(dict(settings))
    except ValidationError as err:
        raise ConfigError([Issue(f"channel {kind!r}: {_where(e['loc'])}{e['msg']}", file=file, line=line)
                           for e in err.errors(include_input=False, include_url=False)]) from None
    base = base_dir or Path.cwd()
    parsed = parsed.model_copy(update={key: str(base / Path(getattr(parsed, key)).expanduser())
                                       for key in cls.paths if getattr(parsed, key)})
    return cls.from_settings(parsed, default_env() if env is None else env)


def _where(loc: tuple) -> str:
    return f"`{'.'.join(str(p) for p in loc)}`: " if loc else ""
