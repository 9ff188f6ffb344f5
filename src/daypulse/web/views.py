"""What the dashboard's pages show, read from the store: filters, tiles, trend charts, tables.

A board is a report definition (built-in, daypulse.yml or a stored template): its sections
become rows of tiles and its line charts the trend charts, so the dashboard and the morning
report are one definition. Every read is a handful of set-based queries (one per page part),
never one per metric or per period.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from daypulse import judgement
from daypulse.calendar import Calendar
from daypulse.describe import describe
from daypulse.errors import UserError
from daypulse.report import format as fmt
from daypulse.report.definition import load_report, report_names
from daypulse.store import alert_events, labels, read
from daypulse.values import dims_key, is_number

GRAINS = ("day", "week", "month", "quarter")  # quarter when a metric is computed by it (opted in)
MAX_PERIODS = 400  # a range longer than this at its grain is cut (the chart stays readable)
DEFAULT_SPAN = {"day": 30, "week": 12, "month": 12, "quarter": 8}  # periods shown when no range is given
MENU_VALUES = 500  # values per dimension in the filter menu: past that a select stops being a way to find one


@dataclass(frozen=True)
class Filters:
    board: str
    start: date
    end: date
    grain: str
    dims: dict[str, str] = field(default_factory=dict)  # {tenant: acme}; {} is the company total
    problems: tuple[str, ...] = ()  # what was wrong in the query, shown above the page
    complete_through: date | None = None  # the newest stored day that is over: later periods are "so far"
    pinned: bool = True  # the range was given; else it follows the newest data (auto-refresh moves it)
    grains: tuple[str, ...] = GRAINS[:3]  # what the grain menu offers: quarter once it is computed

    def query(self, **changes) -> str:
        f = replace(self, **changes)
        params = {"board": f.board, "start": f.start.isoformat(), "end": f.end.isoformat(), "grain": f.grain}
        if f.dims:
            params["filter"] = f.filter_params
        return urlencode(params, doseq=True)

    def refresh_query(self) -> str:
        """What the auto-refresh asks for: an unpinned range moves on with the days."""
        if self.pinned:
            return self.query()
        params = {"board": self.board, "grain": self.grain}
        if self.dims:
            params["filter"] = self.filter_params
        return urlencode(params, doseq=True)

    @property
    def filter_params(self) -> list[str]:
        """One ``filter=dimension=value`` parameter per dimension: a value may hold commas."""
        return [f"{k}={v}" for k, v in sorted(self.dims.items())]

    @property
    def filter_text(self) -> str:
        """The filter as the page shows it (not parsed back)."""
        return ", ".join(self.filter_params)

    def over(self, cal: Calendar, period_start: date) -> bool:
        """Whether the period is over (its last day is stored and past)."""
        return self.complete_through is None or cal.period_end(self.grain, period_start) <= self.complete_through


def boards(project, scope: dict[str, str] | None = None) -> dict[str, str]:
    """{report name: title} of the reports this project can show (their metrics exist), leaving
    out a scoped viewer's boards narrowed to another tenant."""

    out = {}
    for name in report_names(project):
        try:
            spec = load_report(project, name)
        except UserError:
            continue
        if any(spec.filter.get(k, v) != v for k, v in (scope or {}).items()):
            continue
        if any(m in project.metrics for m in spec.metrics):  # not a built-in over packs it does not include
            out[name] = spec.title
    return out


EARLIEST = date(1970, 1, 1)
SPAN_DAYS = {"day": MAX_PERIODS, "week": MAX_PERIODS * 7, "month": MAX_PERIODS * 31, "quarter": MAX_PERIODS * 92}


