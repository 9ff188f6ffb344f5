"""The ``churn:`` section of daypulse.yml: its defaults, and every problem in it reported once, at
its file and line, with a hint -- when the file is read (the section check every command loads
with) and against the live source (tables and columns, as ``daypulse check`` reports them)."""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from daypulse.churn.config import SIGNALS, ChurnConfig, check_churn, churn_config
from daypulse.churn.population import scored_population
from daypulse.delivery.config import SECTIONS
from daypulse.errors import ConfigError
from daypulse.project.loader import parse_project
from daypulse.project.located import Located

BASE = """\
name: t
timezone: America/New_York
source: {source}
metrics:
  active_subscribers:
    kind: state
    table: subscriptions
    start: started_at
    end: canceled_at
    measure: count_distinct
    column: user_id
    dimensions: {{tenant: tenant}}
  signups: {{table: subscriptions, time: started_at}}
churn:
  activity: {{table: events, time: occurred_at}}
  logins:
    table: events
    time: occurred_at
    where: {{kind: login}}
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    import duckdb

    path = tmp_path_factory.mktemp("churn_config") / "src.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table subscriptions(user_id int, tenant varchar, plan varchar,"
                " started_at timestamp, canceled_at timestamp, trial_ends_at timestamp)")
    con.execute("create table events(user_id int, kind varchar, occurred_at timestamp)")
    con.execute("create table periods(user_id int, status varchar, valid_from timestamp, valid_to timestamp)")
    con.execute("create table feedback(user_id int, given_at timestamp, score double, note varchar)")
    con.close()
    return f"duckdb:///{path}"


def text(source: str, churn: str = "", base: str = BASE) -> str:
    return base.format(source=source) + churn


def parse(body: str):
    return parse_project(body, file="daypulse.yml", sections=SECTIONS)


def problems(body: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse(body)
    return [str(i) for i in err.value.issues if i.level == "error"]


def line_of(body: str, needle: str) -> int:
    return next(i for i, s in enumerate(body.splitlines(), 1) if needle in s)


# -- a valid section ------------------------------------------------------------------------

def test_defaults(source):
    """Two sources (activity, logins): inactivity and engagement_decay from activity, login_decay
    from logins; their weights 25, 20, 15 rescaled by 100 / 60."""
    project = parse(text(source))
    cfg = churn_config(project)
    assert isinstance(cfg, ChurnConfig)
    assert cfg.signals_in_use == ("inactivity", "engagement_decay", "login_decay")
    assert cfg.weights_in_use() == {"inactivity": 25 * 100 / 60, "engagement_decay": 20 * 100 / 60,
                                    "login_decay": 15 * 100 / 60}
    assert cfg.scored.metric == "active_subscribers"
    pop = scored_population(project, cfg)
    assert (pop.table, pop.entity, pop.start, pop.end) == ("subscriptions", "user_id", "started_at", "canceled_at")
    assert pop.dimensions == {"tenant": "tenant"}  # the metric's own
    assert cfg.entity_of(cfg.activity, pop) == "user_id"
    assert SIGNALS == ("inactivity", "engagement_decay", "frustration", "login_decay", "progress_stall",
                       "payment_issue")


def test_a_project_without_churn_has_no_churn_config(source):
    body = text(source).split("churn:")[0]
    project = parse(body)
    assert churn_config(project) is None
    assert check_churn(project, Located("daypulse.yml", None)) == []


def test_every_source_weights_and_a_payment_default(source):
    body = text(source, """\
  progress: {table: events, time: occurred_at, where: {kind: [capture, upload]}}
  frustration: {table: feedback, time: given_at, score: score}
  payment: {table: periods, start: valid_from, end: valid_to}
  trial:
    table: subscriptions
    end: trial_ends_at
    paid: {table: periods, start: valid_from, end: valid_to, where: {status: active}}
  weights: {inactivity: 40, payment_issue: 0}
""")
    cfg = churn_config(parse(body))
    assert cfg.signals_in_use == SIGNALS
    assert cfg.payment.statuses == ["past_due", "unpaid"] and cfg.payment.status == "status"
    w = cfg.weights_in_use()
    total = 40 + 20 + 15 + 15 + 15 + 0
    assert w["inactivity"] == 40 * 100 / total and w["payment_issue"] == 0.0


def test_the_saas_pack_definition_when_the_project_has_no_such_metric(source):
    """Without a metric active_subscribers, the saas pack's is used, mapped through columns:."""
    body = text(source).replace("  active_subscribers:", "  other_subscribers:")
    body = body.replace("churn:", "columns: {subscriptions.user_id: customer}\nchurn:")
    project = parse(body)
    pop = scored_population(project, churn_config(project))
    assert (pop.table, pop.entity, pop.start, pop.end) == ("subscriptions", "customer", "started_at", "canceled_at")
    assert pop.dimensions == {"tenant": "tenant"}
    assert "saas" in pop.origin


