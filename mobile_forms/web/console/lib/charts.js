// The dashboard's charts, drawn by Observable Plot (vendor/plot, with d3 in vendor/d3: pinned, with their
// licences; vendor/refresh.sh). This module is imported only by the dashboard's pages, and it adds the two
// libraries' <script> tags only when they call loadPlot(), so no other page fetches them.
// Readable in greyscale and for colour-blind readers: shapes and line styles tell own from competitor (a filled
// circle and a solid line for own, a hollow square and a dashed line for competitors), the heatmap is one hue,
// darker is worse. "Not enough data" is written in the chart, never drawn as a mark. Every chart's numbers are
// in the table beside it (the pages draw those).
// Each mark is tagged with data-* attributes (what it stands for), which the browser tests read.

const INK = "#1b1f24";
const MUTED = "#4a5561";
const GRID = "#c4ccd4";
// The heatmap's shades 0 (best) … 4 (worst): one hue (ColorBrewer Blues), darker is worse (console.css's
// .heat-0 … .heat-4 legend swatches are the same colours).
const HEAT = ["#f7fbff", "#deebf7", "#9ecae1", "#2171b5", "#08306b"];
const LIBRARIES = ["../../vendor/d3/d3.min.js", "../../vendor/plot/plot.umd.min.js"];

let loading = null;

function script(src) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement("script");
    tag.src = src;
    tag.onload = resolve;
    tag.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(tag);
  });
}

/** Loads d3 and then Plot (Plot's UMD build reads the global d3) once; resolves to Plot. */
export function loadPlot() {
  if (globalThis.Plot) return Promise.resolve(globalThis.Plot);
  loading ||= LIBRARIES.reduce((previous, path) => previous.then(() => script(new URL(path, import.meta.url).href)),
    Promise.resolve()).then(() => globalThis.Plot, (error) => { loading = null; throw error; });
  return loading;
}

function plot() {
  if (!globalThis.Plot) throw new Error("loadPlot() first");
  return globalThis.Plot;
}

/**
 * A mark's render option that tags what it drew: `mark(data)` sets attributes on the mark's group (one series),
 * `each(datum)` on the element drawn for each datum (marks that draw one element a datum, in index order).
 */
function tag(data, { mark, each } = {}) {
  return (index, scales, values, dimensions, context, next) => {
    const group = next(index, scales, values, dimensions, context);
    if (!group) return group;
    if (mark) for (const [key, value] of Object.entries(mark(data))) group.setAttribute(key, String(value));
    if (each) {
      const nodes = [...group.children];
      index.forEach((i, k) => {
        for (const [key, value] of Object.entries(each(data[i]))) nodes[k]?.setAttribute(key, String(value));
      });
    }
    return group;
  };
}

/** The svg as one image named by its title: Plot's names of its parts (aria-label on <g>s, which no role
 * permits) are dropped; the numbers are in the table beside it. */
