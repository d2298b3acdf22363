// The manager's dashboard over the analytics API (GET /analytics/comparison): own locations beside
// competitors, scores with 95% intervals as error bars and ranks that are the API's tiers (never a rule of
// the browser's own), "not enough data" said in words; drill-down brand → region → location → report;
// filters (campaign, wave range — with or without a campaign —, dates, channel, region, …) in the URL and
// applied to every figure; CSV / XLSX of what is shown; a printable report.

import {
  all, apiPath, cached, ctx, errorBox, filterBar, formatNumber, h, heading, hashFor, mount, pager, role, t, table,
  withProgress,
} from "../lib/core.js";
import { rankText, tierRanks } from "../lib/stats.js";
import { CHANNELS } from "./forms.js";

const PAGE = 25;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// The dashboard's filters, all kept in the URL and all passed to GET /analytics/comparison (its panels too).
export const FILTERS = ["organisation_id", "campaign_id", "wave_from", "wave_to", "date_from", "date_to", "channel",
  "relation", "region", "basis", "min_sample_size"];

/** A comparison figure as the score estimate the charts, tables and exports use. */
export function estimate(figure) {
  return { n: figure.n, mean: figure.value, ci_low: figure.ci_low, ci_high: figure.ci_high,
    enough_data: figure.enough_data && figure.value !== null };
}

/** Every group of one score comparison for the filters (the API pages them, 500 at a time). */
async function scoreGroups(params, groupBy) {
  const groups = [];
  let first = null;
  for (let offset = 0; offset < 20000; offset += 500) {
    const page = await ctx.api.get(apiPath("/analytics/comparison",
      { ...params, measure: "score", group_by: groupBy, sort: "key", limit: 500, offset }));
    first ||= page;
    groups.push(...page.groups);
    if (groups.length >= page.total || !page.groups.length) break;
  }
  return { ...first, groups };
}

/** The organisation's locations (brand, region), once per session: what a location group's row also shows. */
function locationsOf(organisationId) {
  return cached(`dashboard-locations:${organisationId}`, async () => {
    const byId = new Map();
    for (let offset = 0; offset < 20000; offset += 500) {
      const page = await ctx.api.get(apiPath("/locations", { organisation_id: organisationId, limit: 500, offset }));
      page.items.forEach((l) => byId.set(l.id, l));
      if (byId.size >= page.total || !page.items.length) break;
    }
    return byId;
  });
}

/**
 * Brands ({brand_id, brand_name, relation, score, rank}) and locations ({location_id, location_name, region,
 * brand_id, brand_name, relation, score, rank}) from the comparison API's groups by brand × relation and by
 * location, and the locations' brand and region. Ranks are the API's tiers, shared when another group of the
 * same response has the same tier. Pure, so node tests check it.
 */
export function joinScores(brandGroups, locationGroups, locations) {
  const brandRanks = tierRanks(brandGroups);
  const locationRanks = tierRanks(locationGroups);
  const brands = brandGroups.map((g, i) => ({ brand_id: g.keys[0].value, brand_name: g.keys[0].label || "",
    relation: g.keys[1].value, score: estimate(g.figure), rank: brandRanks[i] }));
  const brandById = new Map(brands.map((b) => [b.brand_id, b]));
  const rows = locationGroups.map((g, i) => {
    const place = locations.get(g.keys[0].value) || {};
    const brand = brandById.get(place.brand_id) || {};
    return { location_id: g.keys[0].value, location_name: g.keys[0].label || place.name || "", region: place.region || "",
      brand_id: place.brand_id, brand_name: brand.brand_name || "", relation: brand.relation || "competitor",
      score: estimate(g.figure), rank: locationRanks[i] };
  });
  // Own first, then the best estimates, "not enough data" last, then by name.
  const order = (name) => (a, b) => (a.relation === "own" ? 0 : 1) - (b.relation === "own" ? 0 : 1)
    || (b.score.enough_data ? b.score.mean : -1) - (a.score.enough_data ? a.score.mean : -1)
    || a[name].localeCompare(b[name]);
  brands.sort(order("brand_name"));
  rows.sort(order("location_name"));
  return { brands, locations: rows };
}

/**
 * Every campaign's waves (lists in the campaigns' order) as one list by start date, each wave with its
 * campaign's name: what a wave range is chosen from when no campaign is (the API then takes the
 * organisation's waves from wave_from to wave_to by start date). Pure, so node tests check it.
 */
export function organisationWaves(campaigns, waveLists) {
  return campaigns.flatMap((c, i) => (waveLists[i] || []).map((w) => ({ ...w, campaign_name: c.name })))
    .sort((a, b) => a.starts_on.localeCompare(b.starts_on) || a.campaign_name.localeCompare(b.campaign_name)
      || a.name.localeCompare(b.name));
}

