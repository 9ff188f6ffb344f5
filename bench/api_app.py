"""The app for `bench/api.py --workers-row N`: uvicorn's --workers needs an import string, which
`daypulse serve` does not take, so this builds the app the way `daypulse serve` does, from the
project file in $DAYPULSE_CONFIG (run with `uvicorn --factory api_app:create --app-dir bench`)."""

from __future__ import annotations

import os
from pathlib import Path


def create():
    from daypulse.app import ApiSettings, create_app
    from daypulse.delivery.config import SECTIONS
    from daypulse.project import load_project
    from daypulse.report.stored import with_templates
    from daypulse.store.db import open_store

    config = Path(os.environ["DAYPULSE_CONFIG"])
    project = load_project(config, SECTIONS)
    store = open_store(project.store)
    project = with_templates(project, store)
    store.engine.dispose()  # the app opens its own
    return create_app(ApiSettings(config=config, project=project))
