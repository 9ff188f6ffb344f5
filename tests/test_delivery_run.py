"""Scheduler passes end to end: subscriptions → due periods → delivery rows → real channels.

The project's data is storekit's events (2026-02-01 .. 2026-03-12, Asia/Kolkata unless a test
says otherwise). Passes run at chosen instants (``run_pass(now=...)``, ``run-due --now``), so
days, DST changes and downtime are replayed in milliseconds.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from channelkit import SlackServer, SmtpServer, WebhookReceiver, make_cert
from daypulse.delivery import ledger
from daypulse.delivery import subscription_store as subs
from daypulse.delivery.runner import run_pass
from deliverykit import at, cli, daypulse, load, write

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def file_sub(folder, **extra) -> dict:
    return {"name": "ops-daily", "report": "pulse", "schedule": "daily at 00:01", "timezone": "Asia/Kolkata",
            "channel": "file", "to": folder.name, **extra}  # a folder under the project folder (the root)


def statuses(store) -> list[tuple[str, date, str]]:
    return sorted((r.subscription, r.period_start, r.status) for r in ledger.listing(store, limit=10_000))


# -- one period, once ----------------------------------------------------------------------------

def test_each_period_is_delivered_once_whatever_the_passes(tmp_path, store_url):
    out = tmp_path / "out"
    write(tmp_path, store=store_url, subscriptions=[file_sub(out)])
    project, store = load(tmp_path)
    # 00:01 IST on 2 March fires for 1 March; the pass just after sends it.
    first = run_pass(project, store, at("2026-03-02T00:05:00+05:30"), base_dir=tmp_path)
    assert (first.due, first.sent) == (1, 1)
    assert sorted(p.name for p in out.iterdir()) == ["ops-daily_2026-03-01.html"]
    html = (out / "ops-daily_2026-03-01.html").read_text()
    assert "Pulse" in html and "Sunday 1 March 2026" in html
    # The same instant again, a later pass the same day, another process's pass: nothing new.
    for when in ("2026-03-02T00:05:00+05:30", "2026-03-02T09:00:00+05:30"):
        again = run_pass(project, store, at(when), base_dir=tmp_path)
        assert (again.due, again.sent) == (0, 0)
    # A scheduler that never ran before (checked_until forgotten) sees the fire within its
    # grace again: the row exists, so nothing is sent twice.
    with store.engine.begin() as conn:
        conn.execute(subs.S.__table__.update().values(checked_until=None))
    replay = run_pass(project, store, at("2026-03-02T09:00:00+05:30"), base_dir=tmp_path)
    assert (replay.due, replay.sent) == (1, 0)
    nxt = run_pass(project, store, at("2026-03-03T00:02:00+05:30"), base_dir=tmp_path)
    assert (nxt.due, nxt.sent) == (1, 1)
    assert statuses(store) == [("ops-daily", date(2026, 3, 1), "sent"), ("ops-daily", date(2026, 3, 2), "sent")]
    stats = ledger.stats(store)
    assert stats["runs"] == 5 and stats["sent"] == 2 and stats["errors"] == 0


def test_a_report_waits_for_its_period_to_end_in_the_project_zone(tmp_path):
    # The project counts days in New York; a subscriber in Kolkata gets "yesterday" at 00:01 IST,
    # which is the afternoon before in New York: the row waits for the New York day to end.
    out = tmp_path / "out"
    write(tmp_path, timezone="America/New_York", subscriptions=[file_sub(out)])
    project, store = load(tmp_path)
    early = run_pass(project, store, at("2026-03-02T00:05:00+05:30"), base_dir=tmp_path)
    assert (early.due, early.sent) == (1, 0)
    (row,) = ledger.listing(store)
    assert row.status == "pending" and row.next_attempt_at == at("2026-03-02T05:00:00+00:00")
    assert not out.exists()
    assert run_pass(project, store, at("2026-03-02T04:59:00+00:00"), base_dir=tmp_path).sent == 0
    later = run_pass(project, store, at("2026-03-02T05:01:00+00:00"), base_dir=tmp_path)
    assert later.sent == 1
    html = (out / "ops-daily_2026-03-01.html").read_text()
    assert "Sunday 1 March 2026" in html


# -- DST ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wall, first, last, period, fired", [
    # New York falls back on 1 November 2026: 01:30 happens twice. One delivery, at the first.
    ("01:30", "2026-10-31T22:00:00-04:00", "2026-11-01T04:00:00-05:00", date(2026, 10, 31),
     "2026-11-01T05:30:00+00:00"),
    # New York springs forward on 8 March 2026: 02:30 does not exist. Sent at 03:00 EDT.
    ("02:30", "2026-03-07T22:00:00-05:00", "2026-03-08T06:00:00-04:00", date(2026, 3, 7),
     "2026-03-08T07:00:00+00:00"),
])
def test_dst_a_double_fire_sends_once_and_a_skipped_time_still_sends(tmp_path, wall, first, last, period, fired):
    out = tmp_path / "out"
    write(tmp_path, timezone="America/New_York",
          subscriptions=[file_sub(out, schedule=f"daily at {wall}", timezone="America/New_York", grace="1h")])
    project, store = load(tmp_path)
    now, sent_at = at(first), []
    while now <= at(last):  # a pass every 10 minutes through the night
        if run_pass(project, store, now, base_dir=tmp_path, record=False).sent:
            sent_at.append(now)
        now += timedelta(minutes=10)
    assert statuses(store) == [("ops-daily", period, "sent")]
    assert len(sent_at) == 1 and at(fired) <= sent_at[0] < at(fired) + timedelta(minutes=10)


# -- catch-up ------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy, expected", [
    ("latest", [date(2026, 3, 4)]),
    ("all", [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]),
    ("none", []),
])
def test_catch_up_after_three_days_down(tmp_path, policy, expected):
    write(tmp_path, subscriptions=[file_sub(tmp_path / "out", catch_up=policy, grace="2d")])
    project, store = load(tmp_path)
    run_pass(project, store, at("2026-03-02T00:05:00+05:30"), base_dir=tmp_path)
    periods_before = {r.period_start for r in ledger.listing(store)}
    # Down from 00:05 on 2 March until 08:00 on 5 March: fires on the 3rd, 4th and 5th missed.
    run_pass(project, store, at("2026-03-05T08:00:00+05:30"), base_dir=tmp_path)
    caught = sorted({r.period_start for r in ledger.listing(store)} - periods_before)
    assert caught == expected
    assert all(r.status == "sent" for r in ledger.listing(store))


# -- retries, failures, the ops channel ---------------------------------------------------------

def test_retries_honour_retry_after_then_resend_the_same_content(tmp_path, store_url):
    with WebhookReceiver(SECRET) as hook:
        write(tmp_path, store=store_url,
              channels={"hook": {"kind": "webhook", "secret_env": "HOOK_SECRET", "allow_private": True,
                                 "url": f"{hook.url}/in"}},
              subscriptions=[{"name": "feed", "report": "pulse", "schedule": "daily at 06:00", "channel": "hook"}])
        project, store = load(tmp_path)
        env = {"HOOK_SECRET": SECRET}
        hook.answer(429, "slow down", {"Retry-After": "600"})
        hook.answer(503, "down")
        t0 = at("2026-03-02T06:01:00+05:30")
        first = run_pass(project, store, t0, env=env, base_dir=tmp_path)
        assert (first.sent, first.retrying) == (1 - 1, 1)
        (row,) = ledger.listing(store)
        assert row.status == "pending" and row.attempts == 1 and "429" in row.last_error
        assert row.next_attempt_at >= t0 + timedelta(seconds=600)  # Retry-After beats the back-off
        # Before the server's time: not tried.
        assert run_pass(project, store, t0 + timedelta(minutes=9), env=env, base_dir=tmp_path).retrying == 0
        assert len(hook.deliveries) == 1
        second = run_pass(project, store, t0 + timedelta(minutes=11), env=env, base_dir=tmp_path)
        assert second.retrying == 1 and "503" in ledger.get(store, row.id).last_error
        third = run_pass(project, store, t0 + timedelta(hours=1), env=env, base_dir=tmp_path)
        assert third.sent == 1
        done = ledger.get(store, row.id)
        assert (done.status, done.attempts, done.external_id) == ("sent", 3, "feed:2026-03-01")
        # Every attempt carried the same id and the same bytes, each with a valid signature.
        assert len(hook.deliveries) == 3 and all(d.verified for d in hook.deliveries)
        assert {d.headers["webhook-id"] for d in hook.deliveries} == {"feed:2026-03-01"}
        assert len({d.body for d in hook.deliveries}) == 1
        report = json.loads(hook.deliveries[0].body)["report"]
        assert report["start"] == "2026-03-01" and report["name"] == "pulse"


def test_a_permanent_failure_is_not_retried_and_reaches_the_ops_channel(tmp_path):
    ops = tmp_path / "ops"
    with WebhookReceiver(SECRET) as hook:
        write(tmp_path,
              channels={"hook": {"kind": "webhook", "secret_env": "HOOK_SECRET", "allow_private": True,
                                 "url": f"{hook.url}/gone"},
                        "ops-folder": {"kind": "file", "root": str(ops), "format": "text"}},
              delivery={"ops": {"channel": "ops-folder"}, "max_attempts": 3},
              subscriptions=[{"name": "feed", "report": "pulse", "schedule": "daily at 06:00", "channel": "hook"}])
        project, store = load(tmp_path)
        env = {"HOOK_SECRET": SECRET}
        hook.answer(410, "gone")
        res = run_pass(project, store, at("2026-03-02T06:01:00+05:30"), env=env, base_dir=tmp_path)
        assert (res.sent, res.failed) == (0, 1)
        (row,) = ledger.listing(store)
        assert row.status == "failed" and row.attempts == 1 and "410" in row.last_error
        (notice,) = list(ops.iterdir())
        text = notice.read_text()
        assert f"delivery {row.id} of feed (pulse for 2026-03-01) failed after 1 attempt(s)" in text
        assert f"daypulse deliveries retry {row.id}" in text
        # Nothing more happens by itself...
        assert run_pass(project, store, at("2026-03-02T09:00:00+05:30"), env=env, base_dir=tmp_path).failed == 0
        assert len(hook.deliveries) == 1
        # ...until someone retries it: the stored payload is sent again.
        assert ledger.retry(store, row.id, at("2026-03-02T09:00:00+05:30"))
        again = run_pass(project, store, at("2026-03-02T09:01:00+05:30"), env=env, base_dir=tmp_path)
        assert again.sent == 1 and hook.deliveries[0].body == hook.deliveries[1].body


def test_transient_failures_give_up_after_max_attempts(tmp_path):
    with WebhookReceiver(SECRET) as hook:
        write(tmp_path,
              channels={"hook": {"kind": "webhook", "secret_env": "HOOK_SECRET", "allow_private": True,
                                 "url": f"{hook.url}/in"}},
              delivery={"max_attempts": 2},
              subscriptions=[{"name": "feed", "report": "pulse", "schedule": "daily at 06:00", "channel": "hook"}])
        project, store = load(tmp_path)
        hook.answer(500, "boom", times=5)
        env = {"HOOK_SECRET": SECRET}
        t = at("2026-03-02T06:01:00+05:30")
        for step in range(4):
            run_pass(project, store, t + timedelta(hours=step * 7), env=env, base_dir=tmp_path)
        (row,) = ledger.listing(store)
        assert row.status == "failed" and row.attempts == 2 and "gave up after 2 attempts" in row.last_error
        assert len(hook.deliveries) == 2


# -- real Slack and SMTP through one pass ---------------------------------------------------------

def test_one_pass_posts_to_slack_and_emails_through_real_servers(tmp_path):
    cert = make_cert(tmp_path)
    charts = {**json.loads(json.dumps(__import__("deliverykit").REPORTS["pulse"])),
              "charts": [{"metric": "events", "periods": 14}]}
    with SlackServer() as slack, SmtpServer(cert) as smtp:
        write(tmp_path,
              reports={**__import__("deliverykit").REPORTS, "pulse": charts},
              channels={"slack-bot": {"token_env": "BOT_TOKEN", "base_url": slack.api_url},
                        "email": {"host": "127.0.0.1", "port": smtp.port, "user": "reports",
                                  "password_env": "SMTP_PW", "sender": "Daypulse <reports@capturely.example>",
                                  "cafile": str(cert.cert)}},
              subscriptions=[
                  {"name": "team-slack", "report": "pulse", "schedule": "daily at 00:01", "channel": "slack-bot",
                   "to": "C0123456789"},
                  {"name": "cfo-mail", "report": "pulse", "schedule": "daily at 07:00", "channel": "email",
                   "to": "cfo@capturely.example, ceo@capturely.example", "filter": {"tenant": "acme"}}])
        project, store = load(tmp_path)
        env = {"BOT_TOKEN": slack.token, "SMTP_PW": smtp.password}
        res = run_pass(project, store, at("2026-03-02T07:05:00+05:30"), env=env, base_dir=tmp_path)
        assert (res.due, res.sent, res.failed) == (2, 2, 0)
        posts = slack.called("chat.postMessage")
        assert posts[0].fields["channel"] == "C0123456789" and "Pulse" in posts[0].fields["text"]
        assert slack.called("files.completeUploadExternal")  # the chart went up with files_upload_v2
        (mail,) = smtp.received
        assert sorted(mail.rcpt_tos) == ["ceo@capturely.example", "cfo@capturely.example"]
        assert mail.tls and mail.login == "reports"
        msg = mail.message
        assert "Pulse — tenant acme" in msg["Subject"]
        html = msg.get_body(("html",)).get_content()
        cids = [p["Content-ID"].strip("<>") for p in msg.walk() if p.get_content_type() == "image/png"]
        assert cids and all(f"cid:{c}" in html for c in cids)
        assert msg.get_body(("plain",)) is not None
        rows = {r.subscription: r for r in ledger.listing(store)}
        assert rows["cfo-mail"].external_id == msg["Message-ID"]
        assert rows["team-slack"].external_id and rows["team-slack"].external_id.replace(".", "").isdigit()


# -- the CLI ------------------------------------------------------------------------------------

def test_cli_add_list_send_dry_run_and_history(tmp_path):
    write(tmp_path)
    out = tmp_path / "out"
    r = daypulse("subscriptions", "add", "--report", "pulse", "--at", "00:01", "--timezone", "Asia/Kolkata",
                 "--channel", "file", "--to", out.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "added subscription 1 (sub-1): pulse, daily at 00:01 Asia/Kolkata → file" in r.stderr
    listed = json.loads(daypulse("subscriptions", "list", "--format", "json", cwd=tmp_path).stdout)
    assert [(s["id"], s["name"], s["schedule"], s["source"]) for s in listed] == [
        (1, "sub-1", "daily at 00:01", "cli")]
    dry = daypulse("report", "pulse", "--send", "--subscription", "1", "--dry-run", "--date", "2026-03-01",
                   cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "# subscription 1 (sub-1): pulse for 2026-03-01 → file" in dry.stdout
    assert '"name": "sub-1_2026-03-01.html"' in dry.stdout
    assert not out.exists()
    assert json.loads(daypulse("deliveries", "list", "--format", "json", cwd=tmp_path).stdout) == []
    sent = daypulse("report", "pulse", "--send", "--subscription", "sub-1", "--date", "2026-03-01", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert (out / "sub-1_2026-03-01.html").exists()
    again = daypulse("report", "pulse", "--send", "--subscription", "1", "--date", "2026-03-01", cwd=tmp_path)
    assert again.returncode == 0 and "was already sent (delivery 1" in again.stderr
    rows = json.loads(daypulse("deliveries", "list", "--format", "json", cwd=tmp_path).stdout)
    assert [(d["id"], d["period_start"], d["status"]) for d in rows] == [(1, "2026-03-01", "sent")]
    # run-due replays a morning: the period was sent by hand, so only the new one goes out.
    due = daypulse("run-due", "--now", "2026-03-03T00:05:00+05:30", cwd=tmp_path)
    assert due.returncode == 0, due.stderr
    assert "1 due, 1 sent" in due.stderr
    assert sorted(p.name for p in out.iterdir()) == ["sub-1_2026-03-01.html", "sub-1_2026-03-02.html"]
    dry_due = daypulse("run-due", "--now", "2026-03-04T00:05:00+05:30", "--dry-run", cwd=tmp_path)
    assert "sub-1: pulse for 2026-03-03" in dry_due.stdout and ": new" in dry_due.stdout
    assert len(list(out.iterdir())) == 2
    stats = daypulse("deliveries", "stats", "--format", "json", cwd=tmp_path)
    assert json.loads(stats.stdout)["deliveries"]["sent"] == 2
    paused = daypulse("subscriptions", "pause", "1", cwd=tmp_path)
    assert "subscription 1 (sub-1) paused" in paused.stderr
    assert daypulse("run-due", "--now", "2026-03-04T00:05:00+05:30", cwd=tmp_path).returncode == 0
    assert len(list(out.iterdir())) == 2


@pytest.mark.parametrize("flags, message", [
    (["--timezone", "Asia/Kolkatta"], "--timezone: unknown time zone 'Asia/Kolkatta' (did you mean 'Asia/Kolkata'?)"),
    (["--at", "25:00"], "--at: invalid time '25:00' (expected HH:MM from 00:00 to 23:59)"),
    (["--channel", "slak-bot"], "--channel: unknown channel 'slak-bot' (did you mean 'slack-bot'?)"),
    (["--channel", "email", "--to", "cfo@"], "--to: malformed email address 'cfo@'"),
    (["--channel", "webhook", "--to", "example.com/hook"], "--to: malformed URL 'example.com/hook'"),
    (["--channel", "slack-bot", "--to", "#general"], "--to: slack-bot target '#general' is a channel name"),
    (["--report", "dialy"], "--report: unknown report 'dialy' (did you mean 'daily'?)"),
    (["--filter", "region=eu"], "--filter: reports.pulse: filter: no metric of the report has a dimension 'region'"),
    (["--days", "mon", "--cron", "0 9 * * 1"], "give either cron or at/days/day_of_month, not both"),
])
def test_cli_bad_input_is_exit_2_and_stores_nothing(tmp_path, capsys, monkeypatch, flags, message):
    write(tmp_path)
    base = {"--report": "pulse", "--at": "09:00", "--channel": "file", "--to": "out"}
    args = []
    for flag, value in base.items():
        if flag not in flags:
            args += [flag, value]
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "add", *args, *flags)
    assert code == 2, err
    assert message in err and "Traceback" not in err
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "subscriptions", "list", "--format", "json")
    assert json.loads(out) == []


def test_cli_bad_instants_and_ids(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    for args, message in [
        (("run-due", "--now", "2026-03-02 00:05"), "--now: '2026-03-02 00:05' is not an ISO instant with its offset"),
        (("deliveries", "retry", "42"), "no delivery 42"),
        (("deliveries", "list", "--status", "lost"), "--status: 'lost' is not one of pending"),
        (("report", "pulse", "--send", "--subscription", "9"), "no subscription '9'"),
        (("report", "pulse", "--dry-run"), "--subscription and --dry-run go with --send"),
        (("report", "pulse", "--send"), "--send: no active subscription of report 'pulse'"),
        (("scheduler", "--tick", "soon"), "--tick: invalid duration 'soon'"),
    ]:
        code, _, err = cli(capsys, monkeypatch, tmp_path, *args)
        assert code == 2 and message in err, (args, err)


def test_yaml_subscriptions_are_mirrored_and_their_errors_have_lines(tmp_path):
    out = tmp_path / "out"
    write(tmp_path, subscriptions=[file_sub(out), {"report": "pulse-week", "schedule": "weekly on mon at 09:00",
                                                   "channel": "file", "to": out.name}])
    listed = json.loads(daypulse("subscriptions", "list", "--format", "json", cwd=tmp_path).stdout)
    assert next((s["name"], s["source"]) for s in listed) == ("ops-daily", "yml")
    assert listed[1]["name"].startswith("pulse-week-file-")  # a stable name from report, channel, target
    r = daypulse("subscriptions", "pause", "ops-daily", cwd=tmp_path)
    assert r.returncode == 2 and "is declared in daypulse.yml: pause or resume it there" in r.stderr
    # Removing one from the file deactivates its row (its history stays).
    write(tmp_path, subscriptions=[file_sub(out)])
    listed = json.loads(daypulse("subscriptions", "list", "--all", "--format", "json", cwd=tmp_path).stdout)
    assert [(s["active"], s["problem"]) for s in listed] == [(True, None), (False, "removed from daypulse.yml")]
    write(tmp_path, subscriptions=[file_sub(out, timezone="Mars/Olympus", schedule="daily at 24:00")])
    r = daypulse("check", "--offline", cwd=tmp_path)
    assert r.returncode == 2
    assert "daypulse.yml:" in r.stderr and "subscriptions[0].timezone: unknown time zone 'Mars/Olympus'" in r.stderr
    assert "subscriptions[0].schedule.at: invalid time '24:00'" in r.stderr


def test_check_tests_the_channels_the_subscriptions_use(tmp_path):
    with SlackServer() as slack:
        write(tmp_path, channels={"slack-bot": {"token_env": "BOT_TOKEN", "base_url": slack.api_url}},
              subscriptions=[{"name": "team", "report": "pulse", "schedule": "daily at 00:01",
                              "channel": "slack-bot", "to": "C0123456789"},
                             {"name": "lost", "report": "pulse", "schedule": "daily at 00:01",
                              "channel": "slack-bot", "to": "C0999999999"}])
        assert daypulse("db", "upgrade", cwd=tmp_path).returncode == 0
        good = daypulse("check", cwd=tmp_path, env={"BOT_TOKEN": slack.token})
        assert "channel slack-bot → C0123456789: ok" in good.stderr
        assert "channel slack-bot → C0999999999: FAILED" in good.stderr and "channel_not_found" in good.stderr
        assert good.returncode == 1
        missing = daypulse("check", cwd=tmp_path, env={"BOT_TOKEN": ""})
        assert missing.returncode == 1 and "environment variable BOT_TOKEN" in missing.stderr
        assert slack.token not in good.stderr + missing.stderr


def test_the_scheduler_loops_and_stops_on_sigterm(tmp_path):
    out = tmp_path / "out"
    # Every minute, in the subscriber's zone: the first pass finds the latest fire due at once.
    write(tmp_path, timezone="UTC", subscriptions=[file_sub(out, schedule={"cron": "* * * * *"}, timezone="UTC")])
    proc = subprocess.Popen([sys.executable, "-m", "daypulse.cli", "scheduler", "--tick", "1s"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (out.exists() and any(out.iterdir())):
            time.sleep(0.2)
        time.sleep(1.5)  # a few more passes
    finally:
        proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "scheduler: a pass every 0:00:01" in stderr and "stopping after the current pass" in stderr
    assert any(out.iterdir())
    _project, store = load(tmp_path)
    stats = ledger.stats(store)
    assert stats["runs"] >= 2 and stats["errors"] == 0 and stats["sent"] >= 1


# -- found in review: leases, replays, pauses, ids, secrets -------------------------------------

def test_a_row_reclaimed_while_its_report_was_prepared_is_not_sent_by_the_old_holder(tmp_path):
    from datetime import UTC, datetime

    from daypulse.delivery.runner import Dispatcher, load_subscriptions

    out = tmp_path / "out"
    write(tmp_path, subscriptions=[file_sub(out)], delivery={"lease": "1m"})
    project, store = load(tmp_path)
    t0 = at("2026-03-02T00:05:00+05:30")
    (sub,) = load_subscriptions(project, store, t0)
    row = ledger.ensure(store, sub.name, date(2026, 3, 1), t0)
    a = Dispatcher(project, store, t0, worker="a", base_dir=tmp_path, info=lambda m: None)
    (held,) = ledger.claim(store, "a", t0, timedelta(minutes=1))
    # A's report takes 2 minutes; meanwhile B reclaims the expired row and sends it.
    later = t0 + timedelta(minutes=2)
    assert ledger.reconcile(store, later) == 1
    assert ledger.claim(store, "b", later, timedelta(minutes=1))
    assert a.deliver(held, sub) == "lost"
    assert not out.exists()  # A did not send
    assert ledger.get(store, row).claimed_by == "b"
    # A lease is dated by the pass's clock, which moves on in real time.
    assert a.clock() > t0 and a.clock() < t0 + timedelta(seconds=30) and datetime.now(UTC) > t0


def test_paused_periods_stay_unsent_after_resume_and_catch_up_none_follows_the_tick(tmp_path):
    out = tmp_path / "out"
    write(tmp_path, subscriptions=[file_sub(out, catch_up="all", grace="5d")])
    project, store = load(tmp_path)
    run_pass(project, store, at("2026-03-02T00:05:00+05:30"), base_dir=tmp_path)
    write(tmp_path, subscriptions=[file_sub(out, catch_up="all", grace="5d", active=False)])
    project, store = load(tmp_path)
    for day in (3, 4, 5):
        run_pass(project, store, at(f"2026-03-0{day}T00:05:00+05:30"), base_dir=tmp_path)
    write(tmp_path, subscriptions=[file_sub(out, catch_up="all", grace="5d")])
    project, store = load(tmp_path)
    resumed = run_pass(project, store, at("2026-03-06T00:05:00+05:30"), base_dir=tmp_path)
    assert (resumed.due, resumed.sent) == (1, 1)  # 5 March only, not 2-4 March
    periods = [p for _, p, _ in statuses(store)]  # the first pass caught up 5 days back (grace 5d)
    assert periods[-2:] == [date(2026, 3, 1), date(2026, 3, 5)] and date(2026, 3, 3) not in periods
    # catch_up: none sends a fire only from the last tick: an hourly scheduler still gets 09:01.
    write(tmp_path, subscriptions=[file_sub(out, name="punctual", schedule="daily at 09:01", catch_up="none")])
    project, store = load(tmp_path)
    run_pass(project, store, at("2026-03-06T09:00:00+05:30"), base_dir=tmp_path, tick=timedelta(hours=1))
    on_time = run_pass(project, store, at("2026-03-06T10:00:00+05:30"), base_dir=tmp_path, tick=timedelta(hours=1))
    assert on_time.sent == 1


def test_ids_are_never_reused_and_bad_values_are_refused(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    add = ("subscriptions", "add", "--report", "pulse", "--at", "09:00", "--channel", "file")
    assert cli(capsys, monkeypatch, tmp_path, *add, "--to", "a")[0] == 0
    assert cli(capsys, monkeypatch, tmp_path, "subscriptions", "remove", "1")[0] == 0
    code, _, err = cli(capsys, monkeypatch, tmp_path, *add, "--to", "b")
    assert code == 0 and "added subscription 2 (sub-2)" in err
    for args, message in [
        (("deliveries", "retry", "99999999999"), "no delivery 99999999999"),
        (("subscriptions", "pause", "99999999999"), "no subscription '99999999999'"),
        ((*add, "--to", "x", "--grace", "99999999999d"), "--grace: invalid duration '99999999999d' (too long)"),
        ((*add, "--to", "x", "--name", "a" * 101), "--name: invalid name"),
        ((*add, "--to", "x", "--name", "ok\n"), "--name: invalid name"),
        (("run-due", "--now", "2199-01-01T00:00:00Z"), "--now: 2199-01-01T00:00:00Z is in the future"),
    ]:
        code, _, err = cli(capsys, monkeypatch, tmp_path, *args)
        assert code == 2 and message in err, (args, err)


def test_webhook_targets_are_shown_without_credentials_or_query(tmp_path, capsys, monkeypatch):
    write(tmp_path, channels={"hook": {"kind": "webhook", "secret_env": "HOOK_SECRET"}},
          subscriptions=[{"name": "feed", "report": "pulse", "schedule": "daily at 06:00", "channel": "hook",
                          "to": "https://user:pa55word@bi.example/in?token=s3cr3t"}])
    code, out, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "list", "--format", "json")
    assert code == 0 and json.loads(out)[0]["to"] == "https://bi.example/in"
    assert "pa55word" not in out + err and "s3cr3t" not in out + err
