"""Delivery channels against local servers that speak the real protocols (tests/channelkit.py):
aiosmtpd with STARTTLS and AUTH, a Slack Web API driven through the real slack_sdk client, a
Standard Webhooks receiver, a folder. Nothing leaves 127.0.0.1: names that must resolve
elsewhere are given to a patched ``socket.getaddrinfo``.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import re
import socket
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from channelkit import Fault, SlackServer, SmtpServer, WebhookReceiver, free_port, make_cert, verify
from daypulse.delivery.channels import CHANNELS, Channel, Guard, Outgoing, SendResult, make_channel
from daypulse.delivery.channels.base import Secrets, retry_after
from daypulse.delivery.channels.webhook import WebhookChannel, WebhookSettings
from daypulse.errors import ConfigError
from daypulse.report.charts import BarData, LineData, render_chart
from daypulse.report.email import default_subject
from daypulse.report.model import ChartImage
from daypulse.report.slack import render_slack
from reportkit import sample_report

KEY = "sub-3:2026-03-06"
CHANNEL = "C0123456789"
SMTP_PASSWORD = "s3cret-pw!"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(scope="module")
def report():
    days = [date(2026, 2, 5) + timedelta(days=i) for i in range(30)]
    specs = [LineData("New signups, last 30 days", days, [90 + (i * 7) % 31 for i in range(30)], None, None,
                      "integer", "up"),
             BarData("Calls by staff", ["asha", "ben", "carmen"], [20, 15, 12], "integer")]
    charts = []
    for i, spec in enumerate(specs, 1):
        png = render_chart(spec, width_px=240, dpi=1)
        charts.append(ChartImage(f"chart-{i}", spec.title, png.alt, png.data, png.width, png.height))
    return sample_report(charts=charts)


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_cert(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def slack():
    with SlackServer() as server:
        yield server


@pytest.fixture
def smtp(cert):
    with SmtpServer(cert, password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
def receiver():
    with WebhookReceiver(WEBHOOK_SECRET) as rx:
        yield rx


@pytest.fixture
def names(monkeypatch):
    """``names["host.example"] = "10.0.0.1"`` makes that name resolve there; ``names.calls``
    counts lookups of such names."""
    real = socket.getaddrinfo

    class Names(dict):
        def __init__(self):
            super().__init__()
            self.calls: list[str] = []

    table = Names()

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            table.calls.append(host)
            return real(table[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def email_channel(smtp, cert, password=SMTP_PASSWORD, **settings):
    base = {"host": "127.0.0.1", "port": smtp.port, "security": "starttls", "user": "reports",
            "password_env": "SMTP_PASSWORD", "sender": "Daypulse <reports@capturely.test>", "cafile": str(cert.cert),
            "helo": "localhost"}
    return make_channel("email", base | settings, {"SMTP_PASSWORD": password})


def bot(slack, token=None, **settings):
    return make_channel("slack-bot", {"token_env": "SLACK_BOT_TOKEN", "base_url": slack.api_url} | settings,
                        {"SLACK_BOT_TOKEN": token or slack.token})


def webhook(**settings):
    return make_channel("webhook", {"secret_env": "WEBHOOK_SECRET"} | settings, {"WEBHOOK_SECRET": WEBHOOK_SECRET})


# ---- email ---------------------------------------------------------------------------------------


def test_email_starttls_login_sends_html_text_and_every_cid_chart(smtp, cert, report):
    channel = email_channel(smtp, cert)
    result = channel.send(Outgoing(report, KEY, ["Ann <ann@capturely.test>", "ben@capturely.test"]))

    assert result.ok and result.error is None
    assert result.external_id == channel.message_id(KEY) == email_channel(smtp, cert).message_id(KEY)
    [got] = smtp.received
    assert got.tls and got.login == "reports"  # STARTTLS, then AUTH
    assert got.mail_from == "reports@capturely.test"
    assert got.rcpt_tos == ["ann@capturely.test", "ben@capturely.test"]
    msg = got.message
    assert msg["Subject"] == default_subject(report)
    assert msg["To"] == "Ann <ann@capturely.test>, ben@capturely.test"
    assert msg["Message-ID"] == result.external_id
    assert re.fullmatch(r"<daypulse\.sub-3\.2026-03-06\.[0-9a-f]{16}@capturely\.test>", msg["Message-ID"])

    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    assert text is not None and "New signups" in text.get_content()
    html = msg.get_body(("html",)).get_content()
    images = {p["Content-ID"].strip("<>"): p for p in msg.walk() if p.get_content_maintype() == "image"}
    cids = re.findall(r'src="cid:([^"]+)"', html)
    assert len(cids) == len(report.charts) == len(images)
    for cid in cids:
        assert cid in images, f"cid:{cid} has no image part"
        assert images[cid].get_content_type() == "image/png"
    assert sorted(p.get_content() for p in images.values()) == sorted(c.png for c in report.charts)


def test_email_retry_sends_the_same_message_with_the_same_id(smtp, cert, report):
    channel = email_channel(smtp, cert)
    payload = channel.render(Outgoing(report, KEY, "ann@capturely.test"))
    json.dumps(payload)  # the caller stores it
    stored = Outgoing(None, KEY, "ann@capturely.test", payload=json.loads(json.dumps(payload)))
    first, second = channel.send(stored), channel.send(stored)

    assert first.ok and second.ok and first.external_id == second.external_id
    a, b = smtp.received
    assert a.data == b.data  # same bytes: Date and Message-ID included
    assert a.message["Message-ID"] == channel.message_id(KEY)
    assert channel.render(Outgoing(report, KEY, "ann@capturely.test"))["message_id"] == payload["message_id"]
    assert channel.message_id("sub-3:2026-03-07") != channel.message_id(KEY)


def test_email_wrong_password_is_permanent_and_never_shown(smtp, cert, report, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "hunter2-wrong"
    channel = email_channel(smtp, cert, password=wrong)
    result = channel.send(Outgoing(report, KEY, "ann@capturely.test"))

    assert result.permanent and "535" in result.error
    assert "$SMTP_PASSWORD" in result.error and "reports" in result.error
    assert wrong not in result.error and wrong not in caplog.text
    assert smtp.received == []
    check = channel.check()
    assert not check.ok and "535" in check.detail and wrong not in check.detail


def test_email_refused_recipients_are_permanent_for_them_only(smtp, cert, report):
    smtp.refuse = {"gone@capturely.test": "550 5.1.1 no such user", "busy@capturely.test": "450 4.2.1 try later"}
    channel = email_channel(smtp, cert)

    some = channel.send(Outgoing(report, KEY, ["ann@capturely.test", "gone@capturely.test"]))
    assert some.ok and "gone@capturely.test: 550" in some.note  # not retried: ann has her copy
    assert smtp.received[0].rcpt_tos == ["ann@capturely.test"]

    everyone = channel.send(Outgoing(report, KEY, "gone@capturely.test"))
    assert everyone.permanent and "550" in everyone.error
    later = channel.send(Outgoing(report, KEY, "busy@capturely.test"))
    assert later.transient and "450" in later.error
    assert len(smtp.received) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_implicit_tls(cert, report):
    with SmtpServer(cert, mode="ssl", password=SMTP_PASSWORD) as server:
        channel = email_channel(server, cert, security="ssl")
        assert channel.check().ok
        assert channel.send(Outgoing(report, KEY, "ann@capturely.test")).ok
        assert server.received[0].tls and server.received[0].login == "reports"


def test_email_connection_and_certificate_failures(smtp, cert, report):
    nobody = email_channel(smtp, cert, port=free_port(), timeout=5)
    down = nobody.send(Outgoing(report, KEY, "ann@capturely.test"))
    assert down.transient and "cannot connect" in down.error

    untrusted = email_channel(smtp, cert, cafile=None)  # the self-signed cert is not in the system store
    result = untrusted.send(Outgoing(report, KEY, "ann@capturely.test"))
    assert result.permanent and "certificate" in result.error
    assert smtp.received == []


def test_email_check_and_bad_recipients(smtp, cert, report):
    channel = email_channel(smtp, cert)
    check = channel.check("ann@capturely.test")
    assert check.ok and "logged in as reports" in check.detail and not check.warnings
    assert channel.check("not an address").warnings
    bad = channel.send(Outgoing(report, KEY, ["ann@capturely.test", "nobody"]))
    assert bad.permanent and "recipients" in bad.error and smtp.received == []


# ---- Slack bot -----------------------------------------------------------------------------------


def test_slack_bot_posts_message_then_thread_then_charts(slack, report):
    msg = render_slack(report)
    result = bot(slack).send(Outgoing(report, KEY, CHANNEL))

    assert result.ok and result.external_id
    ts = result.external_id
    n = len(report.charts)
    assert msg.thread and n == 2
    assert [c.method for c in slack.calls] == (
        ["chat.postMessage"] * (1 + len(msg.thread))
        + ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"] * n)

    main, *thread = slack.called("chat.postMessage")
    assert main.fields["channel"] == CHANNEL and "thread_ts" not in main.fields
    assert main.fields["text"] == msg.text and main.fields["blocks"] == msg.blocks
    for call, expected in zip(thread, msg.thread, strict=True):
        assert call.fields["thread_ts"] == ts and call.fields["channel"] == CHANNEL
        assert call.fields["text"] == expected["text"] and call.fields["blocks"] == expected["blocks"]

    urls = slack.called("files.getUploadURLExternal")
    uploads = slack.called("upload")
    completes = slack.called("files.completeUploadExternal")
    for chart, url, upload, complete in zip(report.charts, urls, uploads, completes, strict=True):
        assert url.fields["filename"] == f"{chart.id}.png"
        assert url.fields["length"] == str(len(chart.png))
        assert url.fields["alt_txt"] == chart.alt
        assert upload.data == chart.png
        assert complete.fields["channel_id"] == CHANNEL and complete.fields["thread_ts"] == ts
        [file] = json.loads(complete.fields["files"])
        assert file["title"] == chart.title and upload.path.endswith(file["id"])
    assert sorted(slack.uploads.values()) == sorted(c.png for c in report.charts)


def test_slack_bot_rate_limit_is_transient_and_the_sdk_does_not_sleep(slack, report):
    slack.fail("chat.postMessage", status=429, error="ratelimited", retry_after=30)
    started = time.monotonic()
    result = bot(slack).send(Outgoing(report, KEY, CHANNEL))

    assert time.monotonic() - started < 5
    assert result.transient and result.retry_after == 30 and "ratelimited" in result.error
    assert result.external_id is None and result.progress is None
    assert [c.method for c in slack.calls] == ["chat.postMessage"]


def test_slack_bot_resumes_after_a_partial_failure_without_posting_twice(slack, report):
    channel = bot(slack)
    payload = json.loads(json.dumps(channel.render(Outgoing(report, KEY, CHANNEL))))
    slack.fail("upload", status=503, body="busy")  # the first chart's bytes
    first = channel.send(Outgoing(None, KEY, CHANNEL, payload=payload))

    assert first.transient and first.external_id
    thread = len(payload["thread"])
    assert first.progress == {"resume_ts": first.external_id, "thread_sent": thread, "files_sent": 0}
    second = channel.send(Outgoing(None, KEY, CHANNEL, payload={**payload, **first.progress}))

    assert second.ok and second.external_id == first.external_id
    top_level = [c for c in slack.called("chat.postMessage") if "thread_ts" not in c.fields]
    assert len(top_level) == 1 and len(slack.called("chat.postMessage")) == 1 + thread
    assert len(slack.called("files.completeUploadExternal")) == len(report.charts)
    assert sorted(slack.uploads.values()) == sorted(c.png for c in report.charts)


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived", "invalid_blocks",
                                   "msg_blocks_too_long", "invalid_auth"])
def test_slack_bot_permanent_errors(slack, report, error):
    slack.fail("chat.postMessage", error=error)
    result = bot(slack).send(Outgoing(report, KEY, CHANNEL))
    assert result.permanent and error in result.error and result.retry_after is None


def test_slack_bot_unknown_channel_and_channel_names(slack, report):
    unknown = bot(slack).send(Outgoing(report, KEY, "C9999999999"))
    assert unknown.permanent and "channel_not_found" in unknown.error and "channel's ID" in unknown.error
    slack.calls.clear()
    name = bot(slack).send(Outgoing(report, KEY, "#pulse"))
    assert name.permanent and "not a channel ID" in name.error and slack.calls == []


def test_slack_bot_server_and_connection_errors_are_transient(slack, report):
    slack.fail("chat.postMessage", status=500, body="<html>Internal error</html>")
    assert bot(slack).send(Outgoing(report, KEY, CHANNEL)).transient
    slack.fail("chat.postMessage", status=503, error="service_unavailable")
    assert bot(slack).send(Outgoing(report, KEY, CHANNEL)).transient
    gone = f"http://127.0.0.1:{free_port()}/api/"
    down = bot(slack, base_url=gone, timeout=5).send(Outgoing(report, KEY, CHANNEL))
    assert down.transient and "cannot connect" in down.error


def test_slack_token_is_redacted_in_errors_and_logs(slack, report, caplog):
    caplog.set_level(logging.DEBUG)
    token = "xoxb-1111-2222-leakedSECRET"
    # a server echoing the token it was given, in a body slack_sdk logs at debug level
    slack.token = token
    slack.fail("chat.postMessage", error=f"token {token} is not allowed here")
    result = bot(slack, token=token).send(Outgoing(report, KEY, CHANNEL))

    assert result.permanent and "[redacted]" in result.error
    assert token not in result.error
    assert "Sending a request" in caplog.text  # slack_sdk's debug log went through our logger...
    assert token not in caplog.text and "leakedSECRET" not in caplog.text  # ...redacted
    wrong = bot(slack, token="xoxb-wrong-token").send(Outgoing(report, KEY, CHANNEL))
    assert wrong.permanent and "invalid_auth" in wrong.error and "xoxb-wrong-token" not in wrong.error


def test_slack_bot_check(slack):
    slack.channels["C0000000002"] = {"name": "quiet", "is_member": False}
    ok = bot(slack).check(CHANNEL)
    assert ok.ok and "#pulse" in ok.detail and not ok.warnings
    assert [c.method for c in slack.calls] == ["auth.test", "conversations.info"]
    outside = bot(slack).check("C0000000002")
    assert outside.ok and "not a member" in outside.warnings[0]
    assert not bot(slack).check("C9999999999").ok
    assert not bot(slack).check("#pulse").ok
    assert not bot(slack, token="xoxb-wrong").check(CHANNEL).ok
    slack.scopes_missing.add("conversations.info")
    unknown = bot(slack).check(CHANNEL)
    assert unknown.ok and "channels:read" in unknown.warnings[0]
    assert "chat.postMessage" not in [c.method for c in slack.calls]  # a check never posts


# ---- Slack incoming webhook ---------------------------------------------------------------------


WEBHOOK_PATH = "T000/B000/abcdefSECRETpath"


def slack_webhook(slack, **settings):
    return make_channel("slack-webhook", {"url_env": "SLACK_WEBHOOK_URL", "allow_private": True} | settings,
                        {"SLACK_WEBHOOK_URL": slack.webhook_url(WEBHOOK_PATH)})


def test_slack_webhook_posts_text_and_blocks_and_says_what_it_left_out(slack, report):
    msg = render_slack(report, follow_ups="none")
    result = slack_webhook(slack).send(Outgoing(report, KEY))

    assert result.ok and result.external_id is None
    [call] = slack.calls
    assert call.method == "webhook" and call.path.endswith(WEBHOOK_PATH)
    assert call.fields == {"text": msg.text, "blocks": msg.blocks}
    assert "2 chart(s) left out" in result.note and "thread message" in result.note
    # A webhook makes no thread and here posts nothing after the message: it points to neither.
    said = json.dumps(call.fields["blocks"])
    assert "thread" not in said.lower() and "Below:" not in said, said


def test_slack_webhook_follow_ups_resume_after_the_last_message_sent(slack, report):
    channel = slack_webhook(slack, follow_ups=True)
    payload = json.loads(json.dumps(channel.render(Outgoing(report, KEY))))
    n = len(payload["messages"])
    assert n == 1 + len(render_slack(report).thread) >= 2 and "thread message" not in payload["note"]
    main = json.dumps(payload["messages"][0]["blocks"])
    assert "Below: Definitions" in main and "thread" not in main.lower(), main  # posted after it, not threaded
    assert "chart" not in main  # a webhook uploads none
    slack.fail("webhook", status=200, body="ok")  # the main message goes through
    slack.fail("webhook", status=429, error="rate_limited", retry_after=2)  # the first follow-up does not
    first = channel.send(Outgoing(None, KEY, payload=payload))

    assert first.transient and first.retry_after == 2 and first.progress == {"messages_sent": 1}
    second = channel.send(Outgoing(None, KEY, payload={**payload, **first.progress}))
    assert second.ok
    texts = [c.fields.get("text") for c in slack.calls]
    assert texts == [m["text"] for m in payload["messages"][:2]] + [m["text"] for m in payload["messages"][1:]]


@pytest.mark.parametrize(("status", "word", "transient"), [
    (400, "invalid_payload", False), (403, "action_prohibited", False), (404, "channel_not_found", False),
    (410, "channel_is_archived", False), (429, "rate_limited", True), (500, "rollup_error", True),
    (503, "service_unavailable", True)])
def test_slack_webhook_answers(slack, report, status, word, transient):
    slack.fail("webhook", status=status, error=word, retry_after=12 if status == 429 else None)
    result = slack_webhook(slack).send(Outgoing(report, KEY))
    assert not result.ok and result.transient is transient
    assert f"HTTP {status} {word}" in result.error
    assert result.retry_after == (12 if status == 429 else None)


def test_slack_webhook_url_is_a_secret(slack, report, caplog):
    caplog.set_level(logging.DEBUG)
    channel = slack_webhook(slack)
    assert channel.send(Outgoing(report, KEY)).ok
    slack.fail("webhook", status=404, body=f"no_service for {slack.webhook_url(WEBHOOK_PATH)}")
    result = channel.send(Outgoing(report, KEY))
    assert result.permanent and "[redacted]" in result.error
    assert "SECRETpath" not in result.error and "SECRETpath" not in caplog.text
    assert "Sending a request" in caplog.text
    gone = make_channel("slack-webhook", {"url_env": "U", "timeout": 5, "allow_private": True},
                        {"U": f"http://127.0.0.1:{free_port()}/services/{WEBHOOK_PATH}"})
    down = gone.send(Outgoing(report, KEY))
    assert down.transient and "SECRETpath" not in down.error and "SECRETpath" not in caplog.text


def test_the_slack_webhook_has_the_ssrf_guard_and_follows_no_redirect(slack, report):
    """The URL comes from the environment, but whoever sets it must not reach internal services
    through daypulse: the webhook channel's guard applies, and a redirect is never followed."""
    for url in (slack.webhook_url(WEBHOOK_PATH), "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/x"):
        channel = make_channel("slack-webhook", {"url_env": "U"}, {"U": url})
        result = channel.send(Outgoing(report, KEY))
        assert result.permanent and "refused" in result.error, (url, result)
        check = channel.check()  # `daypulse check` says so before any send
        assert not check.ok and "refused" in check.detail and "SECRETpath" not in check.detail, check
    assert slack.calls == []
    slack.faults.append(Fault("webhook", 302, None, {"Location": slack.api_url + "chat.postMessage"}, "moved"))
    result = slack_webhook(slack).send(Outgoing(report, KEY))
    assert result.permanent and "HTTP 302" in result.error and "redirects are not followed" in result.error
    assert [c.method for c in slack.calls] == ["webhook"]  # the redirect's target was never asked


