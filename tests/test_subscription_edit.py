"""Editing a subscription (issue 18, item 14): `daypulse subscriptions edit`, `PATCH
/api/v1/subscriptions/{id}` with its fields, and the dashboard's form. An edit keeps the
subscription's id, name and delivery history; the ledger never sends a period twice nor loses
the next one (docs/delivery.md, "Editing a subscription").

The project's data is storekit's events (2026-02-01 .. 2026-03-12, Asia/Kolkata); passes run at
chosen instants (``run_pass(now=...)``), the edit at a chosen instant too (``edit(now=...)``, the
function the CLI, the API and the dashboard call with the clock).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from daypulse.delivery import ledger
from daypulse.delivery import subscription_store as subs
from daypulse.delivery.runner import run_pass
from daypulse.store import tokens
from deliverykit import at, cli, load, write


def rows(store) -> list[tuple[str, date, str]]:
    return sorted((r.subscription, r.period_start, r.status) for r in ledger.listing(store, limit=10_000))


def listed(capsys, monkeypatch, folder) -> list[dict]:
    code, out, err = cli(capsys, monkeypatch, folder, "subscriptions", "list", "--all", "--format", "json")
    assert code == 0, err
    return json.loads(out)


# -- the seed's scenario -------------------------------------------------------------------------

def test_moving_the_delivery_time_to_17_00_keeps_the_id_and_history_and_sends_at_17_00(
        tmp_path, store_url, capsys, monkeypatch):
    """Seed 002: "update your subscription with delivery_time: 17:00"."""
    write(tmp_path, store=store_url)
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "add", "--report", "pulse", "--at", "08:00",
                       "--timezone", "Asia/Kolkata", "--channel", "file", "--to", "out", "--name", "seed-daily")
    assert code == 0, err
    project, store = load(tmp_path)
    before = subs.get(store, "seed-daily")
    # 08:00 IST on 2 March fires for 1 March: sent.
    assert run_pass(project, store, at("2026-03-02T08:05:00+05:30"), base_dir=tmp_path).sent == 1
    # At 10:00 the time moves to 17:00.
    done = subs.edit(project, store, "seed-daily", {"schedule": {"at": "17:00"}}, now=at("2026-03-02T10:00:00+05:30"))
    assert (done.before, done.after) == ({"schedule": "daily at 08:00"}, {"schedule": "daily at 17:00"})
    after = subs.get(store, "seed-daily")
    assert (after.id, after.name, after.source) == (before.id, "seed-daily", "cli")
    assert after.spec.schedule.describe() == "daily at 17:00"
    assert after.spec.model_dump(exclude={"schedule"}) == before.spec.model_dump(exclude={"schedule"})
    # 17:00 that day fires for 1 March again: already sent, so nothing goes out (never twice).
    assert run_pass(project, store, at("2026-03-02T17:05:00+05:30"), base_dir=tmp_path).sent == 0
    # The old time passes unnoticed; the new one sends 2 March.
    assert run_pass(project, store, at("2026-03-03T08:05:00+05:30"), base_dir=tmp_path).due == 0
    assert run_pass(project, store, at("2026-03-03T16:59:00+05:30"), base_dir=tmp_path).due == 0
    nxt = run_pass(project, store, at("2026-03-03T17:01:00+05:30"), base_dir=tmp_path)
    assert (nxt.due, nxt.sent) == (1, 1)
    assert rows(store) == [("seed-daily", date(2026, 3, 1), "sent"), ("seed-daily", date(2026, 3, 2), "sent")]
    sent = {r.period_start: r.sent_at for r in ledger.listing(store)}
    assert at("2026-03-03T17:00:00+05:30") < sent[date(2026, 3, 2)] < at("2026-03-03T17:10:00+05:30")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["seed-daily_2026-03-01.html",
                                                                    "seed-daily_2026-03-02.html"]
    # The list shows the same id with the new time; the history is still the subscription's.
    (shown,) = listed(capsys, monkeypatch, tmp_path)
    assert (shown["id"], shown["name"], shown["schedule"]) == (before.id, "seed-daily", "daily at 17:00")
    assert shown["last_delivery"]["period"] == "2026-03-02"
    code, out, _ = cli(capsys, monkeypatch, tmp_path, "deliveries", "list", "--subscription", str(before.id),
                       "--format", "json")
    assert [d["period_start"] for d in json.loads(out)] == ["2026-03-02", "2026-03-01"]
    (entry,) = [e for e in tokens.audit_entries(store) if e["action"] == "subscription.edit"]
    assert (entry["target"], entry["details"]["before"], entry["details"]["after"]) == (
        "seed-daily", {"schedule": "daily at 08:00"}, {"schedule": "daily at 17:00"})
    store.engine.dispose()


# -- what the ledger does ------------------------------------------------------------------------

def _added(capsys, monkeypatch, folder, *flags) -> None:
    code, _, err = cli(capsys, monkeypatch, folder, "subscriptions", "add", "--report", "pulse", "--timezone",
                       "Asia/Kolkata", "--channel", "file", "--name", "team", *flags)
    assert code == 0, err


def test_a_time_moved_earlier_past_the_new_time_still_sends_the_period_it_owed(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    _added(capsys, monkeypatch, tmp_path, "--at", "17:00", "--to", "out")
    project, store = load(tmp_path)
    assert run_pass(project, store, at("2026-03-01T17:05:00+05:30"), base_dir=tmp_path).sent == 1  # 28 Feb
    assert run_pass(project, store, at("2026-03-02T09:45:00+05:30"), base_dir=tmp_path).due == 0
    # At 10:00 on 2 March, 17:00 becomes 08:00: 1 March was to go at 17:00, and the new time has
    # passed for today. Its row is made at the edit, so the next pass sends it (not lost).
    done = subs.edit(project, store, "team", {"schedule": "daily at 08:00"}, now=at("2026-03-02T10:00:00+05:30"))
    assert done.notes == ("the day of 2026-03-01, whose new time has passed, goes out at the next pass",)
    assert rows(store) == [("team", date(2026, 2, 28), "sent"), ("team", date(2026, 3, 1), "pending")]
    assert run_pass(project, store, at("2026-03-02T10:15:00+05:30"), base_dir=tmp_path).sent == 1
    assert run_pass(project, store, at("2026-03-02T17:05:00+05:30"), base_dir=tmp_path).due == 0  # the old time
    assert run_pass(project, store, at("2026-03-03T08:05:00+05:30"), base_dir=tmp_path).sent == 1  # 2 March
    assert rows(store) == [("team", date(2026, 2, 28), "sent"), ("team", date(2026, 3, 1), "sent"),
                           ("team", date(2026, 3, 2), "sent")]


def test_an_edit_between_an_old_fire_and_the_next_pass_loses_nothing(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    _added(capsys, monkeypatch, tmp_path, "--at", "17:00", "--to", "out")
    project, store = load(tmp_path)
    assert run_pass(project, store, at("2026-03-01T17:05:00+05:30"), base_dir=tmp_path).sent == 1  # 28 Feb
    assert run_pass(project, store, at("2026-03-02T16:55:00+05:30"), base_dir=tmp_path).due == 0
    # 17:00 fired (for 1 March) and no pass has seen it yet when the time moves to 08:00 at 17:02.
    subs.edit(project, store, "team", {"schedule": {"at": "08:00"}}, now=at("2026-03-02T17:02:00+05:30"))
    assert run_pass(project, store, at("2026-03-02T17:10:00+05:30"), base_dir=tmp_path).sent == 1
    # A time moved later: the next period simply waits for the new time (nothing owed, nothing early).
    subs.edit(project, store, "team", {"schedule": {"at": "20:00"}}, now=at("2026-03-02T18:00:00+05:30"))
    assert run_pass(project, store, at("2026-03-03T08:05:00+05:30"), base_dir=tmp_path).sent == 0
    assert run_pass(project, store, at("2026-03-03T20:05:00+05:30"), base_dir=tmp_path).sent == 1
    assert rows(store) == [("team", date(2026, 2, 28), "sent"), ("team", date(2026, 3, 1), "sent"),
                           ("team", date(2026, 3, 2), "sent")]


def test_new_days_and_zone_apply_from_the_next_fire(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    _added(capsys, monkeypatch, tmp_path, "--at", "09:00", "--to", "out")
    project, store = load(tmp_path)
    assert run_pass(project, store, at("2026-03-02T09:05:00+05:30"), base_dir=tmp_path).sent == 1  # Mon: 1 March
    done = subs.edit(project, store, "team", {"schedule": {"days": "thu"}, "timezone": "Europe/London"},
                     now=at("2026-03-02T12:00:00+05:30"))
    assert done.after == {"schedule": "weekly on thu at 09:00", "timezone": "Europe/London"}
    assert done.notes == ()  # 2 March was next under the old schedule, and Thursday's fire reports 4 March
    for when in ("2026-03-03T09:05:00+05:30", "2026-03-05T09:05:00+05:30", "2026-03-05T09:05:00+00:00"):
        run_pass(project, store, at(when), base_dir=tmp_path)
    # Thursday 09:00 London reports on Wednesday 4 March; Tuesday and Wednesday's reports are gone
    # from the schedule (a daily report sent weekly reports the day before the fire).
    assert rows(store) == [("team", date(2026, 3, 1), "sent"), ("team", date(2026, 3, 4), "sent")]


def test_new_recipients_and_filter_never_resend_a_sent_period_and_unsent_ones_render_again(tmp_path, capsys,
                                                                                           monkeypatch):
    from daypulse.delivery.channels.base import SendResult

    write(tmp_path)
    _added(capsys, monkeypatch, tmp_path, "--at", "08:00", "--to", "out-a", "--filter", "tenant=acme")
    project, store = load(tmp_path)
    assert run_pass(project, store, at("2026-03-02T08:05:00+05:30"), base_dir=tmp_path).sent == 1  # 1 March, to a
    # 2 March's delivery was tried once with acme's report for out-a and will be retried.
    stuck = ledger.ensure(store, "team", date(2026, 3, 2), at("2026-03-03T08:00:00+05:30"))
    assert len(ledger.claim(store, "w", at("2026-03-03T08:00:00+05:30"), lease=timedelta(hours=1), ids=[stuck])) == 1
    ledger.save_payload(store, stuck, {"name": "team_2026-03-02.html", "content": "acme's", "charts": []})
    assert ledger.finish(store, stuck, "w", SendResult.failed("disk full", transient=True),
                         at("2026-03-03T08:01:00+05:30")) == ledger.PENDING
    done = subs.edit(project, store, "team", {"to": "out-b", "filter": {"tenant": "globex"}},
                     now=at("2026-03-03T08:30:00+05:30"))
    assert (done.before, done.after) == ({"to": "out-a", "filter": {"tenant": "acme"}},
                                         {"to": "out-b", "filter": {"tenant": "globex"}})
    assert done.notes == ("1 delivery not sent yet will be rendered again with the new settings",)
    assert ledger.get(store, stuck).payload is None
    # The retry renders globex's report for out-b; 1 March, sent to out-a, is not sent to out-b.
    ledger.expedite(store, stuck, at("2026-03-03T08:31:00+05:30"))
    assert run_pass(project, store, at("2026-03-03T08:31:00+05:30"), base_dir=tmp_path).sent == 1
    assert [p.name for p in (tmp_path / "out-a").iterdir()] == ["team_2026-03-01.html"]
    assert [p.name for p in (tmp_path / "out-b").iterdir()] == ["team_2026-03-02.html"]
    html = (tmp_path / "out-b" / "team_2026-03-02.html").read_text()
    assert "Pulse — tenant globex" in html and "acme" not in html
    code, _, err = cli(capsys, monkeypatch, tmp_path, "report", "pulse", "--send", "--subscription", "team",
                       "--date", "2026-03-01")
    assert code == 0 and "2026-03-01 was already sent" in err
    assert rows(store) == [("team", date(2026, 3, 1), "sent"), ("team", date(2026, 3, 2), "sent")]


def test_a_weekly_day_moved_earlier_in_the_week_sends_the_week_it_owed(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "add", "--report", "pulse-week", "--days",
                       "fri", "--at", "09:00", "--channel", "file", "--to", "out", "--name", "weekly")
    assert code == 0, err
    project, store = load(tmp_path)
    assert run_pass(project, store, at("2026-02-27T09:05:00+05:30"), base_dir=tmp_path).sent == 1  # week of 16 Feb
    assert run_pass(project, store, at("2026-03-03T09:00:00+05:30"), base_dir=tmp_path).due == 0
    # On Tuesday 3 March, Friday becomes Monday: Monday's fire for the week of 23 February has
    # passed, and Friday's will not come: that week goes out at the next pass.
    done = subs.edit(project, store, "weekly", {"schedule": {"days": "mon"}}, now=at("2026-03-03T10:00:00+05:30"))
    assert done.notes == ("the week of 2026-02-23, whose new time has passed, goes out at the next pass",)
    assert run_pass(project, store, at("2026-03-03T10:15:00+05:30"), base_dir=tmp_path).sent == 1
    assert run_pass(project, store, at("2026-03-06T09:05:00+05:30"), base_dir=tmp_path).due == 0  # Friday
    assert run_pass(project, store, at("2026-03-09T09:05:00+05:30"), base_dir=tmp_path).sent == 1  # Monday
    assert rows(store) == [("weekly", date(2026, 2, 16), "sent"), ("weekly", date(2026, 2, 23), "sent"),
                           ("weekly", date(2026, 3, 2), "sent")]


# -- the CLI -------------------------------------------------------------------------------------

def test_cli_edit_keeps_the_id_and_says_what_changed(tmp_path, capsys, monkeypatch):
    write(tmp_path)
    _added(capsys, monkeypatch, tmp_path, "--at", "08:00", "--days", "mon", "--to", "out", "--filter", "tenant=acme")
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "edit", "team", "--at", "17:00")
    assert code == 0, err
    assert "subscription 1 (team) changed: schedule weekly on mon at 08:00 → weekly on mon at 17:00; next: " in err
    assert err.strip().endswith("17:00 IST")
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "edit", "1", "--schedule", "daily at 07:30",
                       "--timezone", "Europe/Paris", "--to", "out/team", "--filter", "")
    assert code == 0, err
    assert ("changed: schedule weekly on mon at 17:00 → daily at 07:30; timezone Asia/Kolkata → Europe/Paris;"
            " to out → out/team; filter tenant=acme → (none); next: ") in err
    (shown,) = listed(capsys, monkeypatch, tmp_path)
    assert (shown["id"], shown["name"], shown["schedule"], shown["timezone"], shown["to"], shown["filter"]) == (
        1, "team", "daily at 07:30", "Europe/Paris", "out/team", {})
    (tmp_path / "tpl").mkdir()
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "edit", "1", "--template", "tpl")
    assert code == 0 and f"template (none) → {tmp_path / 'tpl'}" in err, err
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "edit", "1", "--template", "")
    assert code == 0 and f"template {tmp_path / 'tpl'} → (none)" in err, err
    code, _, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "edit", "1", "--at", "07:30")
    assert code == 0 and "already has these settings: nothing changed" in err
    assert [e["actor"] for e in tokens.audit_entries(load(tmp_path)[1]) if e["action"] == "subscription.edit"] == [
        "cli"] * 4


@pytest.mark.parametrize("args, message", [
    (("1", "--at", "25:00"), "--at: invalid time '25:00' (expected HH:MM from 00:00 to 23:59)"),
    (("1", "--schedule", "daily at 25:00"), "--schedule: invalid time '25:00' (expected HH:MM from 00:00 to 23:59)"),
    (("1", "--schedule", "daily at 09:00", "--at", "10:00"),
     "--schedule: give either --schedule or --at/--days/--day-of-month/--cron"),
    (("1", "--days", "someday"), "--days: invalid day 'someday' (expected mon, tue, wed, thu, fri, sat, sun)"),
    (("1", "--day-of-month", "31"), "--day-of-month: invalid day of month '31' (expected 1 to 28, or last"),
    (("1", "--cron", "0 9 * * 1", "--at", "09:00"), "--at/--cron: give either cron or at/days/day_of_month, not both"),
    (("1", "--timezone", "Asia/Kolkatta"),
     "--timezone: unknown time zone 'Asia/Kolkatta' (did you mean 'Asia/Kolkata'?)"),
    (("1", "--to", "../x"), "--to: file target '../x' must be a folder under the channel's root"),
    (("1", "--filter", "region=eu"), "--filter: reports.pulse: filter: no metric of the report has a dimension"
                                     " 'region'"),
    (("1", "--filter", "tenant"), "--filter: invalid filter 'tenant' (expected dimension=value, e.g. tenant=acme)"),
    (("1", "--template", "nowhere"), "--template: nowhere is not a folder"),
    (("1",), "nothing to change: give --schedule, --at, --days, --day-of-month, --cron, --timezone, --to,"
             " --filter or --template"),
    (("9", "--at", "17:00"), "no subscription '9' (see `daypulse subscriptions list`)"),
    (("yml-daily", "--at", "17:00"), "subscription 'yml-daily' is declared in daypulse.yml: edit it there"),
])
def test_cli_edit_bad_input_is_exit_2_with_one_clear_message_and_changes_nothing(tmp_path, capsys, monkeypatch,
                                                                                args, message):
    write(tmp_path, subscriptions=[{"name": "yml-daily", "report": "pulse", "schedule": "daily at 07:00",
                                    "channel": "file", "to": "yml"}])
    _added(capsys, monkeypatch, tmp_path, "--at", "08:00", "--to", "out")
    before = listed(capsys, monkeypatch, tmp_path)
    code, out, err = cli(capsys, monkeypatch, tmp_path, "subscriptions", "edit", *args)
    assert code == 2, err
    (line,) = err.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: ") and message in line, line
    assert out == "" and listed(capsys, monkeypatch, tmp_path) == before
    assert [e for e in tokens.audit_entries(load(tmp_path)[1]) if e["action"] == "subscription.edit"] == []


# -- the API and the dashboard -------------------------------------------------------------------

from apikit import api_store, call, close, usual_tokens  # noqa: E402
from daypulse.app import ApiSettings, create_app  # noqa: E402
from test_dashboard import Browser, signed_in  # noqa: E402

GOOD = {"report": "pulse", "schedule": "daily at 08:00", "timezone": "Asia/Kolkata", "channel": "file",
        "to": "out/team"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    """The app (API and dashboard) with daypulse.yml's acme-daily, and subscriptions added over
    the API: the company's, acme's (by acme's admin) and globex's: {name: id}."""
    folder = tmp_path_factory.mktemp(f"edit-{request.param}")
    with api_store(request.param, folder) as store_url:
        write(folder, store=store_url, subscriptions=[
            {"name": "acme-daily", "report": "pulse", "schedule": "daily at 07:00", "channel": "file",
             "to": "out/acme", "filter": {"tenant": "acme"}}])
        project, store = load(folder)
        keys = usual_tokens(store, scoped_admin=True)
        app = create_app(ApiSettings(project=project, base_dir=folder))
        ids = {}
        for who, name, flt in (("admin", "company", {}), ("acme-admin", "acme-team", {}),
                               ("admin", "globex-team", {"tenant": "globex"})):
            r = call(app, "POST", "/api/v1/subscriptions", keys[who], {**GOOD, "name": name, "filter": flt})
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        ids["acme-daily"] = next(s["id"] for s in call(app, "GET", "/api/v1/subscriptions", keys["admin"]).json()
                                 if s["name"] == "acme-daily")
        yield app, keys, store, ids
        close(app, store)


def _spec(store, name: str) -> dict:
    return subs.spec_data(subs.get(store, name, channels={"file": "file"}, reports=["pulse"]).spec)


def _edits(store) -> list[dict]:
    return [e for e in tokens.audit_entries(store, 1000) if e["action"] == "subscription.edit"]


def test_patch_moves_the_delivery_time_keeping_the_id_and_history(served):
    app, keys, store, ids = served
    ledger.ensure(store, "company", date(2026, 3, 1), at("2026-03-02T08:00:00+05:30"))  # its history
    url = f"/api/v1/subscriptions/{ids['company']}"
    r = call(app, "PATCH", url, keys["admin"], {"schedule": {"at": "17:00"}})
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["name"], r.json()["schedule"]) == (ids["company"], "company", "daily at 17:00")
    assert "2026-03-01" in [d["period_start"] for d in call(app, "GET", "/api/v1/deliveries", keys["admin"]).json()
                            if d["subscription"] == "company"]
    entry = _edits(store)[0]
    assert (entry["actor"], entry["target"], entry["details"]) == (
        "ops", "company", {"before": {"schedule": "daily at 08:00"}, "after": {"schedule": "daily at 17:00"}})
    # Fields change what is given: the days kept by a new time, {"days": null} back to daily.
    for body, shown in [({"schedule": {"days": ["mon", "thu"]}}, "weekly on mon,thu at 17:00"),
                        ({"schedule": {"at": "06:30"}}, "weekly on mon,thu at 06:30"),
                        ({"schedule": {"days": None}}, "daily at 06:30"),
                        ({"schedule": "monthly on day last at 09:00", "timezone": "Europe/Paris"},
                         "monthly on day last at 09:00"),
                        ({"schedule": {"cron": "0 9 * * 1"}}, "cron 0 9 * * 1"),
                        ({"schedule": "daily at 17:00", "timezone": None}, "daily at 17:00")]:
        r = call(app, "PATCH", url, keys["admin"], body)
        assert r.status_code == 200 and r.json()["schedule"] == shown, (body, r.text)
    assert r.json()["timezone"] == "Asia/Kolkata"  # null: the project's
    # Targets and filters, validated as POST validates them; the paused flag beside them.
    r = call(app, "PATCH", url, keys["admin"], {"to": "out/elsewhere", "filter": {"tenant": "globex"},
                                                 "active": False})
    assert r.status_code == 200 and (r.json()["filter"], r.json()["active"]) == ({"tenant": "globex"}, False)
    assert _spec(store, "company")["to"] == "out/elsewhere"
    assert _edits(store)[0]["details"] == {"before": {"to": "out/team", "filter": {}, "active": True},
                                           "after": {"to": "out/elsewhere", "filter": {"tenant": "globex"},
                                                     "active": False}}
    # The same values again: nothing changes, nothing is logged.
    count = len(_edits(store))
    same = {"to": "out/elsewhere", "timezone": "Asia/Kolkata"}
    assert call(app, "PATCH", url, keys["admin"], same).status_code == 200
    assert len(_edits(store)) == count
    r = call(app, "PATCH", url, keys["admin"], {"filter": {}, "active": True, "to": "out/team",
                                                 "schedule": "daily at 08:00"})
    assert r.status_code == 200 and (r.json()["filter"], r.json()["active"]) == ({}, True)


@pytest.mark.parametrize("change", [
    {"timezone": "Mars/Olympus"},
    {"schedule": "daily at 25:00"},
    {"schedule": {"at": "25:00"}},
    {"schedule": {"at": "09:00", "days": "someday"}},
    {"schedule": {"at": "09:00", "cron": "0 9 * * 1"}},
    {"schedule": "sometimes"},
    {"to": "../outside"},
    {"to": ["a", "b"]},
    {"filter": {"region": "eu"}},
    {"template": "/etc"},  # a folder on the server: the CLI's, in POST as in PATCH
])
def test_patch_is_validated_exactly_like_post(served, change):
    app, keys, store, ids = served
    before = _spec(store, "acme-team")
    post = call(app, "POST", "/api/v1/subscriptions", keys["admin"], {**GOOD, "name": "never-made", **change})
    patch = call(app, "PATCH", f"/api/v1/subscriptions/{ids['acme-team']}", keys["admin"], change)
    assert post.status_code == patch.status_code == 422, (post.text, patch.text)
    assert patch.headers["content-type"] == "application/problem+json"
    assert patch.json()["detail"] == post.json()["detail"], (post.json(), patch.json())
    assert patch.json().get("errors") == post.json().get("errors")
    assert _spec(store, "acme-team") == before


def test_patch_refuses_what_an_edit_cannot_change(served):
    app, keys, store, ids = served
    url = f"/api/v1/subscriptions/{ids['acme-team']}"
    before, count = _spec(store, "acme-team"), len(_edits(store))
    for body, detail in [({}, "request: nothing to change"),
                         ({"name": "renamed"}, "name: cannot be changed by an edit: deliveries are keyed by it"),
                         ({"report": "pulse-week"}, "report: cannot be changed by an edit: a subscription to another"
                                                    " report is a new subscription (add one)"),
                         ({"channel": "webhook"}, "channel: cannot be changed by an edit"),
                         ({"grace": "1h"}, "grace: cannot be changed by an edit"),
                         ({"pause": True}, "pause: Extra inputs are not permitted"),
                         ({"active": None}, "active: Input should be a valid boolean"),
                         ({"schedule": None}, "schedule"),
                         ({"timezone": "x" * 101}, "timezone: String should have at most 100 characters")]:
        r = call(app, "PATCH", url, keys["admin"], body)
        assert r.status_code == 422 and r.json()["detail"].startswith(detail), (body, r.text)
    r = call(app, "PATCH", f"/api/v1/subscriptions/{ids['acme-daily']}", keys["admin"], {"schedule": "daily at 17:00"})
    assert r.status_code == 409 and "declared in daypulse.yml: edit it there" in r.json()["detail"], r.text
    assert _spec(store, "acme-team") == before and len(_edits(store)) == count


BODY = {"schedule": {"at": "06:45"}, "to": "out/moved"}
ROLES = [  # (token, subscription, status): the new fields, for every role
    (None, "company", 401), ("dp_not-a-real-token", "company", 401),
    ("viewer", "company", 403), ("viewer", "acme-team", 403),
    ("acme", "acme-team", 403), ("acme", "acme-daily", 403),
    ("acme-admin", "acme-team", 200), ("acme-admin", "globex-team", 404), ("acme-admin", "company", 404),
    ("acme-admin", "acme-daily", 409),
    ("admin", "company", 200), ("admin", "acme-team", 200), ("admin", "globex-team", 200),
    ("admin", "acme-daily", 409),
]


@pytest.mark.parametrize("who, name, status", ROLES, ids=[f"{w}-{n}" for w, n, _ in ROLES])
def test_every_role_on_the_new_fields(served, who, name, status):
    app, keys, store, ids = served
    before = _spec(store, name) if name != "acme-daily" else None
    r = call(app, "PATCH", f"/api/v1/subscriptions/{ids[name]}", keys.get(who, who), BODY)
    assert r.status_code == status, r.text
    if who and who.startswith("acme"):
        assert "globex" not in r.text
    if status == 200:
        assert r.json()["schedule"].endswith("06:45") and _spec(store, name)["to"] == "out/moved"
        call(app, "PATCH", f"/api/v1/subscriptions/{ids[name]}", keys["admin"],
             {"schedule": before["schedule"], "to": before["to"]})
    elif before is not None:
        assert _spec(store, name) == before


def test_a_scoped_admin_cannot_move_a_subscription_out_of_its_tenant(served):
    app, keys, store, ids = served
    url = f"/api/v1/subscriptions/{ids['acme-team']}"
    assert _spec(store, "acme-team")["filter"] == {"tenant": "acme"}  # forced when it was added
    r = call(app, "PATCH", url, keys["acme-admin"], {"filter": {"tenant": "globex"}})
    assert r.status_code == 403 and "tenant 'acme' only" in r.json()["detail"], r.text
    for body in ({"filter": {}}, {"filter": None}):  # none is its own tenant's still
        r = call(app, "PATCH", url, keys["acme-admin"], body)
        assert r.status_code == 200 and r.json()["filter"] == {"tenant": "acme"}, r.text
    assert _spec(store, "acme-team")["filter"] == {"tenant": "acme"}
    assert call(app, "GET", "/api/v1/subscriptions", keys["acme-admin"]).json()[-1]["name"] == "acme-team"


# -- the dashboard's form --------------------------------------------------------------------

def _form(b: Browser, id: int) -> str:
    r = b.get(f"/subscriptions/{id}/edit")
    assert r.status_code == 200, r.text[:300]
    return r.text


def test_the_edit_form_for_every_role(served):
    app, keys, _, ids = served
    signed_out = Browser(app).get(f"/subscriptions/{ids['company']}/edit")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")
    for who in ("viewer", "acme"):
        b = signed_in(app, keys[who])
        assert b.get(f"/subscriptions/{ids['acme-team']}/edit").status_code == 403
        assert 'href="/subscriptions/' not in b.get("/deliveries").text  # no Edit link
        r = b.post(f"/subscriptions/{ids['acme-team']}/edit", data={"csrf": b.csrf(), "schedule": "daily at 05:00"})
        assert r.status_code == 403
    admin = signed_in(app, keys["admin"])
    page = admin.get("/deliveries").text
    assert f'href="/subscriptions/{ids["company"]}/edit"' in page
    assert f'href="/subscriptions/{ids["acme-daily"]}/edit"' not in page  # daypulse.yml's: edited there
    html = _form(admin, ids["company"])
    assert 'name="csrf"' in html and 'value="daily at 08:00"' in html and 'value="out/team"' in html
    yml = admin.get(f"/subscriptions/{ids['acme-daily']}/edit")
    assert yml.status_code == 409 and "declared in daypulse.yml: edit it there" in yml.text
    scoped = signed_in(app, keys["acme-admin"])
    assert 'value="tenant=acme"' in _form(scoped, ids["acme-team"])
    for name in ("globex-team", "company"):
        r = scoped.get(f"/subscriptions/{ids[name]}/edit")
        assert r.status_code == 403 and "globex" not in r.text
    assert "globex" not in scoped.get("/deliveries").text


def test_the_edit_form_changes_a_subscription_with_the_csrf_secret_only(served):
    app, keys, store, ids = served
    admin = signed_in(app, keys["admin"])
    url = f"/subscriptions/{ids['company']}/edit"
    fields = {"schedule": "daily at 17:00", "timezone": "Asia/Kolkata", "to": "out/team", "filter": ""}
    assert admin.post(url, data=fields).status_code == 403  # no secret
    assert admin.post(url, data={**fields, "csrf": "guess"}).status_code == 403
    assert admin.post(url, data={**fields, "csrf": admin.csrf()}, headers={"Origin": "https://evil.example"}
                      ).status_code == 403
    assert _spec(store, "company")["schedule"] == "daily at 08:00"
    r = admin.post(url, data={**fields, "csrf": admin.csrf()})
    assert r.status_code == 303 and r.headers["location"] == f"/deliveries?edited={ids['company']}", r.text
    assert "Subscription company saved: daily at 17:00 (Asia/Kolkata)." in admin.get(r.headers["location"]).text
    assert _spec(store, "company")["schedule"] == "daily at 17:00"
    entry = _edits(store)[0]
    assert (entry["actor"], entry["target"], entry["details"]) == (
        "ops", "company", {"before": {"schedule": "daily at 08:00"}, "after": {"schedule": "daily at 17:00"},
                           "via": "dashboard"})
    # Bad input: the form again, with the same message as the API's, and nothing changed.
    for change, words in [({"schedule": "daily at 25:00"}, "schedule.at: invalid time &#39;25:00&#39;"),
                          ({"timezone": "Mars/Olympus"}, "timezone: unknown time zone &#39;Mars/Olympus&#39;"),
                          ({"to": "../x"}, "to: file target &#39;../x&#39; must be a folder"),
                          ({"filter": "region=eu"}, "dimension &#39;region&#39;"),
                          ({"filter": "tenant"}, "invalid filter &#39;tenant&#39;")]:
        r = admin.post(url, data={**fields, **change, "csrf": admin.csrf()})
        assert r.status_code == 422 and words in r.text and 'id="edit-subscription"' in r.text, (change, r.text)
    assert _spec(store, "company")["schedule"] == "daily at 17:00" and _spec(store, "company")["to"] == "out/team"
    paused = admin.post(url, data={**fields, "paused": "1", "csrf": admin.csrf()})
    assert paused.status_code == 303 and subs.get(store, "company").active is False
    assert admin.post(url, data={**fields, "schedule": "daily at 08:00", "csrf": admin.csrf()}).status_code == 303
    assert subs.get(store, "company").active is True and _spec(store, "company")["schedule"] == "daily at 08:00"
    # A tenant's admin keeps its tenant: another one's filter is refused, none keeps its own.
    scoped = signed_in(app, keys["acme-admin"])
    url = f"/subscriptions/{ids['acme-team']}/edit"
    r = scoped.post(url, data={**fields, "filter": "tenant=globex", "csrf": scoped.csrf()})
    assert r.status_code == 422 and "this token sees tenant &#39;acme&#39; only" in r.text
    assert scoped.post(url, data={**fields, "csrf": scoped.csrf()}).status_code == 303
    assert _spec(store, "acme-team")["filter"] == {"tenant": "acme"}
    r = scoped.post(f"/subscriptions/{ids['globex-team']}/edit", data={**fields, "csrf": scoped.csrf()})
    assert r.status_code == 403 and _spec(store, "globex-team")["schedule"] == "daily at 08:00"
    call(app, "PATCH", f"/api/v1/subscriptions/{ids['acme-team']}", keys["admin"], {"schedule": "daily at 08:00"})
