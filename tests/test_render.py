"""Report rendering: text / Markdown / JSON snapshots, the HTML email's rules, the MIME tree,
and user templates (overrides, extends, errors with file:line, the sandbox).

Snapshots live in tests/snapshots/render_*; after a deliberate change, rewrite them with
``DAYPULSE_UPDATE_SNAPSHOTS=1 pytest tests/test_render.py`` and read the diff.
"""

from __future__ import annotations

import dataclasses
import difflib
import email
import email.policy
import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from daypulse.errors import ConfigError, UsageError
from daypulse.report.email import build_message, default_subject
from daypulse.report.model import ChartImage
from daypulse.report.render import md, render, spark
from reportkit import sample_report

SNAPSHOTS = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("DAYPULSE_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path}: run with DAYPULSE_UPDATE_SNAPSHOTS=1 and review it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "rendered"))
        pytest.fail(f"{name} differs from its snapshot (DAYPULSE_UPDATE_SNAPSHOTS=1 rewrites it):\n{diff}")


def png(colour: str = "white", size=(8, 4)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def charts() -> list[ChartImage]:
    return [ChartImage("chart-1-signups", "New signups, last 30 days",
                       "Line chart: New signups, last 30 days. Latest 120 on 2026-03-06, up 9.1% on the previous"
                       " 30 days (average 109.1 vs 100.0).",
                       png("white"), 560, 220),
            ChartImage("chart-2-calls", "Calls, last 30 days",
                       "Line chart: Calls, last 30 days. Latest 65 on 2026-03-06, down 12.3% on the previous 30 days"
                       " (average 70.2 vs 80.0).",
                       png("lightgrey"), 560, 220)]


def no_data_report():
    r = sample_report()
    sections = [dataclasses.replace(s, breakdowns=[], lines=[
        dataclasses.replace(line, value=None, spark=[None, None], anomaly=None,
                            deltas=[dataclasses.replace(d, change=None, pct=None, verdict="none") for d in line.deltas])
        for line in s.lines]) for s in r.sections]
    return dataclasses.replace(r, has_data=False, changes=[], sections=sections, filter={"tenant": "acme"},
                               notes=["No data for this period", "Metrics left out: nps (not in this project)"])


# ---- snapshots ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ext"), [("text", "txt"), ("markdown", "md"), ("json", "json")])
def test_snapshot(fmt, ext):
    assert_snapshot(f"render_daily.{ext}", render(sample_report(charts=charts()), fmt))


@pytest.mark.parametrize(("fmt", "ext"), [("text", "txt"), ("markdown", "md")])
def test_snapshot_without_data(fmt, ext):
    out = render(no_data_report(), fmt)
    assert_snapshot(f"render_no_data.{ext}", out)
    assert out.count("No data for this period") == 1  # the banner, not also the note


def test_json_is_the_report_content():
    out = render(sample_report(charts=charts()), "json")
    assert json.loads(out) == sample_report(charts=charts()).to_json()
    assert "png" not in json.loads(out)["charts"][0]


def test_text_and_markdown_carry_the_whole_content():
    report = sample_report(charts=charts())
    for fmt in ("text", "markdown"):
        out = render(report, fmt)
        for needle in ["Daily pulse", "Capturely (demo)", "Friday 6 March 2026", "Asia/Kolkata", "acme +12",
                       "usual 0.0%–0.1%", "▁", "count of users", "Line chart: Calls, last 30 days. Latest 65",
                       "Definitions" if fmt == "markdown" else "DEFINITIONS", "−1m 15s"]:
            assert needle in out, (fmt, needle)
        # "what changed" comes before the first section
        assert out.index("ew signups rose") < out.index("Growth" if fmt == "markdown" else "GROWTH")


def test_markdown_escapes_data():
    assert md("carmen <b>") == r"carmen \<b\>"
    assert md("a|b*c_d") == r"a\|b\*c\_d"
    assert md("$3 and $4") == r"\$3 and \$4"  # GitHub would read $…$ as maths
    assert md("- item") == r"\- item" and md("1. one") == r"1\. one" and md("#1") == r"\#1"
    assert md("two\nlines") == "two lines"
    assert md("0.4%") == "0.4%" and md("+20") == "+20"
    out = render(sample_report(), "markdown")
    assert r"| carmen \<b\> |" in out and "carmen <b>" not in out


def test_sparkline():
    assert spark([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert spark([5, 5]) == "▄▄"
    assert spark([0, None, 10]) == "▁ █"
    assert spark([]) == "" and spark([None]) == ""


def test_unknown_format():
    with pytest.raises(UsageError, match="unknown report format"):
        render(sample_report(), "pdf")


# ---- HTML ------------------------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag with its attributes; fails on unbalanced table markup."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    p.close()
    assert p.stack == [], f"unclosed: {p.stack}"
    return p


def test_html_is_an_email_layout():
    html = render(sample_report(charts=charts()), "html")
    p = parse(html)
    tags = dict.fromkeys(t for t, _ in p.tags)
    assert ("meta", {"charset": "utf-8"}) in p.tags
    containers = [a for t, a in p.tags if t == "table" and a.get("role") == "presentation"
                  and a.get("width") == "600" and "max-width:600px" in a.get("style", "")]
    assert len(containers) == 1 and "width:100%" in containers[0]["style"]  # fluid on phones
    assert "<!--[if mso]><table role=\"presentation\" width=\"600\"" in html  # Outlook's fixed width
    assert not any("class" in a for _, a in p.tags), "every style is inline"
    for t, a in p.tags:
        style = a.get("style", "").replace(" ", "")
        assert "display:flex" not in style and "display:grid" not in style and "position:" not in style
        if t in ("td", "th"):
            assert "bgcolor" in a, f"a {t} without an explicit background: {a}"
    assert "script" not in tags and "link" not in tags
    # the preheader: the first thing in the body, hidden, the top changes
    assert re.match(r'<body[^>]*>\n<div style="display:none;[^"]*">New signups rose 20\.0%', html[html.index("<body"):])
    # numbers are real text, coloured by verdict, with arrows
    assert "$35,386.00" in html and ">▲ +20 (+20.0%)</b>" in html and ">▼ −30 (−20.0%)</b>" in html
    assert 'style="color:#15803d">▲ +20' in html and 'style="color:#b91c1c">▼ −30' in html
    # The subtitle says what a metric counts; its formula is under "How each number is computed".
    assert '>Accounts created during the day.</p>' in html and 'title="count of users created' in html
    defs = html.index("How each number is computed")
    assert "<b style=\"color:#111827\">New signups</b>: count of users created" in html[defs:]
    # An unusual value is told once, in What changed; its line only carries the mark.
    assert "▁▂▃" in html and html.count("unusually high for a Friday") == 1 and "⚠ unusual</b>" in html


def test_html_autoescapes_data():
    html = render(sample_report(), "html")
    assert "carmen &lt;b&gt;" in html and "carmen <b>" not in html
    report = dataclasses.replace(sample_report(), title='Pulse <script>alert("x")</script>')
    html = render(report, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_html_images_are_cid_references_to_charts():
    html = render(sample_report(charts=charts()), "html")
    assert [a["src"] for t, a in parse(html).tags if t == "img"] == ["cid:chart-1-signups", "cid:chart-2-calls"]
    html = render(sample_report(charts=charts()), "html", cid_domain="example.com")  # as in an email
    imgs = [a for t, a in parse(html).tags if t == "img"]
    assert [a["src"] for a in imgs] == ["cid:chart-1-signups@example.com", "cid:chart-2-calls@example.com"]
    assert imgs[0]["alt"].startswith("Line chart: New signups, last 30 days.")
    assert imgs[0]["width"] == "552" and imgs[0]["height"] == "217" and "height:auto" in imgs[0]["style"]
    assert "data:" not in html


def test_markdown_written_with_charts_shows_them_under_charts_before_the_definitions(tmp_path):
    from daypulse.report.output import write

    written = write(sample_report(charts=charts()), "markdown", tmp_path / "daily.md")
    text = written[0].read_text()
    images = [m.start() for m in re.finditer(r"!\[[^\]]+\]\(daily_charts/chart-\d-\w+\.png\)", text)]
    assert len(images) == 2 and all((tmp_path / p).exists() for p in re.findall(r"\((daily_charts/[^)]+)\)", text))
    assert text.index("## Charts") < images[0] and images[-1] < text.index("## Definitions") < text.index("*Generated")
    assert "<!-- chart:" not in text
    assert "<!-- chart:chart-1-signups -->" in render(sample_report(charts=charts()), "markdown")  # invisible


def test_html_of_a_big_report_stays_under_gmails_clip():
    report = sample_report(charts=charts() * 2, sections=20)  # 41 metrics, 19 leaderboards
    assert len(render(report, "html").encode()) < 100_000


def test_html_without_data_says_so_first():
    html = render(no_data_report(), "html")
    text = "".join(parse(html).text)
    assert text.index("No data for this period.") < text.index("Growth")
    assert "What changed" not in text and "Filter:" in text and "tenant = acme" in text


# ---- email -----------------------------------------------------------------------------------


def tree(part) -> list | str:
    if part.is_multipart():
        return [part.get_content_type(), [tree(p) for p in part.iter_parts()]]
    return part.get_content_type()


def test_email_mime_tree_and_content_ids():
    report = sample_report(charts=charts())
    msg = build_message(report, sender="Daypulse <pulse@example.com>", to=["a@example.com", "b@example.com"],
                        message_id_domain="pulse.example.com", message_id="delivery-42.2026-03-06@pulse.example.com")
    # what a mail server receives, parsed back
    msg = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    assert tree(msg) == ["multipart/alternative",
                         ["text/plain", ["multipart/related", ["text/html", "image/png", "image/png"]]]]
    assert msg["Subject"] == "Daily pulse — Friday 6 March 2026"
    assert msg["From"] == "Daypulse <pulse@example.com>"
    assert [a.addr_spec for a in msg["To"].addresses] == ["a@example.com", "b@example.com"]
    assert msg["Message-ID"] == "<delivery-42.2026-03-06@pulse.example.com>"
    text, related = msg.get_payload()
    assert text.get_content().startswith("Daily pulse — Friday 6 March 2026\n")
    html_part, *images = related.get_payload()
    html = html_part.get_content()
    referenced = set(re.findall(r'src="cid:([^"]+)"', html))
    content_ids = {p["Content-ID"].strip("<>") for p in images}
    assert referenced == content_ids == {"chart-1-signups@pulse.example.com", "chart-2-calls@pulse.example.com"}
    assert [p.get_content() for p in images] == [c.png for c in report.charts]
    assert html_part.get_content_charset() == "utf-8" and "carmen &lt;b&gt;" in html
    # RFC 3834: no out-of-office reply to every report; RFC 2387: the related part's root type.
    assert msg["Auto-Submitted"] == "auto-generated"
    assert related.get_content_type() == "multipart/related" and related.get_param("type") == "text/html"


def test_email_with_the_report_attached_as_a_pdf():
    report = sample_report(charts=charts())
    msg = build_message(report, sender="p@x.io", to=["a@x.io"], attach_pdf=True)
    msg = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    alternative = ["multipart/alternative", ["text/plain", ["multipart/related", ["text/html", "image/png",
                                                                                  "image/png"]]]]
    assert tree(msg) == ["multipart/mixed", [alternative, "application/pdf"]]
    pdf = msg.get_payload()[1]
    assert pdf.get_filename() == f"{report.name}-{report.start}.pdf"
    assert pdf.get_content().startswith(b"%PDF-") and msg["Auto-Submitted"] == "auto-generated"


def test_email_defaults():
    report = dataclasses.replace(sample_report(), filter={"tenant": "acme"})
    msg = build_message(report, sender="pulse@example.com", to=["a@example.com"])
    assert msg["Subject"] == default_subject(report) == "Daily pulse — Friday 6 March 2026 (tenant: acme)"
    assert re.fullmatch(r"<.+@daypulse\.local>", msg["Message-ID"])
    assert build_message(report, sender="p@x.io", to=["a@x.io"], message_id="<k@x.io>")["Message-ID"] == "<k@x.io>"
    # no chart: the HTML part stands alone
    assert tree(msg) == ["multipart/alternative", ["text/plain", "text/html"]]
    assert build_message(report, sender="p@x.io", to=["a@x.io"], subject="Hi")["Subject"] == "Hi"
    with pytest.raises(UsageError):
        build_message(report, sender="p@x.io", to=[])


# ---- user templates --------------------------------------------------------------------------


def test_user_template_overrides_builtin(tmp_path):
    (tmp_path / "report.txt.j2").write_text(
        "{{ report.title }} for {{ report.project }}: {{ 1234567 | value('integer') }}")
    assert render(sample_report(), "text", tmp_path) == "Daily pulse for Capturely (demo): 1,234,567"
    assert render(sample_report(), "markdown", tmp_path).startswith("# Daily pulse")  # not overridden


def test_user_template_extends_builtin(tmp_path):
    (tmp_path / "report.html.j2").write_text(
        '{% extends "builtin/report.html.j2" %}\n'
        '{% block footer %}<tr><td bgcolor="#ffffff">Sent by {{ report.project }} & co</td></tr>{% endblock %}\n')
    html = render(sample_report(), "html", tmp_path)
    assert "Sent by Capturely (demo) &amp; co" not in html  # literal template text is not escaped...
    assert "Sent by Capturely (demo) & co" in html and "Generated 7 March" not in html
    assert "carmen &lt;b&gt;" in html  # ...data still is: the built-in body is kept


def test_user_partial_overrides_builtin_partial(tmp_path):
    (tmp_path / "_line.html.j2").write_text("<tr><td>{{ line.label }}={{ line | line_value }}</td></tr>\n")
    html = render(sample_report(), "html", tmp_path)
    assert "<tr><td>MRR=$35,386.00</td></tr>" in html and "What changed" in html


def test_missing_template_folder(tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as err:
        render(sample_report(), "text", tmp_path / "nope")
    assert err.value.exit_code == 2


def config_error(tmp_path, source: str, name="report.txt.j2", fmt="text") -> ConfigError:
    (tmp_path / name).write_text(source)
    with pytest.raises(ConfigError) as err:
        render(sample_report(), fmt, tmp_path)
    assert err.value.exit_code == 2
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no traceback chained
    (issue,) = err.value.issues
    return issue


def test_syntax_error_names_file_and_line(tmp_path):
    issue = config_error(tmp_path, "Title\n{{ report.title }}\n{% if report.has_data %}\nno endif\n")
    assert issue.file == str(tmp_path / "report.txt.j2") and issue.line == 4
    assert "syntax" in issue.message and "endif" in issue.message
    issue = config_error(tmp_path, "a\n{{ report.title | nosuchfilter }}\n")
    assert issue.line == 2 and "nosuchfilter" in issue.message
    assert str(issue).startswith(f"{tmp_path / 'report.txt.j2'}:2: error:")


def test_undefined_variable_names_file_and_line(tmp_path):
    issue = config_error(tmp_path, "one\ntwo\n{{ report.title }} {{ nope }}\n")
    assert (issue.file, issue.line) == (str(tmp_path / "report.txt.j2"), 3) and "'nope' is undefined" in issue.message
    issue = config_error(tmp_path, "{% for s in report.sections %}\n{{ s.nosuchfield }}\n{% endfor %}")
    assert issue.line == 2 and "nosuchfield" in issue.message


def test_error_in_a_partial_names_the_partial(tmp_path):
    (tmp_path / "_line.html.j2").write_text("<tr>\n<td>{{ line.lable }}</td></tr>\n")
    with pytest.raises(ConfigError) as err:
        render(sample_report(), "html", tmp_path)
    (issue,) = err.value.issues
    assert (issue.file, issue.line) == (str(tmp_path / "_line.html.j2"), 2) and "lable" in issue.message


SECRET = "s3cr3t-do-not-print"
ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ report.__class__.__mro__ }}",
    "{{ report.to_json.__globals__ }}",
    "{{ report | attr('__class__') }}",
    "{{ report.__dict__ }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(report) }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ joiner.__init__.__globals__.os.environ['DAYPULSE_TEST_SECRET'] }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ os.environ }}",
    "{{ environ }}",
    "{{ config }}",
    "{% set x = report.sections.append(1) %}",
    "{% set x = report.filter.update({'a': 1}) %}",
    "{{ range(10 ** 9) | list | length }}",
    "{{ 'x' * 10 ** 9 }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../../../../../etc/passwd' %}",
    "{% include 'builtin/../../../../../../../etc/passwd' %}",
    "{% import '/etc/hostname' as h %}",
    "{% include 'link.j2' %}",  # a symlink out of the folder
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escapes_fail_and_leak_nothing(tmp_path, monkeypatch, source):
    monkeypatch.setenv("DAYPULSE_TEST_SECRET", SECRET)
    (tmp_path / "link.j2").symlink_to("/etc/passwd")
    issue = config_error(tmp_path, "line one\n" + source + "\n")
    assert issue.file == str(tmp_path / "report.txt.j2") and issue.line == 2, issue
    assert SECRET not in str(issue) and "root:" not in str(issue) and "/bin/" not in str(issue)


def test_builtin_templates_compile():
    from daypulse.report.render import BUILTIN_DIR, environment

    env = environment()
    names = sorted(p.name for p in BUILTIN_DIR.glob("*.j2"))
    assert {"report.txt.j2", "report.md.j2", "report.html.j2"} <= set(names)
    for name in names:
        env.get_template(name)
        env.get_template(f"builtin/{name}")
