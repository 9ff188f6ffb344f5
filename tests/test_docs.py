"""Docs are tested against the code: every setting, command, flag and metric kind is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from daypulse.cli import app
from daypulse.project.model import METRIC_KINDS, WHERE_OPERATORS, ComputeSettings, Project

DOCS = Path(__file__).parent.parent / "docs"


def _commands():
    import typer.main

    group = typer.main.get_group(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            for sub, subcmd in cmd.commands.items():
                yield f"{name} {sub}", subcmd
        else:
            yield name, cmd


@pytest.mark.parametrize("name", [n for n, _ in _commands()])
def test_every_command_and_flag_is_documented(name):
    text = (DOCS / "cli.md").read_text()
    assert f"`daypulse {name}" in text, f"docs/cli.md does not document `daypulse {name}`"
    cmd = dict(_commands())[name]
    for param in cmd.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt not in ("--help", "--config"):
                assert opt in text, f"docs/cli.md does not mention {opt} of `daypulse {name}`"


def test_every_setting_kind_and_operator_is_documented():
    text = (DOCS / "project-file.md").read_text()
    for field in Project.model_fields:
        assert f"`{field}`" in text, f"setting {field} is not documented"
    for field in ComputeSettings.model_fields:
        assert f"`compute.{field}`" in text, f"setting compute.{field} is not documented"
    for kind in METRIC_KINDS:
        assert f"kind: {kind}" in text, f"metric kind {kind} is not documented"
    for op in WHERE_OPERATORS:
        assert op in text


def test_metrics_reference_is_generated_from_the_packs():
    from daypulse.describe import packs_markdown

    assert (DOCS / "metrics.md").read_text() == packs_markdown(), (
        "docs/metrics.md is out of date: daypulse metrics --packs --format markdown > docs/metrics.md")
