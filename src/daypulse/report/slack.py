"""A report as a Slack message: Block Kit blocks within Slack's limits, the rest in a thread.

The main message is what a reader sees in the channel: a header, a context line, "what
changed", then one block of fields per section (value, first comparison) with breakdowns as
small monospace tables. Definitions never fit there; they go to the thread, with whatever had
to leave the main message to respect the limits. Nothing is dropped: it is in the main
message or in the thread.

Limits (Block Kit, plus one that Slack does not document):

* 50 blocks per message; header text ≤ 150 plain-text characters; section text ≤ 3000;
  ≤ 10 fields per section, each ≤ 2000; image ``alt_text`` ≤ 2000.
* About 13k characters of block text in total fails with ``msg_blocks_too_long``: we keep
  each message under ``max_chars`` (12k) as counted by :func:`block_chars`.

When the report is too big, the main message degrades in this order, stopping as soon as it
fits: (1) breakdown tables move to the thread; (2) whole sections move to the thread, from
the last one, leaving a line "N more sections in the thread"; (3) "what changed" keeps only
its first items (the report lists them most important first); then, for reports no message
could hold, chart images and the remaining sections and items move too.

Every mrkdwn text taken from the report is escaped (``&``, ``<``, ``>``): Slack reads them as
control characters (links, mentions) and decodes the entities for display. plain_text (the
headers, chart titles) is not: Slack shows it as written, entities included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

from daypulse.report import format as F
from daypulse.report.model import Breakdown, Change, ChartImage, Line, Report, Section

MAX_BLOCKS = 50
MAX_CHARS = 12_000  # of block text per message; Slack fails at about 13k (msg_blocks_too_long)
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
ALT_TEXT = 2000
CONTEXT_TEXT = 500  # ours: a context line is one line of small print
FALLBACK_TEXT = 300  # the notification text

TABLE_ROWS = 10  # breakdown rows shown in the main message; all of them are in the thread
TABLE_LABEL = 24  # widest dimension value in a table before it is cut
TABLE_COLUMN = 18  # widest column heading
LABEL_IN_FIELD = 120  # metric labels are short; a longer one is cut (whole in the definitions)
ANOMALY_IN_FIELD = 500
ROW_LABEL = 300  # a dimension value in the thread's full breakdown (a longer one is junk data: cut, visibly)
DESCRIPTION = 1000  # a metric's description and formula in the definitions (labels are never cut there)
CHANGE_TEXT = 600  # one "what changed" item in the main message (whole in the thread)
MIN_CHANGES = 3  # "what changed" keeps this many before sections leave entirely

VERDICT = {"good": "🟢", "bad": "🔴", "flat": "⚪"}
WARNING = "⚠️"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

Topic = tuple[str, Callable[[], list[dict]]]  # a thread topic: its title, and a function making its blocks


@dataclass(frozen=True)
class SlackMessage:
    text: str  # notification fallback: title, period, two or three headline numbers
    blocks: list[dict]  # the main message, within every limit
    thread: list[dict]  # follow-up messages, each {"text": ..., "blocks": [...]}, within the limits too
    files: list[ChartImage]  # charts to upload in the thread (files_upload_v2); see uploads()

    def payload(self) -> dict:
        """The main message for chat.postMessage or an incoming webhook."""
        return {"text": self.text, "blocks": self.blocks}

    def uploads(self) -> list[dict]:
        """Keyword arguments for ``WebClient.files_upload_v2(channel=ID, thread_ts=..., **u)``,
        one per chart, with the chart's alt text as ``alt_txt``."""
        return [{"file": c.png, "filename": f"{c.id}.png", "title": c.title, "alt_txt": c.alt[:ALT_TEXT]}
                for c in self.files]