def parse_filters(project, store, params, scope: dict[str, str], *, board_required: bool = True) -> Filters:
    """Filters from a page's query string, forgiving: a bad value falls back to its default and
    is named in ``problems``. The board's own filter (a tenant's report) and a scoped viewer's
    scope always apply; the board's period is the default grain."""

    cal = project.calendar
    problems = []
    names = boards(project, scope)
    board = params.get("board") or ("daily" if "daily" in names else next(iter(names), ""))
    if board_required and board not in names:
        problems.append(f"no board {board[:100]!r}; showing {next(iter(names), 'none')}")
        board = next(iter(names), "")
    spec = load_report(project, board) if board_required and board else None
    grain = params.get("grain") or (spec.period if spec else "day")
    offered = tuple(g for g in GRAINS if g in GRAINS[:3] or not project.grain_problem(None, g))
    if grain not in GRAINS:
        problems.append(f"grain: {grain[:20]!r} is not one of {', '.join(offered)}")
        grain = "day"
    elif grain not in offered:
        problems.append(f"grain: {project.grain_problem(None, grain)}")
        grain = spec.period if spec else "day"
    today = cal.today()
    yesterday = today - timedelta(days=1)
    newest = min(read.latest_day(store) or yesterday, yesterday)
    # Without a range, show whole periods: a week or month still running would be compared
    # with a complete one.
    default_end = newest if grain == "day" or cal.period_end(grain, newest) == newest else (
        cal.period_start(grain, newest) - timedelta(days=1))
    end = _date(params.get("end"), default_end, "end", problems)
    start = _date(params.get("start"), None, "start", problems)
    latest_allowed = today + timedelta(days=366)
    for name, value in (("start", start), ("end", end)):
        if value is not None and not EARLIEST <= value <= latest_allowed:
            problems.append(f"{name}: {value} is outside {EARLIEST} .. {latest_allowed}")
    end = min(max(end, EARLIEST), latest_allowed)
    if start is not None:
        start = min(max(start, EARLIEST), latest_allowed)
    else:
        start = max(cal.shift(grain, cal.period_start(grain, end), DEFAULT_SPAN[grain] - 1), EARLIEST)
    if end < start:
        problems.append("end is before start: swapped")
        start, end = end, start
    if (end - start).days >= SPAN_DAYS[grain]:
        problems.append(f"at most {MAX_PERIODS} {grain}s at a time: the range starts later")
        start = end - timedelta(days=SPAN_DAYS[grain] - 1)
    dims = {}
    # One parameter per dimension (?filter=tenant=acme&filter=plan=pro); the value is all after
    # the first "=", so it may hold commas or "=".
    given = params.getlist("filter") if hasattr(params, "getlist") else [params.get("filter") or ""]
    for part in filter(None, given):
        key, sep, value = part.partition("=")
        if sep and key.strip() and value.strip():
            dims[key.strip()] = value.strip()
        else:
            problems.append(f"filter: {part[:100]!r} is not dimension=value")
    for k, v in [*(spec.filter.items() if spec else ()), *scope.items()]:
        if dims.get(k, v) != v:
            problems.append(f"{'you see' if k in scope else 'this board is of'} {k} {v!r} only")
        dims[k] = v
    return Filters(board, start, end, grain, dims, tuple(problems), newest,
                   pinned="end" in params or "start" in params, grains=offered)


def _date(text: str | None, default: date | None, name: str, problems: list[str]) -> date | None:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"{name}: {text[:20]!r} is not a date (YYYY-MM-DD)")
        return default


# -- tiles and charts ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    metric: str
    label: str
    value: str
    change: str  # +12 / −$3.40 / +1.2 pp
    pct: str
    verdict: str  # good | bad | flat | none: the colour
    arrow: str
    spark: str  # SVG polyline points in a 100 x 28 box ('' when nothing to draw)
    formula: str
    period: str
    note: str = ""  # why there is no number
    alerts: tuple = ()  # the Alerts of its threshold breaches
    compared: str = ""  # what the change compares: "vs the day before", "vs the same day last month"


@dataclass(frozen=True)
class Chart:
    metric: str
    title: str
    format: str
    currency: str
    labels: list[str]
    values: list
    compare: list
    compare_label: str
    grain: str = "day"
    marks: list = field(default_factory=list)  # alert events on the chart: {"label": period, "text": ...}


def alert_marks(project, store, f: Filters, name: str, labels: list[str]) -> list[dict]:
    """The metric alert events of this metric, grain and dimension values whose opening period
    is on the chart, in words ("spike: 6 against 5, open")."""
    shown = set(labels)
    m = project.metrics[name]
    out = []
    for e in alert_events.events(store, metric=name, grain=f.grain, dims_key=dims_key(f.dims)):
        if e.period.isoformat() not in shown:
            continue
        state = alert_events.state(e)
        out.append({"label": e.period.isoformat(), "rule": e.rule, "severity": e.severity,
                    "text": f"{e.rule}: {fmt.value(e.value, m.format)} against {fmt.limit(e.limit, m.format)}"
                            f" on {e.period} ({state}{' ' + str(e.resolved_period) if e.resolved_period else ''})"})
    return sorted(out, key=lambda x: x["label"])


