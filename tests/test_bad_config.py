"""A corpus of broken project files through the real CLI: `daypulse check` and `daypulse compute
--days-back 3` each exit 2 with one short message naming ``daypulse.yml:LINE`` (or the pack
file's), never a traceback, and nothing is written: no store file, no run row.

The commands run in this process (``daypulse.cli.main.main`` with its argv), not one process per
case: the same code path as the ``daypulse`` script, at a fraction of the time. The big files (the
50 MB one, a billion laughs) are made here, at test time.
"""

from __future__ import annotations

import io
import sqlite3
import sys
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from storekit import make_source

BASE = """\
name: t
timezone: Asia/Kolkata
source: {source}
store: sqlite:///store.db
metrics:
  events:
    table: events
    time: occurred_at
    dimensions: {tenant: tenant}
  revenue:
    table: events
    time: occurred_at
    measure: sum
    column: amount_cents
"""


def run(*args: str) -> tuple[int, str]:
    """``daypulse ARGS`` in this process: (exit code, stdout and stderr); an exception that
    escapes the CLI is written out as the script would (a traceback) with code -1."""
    from daypulse.cli.main import main

    buf, argv = io.StringIO(), sys.argv
    sys.argv = ["daypulse", *args]
    code = 0
    try:
        with redirect_stdout(buf), redirect_stderr(buf):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:
        buf.write(traceback.format_exc())
        code = -1
    finally:
        sys.argv = argv
    return code, buf.getvalue()


@dataclass(frozen=True)
class Case:
    id: str
    text: object  # str, bytes, or a function (folder, source URL) -> str | bytes (big files)
    at: object  # the line expected: a number, text found on that line, or a function of the text
    message: str  # a part of the message
    file: str = "daypulse.yml"  # the file named (a pack's for its metrics)


def base(source: str = "{source}", metrics: str = "", top: str = "", after: str = "") -> str:
    """The base project with ``top`` settings first, more ``metrics`` and ``after`` sections."""
    return top + BASE.replace("{source}", source) + metrics + after


def laughs(folder: Path, source: str) -> str:
    """The billion laughs: 9 levels of 9 aliases each (9**9 values once expanded)."""
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 9)]
    return base(source, after="\n".join(lines) + "\n")


