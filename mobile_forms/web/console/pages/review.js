// Review queue: submitted reports, most evidence flags first; filters in the URL; bulk approve of a filtered set.

import {
  all, apiPath, ctx, errorBox, field, filterBar, formatNumber, formatTime, h, heading, locationById, mount, pager, reloadWith,
  paging, t, table, withProgress,
} from "../lib/core.js";

export async function render({ query }) {
  const [organisations, campaigns] = await Promise.all([all("/organisations"), all("/campaigns")]);
  const page = await ctx.api.get(apiPath("/reports/review-queue", {
    organisation_id: query.organisation_id, campaign_id: query.campaign_id, ...paging(query),
  }));
  const locations = await Promise.all(page.items.map((r) => locationById(r.location_id)));
  const rows = page.items.map((report, i) => ({
    attrs: { "data-report": report.id },
    cells: [
      h("a", { href: `#/reports/${report.id}` }, locations[i].name),
      formatTime(report.submitted_at, locations[i].timezone),
      report.flags.length ? report.flags.map((f) => h("span", { class: "flag", title: f.reason }, `⚑ ${f.code}`))
        : h("span", { class: "muted" }, t("review.no_flags")),
      formatNumber(report.score?.final),
      String(report.revision),
    ],
  }));

  const result = h("div");
  const maxFlags = h("input", { type: "number", min: 0, max: 100, value: "0", id: "bulk-max-flags" });
  const before = h("input", { type: "datetime-local", id: "bulk-before" });
  const bulkButton = h("button", { type: "button", onclick: async () => {
    const body = { max_flags: Number(maxFlags.value || 0) };
    if (query.organisation_id) body.organisation_id = query.organisation_id;
    if (query.campaign_id) body.campaign_id = query.campaign_id;
    if (before.value) body.submitted_before = new Date(before.value).toISOString();
    try {
      const done = await withProgress(bulkButton, t("review.bulk_running"), () =>
        ctx.api.post("/reports/bulk-approve", { json: body }));
      reloadWith(t("review.bulk_done", { count: done.approved }));
    } catch (error) {
      mount(result, errorBox(error));
    }
  } }, t("review.bulk_approve"));

  return [
    heading(t("review.title")),
    h("p", { class: "muted" }, t("review.order")),
    filterBar([
      { name: "organisation_id", label: t("field.organisation"), type: "select",
        options: [["", t("filters.any")], ...organisations.map((o) => [o.id, o.name])] },
      { name: "campaign_id", label: t("field.campaign"), type: "select",
        options: [["", t("filters.any")], ...campaigns.map((c) => [c.id, c.name])] },
    ], query),
    table([t("field.location"), t("field.submitted"), t("review.flags"), { label: t("field.score"), num: true },
      { label: t("field.revision"), num: true }], rows, { empty: t("review.empty") }),
    pager(page),
    h("section", { "aria-labelledby": "bulk-title", class: "card" },
      h("h2", { id: "bulk-title" }, t("review.bulk_title")),
      h("p", { class: "muted" }, t("review.bulk_help")),
      h("div", { class: "form-row" },
        field(t("review.max_flags"), maxFlags),
        field(t("review.submitted_before"), before),
        bulkButton),
      result),
  ];
}
