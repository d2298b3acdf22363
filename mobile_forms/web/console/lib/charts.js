// SVG charts drawn here (no library): estimates with 95% intervals as error bars. Shapes, not colour,
// tell own (filled circle) from competitor (hollow square), so they read in greyscale and for colour-blind
// readers; "not enough data" is written out in the row, never drawn as a bar. Loaded only by the dashboard.

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