/** Filters from the URL for the API: waves only when they are among the waves offered (`waves`). */
export function apiFilters(query, organisationId, waves) {
  const params = Object.fromEntries(FILTERS.map((k) => [k, query[k]]));
  params.organisation_id = organisationId;
  const known = new Set(waves.map((w) => w.id));
  for (const key of ["wave_from", "wave_to"]) if (params[key] && !known.has(params[key])) params[key] = "";
  return params;
}

function estimateCells(score) {
  if (!score.enough_data || score.mean === null) {
    return [String(score.n), h("em", { "data-not-enough": "" }, t("dash.not_enough")), "", ""];
  }
  return [String(score.n), formatNumber(score.mean), formatNumber(score.ci_low), formatNumber(score.ci_high)];
}

const numberOrBlank = (v) => (v === null || v === undefined ? "" : Number(v.toFixed(1)));

/** The rows exported are the rows shown (brands, then locations), with the same rounding as the page. */
export function exportRows(brands, locations) {
  const header = [t("dash.level"), t("field.brand"), t("field.relation"), t("field.region"), t("field.location"),
    t("dash.n"), t("dash.mean"), t("dash.ci_low"), t("dash.ci_high"), t("dash.rank"), t("dash.note")];
  const row = (level, b, region, loc, score, rank) => [level, b.brand_name, t(`relation.${b.relation}`), region, loc,
    score.n, score.enough_data ? numberOrBlank(score.mean) : "", score.enough_data ? numberOrBlank(score.ci_low) : "",
    score.enough_data ? numberOrBlank(score.ci_high) : "", rankText(rank), score.enough_data ? "" : t("dash.not_enough")];
  return [header,
    ...brands.map((b) => row(t("dash.brand_level"), b, "", "", b.score, b.rank)),
    ...locations.map((l) => row(t("dash.location_level"), l, l.region, l.location_name, l.score, l.rank))];
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
  // The chart code (and Plot and d3, which it loads) is fetched by the dashboard only, while its data load.
  const chartsLoaded = import("../lib/charts.js").then(async (charts) => { await charts.loadPlot(); return charts; });
  chartsLoaded.catch(() => {});  // a failure is shown where the charts are awaited
  const organisationsLoaded = all("/organisations");
  // A manager's own organisation unless the URL names another: then the API answers 404, as it should.
  const organisationId = query.organisation_id
    || (manager ? ctx.session.user.organisation_id : (await organisationsLoaded)[0]?.id);
  if (!organisationId) return [heading(t("dash.title")), h("p", {}, t("dash.no_organisation"))];
  // Everything the first render needs is asked for at once. Waves to choose a range from: the chosen
  // campaign's, or without one every campaign's. They come first only when the URL names a campaign or a
  // wave (a wave range is checked against them before it is sent).
  const campaignsLoaded = all("/campaigns", { organisation_id: organisationId });
  const wavesLoaded = query.campaign_id ? all(`/campaigns/${query.campaign_id}/waves`)
    : campaignsLoaded.then(async (list) => organisationWaves(list,
      await Promise.all(list.map((c) => all(`/campaigns/${c.id}/waves`)))));
  const params = apiFilters(query, organisationId,
    query.campaign_id || query.wave_from || query.wave_to ? await wavesLoaded : []);
  // A chosen brand's locations are compared among themselves (their tiers), so the API is asked for them only.
  const brandId = UUID.test(query.brand || "") ? query.brand : "";
  const [organisations, campaigns, waves, byBrand, byLocation, places] = await Promise.all([organisationsLoaded,
    campaignsLoaded, wavesLoaded, scoreGroups(params, ["brand", "relation"]), scoreGroups({ ...params, brand_id: brandId }, "location"),
    locationsOf(organisationId)]);
  const campaign = campaigns.find((c) => c.id === query.campaign_id);
  const data = { ...joinScores(byBrand.groups, byLocation.groups, places), organisation_id: byBrand.organisation_id,
    min_sample_size: byBrand.min_sample_size };
  const organisation = organisations.find((o) => o.id === data.organisation_id);

  // Drill-down: brand → region → location (→ its reports). Brand is chosen here; region also filters the API.
  const brand = data.brands.find((b) => b.brand_id === query.brand);
  let locations = data.locations.filter((l) => !brand || l.brand_id === brand.brand_id);
  const regions = [...new Set(locations.map((l) => l.region))].sort();
  const offset = Number(query.offset || 0);
  const shown = locations.slice(offset, offset + PAGE);
  const { intervalChart } = await chartsLoaded;
  const chartTexts = (title) => ({ title, own: t("relation.own"), competitor: t("relation.competitor"),
    notEnough: (n) => t("dash.not_enough_n", { n }) });

  const link = (patch) => hashFor("/dashboard", { ...query, offset: "", ...patch });
  // A location's reports under the filters its figures have (the waves as sent to the API); the rest of the
  // view stays in the URL for the way back.
  const reportsLink = (locationId) => hashFor(`/dashboard/locations/${locationId}`,
    { ...query, ...params, organisation_id: manager ? "" : organisationId, offset: "" });
  const crumbs = h("nav", { "aria-label": t("dash.drill"), class: "crumbs" },
    h("a", { href: link({ brand: "", region: "" }) }, t("dash.all_brands")),
    brand ? [" › ", h("a", { href: link({ region: "" }) }, brand.brand_name)] : null,
    query.region ? [" › ", h("span", {}, query.region)] : null);

  const exportStatus = h("div");
  const exportAs = (kind) => async (event) => {
    const button = event.currentTarget;
    try {
      await withProgress(button, button.textContent, () => exportFile(kind));
    } catch (error) { mount(exportStatus, errorBox(error)); }
  };
  const exportFile = async (kind) => {
    const rows = exportRows(brand ? [brand] : data.brands, locations);
    const base = `fieldscore-${(organisation?.name || "scores").replace(/[^\p{L}\p{N}]+/gu, "-")}`;
    const { csv, workbook } = await import("../lib/xlsx.js");
    if (kind === "csv") await save(csv(rows), "text/csv;charset=utf-8", `${base}.csv`);
    else await save(workbook([{ name: t("dash.scores_sheet"), rows }]),
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", `${base}.xlsx`);
  };

  // The comparison API's panels fill in after the main figures are shown (they take the longest).
  const panelsHolder = h("div", { "data-panels": "loading" }, h("p", { class: "muted", role: "status" }, t("loading")));
  import("./analysis.js")
    .then((analysis) => analysis.panels({ ...query, ...params, organisation_id: manager ? "" : organisationId }))
    .then((nodes) => { mount(panelsHolder, nodes); panelsHolder.dataset.panels = "ready"; })
    .catch((error) => { mount(panelsHolder, errorBox(error)); panelsHolder.dataset.panels = "failed"; })
    .finally(() => performance.mark("fieldscore:panels"));

  const filters = [
    ...(manager ? [] : [{ name: "organisation_id", label: t("field.organisation"), type: "select",
      options: organisations.map((o) => [o.id, o.name]) }]),
    { name: "campaign_id", label: t("field.campaign"), type: "select",
      options: [["", t("filters.any")], ...campaigns.map((c) => [c.id, c.name])] },
    ...["wave_from", "wave_to"].map((name) => ({ name, label: t(`dash.${name}`), type: "select",
      options: [["", t("filters.any")], ...waves.map((w) => [w.id,
        `${w.campaign_name ? `${w.campaign_name} · ` : ""}${w.name} (${w.starts_on})`])] })),
    { name: "date_from", label: t("dash.date_from"), type: "date" },
    { name: "date_to", label: t("dash.date_to"), type: "date" },
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
    filterBar(filters, { ...query, ...params }),
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: exportAs("csv") }, t("dash.export_csv")),
      h("button", { type: "button", class: "secondary", onclick: exportAs("xlsx") }, t("dash.export_xlsx")),
      h("button", { type: "button", class: "secondary", onclick: () => window.print() }, t("dash.print"))),
    exportStatus,
    crumbs,

    h("section", { "aria-labelledby": "brands-title" },
      h("h2", { id: "brands-title" }, t("dash.brands")),
      data.brands.length ? intervalChart(data.brands.map((b) => ({ label: b.brand_name, relation: b.relation, score: b.score })),
        chartTexts(t("dash.brands_chart"))) : null,
      table([t("field.brand"), t("field.relation"), { label: t("dash.n"), num: true }, { label: t("dash.mean"), num: true },
        { label: t("dash.ci_low"), num: true }, { label: t("dash.ci_high"), num: true }, { label: t("dash.rank"), num: true }],
      data.brands.map((b) => ({ attrs: { "data-brand-row": b.brand_id }, cells: [
        h("a", { href: link({ brand: b.brand_id, region: "" }) }, b.brand_name), t(`relation.${b.relation}`),
        ...estimateCells(b.score), rankText(b.rank)] })),
      { caption: t("dash.table_caption"), empty: t("dash.no_scores") })),

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
      shown.map((l) => ({ attrs: { "data-location-row": l.location_id }, cells: [
        h("a", { href: reportsLink(l.location_id) }, l.location_name),
        `${l.brand_name} (${t(`relation.${l.relation}`)})`, l.region, ...estimateCells(l.score), rankText(l.rank)] })),
      { caption: t("dash.table_caption"), empty: t("dash.no_locations") }),
      pager({ total: locations.length, limit: PAGE, offset })),
    h("p", { class: "muted", "data-rank-legend": "" }, t("dash.rank_help")),
    panelsHolder,
  ];
}
