"""A report's content as text, Markdown, HTML (for email) or JSON.

Text, Markdown and HTML come from Jinja2 templates (``report/templates/``) run in an immutable
sandbox: a template sees the report and the formatting filters below, nothing else: no files
outside the template folders, no environment, no ``_private`` attributes. A project may
override any built-in template by file name from a folder of its own (``template:`` in the
report's definition); the built-ins stay reachable as ``builtin/<name>``, so a user template
can ``{% extends "builtin/report.html.j2" %}`` and replace only a block.

The sandbox (``report/sandbox.py``) also caps what a template may build and for how long it
may run (docs/reports.md, "Template limits"). Every template problem (syntax, nesting too deep
to compile, an undefined variable, a sandbox violation, a limit, a missing include) becomes a
ConfigError naming the template file and line: never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import traceback
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from jinja2.sandbox import SecurityError

from daypulse.errors import ConfigError, Issue, UsageError
from daypulse.report import format as fmt_
from daypulse.report import sandbox
from daypulse.report.model import Breakdown, ChartImage, Comparison, Line, Report, Section

FORMATS = ("text", "markdown", "html", "json")
TEMPLATES = {"text": "report.txt.j2", "markdown": "report.md.j2", "html": "report.html.j2"}
BUILTIN_DIR = Path(__file__).parent / "templates"
BUILTIN_PREFIX = "builtin"

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
VERDICT_COLOURS = {"good": "#15803d", "bad": "#b91c1c", "flat": "#6b7280", "none": "#6b7280"}
NO_DATA = "No data for this period."
HTML_EXTENSIONS = ("html", "htm", "xml", "html.j2", "htm.j2", "xml.j2")  # autoescaped
CHART_WIDTH = 552  # the 600 px container less its padding

MAX_PAD = 200  # the ljust and rjust filters pad to at most this width
LIMITS_HINT = 'see "Template limits" in docs/reports.md'


def render(report: Report, fmt: str, template_dir: Path | None = None, *, cid_domain: str | None = None) -> str:
    """The report in ``fmt`` (text | markdown | html | json); ``template_dir`` holds templates
    overriding the built-in ones by file name. Charts appear in HTML as ``cid:<chart id>`` images,
    ``cid:<chart id>@<cid_domain>`` when given (the email's Content-IDs: build_message passes
    its domain), and as their alt text elsewhere."""
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    if fmt not in TEMPLATES:
        raise UsageError(f"unknown report format {fmt!r}; formats: {', '.join(FORMATS)}")
    env = environment(template_dir, cid_domain=cid_domain)
    roots = _roots(env)
    template = None
    try:
        env.start()
        template = env.get_template(TEMPLATES[fmt])
        return template.render(report=report, notes=_notes(report), no_data=NO_DATA)
    except jinja2.TemplateSyntaxError as err:
        raise ConfigError([Issue(f"template syntax error: {err.message}", file=_shown(err.filename or err.name, roots),
                                 line=err.lineno)]) from None
    except Exception as err:  # anything a template raised while running, found by its frames
        issue = _template_issue(err, roots, template.filename if template is not None else None)
        if issue is None:
            raise
        raise issue from None


def environment(template_dir: Path | None = None, *, cid_domain: str | None = None) -> sandbox.Sandbox:
    """The sandboxed environment: the user's folder first, then the built-ins (also as builtin/)."""
    builtin = _FolderLoader(BUILTIN_DIR)
    loaders: list[jinja2.BaseLoader] = [jinja2.PrefixLoader({BUILTIN_PREFIX: builtin})]
    if template_dir is not None:
        folder = Path(template_dir)
        if not folder.is_dir():
            raise ConfigError([Issue(f"template folder {str(folder)!r} does not exist", file=str(folder),
                                     hint="`template:` names a folder of .j2 files overriding the built-in ones")])
        loaders.append(_FolderLoader(folder))
    loaders.append(builtin)
    env = sandbox.Sandbox(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=HTML_EXTENSIONS, default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.add_filters(
        value=fmt_.value, change=fmt_.change, pct=fmt_.pct, arrow=fmt_.arrow,
        line_value=lambda line: fmt_.value(line.value, line.fmt),
        spark=spark, md=md, delta=delta_for, comparisons=comparisons, colour=colour,
        cells=breakdown_cells, text_table=text_table, ljust=lambda s, n: str(s).ljust(min(n, MAX_PAD)),
        rjust=lambda s, n: str(s).rjust(min(n, MAX_PAD)), when=when, filter_text=filter_text,
        cid=lambda chart: f"{chart.id}@{cid_domain}" if cid_domain else chart.id, definitions=definitions, fit=fit,
        preheader=preheader,
    )
    return env


# ---- filters -------------------------------------------------------------------------------


def spark(values: list, last: int | None = None) -> str:
    """A sparkline of unicode blocks, lowest ▁ to highest █; a missing value is a gap.
    ``last`` keeps only the latest values (a narrow column cannot wrap a sparkline)."""
    if last is not None:
        values = values[-last:] if last > 0 else []
    nums = [float(v) for v in values if v is not None]
    if not nums:
        return ""
    lo, hi = min(nums), max(nums)
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif hi == lo:
            out.append(SPARK_BLOCKS[3])
        else:
            out.append(SPARK_BLOCKS[round((float(v) - lo) / (hi - lo) * (len(SPARK_BLOCKS) - 1))])
    return "".join(out)


_MD_INLINE = re.compile(r"([\\`*_{}\[\]<>#|~$&])")
_MD_LINE_START = (  # what turns a line into a list item or a heading underline
    (re.compile(r"^(\s*)([-+])(?=\s)"), r"\1\\\2"),
    (re.compile(r"^(\s*\d+)([.)])(?=\s|$)"), r"\1\\\2"),
    (re.compile(r"^(\s*)([=-])(?=[=-]*\s*$)"), r"\1\\\2"),
)


def md(text) -> str:
    """Plain text made safe inside Markdown (a table cell, a list item): characters with a
    meaning are backslash-escaped, `$` too (GitHub reads $…$ as maths), newlines become spaces."""
    s = " ".join(str(text).splitlines())
    s = _MD_INLINE.sub(r"\\\1", s)
    for pattern, repl in _MD_LINE_START:
        s = pattern.sub(repl, s)
    return s


def delta_for(line: Line, key: str) -> Comparison | None:
    return next((d for d in line.deltas if d.key == key), None)


def comparisons(section: Section) -> list[tuple[str, str]]:
    """The (key, label) of every comparison used in a section, in order of first use."""
    seen: dict[str, str] = {}
    for line in section.lines:
        for d in line.deltas:
            seen.setdefault(d.key, d.label)
    return list(seen.items())


def colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, VERDICT_COLOURS["none"])


