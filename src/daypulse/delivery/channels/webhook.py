"""A generic webhook: the report as JSON, signed the Standard Webhooks way, behind the SSRF guard.

The body is ``{"type": "daypulse.report", "key": ..., "report": report.to_json()}``, rendered
once and stored, so every attempt sends the same bytes. Headers (Standard Webhooks v1):

* ``webhook-id``: the delivery key, constant across retries (receivers drop duplicates by it);
* ``webhook-timestamp``: Unix seconds of this attempt;
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with
  the base64 part of the ``whsec_...`` secret read from ``secret_env``.

Answers: 2xx is success; 410 means the endpoint is gone (permanent: disable the subscription);
408, 429 and 5xx are transient (Retry-After honoured); redirects are not followed and, like
every other 4xx, permanent; a URL the guard refuses is permanent; connection errors and
timeouts are transient.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field

from daypulse.delivery.channels.base import CheckResult, Outgoing, Secrets, SendResult, read_secret, retry_after, short
from daypulse.delivery.channels.ssrf import Guard, PinnedTransport, Refused
from daypulse.errors import ConfigError, Issue

SECRET_PREFIX = "whsec_"
USER_AGENT = "daypulse-webhook/1"
TRANSIENT_STATUS = {408, 429}


class WebhookSettings(BaseModel):
    """``kind: webhook``."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, description="default URL when a delivery names none")
    secret_env: str = Field(description="environment variable holding the signing secret (whsec_ + base64)")
    allow_private: bool = Field(False, description="allow loopback and private addresses (local development, "
                                                   "tests); link-local and metadata addresses stay refused")
    timeout: float = Field(10.0, gt=0, le=120, description="seconds for each step (connect, send, read)")
    max_response_bytes: int = Field(65_536, ge=0, le=10_000_000, description="response bytes read at most")
    cafile: str | None = Field(None, description="CA bundle to verify an https endpoint (a private CA)")


