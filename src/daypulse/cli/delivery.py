"""The delivery commands: subscriptions, deliveries, run-due, scheduler, report --send, channel checks.

The commands parse flags and call ``daypulse.delivery``.
"""

from __future__ import annotations

import json
import signal
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from daypulse.cli.app import app
from daypulse.cli.common import ConfigOpt, _info, _instant, _project, _project_and_store, _store, out
from daypulse.errors import ConfigError, RuntimeFailure, UsageError

subscriptions_app = typer.Typer(no_args_is_help=True, help=(
    "Who gets which report, where and when. Subscriptions declared in daypulse.yml"
    " (subscriptions:) are listed too; add, edit, pause and remove act on the ones added here."))
deliveries_app = typer.Typer(no_args_is_help=True, help=(
    "The delivery history: one row per subscription and period, with its status, attempts,"
    " last error and what was sent."))



FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]


def _base_dir(config) -> Path:
    from daypulse.project.loader import config_path

    return config_path(config).resolve().parent


def _contexts(project) -> dict:
    from daypulse.delivery.config import channel_kinds
    from daypulse.report.definition import report_names

    return {"channels": channel_kinds(project), "reports": report_names(project)}




def _local(t: datetime | None, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return "" if t is None else t.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def _target(to) -> str:
    """A target as shown: a URL without credentials or query string (either may hold a token)."""
    from daypulse.delivery.channels.webhook import _shown

    if isinstance(to, list):
        return ", ".join(to)
    if isinstance(to, str) and "://" in to:
        return _shown(to)
    return to or "(channel default)"


MAX_ID = 2**31 - 1  # ids are 32-bit integers in the store


def _delivery_id(id: int) -> int:
    if not 0 < id <= MAX_ID:
        raise UsageError(f"no delivery {id} (see `daypulse deliveries list`)")
    return id


# -- subscriptions ---------------------------------------------------------------------------

@subscriptions_app.command("add")
def subscriptions_add(
    report: Annotated[str, typer.Option("--report", help="daily, weekly, monthly, leads, leads-weekly or one"
                                                          " under reports:.", show_default=False)],
    channel: Annotated[str, typer.Option("--channel", help="slack-bot, slack-webhook, email, webhook, file, or a"
                                                            " channel named under channels:.", show_default=False)],
    at: Annotated[str | None, typer.Option("--at", help="Local time HH:MM (with --days: weekly; with"
                                                        " --day-of-month: monthly; alone: daily).")] = None,
    days: Annotated[str | None, typer.Option("--days", help="Weekdays, e.g. mon or mon,thu.")] = None,
    day_of_month: Annotated[str | None, typer.Option("--day-of-month", help="1-28 or last.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="A 5-field cron expression in local time,"
                                                            " instead of --at.")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA zone of the schedule (default: the"
                                                                    " project's).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Slack channel ID (C0123456789), email addresses"
                                                        " (comma-separated), webhook URL or folder.")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="Narrow the report to dimension values:"
                                                                 " tenant=acme.")] = None,
    template: Annotated[str | None, typer.Option("--template", help="A folder of templates overriding the"
                                                                    " report's.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name (default: sub-<id>); deliveries are"
                                                            " keyed by it.")] = None,
    catch_up: Annotated[str, typer.Option("--catch-up", help="After downtime: latest (the most recent missed"
                                                             " period, within --grace), all, or none.")] = "latest",
    grace: Annotated[str, typer.Option("--grace", help="How late a missed fire may still be sent"
                                                       " (catch-up latest), e.g. 6h.")] = "24h",
    paused: Annotated[bool, typer.Option("--paused", help="Add it paused.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Add a subscription: a report sent on a schedule, in a time zone, to a channel.

    Examples: daypulse subscriptions add --report daily --at 00:01 --timezone Asia/Kolkata
    --channel slack-bot --to C1234567890; daypulse subscriptions add --report leads-weekly
    --days mon --at 09:00 --channel email --to manager@gym.example
    """
    from daypulse.delivery import subscription_store as subs
    from daypulse.delivery.schedule import next_fire
    from daypulse.delivery.subscription import subscription_from_options

    project, store = _project_and_store(config)  # a report may be a template kept in the store
    spec = subscription_from_options(
        {"report": report, "channel": channel, "at": at, "days": days, "day_of_month": day_of_month,
         "cron": cron, "timezone": timezone, "to": to, "filter": filter_, "template": template, "name": name,
         "catch_up": catch_up, "grace": grace, "active": not paused},
        project_timezone=project.timezone, **_contexts(project))
    if spec.template is not None:
        folder = Path(spec.template)
        if not folder.is_dir():
            raise UsageError(f"--template: {folder} is not a folder")
        spec = spec.model_copy(update={"template": str(folder.resolve())})
    sub = subs.subscribe(project, store, spec)
    fire = next_fire(spec.schedule, spec.timezone, datetime.now(UTC))
    _info(f"added subscription {sub.id} ({sub.name}): {spec.report}, {spec.schedule.describe()} "
          f"{spec.timezone} → {spec.channel} {_target(spec.to)}"
          + ("" if spec.active else " (paused)") + f"; next: {_local(fire.at, spec.timezone)}")


@subscriptions_app.command("list")
def subscriptions_list(fmt: FormatOpt = "table",
                       all_: Annotated[bool, typer.Option("--all", help="Include paused and removed ones.")] = False,
                       config: ConfigOpt = None) -> None:
    """Every subscription with its schedule, target, next fire and last delivery."""
    from daypulse.delivery import ledger
    from daypulse.delivery.runner import load_subscriptions
    from daypulse.delivery.schedule import next_fire

    project, store = _project_and_store(config)
    rows = []
    now = datetime.now(UTC)
    for s in load_subscriptions(project, store, now):
        if not all_ and not s.active:
            continue
        last = ledger.listing(store, subscription=s.name, limit=1)
        spec = s.spec
        nxt = next_fire(spec.schedule, spec.timezone, now).at if spec and s.active else None
        rows.append({"id": s.id, "name": s.name, "source": s.source, "active": s.active,
                     "report": spec.report if spec else None,
                     "schedule": spec.schedule.describe() if spec else None,
                     "timezone": spec.timezone if spec else None, "channel": spec.channel if spec else None,
                     "to": (_target(spec.to) if isinstance(spec.to, str) else spec.to) if spec else None,
                     "filter": dict(spec.filter) if spec else {},
                     "next": _local(nxt, spec.timezone) if nxt else None,
                     "last_delivery": ({"id": last[0].id, "period": last[0].period_start.isoformat(),
                                        "status": last[0].status} if last else None),
                     "problem": s.problem or s.note})
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    if fmt != "table":
        raise UsageError(f"--format: {fmt!r} is not table or json")
    if not rows:
        _info("no subscriptions (add one with `daypulse subscriptions add`, or under subscriptions: in daypulse.yml)")
        return
    t = Table("id", "name", "report", "schedule", "channel → to", "next", "last delivery", "state")
    for r in rows:
        last = r["last_delivery"]
        state = "active" if r["active"] else "paused"
        if r["problem"]:
            state += f": {r['problem']}"
        flt = "".join(f" [{k}={v}]" for k, v in r["filter"].items())
        t.add_row(str(r["id"]), f"{r['name']}\n[dim]{r['source']}[/dim]", (r["report"] or "?") + flt,
                  f"{r['schedule']}\n[dim]{r['timezone']}[/dim]", f"{r['channel']} → {_target(r['to'])}",
                  r["next"] or "", f"{last['period']} {last['status']} (#{last['id']})" if last else "", state)
    out.print(t)


@subscriptions_app.command("edit")
def subscriptions_edit(
    ref: Annotated[str, typer.Argument(metavar="ID|NAME")],
    schedule: Annotated[str | None, typer.Option("--schedule", help="A whole new schedule: 'daily at 17:00',"
                                                                    " 'weekly on mon,thu at 09:00', 'monthly on day"
                                                                    " 1 at 06:00' or 'cron EXPR'.")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Local time HH:MM (the days or day of month are"
                                                        " kept).")] = None,
    days: Annotated[str | None, typer.Option("--days", help="Weekdays, e.g. mon or mon,thu.")] = None,
    day_of_month: Annotated[str | None, typer.Option("--day-of-month", help="1-28 or last.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="A 5-field cron expression in local time,"
                                                            " instead of --at.")] = None,
    timezone: Annotated[str | None, typer.Option("--timezone", help="IANA zone of the schedule.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Slack channel ID (C0123456789), email addresses"
                                                        " (comma-separated), webhook URL or folder.")] = None,
    filter_: Annotated[str | None, typer.Option("--filter", help="Narrow the report to dimension values:"
                                                                 " tenant=acme ('' for none).")] = None,
    template: Annotated[str | None, typer.Option("--template", help="A folder of templates overriding the"
                                                                    " report's ('' for the report's own).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Change a subscription added here: schedule, zone, target, filter or template. It keeps
    its id, name and delivery history; a period already sent is not sent again.

    Examples: daypulse subscriptions edit 3 --at 17:00; daypulse subscriptions edit sub-3 --days
    mon,thu --to cfo@example.com,ceo@example.com
    """
    from daypulse.delivery import subscription_store as subs
    from daypulse.delivery.runner import load_subscriptions
    from daypulse.delivery.schedule import next_fire
    from daypulse.delivery.subscription import validate_options

    fields = {"at": at, "days": days, "day_of_month": day_of_month, "cron": cron}
    given = {k: v for k, v in fields.items() if v is not None}
    if schedule is not None and given:
        raise UsageError("--schedule: give either --schedule or --at/--days/--day-of-month/--cron (which change"
                         " the current schedule), not both")
    changes: dict = {k: v for k, v in {"timezone": timezone, "to": to, "filter": filter_}.items() if v is not None}
    if schedule is not None or given:
        changes["schedule"] = schedule if schedule is not None else given
    if template is not None:
        folder = Path(template)
        if template and not folder.is_dir():
            raise UsageError(f"--template: {folder} is not a folder")
        changes["template"] = str(folder.resolve()) if template else None
    if not changes:
        raise UsageError("nothing to change: give --schedule, --at, --days, --day-of-month, --cron, --timezone,"
                         " --to, --filter or --template")
    project, store = _project_and_store(config)
    load_subscriptions(project, store)  # know daypulse.yml's names, to refuse editing them here
    context = _contexts(project)
    flags = {"schedule": "--schedule"} if schedule is not None else {}
    done = subs.edit(project, store, ref, changes, validate=lambda data: validate_options(
        data, project_timezone=project.timezone, flags=flags, **context))
    sub, spec = done.subscription, done.subscription.spec
    if not done.after:
        _info(f"subscription {sub.id} ({sub.name}) already has these settings: nothing changed")
        return
    shown = {k: _target(v) if k == "to" else v for k, v in done.after.items()}
    was = {k: _target(v) if k == "to" else v for k, v in done.before.items()}
    fire = next_fire(spec.schedule, spec.timezone, datetime.now(UTC)) if sub.active else None
    _info(f"subscription {sub.id} ({sub.name}) changed: "
          + "; ".join(f"{k} {_shown_value(was.get(k))} → {_shown_value(v)}" for k, v in shown.items())
          + (f"; next: {_local(fire.at, spec.timezone)}" if fire else " (paused)"))
    for note in done.notes:
        _info(note)


def _shown_value(value) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "(none)"
    return "(none)" if value in (None, "") else str(value)


def _edit(ref: str, action: str, config) -> None:
    from daypulse.delivery import subscription_store as subs
    from daypulse.delivery.runner import load_subscriptions

    project, store = _project_and_store(config)
    load_subscriptions(project, store)  # know daypulse.yml's names, to refuse editing them here
    if action == "remove":
        sub = subs.remove(store, ref)
        _info(f"removed subscription {sub.id} ({sub.name}); its delivery history stays")
    else:
        sub = subs.set_active(store, ref, action == "resume")
        _info(f"subscription {sub.id} ({sub.name}) {'resumed' if sub.active else 'paused'}")


@subscriptions_app.command("pause")
def subscriptions_pause(ref: Annotated[str, typer.Argument(metavar="ID|NAME")], config: ConfigOpt = None) -> None:
    """Stop sending (due deliveries are skipped) until resumed."""
    _edit(ref, "pause", config)


@subscriptions_app.command("resume")
def subscriptions_resume(ref: Annotated[str, typer.Argument(metavar="ID|NAME")], config: ConfigOpt = None) -> None:
    """Send again from the next fire (skipped periods stay skipped: `deliveries retry` sends one)."""
    _edit(ref, "resume", config)


@subscriptions_app.command("remove")
def subscriptions_remove(ref: Annotated[str, typer.Argument(metavar="ID|NAME")], config: ConfigOpt = None) -> None:
    """Delete a subscription added from the CLI (its delivery history is kept)."""
    _edit(ref, "remove", config)


# -- deliveries ------------------------------------------------------------------------------

@deliveries_app.command("list")
def deliveries_list(
    status: Annotated[str | None, typer.Option("--status", help="pending, sending, sent, failed or skipped.")] = None,
    subscription: Annotated[str | None, typer.Option("--subscription", help="A subscription's id or name.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 50,
    fmt: FormatOpt = "table",
    config: ConfigOpt = None,
) -> None:
    """Deliveries, newest first: period, status, attempts, next attempt, last error, external id."""
    from daypulse.delivery import ledger
    from daypulse.delivery import subscription_store as subs

    if status is not None and status not in ledger.STATUSES:
        raise UsageError(f"--status: {status!r} is not one of {', '.join(ledger.STATUSES)}")
    project = _project(config)
    store = _store(project)
    name = subs.get(store, subscription).name if subscription else None
    rows = ledger.listing(store, status=status, subscription=name, limit=limit)
    if fmt == "json":
        sys.stdout.write(json.dumps([_row_json(r) for r in rows], indent=2, ensure_ascii=False) + "\n")
        return
    if fmt != "table":
        raise UsageError(f"--format: {fmt!r} is not table or json")
    if not rows:
        _info("no deliveries" + (f" with status {status}" if status else ""))
        return
    t = Table("id", "subscription", "period", "status", "attempts", "when (UTC)", "detail")
    for r in rows:
        when = {ledger.SENT: r.sent_at, ledger.PENDING: r.next_attempt_at}.get(r.status, r.updated_at)
        detail = r.last_error or r.external_id or ""
        t.add_row(str(r.id), r.subscription, r.period_start.isoformat(), r.status, str(r.attempts),
                  f"{when:%Y-%m-%d %H:%M}" if when else "", detail)
    out.print(t)


def _row_json(r) -> dict:
    return {"id": r.id, "subscription": r.subscription, "period_start": r.period_start.isoformat(),
            "status": r.status, "attempts": r.attempts,
            "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
            "last_error": r.last_error, "external_id": r.external_id,
            "created_at": r.created_at.isoformat(), "sent_at": r.sent_at.isoformat() if r.sent_at else None}


@deliveries_app.command("show")
def deliveries_show(id: Annotated[int, typer.Argument(help="The delivery's id.")], config: ConfigOpt = None) -> None:
    """One delivery with the content it sent (or will send)."""
    from daypulse.delivery import ledger

    project = _project(config)
    row = ledger.get(_store(project), _delivery_id(id))
    if row is None:
        raise UsageError(f"no delivery {id} (see `daypulse deliveries list`)")
    data = _row_json(row)
    from daypulse.delivery.on_demand import payload_summary

    data["payload"] = payload_summary(row.payload)
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@deliveries_app.command("retry")
def deliveries_retry(id: Annotated[int, typer.Argument(help="A failed or skipped delivery's id.")],
                     config: ConfigOpt = None) -> None:
    """Send a failed or skipped delivery again at the next pass (the same content it rendered)."""
    from daypulse.delivery import ledger

    project = _project(config)
    store = _store(project)
    row = ledger.get(store, _delivery_id(id))
    if row is None:
        raise UsageError(f"no delivery {id} (see `daypulse deliveries list`)")
    if not ledger.retry(store, id, datetime.now(UTC)):
        raise UsageError(f"delivery {id} is {row.status}: only failed or skipped deliveries are retried")
    _info(f"delivery {id} ({row.subscription}, {row.period_start}) is pending again: the next pass"
          " (`daypulse run-due` or the scheduler) sends it")


@deliveries_app.command("skip")
def deliveries_skip(id: Annotated[int, typer.Argument(help="A pending or failed delivery's id.")],
                    reason: Annotated[str, typer.Option("--reason", help="Why (kept as its last error).")]
                    = "skipped by hand", config: ConfigOpt = None) -> None:
    """Never send a pending or failed delivery."""
    from daypulse.delivery import ledger

    project = _project(config)
    store = _store(project)
    row = ledger.get(store, _delivery_id(id))
    if row is None:
        raise UsageError(f"no delivery {id} (see `daypulse deliveries list`)")
    if not ledger.skip(store, id, reason):
        raise UsageError(f"delivery {id} is {row.status}: only pending or failed deliveries are skipped")
    _info(f"delivery {id} skipped")


@deliveries_app.command("stats")
def deliveries_stats(fmt: FormatOpt = "table", config: ConfigOpt = None) -> None:
    """Scheduler stats: passes, successes, errors, last pass and its duration; deliveries by status."""
    from daypulse.delivery import ledger

    project = _project(config)
    stats = ledger.stats(_store(project))
    if fmt == "json":
        sys.stdout.write(json.dumps(stats, indent=2, default=str) + "\n")
        return
    last = stats["last_run"]
    out.print(f"scheduler passes: {stats['runs']} ({stats['successes']} completed, {stats['errors']} stopped"
              f" on an error); last: {f'{last:%Y-%m-%d %H:%M:%S} UTC' if last else 'never'}"
              + (f", {stats['last_duration_s']:.2f} s" if stats["last_duration_s"] is not None else "")
              + (f", error: {stats['last_error']}" if stats["last_error"] else ""), highlight=False)
    out.print(f"sent by the passes: {stats['sent']}, failed: {stats['failed']}; deliveries now: "
              + ", ".join(f"{n} {s}" for s, n in stats["deliveries"].items()), highlight=False)


# -- run-due, scheduler ----------------------------------------------------------------------

def run_due(
    now: Annotated[str | None, typer.Option("--now", help="Run the pass as if at this instant (ISO with"
                                                          " offset): replays and tests.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what is due; send and write nothing.")] = False,
    config: ConfigOpt = None,
) -> None:
    """One scheduler pass: deliver every period that is due, then exit (for cron, a Kubernetes
    CronJob, Heroku Scheduler). Safe to run from several machines at once."""
    from daypulse.delivery.runner import plan, run_pass

    at = _instant("--now", now) or datetime.now(UTC)
    if at > datetime.now(UTC) + timedelta(minutes=5) and not dry_run:
        raise UsageError(f"--now: {now} is in the future: a pass marks the fires up to its instant as handled,"
                         " so the periods in between would never be sent (replay the past, or use --dry-run)")
    project, store = _project_and_store(config)
    if dry_run:
        found = plan(project, store, at)
        if not found:
            _info(f"nothing due at {at:%Y-%m-%d %H:%M} UTC")
        for p in found:
            state = f"delivery {p.row.id} is {p.row.status}" if p.row else "new"
            wait = f", waits for the period's end {p.due.ready_at:%Y-%m-%d %H:%M} UTC" if p.due.ready_at > at else ""
            out.print(f"{p.subscription.name}: {p.subscription.spec.report} for {p.due.period_start} (fired "
                      f"{_local(p.due.fire_at, p.subscription.spec.timezone)}{wait}): {state}", highlight=False)
        return
    res = run_pass(project, store, at, base_dir=_base_dir(config), info=_info)
    _info(f"pass at {at:%Y-%m-%d %H:%M} UTC: {res.summary}")
    if res.failed or res.errors:
        sys.exit(1)


def scheduler(
    tick: Annotated[str | None, typer.Option("--tick", help="Time between passes, e.g. 1m or 15m (default:"
                                                            " delivery.tick, 15m).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Run passes for ever, every --tick (on the minute), until stopped (SIGTERM or Ctrl-C ends
    it after the current delivery). Several schedulers may share one PostgreSQL store."""
    from daypulse.delivery.config import delivery_settings
    from daypulse.delivery.loop import run_forever
    from daypulse.delivery.schedule import parse_duration

    project = _project(config)
    try:
        every = parse_duration(tick) if tick else delivery_settings(project).tick
    except ValueError as exc:
        raise UsageError(f"--tick: {exc}") from None
    store = _store(project)
    stop = {"now": False}

    def _stop(signum, frame):  # finish the delivery in hand; a second signal kills
        if stop["now"]:
            raise KeyboardInterrupt
        stop["now"] = True
        _info("stopping after the current pass")

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    _info(f"scheduler: a pass every {every}; store {project.store.split('://')[0]}")
    run_forever(project, store, config, every, _info, stopped=lambda: stop["now"])


# -- report --send ---------------------------------------------------------------------------

def send_report(name: str, on: date | None, subscription: str | None, dry_run: bool, config) -> None:
    """`daypulse report NAME --send`: deliver (or preview) the period to its subscriptions."""
    from daypulse.delivery import on_demand
    from daypulse.delivery.runner import send_now

    project, store = _project_and_store(config)
    start = on_demand.report_period(project, name, on)
    chosen = on_demand.chosen(project, store, name, subscription)
    if dry_run:
        for d in on_demand.dry_run(project, store, chosen, start, base_dir=_base_dir(config), info=_info):
            sub = d.subscription
            out.print(f"# subscription {sub.id} ({sub.name}): {name} for {start} → {sub.spec.channel} "
                      f"{_target(sub.spec.to)}, key {d.key} (dry run: nothing sent or recorded)",
                      highlight=False, markup=False)
            sys.stdout.write(json.dumps(on_demand.payload_summary(d.payload), indent=2, ensure_ascii=False) + "\n")
        return
    failed = False
    for sub in chosen:
        status, row = send_now(project, store, sub, start, base_dir=_base_dir(config), info=_info)
        if status == "already sent":
            _info(f"{sub.name}: {start} was already sent (delivery {row.id}, "
                  f"{row.sent_at:%Y-%m-%d %H:%M} UTC); `daypulse deliveries retry` does not resend a sent one")
        elif status != "sent":
            failed = True
            _info(f"{sub.name}: delivery {row.id} is {status}" + (f": {row.last_error}" if row.last_error else ""))
    if failed:
        sys.exit(1)


# -- check -----------------------------------------------------------------------------------

def check_channels(project, info, config=None) -> None:
    """Test every channel the subscriptions (and delivery.ops) use: credentials, reachability,
    targets where the channel can tell. RuntimeFailure when one cannot deliver."""
    from daypulse.delivery.config import delivery_settings, make_project_channel, yaml_subscriptions

    wanted: dict[tuple, None] = {}
    for s in yaml_subscriptions(project):
        if s.active:
            wanted[(s.channel, json.dumps(s.to))] = None
    try:
        from daypulse.delivery import subscription_store as subs
        from daypulse.report.stored import with_templates
        from daypulse.store.db import open_store

        store = open_store(project.store, create=False)
        for s in subs.listing(store, **_contexts(with_templates(project, store)), active_only=True):
            if s.spec is not None and s.source == "cli":
                wanted[(s.spec.channel, json.dumps(s.spec.to))] = None
    except RuntimeFailure:
        pass  # the store check above reports it
    ops = delivery_settings(project).ops
    if ops is not None:
        wanted[(ops.channel, json.dumps(ops.to))] = None
    if not wanted:
        info("no subscriptions: no channel to test")
        return
    bad = 0
    for channel_name, to_json in wanted:
        to = json.loads(to_json)
        label = f"channel {channel_name}" + (f" → {_target(to)}" if to else "")
        try:
            result = make_project_channel(project, channel_name, base_dir=_base_dir(config)).check(to)
        except ConfigError as err:
            bad += 1
            info(f"{label}: FAILED: " + "; ".join(i.message for i in err.issues))
            continue
        bad += not result.ok
        info(f"{label}: {result}")
    if bad:
        raise RuntimeFailure(f"{bad} channel(s) cannot deliver (see above)")


app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(deliveries_app, name="deliveries")
app.command("run-due")(run_due)
app.command("scheduler")(scheduler)
