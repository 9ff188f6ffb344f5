"""A report as a PDF: the HTML rendering (the email's, charts embedded as images) laid out by
WeasyPrint on A4 pages. WeasyPrint draws with Pango: on Debian `apt install libpango-1.0-0
libpangoft2-1.0-0` (`make test` installs them); without, a clear error instead of a crash."""

from __future__ import annotations

import base64
from pathlib import Path

from daypulse.errors import UsageError
from daypulse.report.model import Report
from daypulse.report.render import render

PAGE = "@page { size: A4; margin: 14mm 12mm; } body { background: #ffffff !important; }"


def pdf_bytes(report: Report, template_dir: Path | None = None) -> bytes:
    return layout(report, template_dir).write_pdf()


def layout(report: Report, template_dir: Path | None = None):
    """The report laid out on pages (a WeasyPrint document: ``len(doc.pages)``)."""
    html = render(report, "html", template_dir)
    for c in report.charts:  # the email's cid: references, as images in the file itself
        html = html.replace(f"cid:{c.id}", "data:image/png;base64," + base64.b64encode(c.png).decode())
    try:
        from weasyprint import CSS, HTML  # lazy: heavy, and needs Pango
    except (ImportError, OSError) as exc:
        raise UsageError(f"--format pdf needs WeasyPrint and Pango ({exc}); on Debian: apt install"
                         " libpango-1.0-0 libpangoft2-1.0-0") from None
    return HTML(string=html).render(stylesheets=[CSS(string=PAGE)])
