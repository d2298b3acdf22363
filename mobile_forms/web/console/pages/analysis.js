// The dashboard's deeper panels over the comparison API: an hour × weekday grid, Kaplan–Meier curves of
// waiting times (own vs competitors), what fails most, score across waves, weeks or months with its targets. Every figure with its n and 95% interval; groups below the minimum say "not enough data".

import { apiPath, ctx, formatNumber, h, t, table } from "../lib/core.js";

export const GRID_MEASURES = ["time_to_answer", "service_level", "unanswered_rate"];
// The dashboard's filters (pages/dashboard.js FILTERS), applied to every panel as to the main figures.
const SHARED = ["organisation_id", "campaign_id", "wave_from", "wave_to", "date_from", "date_to", "channel", "region",
  "relation", "basis", "min_sample_size"];

/** A figure as the reader sees it: percentages for shares, the unit otherwise, or "not enough data". */
export function figureText(figure, kind, unit) {
  if (!figure.enough_data) return t("dash.not_enough");
  if (figure.not_reached || figure.value === null) return t("analysis.not_reached");
  if (kind === "proportion") return `${formatNumber(figure.value * 100)} %`;
  return `${formatNumber(figure.value)}${unit && unit !== "score" ? ` ${unit}` : ""}`;
}

function interval(figure, kind) {
  if (!figure.enough_data || figure.ci_low === null) return "";
  const scale = kind === "proportion" ? 100 : 1;
  return `${formatNumber(figure.ci_low * scale)} – ${figure.ci_high === null ? "∞" : formatNumber(figure.ci_high * scale)}`;
}

async function compare(query, params) {
  const shared = Object.fromEntries(SHARED.map((k) => [k, query[k]]));
  return ctx.api.get(apiPath("/analytics/comparison", { ...shared, ...params }));
}

/**
 * A heatmap cell's shade, 0 (best of the grid) … 4 (worst), from its value among the grid's values with enough
 * data (`low`, `high`); the measure's direction says which end is worse. One hue, darker is worse, so the grid
 * reads in greyscale and for colour-blind readers. Pure, so node tests check it.
 */
export function heatLevel(value, low, high, higherIsBetter) {
  if (high <= low) return 2;
  const share = (value - low) / (high - low);
  return Math.round(4 * (higherIsBetter ? 1 - share : share));
}

/**
 * The heatmap's cells from the comparison groups by weekday × hour: each with its shade (`heatLevel` among the
 * grid's values with enough data; null when too few), the figure written in it and its title (figure and n).
 * Pure, so node tests check it.
 */
export function heatCells(result) {
  const values = result.groups.filter((g) => g.figure.enough_data && g.figure.value !== null).map((g) => g.figure.value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  return result.groups.map((g) => {
    const { figure } = g;
    const enough = figure.enough_data && figure.value !== null;
    return { weekday: Number(g.keys[0].value), hour: Number(g.keys[1].value), value: enough ? figure.value : null,
      level: enough ? heatLevel(figure.value, low, high, result.higher_is_better) : null,
      text: enough ? figureText(figure, result.kind, "").replace(" %", "") : "n<",
      title: `${figureText(figure, result.kind, result.unit)} (n=${figure.n})` };
  });
}

/**
 * The hour × weekday grid of one measure: the heatmap (rows Monday…Sunday, columns 0–23 local hours, one hue,
 * darker is worse) with its legend, then its numbers as a table.
 */
function grid(result, drawChart) {
  const cells = heatCells(result);
  const byKey = new Map(cells.map((c) => [`${c.weekday}:${c.hour}`, c]));
  const hours = [...Array(24).keys()];
  return h("div", {},
    cells.length ? drawChart(cells, { title: t("analysis.grid_chart", { measure: t(`measure.${result.measure}`) }),
      weekday: (day) => t(`weekday.${day}`) }) : null,
    h("p", { class: "heat-legend", "data-heat-legend": "" }, t("analysis.heat_better"), " ",
      [0, 1, 2, 3, 4].map((level) => h("span", { class: `heat-swatch heat-${level}`, "aria-hidden": "true" }, "\u00a0")),
      " ", t("analysis.heat_worse")),
    h("table", { class: "heat", "data-heatmap": result.measure },
      h("caption", { class: "muted" }, t("analysis.grid_caption", { unit: result.unit })),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("analysis.weekday")),
        hours.map((hour) => h("th", { scope: "col", class: "num" }, String(hour))))),
      h("tbody", {}, [1, 2, 3, 4, 5, 6, 7].map((day) => h("tr", {},
        h("th", { scope: "row" }, t(`weekday.${day}`)),
        hours.map((hour) => {
          const cell = byKey.get(`${day}:${hour}`);
          if (!cell) return h("td", { class: "num muted" }, "");
          return h("td", { class: "num", title: cell.title, "data-cell": `${day}:${hour}` }, cell.text);
        }))))));
}

