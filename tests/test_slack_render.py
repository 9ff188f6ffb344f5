"""The Slack renderer: a snapshot of the daily message, Block Kit limits on big reports, escaping,
charts as image blocks or uploads, and the notification text.

``DAYPULSE_UPDATE_SNAPSHOTS=1 pytest tests/test_slack_render.py`` rewrites the snapshots; read
the diff before keeping it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from daypulse.report.model import Breakdown, BreakdownRow, ChartImage
from daypulse.report.slack import clip, escape, render_slack
from reportkit import sample_report

SNAPSHOTS = Path(__file__).parent / "snapshots"

# Block Kit's limits, written out here rather than imported so the test checks the renderer
# against the rules, not against its own constants.
BLOCKS, HEADER, SECTION, FIELDS, FIELD, ALT, CONTEXT_ELEMENTS, TEXT_OBJECT = 50, 150, 3000, 10, 2000, 2000, 10, 3000
TOTAL = 12_000
ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def assert_snapshot(name: str, data) -> None:
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("DAYPULSE_UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path.name}: run with DAYPULSE_UPDATE_SNAPSHOTS=1 and read it"
    assert path.read_text(encoding="utf-8") == text


def texts(blocks: list[dict]) -> list[str]:
    """Every text a reader sees in blocks, in order."""
    out = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out += [f["text"] for f in b.get("fields", [])]
        out += [e["text"] for e in b.get("elements", []) if "text" in e]
        if b["type"] == "image":
            out += [b["alt_text"], b["title"]["text"]]
    return out


def total_chars(v, key=None) -> int:
    if isinstance(v, str):
        return 0 if key == "type" else len(v)
    if isinstance(v, dict):
        return sum(total_chars(x, k) for k, x in v.items())
    if isinstance(v, list):
        return sum(total_chars(x) for x in v)
    return 0


def check_text_object(t: dict, limit: int, kinds=("mrkdwn", "plain_text")) -> None:
    assert t["type"] in kinds, t
    assert 0 < len(t["text"]) <= limit, (t["type"], len(t["text"]))


def check_limits(blocks: list[dict], max_blocks: int = BLOCKS, max_chars: int = TOTAL) -> None:
    """Every Block Kit rule the renderer must respect, for one message."""
    assert 0 < len(blocks) <= max_blocks, len(blocks)
    assert total_chars(blocks) < max_chars, total_chars(blocks)
    for b in blocks:
        kind = b["type"]
        if kind == "header":
            assert set(b) <= {"type", "text", "block_id"}
            check_text_object(b["text"], HEADER, kinds=("plain_text",))
        elif kind == "section":
            assert set(b) <= {"type", "text", "fields", "block_id"}
            assert "text" in b or "fields" in b
            if "text" in b:
                check_text_object(b["text"], SECTION)
            if "fields" in b:
                assert 0 < len(b["fields"]) <= FIELDS, len(b["fields"])
                for f in b["fields"]:
                    check_text_object(f, FIELD)
        elif kind == "context":
            assert 0 < len(b["elements"]) <= CONTEXT_ELEMENTS
            for e in b["elements"]:
                check_text_object(e, TEXT_OBJECT)
        elif kind == "image":
            assert ("image_url" in b) != ("slack_file" in b)
            assert 0 < len(b["alt_text"]) <= ALT
            check_text_object(b["title"], ALT, kinds=("plain_text",))
        else:
            assert b == {"type": "divider"}, b
    plain = {b["text"]["text"] for b in blocks if b["type"] == "header"} | {
        b["title"]["text"] for b in blocks if b["type"] == "image"}
    for t in texts(blocks):  # Slack's control characters only as entities (plain_text: as written)
        if t not in plain:
            assert "<" not in t and ">" not in t and not ENTITY.search(t), t[:200]


def check_message(msg) -> None:
    check_limits(msg.blocks)
    assert 0 < len(msg.text) <= 300
    for m in msg.thread:
        assert set(m) == {"text", "blocks"}
        assert 0 < len(m["text"]) <= 300
        check_limits(m["blocks"])


def everything(msg) -> str:
    """All section and context text of the main message and the thread, in order, joined with
    nothing between blocks (so a long line split over blocks reads whole again)."""
    blocks = msg.blocks + [b for m in msg.thread for b in m["blocks"]]
    return "".join(t for t in texts([b for b in blocks if b["type"] != "header"]))


def shown(raw: str, cap: int) -> str:
    """What must be visible of a text that may be cut (visibly, with "…") at ``cap``."""
    return escape(raw) if len(escape(raw)) <= cap else clip(raw, cap).removesuffix("…")


def check_nothing_dropped(report, msg) -> None:
    """Metric labels, breakdown columns and "what changed" whole somewhere; descriptions and
    dimension values at least up to their (generous) caps."""
    text = everything(msg)
    for s in report.sections:
        for ln in s.lines:
            assert escape(ln.label) in text, ln.label[:60]
            assert shown(ln.description, 1000) in text
        for b in s.breakdowns:
            for c in b.columns:
                assert escape(c) in text
            for r in b.rows:
                assert shown(r.label, 300) in text, r.label[:60]
    for c in report.changes:
        assert escape(c.text) in text, c.text[:60]
        for d in c.drivers:
            assert escape(d) in text


def huge_report():
    """Labels of 5000 characters everywhere and a breakdown of 50 rows."""
    base = sample_report(sections=4)

    def long(s: str) -> str:
        return (s + " ") + ("very long & <odd> name " * 250)[: 5000 - len(s) - 1]

    sections = []
    for i, s in enumerate(base.sections):
        lines = [replace(ln, label=long(f"{ln.label} {i}"), description=long(ln.description),
                         anomaly=long(ln.anomaly) if ln.anomaly else None) for ln in s.lines]
        rows = [BreakdownRow(long(f"member {k}"), [50 - k, 0.01 * k], k - 25) for k in range(50)]
        bds = [Breakdown(long("Staff"), "staff", [long("Calls"), long("Call success rate")],
                         ["integer", "percent"], rows, [1275, 0.25])]
        sections.append(replace(s, title=long(s.title), lines=lines, breakdowns=bds))
    changes = [replace(c, label=long(c.label), text=long(c.text), drivers=[long(d) for d in c.drivers])
               for c in base.changes]
    return replace(base, title=long(base.title), sections=sections, changes=changes,
                   notes=[long("metrics left out: x")])


def charts(n: int = 2) -> list[ChartImage]:
    return [ChartImage(f"chart-{i}-signups", f"New signups {i}, last 30 days",
                       f"Line chart {i}: new signups rose from 90 to 120 over 30 days & peaked today.",
                       b"\x89PNG\r\n\x1a\n", 560, 300) for i in range(1, n + 1)]


def test_daily_snapshot():
    msg = render_slack(sample_report())
    check_message(msg)
    assert_snapshot("slack_daily", msg.payload())
    assert_snapshot("slack_daily_thread", msg.thread)


def test_daily_layout():
    msg = render_slack(sample_report())
    kinds = [b["type"] for b in msg.blocks]
    assert kinds[:3] == ["header", "context", "section"]
    assert msg.blocks[0]["text"]["text"] == "Daily pulse — Friday 6 March 2026"
    assert "Capturely (demo) · Asia/Kolkata" in msg.blocks[1]["elements"][0]["text"]
    changed = msg.blocks[2]["text"]["text"]
    assert changed.startswith("*What changed*")
    assert "🟢 ▲ New signups rose" in changed and "🔴 ▼ Calls fell" in changed  # direction not colour-only
    assert "_acme +12 (60% of the rise) · globex +5 (25%)_" in changed
    growth = next(b for b in msg.blocks if b.get("text", {}).get("text", "").startswith("*Growth*"))
    assert growth["fields"][0]["text"] == "*New signups*\n120  ▲ +20 (+20.0%) 🟢"
    assert "Unusually high for a Friday" in growth["fields"][2]["text"]
    assert kinds.count("divider") == 2
    assert any("```" in t and "asha" in t for t in texts(msg.blocks))  # the table stays in a small report
    main = json.dumps(msg.blocks, ensure_ascii=False)
    assert "Accounts created during the day" not in main  # definitions: thread only
    assert msg.thread[0]["blocks"][0]["text"]["text"] == "Definitions"
    check_nothing_dropped(sample_report(), msg)


def test_forty_sections_degrade_within_limits():
    report = sample_report(sections=40)
    msg = render_slack(report)
    check_message(msg)
    check_nothing_dropped(report, msg)
    main = texts(msg.blocks)
    assert not any("```" in t for t in main)  # (1) tables left first
    assert any(re.match(r"\d+ more sections in the thread: ", t) for t in main)  # (2) then later sections
    assert "*What changed*" in main[2] and "Customer churn rate 0.4%" in main[2]  # (3) not needed
    kept = [t for t in main if re.match(r"\*Calls \d+\*", t)]
    moved = int(re.search(r"(\d+) more sections", " ".join(main)).group(1))
    assert len(kept) + 2 + moved == 40  # Growth, Calls, then Calls 3..40
    thread = "".join(everything(replace(msg, blocks=[])))
    for s in report.sections[len(kept) + 2:]:
        assert f"*{s.title}*" in thread


def test_huge_labels_within_limits():
    report = huge_report()
    msg = render_slack(report)
    check_message(msg)
    check_nothing_dropped(report, msg)
    assert msg.blocks[0]["text"]["text"].endswith("…")


@pytest.mark.parametrize("max_blocks", [5, 8, 13, 50])
@pytest.mark.parametrize("max_chars", [2000, 5000, 12_000])
@pytest.mark.parametrize("make", [lambda: sample_report(sections=6), huge_report], ids=["six", "huge"])
def test_any_limits_hold_and_nothing_is_dropped(make, max_blocks, max_chars):
    report = make()
    msg = render_slack(report, max_blocks=max_blocks, max_chars=max_chars,
                       chart_urls={c.id: f"https://daypulse.example/c/{c.id}.png" for c in charts(3)})
    check_limits(msg.blocks, max_blocks, max_chars)
    for m in msg.thread:
        check_limits(m["blocks"], max_blocks, max_chars)
    check_nothing_dropped(report, msg)


def test_tables_leave_before_sections():
    msg = render_slack(sample_report(), max_blocks=8)
    main = texts(msg.blocks)
    assert len(msg.blocks) <= 8
    assert not any("```" in t for t in main)
    assert any(t.startswith("*Calls*") for t in main)  # both sections stay
    assert "In the thread: Breakdowns · Definitions" in main
    assert msg.thread[0]["blocks"][0]["text"]["text"] == "Breakdowns"


def test_escaping():
    base = sample_report()
    report = replace(base, title="R&D <daily>", project="A&B <corp>", filter={"team": "<sales> & co"},
                     notes=["1 < 2 & 3 > 2"])
    msg = render_slack(report)
    check_message(msg)
    # A header is plain_text: shown as written, so it is not escaped (an entity would show as such).
    assert msg.blocks[0]["text"] == {"type": "plain_text", "text": "R&D <daily> — Friday 6 March 2026", "emoji": True}
    assert msg.blocks[1]["elements"][0]["text"] == (
        "A&amp;B &lt;corp&gt; · Asia/Kolkata · filter: team = &lt;sales&gt; &amp; co · 1 &lt; 2 &amp; 3 &gt; 2")
    table = next(t for t in texts(msg.blocks) if "```" in t)
    assert "carmen &lt;b&gt;" in table and "carmen <b>" not in json.dumps(msg.payload())
    # widths count what the reader sees, not the entities
    lines = {ln.split()[0]: ln for ln in table.split("\n") if ln[:1].isalpha() and not ln.startswith("*")}
    assert len(lines["carmen"].replace("&lt;", "<").replace("&gt;", ">")) == len(lines["asha"])
    assert msg.text.startswith("R&amp;D &lt;daily&gt;")


def test_chart_urls_become_image_blocks():
    cs = charts(2)
    urls = {c.id: f"https://daypulse.example/charts/{c.id}.png?sig=abc" for c in cs}
    msg = render_slack(sample_report(charts=cs), chart_urls=urls)
    check_message(msg)
    images = [b for b in msg.blocks if b["type"] == "image"]
    assert [b["image_url"] for b in images] == list(urls.values())
    assert [b["alt_text"] for b in images] == [escape(c.alt) for c in cs]
    assert [b["title"]["text"] for b in images] == [c.title for c in cs]
    assert msg.files == []

    only_one = render_slack(sample_report(charts=cs), chart_urls={cs[0].id: urls[cs[0].id]})
    assert [b["image_url"] for b in only_one.blocks if b["type"] == "image"] == [urls[cs[0].id]]
    assert only_one.files == [cs[1]]


def test_without_urls_charts_are_files_to_upload():
    cs = charts(2)
    msg = render_slack(sample_report(charts=cs))
    assert not any(b["type"] == "image" for b in msg.blocks)
    assert msg.files == cs
    assert msg.uploads() == [{"file": c.png, "filename": f"{c.id}.png", "title": c.title, "alt_txt": c.alt}
                             for c in cs]


def test_fallback_text_is_short_and_informative():
    msg = render_slack(sample_report())
    assert len(msg.text) <= 300 and "\n" not in msg.text
    assert msg.text.startswith("Daily pulse — Friday 6 March 2026: ")
    assert "New signups 120 (▲ +20.0%)" in msg.text and "Calls 65 (▼ −20.7%)" in msg.text
    assert msg.payload() == {"text": msg.text, "blocks": msg.blocks}
    assert len(render_slack(huge_report()).text) <= 300


def test_no_data():
    base = sample_report()
    empty = [replace(s, lines=[replace(ln, value=None, deltas=[], anomaly=None) for ln in s.lines], breakdowns=[])
             for s in base.sections]
    msg = render_slack(replace(base, sections=empty, changes=[], has_data=False))
    check_message(msg)
    assert "no data for this period" in msg.blocks[1]["elements"][0]["text"]
    assert msg.text == "Daily pulse — Friday 6 March 2026: no data for this period."
    assert "*New signups*\n—" in texts(msg.blocks)
