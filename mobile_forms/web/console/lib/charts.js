// SVG charts drawn here (no library): estimates with 95% intervals as error bars. Shapes, not colour,
// tell own (filled circle) from competitor (hollow square), so they read in greyscale and for colour-blind
// readers; "not enough data" is written out in the row, never drawn as a bar. Kaplan–Meier curves as step
// lines, own solid and competitors dashed. Loaded only by the dashboard.

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * rows: [{label, relation: "own"|"competitor", score: {n, mean, ci_low, ci_high, enough_data}}]
 * → an <svg> with one line per row on a 0–100 scale; texts: {notEnough(n), title, own, competitor}.
 */
export function intervalChart(rows, texts, { width = 760, rowHeight = 26, labelWidth = 230 } = {}) {
  const top = 28;
  const plotWidth = width - labelWidth - 110;
  const height = top + rows.length * rowHeight + 30;
  const x = (value) => labelWidth + (Math.max(0, Math.min(100, value)) / 100) * plotWidth;
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": texts.title });
  svg.append(el("title", {}, texts.title));
  for (const tick of [0, 20, 40, 60, 80, 100]) {
    svg.append(el("line", { x1: x(tick), x2: x(tick), y1: top - 6, y2: height - 24, stroke: "#c4ccd4", "stroke-dasharray": "2 3" }));
    svg.append(el("text", { x: x(tick), y: height - 8, "text-anchor": "middle" }, String(tick)));
  }
  // Legend: the shapes themselves.
  svg.append(el("circle", { cx: labelWidth + 6, cy: 12, r: 5, fill: "#1b1f24" }));
  svg.append(el("text", { x: labelWidth + 16, y: 16 }, texts.own));
  svg.append(el("rect", { x: labelWidth + 120, y: 7, width: 10, height: 10, fill: "#fff", stroke: "#1b1f24", "stroke-width": 2 }));
  svg.append(el("text", { x: labelWidth + 136, y: 16 }, texts.competitor));
  rows.forEach((row, i) => {
    const y = top + i * rowHeight + rowHeight / 2;
    const group = el("g", { "data-row": row.label });
    group.append(el("text", { x: labelWidth - 8, y: y + 4, "text-anchor": "end" }, row.label.length > 32 ? `${row.label.slice(0, 31)}…` : row.label));
    const { score } = row;
    if (!score.enough_data || score.mean === null) {
      group.append(el("text", { x: labelWidth + 4, y: y + 4, "font-style": "italic", "data-not-enough": "" }, texts.notEnough(score.n)));
    } else {
      const low = score.ci_low ?? score.mean;
      const high = score.ci_high ?? score.mean;
      group.append(el("line", { x1: x(low), x2: x(high), y1: y, y2: y, stroke: "#1b1f24", "stroke-width": 2 }));
      for (const end of [low, high]) group.append(el("line", { x1: x(end), x2: x(end), y1: y - 6, y2: y + 6, stroke: "#1b1f24", "stroke-width": 2 }));
      group.append(row.relation === "own"
        ? el("circle", { cx: x(score.mean), cy: y, r: 6, fill: "#1b1f24" })
        : el("rect", { x: x(score.mean) - 6, y: y - 6, width: 12, height: 12, fill: "#fff", stroke: "#1b1f24", "stroke-width": 2 }));
      group.append(el("text", { x: width - 96, y: y + 4 }, `${score.mean.toFixed(1)} (n=${score.n})`));
    }
    svg.append(group);
  });
  return svg;
}

/**
 * The SVG path of a Kaplan–Meier step function: points [{time, survival}] (time ascending, the curve
 * starting at its first point) → "M x y H x V y …" with `x(time)`, `y(share)`. `key` picks the share
 * (survival, ci_low or ci_high). Pure, so node tests check it.
 */
export function stepPath(points, x, y, key = "survival") {
  if (!points.length) return "";
  const r = (v) => Math.round(v * 10) / 10;
  let path = `M${r(x(points[0].time))} ${r(y(points[0][key]))}`;
  for (const point of points.slice(1)) path += ` H${r(x(point.time))} V${r(y(point[key]))}`;
  return path;
}

/** The 95% band of a step function as one closed path: its upper edge forward, its lower edge back. */
export function bandPath(points, x, y) {
  if (!points.length) return "";
  const r = (v) => Math.round(v * 10) / 10;
  const back = [...points].reverse();
  let path = `${stepPath(points, x, y, "ci_high")} L${r(x(back[0].time))} ${r(y(back[0].ci_low))}`;
  for (const point of back.slice(1)) path += ` V${r(y(point.ci_low))} H${r(x(point.time))}`;
  return `${path} Z`;
}

/** Round axis ticks from 0 to the first at or past max, at 1, 2 or 5 × a power of ten. */
export function niceTicks(max, count = 5) {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let k = 0; ; k += 1) {
    const tick = Number((k * step).toPrecision(12));
    ticks.push(tick);
    if (tick >= max) return ticks;
  }
}

/**
 * Kaplan–Meier curves: series [{label, relation: "own"|"competitor", curve: [{time, survival, ci_low, ci_high}]}]
 * → an <svg>: share still waiting (100 % → 0) against time. Own is a solid line, competitors dashed, each with
 * its 95% band lightly shaded (line styles, not colour, tell them apart); texts: {title, xLabel, yLabel}.
 */