def test_slack_webhook_check(slack):
    check = slack_webhook(slack).check()
    assert check.ok and "not contacted" in check.detail and "hooks.slack.com" in check.warnings[0]
    assert slack.calls == [] and "SECRETpath" not in str(check)
    assert not make_channel("slack-webhook", {"url_env": "U"}, {"U": "not a url"}).check().ok


# ---- generic webhook -------------------------------------------------------------------------------


def test_webhook_signed_delivery_verifies(receiver, report):
    result = webhook(allow_private=True, url=receiver.url + "/hooks/daypulse").send(Outgoing(report, KEY))

    assert result.ok and result.external_id == KEY
    [got] = receiver.deliveries
    assert got.verified, got.reason
    assert got.headers["webhook-id"] == KEY
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", got.headers["webhook-signature"])
    assert got.headers["content-type"] == "application/json"
    body = json.loads(got.body)
    assert body == {"type": "daypulse.report", "key": KEY, "report": report.to_json()}

    # the receiver really checks: a changed body, a stale or future timestamp, another secret
    assert verify(WEBHOOK_SECRET, got.headers, got.body + b" ") == "no matching signature"
    stamp = int(got.headers["webhook-timestamp"])
    assert verify(WEBHOOK_SECRET, got.headers, got.body, now=stamp + 301) == "timestamp outside the tolerance"
    assert verify(WEBHOOK_SECRET, got.headers, got.body, now=stamp - 301) == "timestamp outside the tolerance"
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    assert verify(other, got.headers, got.body) == "no matching signature"


