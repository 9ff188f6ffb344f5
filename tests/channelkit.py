"""Local servers that speak the channels' protocols, for tests: nothing leaves 127.0.0.1.

* :class:`SlackServer` — Slack's Web API as slack_sdk calls it (``auth.test``,
  ``conversations.info``, ``chat.postMessage``, ``files.getUploadURLExternal``, the upload URL
  it hands out, ``files.completeUploadExternal``) plus incoming webhooks at ``/services/...``.
  It records every call and can be told to fail the next calls (429 + Retry-After, an error).
* :class:`SmtpServer` — aiosmtpd with STARTTLS (or implicit TLS) and AUTH, storing messages.
* :class:`WebhookReceiver` — verifies Standard Webhooks signatures (written here from the spec,
  not imported from daypulse) and answers what it is told to.
* :func:`make_cert` — a self-signed certificate made with the ``openssl`` command
  (``cryptography`` is not installed).
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

CERT_NAMES = ("localhost", "receiver.example")


def free_port() -> int:
    """A port nothing listens on now (aiosmtpd cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_cert(folder: Path) -> Cert:
    """A self-signed EC certificate for localhost, receiver.example and 127.0.0.1, valid two days."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    san = ",".join([*(f"DNS:{n}" for n in CERT_NAMES), "IP:127.0.0.1"])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", f"subjectAltName={san}", "-addext", "basicConstraints=critical,CA:FALSE",
                    "-addext", "extendedKeyUsage=serverAuth"],
                   check=True, capture_output=True, timeout=30)
    return Cert(cert, key)


# ---- HTTP plumbing --------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _HttpKit:
    """A threaded http.server on 127.0.0.1 (TLS when given a Cert), stopped by ``close``."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self, cert: Cert | None = None):
        self.httpd = _Server(("127.0.0.1", 0), self.handler)
        self.httpd.kit = self  # type: ignore[attr-defined]
        if cert is not None:
            self.httpd.socket = cert.server_context().wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.scheme = "https" if cert else "http"
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet
        pass

    @property
    def kit(self):
        return self.server.kit  # type: ignore[attr-defined]

    def body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status: int, body: bytes | str | dict, headers: dict | None = None) -> None:
        if isinstance(body, dict):
            body, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
        else:
            body, ctype = body.encode() if isinstance(body, str) else body, "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


# ---- Slack ------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str  # "chat.postMessage", "upload", "webhook"
    fields: dict  # form, query and JSON fields merged
    data: bytes = b""  # uploaded bytes / raw webhook body
    path: str = ""


@dataclass
class Fault:
    method: str | None  # None: any call
    status: int
    error: str | None  # the Web API's "error" (None for webhooks: the body is the word)
    headers: dict = field(default_factory=dict)
    body: str | None = None


class _SlackHandler(_Handler):
    def do_GET(self):
        self.handle_call()

    def do_POST(self):
        self.handle_call()

    def handle_call(self):
        kit: SlackServer = self.kit
        url = urlsplit(self.path)
        raw = self.body()
        fields = {k: v[-1] for k, v in parse_qs(url.query).items()}
        ctype = self.headers.get("Content-Type", "")
        if url.path.startswith("/api/"):
            if ctype.startswith("application/json") and raw:
                fields.update(json.loads(raw))
            elif raw:
                fields.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
            method = url.path[len("/api/"):]
        elif url.path.startswith("/upload/"):
            method = "upload"
        elif url.path.startswith("/services/"):
            method = "webhook"
            fields = json.loads(raw) if raw else {}
        else:
            return self.reply(404, "not found")
        with kit.lock:
            kit.calls.append(Call(method, fields, raw, url.path))
            fault = kit.take_fault(method)
        if fault is not None:
            if method in ("webhook", "upload"):
                return self.reply(fault.status, fault.body or fault.error or "", fault.headers)
            if fault.body is not None:
                return self.reply(fault.status, fault.body, fault.headers)
            return self.reply(fault.status, {"ok": False, "error": fault.error}, fault.headers)
        if method == "webhook":
            return self.reply(200, "ok")
        if method == "upload":
            return self.reply(200, f"OK - {len(raw)}")
        if self.headers.get("Authorization") != f"Bearer {kit.token}":
            return self.reply(200, {"ok": False, "error": "invalid_auth"})
        answer = getattr(kit, "api_" + method.replace(".", "_"), None)
        if answer is None:
            return self.reply(200, {"ok": False, "error": "unknown_method"})
        with kit.lock:
            self.reply(200, answer(fields))


