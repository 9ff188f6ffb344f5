// daypulse dashboard: draws the trend charts (uPlot, vendored) and filters the glossary.
// Charts are (re)drawn whenever HTMX brings new content (filters, auto-refresh).
(function () {
  "use strict";

  function formatter(fmt, currency) {
    const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
    const full = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
    return {
      tick(v) {
        if (v == null) return "";
        if (fmt === "currency") return currency + compact.format(v / 100);
        if (fmt === "percent") return (v * 100).toFixed(Math.abs(v) < 0.1 ? 1 : 0) + "%";
        return compact.format(v);
      },
      value(v) {
        if (v == null) return "—";
        if (fmt === "currency") return currency + full.format(v / 100);
        if (fmt === "percent") return (v * 100).toFixed(1) + "%";
        return full.format(v);
      },
    };
  }

  // Whole steps for counts: an axis of people or events never reads 2.5.
  const WHOLE = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 2.5e4, 5e4,
                 1e5, 2e5, 2.5e5, 5e5, 1e6, 2e6, 5e6, 1e7];

  function draw(figure) {
    if (figure.dataset.drawn || typeof uPlot === "undefined") return;
    const data = JSON.parse(figure.querySelector("script[type='application/json']").textContent);
    const plot = figure.querySelector(".plot");
    const f = formatter(data.format, data.currency);
    if (data.grain === "hour") return drawHours(figure, plot, data, f);
    const xs = data.labels.map((d) => Date.parse(d + "T00:00:00Z") / 1000);
    const width = () => Math.max(plot.clientWidth, 200);
    const DAY = 86400;
    const dateText = new Intl.DateTimeFormat(undefined, data.grain === "month"
      ? { month: "short", year: "numeric", timeZone: "UTC" } : { month: "short", day: "numeric", timeZone: "UTC" });
    const quarterText = (d) => "Q" + (Math.floor(d.getUTCMonth() / 3) + 1) + " " + d.getUTCFullYear();
    const periodText = (ts) => (ts == null ? "—" : data.grain === "quarter" ? quarterText(new Date(ts * 1e3))
      : (data.grain === "week" ? "week of " : "") + dateText.format(new Date(ts * 1e3)));
    const tickText = (ts) => (ts == null ? "" : data.grain === "quarter" ? quarterText(new Date(ts * 1e3))
      : dateText.format(new Date(ts * 1e3)));
    // Ticks fall on whole periods: days, weeks, months or quarters, never hours.
    const incrs = data.grain === "quarter" ? [91 * DAY, 182 * DAY, 365 * DAY]
      : data.grain === "month" ? [30 * DAY, 91 * DAY, 182 * DAY, 365 * DAY]
      : data.grain === "week" ? [7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY] : [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY];
    const opts = {
      width: width(),
      height: Number(figure.dataset.height || 220),
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      // Ticks say the period short ("Nov 23", "Nov 2026", "Q4 2026"); the legend says it whole.
      axes: [{ incrs, space: 56, values: (u, vals) => vals.map(tickText) },
             { values: (u, vals) => vals.map(f.tick), size: 60,
               incrs: data.format === "integer" ? WHOLE : undefined }],
      series: [
        { label: data.grain === "month" ? "Month" : data.grain === "quarter" ? "Quarter" : "Period",
          value: (u, ts) => periodText(ts) },
        { label: "This range", stroke: "#2457c5", width: 2, value: (u, v) => f.value(v), spanGaps: false },
        { label: "Previous", stroke: "#98a2b3", width: 1.5, dash: [5, 4], value: (u, v) => f.value(v) },
      ],
    };
    const series = [xs, data.values, data.compare];
    if (data.marks && data.marks.length) {  // alert events: a red point on the period they opened
      const at = new Set(data.marks.map((m) => m.label));
      opts.series.push({ label: "Alert", stroke: "#b42318", width: 0, paths: () => null,
                         points: { show: true, size: 10, fill: "#b42318", stroke: "#b42318" },
                         value: (u, v) => (v == null ? "—" : "⚑") });
      series.push(data.labels.map((l, i) => (at.has(l) ? data.values[i] : null)));
    }
    // At rest the legend shows the latest period's values (not "—"); hovering shows the hovered.
    const last = data.values.reduce((at, v, i) => (v == null ? at : i), data.values.length - 1);
    opts.hooks = { setCursor: [(u) => { if (u.cursor.idx == null) u.setLegend({ idx: last }); }] };
    const chart = new uPlot(opts, series, plot);
    chart.setLegend({ idx: last });
    figure.dataset.drawn = "1";
    new ResizeObserver(() => chart.setSize({ width: width(), height: opts.height })).observe(plot);
  }

  // Hours are drawn by position, not on a time axis: a label is the hour's start with its
  // offset ("01:00-04:00", "01:00-05:00"), and a 23- or 25-hour day has that many points.
  function drawHours(figure, plot, data, f) {
    const xs = data.labels.map((_, i) => i);
    const text = (i) => (Number.isInteger(i) && data.labels[i] ? data.labels[i].slice(11) : "");
    const width = () => Math.max(plot.clientWidth, 200);
    const opts = {
      width: width(),
      height: Number(figure.dataset.height || 220),
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [{ incrs: [1, 2, 3, 6], space: 40, values: (u, vals) => vals.map((i) => text(i).slice(0, 5)) },
             { values: (u, vals) => vals.map(f.tick), size: 60 }],
      series: [
        { label: "Hour", value: (u, i) => text(i) || "—" },
        { label: "This day", stroke: "#2457c5", width: 2, value: (u, v) => f.value(v), spanGaps: false },
        { label: "Day before", stroke: "#98a2b3", width: 1.5, dash: [5, 4], value: (u, v) => f.value(v) },
      ],
    };
    const chart = new uPlot(opts, [xs, data.values, data.compare], plot);
    figure.dataset.drawn = "1";
    new ResizeObserver(() => chart.setSize({ width: width(), height: opts.height })).observe(plot);
  }

  function init(root) {
    root.querySelectorAll("figure.chart").forEach(draw);
    root.querySelectorAll("input[data-filter]").forEach((input) => {
      input.addEventListener("input", () => {
        const q = input.value.trim().toLowerCase();
        document.querySelectorAll(input.dataset.filter).forEach((row) => {
          row.hidden = q && !row.textContent.toLowerCase().includes(q);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    init(document);
    if (window.htmx) htmx.onLoad((el) => { if (el !== document.body) init(el); });
  });
})();