export const TREND_BY = ["wave", "week", "month"];

/** Score across waves, weeks or months: the chart (estimate, 95% interval, target) and its numbers with the gap. */
function trend(result, by, drawChart) {
  const period = (g) => (by === "wave" ? g.keys[0].label || g.keys[0].value : g.keys[0].value) || "–";
  const pick = h("select", { id: "trend-by", onchange: (event) => {
    const { path } = ctx.route;
    window.location.hash = `#${path}?${new URLSearchParams({ ...ctx.route.query, trend: event.target.value })}`;
  } }, TREND_BY.map((b) => h("option", { value: b, selected: b === by }, t(`analysis.by_${b}`))));
  const groups = result.groups.filter((g) => g.keys[0].value);
  return h("section", { "aria-labelledby": "trend-title", "data-trend": by },
    h("h2", { id: "trend-title" }, t("analysis.trend_title")),
    h("div", { class: "form-row noprint" }, h("label", { for: "trend-by" }, t("analysis.trend_by")), pick),
    groups.length ? drawChart(groups.map((g) => ({ label: period(g), figure: g.figure, target: g.target })),
      { title: t("analysis.trend_chart", { by: t(`analysis.by_${by}`) }), target: t("analysis.target"),
        notEnough: (n) => t("dash.not_enough_n", { n }) }) : null,
    table([t(`analysis.${by}`), { label: t("dash.mean"), num: true }, { label: t("analysis.interval"), num: true },
      { label: t("dash.n"), num: true }, t("analysis.target")],
    groups.map((g) => ({ attrs: { [`data-${by}`]: g.keys[0].value }, cells: [period(g),
      figureText(g.figure, result.kind, ""), interval(g.figure, result.kind), String(g.figure.n),
      g.target ? t("analysis.gap", { target: formatNumber(g.target.target), gap: g.target.gap === null ? "–"
        : formatNumber(g.target.gap), status: g.target.status ? t(`analysis.status_${g.target.status}`) : "–" }) : "–"] })),
    { empty: t("analysis.empty") }));
}

export const SURVIVAL_MEASURES = ["time_to_answer", "email_reply_time", "chat_reply_time", "resolution_time"];

function percent(share) {
  return `${formatNumber(share * 100)} %`;
}