def test_webhook_retry_keeps_id_and_body_and_signs_a_new_timestamp(receiver, report):
    now = int(time.time())
    clock = iter([now - 60, now])  # the second attempt a minute after the first
    channel = WebhookChannel(WebhookSettings(secret_env="X", allow_private=True, url=receiver.url), WEBHOOK_SECRET,
                             clock=lambda: next(clock))
    payload = json.loads(json.dumps(channel.render(Outgoing(report, KEY))))
    receiver.answer(503, "try later", {"Retry-After": "60"})
    first = channel.send(Outgoing(None, KEY, receiver.url, payload=payload))
    second = channel.send(Outgoing(None, KEY, receiver.url, payload=payload))

    assert first.transient and first.retry_after == 60 and second.ok
    a, b = receiver.deliveries
    assert a.headers["webhook-id"] == b.headers["webhook-id"] == KEY and a.body == b.body
    assert (a.headers["webhook-timestamp"], b.headers["webhook-timestamp"]) == (str(now - 60), str(now))
    assert a.headers["webhook-signature"] != b.headers["webhook-signature"] and a.verified and b.verified


@pytest.mark.parametrize(("status", "headers", "transient", "wait"), [
    (200, {}, None, None), (202, {}, None, None),
    (410, {}, False, None), (400, {}, False, None), (404, {}, False, None), (401, {}, False, None),
    (429, {"Retry-After": "7"}, True, 7.0), (502, {}, True, None), (503, {"Retry-After": "120"}, True, 120.0),
    (504, {}, True, None), (500, {}, True, None)])