def breakdown_cells(b: Breakdown) -> dict:
    """A breakdown's cells as formatted strings: header, rows (with the change), total."""
    dimension = b.dimension.replace("_", " ")
    header = [dimension[:1].upper() + dimension[1:], *b.columns, "Change"]
    rows = [[r.label, *(fmt_.value(v, f) for v, f in zip(r.values, b.fmts)), fmt_.change(r.change, b.fmts[0])]
            for r in b.rows]
    total = ["Total", *(fmt_.value(v, f) for v, f in zip(b.total, b.fmts)), ""]
    return {"header": header, "rows": rows, "total": total}


def text_table(rows: list[list[str]], indent: int = 0) -> str:
    """Rows of cells as aligned plain text: the first column left, the others right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append((" " * indent + "  ".join(cells)).rstrip())
    return "\n".join(out)


def when(moment: datetime, zone: str) -> str:
    """A moment in the report's time zone: "7 March 2026, 05:31 IST"."""
    local = moment.astimezone(ZoneInfo(zone)) if moment.tzinfo else moment
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname() or ''}".rstrip()


def fit(chart: ChartImage, width: int = CHART_WIDTH) -> tuple[int, int]:
    """The displayed size of a chart: at most ``width`` wide, proportions kept (a 2x PNG shows
    at half its pixel size)."""
    w = min(width, chart.width)
    return w, round(chart.height * w / chart.width) if chart.width else chart.height


