"""The data behind a report's charts, read from the store, drawn by ``charts.render_chart``."""

from __future__ import annotations

import re
from datetime import timedelta

from daypulse import judgement
from daypulse.report.model import ChartImage
from daypulse.store import labels as stored_labels
from daypulse.store import read
from daypulse.values import in_format


def build_charts(project, store, cal, spec, period, key: str) -> list[ChartImage]:
    from daypulse.report.charts import render_chart  # lazy here and below: matplotlib

    out = []
    for i, c in enumerate(spec.charts, 1):
        if c.metric not in project.metrics:
            continue
        m = project.metrics[c.metric]
        label = m.label or c.metric
        if c.kind == "line":
            data = _line(project, store, cal, spec, period, c, label, key)
        elif c.kind == "bar":
            data = _bar(project, store, cal, spec, period, c, label)
        elif c.kind == "hours":
            data = _hours(project, store, cal, period, c, label, key)
        else:
            data = _heatmap(project, store, period, c, label, spec.filter)
        if data is None:
            continue
        png = render_chart(data)
        out.append(ChartImage(f"chart-{i}-{re.sub('[^a-z0-9]+', '-', c.metric)}", data.title, png.alt,
                              png.data, png.width, png.height))
    return out


def _line(project, store, cal, spec, period, c, label, key):
    from daypulse.report.charts import LineData

    m = project.metrics[c.metric]
    starts = [cal.shift(spec.period, period.start, n) for n in range(2 * c.periods - 1, -1, -1)]
    vals = read.values(store, [c.metric], spec.period, starts[0], period.start, key)
    series = [in_format(vals.get((c.metric, s)), m.format) for s in starts]
    unit = {"day": "days", "week": "weeks", "month": "months", "quarter": "quarters"}[spec.period]
    return LineData(title=c.title or f"{label}, last {c.periods} {unit}", x=starts[c.periods:],
                    values=series[c.periods:], compare=series[:c.periods],
                    compare_label=f"previous {c.periods} {unit}", fmt=m.format, good=m.good,
                    grain=spec.period)


def _bar(project, store, cal, spec, period, c, label):
    from daypulse.report.charts import BarData

    m = project.metrics[c.metric]
    # The ticks: the period the metric's line compares with (a month-to-date one: the same day last month).
    prev = judgement.base_start(cal, "previous", spec.period, period.start,
                                judgement.to_date_reset(m, spec.period)) or period.start
    rows = read.by_dimension(store, [c.metric], spec.period, min(prev, period.start), period.start, c.by,
                             spec.filter)
    now = {v: in_format(x, m.format) for (_, p, v), x in rows.items() if p == period.start}
    if not now:
        return None
    shown = stored_labels.of(store, c.by, now)  # names for ids (dimensions: labels:)
    order = sorted(now, key=lambda v: (now[v] is None, -(now[v] or 0), shown.get(v, v), v))[:c.top]
    before = {v: in_format(x, m.format) for (_, p, v), x in rows.items() if p == prev and prev != period.start}
    return BarData(title=c.title or f"{label} by {c.by}", labels=[shown.get(v, v) for v in order],
                   values=[now[v] for v in order],
                   fmt=m.format, compare=[before.get(v) for v in order])


def _hours(project, store, cal, period, c, label, key):
    """The local hours of the report's last day, each against the same hour the day before:
    23, 24 or 25 bars ("00".."23"; a repeated hour is shown twice with its offset)."""
    from daypulse.report.charts import BarData

    m = project.metrics[c.metric]
    hours = read.hours_of_day(store, cal, c.metric, period.end, key)
    if not hours:
        return None
    wall = [label[11:13] for label, _, _ in hours]
    names = [h if wall.count(h) == 1 else f"{h} ({label[16:19]})" for h, (label, _, _) in zip(wall, hours)]
    day = period.end
    return BarData(title=c.title or f"{label} by hour, {day:%a} {day.day} {day:%b %Y}", labels=names,
                   values=[in_format(v, m.format) for _, v, _ in hours], fmt=m.format,
                   compare=[in_format(b, m.format) for _, _, b in hours], horizontal=False,
                   compare_label="the same hour the day before")


def _heatmap(project, store, period, c, label, filter_):
    from daypulse.report.charts import HeatmapData

    m = project.metrics[c.metric]
    first = period.end - timedelta(days=c.periods - 1)
    rows = read.by_dimension(store, [c.metric], "day", first, period.end, c.by, filter_)
    if not rows:
        return None
    cols = sorted({v for (_, _, v) in rows})
    days = [first + timedelta(days=n) for n in range(c.periods)]
    values = [[in_format(rows.get((c.metric, d, h)), m.format) for h in cols] for d in days]
    return HeatmapData(title=c.title or f"{label} by {c.by}, last {c.periods} days",
                       rows=[f"{d:%a} {d.day} {d:%b}" for d in days], cols=cols, values=values,
                       fmt=m.format)
