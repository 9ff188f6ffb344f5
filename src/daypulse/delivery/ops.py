"""A short notice to the ops channel (``delivery.ops``): a delivery failed for good.

The notice is one line of text, shaped as the channel's own payload so it goes through the
same ``send`` (and the same secret redaction) as a report. One attempt: a notice that cannot
be sent is logged, never retried into a loop of failures about failures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from daypulse.delivery.channels.base import Channel, Outgoing, SendResult, safe_name
from daypulse.report.email import AUTO_SUBMITTED


def notice_payload(kind: str, text: str, key: str) -> dict:
    if kind == "slack-webhook":
        return {"messages": [{"text": text}], "note": None}
    if kind == "slack-bot":
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
                "thread": [], "files": []}
    if kind == "webhook":
        body = {"type": "daypulse.delivery_failed", "key": key, "text": text}
        return {"id": key, "body": json.dumps(body, ensure_ascii=False, separators=(",", ":"))}
    if kind == "file":
        return {"name": f"{safe_name(key)}.txt", "content": text + "\n", "charts": []}
    raise ValueError(f"no notice format for channel kind {kind!r}")


def notify(channel: Channel, kind: str, to, text: str, key: str) -> SendResult:
    """Send ``text`` through ``channel`` (of ``kind``) to ``to`` (None: the channel's default)."""
    if kind == "email":  # the email channel renders reports only: the notice is built here
        recipients = channel._recipients(to)
        msg = EmailMessage()
        msg["Subject"] = "daypulse: a delivery failed"
        msg["From"] = channel.settings.sender
        msg["To"] = ", ".join(recipients)
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = channel.message_id(key)
        msg["Auto-Submitted"] = AUTO_SUBMITTED
        msg.set_content(text)
        payload = {"message": msg.as_string(), "message_id": msg["Message-ID"], "to": recipients}
    else:
        payload = notice_payload(kind, text, key)
    return channel.send(Outgoing(None, key, to, payload=payload))
