// One campaign: its design, its waves (with filters and pages) and a new wave.

import {
  apiPath, ctx, errorBox, field, filterBar, go, h, heading, mount, pager, t, table, withProgress,
} from "../lib/core.js";

export async function render({ params: [campaignId], query }) {
  const campaign = await ctx.api.get(`/campaigns/${campaignId}`);
  const waves = await ctx.api.get(apiPath(`/campaigns/${campaignId}/waves`, {
    limit: 25, offset: query.offset || 0, q: query.q, running_on: query.running_on }));
  const result = h("div");
  const name = h("input", { name: "name", required: true });
  const starts = h("input", { type: "date", name: "starts_on", required: true });
  const ends = h("input", { type: "date", name: "ends_on", required: true });
  const create = h("button", { type: "submit" }, t("waves.create"));
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const wave = await withProgress(create, t("waves.create"), () => ctx.api.post(`/campaigns/${campaignId}/waves`,
        { json: { name: name.value, starts_on: starts.value, ends_on: ends.value } }));
      go(`/campaigns/${campaignId}/waves/${wave.id}`);
    } catch (error) { mount(result, errorBox(error)); }
  } },
  h("h2", {}, t("waves.new")),
  h("div", { class: "form-row" }, field(t("field.name"), name), field(t("waves.starts"), starts), field(t("waves.ends"), ends), create),
  result);

  return [
    heading(campaign.name),
    table([t("field.channel"), t("campaigns.dayparts"), t("campaigns.day_types"), { label: t("campaigns.probes"), num: true }],
      Object.entries(campaign.slot_designs).map(([channel, design]) => [
        t(`channel.${channel}`), design.dayparts.map((d) => `${d.key} ${d.start_hour}–${d.end_hour}`).join(", "),
        design.day_types.map((d) => t(`daytype.${d}`)).join(", "), String(design.probes_per_slot)])),
    h("p", {}, t("campaign.summary", { locations: campaign.location_ids.length, days: campaign.rotation_days })),
    h("h2", {}, t("waves.title")),
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "running_on", label: t("waves.running_on"), type: "date" },
    ], query),
    table([t("field.name"), t("waves.starts"), t("waves.ends")],
      waves.items.map((w) => ({ attrs: { "data-wave": w.id }, cells: [
        h("a", { href: `#/campaigns/${campaignId}/waves/${w.id}` }, w.name), w.starts_on, w.ends_on] })),
      { empty: t("list.empty") }),
    pager(waves),
    form,
  ];
}
