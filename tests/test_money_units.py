"""Money in major units (dollars as DOUBLE or DECIMAL) mapped onto a pack's cents column (issue 18,
item 3): converted to integer cents row by row in the query, half to even, on every backend.

Hand-computed: the rows' cents are 112171 (1121.71, the seed's day), 12 (0.125: half, to the even
12), 14 (0.135: 13.5 to 14), 16 (0.155, stored in binary as 0.15499999...: written as 15.5, to
16), -12 (-0.125) and 300 (3). Their sum is 112501 cents, $1,125.01; read as cents it was $11.22.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from daypulse.engine import compute_values
from daypulse.project import parse_project
from worked import Story, Table
from worked.load import BACKENDS, Loader

T = datetime.fromisoformat
DAY = date(2026, 3, 2)
DOLLARS = ["1121.71", "0.125", "0.135", "0.155", "-0.125", "3"]
STORY = Story("money", {
    "ad_spend": Table.of({"occurred_at": "ts", "campaign": "str", "spend": "float", "spend_dec": "decimal",
                          "clicks": "int"},
                         *[(T("2026-03-02 10:00"), f"c{i}", float(d), Decimal(d), 1)
                           for i, d in enumerate(DOLLARS)]),
})
CENTS = 112171 + 12 + 14 + 16 - 12 + 300


@pytest.fixture(scope="module")
def loader(tmp_path_factory):
    ld = Loader(tmp_path_factory.mktemp("money"))
    yield ld
    ld.close()


def project(url: str, tables: dict, column: str):
    return parse_project(f"""
source: {url}
include: [{{marketing: [ad_spend, cpc]}}]
tables: {tables}
columns:
  ad_spend.spend_cents: {{name: {column}, unit: major}}
  ad_spend.platform: null
  ad_spend.impressions: null
  ad_spend.conversions: null
""")


@pytest.mark.parametrize("backend", [pytest.param(b, marks=pytest.mark.spark) if b == "spark" else b
                                     for b in BACKENDS])
def test_major_units_become_cents_half_to_even(backend, loader):
    url, tables = loader.get(backend, STORY)
    for column in ("spend", "spend_dec"):
        p = project(url, tables, column)
        got = compute_values(p, DAY, DAY, ["ad_spend", "ad_clicks", "cpc"], grains=["day"],
                             as_of=datetime(2026, 3, 10, tzinfo=UTC))
        by = {(v.metric, v.dims): v.value for v in got}
        assert by[("ad_spend", ())] == CENTS, (backend, column)
        per = {dict(d)["campaign"]: v for (m, d), v in by.items() if m == "ad_spend" and d}
        assert per == {"c0": 112171, "c1": 12, "c2": 14, "c3": 16, "c4": -12, "c5": 300}, (backend, column)
        assert all(isinstance(v, int) for v in per.values()), per  # integer cents, never 1121.71
        assert by[("cpc", ())] == pytest.approx(CENTS / 6)


def test_check_warns_when_a_cents_column_holds_dollars(loader, tmp_path, capsys, monkeypatch):
    from deliverykit import cli

    url, _tables = loader.get("duckdb", STORY)
    (tmp_path / "daypulse.yml").write_text(
        f"source: {url}\nstore: sqlite:///s.db\ninclude: [{{marketing: [ad_spend]}}]\n"
        "columns: {ad_spend.spend_cents: spend, ad_spend.platform: null}\n")
    code, _, err = cli(capsys, monkeypatch, tmp_path, "check")
    assert code == 0, err
    warning = [ln for ln in err.splitlines() if "warning" in ln and "'spend'" in ln]
    assert len(warning) == 1 and "reads it as cents" in warning[0] and "unit: major" in warning[0], err
    (tmp_path / "daypulse.yml").write_text(
        f"source: {url}\nstore: sqlite:///s.db\ninclude: [{{marketing: [ad_spend]}}]\n"
        "columns: {ad_spend.spend_cents: {name: spend, unit: major}, ad_spend.platform: null}\n")
    code, _, err = cli(capsys, monkeypatch, tmp_path, "check")
    assert code == 0 and "reads it as cents" not in err, err
