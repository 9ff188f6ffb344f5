"""The demo company (DESIGN §7): seeded SaaS data and the project file that reads it.

``generate(path)`` writes the company into a DuckDB file (see :mod:`daypulse.demo.company`
for the tables); ``project_yaml()`` is the matching ``daypulse.yml``, whose ``source`` is
``duckdb:///demo.duckdb`` relative to the folder the YAML is written to.
"""

from __future__ import annotations

from importlib.resources import files

from daypulse.demo.company import TIMEZONE, generate

PROJECT_FILE = "daypulse.yml"
DATABASE_FILE = "demo.duckdb"  # the name the project file's source URL expects

__all__ = ["DATABASE_FILE", "PROJECT_FILE", "TIMEZONE", "generate", "project_yaml"]


def project_yaml() -> str:
    """The demo project file's text, to write next to ``demo.duckdb``."""
    return files(__name__).joinpath(PROJECT_FILE).read_text(encoding="utf-8")