def render_slack(report: Report, *, chart_urls: dict[str, str] | None = None,
                 max_blocks: int = MAX_BLOCKS, max_chars: int = MAX_CHARS,
                 follow_ups: Literal["thread", "below", "none"] = "thread") -> SlackMessage:
    """The report as a main message, its thread and the charts to upload.

    ``chart_urls`` maps chart ids to public image URLs (the server's signed chart URLs): those
    charts are shown as image blocks; the others are returned in ``files`` for upload.
    ``follow_ups`` is where the follow-up messages go, so the main message says it rightly: a
    bot's thread, the messages posted after it (an incoming webhook cannot make threads), or
    nowhere (the main message names nothing that is not sent)."""
    if not 5 <= max_blocks <= MAX_BLOCKS or not 2000 <= max_chars <= MAX_CHARS:
        raise ValueError(f"Slack limits out of range: max_blocks={max_blocks} (5–{MAX_BLOCKS}), "
                         f"max_chars={max_chars} (2000–{MAX_CHARS})")
    r = _Renderer(report, chart_urls or {}, max_chars, follow_ups)
    for plan in _plans(report, r):
        blocks = r.main(plan)
        if len(blocks) <= max_blocks and block_chars(blocks) < max_chars:
            break
    else:  # unreachable with the limits checked above: the last plan is a few short lines
        raise AssertionError("no Slack layout fits the limits")
    thread = _pack(r.thread_topics(plan), r.short, max_blocks, max_chars)
    files = [c for c in report.charts if c.id not in r.urls]
    return SlackMessage(r.fallback(), blocks, thread, files)


def block_chars(blocks: list[dict]) -> int:
    """The characters of text in blocks, as counted against ``max_chars``: every string but
    the ``type`` names (text, fields, alt text, URLs)."""

    def count(v, key=None) -> int:
        if isinstance(v, str):
            return 0 if key == "type" else len(v)
        if isinstance(v, dict):
            return sum(count(x, k) for k, x in v.items())
        if isinstance(v, list):
            return sum(count(x) for x in v)
        return 0

    return count(blocks)


