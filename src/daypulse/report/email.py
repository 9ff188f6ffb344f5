"""A report as an email message, ready for smtplib's ``send_message``.

The MIME tree (the standard library's recipe, see ../shared/notes/DELIVERY.md)::

    multipart/alternative
    ├── text/plain                 the text rendering
    └── multipart/related          (just text/html when the report has no chart)
        ├── text/html              the HTML rendering; charts as <img src="cid:<id>@<domain>">
        └── image/png ×N           one per chart, Content-ID <<id>@<domain>>

Charts travel as related parts, never as data: URIs (Gmail and Outlook drop those). With
``attach_pdf`` the tree is wrapped in multipart/mixed with the report as a PDF attachment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from daypulse.errors import UsageError
from daypulse.report.model import Report
from daypulse.report.render import render

# RFC 3834: sent by a program, so autoresponders (out-of-office) do not answer every report.
AUTO_SUBMITTED = "auto-generated"


def build_message(report: Report, *, sender: str, to: list[str], subject: str | None = None,
                  template_dir: Path | None = None, message_id_domain: str = "daypulse.local",
                  message_id: str | None = None, attach_pdf: bool = False) -> EmailMessage:
    """The report as a multipart email from ``sender`` to ``to``. ``message_id``, when given,
    is used as is (angle brackets added if missing) so a re-sent delivery keeps its identity;
    otherwise a fresh one is made under ``message_id_domain``, which also names the charts'
    Content-IDs. Template problems raise ConfigError (exit code 2)."""
    if not to:
        raise UsageError("an email needs at least one recipient")
    text = render(report, "text", template_dir)
    html = render(report, "html", template_dir, cid_domain=message_id_domain)

    msg = EmailMessage()
    msg["Subject"] = subject if subject is not None else default_subject(report)
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = _angled(message_id) if message_id else make_msgid(domain=message_id_domain)
    msg["Auto-Submitted"] = AUTO_SUBMITTED
    # quoted-printable keeps every line short and ASCII, whatever the server's 8BITMIME support
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    html_part = msg.get_payload()[1]
    for chart in report.charts:
        html_part.add_related(chart.png, "image", "png", cid=f"<{chart.id}@{message_id_domain}>",
                              filename=f"{chart.id}.png", disposition="inline")
    if report.charts:  # RFC 2387: multipart/related names its root part's type
        html_part.set_param("type", "text/html")
    if attach_pdf:  # the whole becomes multipart/mixed: the message, then the report as a PDF
        from daypulse.report.pdf import pdf_bytes

        msg.add_attachment(pdf_bytes(report, template_dir), maintype="application", subtype="pdf",
                           filename=f"{re.sub(r'[^A-Za-z0-9_-]+', '-', report.name)}-{report.start}.pdf")
    return msg


def default_subject(report: Report) -> str:
    """"Daily pulse — Friday 6 March 2026", plus the filter: " (tenant: acme)"."""
    subject = f"{report.title} — {report.period_label}"
    if report.filter:
        subject += " (" + ", ".join(f"{k}: {v}" for k, v in report.filter.items()) + ")"
    return re.sub(r"\s+", " ", subject).strip()  # a header is one line, whatever the title holds


def _angled(message_id: str) -> str:
    mid = message_id.strip()
    return mid if mid.startswith("<") else f"<{mid}>"
