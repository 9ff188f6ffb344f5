"""Subscription definitions: defaults, and a precise message (exit 2) for each kind of mistake."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import yaml

from daypulse.delivery.subscription import (
    SubscriptionDefinition,
    parse_subscription,
    parse_subscriptions,
    subscription_from_options,
)
from daypulse.errors import ConfigError, UsageError
from daypulse.project.located import Located

PROJECT_TZ = "Asia/Kolkata"
BASE = {"report": "daily", "schedule": "daily at 00:01", "channel": "slack-bot", "to": "C1234567890"}


def parse(**changes) -> SubscriptionDefinition:
    raw = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    return parse_subscription(raw, project_timezone=PROJECT_TZ)


def problem(**changes) -> str:
    with pytest.raises(ConfigError) as err:
        parse(**changes)
    assert err.value.exit_code == 2
    assert len(err.value.issues) == 1, err.value.issues
    return err.value.issues[0].message


def cli_problem(**options) -> str:
    given = {"report": "daily", "at": "00:01", "channel": "file", "to": "out", **options}
    with pytest.raises(UsageError) as err:
        subscription_from_options(given, project_timezone=PROJECT_TZ)
    assert err.value.exit_code == 2
    return str(err.value)


def test_defaults():
    s = parse()
    assert s.timezone == PROJECT_TZ  # the project's zone
    assert (s.active, s.catch_up, s.grace, s.filter, s.template, s.name) == (True, "latest", timedelta(hours=24),
                                                                              {}, None, None)
    assert s.schedule.at == time(0, 1)
    assert s.label == "daily → slack-bot"


def test_full_definition():
    s = parse(name="ops-daily", timezone="America/New_York", schedule={"at": "09:00", "days": ["mon"]},
              filter={"tenant": "acme"}, template="templates/ops", active=False, catch_up="all", grace="6h")
    assert (s.timezone, s.schedule.days, s.filter, s.catch_up, s.grace) == (
        "America/New_York", ("mon",), {"tenant": "acme"}, "all", timedelta(hours=6))
    assert parse(grace="1h30m").grace == timedelta(minutes=90)
    assert parse(schedule={"cron": "1 0 * * *"}).schedule.cron == "1 0 * * *"


def test_unknown_time_zone():
    assert problem(timezone="Asia/Kolkatta") == (
        "subscriptions[0].timezone: unknown time zone 'Asia/Kolkatta' (did you mean 'Asia/Kolkata'?)")
    assert "unknown time zone 'Nowhere/Land'" in problem(timezone="Nowhere/Land")


def test_invalid_time_from_the_cli():
    assert cli_problem(at="25:00") == "--at: invalid time '25:00' (expected HH:MM from 00:00 to 23:59)"
    assert "subscriptions[0].schedule.at: invalid time '25:00'" in problem(schedule={"at": "25:00"})
    assert "invalid time '25:00'" in problem(schedule="daily at 25:00")


def test_invalid_days_from_the_cli():
    assert cli_problem(days="mon,xyz") == (
        "--days: invalid day 'xyz' (expected mon, tue, wed, thu, fri, sat, sun)")
    assert "subscriptions[0].schedule.days: invalid day 'xyz'" in problem(schedule={"at": "09:00", "days": ["xyz"]})


def test_cli_reports_every_flag_at_once():
    message = cli_problem(at="25:00", days="mon,xyz", timezone="Europe/Lisbn", channel="sms")
    for part in ("--at: invalid time '25:00'", "--days: invalid day 'xyz'",
                 "--timezone: unknown time zone 'Europe/Lisbn' (did you mean 'Europe/Lisbon'?)",
                 "--channel: unknown channel 'sms'"):
        assert part in message


def test_cli_builds_a_subscription():
    s = subscription_from_options({"report": "weekly", "at": "9:00", "days": "mon,thu", "day_of_month": None,
                                   "channel": "email", "to": "a@example.com,b@example.org", "grace": "6h",
                                   "filter": "tenant=acme"}, project_timezone="UTC")
    assert (s.schedule.kind, s.schedule.days, s.to, s.filter) == (
        "weekly", ("mon", "thu"), ["a@example.com", "b@example.org"], {"tenant": "acme"})
    assert "--at/--cron: a schedule needs a time" in cli_problem(at=None)


def test_unknown_channel():
    assert problem(channel="slak-bot") == (
        "subscriptions[0].channel: unknown channel 'slak-bot' (did you mean 'slack-bot'?);"
        " channels: slack-webhook, slack-bot, email, webhook, file")


def test_a_channel_configured_in_the_project():
    channels = {"ops-slack": "slack-bot", "finance-mail": "email"}
    raw = {**BASE, "channel": "ops-slack"}
    assert parse_subscription(raw, project_timezone=PROJECT_TZ, channels=channels).channel == "ops-slack"
    # ``to`` may be left out (the channel holds it) but is checked by the channel's kind when given.
    raw = {"report": "daily", "schedule": "daily at 07:00", "channel": "finance-mail"}
    assert parse_subscription(raw, project_timezone=PROJECT_TZ, channels=channels).to is None
    with pytest.raises(ConfigError, match="malformed email address 'cfo'"):
        parse_subscription({**raw, "to": "cfo"}, project_timezone=PROJECT_TZ, channels=channels)
    with pytest.raises(ConfigError, match=r"unknown channel 'ops-slak' \(did you mean 'ops-slack'\?\)"):
        parse_subscription({**raw, "channel": "ops-slak"}, project_timezone=PROJECT_TZ, channels=channels)


def test_email_addresses():
    assert parse(channel="email", to="cfo@example.com").to == ["cfo@example.com"]
    assert parse(channel="email", to=["a@example.com", "b.c+d@mail.example.co.uk"]).to == [
        "a@example.com", "b.c+d@mail.example.co.uk"]
    assert parse(channel="email", to="a@example.com, b@example.com").to == ["a@example.com", "b@example.com"]
    # Display names, as docs/delivery.md says a target may hold them (a comma inside quotes is a name's).
    assert parse(channel="email", to='Ann <a@x.com>, b@y.com').to == ["Ann <a@x.com>", "b@y.com"]
    assert parse(channel="email", to=['"Rao, Asha" <asha@x.com>']).to == ['"Rao, Asha" <asha@x.com>']
    for bad in ("cfo", "cfo@", "@example.com", "cfo@example", "cf o@example.com", "a..b@example.com"):
        assert problem(channel="email", to=bad) == (
            f"subscriptions[0].to: malformed email address {bad!r} (expected name@example.com)"), bad


def test_urls():
    assert parse(channel="webhook", to="https://hooks.example.com/daypulse").to == "https://hooks.example.com/daypulse"
    assert parse(channel="webhook", to="http://127.0.0.1:8080/in").to == "http://127.0.0.1:8080/in"
    for bad in ("ftp://example.com/x", "https://", "example.com/hook", "https://exa mple.com", "http://h:99999/"):
        assert problem(channel="webhook", to=bad) == (
            f"subscriptions[0].to: malformed URL {bad!r} (expected an http:// or https:// URL with a host)"), bad
    # An incoming webhook's URL is a secret and fixes its channel: no target.
    assert "leave `to` out" in problem(channel="slack-webhook", to="https://hooks.slack.com/services/T/B/x")
    assert parse(channel="slack-webhook", to=None).to is None


def test_slack_bot_needs_a_channel_id():
    assert parse(to="C1234567890").to == "C1234567890"
    assert parse(to="G0ABCDEF12").to == "G0ABCDEF12"  # a private channel
    message = problem(to="#general")
    assert message.startswith("subscriptions[0].to: slack-bot target '#general' is a channel name")
    assert "files_upload_v2 needs an ID" in message and "C1234567890" in message
    assert "is a channel name" in problem(to="general")
    assert "is not a channel ID" in problem(to="U0123456789")  # a user, not a channel
    assert "takes one target" in problem(to=["C1234567890", "C0987654321"])


def test_targets_are_required_for_builtin_channels():
    assert problem(to=None) == "subscriptions[0].to: channel slack-bot needs a target (to: a Slack channel ID like" \
                               " C1234567890)"
    assert parse(channel="file", to="reports/out").to == "reports/out"
    assert parse(channel="file", to=None).to is None  # the channel's root (outbox/ by default)
    for outside in ("../x", "/etc", "a/../../b"):
        assert "must be a folder under the channel's root" in problem(channel="file", to=outside)
    assert "control character" in problem(channel="file", to="a\x00b")


def test_other_fields():
    assert "unknown catch_up 'sometimes' (expected latest, all or none)" in problem(catch_up="sometimes")
    assert "invalid duration '6 hours' (expected e.g. 30m, 6h, 2d or 1h30m)" in problem(grace="6 hours")
    assert "must be more than zero" in problem(grace="0h")
    assert "invalid name 'Ops Daily'" in problem(name="Ops Daily")
    assert problem(color="blue") == "subscriptions[0].color: unknown field"
    assert problem(schedule={"at": "09:00", "dow": "mon"}) == "subscriptions[0].schedule.dow: unknown field"
    assert parse(filter={"tenant": 42}).filter == {"tenant": "42"}


def test_report_names_are_checked_when_known():
    with pytest.raises(ConfigError, match=r"unknown report 'daly' \(did you mean 'daily'\?\); reports: daily, weekly"):
        parse_subscription({**BASE, "report": "daly"}, project_timezone=PROJECT_TZ, reports=["daily", "weekly"])


def test_every_problem_with_file_and_line():
    text = """\
