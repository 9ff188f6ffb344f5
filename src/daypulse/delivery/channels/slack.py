"""Slack: an incoming webhook (text and blocks only) or a bot token (message, thread, charts).

Both post what ``report.slack.render_slack`` made. The bot posts the main message with
``chat.postMessage``, then the thread (``thread_ts``), then each chart with ``files_upload_v2``
into the thread. A retry must not post the main message twice, so a failure after it was posted
returns its ts in ``external_id`` and a ``progress`` (``resume_ts``, ``thread_sent``,
``files_sent``) for the caller to merge into the stored payload: the next attempt continues from
there. slack_sdk's own retries are off (a 429 would otherwise block in ``time.sleep``, and a
retried post can duplicate): the caller's scheduler owns waiting and retrying.

Slack's answers, sorted (../shared/notes/DELIVERY.md):

* transient: HTTP 429 / ``ratelimited`` (with Retry-After), HTTP 5xx, ``internal_error``,
  ``fatal_error``, ``service_unavailable``, ``request_timeout``, connection errors and timeouts;
* permanent: every other error (``channel_not_found``, ``not_in_channel``, ``is_archived``,
  ``invalid_auth``, ``invalid_blocks``, ``msg_blocks_too_long``, ...), and for a webhook any
  4xx but 429.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

from daypulse.delivery.channels.base import (
    CheckResult,
    Outgoing,
    Secrets,
    SendResult,
    header,
    read_secret,
    retry_after,
    short,
)
from daypulse.delivery.channels.ssrf import Guard, PinnedTransport, Refused
from daypulse.report.model import Report
from daypulse.report.slack import render_slack

CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
HINTS = {
    "channel_not_found": "use the channel's ID (C0123…), not its name, and check the bot can see the channel",
    "not_in_channel": "invite the bot to the channel (/invite @bot) or give it the chat:write.public scope",
    "is_archived": "the channel is archived: unarchive it or deliver elsewhere",
    "invalid_auth": "the token is not valid: check the environment variable named by token_env",
    "not_authed": "no token was sent: check the environment variable named by token_env",
    "token_revoked": "the token was revoked: reinstall the app and update the token",
    "account_inactive": "the bot's account is inactive: reinstall the app",
    "missing_scope": "the token lacks a scope (chat:write to post, files:write for charts)",
    "invalid_blocks": "Slack refused the blocks (a bug in daypulse's renderer: please report it)",
    "msg_blocks_too_long": "the message is too long for Slack (a bug in daypulse's renderer: please report it)",
}
# Slack incoming webhooks answer a status and one word: 400 invalid_payload, 403
# action_prohibited, 404 channel_not_found, 410 channel_is_archived, 429.
_NETWORK_ERRORS = (OSError, http.client.HTTPException)  # URLError, ConnectionError and timeouts are OSErrors
MAX_ANSWER = 4096
USER_AGENT = "daypulse-slack-webhook/1"  # bytes of an answer read (the word; an endpoint that talks on is cut off)


class SlackWebhookSettings(BaseModel):
    """``kind: slack-webhook``: the URL is a secret (anyone holding it can post), so it is read
    from the environment variable ``url_env`` names. Text and blocks only: charts are left out
    (a webhook cannot upload; image blocks need public URLs) and said so in the result's note."""

    model_config = ConfigDict(extra="forbid")
    url_env: str = Field(description="environment variable holding the incoming webhook URL")
    timeout: float = Field(10.0, gt=0, le=300, description="seconds per request")
    follow_ups: bool = Field(False, description="post the thread's messages (definitions, details that did not "
                                                "fit) as separate messages after the main one")
    allow_private: bool = Field(False, description="allow a loopback or private address (a relay or a test "
                                                   "server); link-local and metadata addresses stay refused")


class SlackBotSettings(BaseModel):
    """``kind: slack-bot``: a bot token (``xoxb-``) read from ``token_env``; target = a channel ID."""

    model_config = ConfigDict(extra="forbid")
    token_env: str = Field(description="environment variable holding the bot token (xoxb-...)")
    channel: str | None = Field(None, description="default channel ID when a delivery names none")
    base_url: str = Field(WebClient.BASE_URL, description="Slack Web API base URL (Enterprise Grid, tests)")
    timeout: float = Field(30.0, gt=0, le=300, description="seconds per request")