def signing_key(secret: str) -> bytes:
    """The HMAC key in a ``whsec_<base64>`` secret; ValueError (naming no value) when malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"the secret must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the part after {SECRET_PREFIX} must be base64") from None
    if len(key) < 24:
        raise ValueError("the secret must hold at least 24 random bytes (Standard Webhooks asks for 24-64)")
    return key


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


class WebhookChannel:
    name = "webhook"
    Settings = WebhookSettings
    charts = False  # JSON only: the numbers, not the pictures
    target = "an http:// or https:// URL"
    defaults: ClassVar[dict | None] = {"secret_env": "DAYPULSE_WEBHOOK_SECRET"}
    paths = ("cafile",)  # settings relative to daypulse.yml's folder

    def __init__(self, settings: WebhookSettings, secret: str, *, clock=time.time):
        self.settings = settings
        self.key = signing_key(secret)
        self.secrets = Secrets([secret, secret[len(SECRET_PREFIX):]])
        self.guard = Guard(allow_private=settings.allow_private)
        # allow_private is the operator's, for the channel's own url: a subscription's `to` (which
        # an admin can set through the API) is held to public addresses whatever the channel allows.
        self.public = Guard(private_hint="allow_private covers only the channel's own url: set `url` in "
                                         "daypulse.yml to deliver there") if settings.allow_private else self.guard
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: WebhookSettings, env: Mapping[str, str]) -> WebhookChannel:
        secret = read_secret(env, settings.secret_env, "secret_env", cls.name) or ""
        try:
            return cls(settings, secret)
        except ValueError as err:
            raise ConfigError([Issue(f"channel 'webhook': ${settings.secret_env}: {err}",
                                     hint="make one with: python -c \"import base64, os; "
                                          "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\"")]) from None

    def check(self, target: str | list[str] | None = None) -> CheckResult:
        url = target if target is not None else self.settings.url
        if not isinstance(url, str):
            return CheckResult(True, "webhook: signing secret set; no URL given, nothing else to check")
        try:
            addresses = self._guard(url).check(url)
        except Refused as err:
            return CheckResult(False, f"webhook {_shown(url)}: refused: {err}")
        except OSError as err:
            return CheckResult(False, f"webhook {_shown(url)}: cannot resolve: {err}")
        return CheckResult(True, f"webhook {_shown(url)}: allowed ({', '.join(addresses)}); not contacted")

    def render(self, outgoing: Outgoing) -> dict:
        if outgoing.report is None:
            raise ValueError("render needs the report (the Outgoing has only a payload)")
        body = {"type": "daypulse.report", "key": outgoing.key, "report": outgoing.report.to_json()}
        return {"id": outgoing.key, "body": json.dumps(body, ensure_ascii=False, separators=(",", ":"))}

    def send(self, outgoing: Outgoing) -> SendResult:
        url = outgoing.target if outgoing.target is not None else self.settings.url
        if not isinstance(url, str):
            return SendResult.failed("webhook: no URL (give the delivery a target or set `url`)", transient=False)
        payload = outgoing.payload if outgoing.payload is not None else self.render(outgoing)
        webhook_id, body = payload["id"], payload["body"].encode()
        try:
            self._guard(url).url(url)
            status, headers, text = self._post(url, webhook_id, body)
        except Refused as err:
            return SendResult.failed(self._error(url, f"refused: {err}"), transient=False, external_id=webhook_id)
        except httpx.InvalidURL as err:  # a URL the guard let through but httpx cannot send to: never will
            return SendResult.failed(self._error(url, f"not a valid URL: {short(str(err))}"), transient=False,
                                     external_id=webhook_id)
        except httpx.TimeoutException:
            return SendResult.failed(self._error(url, f"timed out after {self.settings.timeout:g} s"), transient=True,
                                     external_id=webhook_id)
        except (httpx.TransportError, OSError) as err:
            if _caused_by(err, ssl.SSLCertVerificationError):  # retrying will not make it trusted
                return SendResult.failed(self._error(url, f"the certificate does not verify: {short(str(err))} "
                                                          "(set cafile for a private CA)"),
                                         transient=False, external_id=webhook_id)
            return SendResult.failed(self._error(url, f"cannot connect: {short(str(err))}"), transient=True,
                                     external_id=webhook_id)
        if 200 <= status < 300:
            return SendResult.sent(webhook_id)
        said = f"HTTP {status}" + (f": {short(text, 200)}" if text.strip() else "")
        if status == 410:
            return SendResult.failed(self._error(url, f"{said} (the endpoint is gone: disable this subscription)"),
                                     transient=False, external_id=webhook_id)
        if 300 <= status < 400:
            where = _shown(headers.get("location", "")) or "somewhere"
            return SendResult.failed(self._error(url, f"HTTP {status} redirects to {where}: redirects are not "
                                                      "followed, update the URL"), transient=False,
                                     external_id=webhook_id)
        transient = status in TRANSIENT_STATUS or status >= 500
        return SendResult.failed(self._error(url, said), transient=transient, external_id=webhook_id,
                                 retry_after=retry_after(headers.get("retry-after")))

    def _post(self, url: str, webhook_id: str, body: bytes) -> tuple[int, httpx.Headers, str]:
        timestamp = int(self.clock())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self.key, webhook_id, timestamp, body),
        }
        deadline = time.monotonic() + self.settings.timeout
        transport = PinnedTransport(self._guard(url), self._tls())
        with httpx.Client(transport=transport, follow_redirects=False, trust_env=False,
                          timeout=self.settings.timeout) as client, \
                client.stream("POST", url, content=body, headers=headers) as resp:
            data = b""
            for chunk in resp.iter_raw():  # the status decides; the body is only for the error text
                data += chunk
                if len(data) >= self.settings.max_response_bytes or time.monotonic() > deadline:
                    break
            return resp.status_code, resp.headers, data[: self.settings.max_response_bytes].decode("utf-8", "replace")

    def _guard(self, url: str) -> Guard:
        return self.guard if url == self.settings.url else self.public

    def _tls(self) -> ssl.SSLContext:
        return _tls_context(self.settings.cafile)

    def _error(self, url: str, what: str) -> str:
        return self.secrets.redact(f"webhook {_shown(url)}: {what}")


@functools.lru_cache(maxsize=8)
def _tls_context(cafile: str | None) -> ssl.SSLContext:
    """One verifying context per CA bundle, shared: loading the CA store costs ~30 ms, a send ~2 ms."""
    return ssl.create_default_context(cafile=cafile)


def _caused_by(err: BaseException | None, kind: type[BaseException]) -> bool:
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, kind):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def _shown(url: str) -> str:
    """A URL as shown in messages: scheme, host, port and path; no credentials, no query (either may
    hold a token)."""
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        port = f":{p.port}" if p.port else ""
    except ValueError:
        return "(invalid URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{p.scheme}://{host}{port}{p.path}" if p.scheme else short(url, 100)