subscriptions:
  - report: daily
    schedule: {at: "25:00"}
    timezone: Asia/Kolkatta
    channel: slack-bot
    to: "#general"
  - report: weekly
    schedule: weekly on mon at 12:30
    channel: email
    to: [ok@example.com, nope]
"""
    loc = Located("daypulse.yml", yaml.compose(text))
    raw = yaml.safe_load(text)["subscriptions"]
    with pytest.raises(ConfigError) as err:
        parse_subscriptions(raw, project_timezone=PROJECT_TZ, loc=loc)
    got = [(i.line, i.message.split(":")[0]) for i in err.value.issues]
    assert got == [(3, "subscriptions[0].schedule.at"), (4, "subscriptions[0].timezone"),
                   (6, "subscriptions[0].to"), (10, "subscriptions[1].to")]
    assert str(err.value).splitlines()[1].startswith("daypulse.yml:4: error: subscriptions[0].timezone: unknown time")


def test_duplicate_names_and_non_mappings():
    raw = [{**BASE, "name": "ops"}, {**BASE, "name": "ops"}, "daily at 9"]
    with pytest.raises(ConfigError) as err:
        parse_subscriptions(raw, project_timezone=PROJECT_TZ)
    messages = [i.message for i in err.value.issues]
    assert messages == ["subscriptions[2]: a subscription is a mapping (report:, schedule:, channel:, to: ...)",
                        "subscriptions[1].name: duplicate subscription name 'ops'"]


def test_yaml_unquoted_time():
    raw = yaml.safe_load("report: daily\nschedule: {at: 12:30}\nchannel: file\nto: out\n")
    assert parse_subscription(raw, project_timezone=PROJECT_TZ).schedule.at == time(12, 30)