def shows(project, metric: str, dims: dict[str, str]) -> bool:
    """Whether ``metric`` is stored by the dimensions of ``dims`` together (else its numbers
    span them, or no value holds them all)."""
    return frozenset(dims) in project.groupings_of(metric)


def window(cal: Calendar, f: Filters) -> tuple[list[date], list[date]]:
    """The range's periods and, as many, the ones just before them (the comparison)."""
    periods = cal.periods(f.grain, f.start, f.end)
    before = cal.shift(f.grain, periods[0], len(periods))
    return periods, cal.periods(f.grain, before, periods[0] - timedelta(days=1))


def tiles(project, store, f: Filters, sections, alerts=()) -> list[tuple[str, list[Tile]]]:
    """Each section's tiles: the range's last period, its change on the period before, a
    sparkline over the range, the good/bad colour and any threshold it breaches."""
    cal = project.calendar
    periods, _ = window(cal, f)
    # The tiles' period: the range's last one that is over (a running week is not compared
    # with a whole one), else the last one, marked "so far" and given no colour.
    done = [p for p in periods if f.over(cal, p)]
    last = done[-1] if done else periods[-1]
    partial = not done
    names = [m for _, ms in sections for m in ms if m in project.metrics and shows(project, m, f.dims)
             and project.grains_of(m, [f.grain])]
    plans = {n: judgement.plan(cal, "previous", f.grain, project.metrics[n], last) for n in names}
    first = min([periods[0], *(d for p in plans.values() for d in p.dates)])
    got = read.values(store, names, f.grain, first, periods[-1], dims_key(f.dims))
    by_metric: dict[str, list] = {}
    for b in alerts:
        if b.shown_in(f, names, cal):
            by_metric.setdefault(b.metric, []).append(b)
    label = period_label(cal, f.grain, last) + (" (so far)" if partial else "")
    out = []
    for title, metrics in sections:
        row = []
        for name in metrics:
            m = project.metrics.get(name)
            if m is None:
                continue
            if name not in names:
                dim = ", ".join(sorted(set(f.dims) - project.dimensions_of(name)))
                note = (f"not computed by {f.grain}" if not project.grains_of(name, [f.grain])
                        else f"not broken down by {dim}" if dim
                        else "not stored by " + " and ".join(sorted(f.dims)) + " together")
                row.append(Tile(name, m.label or name, fmt.EMPTY, "", "", "none", "", "", _formula(project, name),
                                label, note=note))
                continue
            value = got.get((name, last))
            p = plans[name]
            d = p.judge(lambda day, name=name: got.get((name, day)), m.good, m.format)
            v = "none" if partial else d.verdict
            row.append(Tile(name, m.label or name, fmt.value(value, m.format),
                            fmt.change(d.change, m.format), fmt.pct(d.pct), v, fmt.arrow(d.change, v, m.format),
                            spark([got.get((name, p)) for p in periods]), _formula(project, name), label,
                            alerts=tuple(by_metric.get(name, ())),
                            compared=p.label))
        out.append((title, row))
    return out


def empty_range(store, tiles) -> str | None:
    """What to say when no tile of the range has a number: where the data is (or that there is none)."""
    shown = [t for _, row in tiles for t in row if not t.note]  # not "not broken down by tenant"
    if not shown or any(t.value != fmt.EMPTY for t in shown):
        return None
    span = read.data_span(store)
    if span is None:
        return "No data yet: run `daypulse compute` to fill the store."
    return f"No data in this range; data runs {span[0]:%-d %b %Y} → {span[1]:%-d %b %Y}."


def charts(project, store, f: Filters, metrics: list[str]) -> list[Chart]:
    """Trend charts over the range, each with the same number of periods just before it."""
    cal = project.calendar
    periods, before = window(cal, f)
    names = [m for m in metrics if m in project.metrics and shows(project, m, f.dims)]
    got = read.values(store, names, f.grain, before[0], periods[-1], dims_key(f.dims))
    out = []
    for name in names:
        m = project.metrics[name]
        values = [_float(got.get((name, p))) for p in periods]
        compare = [_float(got.get((name, p))) for p in before][-len(periods):]
        compare = [None] * (len(periods) - len(compare)) + compare
        out.append(Chart(name, m.label or name, m.format, "$", [p.isoformat() for p in periods],
                         values, compare, f"previous {len(periods)} {f.grain}s", f.grain))
    return out


