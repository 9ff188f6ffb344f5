"""Built-in metric packs: YAML files in ``daypulse/packs`` merged into a project.

A pack is written in the same metric language as a project, against *logical* tables and
columns (``subscriptions.mrr_cents``). A project maps them onto its own schema:

* ``tables: {subscriptions: billing.subs}`` renames a table (read by the engine);
* ``columns: {subscriptions.mrr_cents: amount_cents}`` renames a column wherever the pack's
  metrics on that table name it (time, start, end, column, entity, where, dimensions);
  mapping a column to ``null`` drops the dimensions and ``where`` conditions on it (e.g. no
  tenant column, or no test accounts to filter out);
* ``params: {trial_statuses: [trialing, incomplete]}`` sets the values a pack writes as
  ``$trial_statuses`` (what counts as a trial, as past due, as a successful call...);
* ``exclude: [ltv]`` leaves pack metrics out, and a project metric of the same name as a
  pack metric replaces it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from daypulse.errors import Issue

PACKS = ("saas", "product", "sales", "ops", "marketing")
_PARAM = re.compile(r"^\$([a-z_][a-z0-9_]*)$")
# Settings of a metric that name one column of its table.
_COLUMN_SETTINGS = ("time", "start", "end", "column", "entity")  # and during's, recursively


@dataclass
class Pack:
    name: str
    file: str
    text: str
    data: dict
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, dict]:
        return self.data.get("metrics") or {}

    @property
    def tables(self) -> dict[str, dict]:
        """The logical tables the pack reads: {table: {"columns": {column: description}}}."""
        return self.data.get("tables") or {}


def load_pack(name: str) -> Pack:
    res = resources.files("daypulse.packs").joinpath(f"{name}.yml")
    text = res.read_text()
    data = yaml.safe_load(text)
    return Pack(name, f"daypulse/packs/{name}.yml", text, data, dict(data.get("params") or {}))


def expand(include: list, params: dict, columns: dict, exclude: list,
           issue, own=()) -> tuple[dict[str, dict], dict[str, Pack]]:
    """The metrics of the included packs, with params substituted and columns mapped.

    ``issue(path, message, **kw)`` reports a problem at a path of the project file; ``own``: the
    project's metric names (each replaces a pack metric of its name, on purpose). A pack listed
    twice, or a metric two packs define that the project does not replace, is an error: one of
    them would silently win. Returns ({metric: definition}, {metric: the pack it came from}).
    """
    out: dict[str, dict] = {}
    origin: dict[str, Pack] = {}
    known_params: set[str] = set()
    used_columns: set[str] = set()
    listed: dict[str, int] = {}
    for i, name in enumerate(include):
        if not isinstance(name, str) or name not in PACKS:
            issue(("include", i), f"unknown pack {name!r}", hint="packs: " + ", ".join(PACKS))
            continue
        if name in listed:
            issue(("include", i), f"pack {name!r} is included twice (items {listed[name] + 1}"
                  f" and {i + 1} of include)")
            continue
        listed[name] = i
        pack = load_pack(name)
        known_params |= set(pack.params)
        values = {**pack.params, **{k: v for k, v in params.items() if k in pack.params}}
        for metric, body in pack.metrics.items():
            if metric in exclude:
                continue
            if metric in origin and metric not in own:
                issue(("include", i), f"metric {metric!r} is in pack {origin[metric].name!r} and"
                      f" in pack {name!r}", hint=f"exclude: [{metric}] keeps neither; a metric"
                      f" {metric!r} under metrics: replaces both")
                continue
            body = _substitute(body, values)
            body = _map_columns(body, columns, used_columns)
            out[metric] = body
            origin[metric] = pack
    for key in params:
        if key not in known_params:
            issue(("params", key), f"params.{key} is not a setting of the included packs",
                  level="warning", hint=_close(key, known_params))
    for key in columns:
        if not isinstance(key, str):
            continue  # the settings' own validation names it
        if "." not in key:
            issue(("columns", key), f"columns: {key!r} must be <table>.<column>",
                  hint="e.g. subscriptions.mrr_cents: amount_cents")
        elif key not in used_columns:
            issue(("columns", key), f"columns.{key}: no included pack metric reads this column",
                  level="warning")
    for i, name in enumerate(exclude):
        if not isinstance(name, str):
            continue  # the settings' own validation names it
        if name not in origin and not any(name in load_pack(p).metrics for p in include
                                          if p in PACKS):
            issue(("exclude", i), f"exclude: {name!r} is not a metric of the included packs",
                  level="warning")
    return out, origin


def _substitute(value: Any, params: dict) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, str) and (m := _PARAM.match(value)) and m.group(1) in params:
        return params[m.group(1)]
    return value


def _map_columns(body: dict, columns: dict, used: set[str]) -> dict:
    table = body.get("table")
    if not table or not isinstance(body, dict):
        return body
    body = dict(body)

    def mapped(col: str) -> tuple[bool, str | None]:
        key = f"{table}.{col}"
        if key in columns:
            used.add(key)
            return True, columns[key]
        return False, col

    for setting in _COLUMN_SETTINGS:
        if isinstance(body.get(setting), str):
            hit, new = mapped(body[setting])
            if hit and new is not None:
                body[setting] = new
            # A required column mapped to null is left as is: the engine's check names it.
    if isinstance(body.get("where"), dict):
        where = {}
        for col, cond in body["where"].items():
            hit, new = mapped(col)
            if new is not None:
                where[new] = cond
        body["where"] = where
    during = body.get("during")
    if isinstance(during, dict) and isinstance(during.get("table"), str):
        # The match column is the metric table's; the rest are the other table's.
        match = during.get("match") or during.get("entity")
        during = _map_columns({**during, "match": None}, columns, used)
        if isinstance(match, str):
            hit, new = mapped(match)
            during["match"] = new if new is not None else match
        body["during"] = during
    if isinstance(body.get("dimensions"), dict):
        dims, dropped = {}, set()
        for dim, col in body["dimensions"].items():
            if isinstance(col, str) and not col.startswith("@"):
                hit, new = mapped(col)
                if new is None:
                    dropped.add(dim)
                    continue
                col = new
            dims[dim] = col
        body["dimensions"] = dims
        if dropped and isinstance(body.get("breakdowns"), list):
            body["breakdowns"] = [b for b in body["breakdowns"] if not dropped & set(b)]
    return body


def _close(name: str, known) -> str | None:
    match = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean {match[0]!r}?" if match else None


def pack_issue(pack: Pack, located, path: tuple, message: str, **kw) -> Issue:
    return located.issue(path, f"(pack {pack.name}) {message}", **kw)