class SlackServer(_HttpKit):
    """Slack's Web API at ``api_url`` and incoming webhooks at ``webhook_url(name)``.

    ``channels`` maps channel IDs to {"name", "is_member", "is_archived"}; posting to any other
    ID answers ``channel_not_found``, like Slack."""

    handler = _SlackHandler

    def __init__(self, token: str = "xoxb-test-token", channels: dict[str, dict] | None = None):
        self.token = token
        self.channels = channels if channels is not None else {"C0123456789": {"name": "pulse", "is_member": True}}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.uploads: dict[str, bytes] = {}
        self.scopes_missing: set[str] = set()
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def webhook_url(self, secret: str = "T000/B000/XXXXXXXXXXXX") -> str:
        return f"{self.url}/services/{secret}"

    def fail(self, method: str | None, times: int = 1, *, status: int = 200, error: str | None = None,
             retry_after: int | None = None, body: str | None = None) -> None:
        """The next ``times`` calls of ``method`` (any when None) answer this instead."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.faults += [Fault(method, status, error, headers, body) for _ in range(times)]

    def take_fault(self, method: str) -> Fault | None:
        for i, f in enumerate(self.faults):
            if f.method in (None, method):
                return self.faults.pop(i)
        return None

    def called(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if not methods or c.method in methods]

    # the Web API methods (called under the lock)

    def api_auth_test(self, f):
        return {"ok": True, "url": "https://capturely.slack.com/", "team": "Capturely", "user": "daypulse",
                "team_id": "T0001", "user_id": "U0001", "bot_id": "B0001"}

    def api_conversations_info(self, f):
        if "conversations.info" in self.scopes_missing:
            return {"ok": False, "error": "missing_scope", "needed": "channels:read"}
        ch = self.channels.get(f.get("channel"))
        if ch is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": f["channel"], "is_archived": False, **ch}}

    def api_chat_postMessage(self, f):
        ch = self.channels.get(f.get("channel"))
        if ch is None:
            return {"ok": False, "error": "channel_not_found"}
        if ch.get("is_archived"):
            return {"ok": False, "error": "is_archived"}
        n = len(self.called("chat.postMessage"))
        ts = f"1772841660.{n:06d}"
        return {"ok": True, "channel": f["channel"], "ts": ts, "message": {"text": f.get("text"), "ts": ts}}

    def api_files_getUploadURLExternal(self, f):
        file_id = f"F{len(self.called('files.getUploadURLExternal')):08d}"
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def api_files_completeUploadExternal(self, f):
        files = json.loads(f["files"])
        uploaded = {c.path.rsplit("/", 1)[-1]: c.data for c in self.called("upload")}
        for item in files:
            if item["id"] not in uploaded:
                return {"ok": False, "error": "file_not_found"}
            self.uploads[item["id"]] = uploaded[item["id"]]
        if f.get("channel_id") and f["channel_id"] not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "files": [{"id": i["id"], "title": i.get("title")} for i in files]}


# ---- SMTP -------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


class _SmtpHandler:
    def __init__(self, kit: SmtpServer):
        self.kit = kit

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.kit.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.kit.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                          tls, login))
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on a free port: ``mode`` starttls (STARTTLS required, then AUTH) or ssl (implicit
    TLS), accepting ``user``/``password``. ``refuse`` maps recipients to an SMTP reply."""

    def __init__(self, cert: Cert, *, mode: str = "starttls", user: str = "reports", password: str = "s3cret-pw!"):
        self.user, self.password = user, password
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.port = free_port()
        tls = cert.server_context()
        common = {"hostname": "127.0.0.1", "port": self.port, "authenticator": self._authenticate,
                  "auth_required": True, "ready_timeout": 5}
        if mode == "starttls":
            self.controller = Controller(_SmtpHandler(self), tls_context=tls, require_starttls=True, **common)
        else:  # implicit TLS: AUTH must be allowed "without" STARTTLS (aiosmtpd 1.4.6)
            self.controller = Controller(_SmtpHandler(self), ssl_context=tls, auth_require_tls=False, **common)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user
              and auth_data.password.decode() == self.password)
        # handled=False: aiosmtpd answers 535 itself; handled=True would leave the client hanging
        return AuthResult(success=True, auth_data=auth_data) if ok else AuthResult(success=False, handled=False)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


# ---- Standard Webhooks receiver ------------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict
    body: bytes
    verified: bool
    reason: str | None
    host: str | None


def verify(secret: str, headers: dict, body: bytes, *, now: float | None = None, tolerance: int = 300) -> str | None:
    """None when a Standard Webhooks request is authentic and fresh, else why not."""
    msg_id, ts, sigs = headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    if not (msg_id and ts and sigs):
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        stamp = int(ts)
    except ValueError:
        return "bad timestamp"
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return "timestamp outside the tolerance"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
    for sig in sigs.split():
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return None
    return "no matching signature"


class _WebhookHandler(_Handler):
    def do_POST(self):
        kit: WebhookReceiver = self.kit
        body = self.body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        reason = verify(kit.secret, headers, body)
        with kit.lock:
            kit.deliveries.append(Delivery(headers, body, reason is None, reason, headers.get("host")))
            answer = kit.answers.pop(0) if kit.answers else None
        if reason is not None:
            return self.reply(401, reason)
        if answer is None:
            return self.reply(204, b"")
        status, body_out, extra = answer
        self.reply(status, body_out, extra)


class WebhookReceiver(_HttpKit):
    """Verifies each POST (401 when the signature or timestamp is wrong), records it, and answers
    204 or the next of ``answers`` (status, body, headers)."""

    handler = _WebhookHandler

    def __init__(self, secret: str, cert: Cert | None = None):
        self.secret = secret
        self.deliveries: list[Delivery] = []
        self.answers: list[tuple[int, bytes | str, dict]] = []
        super().__init__(cert)

    def answer(self, status: int, body: bytes | str = "", headers: dict | None = None, times: int = 1) -> None:
        self.answers += [(status, body, headers or {})] * times
