"""Report templates: report definitions kept in the store (written over the API), usable
wherever a report name is (render, send, subscriptions), beside daypulse.yml's ``reports:``
and the built-in ones.

daypulse.yml stays the truth for its own reports: a template may not take a built-in's or a
file report's name, and should the file later declare one of the same name, the file's wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import delete, insert, select, update

from daypulse.errors import ConfigError, Issue
from daypulse.report.definition import REPORT_NAME, TEMPLATE_ORIGIN, ReportDefinition, _builtin, check_report
from daypulse.store.db import Store
from daypulse.store.db import aware as _aware
from daypulse.store.db import write_transaction as _write
from daypulse.store.models import ReportTemplate as R

MAX_NAME = 100


@dataclass(frozen=True)
class Template:
    name: str
    spec: dict
    created_by: str
    created_at: datetime
    updated_at: datetime


def listing(store: Store) -> list[Template]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(R.__table__).order_by(R.name)).all()
    return [Template(r.name, dict(r.spec), r.created_by, _aware(r.created_at), _aware(r.updated_at)) for r in rows]


def get(store: Store, name: str) -> Template | None:
    return next((t for t in listing(store) if t.name == name), None)


def save(store: Store, name: str, spec: dict, who: str) -> bool:
    """Create or replace ``name``; True when it was created."""
    now = datetime.now(UTC)
    with _write(store) as conn:
        if conn.execute(update(R).where(R.name == name).values(spec=spec, updated_at=now)).rowcount:
            return False
        conn.execute(insert(R).values(name=name, spec=spec, created_by=who, created_at=now, updated_at=now))
        return True


def remove(store: Store, name: str) -> bool:
    with _write(store) as conn:
        return conn.execute(delete(R).where(R.name == name)).rowcount > 0


def with_templates(project, store: Store):
    """The project with the store's templates among its ``reports``.

    Why a merge here rather than a store lookup in load_report / report_names: those take only
    the project, are called for every subscription of every scheduler pass, and must not open
    a store of their own. The places that hold a project *and* its store (the CLI commands
    through ``cli.common._project_and_store``, the scheduler loop before each pass, the API
    per request) merge once, and everything below them sees one dict of report definitions.
    Merging an already merged project re-reads the store: a template deleted since is gone."""
    taken = {k for k in project.reports if k not in project.stored_reports} | set(_builtin())
    return project.with_stored_reports({t.name: t.spec for t in listing(store) if t.name not in taken})


def source(project, name: str) -> str:
    """builtin | file | template."""
    if name in project.stored_reports:
        return "template"
    return "file" if name in project.reports else "builtin"


def validate(project, name: str, raw: dict) -> ReportDefinition:
    """``raw`` as a report definition named ``name``: the ReportDefinition model, then the names it
    uses against the project. One ConfigError listing every problem (``field: message``)."""
    issues = []
    if not re.fullmatch(REPORT_NAME, name) or len(name) > MAX_NAME:
        issues.append(Issue(f"name: {name!r} is not a report name (up to {MAX_NAME} lower case letters,"
                            " digits, - and _, starting with a letter)", file=TEMPLATE_ORIGIN))
    try:
        spec = ReportDefinition.model_validate(raw)
    except ValidationError as err:
        issues += [Issue(f"{'.'.join(map(str, e['loc'])) or 'report'}: {e['msg']}", file=TEMPLATE_ORIGIN)
                   for e in err.errors()]
        raise ConfigError(issues) from None
    if spec.template is not None:
        issues.append(Issue("template: a folder of templates is a path on the server: set it for a report in"
                            " daypulse.yml, not in a stored template", file=TEMPLATE_ORIGIN))
    if not spec.metrics:
        issues.append(Issue("sections: a report needs at least one metric", file=TEMPLATE_ORIGIN))
    issues += check_report(project, name, spec, TEMPLATE_ORIGIN)
    if issues:
        raise ConfigError(issues)
    return spec