export function survivalChart(series, texts, { width = 760, height = 320 } = {}) {
  const left = 56;
  const right = 20;
  const top = 34;
  const bottom = 44;
  const drawn = series.filter((s) => s.curve?.length);
  const maxTime = Math.max(1, ...drawn.flatMap((s) => s.curve.map((p) => p.time)));
  const ticks = niceTicks(maxTime);
  const xMax = Math.max(maxTime, ticks[ticks.length - 1]);
  const x = (t) => left + (t / xMax) * (width - left - right);
  const y = (share) => top + (1 - share) * (height - top - bottom);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": texts.title });
  svg.append(el("title", {}, texts.title));
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", { x1: left, x2: width - right, y1: y(share), y2: y(share), stroke: "#c4ccd4",
      "stroke-dasharray": share === 0.5 ? "" : "2 3" }));
    svg.append(el("text", { x: left - 6, y: y(share) + 4, "text-anchor": "end" }, `${share * 100} %`));
  }
  for (const tick of ticks) {
    svg.append(el("line", { x1: x(tick), x2: x(tick), y1: height - bottom, y2: height - bottom + 5, stroke: "#1b1f24" }));
    svg.append(el("text", { x: x(tick), y: height - bottom + 18, "text-anchor": "middle" }, String(tick)));
  }
  svg.append(el("text", { x: (left + width - right) / 2, y: height - 6, "text-anchor": "middle" }, texts.xLabel));
  svg.append(el("text", { x: left, y: 14 }, texts.yLabel));
  drawn.forEach((s, i) => {
    const own = s.relation === "own";
    const group = el("g", { "data-curve": s.label });
    group.append(el("path", { d: bandPath(s.curve, x, y), fill: own ? "#1b1f24" : "#6b7785", "fill-opacity": own ? 0.12 : 0.1,
      stroke: "none", "data-band": "" }));
    group.append(el("path", { d: stepPath(s.curve, x, y), fill: "none", stroke: own ? "#1b1f24" : "#4a5561",
      "stroke-width": own ? 2.5 : 2, "stroke-dasharray": own ? "" : "7 4", "data-line": "" }));
    // Legend: a sample of the line itself and the name.
    const lx = left + 150 + i * 190;
    group.append(el("line", { x1: lx, x2: lx + 28, y1: 10, y2: 10, stroke: own ? "#1b1f24" : "#4a5561",
      "stroke-width": own ? 2.5 : 2, "stroke-dasharray": own ? "" : "7 4" }));
    group.append(el("text", { x: lx + 34, y: 14 }, s.label));
    svg.append(group);
  });
  return svg;
}

/**
 * A trend: points [{label, figure: {n, value, ci_low, ci_high, enough_data}, target: {target} | null}] in time
 * order → an <svg> on a 0–100 scale, one column a period: the estimate as a dot on its 95% interval, the
 * target that applies as a dashed rule across the column (its gap is listed in the table beside the chart).
 * A period without enough data is written, never drawn. texts: {title, notEnough, target}.
 */
export function trendChart(points, texts, { width = 760, height = 300 } = {}) {
  const left = 44;
  const right = 16;
  const top = 30;
  const bottom = 58;
  const step = (width - left - right) / Math.max(1, points.length);
  const x = (i) => left + step * (i + 0.5);
  const y = (value) => top + (1 - Math.max(0, Math.min(100, value)) / 100) * (height - top - bottom);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": texts.title });
  svg.append(el("title", {}, texts.title));
  for (const tick of [0, 20, 40, 60, 80, 100]) {
    svg.append(el("line", { x1: left, x2: width - right, y1: y(tick), y2: y(tick), stroke: "#c4ccd4", "stroke-dasharray": "2 3" }));
    svg.append(el("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end" }, String(tick)));
  }
  if (points.some((p) => p.target)) {
    svg.append(el("line", { x1: left + 4, x2: left + 32, y1: 12, y2: 12, stroke: "#1b1f24", "stroke-width": 2, "stroke-dasharray": "5 3" }));
    svg.append(el("text", { x: left + 38, y: 16 }, texts.target));
  }
  const everyOther = points.length > 12 ? Math.ceil(points.length / 12) : 1;
  points.forEach((point, i) => {
    const group = el("g", { "data-period": point.label });
    const { figure } = point;
    if (i % everyOther === 0) {
      group.append(el("text", { x: x(i), y: height - bottom + 18, "text-anchor": "middle" },
        point.label.length > 14 ? `${point.label.slice(0, 13)}…` : point.label));
    }
    if (point.target) {
      const half = Math.min(step / 2 - 2, 24);
      group.append(el("line", { x1: x(i) - half, x2: x(i) + half, y1: y(point.target.target), y2: y(point.target.target),
        stroke: "#1b1f24", "stroke-width": 2, "stroke-dasharray": "5 3", "data-target": String(point.target.target) }));
    }
    if (!figure.enough_data || figure.value === null) {
      group.append(el("text", { x: x(i), y: height - bottom - 6, "text-anchor": "middle", "font-style": "italic",
        "data-not-enough": "" }, texts.notEnough(figure.n)));
    } else {
      const low = figure.ci_low ?? figure.value;
      const high = figure.ci_high ?? figure.value;
      group.append(el("line", { x1: x(i), x2: x(i), y1: y(low), y2: y(high), stroke: "#1b1f24", "stroke-width": 2, "data-interval": "" }));
      for (const end of [low, high]) group.append(el("line", { x1: x(i) - 5, x2: x(i) + 5, y1: y(end), y2: y(end), stroke: "#1b1f24", "stroke-width": 2 }));
      group.append(el("circle", { cx: x(i), cy: y(figure.value), r: 5, fill: "#1b1f24", "data-value": String(figure.value) }));
    }
    svg.append(group);
  });
  return svg;
}