def preheader(report: Report, limit: int = 140) -> str:
    """The line mail apps show next to the subject: the top changes, else the period."""
    if not report.has_data:
        text = f"{NO_DATA} {report.period_label}"
    elif report.changes:
        text = " · ".join(c.text for c in report.changes[:3])
    else:
        text = f"{report.period_label}: nothing stood out."
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def filter_text(filters: dict[str, str]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in filters.items())


def definitions(report: Report) -> list[Line]:
    """Each metric shown once, in order of appearance, for the definitions list."""
    seen: dict[str, Line] = {}
    for section in report.sections:
        for line in section.lines:
            seen.setdefault(line.metric, line)
    return list(seen.values())


# ---- sandbox, loading, errors ----------------------------------------------------------------


class _FolderLoader(jinja2.FileSystemLoader):
    """A folder of templates that refuses anything resolving outside it (e.g. a symlink)."""

    def __init__(self, folder: Path):
        super().__init__(str(folder), followlinks=False)
        self.root = os.path.realpath(folder)

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        if os.path.commonpath([self.root, os.path.realpath(filename)]) != self.root:
            raise jinja2.TemplateNotFound(template)
        if len(source) > sandbox.MAX_SOURCE:
            raise ConfigError([Issue(f"template limit: the template has {len(source):,} characters; a template file"
                                     f" may have at most {sandbox.MAX_SOURCE:,}", file=filename, hint=LIMITS_HINT)])
        return source, filename, uptodate


def _roots(env: jinja2.Environment) -> list[str]:
    roots = [os.path.realpath(BUILTIN_DIR)]
    for loader in env.loader.loaders:  # type: ignore[union-attr]
        if isinstance(loader, _FolderLoader) and loader.root not in roots:
            roots.append(loader.root)
    return roots


def _shown(filename: str | None, roots: list[str]) -> str | None:
    """A built-in template as daypulse/report/templates/x.j2; a user's by its own path."""
    if not filename:
        return None
    real = os.path.realpath(filename)
    if os.path.commonpath([roots[0], real]) == roots[0]:
        return "daypulse/report/templates/" + os.path.relpath(real, roots[0])
    return filename


def _template_issue(err: Exception, roots: list[str], main: str | None = None) -> ConfigError | None:
    """The ConfigError for an exception raised while a template ran, at the innermost template
    frame (else in ``main``, the template rendered); None for an exception with no template
    frame (not a template problem: a bug)."""
    if isinstance(err, ConfigError):  # a template file over its size, found by the loader
        return err
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if any(os.path.commonpath([r, os.path.realpath(f.filename)]) == r for r in roots)]
    if not frames and not isinstance(err, jinja2.TemplateError):
        return None
    frame, hint = (frames[-1] if frames else None), None
    if isinstance(err, jinja2.TemplateNotFound):
        what = f"template {err.name!r} not found (templates load only from the template folders)"
    elif isinstance(err, sandbox.LimitExceeded):
        what, hint = f"template limit: {err}", LIMITS_HINT
    elif isinstance(err, SecurityError):
        what = f"not allowed in a template: {err}"
    elif isinstance(err, jinja2.UndefinedError):
        what = f"undefined in template: {err}"
    elif isinstance(err, jinja2.TemplateError):
        what = f"template error: {err}"
    else:
        what = f"template error: {type(err).__name__}: {err}"
    return ConfigError([Issue(what, file=_shown(frame.filename if frame else main, roots),
                              line=frame.lineno if frame else None, hint=hint)])


def _notes(report: Report) -> list[str]:
    """The report's notes, without a "no data" one when the banner already says it."""
    if report.has_data:
        return list(report.notes)
    return [n for n in report.notes if n.strip().rstrip(".").lower() != NO_DATA.rstrip(".").lower()]