def fifty_mb(folder: Path, source: str) -> bytes:
    head = base(source).encode()
    pad = b"# " + b"x" * 97 + b"\n"
    return head + pad * (50 * 1024 * 1024 // len(pad))


# The big and deep values go under params:, which takes any value (with no pack included, it is
# not even read): the caps are the only reason to refuse these files.
def many_values(folder: Path, source: str) -> str:
    return base(source, after="params:\n  extra: [" + ",".join(["1"] * 100_001) + "]\n")


def deep_flow(folder: Path, source: str) -> str:
    return base(source, after="params:\n  x: " + "[" * 5000 + "]" * 5000 + "\n")


def deep_block(folder: Path, source: str) -> str:
    return base(source, after="params:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 80)))


def deep_alias(folder: Path, source: str) -> str:
    return base(source, after="params:\n  a: &a " + "[" * 30 + "]" * 30 + "\n  b: " + "[" * 30 + "*a"
                + "]" * 30 + "\n")


def pack_line(pack: str, needle: str) -> int:
    from daypulse.project.packs import load_pack

    return next(i for i, s in enumerate(load_pack(pack).text.splitlines(), 1) if needle in s)


M = "  broken:\n"  # a metric added under metrics:, then its settings

CASES = [
    # -- the file itself: size, encoding, characters, YAML ---------------------------------------
    Case("billion-laughs", laughs, "lol5:", "more than 100,000 values (each alias counted"),
    Case("50mb-file", fifty_mb, lambda text: text[:5 * 1024 * 1024].count(b"\n") + 1,
         "larger than 5 MB"),
    Case("too-many-values", many_values, "extra:", "more than 100,000 values"),
    Case("deep-flow-nesting", deep_flow, "x: [[[", "nested deeper than 50 levels"),
    Case("deep-block-nesting", deep_block, "k50:", "nested deeper than 50 levels"),
    Case("deep-through-alias", deep_alias, "b: [[", "nested deeper than 50 levels (with alias *a"),
    Case("merge-key-alias-cycle", base(after="params:\n  defaults: &d\n    label: x\n    <<: *d\n"),
         "<<: *d", "alias *d is used inside the value it names (a cycle)"),
    Case("alias-cycle-in-list", base(after="params: {loop: &l [a, *l]}\n"), "loop:", "(a cycle)"),
    Case("undefined-alias", base(metrics="  copy: *nope\n"), "copy: *nope", "undefined alias"),
    Case("latin-1-bytes", lambda f, s: base(s, metrics="  caf:\n    label: caf\xe9\n").encode("latin-1"),
         "label: caf", "not UTF-8 text: byte 0xe9"),
    Case("utf-16-file", lambda f, s: base(s).encode("utf-16"), 1, "not UTF-8 text: byte 0xff"),
    Case("nul-byte", lambda f, s: base(s).replace("name: t", "name: t\0").encode(), 1,
         "a NUL byte is not allowed"),
    Case("control-character", base(metrics="  bell:\n    label: ring\x07\n"), "label: ring",
         "the control character U+0007 is not allowed"),
    Case("empty-file", "", 1, "the project file is empty"),
    Case("only-comments", "# nothing here yet\n\n", 1, "the project file is empty"),
    Case("a-scalar", "just some words\n", 1, "must be a mapping of settings"),
    Case("a-list", "- source: duckdb:///x\n", 1, "must be a mapping of settings"),
    Case("unclosed-bracket", base(metrics="  bad: {table: events, time: [occurred_at\n"), 16,
         "(while parsing a flow sequence at line 15)"),
    Case("bad-indentation", base(metrics="  bad:\n    table: events\n   time: occurred_at\n"),
         17, "(while parsing a block mapping at line 6)"),
    Case("two-documents", base() + "---\nname: other\n", "---", "expected a single document"),
    # (the wording of YAML's own errors is libyaml's or PyYAML's: only their stable part is checked)
    Case("tab-indentation", base(metrics="  bad:\n\ttable: events\n"), "\ttable",
         "cannot start any token"),
    Case("duplicate-anchor", base(after="params: {a: &x 1, b: &x 2, c: *x}\n"), "params:",
         "found duplicate anchor 'x'"),
    Case("mapping-as-key", base(after="? {a: 1}\n: x\n"), "? {a", "found unhashable key"),
    Case("python-tag", base(after="x: !!python/object/apply:os.system [echo hi]\n"), "x: !!python",
         "could not determine a constructor"),
    # -- keys written twice ----------------------------------------------------------------------
    Case("duplicate-metrics-key", base(after="metrics:\n  other: {table: events, time: occurred_at}\n"),
         "metrics:\n  other", "key 'metrics' repeats the one at line 5"),
    Case("duplicate-metric-name", base(metrics="  events:\n    table: events\n    time: occurred_at\n"),
         15, "key 'events' repeats the one at line 6"),
    Case("duplicate-setting", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                   "    table: subscriptions\n"), "table: subscriptions",
         "key 'table' repeats the one at line 16"),
    Case("duplicate-flow-key", base(metrics="  b: {table: events, time: occurred_at, where: {tenant: a,"
                                    " tenant: b}}\n"), "  b: {", "key 'tenant' repeats"),
    Case("duplicate-top-setting", base(after="timezone: UTC\n"), "timezone: UTC",
         "key 'timezone' repeats the one at line 2"),
    Case("pack-included-twice", base(top="include: [product, product]\n"), 1,
         "pack 'product' is included twice"),
    # -- settings --------------------------------------------------------------------------------
    Case("missing-source", base().replace("source: {source}\n", ""), 1,
         "missing required setting 'source'"),
    Case("unknown-setting", base(after="sorce: x\n"), "sorce:", "unknown setting 'sorce'"),
    Case("bad-time-zone", base().replace("Asia/Kolkata", "Mars/Olympus"), 2,
         "unknown time zone 'Mars/Olympus'"),
    Case("bad-week-start", base(after="week_start: friday\n"), "week_start", "week_start"),
    Case("source-not-a-string", base().replace("source: {source}", "source: [a, b]"), 3, "source"),
    Case("timezone-not-a-string", base().replace("Asia/Kolkata", "5"), 2, "timezone"),
    Case("empty-source", base(source="''"), 3, "unsupported source URL ''"),
    Case("mysql-source", base(source="mysql://u:secret@db/app"), 3, "unsupported source URL"),
    Case("mysql-store", base().replace("sqlite:///store.db", "mysql://u@db/s"), 4,
         "unsupported store URL"),
    Case("lookback-too-long", base(after="compute: {lookback_days: 999}\n"), "compute:", "lookback_days"),
    Case("initial-days-absurd", base(after="compute:\n  initial_days: 100000000\n"), "initial_days",
         "initial_days"),
    Case("unknown-grain-setting", base(after="compute:\n  grains: [day, fortnight]\n"), "grains",
         "grains"),
    Case("unknown-pack", base(top="include: [finance]\n"), 1, "unknown pack 'finance'"),
    Case("include-not-a-list", base(top="include: saas\n"), 1, "include"),
    Case("missing-env-var", base().replace("name: t", "name: ${DAYPULSE_TEST_NOT_SET}"), 1,
         "environment variable DAYPULSE_TEST_NOT_SET is not set"),
    # -- metrics ---------------------------------------------------------------------------------
    Case("metrics-a-list", base().split("metrics:")[0] + "metrics:\n  - events\n", "metrics:",
         "metrics must be a mapping"),
    Case("metric-a-number", base(metrics="  five: 5\n"), "five: 5", "metric 'five'"),
    Case("unknown-kind", base(metrics=M + "    kind: histogram\n"), "kind: histogram",
         "unknown kind 'histogram'"),
    Case("bad-metric-name", base(metrics="  Signups:\n    table: events\n    time: occurred_at\n"),
         "Signups:", "metric names are lower case"),
    Case("missing-time", base(metrics=M + "    table: events\n"), "broken:",
         "missing required setting 'time'"),
    Case("missing-table", base(metrics=M + "    time: occurred_at\n"), "broken:",
         "missing required setting 'table'"),
    Case("sum-without-column", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                    "    measure: sum\n"), 18, "measure sum needs a column"),
    Case("unknown-measure", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                 "    measure: median\n"), "measure: median", "measure"),
    Case("misspelled-setting", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                    "    colum: amount_cents\n"), "colum:", "unknown setting 'colum'"),
    Case("window-absurd", base(metrics=M + "    table: events\n    time: occurred_at\n"
                               "    measure: count_distinct\n    column: user_id\n"
                               "    window: 100000000\n"), "window:", "window must be 1 to 3660 days"),
    Case("window-zero", base(metrics=M + "    table: events\n    time: occurred_at\n    window: 0\n"),
         "window:", "window must be 1 to 3660 days"),
    Case("window-a-word", base(metrics=M + "    table: events\n    time: occurred_at\n"
                               "    window: seven\n"), "window:", "window"),
    Case("window-from-pack-params", base(top="include: [product]\nparams: {mau_window: 100000000}\n"),
         pack_line("product", "window: $mau_window"), "window must be 1 to 3660 days",
         file="daypulse/packs/product.yml"),
    Case("pack-param-wrong-type", base(top="include: [product]\nparams: {mau_window: abc}\n"),
         pack_line("product", "window: $mau_window"), "metric 'mau'", file="daypulse/packs/product.yml"),
    Case("bad-format", base(metrics=M + "    table: events\n    time: occurred_at\n"
                            "    format: money\n"), "format: money", "format"),
    Case("bad-good", base(metrics=M + "    table: events\n    time: occurred_at\n    good: sideways\n"),
         "good: sideways", "good"),
    Case("bad-metric-grain", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                  "    grains: [hourly]\n"), "grains: [hourly]", "grains"),
    Case("unknown-breakdown-dimension", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                             "    breakdowns: [[plan]]\n"), "breakdowns:",
         "breakdown names unknown dimension 'plan'"),
    Case("unknown-computed-dimension", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                            "    dimensions: {m: '@minute'}\n"), 18,
         "unknown computed dimension '@minute'"),
    Case("unknown-operator", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                  "    where: {tenant: {equals: acme}}\n"), "where:", "unknown operator 'equals'"),
    Case("in-takes-a-list", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                 "    where: {tenant: {in: acme}}\n"), "where:", "in takes a list"),
    Case("ratio-unknown-part", base(metrics=M + "    kind: ratio\n    numerator: revenu\n"
                                    "    denominator: events\n"), "numerator:",
         "refers to unknown metric 'revenu' (hint: did you mean 'revenue'?)"),
    Case("derived-cycle", base(metrics="  a: {kind: derived, expr: b + 1}\n  b: {kind: derived, expr: a * 2}\n"),
         "  a: {", "definitions form a cycle"),
    Case("derived-bad-expression", base(metrics=M + "    kind: derived\n    expr: events +* revenue\n"),
         "expr:", "expr:"),
    Case("derived-too-deep", base(metrics=M + "    kind: derived\n    expr: " + "(" * 400 + "events"
                                  + ")" * 400 + "\n"), "expr:", "expr:"),
    Case("cumulative-of-ratio", base(metrics="  r: {kind: ratio, numerator: events, denominator: revenue}\n"
                                     + M + "    kind: cumulative\n    of: r\n"), "of: r",
         "a cumulative metric accumulates an event metric"),
    Case("state-without-start", base(metrics=M + "    kind: state\n    table: subscriptions\n"), "broken:",
         "missing required setting 'start'"),
    Case("bad-movement", base(metrics=M + "    kind: movement\n    table: subscriptions\n"
                              "    entity: user_id\n    column: mrr_cents\n    start: started_at\n"
                              "    movement: sideways\n"), "movement: sideways", "movement"),
    Case("snapshot-without-column", base(metrics=M + "    kind: snapshot\n    table: events\n"
                                         "    time: occurred_at\n"), "broken:",
         "missing required setting 'column'"),
    Case("snapshot-bad-rollup", base(metrics=M + "    kind: snapshot\n    table: events\n"
                                     "    time: occurred_at\n    column: amount_cents\n"
                                     "    rollup: median\n"), "rollup: median", "rollup"),
    Case("snapshot-column-not-in-table", base(metrics=M + "    kind: snapshot\n    table: events\n"
                                              "    time: occurred_at\n    column: mrr\n"), "column: mrr",
         "column: column 'mrr' is not in table 'events'"),
    Case("snapshot-hour-dimension", base(metrics=M + "    kind: snapshot\n    table: events\n"
                                         "    time: occurred_at\n    column: amount_cents\n"
                                         "    dimensions: {h: '@hour'}\n"), "{h: '@hour'}",
         "@hour needs a metric with a time"),
    # -- the source: tables, columns, types (check and compute ask the source before the store) --
    Case("table-not-in-source", base(metrics=M + "    table: nope\n    time: occurred_at\n"), "table: nope",
         "table 'nope' not found in the source"),
    Case("column-not-in-table", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                     "    measure: sum\n    column: nope\n"), "column: nope",
         "column: column 'nope' is not in table 'events'"),
    Case("time-not-a-timestamp", base(metrics=M + "    table: events\n    time: amount_cents\n"),
         "time: amount_cents", "is int64, not a timestamp"),
    Case("dimension-column-missing", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                          "    dimensions: {plan: plan}\n"), 18,
         "column 'plan' is not in table 'events'"),
    Case("where-value-wrong-type", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                        "    where: {tenant: 5}\n"), "where:",
         "where.tenant: 5 cannot be compared with column 'tenant'"),
    Case("like-on-a-number", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                  "    where: {amount_cents: {like: 'a%'}}\n"), "where:",
         "where.amount_cents: {'like': 'a%'} cannot be compared with column 'amount_cents'"),
    Case("during-table-missing", base(metrics=M + "    table: events\n    time: occurred_at\n"
                                      "    during: {table: nope, entity: user_id, start: s}\n"), "during:",
         "table 'nope' not found in the source"),
    # -- reports and delivery --------------------------------------------------------------------
    Case("report-unknown-metric", base(after="reports:\n  mine:\n    title: Mine\n    sections:\n"
                                       "      - title: Top\n        metrics: [events, revenu]\n"),
         "metrics: [events, revenu]", "reports.mine: unknown metric 'revenu' (did you mean 'revenue'?)"),
    Case("report-unknown-chart-metric", base(after="reports:\n  mine:\n    title: Mine\n    sections: []\n"
                                             "    charts:\n      - metric: nope\n"), "metric: nope",
         "reports.mine: unknown metric 'nope'"),
    Case("report-unknown-dimension", base(after="reports:\n  mine:\n    title: Mine\n    sections:\n"
                                          "      - title: Top\n        breakdowns:\n"
                                          "          - {metric: revenue, by: tenant}\n"),
         "by: tenant", "metric 'revenue' has no dimension 'tenant'"),
    Case("report-bad-period", base(after="reports:\n  mine:\n    title: Mine\n    period: hour\n"
                                   "    sections: []\n"), "period: hour", "reports.mine: period"),
    Case("report-without-sections", base(after="reports:\n  mine:\n    title: Mine\n"), "mine:",
         "reports.mine: sections"),
    Case("report-filter-no-such-dimension", base(after="reports:\n  mine:\n    title: Mine\n"
                                                 "    sections: [{title: a, metrics: [events]}]\n"
                                                 "    filter: {plan: pro}\n"), "filter:",
         "reports.mine: filter: no metric of the report has a dimension 'plan'"),
    Case("subscription-unknown-report", base(after="subscriptions:\n  - report: nope\n"
                                             "    schedule: daily at 08:00\n    channel: file\n"
                                             "    to: out\n"), "report: nope", "nope"),
    Case("channel-unknown-kind", base(after="channels:\n  pager: {kind: pager}\n"), "pager:",
         "unknown kind 'pager'"),
]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> str:
    return make_source(tmp_path_factory.mktemp("source") / "app.duckdb")