# ---- incoming webhook ----------------------------------------------------------------------


class SlackWebhookChannel:
    name = "slack-webhook"
    Settings = SlackWebhookSettings
    charts = False  # an incoming webhook cannot upload files
    target = None  # it posts to the channel it was made for
    defaults: ClassVar[dict | None] = {"url_env": "SLACK_WEBHOOK_URL"}
    paths = ()

    def __init__(self, settings: SlackWebhookSettings, url: str):
        self.settings = settings
        self.url = url
        # The path alone is as secret as the URL (errors quote it without the host).
        self.secrets = Secrets([url, urlsplit(url).path if "://" in url else ""])
        self.log = self.secrets.logger("slack-webhook")
        # The URL is a setting's environment variable: whoever sets it may aim it anywhere, so it
        # gets the webhook channel's SSRF guard, and a redirect is an error, never followed.
        self.guard = Guard(allow_private=settings.allow_private)

    @classmethod
    def from_settings(cls, settings: SlackWebhookSettings, env: Mapping[str, str]) -> SlackWebhookChannel:
        url = read_secret(env, settings.url_env, "url_env", cls.name)
        return cls(settings, url or "")

    def check(self, target: str | list[str] | None = None) -> CheckResult:
        if not re.match(r"https?://[^/\s]+/", self.url):
            return CheckResult(False, f"${self.settings.url_env} is not an http(s) URL")
        try:  # what sending would refuse, said now: a private, link-local or numeric-form address
            self.guard.check(self.url)
        except Refused as err:
            return CheckResult(False, self.secrets.redact(f"${self.settings.url_env}: refused: {err}"))
        except OSError as err:
            return CheckResult(False, self.secrets.redact(f"${self.settings.url_env}: cannot resolve: {err}"))
        warnings = []
        if not self.url.startswith("https://hooks.slack.com/"):
            warnings.append("the URL is not on https://hooks.slack.com/")
        return CheckResult(True, f"incoming webhook URL set in ${self.settings.url_env} (not contacted: a webhook "
                                 "can only be tested by posting)", tuple(warnings))

    def render(self, outgoing: Outgoing) -> dict:
        # An incoming webhook cannot make a thread: the follow-ups are posted after the message
        # (follow_ups: true) or not at all, and the message says which.
        msg = render_slack(_report(outgoing), follow_ups="below" if self.settings.follow_ups else "none")
        skipped = []
        if msg.files:
            skipped.append(f"{len(msg.files)} chart(s) left out: an incoming webhook cannot upload files "
                           "(use kind: slack-bot)")
        if msg.thread and not self.settings.follow_ups:
            skipped.append(f"{len(msg.thread)} thread message(s) left out (definitions, details): set follow_ups: "
                           "true or use kind: slack-bot")
        follow = msg.thread if self.settings.follow_ups else []
        return {"messages": [msg.payload(), *follow], "note": "; ".join(skipped) or None}

    def send(self, outgoing: Outgoing) -> SendResult:
        payload = outgoing.payload if outgoing.payload is not None else self.render(outgoing)
        messages, note = payload["messages"], payload.get("note")
        done = int(payload.get("messages_sent", 0))
        for i in range(done, len(messages)):
            failure = self._post(messages[i])
            if failure is not None:
                progress = {"messages_sent": i} if i else None
                return SendResult.failed(failure[0], transient=failure[1], retry_after=failure[2], progress=progress,
                                         note=note)
        return SendResult.sent(None, note=note)

    def _post(self, message: dict) -> tuple[str, bool, float | None] | None:
        """None when Slack took it, else (error, transient, retry_after)."""
        body = json.dumps({k: message[k] for k in ("text", "blocks") if message.get(k) is not None})
        try:
            self.guard.url(self.url)
            self.log.debug("Sending a request to %s", self.url)
            # The transport itself, not an httpx.Client: the client logs each request's URL, which
            # is the secret here. It follows no redirect either.
            t = self.settings.timeout
            request = httpx.Request("POST", self.url, content=body.encode(),
                                    headers={"content-type": "application/json;charset=utf-8",
                                             "user-agent": USER_AGENT},
                                    extensions={"timeout": {"connect": t, "read": t, "write": t, "pool": t}})
            with PinnedTransport(self.guard) as transport:
                resp = transport.handle_request(request)
                answer = b""
                try:
                    for chunk in resp.iter_raw():
                        answer += chunk
                        if len(answer) >= MAX_ANSWER:
                            break
                finally:
                    resp.close()
        except Refused as err:
            return self.secrets.redact(f"Slack webhook: refused: {err}"), False, None
        except httpx.InvalidURL as err:
            return self.secrets.redact(f"Slack webhook: not a valid URL: {short(str(err))}"), False, None
        except (httpx.TransportError, OSError) as err:  # connection errors and timeouts
            return self.secrets.redact(f"Slack webhook: cannot connect: {short(str(err) or type(err).__name__)}"), \
                True, None
        if 200 <= resp.status_code < 300:
            return None
        word = self.secrets.redact(short(answer[:MAX_ANSWER].decode("utf-8", "replace"), 200))
        error = f"Slack webhook: HTTP {resp.status_code} {word}".rstrip()
        if 300 <= resp.status_code < 400:
            return error + ": redirects are not followed (check the URL in $" + self.settings.url_env + ")", False, None
        if resp.status_code == 429 or resp.status_code >= 500:
            return error, True, retry_after(resp.headers.get("retry-after"))
        return error, False, None


