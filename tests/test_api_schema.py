"""schemathesis against the API's own OpenAPI document: generated requests (valid and invalid)
on every operation, as an admin, a viewer, and a viewer and an admin scoped to one tenant; no
answer may be a server error, every answer must match the schema, and the conformance checks
pass (a 405's Allow header, only documented status codes). Bounded: a fixed number of examples
per operation."""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daypulse.app import ApiSettings, create_app
from daypulse.calendar import FIRST_DAY, LAST_DAY
from daypulse.engine.run import run_compute
from daypulse.store import tokens
from deliverykit import load, write

EXAMPLES = 25
ROLES = ("admin", "viewer", "acme", "acme-admin")


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schema")
    write(folder)
    project, store = load(folder)
    run_compute(project, store, date(2026, 2, 20), date(2026, 3, 5), params={"why": "schema test"})
    keys = {"admin": tokens.create(store, "ops", "admin")[1], "viewer": tokens.create(store, "board", "viewer")[1],
            "acme": tokens.create(store, "acme", "viewer", {"tenant": "acme"})[1],
            "acme-admin": tokens.create(store, "acme admin", "admin", {"tenant": "acme"})[1]}
    # base_dir: a file subscription's relative folder (were one made by a generated request)
    # lands in the test's folder, never the working directory.
    app = create_app(ApiSettings(project=project, base_dir=folder))
    app.state.keys = keys
    return app


# Bodies that name other things (a report, its metrics, a channel): a schema-valid one may
# still name something that does not exist, which is a 422 naming the field by design. So may a
# run's range (end before start, in the future, longer than a year: what a schema cannot state).
# So may a grain the schema lists that no metric of this project is computed at (quarter is opted
# in: compute.grains), a 422 saying how to opt in; and cohorts of a project whose source has no
# signups table, a 422 naming it.
REFERENCES = """
[[operations]]
include-name = ["POST /api/v1/subscriptions", "PUT /api/v1/templates/{name}", "POST /api/v1/runs",
                "POST /api/v1/config/thresholds", "GET /api/v1/summary", "GET /api/v1/export",
                "GET /api/v1/metrics/{name}/series", "GET /api/v1/metrics/{name}/latest", "GET /api/v1/cohorts"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""


@pytest.fixture(scope="module")
def api_schema(api_app):
    # A schema-valid date is one the API takes: its documented formatMinimum .. formatMaximum
    # (JSON Schema's `format: date` alone admits year 1; tests/test_api.py drives those).
    schemathesis.openapi.format("date", st.dates(FIRST_DAY, LAST_DAY).map(date.isoformat))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", api_app,
                                          config=schemathesis.config.SchemathesisConfig.from_str(REFERENCES))


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


def test_no_server_errors_and_answers_match_the_schema(api_app, api_schema):
    # Each operation's Hypothesis strategy, driven here (schemathesis' pytest plugin does not
    # run under pytest 9 yet).
    ops = operations(api_schema)
    assert len(ops) >= 10
    for op in ops:
        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def check(case):
            for who in ROLES:
                case.call_and_validate(headers={"Authorization": f"Bearer {api_app.state.keys[who]}"})

        check()
