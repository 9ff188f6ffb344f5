"""Built-in metric packs: YAML files in ``daypulse/packs`` merged into a project.

A pack is written in the same metric language as a project, against *logical* tables and
columns (``subscriptions.mrr_cents``). A project maps them onto its own schema:

* ``tables: {subscriptions: billing.subs}`` renames a table (read by the engine);
* ``columns: {subscriptions.mrr_cents: amount_cents}`` renames a column wherever the pack's
  metrics on that table name it (time, start, end, column, entity, where, dimensions).
  Mapping a column to ``null`` says the schema has no such column: a dimension on it is
  dropped, and so is a ``where`` condition on a column the pack marks as an optional filter
  (``filters:`` of its table: test accounts to leave out). Any other use is *essential*: the
  metric would mean something else without it (every lead "contacted", every event a
  capture), so the metric is left out, and so is every metric made from it, each with a
  warning that ``daypulse check`` prints;
* ``params: {trial_statuses: [trialing, incomplete]}`` sets the values a pack writes as
  ``$trial_statuses`` (what counts as a trial, as past due, as a successful call...);
* ``exclude: [ltv]`` leaves pack metrics out, and a project metric of the same name as a
  pack metric replaces it;
* ``include: [{sales: [calls, call_success_rate]}]`` takes only the named metrics of a pack,
  with the metrics they are made from (a ratio's parts).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from daypulse.errors import Issue
from daypulse.project.expr import names

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
    def filters(self) -> dict[str, set[str]]:
        """Columns whose ``where`` conditions are optional filters, by table (``filters:`` of a
        table): mapped to null, the condition is dropped and the metric kept."""
        return {t: set(spec.get("filters") or ()) for t, spec in self.tables.items()}

    @property
    def tables(self) -> dict[str, dict]:
        """The logical tables the pack reads: {table: {"columns": {column: description}}}."""
        return self.data.get("tables") or {}


def load_pack(name: str) -> Pack:
    res = resources.files("daypulse.packs").joinpath(f"{name}.yml")
    text = res.read_text()
    data = yaml.safe_load(text)
    return Pack(name, f"daypulse/packs/{name}.yml", text, data, dict(data.get("params") or {}))


def pack_name(entry: Any) -> str | None:
    """The pack an ``include:`` entry names: ``sales``, or ``{sales: [calls, ...]}``."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        name = next(iter(entry))
        return name if isinstance(name, str) else None
    return None


def expand(include: list, params: dict, columns: dict, exclude: list,
           issue, own=()) -> tuple[dict[str, dict], dict[str, Pack]]:
    """The metrics of the included packs, with params substituted and columns mapped.

    ``issue(path, message, **kw)`` reports a problem at a path of the project file; ``own``: the
    project's metric names (each replaces a pack metric of its name, on purpose). A pack listed
    twice, or a metric two packs define that the project does not replace, is an error: one of
    them would silently win. A metric that needs a column mapped to null is left out, with the
    metrics made from it, each with a warning. Returns ({metric: definition}, {metric: the pack
    it came from}).
    """
    out: dict[str, dict] = {}
    origin: dict[str, Pack] = {}
    known_params: set[str] = set()
    used_columns: set[str] = set()
    listed: dict[str, int] = {}
    lost: dict[str, tuple[str, str]] = {}  # metric -> (columns key, what it needed)
    for i, entry in enumerate(include):
        name = pack_name(entry)
        picked = entry.get(name) if isinstance(entry, dict) else None
        if isinstance(entry, dict) and (name is None or not isinstance(picked, list)
                                        or not all(isinstance(x, str) for x in picked)):
            issue(("include", i), "an include entry is a pack name, or a pack with the list of"
                  " metrics to take from it", hint="e.g. include: [saas, {sales: [calls, call_success_rate]}]")
            continue
        if not isinstance(name, str) or name not in PACKS:
            issue(("include", i), f"unknown pack {name!r}", hint="packs: " + ", ".join(PACKS))
            continue
        if name in listed:
            issue(("include", i), f"pack {name!r} is included twice (items {listed[name] + 1}"
                  f" and {i + 1} of include)")
            continue
        listed[name] = i
        pack = load_pack(name)
        wanted = set(pack.metrics) if picked is None else _picked(pack, picked, issue, ("include", i, name))
        known_params |= set(pack.params)
        values = {**pack.params, **{k: v for k, v in params.items() if k in pack.params}}
        for metric, body in pack.metrics.items():
            if metric in exclude or metric not in wanted:
                continue
            if metric in origin and metric not in own:
                issue(("include", i), f"metric {metric!r} is in pack {origin[metric].name!r} and"
                      f" in pack {name!r}", hint=f"exclude: [{metric}] keeps neither; a metric"
                      f" {metric!r} under metrics: replaces both")
                continue
            body = _substitute(body, values)
            body, needed = _map_columns(body, columns, used_columns, pack.filters)
            if needed and metric not in own:
                lost[metric] = needed
                continue
            out[metric] = body
            origin[metric] = pack
    _leave_out(out, origin, lost, own, issue)
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
    included = [pack_name(e) for e in include]
    for i, name in enumerate(exclude):
        if not isinstance(name, str):
            continue  # the settings' own validation names it
        if name not in origin and name not in lost and not any(
                name in load_pack(p).metrics for p in included if p in PACKS):
            issue(("exclude", i), f"exclude: {name!r} is not a metric of the included packs",
                  level="warning")
    return out, origin


