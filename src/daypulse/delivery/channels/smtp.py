"""Email over SMTP: STARTTLS (587), implicit TLS (465) or plain (a local relay), with login.

The message is ``report.email.build_message`` (HTML + CID charts + text alternative) with a
Message-ID derived from the delivery key, so a re-sent delivery keeps its identity and mail
apps can tell a duplicate. ``render`` stores the whole message as text: a retry sends the same
bytes, Date and Message-ID included.

SMTP's answers, sorted: a 4xx reply is transient (greylisting, "try again later", 454
temporary authentication failure), a 5xx reply is permanent, and so are a refused login (535),
a certificate that does not verify and a server without STARTTLS or AUTH; connection
errors and timeouts are transient. When the server refuses some recipients and takes the
others, the delivery succeeded: the refused ones are named in the result's note (retrying
would send a second copy to everyone else).
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from email.utils import getaddresses
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from daypulse.delivery.channels.base import CheckResult, Outgoing, Secrets, SendResult, read_secret, short
from daypulse.errors import DaypulseError, UsageError
from daypulse.report.email import build_message

PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class EmailSettings(BaseModel):
    """``kind: email``. The password is read from the environment variable ``password_env`` names."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int | None = Field(None, ge=1, le=65535, description="587 for starttls, 465 for ssl, 25 for none")
    security: Literal["starttls", "ssl", "none"] = "starttls"
    user: str | None = None
    password_env: str | None = Field(None, description="environment variable holding the SMTP password")
    sender: str = Field(description='the From address: "Daypulse <reports@example.com>"')
    to: list[str] = Field(default_factory=list, description="default recipients when a delivery names none")
    subject: str | None = Field(None, description="instead of the report's title and period")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds per SMTP command")
    cafile: str | None = Field(None, description="CA bundle to verify the server (a private CA)")
    message_id_domain: str | None = Field(None, description="right side of Message-IDs (default: the sender's)")
    helo: str | None = Field(None, description="name sent in EHLO (default: this machine's FQDN)")
    attach_pdf: bool = Field(False, description="also attach the report as a PDF")

    @model_validator(mode="after")
    def _login_needs_both(self):
        if (self.user is None) != (self.password_env is None):
            raise ValueError("set both `user` and `password_env`, or neither")
        if self.user is not None and self.security == "none":
            raise ValueError("refusing to send a password over an unencrypted connection: security: starttls or ssl")
        if len(found := _addresses(self.sender)) != 1 or found[0] is None:
            raise ValueError(f"sender {self.sender!r} is not an email address")
        return self


