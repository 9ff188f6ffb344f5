"""Including packs: mapping tables, columns and params; errors point at the right file:line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from daypulse.errors import ConfigError
from daypulse.project import parse_project
from daypulse.project.packs import PACKS, load_pack

BASE = "source: duckdb:///x.duckdb\n"


def test_every_pack_metric_is_documented_and_valid():
    project = parse_project(BASE + f"include: {list(PACKS)}\n")
    for name in PACKS:
        for metric in load_pack(name).metrics:
            m = project.metrics[metric]
            assert m.label and m.description and m.formula, metric
    contract = {"signups", "signups_mtd", "subscriptions_created", "subscriptions_created_mtd",
                "subscriptions_cancelled", "active_subscriptions", "mrr", "arr", "new_mrr",
                "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
                "net_new_mrr", "nrr", "grr", "arpa", "paying_customers", "customer_churn_rate",
                "revenue_churn_rate", "ltv", "quick_ratio", "failed_payments", "dau", "wau",
                "mau", "stickiness", "captures", "capturing_users", "subscribed_capturing_users",
                "leads_created", "calls", "call_success_rate", "jobs_total", "jobs_failed",
                "job_failure_rate", "ai_tokens", "ai_cost"}  # DESIGN §4
    assert contract <= set(project.metrics)
    for name in ("mrr", "arr", "new_mrr", "arpa", "ltv", "ai_cost"):
        assert project.metrics[name].format == "currency", name
    # A metric whose name claims a grain is not shown at a coarser one under that name (a week's
    # distinct users are WAU): daily only, and the weekly and monthly reports read wau and mau.
    from daypulse.report.definition import load_report

    for daily in ("dau", "stickiness"):
        assert project.grains_of(daily, ["day", "week", "month"]) == ("day",), daily
    for report in ("weekly", "monthly"):
        metrics = load_report(project, report).metrics
        assert "dau" not in metrics and "mau" in metrics, (report, metrics)


def test_tables_columns_params_exclude_and_overrides():
    project = parse_project(BASE + """
include: [saas, product]
tables: {users: public.accounts}
columns:
  users.created_at: signed_up_at
  users.is_test: null
  users.platform: null
  subscription_periods.mrr_cents: amount_cents
params: {trial_statuses: [trialing, incomplete], mau_window: 30}
exclude: [ltv]
metrics:
  dau: {table: events, time: occurred_at, measure: count_distinct, column: user_id}
""")
    signups = project.metrics["signups"]
    assert project.table(signups.table).name == "public.accounts"
    assert signups.time == "signed_up_at"
    assert signups.where == {}                       # is_test mapped to null: no filter
    assert signups.dimensions == {"tenant": "tenant"}  # platform dropped
    mrr = project.metrics["mrr"]
    assert mrr.column == "amount_cents"
    assert mrr.where == {"status": {"not_in": ["trialing", "incomplete"]}}
    assert project.metrics["new_mrr"].column == "amount_cents"
    assert project.metrics["mau"].window == 30
    assert "ltv" not in project.metrics
    assert project.metrics["dau"].dimensions == {}   # the project's own dau replaced the pack's


def test_mistakes_are_reported_with_their_file_and_line():
    with pytest.raises(ConfigError) as err:
        parse_project(BASE + "include: [saas, finance]\nparams: {mau_window: abc}\n"
                      "columns: {mrr_cents: amount}\n")
    text = str(err.value)
    assert "daypulse.yml:2: error: unknown pack 'finance'" in text
    assert "columns: 'mrr_cents' must be <table>.<column>" in text
    with pytest.raises(ConfigError) as err:
        parse_project(BASE + "include: [product]\nparams: {mau_window: abc}\n")
    text = str(err.value)
    # The broken value came from params, but the metric lives in the pack: its line is named.
    line = next(i for i, ln in enumerate(load_pack("product").text.splitlines(), 1)
                if "window: $mau_window" in ln)
    assert f"daypulse/packs/product.yml:{line}: error: metric 'mau'" in text


def test_check_names_the_pack_line_of_a_missing_column(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "app.duckdb"))
    con.execute("CREATE TABLE jobs (created_at TIMESTAMP, tenant VARCHAR, kind VARCHAR,"
                " status VARCHAR, seconds DOUBLE)")
    con.close()
    (tmp_path / "daypulse.yml").write_text(
        "source: duckdb:///app.duckdb\nstore: sqlite:///s.db\ninclude: [ops]\n"
        "exclude: [ai_requests, ai_tokens, ai_cost, api_requests, api_errors, error_rate]\n")
    r = subprocess.run([sys.executable, "-m", "daypulse.cli", "check"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "daypulse/packs/ops.yml:" in r.stderr
    assert "metric 'avg_job_duration': column: column 'duration_s' is not in table 'jobs'" in r.stderr
    (tmp_path / "daypulse.yml").write_text(
        (tmp_path / "daypulse.yml").read_text() + "columns: {jobs.duration_s: seconds}\n")
    r = subprocess.run([sys.executable, "-m", "daypulse.cli", "check"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert "every table and column the metrics use exists in the source" in r.stderr, r.stderr
