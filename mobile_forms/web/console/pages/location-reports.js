// The last step of the drill-down: one location's approved reports (what the manager may see), with pages,
// under the dashboard's filters (campaign, wave range, days, channel): the reports its figures count.

import { all, apiPath, ctx, formatNumber, formatTime, h, hashFor, heading, locationById, pager, t, table }
  from "../lib/core.js";

// The dashboard's filters GET /reports takes too (the others choose locations, and this is one location).
export const REPORT_FILTERS = ["organisation_id", "campaign_id", "wave_from", "wave_to", "date_from", "date_to",
  "channel"];

/** The filters in `query` that GET /reports takes, for the list and for the link back. Pure. */
export function reportFilters(query) {
  return Object.fromEntries(REPORT_FILTERS.filter((k) => query[k]).map((k) => [k, query[k]]));
}

/** Names for what the filters name: the campaign's and the waves' (from the organisation's campaigns). */
async function filterNames(filters) {
  const names = {};
  if (!filters.campaign_id && !filters.wave_from && !filters.wave_to) return names;
  const campaigns = await all("/campaigns", { organisation_id: filters.organisation_id });
  const campaign = campaigns.find((c) => c.id === filters.campaign_id);
  if (campaign) names.campaign_id = campaign.name;
  if (filters.wave_from || filters.wave_to) {
    const lists = await Promise.all((campaign ? [campaign] : campaigns).map(async (c) =>
      (await all(`/campaigns/${c.id}/waves`)).map((w) => ({ ...w, campaign_name: c.name }))));
    for (const key of ["wave_from", "wave_to"]) {
      const wave = lists.flat().find((w) => w.id === filters[key]);
      if (wave) names[key] = `${campaign ? "" : `${wave.campaign_name} · `}${wave.name} (${wave.starts_on})`;
    }
  }
  return names;
}

export async function render({ params: [locationId], query }) {
  const filters = reportFilters(query);
  const [loc, page, names] = await Promise.all([
    locationById(locationId),
    ctx.api.get(apiPath("/reports", { ...filters, location_id: locationId, status: "approved",
      limit: 25, offset: query.offset || 0 })),
    filterNames(filters),
  ]);
  const labels = { campaign_id: t("field.campaign"), wave_from: t("dash.wave_from"), wave_to: t("dash.wave_to"),
    date_from: t("dash.date_from"), date_to: t("dash.date_to"), channel: t("field.channel") };
  const shown = Object.keys(labels).filter((k) => filters[k]);
  const value = (k) => (k === "channel" ? t(`channel.${filters.channel}`) : names[k] || filters[k]);
  return [
    heading(t("locreports.title", { location: loc.name })),
    h("p", {}, h("a", { href: hashFor("/dashboard", { ...query, offset: "" }) }, t("locreports.back")), " · ", loc.region, " · ",
      loc.timezone),
    h("p", { "data-report-filters": "" }, shown.length
      ? [t("locreports.filtered"), " ", shown.map((k, i) => [i ? " · " : "", h("span", { "data-filter": k },
        `${labels[k]}: ${value(k)}`)])]
      : t("locreports.unfiltered")),
    table([t("field.submitted"), t("report.visit_col"), { label: t("field.score"), num: true }, ""],
      page.items.map((r) => ({ attrs: { "data-report": r.id }, cells: [
        formatTime(r.submitted_at, loc.timezone), formatTime(r.started_at, loc.timezone),
        r.score?.failed ? `${formatNumber(r.score.final)} (${t("report.critical_failed")})` : formatNumber(r.score?.final),
        h("a", { href: `#/reports/${r.id}` }, t("locreports.open"))] })),
    { empty: t("list.empty") }),
    pager(page),
  ];
}
