"""Sending a report now, outside its schedule: which period, which subscriptions, and a dry run.

`daypulse report NAME --send` and the API's ``POST /reports/{name}/send`` both go through
here, then through :func:`daypulse.delivery.runner.send_now` (the ledger: a period is still
delivered once per subscription), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from daypulse.delivery import subscription_store as subs
from daypulse.delivery.config import channel_kinds
from daypulse.errors import UsageError
from daypulse.report.definition import load_report, report_names


@dataclass(frozen=True)
class DryRun:
    """What a send would deliver: nothing is sent or recorded."""

    subscription: subs.Subscription
    period_start: date
    key: str  # the delivery's key (Message-ID, webhook-id, file name)
    payload: dict  # as the channel would send it


def report_period(project, report: str, on: date | None, now: datetime | None = None) -> date:
    """The start of the report's period containing ``on`` (default: the last complete one)."""
    from daypulse.report.content import resolve_period  # lazy: report content imports the engine

    cal = project.calendar
    grain = load_report(project, report).period
    return resolve_period(project, grain, cal.today(now or datetime.now(UTC)), on).start


def chosen(project, store, report: str, ref: str | None, *, field: str = "--subscription") -> list[subs.Subscription]:
    """The subscription ``ref`` (id or name), which must deliver ``report``; without ``ref``,
    every active subscription of the report. UsageError naming ``field`` otherwise."""
    from daypulse.delivery.runner import load_subscriptions  # lazy: the runner imports the channels

    everyone = load_subscriptions(project, store)  # mirrors daypulse.yml's first
    if ref is not None:
        try:
            found = [subs.get(store, ref, channels=channel_kinds(project), reports=report_names(project))]
        except UsageError as err:
            raise UsageError(f"{field}: {err}") from None
        if found[0].spec is not None and found[0].spec.report != report:
            raise UsageError(f"{field}: {found[0].name} delivers report {found[0].spec.report!r}, not {report!r}")
    else:
        found = [s for s in everyone if s.spec is not None and s.spec.report == report and s.active]
        if not found:
            raise UsageError(f"--send: no active subscription of report {report!r} (add one with"
                             " `daypulse subscriptions add`, or pick one with --subscription)")
    for sub in found:
        if sub.spec is None:
            raise UsageError(f"subscription {sub.name} is not valid any more: {sub.problem}")
    return found


def dry_run(project, store, chosen: list[subs.Subscription], period_start: date, *,
            base_dir: Path | None = None, info=None) -> list[DryRun]:
    """Render what each subscription would be sent for the period (the report is computed if
    missing, as a real send would); nothing is sent and no delivery row is written."""
    from daypulse.delivery.runner import Dispatcher  # lazy: the runner imports the channels

    dispatcher = Dispatcher(project, store, datetime.now(UTC), base_dir=base_dir, info=info)
    out = []
    for sub in chosen:
        _channel, outgoing, payload = dispatcher.render(sub, period_start)
        out.append(DryRun(sub, period_start, outgoing.key, payload))
    return out


def payload_summary(payload: dict | None):
    """A stored or rendered payload with its long parts (PNG, MIME bodies) shortened."""
    if payload is None:
        return None

    def short(v):
        if isinstance(v, dict):
            return {k: short(x) for k, x in v.items()}
        if isinstance(v, list):
            return [short(x) for x in v]
        if isinstance(v, str) and len(v) > 2000:
            return v[:2000] + f"… ({len(v)} characters)"
        return v

    return short(dict(payload.items()))
