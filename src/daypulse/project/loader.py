"""Reading daypulse.yml: YAML with line numbers, ``${VAR}`` expansion, typed validation.

Every problem is collected as an :class:`~daypulse.errors.Issue` with file and line; the
caller gets either a valid :class:`Project` or one ConfigError holding all of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from daypulse.errors import ConfigError, Issue
from daypulse.project import packs, yamlfile
from daypulse.project.located import Located
from daypulse.project.model import METRIC_KINDS, Metric, Project
from daypulse.project.validate import validate_project

DEFAULT_CONFIG = "daypulse.yml"
_METRIC: TypeAdapter = TypeAdapter(Metric)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def config_path(explicit: str | os.PathLike | None = None) -> Path:
    return Path(explicit or os.environ.get("DAYPULSE_CONFIG") or DEFAULT_CONFIG)


def _expand(value: Any, path: tuple, loc: Located, issues: list[Issue]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, path + (k,), loc, issues) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path + (i,), loc, issues) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def sub(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        issues.append(loc.issue(path, f"environment variable {name} is not set",
                                hint=f"export {name}=... or write ${{{name}:-default}}"))
        return ""

    return _ENV.sub(sub, value)


def _resolve_paths(data: dict, base: Path) -> None:
    """Relative file paths in source/store URLs are relative to daypulse.yml's folder."""
    for key in ("source", "store"):
        url = data.get(key)
        if not isinstance(url, str):
            continue
        m = re.match(r"^(duckdb|sqlite|spark)(\+\w+)?:///(.*)$", url)
        if m and m.group(3) and not m.group(3).startswith("/") and m.group(3) != ":memory:":
            data[key] = f"{m.group(1)}{m.group(2) or ''}:///{(base / m.group(3)).resolve()}"


def document_path(where: tuple, data: Any) -> list:
    """The part of a pydantic error location that exists in the YAML document: the tags and
    wrapper names pydantic adds (a discriminator, a union member) are left out."""
    path, node = [], data
    for part in where:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
    return path


def _pydantic_issues(err: ValidationError, data: Any, loc: Located,
                     prefix: tuple = (), metric: str | None = None) -> list[Issue]:
    issues = []
    for e in err.errors():
        # Drop the discriminator tags pydantic inserts (e.g. 'event') so the path matches
        # the YAML document.
        path = document_path(e["loc"], data)
        rest = [str(p) for p in e["loc"][len(path):] if not _is_tag(p)]
        where = ".".join(str(p) for p in path)
        msg = e["msg"]
        if e["type"] == "union_tag_invalid":
            path.append("kind")
            msg = f"unknown kind {e['ctx'].get('tag')!r}"
        elif e["type"] == "missing":
            msg = f"missing required setting {'.'.join(rest) or where!r}"
        elif e["type"] == "extra_forbidden":
            msg = f"unknown setting {where!r}"
        elif where or rest:
            msg = f"{where or '.'.join(rest)}: {msg}"
        issues.append(loc.issue(prefix + tuple(path), msg, metric=metric,
                                hint=_hint(e, metric)))
    return issues


def _is_tag(part: Any) -> bool:
    return part in METRIC_KINDS


def _hint(e: dict, metric: str | None) -> str | None:
    if e["type"] == "union_tag_invalid":
        return ("kind is one of " + ", ".join(METRIC_KINDS) + " (a window is event + window: N)")
    if e["type"] == "extra_forbidden" and metric:
        return "see docs/metrics.md for the settings of each metric kind"
    return None


# A check of a section that a layer above owns (channels:, delivery:, subscriptions:): it gets the
# project and the file's lines and returns its problems. The caller hands these to the loader, so
# this layer never imports the ones above it.
SectionCheck = Callable[[Project, "Located"], list[Issue]]
# What an upper layer adds to a valid project before its sections are checked (the breakdowns a
# filtered report reads): handed in the same way.
Derivation = Callable[[Project], Project]


