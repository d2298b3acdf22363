// The manager's dashboard over the analytics API: own locations beside competitors, scores with 95%
// intervals as error bars and tier-aware ranks, "not enough data" said in words; drill-down brand →
// region → location → report; filters in the URL; CSV / XLSX of what is shown; a printable report.

import {
  all, apiPath, ctx, errorBox, filterBar, formatNumber, h, heading, hashFor, mount, pager, role, t, table,
} from "../lib/core.js";
import { rankText, tierRanks } from "../lib/stats.js";
import { CHANNELS } from "./forms.js";

const PAGE = 25;
const API_FILTERS = ["organisation_id", "channel", "relation", "region", "basis", "include_failed", "min_sample_size"];

/** Every location's scores for the filters (the API pages them; a tenant has at most a few thousand). */
async function scores(query) {
  const params = Object.fromEntries(API_FILTERS.map((k) => [k, query[k]]));
  let first = null;
  const locations = [];
  for (let offset = 0; offset < 10000; offset += 500) {
    const page = await ctx.api.get(apiPath("/analytics/location-scores", { ...params, limit: 500, offset }));
    first ||= page;
    locations.push(...page.locations);
    if (locations.length >= page.total_locations || !page.locations.length) break;
  }
  return { ...first, locations };
}

function estimateCells(score) {
  if (!score.enough_data || score.mean === null) {
    return [String(score.n), h("em", { "data-not-enough": "" }, t("dash.not_enough")), "", ""];
  }
  return [String(score.n), formatNumber(score.mean), formatNumber(score.ci_low), formatNumber(score.ci_high)];
}

const numberOrBlank = (v) => (v === null || v === undefined ? "" : Number(v.toFixed(1)));

/** The rows exported are the rows shown (brands, then locations), with the same rounding as the page. */
export function exportRows(brands, locations, brandRanks, locationRanks) {
  const header = [t("dash.level"), t("field.brand"), t("field.relation"), t("field.region"), t("field.location"),
    t("dash.n"), t("dash.mean"), t("dash.ci_low"), t("dash.ci_high"), t("dash.rank"), t("dash.note")];
  const row = (level, b, region, loc, score, rank) => [level, b.brand_name, t(`relation.${b.relation}`), region, loc,
    score.n, score.enough_data ? numberOrBlank(score.mean) : "", score.enough_data ? numberOrBlank(score.ci_low) : "",
    score.enough_data ? numberOrBlank(score.ci_high) : "", rankText(rank), score.enough_data ? "" : t("dash.not_enough")];
  return [header,
    ...brands.map((b, i) => row(t("dash.brand_level"), b, "", "", b.score, brandRanks[i])),
    ...locations.map((l, i) => row(t("dash.location_level"), l, l.region, l.location_name, l.score, locationRanks[i]))];
}