def hour_chart(project, store, f: Filters, name: str) -> Chart | None:
    """The hours of the range's last day (opted in: the metric is computed by hour), each
    dashed against the same wall-clock hour of the day before. Labels are the hours' starts with
    their offsets, so an autumn day's two 01:00s are two points. None when nothing is stored."""
    if f.grain != "day" or not project.grains_of(name, ["hour"]) or not shows(project, name, f.dims):
        return None
    day = f.end
    hours = read.hours_of_day(store, project.calendar, name, day, dims_key(f.dims))
    if not hours:
        return None
    m = project.metrics[name]
    return Chart(name, f"{m.label or name} by hour, {day:%a} {day.day} {day:%b %Y}", m.format, "$",
                 [label for label, _, _ in hours], [_float(v) for _, v, _ in hours],
                 [_float(b) for _, _, b in hours], "the same hour the day before", "hour")


def table(project, store, f: Filters, name: str) -> list[dict]:
    """A metric's periods, newest first: value, the period before, change."""
    cal = project.calendar
    m = project.metrics[name]
    periods, _ = window(cal, f)
    plans = {p: judgement.plan(cal, "previous", f.grain, m, p) for p in periods}
    first = min([periods[0], *(d for pl in plans.values() for d in pl.dates)])
    got = read.values(store, [name], f.grain, first, periods[-1], dims_key(f.dims))
    rows = []
    for p in reversed(periods):
        pl = plans[p]
        value, before = got.get((name, p)), got.get((name, pl.base)) if pl.base else None
        d = pl.judge(lambda day: got.get((name, day)), m.good, m.format)
        partial = "" if f.over(cal, p) else " (so far)"  # a period not over gets no colour
        rows.append({"period": period_label(cal, f.grain, p) + partial, "start": p.isoformat(),
                     "value": fmt.value(value, m.format),
                     "previous": fmt.value(before, m.format),
                     "change": fmt.change(d.change, m.format),
                     "verdict": "none" if partial else d.verdict,
                     "compared": pl.label.removeprefix("vs ")})
    return rows


BREAKDOWN_TOP = 12  # rows a metric page shows by each dimension before "+K more"


@dataclass(frozen=True)
class BreakdownRow:
    key: str  # the dimension value as stored (links and filters take it)
    value: str  # the number formatted
    label: str  # what is shown: its label, else the value
    share: str  # of the total ("42%"), "" where a share means nothing (a rate, an average)


@dataclass(frozen=True)
class Breakdown:
    dimension: str
    rows: list[BreakdownRow]  # every value, largest first
    total: str  # the metric's value for the filter, formatted
    top: int = BREAKDOWN_TOP

    @property
    def shown(self) -> list[BreakdownRow]:
        return self.rows[:self.top]

    @property
    def more(self) -> list[BreakdownRow]:
        return self.rows[self.top:]


def breakdown(project, store, f: Filters, name: str, dimension: str) -> Breakdown | None:
    """The range's last period by one dimension, largest first (within the filter), every value:
    the page shows the first ``BREAKDOWN_TOP`` and the others behind "+K more", with each one's
    share of the total where values add up (counts, sums, money)."""
    cal = project.calendar
    m = project.metrics[name]
    last = window(cal, f)[0][-1]
    got = read.by_dimension(store, [name], f.grain, last, last, dimension, within=f.dims)
    ranked = sorted(((v, k) for (_, _, k), v in got.items() if is_number(v)), reverse=True)
    if not ranked:
        return None
    shown = labels.of(store, dimension, [k for _, k in ranked])
    total = read.values(store, [name], f.grain, last, last, dims_key(f.dims)).get((name, last))
    shares = is_number(total) and total > 0 and m.format in ("integer", "number", "currency", "duration") \
        and getattr(m, "measure", None) in ("count", "count_distinct", "sum")
    return Breakdown(dimension, [BreakdownRow(k, fmt.value(v, m.format), shown.get(k, k),
                                              f"{float(v) / float(total):.0%}" if shares else "")
                                 for v, k in ranked], fmt.value(total, m.format), BREAKDOWN_TOP)


