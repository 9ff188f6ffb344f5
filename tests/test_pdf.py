"""Reports as PDF (WeasyPrint on Debian's Pango): the HTML email's content on A4 pages with its
charts embedded, from the CLI (`--format pdf --out`) and the API's preview, for every role."""

from __future__ import annotations

from reportkit import sample_report
from test_render import charts


def is_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def test_a_report_as_pdf_holds_its_pages_and_charts():
    from daypulse.report.pdf import layout, pdf_bytes

    report = sample_report(charts=charts())
    pdf = pdf_bytes(report)
    assert is_pdf(pdf) and len(layout(report).pages) >= 1
    # The charts are in the file (not cid: references a PDF cannot follow).
    bare = pdf_bytes(sample_report())
    assert len(pdf) - len(bare) > 0.5 * sum(len(c.png) for c in report.charts)


def test_the_cli_writes_a_pdf_and_says_a_pdf_needs_a_file(tmp_path, capsys, monkeypatch):
    from deliverykit import cli, write

    write(tmp_path)
    assert cli(capsys, monkeypatch, tmp_path, "compute", "--start", "2026-03-01", "--end", "2026-03-10")[0] == 0
    code, _, err = cli(capsys, monkeypatch, tmp_path, "report", "pulse", "--date", "2026-03-10", "--format", "pdf",
                       "--out", "pulse.pdf")
    assert code == 0, err
    pdf = (tmp_path / "pulse.pdf").read_bytes()
    assert is_pdf(pdf)
    code, _, err = cli(capsys, monkeypatch, tmp_path, "report", "pulse", "--format", "pdf")
    assert code == 2 and "--format pdf writes a file: give --out report.pdf" in err, err


def test_the_api_previews_a_pdf_for_every_role(tmp_path):
    from datetime import date

    from apikit import call, close, usual_tokens
    from daypulse.app import ApiSettings, create_app
    from daypulse.engine.run import run_compute
    from deliverykit import load, write

    write(tmp_path)
    project, store = load(tmp_path)
    run_compute(project, store, date(2026, 3, 1), date(2026, 3, 10))
    keys = usual_tokens(store, scoped_admin=True)
    app = create_app(ApiSettings(project=project, base_dir=tmp_path))
    try:
        url = "/api/v1/reports/pulse/preview?format=pdf&date=2026-03-10"
        for who in ("viewer", "admin"):
            r = call(app, "GET", url, keys[who])
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", (who, r.text[:200])
            assert is_pdf(r.content)
        for who in ("acme", "acme-admin"):  # the board reads revenue, which spans every tenant
            assert call(app, "GET", url, keys[who]).status_code == 403
        assert call(app, "GET", "/api/v1/reports/pulse/preview?format=pdf", None).status_code == 401
    finally:
        close(app, store)