def _picked(pack: Pack, names: list[str], issue, at: tuple) -> set[str]:
    """The metrics named, with everything they are made from in the pack."""
    wanted: set[str] = set()

    def add(metric: str) -> None:
        if metric in wanted:
            return
        wanted.add(metric)
        for part in _parts(pack.metrics[metric]):
            if part in pack.metrics:
                add(part)

    for j, metric in enumerate(names):
        if metric not in pack.metrics:
            issue(at + (j,), f"pack {pack.name!r} has no metric {metric!r}",
                  hint=_close(metric, pack.metrics) or "`daypulse metrics --packs` lists them")
            continue
        add(metric)
    return wanted


def _parts(body: dict) -> list[str]:
    """The metrics a pack metric is made from (a ratio's, a cumulative's, a derived one's)."""
    kind = body.get("kind")
    if kind == "ratio":
        return [body.get("numerator"), body.get("denominator")]
    if kind == "cumulative":
        return [body.get("of")]
    if kind == "derived" and isinstance(body.get("expr"), str):
        try:
            return names(body["expr"])
        except (ValueError, RecursionError):
            return []  # validation names it
    return []


def _leave_out(out: dict, origin: dict, lost: dict, own, issue) -> None:
    """Say which metrics are left out for a column mapped to null, and leave out the metrics
    made from them (a ratio whose numerator is gone), until none is left."""
    for metric, (key, needed) in lost.items():
        issue(("columns", key), f"{metric} is left out: it needs {key} ({needed}), mapped to null",
              level="warning", hint=f"map {key} to a column, or define {metric} under metrics:")
    changed = True
    while changed:
        changed = False
        for metric, body in list(out.items()):
            gone = [p for p in _parts(body) if p in lost and p not in own]
            if gone:
                key = lost[gone[0]][0]
                lost[metric] = (key, f"made from {gone[0]}")
                issue(("columns", key), f"{metric} is left out: it is made from {gone[0]}, which"
                      f" needs {key}", level="warning")
                del out[metric], origin[metric]
                changed = True


def _substitute(value: Any, params: dict) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, str) and (m := _PARAM.match(value)) and m.group(1) in params:
        return params[m.group(1)]
    return value


def _map_columns(body: dict, columns: dict, used: set[str],
                 filters: dict[str, set[str]]) -> tuple[dict, tuple[str, str] | None]:
    """The metric with its columns renamed, and (columns key, the setting) of the first column
    it needs that is mapped to null, if any (None: it keeps its meaning)."""
    table = body.get("table")
    if not table or not isinstance(body, dict):
        return body, None
    body = dict(body)
    needed: list[tuple[str, str]] = []

    def mapped(col: str) -> str | None:
        """The project's name for a column of the pack's table (None: it has no such column)."""
        key = f"{table}.{col}"
        if key not in columns:
            return col
        used.add(key)
        new = columns[key]
        return new.get("name") if isinstance(new, dict) else new

    unit = columns.get(f"{table}.{body.get('column')}")
    if isinstance(unit, dict) and unit.get("unit") is not None:
        body["unit"] = unit["unit"]  # {name: spend, unit: major}: dollars, converted to cents
    for setting in _COLUMN_SETTINGS:
        if isinstance(body.get(setting), str):
            new = mapped(body[setting])
            if new is None:
                needed.append((f"{table}.{body[setting]}", setting))
            else:
                body[setting] = new
    if isinstance(body.get("where"), dict):
        where = {}
        for col, cond in body["where"].items():
            new = mapped(col)
            if new is not None:
                where[new] = cond
            elif col not in filters.get(table, ()):
                needed.append((f"{table}.{col}", f"where.{col}"))
        body["where"] = where
    during = body.get("during")
    if isinstance(during, dict) and isinstance(during.get("table"), str):
        # The match column is the metric table's; the rest are the other table's.
        match = during.get("match") or during.get("entity")
        during, more = _map_columns({**during, "match": None}, columns, used, filters)
        if more:
            needed.append((more[0], f"during.{more[1]}"))
        if isinstance(match, str):
            new = mapped(match)
            if new is None:
                needed.append((f"{table}.{match}", "during.match"))
            during["match"] = new if new is not None else match
        body["during"] = during
    if isinstance(body.get("dimensions"), dict):
        dims, dropped = {}, set()
        for dim, col in body["dimensions"].items():
            if isinstance(col, str) and not col.startswith("@"):
                new = mapped(col)
                if new is None:
                    dropped.add(dim)  # no such column: the metric is not broken down by it
                    continue
                col = new
            dims[dim] = col
        body["dimensions"] = dims
        if dropped and isinstance(body.get("breakdowns"), list):
            body["breakdowns"] = [b for b in body["breakdowns"] if not dropped & set(b)]
    return body, needed[0] if needed else None


def _close(name: str, known) -> str | None:
    match = difflib.get_close_matches(name, sorted(known), n=1)
    return f"did you mean {match[0]!r}?" if match else None


def pack_issue(pack: Pack, located, path: tuple, message: str, **kw) -> Issue:
    return located.issue(path, f"(pack {pack.name}) {message}", **kw)