def test_webhook_answers(receiver, report, status, headers, transient, wait):
    receiver.answer(status, "answer", headers)
    result = webhook(allow_private=True, url=receiver.url).send(Outgoing(report, KEY))
    if transient is None:
        assert result.ok
    else:
        assert not result.ok and result.transient is transient and f"HTTP {status}" in result.error
        assert result.retry_after == wait and result.external_id == KEY
    if status == 410:
        assert "gone" in result.error


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after("Fri, 06 Mar 2026 00:02:00 GMT", now=datetime(2026, 3, 6, 0, 1, tzinfo=UTC)) == 60
    assert retry_after(" 30 ") == 30 and retry_after("999999999") == 24 * 3600
    assert retry_after("soon") is None and retry_after(None) is None and retry_after("-5") == 0


def test_webhook_does_not_follow_redirects(receiver, report):
    receiver.answer(302, "", {"Location": "http://169.254.169.254/latest/meta-data/"})
    result = webhook(allow_private=True, url=receiver.url).send(Outgoing(report, KEY))
    assert result.permanent and "not followed" in result.error
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/",
    "http://[64:ff9b::7f00:1]/", "http://[::ffff:127.0.0.1]:{port}/", "http://localhost:{port}/",
    "http://intranet.example/", "http://100.64.0.1/", "http://[fc00::1]/", "http://192.168.1.10/",
    "ftp://files.example/", "file:///etc/passwd"])