def test_scored_where_narrows_the_metric(source):
    project = parse(text(source, "  scored: {where: {plan: {ne: internal}}}\n").replace(
        "    measure: count_distinct", "    where: {plan: {ne: free}}\n    measure: count_distinct"))
    pop = scored_population(project, churn_config(project))
    assert pop.where == [{"plan": {"ne": "free"}}, {"plan": {"ne": "internal"}}]


def test_a_weight_for_a_signal_without_a_source_is_a_warning(source):
    body = text(source, "  weights: {frustration: 30}\n")
    project = parse(body)
    (w,) = [str(i) for i in project.warnings if "churn" in i.message]
    assert w.startswith(f"daypulse.yml:{line_of(body, 'weights:')}: warning: churn.weights.frustration:")
    assert "no source" in w


# -- problems when the file is read ---------------------------------------------------------

CASES = [
    # (id, churn lines added, the line's text, a part of the message, a part of the hint)
    ("unknown-signal", "  weights: {engagment: 10}\n", "weights:",
     "churn.weights.engagment: unknown signal 'engagment'", "did you mean 'engagement_decay'?"),
    ("negative-weight", "  weights:\n    inactivity: -5\n", "inactivity: -5",
     "churn.weights.inactivity: a weight is a number of 0 or more, not -5", "0 leaves"),
    ("weight-not-a-number", "  weights:\n    login_decay: high\n", "login_decay: high",
     "churn.weights.login_decay: a weight is a number of 0 or more, not 'high'", "0 leaves"),
    ("weight-a-boolean", "  weights:\n    login_decay: yes\n", "login_decay: yes",
     "not True", "0 leaves"),
    ("weights-not-a-mapping", "  weights: [inactivity]\n", "weights:",
     "churn.weights: a mapping of signal: weight", "signals: inactivity"),
    ("unknown-setting", "  activty: {table: events, time: occurred_at}\n", "activty:",
     "churn.activty: unknown setting", "did you mean 'activity'?"),
    ("unknown-source-setting", "  payment: {table: periods, start: valid_from, stat: s}\n", "payment:",
     "churn.payment.stat: unknown setting", "settings of churn.payment: table, entity"),
    ("missing-time", "  progress: {table: events}\n", "progress:",
     "churn.progress: missing required setting 'time'", "docs/churn.md"),
    ("missing-paid", "  trial: {table: subscriptions, end: trial_ends_at}\n", "trial:",
     "churn.trial: missing required setting 'paid'", "docs/churn.md"),
    ("statuses-not-a-list", "  payment: {table: periods, start: valid_from, statuses: past_due}\n",
     "payment:", "churn.payment.statuses: Input should be a valid list", "docs/churn.md"),
    ("unknown-scored-metric", "  scored: {metric: active_subs}\n", "scored:",
     "churn.scored.metric: unknown metric 'active_subs'", "did you mean 'active_subscribers'?"),
    ("scored-metric-of-another-kind", "  scored: {metric: signups}\n", "scored:",
     "churn.scored.metric: metric 'signups' is kind: event", "measure: count_distinct"),
    ("weights-sum-to-zero", "  weights: {inactivity: 0, engagement_decay: 0, login_decay: 0}\n",
     "weights:", "churn.weights: the signals in use (inactivity, engagement_decay, login_decay) have"
     " weights that sum to 0", "give one of them a weight above 0"),
]