def _write(case: Case, folder: Path, source: str) -> str | bytes:
    text = case.text(folder, source) if callable(case.text) else case.text
    if isinstance(text, str):
        text = text.replace("{source}", source)
        (folder / "daypulse.yml").write_text(text, encoding="utf-8")
    else:
        (folder / "daypulse.yml").write_bytes(text)
    return text


def _line(case: Case, text: str | bytes) -> int:
    if isinstance(case.at, int):
        return case.at
    if callable(case.at):
        return case.at(text)
    needle = case.at.encode("latin-1") if isinstance(text, bytes) else case.at
    head = text[:text.index(needle)]
    return head.count(b"\n" if isinstance(text, bytes) else "\n") + 1


def test_the_corpus_is_broad():
    assert len(CASES) >= 50 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_broken_project_file_is_one_line_exit_2_and_writes_nothing(case, source, tmp_path, monkeypatch):
    monkeypatch.delenv("DAYPULSE_TEST_NOT_SET", raising=False)
    text = _write(case, tmp_path, source)
    where = f"{case.file}:{_line(case, text)}: error: "
    config = str(tmp_path / "daypulse.yml")
    for args in (["check", "--config", config], ["compute", "--config", config, "--days-back", "3"]):
        code, output = run(*args)
        assert "Traceback" not in output, output[-3000:]
        assert code == 2, f"{args[0]}: exit {code}\n{output[-3000:]}"
        errors = [ln for ln in output.splitlines() if ": error: " in ln]
        assert any(where in ln and case.message in ln for ln in errors), \
            f"{args[0]}: expected {where}...{case.message}\n{output[-3000:]}"
        assert len(output) < 2500, f"{args[0]}: not a short message:\n{output[:3000]}"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["daypulse.yml"], \
            f"{args[0]} wrote {sorted(p.name for p in tmp_path.iterdir())}"