def test_ssrf_guard_refuses_before_connecting(receiver, report, names, monkeypatch, url):
    names["intranet.example"] = "10.0.0.1"

    def no_connection(*args, **kwargs):
        raise AssertionError("the guard let a connection through")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    result = webhook().send(Outgoing(report, KEY, url.format(port=receiver.port)))
    assert result.permanent and "refused" in result.error, result.error
    assert receiver.deliveries == []
    assert not webhook().check(url.format(port=receiver.port)).ok


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "::1", "64:ff9b::7f00:1", "::ffff:127.0.0.1",
                                     "192.168.1.10", "fc00::1", "100.64.0.1"])
def test_allow_private_allows_loopback_and_private_addresses(address):
    assert Guard().refusal(ipaddress.ip_address(address))
    assert Guard(allow_private=True).refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "0.0.0.0", "224.0.0.1", "::ffff:169.254.169.254"])
def test_metadata_and_other_odd_addresses_stay_refused(address):
    assert Guard(allow_private=True).refusal(ipaddress.ip_address(address))


def test_global_addresses_are_allowed():
    for address in ["8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"]:
        assert Guard().refusal(ipaddress.ip_address(address)) is None


def test_webhook_connects_to_the_address_it_checked(receiver, report, names):
    names["receiver.example"] = "127.0.0.1"
    url = f"http://receiver.example:{receiver.port}/hook"
    assert webhook().send(Outgoing(report, KEY, url)).permanent  # 127.0.0.1 is not global
    assert receiver.deliveries == []

    names.calls.clear()
    result = webhook(allow_private=True, url=url).send(Outgoing(report, KEY))
    assert result.ok
    assert names.calls == ["receiver.example"]  # resolved once, at connect time, and that address used
    assert receiver.deliveries[0].host == f"receiver.example:{receiver.port}"  # the URL's host, not the IP