/** Own vs competitors' Kaplan–Meier curves, with the numbers as tables (a summary, then every step). */
function survival(result, measure, drawChart) {
  const relation = (g) => g.keys[0].value;
  const label = (g) => t(`relation.${relation(g)}`);
  const unit = result.unit;
  const pick = h("select", { id: "km-measure", onchange: (event) => {
    const { path } = ctx.route;
    window.location.hash = `#${path}?${new URLSearchParams({ ...ctx.route.query, km: event.target.value })}`;
  } }, SURVIVAL_MEASURES.map((m) => h("option", { value: m, selected: m === measure }, t(`measure.${m}`))));
  // Own first, then competitors (the API sorts by key).
  const groups = result.groups.filter((g) => g.keys[0].value).sort((a, b) => (relation(a) === "own" ? -1 : 0) - (relation(b) === "own" ? -1 : 0));
  const drawn = groups.filter((g) => g.figure.curve?.length);
  return h("section", { "aria-labelledby": "km-title", "data-km": measure },
    h("h2", { id: "km-title" }, t("analysis.km_title")),
    h("div", { class: "form-row noprint" }, h("label", { for: "km-measure" }, t("analysis.measure")), pick),
    h("p", { class: "muted" }, t(`measure.${measure}`), " · ", t("analysis.km_help")),
    drawn.length ? drawChart(drawn.map((g) => ({ label: label(g), relation: relation(g), curve: g.figure.curve })),
      { title: t("analysis.km_chart", { measure: t(`measure.${measure}`) }), xLabel: t("analysis.km_x", { unit }),
        yLabel: t("analysis.km_y") }) : null,
    table([t("field.relation"), { label: t("dash.n"), num: true }, { label: t("analysis.km_events"), num: true },
      { label: t("analysis.km_median", { unit }), num: true }, { label: t("analysis.interval"), num: true },
      { label: t("analysis.km_quartiles", { unit }), num: true }],
    groups.map((g) => ({ attrs: { "data-km-group": relation(g) }, cells: [label(g), String(g.figure.n),
      g.figure.events === null ? "–" : String(g.figure.events), figureText(g.figure, result.kind, ""),
      interval(g.figure, result.kind), g.figure.enough_data
        ? `${formatNumber(g.figure.q25)} – ${g.figure.q75 === null ? t("analysis.not_reached") : formatNumber(g.figure.q75)}`
        : ""] })), { caption: t("analysis.km_caption"), empty: t("analysis.empty") }),
    drawn.map((g) => h("details", { "data-km-steps": relation(g) },
      h("summary", {}, t("analysis.km_steps", { group: label(g), count: g.figure.curve.length })),
      table([{ label: t("analysis.km_time", { unit }), num: true }, { label: t("analysis.km_waiting"), num: true },
        { label: t("analysis.interval"), num: true }, { label: t("analysis.km_at_risk"), num: true }],
      g.figure.curve.map((p) => ({ attrs: { "data-step": String(p.time) }, cells: [formatNumber(p.time, 2),
        percent(p.survival), `${percent(p.ci_low)} – ${percent(p.ci_high)}`, String(p.at_risk)] }))))));
}

export async function panels(query) {
  const measure = GRID_MEASURES.includes(query.grid) ? query.grid : "time_to_answer";
  const km = SURVIVAL_MEASURES.includes(query.km) ? query.km : "time_to_answer";
  const by = TREND_BY.includes(query.trend) ? query.trend : "week";
  const [heat, fails, trends, curves, { heatmapChart, survivalChart, trendChart }] = await Promise.all([
    compare(query, { measure, group_by: ["weekday", "hour"], sort: "key", limit: 200 }),
    compare(query, { measure: "item_pass_rate", group_by: "item", sort: "worst", limit: 10 }),
    compare(query, { measure: "score", group_by: by, sort: "key", limit: 60 }),
    compare(query, { measure: km, group_by: "relation", sort: "key", curve: true }),
    import("../lib/charts.js").then(async (charts) => { await charts.loadPlot(); return charts; }),
  ]);
  const pick = h("select", { id: "grid-measure", onchange: (event) => {
    const { path } = ctx.route;
    window.location.hash = `#${path}?${new URLSearchParams({ ...ctx.route.query, grid: event.target.value })}`;
  } }, GRID_MEASURES.map((m) => h("option", { value: m, selected: m === measure }, t(`measure.${m}`))));
  return [
    h("section", { "aria-labelledby": "grid-title" },
      h("h2", { id: "grid-title" }, t("analysis.grid_title")),
      h("div", { class: "form-row noprint" }, h("label", { for: "grid-measure" }, t("analysis.measure")), pick),
      h("p", { class: "muted" }, t(`measure.${measure}`), " · ", t("analysis.grid_help")),
      grid(heat, heatmapChart)),
    survival(curves, km, survivalChart),
    h("section", { "aria-labelledby": "fails-title" },
      h("h2", { id: "fails-title" }, t("analysis.fails_title")),
      table([t("analysis.item"), { label: t("analysis.pass_rate"), num: true }, { label: t("analysis.interval"), num: true },
        { label: t("dash.n"), num: true }, { label: t("analysis.tier"), num: true }],
      fails.groups.map((g) => ({ attrs: { "data-item": g.keys[0].value }, cells: [g.keys[0].label || g.keys[0].value,
        figureText(g.figure, fails.kind, fails.unit), interval(g.figure, fails.kind), String(g.figure.n),
        g.tier === null ? "–" : String(g.tier)] })), { empty: t("analysis.empty") })),
    trend(trends, by, trendChart),
  ];
}