# ---- bot token --------------------------------------------------------------------------------


class SlackBotChannel:
    name = "slack-bot"
    Settings = SlackBotSettings
    charts = True  # files_upload_v2 in the thread
    target = "a Slack channel ID like C1234567890"
    defaults: ClassVar[dict | None] = {"token_env": "SLACK_BOT_TOKEN"}
    paths = ()

    def __init__(self, settings: SlackBotSettings, token: str):
        self.settings = settings
        self.secrets = Secrets([token])
        self.client = WebClient(token=token, base_url=settings.base_url, timeout=settings.timeout,
                                retry_handlers=[], logger=self.secrets.logger("slack-bot"))

    @classmethod
    def from_settings(cls, settings: SlackBotSettings, env: Mapping[str, str]) -> SlackBotChannel:
        token = read_secret(env, settings.token_env, "token_env", cls.name)
        return cls(settings, token or "")

    def check(self, target: str | list[str] | None = None) -> CheckResult:
        try:
            auth = self.client.auth_test()
        except SlackClientError as err:
            return CheckResult(False, self._describe("auth.test", err))
        except _NETWORK_ERRORS as err:
            return CheckResult(False, self.secrets.redact(f"Slack auth.test: cannot connect: {short(str(err))}"))
        who = f"Slack: authenticated as {auth.get('user')} ({auth.get('user_id')}) in {auth.get('team')}"
        channel = target if target is not None else self.settings.channel
        if channel is None:
            return CheckResult(True, who, ("no channel given: channel reachability not checked",))
        if not isinstance(channel, str) or not CHANNEL_ID.fullmatch(channel):
            return CheckResult(False, f"{who}; target {channel!r} is not a channel ID ({HINTS['channel_not_found']})")
        try:
            info = self.client.conversations_info(channel=channel)
        except SlackApiError as err:
            if err.response.get("error") == "missing_scope":
                return CheckResult(True, who, (f"cannot look up {channel}: the token lacks channels:read "
                                               "(groups:read for private channels); posting is not verified",))
            return CheckResult(False, f"{who}; {self._describe('conversations.info', err)}")
        except _NETWORK_ERRORS as err:
            return CheckResult(False, self.secrets.redact(f"Slack conversations.info: cannot connect: {err}"))
        conv = info.get("channel") or {}
        name = f"#{conv.get('name')}" if conv.get("name") else channel
        if conv.get("is_archived"):
            return CheckResult(False, f"{who}; {name} ({channel}) is archived")
        warnings = ()
        if conv.get("is_member") is False:
            warnings = (f"the bot is not a member of {name}: invite it, or posting needs chat:write.public "
                        "(and uploads need membership)",)
        return CheckResult(True, f"{who}; channel {name} ({channel}) found", warnings)

    def render(self, outgoing: Outgoing) -> dict:
        msg = render_slack(_report(outgoing))
        files = [{**{k: v for k, v in u.items() if k != "file"}, "png": base64.b64encode(u["file"]).decode("ascii")}
                 for u in msg.uploads()]
        return {"text": msg.text, "blocks": msg.blocks, "thread": msg.thread, "files": files}

    def send(self, outgoing: Outgoing) -> SendResult:
        channel = outgoing.target if outgoing.target is not None else self.settings.channel
        if not isinstance(channel, str) or not CHANNEL_ID.fullmatch(channel):
            return SendResult.failed(f"Slack: target {channel!r} is not a channel ID: {HINTS['channel_not_found']}",
                                     transient=False)
        p = outgoing.payload if outgoing.payload is not None else self.render(outgoing)
        ts: str | None = p.get("resume_ts")
        thread_sent, files_sent = int(p.get("thread_sent", 0)), int(p.get("files_sent", 0))
        step = "chat.postMessage"
        try:
            if ts is None:
                ts = self.client.chat_postMessage(channel=channel, text=p["text"], blocks=p["blocks"],
                                                  unfurl_links=False, unfurl_media=False)["ts"]
            for message in p["thread"][thread_sent:]:
                self.client.chat_postMessage(channel=channel, thread_ts=ts, text=message["text"],
                                             blocks=message["blocks"], unfurl_links=False, unfurl_media=False)
                thread_sent += 1
            step = "files_upload_v2"
            for f in p["files"][files_sent:]:
                self.client.files_upload_v2(channel=channel, thread_ts=ts, file=base64.b64decode(f["png"]),
                                            filename=f["filename"], title=f["title"], alt_txt=f["alt_txt"])
                files_sent += 1
        except (SlackClientError, *_NETWORK_ERRORS) as err:
            transient, wait = self._sort(err)
            progress = {"resume_ts": ts, "thread_sent": thread_sent, "files_sent": files_sent} if ts else None
            return SendResult.failed(self._describe(step, err), transient=transient, retry_after=wait,
                                     external_id=ts, progress=progress)
        return SendResult.sent(ts)

    def _sort(self, err: Exception) -> tuple[bool, float | None]:
        """(transient, retry_after) for an exception from slack_sdk."""
        if isinstance(err, SlackApiError):
            status, error = err.response.status_code, err.response.get("error")
            wait = retry_after(header(err.response.headers, "Retry-After"))
            return status == 429 or status >= 500 or error in TRANSIENT_ERRORS, wait
        if isinstance(err, SlackRequestError):  # the upload step: "Failed to upload a file (status: 503, ..."
            m = re.search(r"status: (\d+)", str(err))
            return bool(m and (int(m.group(1)) == 429 or int(m.group(1)) >= 500)), None
        return True, None  # connection refused, reset, timeout, DNS

    def _describe(self, step: str, err: Exception) -> str:
        if isinstance(err, SlackApiError):
            status, error = err.response.status_code, err.response.get("error")
            said = short(str(error), 200) if error else ""
            if status != 200:
                said = f"HTTP {status}" + (f": {said}" if said else "")
            hint = HINTS.get(str(error))
            text = f"Slack {step}: {said}" + (f" ({hint})" if hint else "")
        elif isinstance(err, SlackRequestError):
            text = f"Slack {step}: {short(str(err))}"
        else:
            text = f"Slack {step}: cannot connect: {short(str(err))}"
        return self.secrets.redact(text)


def _report(outgoing: Outgoing) -> Report:
    if outgoing.report is None:
        raise ValueError("render needs the report (the Outgoing has only a payload)")
    return outgoing.report
