"""Shared fixtures: data sets (one per zone, made once) and their sources per backend."""

from __future__ import annotations

import pytest

from datasets import make_dataset
from sources import Sources


@pytest.fixture(scope="session")
def dataset():
    """``dataset(zone)``: the zone's deterministic Dataset, built once per test run."""
    cache = {}

    def get(zone: str):
        if zone not in cache:
            cache[zone] = make_dataset(zone)
        return cache[zone]

    return get


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    """``sources.get(backend, ds)`` -> (source URL, tables mapping); PostgreSQL schemas are
    dropped when the run ends."""
    s = Sources(tmp_path_factory.mktemp("sources"))
    yield s
    s.close()


def pytest_configure(config):
    # PySpark 4.0 + pandas 3 warn on every collect; it is noise, not our code.
    config.addinivalue_line("filterwarnings", "ignore:The copy keyword is deprecated")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    """A daypulse store URL, once on SQLite and once on a fresh PostgreSQL database."""
    from storekit import postgres_store

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        with postgres_store() as url:
            yield url