@dataclass(frozen=True)
class Alert:
    """A threshold breach as the page shows it."""

    metric: str
    label: str
    text: str  # "0.3% is above 0.2% (Mon 16 Nov 2026)"
    severity: str
    note: str | None
    dims: dict
    grain: str
    period_start: date | None = None

    def shown_in(self, f: Filters, metrics, cal: Calendar) -> bool:
        """Whether the alert belongs to what a page shows: its grain, one of its metrics, its
        dimension values and a period inside its range (a January 2020 range shows none of today's)."""
        return (self.grain == f.grain and self.metric in metrics and self.dims == f.dims
                and self.period_start is not None
                and cal.period_start(f.grain, f.start) <= self.period_start <= f.end)


def alerts(project, breaches) -> list[Alert]:
    cal = project.calendar
    out = []
    for b in breaches:
        m = project.metrics[b.metric]
        when = period_label(cal, b.grain, b.period_start)
        where = "".join(f" · {k} {v}" for k, v in sorted(b.dims.items()))
        out.append(Alert(b.metric, m.label or b.metric, f"{fmt.value(b.value, m.format)} is {b.op} "
                         f"{fmt.value(b.limit, m.format)} ({when}{where})", b.severity, b.note, dict(b.dims),
                         b.grain, b.period_start))
    return out


@dataclass(frozen=True)
class Choice:
    """One dimension's values in the filter menu; ``more`` counts those left out of it;
    ``labels`` are the values' labels where they have one (what the menu shows; it filters by
    the value)."""

    values: list[str]
    more: int = 0
    labels: dict[str, str] = field(default_factory=dict)


def dimension_values(store, metrics: list[str], f: Filters, limit: int = MENU_VALUES) -> dict[str, Choice]:
    """{dimension: values} stored for these metrics in the range (single-dimension rows):
    what the filter menu offers. The values now filtered on are always offered, so the menu
    shows what the page shows even when they are past the limit (reached from a link)."""

    out: dict[str, set[str]] = {}
    for key in read.dims_keys(store, metrics, f.grain, f.start, f.end):
        single = _single(key)
        if single:
            out.setdefault(single[0], set()).add(single[1])
    menu = {}
    for dim in sorted(set(out) | set(f.dims)):
        names = labels.of(store, dim, [*out.get(dim, ()), *([f.dims[dim]] if dim in f.dims else [])])

        def order(v: str, names=names) -> tuple[str, str]:
            return names.get(v, v), v  # as the menu reads: by label

        found = sorted(out.get(dim, ()), key=order)
        shown = found[:limit]
        if dim in f.dims and f.dims[dim] not in shown:
            shown = sorted([*shown, f.dims[dim]], key=order)
        menu[dim] = Choice(shown, max(0, len(found) - limit), {v: names[v] for v in shown if v in names})
    return menu


def _single(key: str) -> tuple[str, str] | None:
    """(name, value) of a one-dimension ``dims_key`` (``tenant=acme``, values escaped with a
    backslash); None for a key of several dimensions."""
    name, sep, rest = key.partition("=")
    if not sep:
        return None
    value, i = [], 0
    while i < len(rest):
        c = rest[i]
        if c == "\\" and i + 1 < len(rest):
            value.append(rest[i + 1])
            i += 2
            continue
        if c == ";":
            return None  # a second dimension follows
        value.append(c)
        i += 1
    return name, "".join(value)


def spark(values: list, width: float = 100, height: float = 28) -> str:
    """SVG polyline points for a sparkline (gaps skipped); '' with fewer than two numbers."""
    nums = [(i, float(v)) for i, v in enumerate(values) if is_number(v)]
    if len(nums) < 2:
        return ""
    lo, hi = min(v for _, v in nums), max(v for _, v in nums)
    span = (hi - lo) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in nums)


def period_label(cal: Calendar, grain: str, start: date) -> str:
    if grain == "day":
        return f"{start:%a %d %b %Y}"
    if grain == "week":
        return f"week of {start:%d %b %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{start:%B %Y}"


def now_label(project) -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(project.timezone)).strftime("%H:%M:%S %Z")


def _formula(project, name: str) -> str:
    return describe(project, name)


def _float(v):
    return float(v) if is_number(v) else None
