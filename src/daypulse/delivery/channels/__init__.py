"""Delivery channels behind one protocol: Slack (incoming webhook, bot token), email, webhook, file.

    channel = make_channel("slack-bot", {"token_env": "SLACK_BOT_TOKEN"})
    payload = channel.render(Outgoing(report, key="sub-3:2026-03-01", target="C0123456789"))
    result = channel.send(Outgoing(None, key="sub-3:2026-03-01", target="C0123456789", payload=payload))

See ``base`` for the contract (transient vs permanent failures, resuming) and
docs/delivery.md for every setting.
"""

from daypulse.delivery.channels.base import Channel, CheckResult, Outgoing, SendResult
from daypulse.delivery.channels.registry import CHANNELS, make_channel
from daypulse.delivery.channels.ssrf import Guard, Refused

__all__ = ["CHANNELS", "Channel", "CheckResult", "Guard", "Outgoing", "Refused", "SendResult", "make_channel"]