def test_webhook_https_to_a_pinned_address_verifies_the_host_name(cert, report, names):
    names["receiver.example"] = "127.0.0.1"
    with WebhookReceiver(WEBHOOK_SECRET, cert) as rx:
        url = f"https://receiver.example:{rx.port}/hook"
        ok = webhook(allow_private=True, cafile=str(cert.cert), url=url).send(Outgoing(report, KEY))
        assert ok.ok and rx.deliveries[0].verified
        untrusted = webhook(allow_private=True, url=url).send(Outgoing(report, KEY))
        assert untrusted.permanent and "certificate" in untrusted.error
        names["other.example"] = "127.0.0.1"  # a name the certificate does not cover
        wrong_name = webhook(allow_private=True, cafile=str(cert.cert),
                             url=f"https://other.example:{rx.port}/hook").send(Outgoing(report, KEY))
        assert wrong_name.permanent and len(rx.deliveries) == 1


def test_webhook_reads_a_capped_response_and_survives_a_dead_endpoint(receiver, report):
    receiver.answer(200, b"x" * 2_000_000)
    started = time.monotonic()
    result = webhook(allow_private=True, max_response_bytes=1024, url=receiver.url).send(Outgoing(report, KEY))
    assert result.ok and time.monotonic() - started < 5
    receiver.answer(500, b"y" * 2_000_000)
    failed = webhook(allow_private=True, max_response_bytes=100, url=receiver.url).send(Outgoing(report, KEY))
    assert failed.transient and len(failed.error) < 400
    down = webhook(allow_private=True, timeout=2, url=f"http://127.0.0.1:{free_port()}/").send(Outgoing(report, KEY))
    assert down.transient and "cannot connect" in down.error


def test_a_subscriptions_target_never_borrows_a_private_channels_allowance(receiver, report):
    """allow_private is the operator's, for the URL in daypulse.yml: a `to` that an admin (a
    tenant's, through the API) sets on that channel is held to public addresses."""
    channel = webhook(allow_private=True, url=receiver.url + "/configured")
    for elsewhere in (receiver.url + "/other", "http://127.0.0.1:9/", "http://10.1.2.3/x", "http://0177.0.0.1/"):
        result = channel.send(Outgoing(report, KEY, elsewhere))
        assert result.permanent and "refused" in result.error, (elsewhere, result)
        assert not channel.check(elsewhere).ok
    assert "allow_private covers only the channel's own url" in channel.check(receiver.url + "/other").detail
    assert receiver.deliveries == []
    assert channel.send(Outgoing(report, KEY)).ok and channel.send(Outgoing(report, KEY, receiver.url +
                                                                            "/configured")).ok
    assert len(receiver.deliveries) == 2