function finish(svg, title) {
  for (const part of svg.querySelectorAll("[aria-label], [aria-description]")) {
    part.removeAttribute("aria-label");
    part.removeAttribute("aria-description");
  }
  svg.classList.add("chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  const name = document.createElementNS("http://www.w3.org/2000/svg", "title");
  name.textContent = title;
  svg.prepend(name);
  return svg;
}

/** The chart in a <figure> with its legend above it: each entry's shape (a character) or line style, and its name. */
function figure(svg, legend) {
  const box = document.createElement("figure");
  box.className = "chart-figure";
  if (legend.length) {
    const list = document.createElement("p");
    list.className = "chart-legend";
    list.setAttribute("aria-hidden", "true");  // the svg's title says the same
    for (const entry of legend) {
      const item = document.createElement("span");
      item.dataset.legend = entry.key;
      const sample = document.createElement("span");
      sample.className = entry.line ? `legend-line legend-${entry.line} legend-${entry.key}` : "legend-symbol";
      sample.textContent = entry.symbol || "";
      item.append(sample, ` ${entry.text}`);
      list.append(item);
    }
    box.append(list);
  }
  box.append(svg);
  return box;
}

const STYLE = { fontSize: "12px", color: INK, background: "transparent", overflow: "visible" };

function short(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The interval chart's rows split into what is drawn (an estimate on its 95% interval, the interval's ends
 * defaulting to the estimate) and what is written (too few reports). Each keeps its row's position `at`.
 * Pure, so node tests check it.
 */
export function intervalRows(rows) {
  const drawn = [];
  const written = [];
  rows.forEach((row, at) => {
    const { score } = row;
    if (!score.enough_data || score.mean === null) written.push({ ...row, at, n: score.n });
    else drawn.push({ ...row, at, n: score.n, mean: score.mean, low: score.ci_low ?? score.mean,
      high: score.ci_high ?? score.mean });
  });
  return { drawn, written };
}

/**
 * rows: [{label, relation: "own"|"competitor", score: {n, mean, ci_low, ci_high, enough_data}}]
 * → a <figure> (legend, <svg>) with one line per row on a 0–100 scale: the estimate (own a filled circle, competitor a hollow
 * square) on its 95% interval; texts: {notEnough(n), title, own, competitor}.
 */
export function intervalChart(rows, texts, { width = 760, rowHeight = 26 } = {}) {
  const Plot = plot();
  const { drawn, written } = intervalRows(rows);
  const labels = rows.map((row) => row.label);
  const row = (d) => ({ "data-row": d.label });
  const svg = Plot.plot({
    width, height: 58 + rows.length * rowHeight, marginLeft: 230, marginRight: 100, marginTop: 10, style: STYLE,
    x: { domain: [0, 100], ticks: [0, 20, 40, 60, 80, 100], label: null },
    y: { type: "band", domain: rows.map((_, at) => at), tickFormat: (at) => short(labels[at], 32), label: null, tickSize: 0 },
    marks: [
      Plot.gridX({ ticks: [0, 20, 40, 60, 80, 100], stroke: GRID, strokeOpacity: 1, strokeDasharray: "2 3" }),
      Plot.axisX({ ticks: [0, 20, 40, 60, 80, 100], label: null }),
      Plot.ruleY(drawn, { y: "at", x1: "low", x2: "high", stroke: INK, strokeWidth: 2,
        render: tag(drawn, { each: (d) => ({ ...row(d), "data-interval": `${d.low} ${d.high}` }) }) }),
      Plot.tickX(drawn, { y: "at", x: "low", stroke: INK, strokeWidth: 2, inset: rowHeight / 2 - 6 }),
      Plot.tickX(drawn, { y: "at", x: "high", stroke: INK, strokeWidth: 2, inset: rowHeight / 2 - 6 }),
      Plot.dot(drawn, { y: "at", x: "mean", symbol: (d) => (d.relation === "own" ? "circle" : "square"), r: 6,
        fill: (d) => (d.relation === "own" ? INK : "#fff"), stroke: INK, strokeWidth: 2,
        title: (d) => `${d.label}: ${d.mean.toFixed(1)} (${d.low.toFixed(1)}–${d.high.toFixed(1)}, n=${d.n})`,
        render: tag(drawn, { each: (d) => ({ ...row(d), "data-value": d.mean, "data-relation": d.relation }) }) }),
      Plot.text(drawn, { y: "at", frameAnchor: "right", dx: 96, textAnchor: "end", text: (d) => `${d.mean.toFixed(1)} (n=${d.n})` }),
      Plot.text(written, { y: "at", x: 0, dx: 4, textAnchor: "start", fontStyle: "italic", fill: MUTED,
        text: (d) => texts.notEnough(d.n), render: tag(written, { each: (d) => ({ ...row(d), "data-not-enough": "" }) }) }),
    ],
  });
  return figure(finish(svg, texts.title), [
    { key: "own", symbol: "●", text: texts.own }, { key: "competitor", symbol: "□", text: texts.competitor }]);
}

/**
 * Kaplan–Meier series [{label, relation, curve: [{time, survival, ci_low, ci_high}]}] as what the chart draws:
 * own first; each with its line style (own solid, competitors dashed) and the time axis's end. Pure, so node
 * tests check it.
 */
export function survivalSeries(series) {
  const drawn = series.filter((s) => s.curve?.length)
    .map((s) => ({ ...s, dash: s.relation === "own" ? null : "7 4", width: s.relation === "own" ? 2.5 : 2 }))
    .sort((a, b) => (a.relation === "own" ? 0 : 1) - (b.relation === "own" ? 0 : 1));
  const maxTime = Math.max(1, ...drawn.flatMap((s) => s.curve.map((p) => p.time)));
  return { drawn, maxTime };
}

/**
 * Kaplan–Meier curves → a <figure> (legend, <svg>): the share still waiting (100 % → 0) against time, step lines (each change
 * at its time) with their 95% band lightly shaded; own solid, competitors dashed, named in a legend of the
 * lines themselves. texts: {title, xLabel, yLabel}.
 */
export function survivalChart(series, texts, { width = 760, height = 320 } = {}) {
  const Plot = plot();
  const { drawn, maxTime } = survivalSeries(series);
  const marks = [
    Plot.gridY([0, 0.25, 0.75, 1], { stroke: GRID, strokeOpacity: 1, strokeDasharray: "2 3" }),
    Plot.ruleY([0.5], { stroke: GRID }),
  ];
  for (const s of drawn) {
    const own = s.relation === "own";
    marks.push(
      Plot.areaY(s.curve, { x: "time", y1: "ci_low", y2: "ci_high", curve: "step-after", fill: own ? INK : "#6b7785",
        fillOpacity: own ? 0.12 : 0.1, render: tag(s, { mark: (d) => ({ "data-band": d.label }) }) }),
      Plot.line(s.curve, { x: "time", y: "survival", curve: "step-after", stroke: own ? INK : MUTED,
        strokeWidth: s.width, strokeDasharray: s.dash,
        render: tag(s, { mark: (d) => ({ "data-curve": d.label, "data-relation": d.relation, "data-dash": d.dash || "" }) }) }),
    );
  }
  const svg = Plot.plot({
    width, height, marginLeft: 56, marginRight: 20, marginTop: 30, marginBottom: 44, style: STYLE,
    x: { domain: [0, maxTime], nice: true, label: texts.xLabel, labelAnchor: "center", labelArrow: "none" },
    y: { domain: [0, 1], ticks: [0, 0.25, 0.5, 0.75, 1], tickFormat: (share) => `${share * 100} %`, label: texts.yLabel,
      labelArrow: "none" },
    marks,
  });
  return figure(finish(svg, texts.title), drawn.map((s) => ({ key: s.relation, line: s.dash ? "dashed" : "solid",
    text: s.label })));
}

/**
 * Heatmap cells [{weekday 1–7, hour 0–23, level 0–4 | null, text, title}] → an <svg> grid, weekdays down and
 * hours across (the page writes its legend): each cell with enough data shaded by its level (darker is worse)
 * with its figure written in it; a cell with too few contacts is written "n<", not shaded.
 * texts: {title, weekday(day)}.
 */
export function heatmapChart(cells, texts, { width = 760 } = {}) {
  const Plot = plot();
  const shaded = cells.filter((c) => c.level !== null);
  const written = cells.filter((c) => c.level === null);
  const where = (c) => ({ "data-cell": `${c.weekday}:${c.hour}` });
  const svg = Plot.plot({
    width, height: 7 * 28 + 50, marginLeft: 90, marginTop: 28, marginBottom: 10, style: STYLE, padding: 0.06,
    x: { type: "band", domain: [...Array(24).keys()], axis: "top", label: null, tickSize: 0 },
    y: { type: "band", domain: [1, 2, 3, 4, 5, 6, 7], tickFormat: texts.weekday, label: null, tickSize: 0 },
    marks: [
      // Every slot's outline, so the empty ones (no contacts) read as a grid too.
      Plot.cell([1, 2, 3, 4, 5, 6, 7].flatMap((weekday) => [...Array(24).keys()].map((hour) => ({ weekday, hour }))),
        { x: "hour", y: "weekday", fill: "none", stroke: "#eef2f6" }),
      Plot.cell(shaded, { x: "hour", y: "weekday", fill: (c) => HEAT[c.level], stroke: GRID, strokeWidth: 0.5,
        title: "title", render: tag(shaded, { each: (c) => ({ ...where(c), "data-shade": c.level, "data-value": c.value }) }) }),
      Plot.text(shaded, { x: "hour", y: "weekday", text: "text", fontSize: 10, fill: (c) => (c.level >= 3 ? "#fff" : INK) }),
      Plot.text(written, { x: "hour", y: "weekday", text: () => "n<", fontSize: 10, fontStyle: "italic", fill: MUTED,
        title: "title", render: tag(written, { each: (c) => ({ ...where(c), "data-not-enough": "" }) }) }),
    ],
  });
  return finish(svg, texts.title);
}

/**
 * A trend's periods [{label, figure: {n, value, ci_low, ci_high, enough_data}, target: {target} | null}] as what
 * the chart draws: the estimates with their interval, the targets, and the periods written "not enough data".
 * Pure, so node tests check it.
 */
export function trendMarks(points) {
  const drawn = [];
  const written = [];
  const targets = [];
  points.forEach((point, at) => {
    const { figure } = point;
    if (point.target) targets.push({ label: point.label, at, target: point.target.target });
    if (!figure.enough_data || figure.value === null) written.push({ label: point.label, at, n: figure.n });
    else drawn.push({ label: point.label, at, n: figure.n, value: figure.value, low: figure.ci_low ?? figure.value,
      high: figure.ci_high ?? figure.value });
  });
  return { drawn, written, targets };
}

/**
 * A trend → a <figure> (legend when there are targets, <svg>) on a 0–100 scale, one column a period in time order: the estimate as a dot on its 95%
 * interval, the estimates joined by a line, the target that applies as a dashed rule across the column (its
 * gap is listed in the table beside the chart). A period without enough data is written, never drawn.
 * texts: {title, notEnough(n), target}.
 */
export function trendChart(points, texts, { width = 760, height = 300 } = {}) {
  const Plot = plot();
  const { drawn, written, targets } = trendMarks(points);
  const labels = points.map((p) => p.label);
  const every = points.length > 12 ? Math.ceil(points.length / 12) : 1;
  const column = (width - 60) / Math.max(1, points.length);
  const cap = Math.max(0, column * 0.9 / 2 - 5);
  const period = (d) => ({ "data-period": d.label });
  const marks = [
    Plot.gridY({ ticks: [0, 20, 40, 60, 80, 100], stroke: GRID, strokeOpacity: 1, strokeDasharray: "2 3" }),
    Plot.line(drawn, { x: "at", y: "value", stroke: MUTED, strokeWidth: 1, strokeOpacity: 0.6 }),
    Plot.ruleY(targets, { y: "target", x1: "at", x2: "at", stroke: INK, strokeWidth: 2, strokeDasharray: "5 3",
      render: tag(targets, { each: (d) => ({ ...period(d), "data-target": d.target }) }) }),
    Plot.ruleX(drawn, { x: "at", y1: "low", y2: "high", stroke: INK, strokeWidth: 2,
      render: tag(drawn, { each: (d) => ({ ...period(d), "data-interval": `${d.low} ${d.high}` }) }) }),
    Plot.tickY(drawn, { x: "at", y: "low", stroke: INK, strokeWidth: 2, inset: cap }),
    Plot.tickY(drawn, { x: "at", y: "high", stroke: INK, strokeWidth: 2, inset: cap }),
    Plot.dot(drawn, { x: "at", y: "value", r: 5, fill: INK, title: (d) => `${d.label}: ${d.value.toFixed(1)} (n=${d.n})`,
      render: tag(drawn, { each: (d) => ({ ...period(d), "data-value": d.value }) }) }),
    Plot.text(written, { x: "at", y: 0, dy: -8, fontStyle: "italic", fill: MUTED, lineWidth: Math.max(4, column / 7),
      text: (d) => texts.notEnough(d.n), render: tag(written, { each: (d) => ({ ...period(d), "data-not-enough": "" }) }) }),
  ];
  const svg = Plot.plot({
    width, height, marginLeft: 44, marginRight: 16, marginTop: 16, marginBottom: 58, style: STYLE,
    x: { type: "band", domain: points.map((_, at) => at), padding: 0.1, label: null, tickSize: 0,
      tickFormat: (at) => (at % every === 0 ? short(labels[at], 14) : "") },
    y: { domain: [0, 100], ticks: [0, 20, 40, 60, 80, 100], label: null },
    marks,
  });
  return figure(finish(svg, texts.title), targets.length ? [{ key: "target", line: "dashed", text: texts.target }] : []);
}