class EmailChannel:
    name = "email"
    Settings = EmailSettings
    charts = True  # inline CID images
    target = "one or more email addresses"
    defaults: ClassVar[dict | None] = None  # no sensible default host: SMTP_* variables (delivery.config)
    paths = ("cafile",)  # settings relative to daypulse.yml's folder

    def __init__(self, settings: EmailSettings, password: str | None):
        self.settings = settings
        self.password = password
        self.secrets = Secrets([password] if password else [])
        self.port = settings.port or PORTS[settings.security]
        self.domain = settings.message_id_domain or str(_addresses(settings.sender)[0]).rpartition("@")[2]

    @classmethod
    def from_settings(cls, settings: EmailSettings, env: Mapping[str, str]) -> EmailChannel:
        return cls(settings, read_secret(env, settings.password_env, "password_env", cls.name))

    def message_id(self, key: str) -> str:
        """The Message-ID of a delivery: the same key gives the same id, whatever the attempt."""
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        local = "".join(c if c.isalnum() or c in ".-_" else "." for c in key)
        return f"<daypulse.{local}.{digest}@{self.domain}>"

    def check(self, target: str | list[str] | None = None) -> CheckResult:
        where = f"SMTP {self.settings.host}:{self.port} ({self.settings.security})"
        try:
            smtp = self._connect()
            try:
                code, _ = smtp.noop()
            finally:
                _quit(smtp)
            if code != 250:
                return CheckResult(False, f"{where}: NOOP answered {code}")
        except (smtplib.SMTPException, OSError) as err:
            return CheckResult(False, f"{where}: {self._describe(err)}")
        login = f", logged in as {self.settings.user}" if self.settings.user else ""
        warnings = ()
        if target is not None and (not _addresses(target) or None in _addresses(target)):
            warnings = (f"recipients {target!r}: not all are email addresses",)
        return CheckResult(True, f"{where}: connected{login}, NOOP ok", warnings)

    def render(self, outgoing: Outgoing) -> dict:
        if outgoing.report is None:
            raise ValueError("render needs the report (the Outgoing has only a payload)")
        recipients = self._recipients(outgoing.target)  # bare addresses, for the envelope
        shown = outgoing.target if outgoing.target is not None else self.settings.to  # with names, for To:
        msg = build_message(outgoing.report, sender=self.settings.sender,
                            to=[shown] if isinstance(shown, str) else list(shown), subject=self.settings.subject,
                            template_dir=outgoing.template_dir, message_id_domain=self.domain,
                            message_id=self.message_id(outgoing.key), attach_pdf=self.settings.attach_pdf)
        return {"message": msg.as_string(), "message_id": msg["Message-ID"], "to": recipients}

    def send(self, outgoing: Outgoing) -> SendResult:
        try:
            payload = outgoing.payload if outgoing.payload is not None else self.render(outgoing)
        except DaypulseError as err:  # a template problem, no recipient: fix the settings, then send
            return SendResult.failed(self.secrets.redact(f"email: {err}"), transient=False)
        message_id = payload["message_id"]
        msg = email.message_from_string(payload["message"], policy=email.policy.default)
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(msg, from_addr=str(_addresses(self.settings.sender)[0]),
                                            to_addrs=payload["to"])
            finally:
                _quit(smtp)  # the message is accepted: a failing QUIT must not turn it into a retry
        except smtplib.SMTPRecipientsRefused as err:  # every recipient refused
            transient = all(400 <= code < 500 for code, _ in err.recipients.values())
            return SendResult.failed(self.secrets.redact("email: every recipient refused: " + _refused(err.recipients)),
                                     transient=transient, external_id=message_id)
        except (smtplib.SMTPException, OSError) as err:
            return SendResult.failed(f"email: {self._describe(err)}", transient=_transient(err), external_id=message_id)
        note = None
        if refused:
            note = self.secrets.redact("sent, but the server refused (not retried): " + _refused(refused))
        return SendResult.sent(message_id, note=note)

    def _recipients(self, target: str | list[str] | None) -> list[str]:
        wanted = target if target is not None else self.settings.to
        found = _addresses(wanted)
        if not found or None in found:
            raise UsageError(f"email: recipients {wanted!r}: give one or more email addresses")
        return [a for a in found if a]

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.cafile)
        if s.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, self.port, local_hostname=s.helo, timeout=s.timeout,
                                                  context=context)
        else:
            smtp = smtplib.SMTP(s.host, self.port, local_hostname=s.helo, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.user is not None:
                smtp.login(s.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _describe(self, err: Exception) -> str:
        if isinstance(err, smtplib.SMTPAuthenticationError):
            text = (f"login as {self.settings.user} refused ({err.smtp_code} {_text(err.smtp_error)}): "
                    f"check user and ${self.settings.password_env}")
        elif isinstance(err, smtplib.SMTPNotSupportedError):
            text = f"the server does not support it: {err} (check security: starttls | ssl | none)"
        elif isinstance(err, smtplib.SMTPResponseException):
            text = f"{err.smtp_code} {_text(err.smtp_error)}"
        elif isinstance(err, ssl.SSLCertVerificationError):
            text = f"the server's certificate does not verify: {err.verify_message} (set cafile for a private CA)"
        elif isinstance(err, ssl.SSLError):
            text = f"TLS failed: {err.reason or err} (does security match the port? 587 starttls, 465 ssl)"
        elif isinstance(err, TimeoutError):
            text = f"timed out after {self.settings.timeout:g} s"
        else:
            text = f"cannot connect: {type(err).__name__}: {err}"
        return self.secrets.redact(short(text))


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _transient(err: Exception) -> bool:
    if isinstance(err, smtplib.SMTPResponseException):  # login, sender, data, helo, connect replies
        return 400 <= err.smtp_code < 500
    if isinstance(err, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError):
        return False
    if isinstance(err, ssl.SSLError):  # a cut connection is transient; a protocol mismatch is not
        return isinstance(err, ssl.SSLEOFError | ssl.SSLZeroReturnError)
    return True  # disconnected, refused, reset, DNS, timeout


def _addresses(values: str | list[str]) -> list[str | None]:
    """The bare addresses (a@b.c) in "Ann <a@b.c>, b@c.d" or a list of such; None for each
    entry that is not an address."""
    out: list[str | None] = []
    for _, addr in getaddresses([values] if isinstance(values, str) else list(values)):
        local, _, domain = addr.rpartition("@")
        out.append(addr if local and domain and not any(c.isspace() for c in addr) else None)
    return out


def _refused(recipients: dict) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in recipients.items())


def _text(reply: bytes | str) -> str:
    return short(reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply), 200)