def escape(text: str) -> str:
    """Slack's three control characters as entities; nothing else is encoded."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(raw: str, limit: int) -> str:
    """``raw`` escaped, cut to at most ``limit`` characters with "…" (never inside an entity)."""
    if len(raw) <= limit and len(out := escape(raw)) <= limit:
        return out
    parts, n = [], 0
    for ch in raw[:limit]:  # an escaped character is never shorter
        e = _ESCAPES.get(ch, ch)
        if n + len(e) > limit - 1:
            break
        parts.append(e)
        n += len(e)
    return "".join(parts).rstrip() + "…"


# --- plans: how much stays in the main message -------------------------------------------


@dataclass(frozen=True)
class _Plan:
    tables: bool  # breakdown tables in the main message
    sections: int  # the first N sections stay
    changes: int  # the first N "what changed" items stay
    images: bool  # chart images (from chart_urls) stay


def _plans(report: Report, r: _Renderer) -> Iterator[_Plan]:
    """Layouts from the fullest to the barest, in the order of degradation."""
    n, c = len(report.sections), len(report.changes)
    plan = _Plan(tables=True, sections=n, changes=c, images=True)
    yield plan
    plan = replace(plan, tables=False)
    yield plan
    for k in range(n - 1, 0, -1):
        yield (plan := replace(plan, sections=k))
    for m in range(c - 1, min(MIN_CHANGES, c) - 1, -1):
        yield (plan := replace(plan, changes=m))
    if r.images:
        yield (plan := replace(plan, images=False))
    for m in range(plan.changes - 1, -1, -1):
        yield (plan := replace(plan, changes=m))
    yield replace(plan, sections=0)


# --- blocks ------------------------------------------------------------------------------


def _header(raw: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": plain(raw, HEADER_TEXT), "emoji": True}}


def plain(raw: str, limit: int) -> str:
    """``raw`` for a plain_text object, cut to ``limit`` characters with "…". Not escaped: Slack
    parses no markup in plain_text, so an entity would be shown as written (``&lt;script&gt;``)."""
    return raw if len(raw) <= limit else raw[: limit - 1].rstrip() + "…"


def _context(mrkdwn: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _text(mrkdwn: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _fields(fields: list[str], mrkdwn: str | None = None) -> dict:
    block: dict = {"type": "section"}
    if mrkdwn:
        block["text"] = {"type": "mrkdwn", "text": mrkdwn}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": f} for f in fields]
    return block


DIVIDER = {"type": "divider"}


def _split(text: str, limit: int) -> list[str]:
    """Escaped mrkdwn cut into pieces of at most ``limit`` that join back to ``text``: at a
    line break or a space when there is one in the second half, never inside an entity."""
    pieces = []
    while len(text) > limit:
        cut = limit
        for sep in ("\n", " "):
            at = text.rfind(sep, limit // 2, limit)
            if at > 0:
                cut = at + 1
                break
        amp = text.rfind("&", cut - 4, cut)
        if amp >= 0 and ";" not in text[amp:cut]:
            cut = amp
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text else pieces


def _text_blocks(lines: list[str], limit: int) -> list[dict]:
    """Escaped mrkdwn lines packed into as few section blocks as the limit allows."""
    texts, cur = [], ""
    for line in lines:
        if cur and len(cur) + 1 + len(line) <= limit:
            cur += "\n" + line
            continue
        if cur:
            texts.append(cur)
        *full, cur = _split(line, limit) or [""]
        texts += full
    if cur:
        texts.append(cur)
    return [_text(t) for t in texts]


def _code_blocks(title: str, head: str, rows: list[str], limit: int) -> list[dict]:
    """A monospace table in section blocks: the title on the first, the heading on each."""
    blocks, cur, first = [], [], True

    def text(rs):
        return (title + "\n" if first else "") + "```\n" + "\n".join([head, *rs]) + "\n```"

    for row in rows:
        if cur and len(text([*cur, row])) > limit:
            blocks.append(_text(text(cur)))
            cur, first = [], False
        cur.append(row)
    blocks.append(_text(text(cur)))
    return blocks


# --- the report's parts --------------------------------------------------------------------


class _Renderer:
    def __init__(self, report: Report, urls: dict[str, str], max_chars: int, follow_ups: str = "thread"):
        self.r = report
        self.follow_ups = follow_ups  # thread | below | none: what the main message may point to
        self.urls = {c.id: urls[c.id] for c in report.charts if c.id in urls}
        self.images = [c for c in report.charts if c.id in self.urls]
        # One block may hold at most half a message, so a topic header always fits beside it.
        self.budget = min(6000, max_chars // 2)
        self.text_limit = min(SECTION_TEXT, self.budget)
        self.prefix = f"{report.title} — {report.period_label}"
        self.short = f"{_shorten(report.title, 80)} — {report.period_label}"  # for notification texts
        self.lines = {}
        for s in report.sections:
            for ln in s.lines:
                self.lines.setdefault(ln.metric, ln)

    # main message

    def main(self, plan: _Plan) -> list[dict]:
        r = self.r
        blocks = [_header(self.prefix), _context(self.context_line())]
        blocks += self.changes_blocks(plan.changes)
        for s in r.sections[:plan.sections]:
            blocks.append(DIVIDER)
            blocks += self.section_blocks(s)
            if plan.tables:
                for b in s.breakdowns:
                    blocks += self.table_blocks(b, TABLE_ROWS)
        rest = r.sections[plan.sections:]
        if rest:
            titles = ", ".join(s.title for s in rest)
            more = " more" if plan.sections else ""
            where = {"thread": "in the thread", "below": "below", "none": "left out"}[self.follow_ups]
            blocks.append(_context(clip(f"{len(rest)}{more} section{'s' * (len(rest) > 1)} {where}: {titles}",
                                        CONTEXT_TEXT)))
        if plan.images and self.images:
            blocks.append(DIVIDER)
            blocks += [self.image(c) for c in self.images]
        topics = [t for t, _ in self.thread_topics(plan)]  # titles only: blocks are built lazily
        uploads = len(r.charts) - len(self.images)
        if uploads and self.follow_ups == "thread":  # only a bot uploads charts (into its thread)
            topics.append(f"{uploads} chart{'s' * (uploads > 1)}")
        if topics and self.follow_ups != "none":
            lead = "In the thread: " if self.follow_ups == "thread" else "Below: "
            blocks.append(_context(clip(lead + " · ".join(topics), CONTEXT_TEXT)))
        return blocks

    def elsewhere(self, thread: str, below: str, none: str) -> str:
        """The words for "the rest is ..." where the follow-ups go."""
        return {"thread": thread, "below": below, "none": none}[self.follow_ups]

    def context_line(self) -> str:
        """Project · time zone · filter · notes (notes go to the thread when the line is too long)."""
        if self.notes_fit():
            return escape(" · ".join(self.context_parts() + self.r.notes))
        return clip(" · ".join(self.context_parts()), CONTEXT_TEXT - 30) + self.elsewhere(" · _notes in the thread_",
                                                                                     " · _notes below_", " · …")

    def context_parts(self) -> list[str]:
        r = self.r
        parts = [r.project, r.timezone]
        if r.filter:
            parts.append("filter: " + ", ".join(f"{k} = {v}" for k, v in r.filter.items()))
        if not r.has_data and not any("no data" in n.lower() for n in r.notes):
            parts.append("no data for this period")
        return parts

    def notes_fit(self) -> bool:
        return len(escape(" · ".join(self.context_parts() + self.r.notes))) <= CONTEXT_TEXT

    def changes_blocks(self, n: int) -> list[dict]:
        """"What changed" in the main message: the first ``n`` items, long sentences cut."""
        r = self.r
        if not r.changes and not r.has_data:
            return []
        lines = ["*What changed*"]
        if not r.changes:
            lines.append("Nothing stood out: no large moves or unusual values.")
        for c in r.changes[:n]:
            lines += self.change_lines(c, cut=True)
        if n < len(r.changes):
            more = len(r.changes) - n
            where = self.elsewhere(" in the thread", " below", " not shown")
            lines.append(f"_{more} more item{'s' * (more > 1)}{where}_" if n else
                         f"_{more} item{'s' * (more > 1)}{where}_")
        return _text_blocks(lines, self.text_limit)

    def change_lines(self, c: Change, cut: bool) -> list[str]:
        """A bullet: verdict emoji, then ▲/▼ (or ⚠️ for an unusual value) so the direction is
        not told by colour alone; the drivers in italics below. ``cut``: long sentences cut."""

        def txt(raw: str, cap: int) -> str:
            return clip(raw, cap) if cut else escape(raw)

        mark = WARNING if c.kind == "anomaly" else self.direction(c)
        head = " ".join(x for x in ("•", VERDICT.get(c.verdict, ""), mark) if x)
        lines = [f"{head} {txt(c.text, CHANGE_TEXT)}"]
        if c.drivers:
            lines.append(f"      _{txt(' · '.join(c.drivers), CHANGE_TEXT // 2)}_")
        return lines

    def changes_clipped(self) -> bool:
        return any(len(escape(c.text)) > CHANGE_TEXT or len(escape(" · ".join(c.drivers))) > CHANGE_TEXT // 2
                   for c in self.r.changes)

    def direction(self, c: Change) -> str:
        ln = self.lines.get(c.metric)
        if ln is None or not ln.deltas:
            return ""
        d = next((d for d in ln.deltas if d.key == "previous"), ln.deltas[0])
        return F.arrow(d.change, d.verdict, ln.fmt)

    def section_blocks(self, s: Section) -> list[dict]:
        labels = {ln.deltas[0].label for ln in s.lines if ln.deltas}
        title = f"*{clip(s.title, 300)}*"
        if len(labels) == 1:  # one comparison for the whole section: say it once
            title += f"   _change {clip(next(iter(labels)), 100)}_"
        fields = [self.field(ln, per_line_label=len(labels) > 1) for ln in s.lines]
        blocks, cur, size = [], [], 0
        for f in fields:
            if cur and (len(cur) == MAX_FIELDS or size + len(f) > self.budget):
                blocks.append(_fields(cur, None if blocks else title))
                cur, size = [], 0
            cur.append(f)
            size += len(f)
        blocks.append(_fields(cur, None if blocks else title))
        return blocks

    def field(self, ln: Line, per_line_label: bool) -> str:
        out = f"*{clip(ln.label, LABEL_IN_FIELD)}*\n{F.value(ln.value, ln.fmt)}"
        if ln.deltas and ln.deltas[0].change is not None:
            d = ln.deltas[0]
            parts = [F.arrow(d.change, d.verdict, ln.fmt), F.change(d.change, ln.fmt)]
            if d.pct is not None:
                parts.append(f"({F.pct(d.pct)})")
            parts.append(VERDICT.get(d.verdict, ""))
            out += "  " + " ".join(p for p in parts if p)
            if per_line_label:
                out += f" _{clip(d.label, 100)}_"
        if ln.anomaly:
            out += f"\n{WARNING} _{clip(ln.anomaly, ANOMALY_IN_FIELD)}_"
        limit = min(FIELD_TEXT, self.budget)  # the caps above keep a field far shorter; this is a guard
        return out if len(out) <= limit else _split(out, limit - 1)[0] + "…"

    # breakdowns

    def table_fits(self, b: Breakdown) -> bool:
        return (all(len(row.label) <= TABLE_LABEL for row in b.rows) and len(b.dimension) <= TABLE_LABEL
                and all(len(c) <= TABLE_COLUMN for c in b.columns))

    def table_cut(self, b: Breakdown) -> bool:
        """Whether the main message's table leaves something out (rows, or long labels cut)."""
        return len(b.rows) > TABLE_ROWS or not self.table_fits(b)

    def table_blocks(self, b: Breakdown, top: int | None, section: str | None = None) -> list[dict]:
        rows = b.rows if top is None else b.rows[:top]
        heads = [b.dimension, *b.columns, "vs prev"]
        body = [[r.label, *(F.value(v, f) for v, f in zip(r.values, b.fmts)),
                 F.change(r.change, b.fmts[0]) if b.fmts else ""] for r in rows]
        body.append(["Total", *(F.value(v, f) for v, f in zip(b.total, b.fmts)), ""])
        caps = [TABLE_LABEL] + [TABLE_COLUMN] * (len(heads) - 1)
        cells = [[_cell(x, cap) for x, cap in zip(row, caps)] for row in [heads, *body]]
        widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(heads))]

        def line(row):
            return escape("  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(row, widths)))
                          .rstrip())

        title = f"*{clip(b.title, 300)}* · by {clip(b.dimension, 100)}"
        if section is not None:
            title = f"*{clip(section, 300)}* · {title}"
        if top is not None and len(b.rows) > top:
            title += f" · top {top} of {len(b.rows)}" + self.elsewhere(" (all in the thread)", " (all below)", "")
        elif top is not None and not self.table_fits(b):
            title += " · long names cut" + self.elsewhere(" (whole in the thread)", " (whole below)", "")
        return _code_blocks(title, line(cells[0]), [line(c) for c in cells[1:]], self.text_limit)

    def list_blocks(self, b: Breakdown, section: str | None = None) -> list[dict]:
        """A breakdown whose names are too long for a table, as one line per row."""
        cols = [*b.columns, "change vs previous period"]
        title = f"*{clip(b.title, 300)}* · by {clip(b.dimension, 100)}"
        lines = [title if section is None else f"*{clip(section, 300)}* · {title}",
                 "_Columns: " + " · ".join(escape(c) for c in cols) + "_"]
        for r in b.rows:
            vals = [F.value(v, f) for v, f in zip(r.values, b.fmts)] + [F.change(r.change, b.fmts[0])]
            lines.append(f"• *{clip(r.label, ROW_LABEL)}*: " + " · ".join(vals))
        lines.append("• *Total*: " + " · ".join(F.value(v, f) for v, f in zip(b.total, b.fmts)))
        return _text_blocks(lines, self.text_limit)

    def full_breakdown(self, b: Breakdown, section: str | None = None) -> list[dict]:
        """All rows, names whole: a table when they fit one, else a list."""
        return self.table_blocks(b, None, section) if self.table_fits(b) else self.list_blocks(b, section)

    # charts

    def image(self, c: ChartImage) -> dict:
        return {"type": "image", "image_url": self.urls[c.id],
                "alt_text": clip(c.alt or c.title, min(ALT_TEXT, self.budget // 2)),
                "title": {"type": "plain_text", "text": plain(c.title, 300), "emoji": True}}

    # thread

    def thread_topics(self, plan: _Plan) -> list[Topic]:
        """(title, a function making its blocks) of each thread topic, in reading order."""
        r, topics = self.r, []
        if plan.changes < len(r.changes) or self.changes_clipped():
            topics.append(("What changed", self._all_changes))
        kept, moved = r.sections[:plan.sections], r.sections[plan.sections:]
        tables = [(s, b) for s in kept for b in s.breakdowns if not plan.tables or self.table_cut(b)]
        if tables:
            topics.append(("Breakdowns", lambda: [x for s, b in tables for x in self.full_breakdown(b, s.title)]))
        if moved:
            topics.append(("More sections" if kept else "Sections", lambda: self.moved_blocks(moved)))
        if self.images and not plan.images:
            topics.append(("Charts", lambda: [self.image(c) for c in self.images]))
        if not self.notes_fit():
            topics.append(("Notes", lambda: _text_blocks([f"• {escape(n)}" for n in r.notes], self.text_limit)))
        if any(s.lines for s in r.sections):
            topics.append(("Definitions", self.definitions))
        return topics

    def moved_blocks(self, moved: list[Section]) -> list[dict]:
        blocks = []
        for i, s in enumerate(moved):
            blocks += [DIVIDER] * (i > 0) + self.section_blocks(s)
            for b in s.breakdowns:
                blocks += self.full_breakdown(b)
        return blocks

    def _all_changes(self) -> list[dict]:
        lines = [x for c in self.r.changes for x in self.change_lines(c, cut=False)]
        return _text_blocks(lines, self.text_limit)

    def definitions(self) -> list[dict]:
        seen, lines = set(), []
        for s in self.r.sections:
            for ln in s.lines:
                key = (ln.metric, ln.label, ln.description, ln.formula, ln.good)
                if key in seen:
                    continue
                seen.add(key)
                better = "higher is better" if ln.good == "up" else "lower is better"
                formula = clip(ln.formula, DESCRIPTION).replace("`", "'")
                lines.append(f"*{escape(ln.label)}*: {clip(ln.description, DESCRIPTION)}\n"
                             f"      `{formula}` · _{better}_")
        return _text_blocks(lines, self.text_limit)

    # notification text

    def fallback(self) -> str:
        r = self.r
        if not r.has_data:
            return clip(f"{self.short}: no data for this period.", FALLBACK_TEXT)
        picks = [self.lines[c.metric] for c in r.changes if c.metric in self.lines]
        picks += [ln for s in r.sections for ln in s.lines]
        seen, heads = set(), []
        for ln in picks:
            if ln.metric in seen:
                continue
            seen.add(ln.metric)
            heads.append(_headline(ln))
            if len(heads) == 3:
                break
        return clip(f"{self.short}: " + " · ".join(heads) if heads else self.short, FALLBACK_TEXT)


def _shorten(raw: str, n: int) -> str:
    return raw if len(raw) <= n else raw[:n - 1].rstrip() + "…"


def _headline(ln: Line) -> str:
    out = f"{_shorten(ln.label, 40)} {F.value(ln.value, ln.fmt)}"
    d = ln.deltas[0] if ln.deltas else None
    if d and d.change is not None:
        how = F.pct(d.pct) if d.pct is not None else F.change(d.change, ln.fmt)
        out += f" ({F.arrow(d.change, d.verdict, ln.fmt)} {how})"
    return out


def _cell(raw: str, cap: int) -> str:
    """A table cell (unescaped: widths count what the reader sees), cut to ``cap``; backticks
    would end the code block."""
    raw = raw.replace("`", "'").replace("\n", " ")
    return raw if len(raw) <= cap else raw[:cap - 1] + "…"


def _pack(topics: list[Topic], prefix: str, max_blocks: int, max_chars: int) -> list[dict]:
    """Thread topics packed into messages within the limits; a topic split over messages has
    its header repeated with "(continued)"."""
    messages: list[dict] = []
    cur: list[dict] = []
    names: list[str] = []

    def flush():
        if cur:
            messages.append({"text": clip(f"{prefix} · {', '.join(names)}", FALLBACK_TEXT), "blocks": list(cur)})
            cur.clear()
            names.clear()

    def fits(extra: list[dict]) -> bool:
        return len(cur) + len(extra) <= max_blocks and block_chars(cur + extra) < max_chars

    for title, make in topics:
        blocks = make()
        head = _header(title)
        if not fits([head, blocks[0]] if blocks else [head]):
            flush()
        cur.append(head)
        names.append(title)
        for b in blocks:
            if not fits([b]):
                flush()
                cur.append(_header(f"{title} (continued)"))
                names.append(title)
            cur.append(b)
    flush()
    return messages
