"""Files daypulse writes for people (`daypulse report --out`, the file channel) get the mode the
user's umask gives a new file (0644 under umask 022), not tempfile's private 0600, and are still
written whole (a temporary file in the same folder, renamed over the final name)."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager

import pytest

from daypulse.delivery.channels import Outgoing, make_channel
from daypulse.report.model import ChartImage
from daypulse.report.output import write
from reportkit import sample_report

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def report_with_charts():
    return sample_report([ChartImage("chart-1", "Signups", "signups", PNG, 10, 10),
                          ChartImage("chart-2", "MRR", "mrr", PNG, 10, 10)])


MASKS = [pytest.param(0o022, 0o644, id="umask022"), pytest.param(0o027, 0o640, id="umask027"),
         pytest.param(0o077, 0o600, id="umask077")]  # 077: the user asked for private files


@pytest.mark.parametrize("mask, want", MASKS)
@pytest.mark.parametrize("fmt", ["html", "markdown", "json"])
def test_report_out_files_follow_the_umask(tmp_path, mask, want, fmt):
    out = tmp_path / "reports" / f"weekly.{fmt}"
    with umask(mask):
        written = write(report_with_charts(), fmt, out)
    assert written[0] == out and out.is_file()
    assert {p: mode(p) for p in written} == dict.fromkeys(written, want)
    if fmt != "json":
        assert len(written) == 3  # the report and its two charts
    # Whole files only: nothing but what was written is left in the folders.
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(written)


def test_report_out_replaces_an_existing_file_with_one_that_follows_the_umask(tmp_path):
    out = tmp_path / "daily.html"
    out.write_text("the previous report")
    out.chmod(0o600)
    with umask(0o022):
        write(sample_report(), "html", out)
    assert mode(out) == 0o644 and "the previous report" not in out.read_text()


@pytest.mark.parametrize("mask, want", MASKS)
def test_file_channel_files_follow_the_umask(tmp_path, mask, want):
    channel = make_channel("file", {"root": str(tmp_path / "out")}, {})
    with umask(mask):
        result = channel.send(Outgoing(report_with_charts(), "sub-3:2026-03-06", "acme"))
    assert result.ok, result
    files = sorted((tmp_path / "out" / "acme").iterdir())
    assert [p.name for p in files] == ["sub-3_2026-03-06-chart-1.png", "sub-3_2026-03-06-chart-2.png",
                                      "sub-3_2026-03-06.html"]
    assert {p.name: mode(p) for p in files} == dict.fromkeys((p.name for p in files), want)