def parse_project(text: str, file: str = DEFAULT_CONFIG, base: Path | None = None,
                  check_env: bool = True, sections: Sequence[SectionCheck] = (),
                  derived: Sequence[Derivation] = ()) -> Project:
    """Parse and validate project text; raises ConfigError with every issue found (those of
    ``sections`` too). ``derived`` complete a valid project (in order) before its sections are
    checked."""
    node, raw = yamlfile.load(text, file)  # within the caps of docs/project-file.md#limits
    loc = Located(file, node)
    if raw is None:
        raise ConfigError([Issue("the project file is empty", file=file, line=loc.line(()) or 1,
                                 hint="it needs at least source: (the database to read);"
                                 " `daypulse init` writes a starter file")])
    if not isinstance(raw, dict):
        raise ConfigError([loc.issue((), "the project file must be a mapping of settings")])
    issues: list[Issue] = []
    data = _expand(raw, (), loc, issues) if check_env else raw
    _include_packs(data, loc, issues)
    for m in (data.get("metrics") if isinstance(data.get("metrics"), dict) else {}).values():
        if isinstance(m, dict) and "kind" not in m:
            m["kind"] = "event"  # the default kind; pydantic needs the tag spelled out
    _resolve_paths(data, base or Path.cwd())
    # Validate the settings and each metric on its own, so one broken metric does not hide
    # the problems of the others (or of the cross-metric rules below).
    metrics = data.get("metrics") or {}
    top = {k: v for k, v in data.items() if k != "metrics"}
    try:
        project = Project.model_validate(top)
    except ValidationError as err:
        issues += _pydantic_issues(err, top, loc)
        # Keep checking the metrics against what is valid of the rest.
        bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        rest = {k: v for k, v in top.items() if k not in bad}
        try:
            project = Project.model_validate({"source": "", **rest})
        except ValidationError:
            project = None
    valid = {}
    if not isinstance(metrics, dict):
        issues.append(loc.issue(("metrics",), "metrics must be a mapping of name: definition"))
        metrics = {}
    for name, m in metrics.items():
        try:
            valid[name] = _METRIC.validate_python(m)
        except ValidationError as err:
            issues += _pydantic_issues(err, m, loc, ("metrics", name), metric=name)
    if project is not None:
        project = project.model_copy(update={"metrics": valid})
        issues += validate_project(project, loc, declared=set(metrics))
        if not any(i.level == "error" for i in issues):
            for derive in derived:
                project = derive(project)
        for check in sections:
            issues += check(project, loc)
    errors = [i for i in issues if i.level == "error"]
    if errors:
        raise ConfigError(issues)
    return project.with_warnings(issues)


def _include_packs(data: dict, loc: Located, issues: list[Issue]) -> None:
    """Merge the metrics of ``include:``d packs in front of the project's own (which win)."""
    include = data.get("include")
    if not include or not isinstance(include, list):
        return
    settings = {k: data.get(k) or {} for k in ("params", "columns")}
    exclude = data.get("exclude") or []
    if not all(isinstance(v, dict) for v in settings.values()) or not isinstance(exclude, list):
        return  # the settings' own validation reports their shape

    def issue(path: tuple, message: str, **kw) -> None:
        issues.append(loc.issue(path, message, **kw))

    own = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
    found, origin = packs.expand(include, settings["params"], settings["columns"], exclude, issue,
                                 own=set(own))
    merged = {k: v for k, v in found.items() if k not in own}
    _overlay_packs(loc, {k: origin[k] for k in merged})
    data["metrics"] = {**merged, **(own or {})}


def _overlay_packs(loc: Located, origin: dict) -> None:
    """Problems in a pack's metric point at the pack file's line, not the project's."""
    files: dict[str, Located] = {}
    for name, pack in origin.items():
        if pack.name not in files:
            files[pack.name] = Located(pack.file, yaml.compose(pack.text, Loader=yaml.SafeLoader))
        loc.overlay(("metrics", name), files[pack.name])


def load_project(path: str | os.PathLike | None = None, sections: Sequence[SectionCheck] = (),
                 derived: Sequence[Derivation] = ()) -> Project:
    p = config_path(path)
    if not p.exists():
        raise ConfigError([Issue(f"no project file at {p}", file=str(p),
                                 hint="run `daypulse init`, pass --config, or set DAYPULSE_CONFIG")])
    return parse_project(yamlfile.read_text(p), file=str(p), base=p.resolve().parent,
                         sections=sections, derived=derived)


def project_from_dict(data: dict, base: Path | None = None) -> Project:
    """Build a project from already-parsed data (tests, the demo, the API)."""
    return parse_project(yaml.safe_dump(data, sort_keys=False), file="<dict>", base=base)


def locate(path: str | os.PathLike) -> Located:
    """Line numbers of a project file, for issues found after loading (e.g. by `check`)."""
    p = Path(path)
    try:
        node, raw = yamlfile.load(yamlfile.read_text(p), str(p))
    except ConfigError:
        return Located(str(p), None)
    loc = Located(str(p), node)
    include = raw.get("include") if isinstance(raw, dict) else None
    if isinstance(include, list):
        own = raw.get("metrics") if isinstance(raw.get("metrics"), dict) else {}
        origin = {}
        for name in map(packs.pack_name, include):
            if name in packs.PACKS:
                pack = packs.load_pack(name)
                origin.update({m: pack for m in pack.metrics if m not in own})
        _overlay_packs(loc, origin)
    return loc