def test_webhook_check(receiver, names):
    assert webhook(allow_private=True, url=receiver.url).check(receiver.url).ok
    assert not webhook().check(receiver.url).ok
    assert webhook(url=receiver.url, allow_private=True).check().ok
    names["nowhere.example"] = "10.0.0.1"
    assert "10.0.0.1" in webhook().check("http://nowhere.example/").detail
    assert receiver.deliveries == []  # a check never posts


def test_webhook_secret_is_checked_and_never_shown():
    with pytest.raises(ConfigError) as err:
        make_channel("webhook", {"secret_env": "S"}, {"S": "not-a-webhook-secret"})
    assert "whsec_" in str(err.value) and "not-a-webhook-secret" not in str(err.value)
    with pytest.raises(ConfigError, match="at least 24"):
        make_channel("webhook", {"secret_env": "S"}, {"S": "whsec_" + base64.b64encode(b"short").decode()})
    assert WEBHOOK_SECRET not in Secrets([WEBHOOK_SECRET]).redact(f"secret={WEBHOOK_SECRET}")


# ---- file --------------------------------------------------------------------------------------------


def test_file_channel_writes_atomically_and_is_idempotent(tmp_path, report):
    channel = make_channel("file", {"root": str(tmp_path / "out")}, {})
    first = channel.send(Outgoing(report, KEY))
    folder = tmp_path / "out"
    html = folder / "sub-3_2026-03-06.html"

    assert first.ok and first.external_id == str(html) and first.note is None
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert pngs == ["sub-3_2026-03-06-chart-1.png", "sub-3_2026-03-06-chart-2.png"]
    text = html.read_text()
    assert 'src="sub-3_2026-03-06-chart-1.png"' in text and "cid:" not in text
    assert (folder / pngs[0]).read_bytes() == report.charts[0].png
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    again = channel.send(Outgoing(report, KEY))
    assert again.ok and again.external_id == first.external_id and "unchanged" in again.note
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before  # nothing rewritten, no temp files


def test_file_channel_json_to_a_target_folder_under_its_root(tmp_path, report):
    channel = make_channel("file", {"format": "json"}, {}, base_dir=tmp_path)  # root: outbox/ beside daypulse.yml
    result = channel.send(Outgoing(report, "sub-4:2026-03-06", "acme/daily"))
    written = tmp_path / "outbox" / "acme" / "daily" / "sub-4_2026-03-06.json"
    assert result.ok and json.loads(written.read_text()) == report.to_json()
    assert channel.send(Outgoing(report, "sub-4:2026-03-06")).external_id == str(tmp_path / "outbox" /
                                                                                 "sub-4_2026-03-06.json")


def test_file_channel_failures_and_check(tmp_path, report):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    channel = make_channel("file", {"root": str(blocked)}, {})
    result = channel.send(Outgoing(report, KEY))
    assert result.permanent and "cannot write" in result.error
    assert not channel.check().ok
    assert make_channel("file", {"root": "new"}, {}, base_dir=tmp_path).check().ok
    assert (tmp_path / "new").is_dir()


@pytest.mark.parametrize("target", ["../../somewhere", "a/../../b", "/tmp/elsewhere", "link/inside", "", "  ",
                                    "a\x00b", "line\nbreak", "loop/x"])
def test_the_file_channel_writes_only_under_its_root(tmp_path, report, target):
    """A tenant's admin may add a file subscription through the API: whatever it names, nothing
    is written outside the channel's root, and the refusal is permanent (no retries)."""
    root = tmp_path / "project" / "outbox"
    root.mkdir(parents=True)
    (root / "link").symlink_to(tmp_path, target_is_directory=True)  # a symlink out of the root
    (root / "loop").symlink_to(root / "loop")  # a symlink to itself
    channel = make_channel("file", {}, {}, base_dir=tmp_path / "project")
    before = sorted(tmp_path.rglob("*"))
    result = channel.send(Outgoing(report, KEY, target))
    assert result.permanent and ("root" in result.error or "not a folder" in result.error), result
    assert not channel.check(target).ok
    assert sorted(tmp_path.rglob("*")) == before  # no folder made, no file written anywhere


# ---- registry, settings, secrets ---------------------------------------------------------------------


