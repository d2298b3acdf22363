// The last step of the drill-down: one location's approved reports (what the manager may see), with pages.

import { apiPath, ctx, formatNumber, formatTime, h, heading, locationById, pager, t, table } from "../lib/core.js";

export async function render({ params: [locationId], query }) {
  const loc = await locationById(locationId);
  const page = await ctx.api.get(apiPath("/reports", { location_id: locationId, status: "approved",
    limit: 25, offset: query.offset || 0 }));
  return [
    heading(t("locreports.title", { location: loc.name })),
    h("p", {}, h("a", { href: "#/dashboard" }, t("locreports.back")), " · ", loc.region, " · ", loc.timezone),
    table([t("field.submitted"), t("report.visit_col"), { label: t("field.score"), num: true }, ""],
      page.items.map((r) => ({ attrs: { "data-report": r.id }, cells: [
        formatTime(r.submitted_at, loc.timezone), formatTime(r.started_at, loc.timezone),
        r.score?.failed ? `${formatNumber(r.score.final)} (${t("report.critical_failed")})` : formatNumber(r.score?.final),
        h("a", { href: `#/reports/${r.id}` }, t("locreports.open"))] })),
    { empty: t("list.empty") }),
    pager(page),
  ];
}