async function save(bytes, type, filename) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function render({ query }) {
  const manager = role() === "manager";
  const organisations = await all("/organisations");
  const organisationId = manager ? ctx.session.user.organisation_id : (query.organisation_id || organisations[0]?.id);
  if (!organisationId) return [heading(t("dash.title")), h("p", {}, t("dash.no_organisation"))];
  const effective = { ...query, organisation_id: manager ? query.organisation_id : organisationId };
  const data = await scores(effective);
  const organisation = organisations.find((o) => o.id === data.organisation_id);

  // Drill-down: brand → region → location (→ its reports). Brand is chosen here; region also filters the API.
  const brand = data.brands.find((b) => b.brand_id === query.brand);
  let locations = data.locations.filter((l) => !brand || l.brand_id === brand.brand_id);
  const regions = [...new Set(locations.map((l) => l.region))].sort();
  const brandRanks = tierRanks(data.brands);
  const locationRanks = tierRanks(locations);
  const offset = Number(query.offset || 0);
  const shown = locations.slice(offset, offset + PAGE);
  const shownRanks = locationRanks.slice(offset, offset + PAGE);
  const { intervalChart } = await import("../lib/charts.js");
  const chartTexts = (title) => ({ title, own: t("relation.own"), competitor: t("relation.competitor"),
    notEnough: (n) => t("dash.not_enough_n", { n }) });

  const link = (patch) => hashFor("/dashboard", { ...query, offset: "", ...patch });
  const crumbs = h("nav", { "aria-label": t("dash.drill"), class: "crumbs" },
    h("a", { href: link({ brand: "", region: "" }) }, t("dash.all_brands")),
    brand ? [" › ", h("a", { href: link({ region: "" }) }, brand.brand_name)] : null,
    query.region ? [" › ", h("span", {}, query.region)] : null);

  const exportStatus = h("div");
  const exportAs = async (kind) => {
    try {
      const rows = exportRows(brand ? [brand] : data.brands, locations,
        brand ? [brandRanks[data.brands.indexOf(brand)]] : brandRanks, locationRanks);
      const base = `fieldscore-${(organisation?.name || "scores").replace(/[^\p{L}\p{N}]+/gu, "-")}`;
      const { csv, workbook } = await import("../lib/xlsx.js");
      if (kind === "csv") await save(csv(rows), "text/csv;charset=utf-8", `${base}.csv`);
      else await save(workbook([{ name: t("dash.scores_sheet"), rows }]),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", `${base}.xlsx`);
    } catch (error) { mount(exportStatus, errorBox(error)); }
  };

  // The comparison API's panels fill in after the main figures are shown (they take the longest).
  const panelsHolder = h("div", { "data-panels": "loading" }, h("p", { class: "muted", role: "status" }, t("loading")));
  import("./analysis.js")
    .then((analysis) => analysis.panels({ ...query, organisation_id: manager ? "" : organisationId }))
    .then((nodes) => { mount(panelsHolder, nodes); panelsHolder.dataset.panels = "ready"; })
    .catch((error) => { mount(panelsHolder, errorBox(error)); panelsHolder.dataset.panels = "failed"; })
    .finally(() => performance.mark("fieldscore:panels"));

  const filters = [
    ...(manager ? [] : [{ name: "organisation_id", label: t("field.organisation"), type: "select",
      options: organisations.map((o) => [o.id, o.name]) }]),
    { name: "channel", label: t("field.channel"), type: "select", options: [["", t("filters.any")], ...CHANNELS.map((c) => [c, t(`channel.${c}`)])] },
    { name: "relation", label: t("field.relation"), type: "select",
      options: [["", t("filters.any")], ["own", t("relation.own")], ["competitor", t("relation.competitor")]] },
    { name: "region", label: t("field.region"), type: "text" },
    { name: "basis", label: t("dash.basis"), type: "select", options: [["", t("dash.basis_final")], ["calculated", t("dash.basis_calculated")]] },
    { name: "min_sample_size", label: t("dash.min_n"), type: "number", min: 2, max: 1000 },
  ];

  return [
    heading(t("dash.title_for", { organisation: organisation?.name || "" })),
    h("p", { class: "print-only" }, t("dash.printed", { when: new Date().toLocaleString(ctx.i18n.lang) })),
    h("p", { class: "muted" }, t("dash.explain", { min: data.min_sample_size })),
    filterBar(filters, { ...query, organisation_id: organisationId }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => exportAs("csv") }, t("dash.export_csv")),
      h("button", { type: "button", class: "secondary", onclick: () => exportAs("xlsx") }, t("dash.export_xlsx")),
      h("button", { type: "button", class: "secondary", onclick: () => window.print() }, t("dash.print"))),
    exportStatus,
    crumbs,

    h("section", { "aria-labelledby": "brands-title" },
      h("h2", { id: "brands-title" }, t("dash.brands")),
      intervalChart(data.brands.map((b) => ({ label: b.brand_name, relation: b.relation, score: b.score })),
        chartTexts(t("dash.brands_chart"))),
      table([t("field.brand"), t("field.relation"), { label: t("dash.n"), num: true }, { label: t("dash.mean"), num: true },
        { label: t("dash.ci_low"), num: true }, { label: t("dash.ci_high"), num: true }, { label: t("dash.rank"), num: true }],
      data.brands.map((b, i) => ({ attrs: { "data-brand-row": b.brand_id }, cells: [
        h("a", { href: link({ brand: b.brand_id, region: "" }) }, b.brand_name), t(`relation.${b.relation}`),
        ...estimateCells(b.score), rankText(brandRanks[i])] })),
      { caption: t("dash.table_caption"), empty: t("dash.no_brands") })),

    brand && !query.region ? h("section", { "aria-labelledby": "regions-title" },
      h("h2", { id: "regions-title" }, t("dash.regions", { brand: brand.brand_name })),
      h("ul", {}, regions.map((r) => h("li", {}, h("a", { href: link({ region: r }) }, r || t("dash.no_region")),
        ` (${t("dash.locations_count", { count: locations.filter((l) => l.region === r).length })})`)))) : null,

    h("section", { "aria-labelledby": "locations-title" },
      h("h2", { id: "locations-title" }, t("dash.locations")),
      shown.length ? intervalChart(shown.map((l) => ({ label: l.location_name, relation: l.relation, score: l.score })),
        chartTexts(t("dash.locations_chart"))) : null,
      table([t("field.location"), t("field.brand"), t("field.region"), { label: t("dash.n"), num: true },
        { label: t("dash.mean"), num: true }, { label: t("dash.ci_low"), num: true }, { label: t("dash.ci_high"), num: true },
        { label: t("dash.rank"), num: true }],
      shown.map((l, i) => ({ attrs: { "data-location-row": l.location_id }, cells: [
        h("a", { href: `#/dashboard/locations/${l.location_id}` }, l.location_name),
        `${l.brand_name} (${t(`relation.${l.relation}`)})`, l.region, ...estimateCells(l.score), rankText(shownRanks[i])] })),
      { caption: t("dash.table_caption"), empty: t("dash.no_locations") }),
      pager({ total: locations.length, limit: PAGE, offset })),
    h("p", { class: "muted" }, t("dash.rank_help")),
    panelsHolder,
  ];
}