def _runs(store: Path) -> int:
    with sqlite3.connect(store) as c:
        return c.execute("select count(*) from runs").fetchone()[0]


@pytest.mark.parametrize("case", [c for c in CASES if c.id in {
    "mysql-source", "table-not-in-source", "column-not-in-table", "where-value-wrong-type",
    "window-absurd", "report-unknown-metric"}], ids=lambda c: c.id)
def test_an_existing_store_gets_no_run_row(case, source, tmp_path):
    """With a store already there, a broken project leaves it as it was: no run, failed or not."""
    (tmp_path / "daypulse.yml").write_text(base(source))
    assert run("db", "upgrade", "--config", str(tmp_path / "daypulse.yml"))[0] == 0
    _write(case, tmp_path, source)
    code, output = run("compute", "--config", str(tmp_path / "daypulse.yml"), "--days-back", "3")
    assert code == 2, output
    assert _runs(tmp_path / "store.db") == 0


@pytest.mark.parametrize("url, message", [
    ("postgresql://nobody:secret@127.0.0.1:1/nowhere", "cannot connect to source"),
    ("duckdb:///nowhere.duckdb", "does not exist"),
])
def test_an_unreachable_source_is_exit_1_at_the_source_line(url, message, tmp_path):
    (tmp_path / "daypulse.yml").write_text(base(url))
    config = str(tmp_path / "daypulse.yml")
    for args in (["check", "--config", config], ["compute", "--config", config, "--days-back", "3"]):
        code, output = run(*args)
        assert code == 1, output
        assert "daypulse.yml:3: error: " in output and message in output, output
        assert "secret" not in output and "Traceback" not in output
        assert sorted(p.name for p in tmp_path.iterdir()) == ["daypulse.yml"]


