"""What every command shares: the consoles, the --config option, and loading the project and store."""

from __future__ import annotations

import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from daypulse.calendar import FIRST_DAY, LAST_DAY, outside
from daypulse.errors import UsageError

out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Project file (default: $DAYPULSE_CONFIG or ./daypulse.yml).",
    show_default=False)]


def _date(flag: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:  # YYYY-MM-DD only (fromisoformat also reads 2024-W01-1)
        day = date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise UsageError(f"{flag}: not a date: {text!r} (expected YYYY-MM-DD)")
    if outside(day):
        raise UsageError(f"{flag}: {outside(day)}")
    return day


def _instant(flag: str, text: str | None) -> datetime | None:
    """An ISO 8601 instant with its offset (``2026-03-02T00:05:00+05:30``, ``...Z``), in UTC; a
    bad or zone-less one is a usage error naming the flag."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise UsageError(f"{flag}: {text!r} is not an ISO instant with its offset"
                         " (e.g. 2026-03-02T00:05:00+05:30 or 2026-03-01T18:35:00Z)")
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before the year 1 in UTC
        utc = None
    if utc is None or outside(utc.date()):
        raise UsageError(f"{flag}: {text} is outside {FIRST_DAY} .. {LAST_DAY}")
    return utc


def _dimension_values(flag: str, items: list[str] | None, example: str = "tenant=acme") -> dict[str, str]:
    """Repeated ``--flag dimension=value`` options as {dimension: value}; the value is all after
    the first "=". A bad one is a usage error naming the flag."""
    dims = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"{flag}: {item!r} is not dimension=value (e.g. {example})")
        dims[key.strip()] = value.strip()
    return dims


def _project(config: Path | None):
    """The project, with its reports and the delivery sections checked at load (file:line)."""
    from daypulse.delivery.config import DERIVED, SECTIONS
    from daypulse.project import load_project

    return load_project(config, SECTIONS, DERIVED)


def _store(project, create: bool = True):
    from daypulse.store.db import open_store

    return open_store(project.store, create=create)


def _project_and_store(config: Path | None, create: bool = True):
    """The project with the store's report templates among its reports, and the store: for
    the commands that take a report name (see daypulse.report.stored.with_templates)."""
    from daypulse.report.stored import with_templates

    project = _project(config)
    store = _store(project, create)
    return with_templates(project, store), store


def _info(msg: str) -> None:
    err.print(msg, highlight=False, markup=False) if err.is_terminal else print(msg, file=sys.stderr)


class _progress:
    """A progress bar on a terminal; plain log lines otherwise."""

    def __init__(self, total: int, what: str):
        self.total, self.what, self.done = total, what, 0
        self.bar = None

    def __enter__(self):
        if err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total)
        return self.step

    def step(self, label: str) -> None:
        self.done += 1
        if self.bar:
            self.bar.update(self.task, advance=1, description=label)
        else:
            print(f"[{self.done}/{self.total}] {label}", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()
        return False