@pytest.mark.parametrize(("added", "needle", "message", "hint"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_one_clear_problem_at_its_line(source, added, needle, message, hint):
    body = text(source, added)
    found = problems(body)
    assert len(found) == 1, found
    (p,) = found
    assert p.startswith(f"daypulse.yml:{line_of(body, needle)}: error: "), p
    assert message in p, p
    assert "(hint: " in p and hint in p.split("(hint: ", 1)[1], p


def test_no_signal_source(source):
    body = text(source).split("churn:")[0] + "churn:\n  dimensions: {tenant: tenant}\n"
    (p,) = problems(body)
    assert p.startswith(f"daypulse.yml:{line_of(body, 'churn:')}: error: churn: no signal has a source")
    assert "activity, logins, progress, frustration, payment" in p


def test_churn_not_a_mapping(source):
    body = text(source).split("churn:")[0] + "churn: [activity]\n"
    (p,) = problems(body)
    assert p.startswith(f"daypulse.yml:{line_of(body, 'churn:')}: error: churn: ")


def test_several_problems_are_all_reported(source):
    body = text(source, "  weights: {inactivity: -1, engagment: 5}\n  scored: {metric: nope}\n")
    found = problems(body)
    assert len(found) == 3, found


def test_daypulse_check_refuses_a_bad_churn_section(source, tmp_path):
    """Through the real CLI: one line naming daypulse.yml:LINE, exit 2, no store written."""
    from daypulse.cli.main import main

    body = text(source, "  weights:\n    inactivity: -5\n").replace(
        "timezone:", f"store: sqlite:///{tmp_path}/store.db\ntimezone:")
    (tmp_path / "daypulse.yml").write_text(body)
    buf, argv = io.StringIO(), sys.argv
    sys.argv = ["daypulse", "check", "--config", str(tmp_path / "daypulse.yml")]
    try:
        with redirect_stdout(buf), redirect_stderr(buf), pytest.raises(SystemExit) as exc:
            main()
    finally:
        sys.argv = argv
    assert exc.value.code == 2
    out = buf.getvalue().strip().splitlines()
    assert out == [f"{tmp_path / 'daypulse.yml'}:{line_of(body, 'inactivity: -5')}: error: "
                   "churn.weights.inactivity: a weight is a number of 0 or more, not -5 (hint: 0 leaves"
                   " the signal out of the score; the weights in use are rescaled to sum to 100)"], out
    assert not Path(tmp_path / "store.db").exists()


# -- problems against the live source -------------------------------------------------------

LIVE = [
    ("missing-table", "  frustration: {table: feedbak, time: given_at, score: score}\n", "frustration:",
     "churn.frustration.table: table 'feedbak' not found in the source (did you mean 'feedback'?",
     "map it under tables: or check the source URL"),
    ("missing-column", "  payment: {table: periods, start: valid_from, status: state}\n", "payment:",
     "churn.payment.status: column 'state' is not in table 'periods'",
     "its columns: user_id, status, valid_from, valid_to"),
    ("time-not-a-timestamp", "  progress: {table: events, time: user_id}\n", "progress:",
     "churn.progress.time: column 'user_id' is int32, not a timestamp", None),
    ("score-not-a-number", "  frustration: {table: feedback, time: given_at, score: note}\n", "frustration:",
     "churn.frustration.score: column 'note' is string, not a number", None),
    ("missing-entity", "  progress: {table: events, time: occurred_at, entity: uid}\n", "progress:",
     "churn.progress.entity: column 'uid' is not in table 'events'", "its columns:"),
    ("missing-dimension", "  dimensions: {region: region}\n", "dimensions: {region",
     "churn.dimensions.region: column 'region' is not in table 'subscriptions'", "its columns:"),
    ("missing-paid-column", "  trial:\n    table: subscriptions\n    end: trial_ends_at\n"
     "    paid: {table: periods, start: valid_from, where: {state: active}}\n", "paid:",
     "churn.trial.paid.where.state: column 'state' is not in table 'periods'", "its columns:"),
    ("bad-where-value", "  progress: {table: events, time: occurred_at, where: {occurred_at: {like: 'x%'}}}\n",
     "progress:", "churn.progress.where.occurred_at: {'like': 'x%'} cannot be compared with column 'occurred_at'",
     "quote YAML values"),
]


@pytest.mark.parametrize(("added", "needle", "message", "hint"), [c[1:] for c in LIVE],
                         ids=[c[0] for c in LIVE])
def test_tables_and_columns_are_checked_against_the_source(source, added, needle, message, hint):
    from daypulse import warehouse
    from daypulse.churn.sources import source_issues
    from daypulse.project.yamlfile import load

    body = text(source, added)
    project = parse(body)
    node, _ = load(body, "daypulse.yml")
    issues = source_issues(project, warehouse.connect(project.source), Located("daypulse.yml", node))
    assert len(issues) == 1, [str(i) for i in issues]
    p = str(issues[0])
    assert p.startswith(f"daypulse.yml:{line_of(body, needle)}: error: "), p
    assert message in p, p
    if hint:
        assert hint in p.split("(hint: ", 1)[1], p


def test_a_good_section_has_no_source_issue(source):
    from daypulse import warehouse
    from daypulse.churn.sources import source_issues
    from daypulse.project.yamlfile import load

    body = text(source, """\
  progress: {table: events, time: occurred_at, where: {kind: [capture, upload]}}
  frustration: {table: feedback, time: given_at, score: score}
  payment: {table: periods, start: valid_from, end: valid_to}
  trial:
    table: subscriptions
    end: trial_ends_at
    paid: {table: periods, start: valid_from, end: valid_to, where: {status: active}}
""")
    project = parse(body)
    node, _ = load(body, "daypulse.yml")
    assert source_issues(project, warehouse.connect(project.source), Located("daypulse.yml", node)) == []


def test_every_setting_is_documented():
    doc = (Path(__file__).parent.parent / "docs" / "churn.md").read_text()
    from daypulse.churn import config as C

    for model in (C.ChurnConfig, C.EventSource, C.FrustrationSource, C.PaymentSource, C.TrialSource,
                  C.PaidSource, C.Scored):
        for field in model.model_fields:
            assert f"`{field}`" in doc, f"{model.__name__}.{field} is not in docs/churn.md"
    for signal in SIGNALS:
        assert f"`{signal}`" in doc