def test_a_good_project_still_computes(source, tmp_path):
    """The corpus's base project is valid: each case fails for its own mistake."""
    text = base(source, metrics="  shared: &shared {table: events, time: occurred_at}\n"
                "  copy: {<<: *shared, measure: count_distinct, column: user_id}\n")
    (tmp_path / "daypulse.yml").write_text(text)
    code, output = run("compute", "--config", str(tmp_path / "daypulse.yml"), "--days-back", "3",
                       "--as-of", "2026-02-20T12:00:00+00:00")
    assert code == 0, output
    assert _runs(tmp_path / "store.db") == 1


@pytest.mark.parametrize("sql, code, message", [
    ("select nonsense from nowhere where :start < :end", 1, "its SQL failed"),
    ("select 1 as value where :start < :end", 2, "the SQL must return columns day, value"),
])
def test_sql_that_fails_in_the_source_names_its_line(sql, code, message, source, tmp_path):
    """kind: sql is only known bad once it runs: the failure still names the metric's line."""
    (tmp_path / "daypulse.yml").write_text(base(source, metrics=f"  s:\n    kind: sql\n    sql: '{sql}'\n"))
    code_, output = run("compute", "--config", str(tmp_path / "daypulse.yml"), "--days-back", "3")
    assert code_ == code, output
    assert f"daypulse.yml:15: error: metric 's': {message}" in output, output
    assert "Traceback" not in output


def test_two_packs_defining_one_metric_is_an_error_unless_the_project_replaces_it(monkeypatch):
    from daypulse.errors import ConfigError
    from daypulse.project import packs, parse_project

    def fake(name: str) -> packs.Pack:
        text = f"metrics:\n  shared:\n    table: t_{name}\n    time: ts\n  only_{name}: {{table: t, time: ts}}\n"
        import yaml

        return packs.Pack(name, f"daypulse/packs/{name}.yml", text, yaml.safe_load(text))

    monkeypatch.setattr(packs, "load_pack", fake)
    text = "source: duckdb:///x.duckdb\ninclude: [saas, product]\n"
    with pytest.raises(ConfigError) as err:
        parse_project(text)
    assert "daypulse.yml:2: error: metric 'shared' is in pack 'saas' and in pack 'product'" in str(err.value)
    project = parse_project(text + "metrics:\n  shared: {table: mine, time: ts}\n")
    assert project.metrics["shared"].table == "mine"  # the project's own replaces both, on purpose
    assert parse_project(text + "exclude: [shared]\n").metrics.keys() == {"only_saas", "only_product"}