def test_every_kind_builds_from_settings_and_environment(tmp_path, slack):
    env = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X", "SLACK_BOT_TOKEN": "xoxb-1",
           "SMTP_PASSWORD": "pw", "WEBHOOK_SECRET": WEBHOOK_SECRET}
    settings = {
        "slack-webhook": {"url_env": "SLACK_WEBHOOK_URL"},
        "slack-bot": {"token_env": "SLACK_BOT_TOKEN", "base_url": slack.api_url},
        "email": {"host": "smtp.example.com", "user": "u", "password_env": "SMTP_PASSWORD",
                  "sender": "reports@example.com"},
        "webhook": {"secret_env": "WEBHOOK_SECRET"},
        "file": {"root": str(tmp_path)},
    }
    assert set(settings) == set(CHANNELS)
    for kind, s in settings.items():
        channel = make_channel(kind, s, env)
        assert isinstance(channel, Channel) and channel.name == kind


def test_each_channel_class_says_what_it_can_do(tmp_path):
    """The runner draws charts only for channels that carry them and resolves targets through the
    class; the subscription checks name the same kinds without importing the channels."""
    from daypulse.delivery.subscription import CHANNEL_KINDS

    assert tuple(CHANNELS) == CHANNEL_KINDS
    assert {k for k, cls in CHANNELS.items() if not cls.charts} == {"slack-webhook", "webhook"}
    assert CHANNELS["slack-webhook"].target is None and all(CHANNELS[k].target for k in CHANNEL_KINDS
                                                            if k != "slack-webhook")
    assert {k: cls.paths for k, cls in CHANNELS.items() if cls.paths} == {"file": ("root",), "email": ("cafile",),
                                                                          "webhook": ("cafile",)}
    assert CHANNELS["email"].defaults is None  # from SMTP_* variables, never a guessed host


@pytest.mark.parametrize(("kind", "settings", "env", "message"), [
    ("pigeon", {}, {}, "unknown channel kind 'pigeon'"),
    ("slack-bot", {"token_env": "T", "token": "xoxb-inline"}, {"T": "x"}, "`token`: Extra inputs"),
    ("slack-bot", {"token_env": "SLACK_BOT_TOKEN"}, {}, "SLACK_BOT_TOKEN (from `token_env`) is not set"),
    ("email", {"host": "h", "sender": "r@example.com", "user": "u"}, {}, "`user` and `password_env`"),
    ("email", {"host": "h", "sender": "r@example.com", "security": "none", "user": "u", "password_env": "P"},
     {"P": "x"}, "unencrypted"),
    ("email", {"host": "h", "sender": "nobody"}, {}, "not an email address"),
    ("webhook", {"secret_env": "S", "allow_private": "sometimes"}, {"S": WEBHOOK_SECRET}, "`allow_private`"),
    ("file", {"folder": "reports"}, {}, "`folder` is now `root`"),
    ("file", {"root": ""}, {}, "`root`: String should have at least 1 character"),
])
def test_bad_settings_are_config_errors(kind, settings, env, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        make_channel(kind, settings, env)
    assert "xoxb-inline" not in str(err.value)


def test_secrets_are_redacted_by_value_and_by_shape():
    secrets = Secrets(["hunter2-password"])
    text = ("login hunter2-password failed; token xoxb-123-456-abc; xapp-1-A; whsec_QUJDRA==; "
            "https://hooks.slack.com/services/T0/B0/XYZ; Authorization: Bearer abc.def")
    out = secrets.redact(text)
    for leaked in ["hunter2-password", "xoxb-123", "xapp-1-A", "QUJDRA", "T0/B0/XYZ", "abc.def"]:
        assert leaked not in out
    assert "hooks.slack.com/[redacted]" in out


def test_every_channel_setting_is_documented():
    text = (Path(__file__).parent.parent / "docs" / "delivery.md").read_text()
    assert "\n## Schedules\n" in text  # the schedules part follows the channels
    channels = text.split("\n## Channels\n", 1)[1].split("\n## Schedules\n", 1)[0]
    sections = dict(re.findall(r"^### `([a-z-]+)`\n(.*?)(?=^### |\Z)", channels, re.M | re.S))
    assert set(sections) == set(CHANNELS)
    for kind, cls in CHANNELS.items():
        for setting in cls.Settings.model_fields:
            assert f"| `{setting}` |" in sections[kind], f"docs/delivery.md: {kind} setting `{setting}` is undocumented"


def test_outgoing_keys_are_safe_and_results_are_plain_data(report):
    with pytest.raises(ValueError, match="delivery key"):
        Outgoing(report, "sub 3\r\nX-Injected: yes")
    with pytest.raises(ValueError, match="report to render or a stored payload"):
        Outgoing(None, KEY)
    failed = SendResult.failed("x", transient=False, retry_after=5)
    assert failed.permanent and failed.retry_after is None  # a permanent failure has nothing to wait for
