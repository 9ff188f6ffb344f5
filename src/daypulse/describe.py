"""A metric's definition in plain words (shown by `daypulse metrics`, later next to numbers)."""

from __future__ import annotations

import json

from daypulse.project.kinds import kind_of
from daypulse.project.loader import project_from_dict
from daypulse.project.model import Project
from daypulse.project.packs import PACKS, load_pack


def describe(project: Project, name: str) -> str:
    m = project.metrics[name]
    return m.formula or kind_of(m).describe(project, m)


_FORMATS = {"integer": "count", "number": "number", "currency": "money (cents)",
            "percent": "percent", "duration": "seconds"}


def metric_rows(project: Project) -> list[dict]:
    """What `daypulse metrics` lists: one row per metric, in the project's order."""
    return [{"metric": name, "label": m.label or name, "kind": m.kind,
             "formula": describe(project, name), "format": _FORMATS[m.format], "good": m.good,
             "description": (m.description or "").strip()}
            for name, m in project.metrics.items()]


def packs_markdown() -> str:
    """docs/metrics.md: every built-in pack's metrics with their formula (tested to match)."""

    lines = ["# Built-in metrics", "",
             "Generated from the packs in `src/daypulse/packs/` by"
             " `daypulse metrics --packs --format markdown > docs/metrics.md`"
             " (a test fails when it is out of date). How to map a pack onto your own tables:"
             " [packs.md](packs.md). Money is in cents; a rate is a fraction shown as a percent.",
             ""]
    for name in PACKS:
        pack = load_pack(name)
        project = project_from_dict({"source": "duckdb:///:memory:", "include": [name]})
        lines += [f"## {name}", "", pack.data.get("description", ""), ""]
        params = pack.params
        if params:
            lines.append("Settings (`params:`): " + ", ".join(
                f"`{k}` = `{json.dumps(v)}`" for k, v in params.items()) + ".")
            lines.append("")
        lines += ["| metric | label | formula | unit | good |", "|---|---|---|---|---|"]
        for row in metric_rows(project):
            cells = [f"`{row['metric']}`", row["label"], row["formula"], row["format"], row["good"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
