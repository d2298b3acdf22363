// Campaigns: the list (filters, pages) and a new campaign from a published form per channel and a slot design.

import {
  all, apiPath, ctx, errorBox, filterBar, field, formatTime, go, h, heading, mount, pager, paging, t, table, withProgress,
} from "../lib/core.js";
import { CHANNELS } from "./forms.js";

/** "day 8-17, night 21-8" → [{key: "day", start_hour: 8, end_hour: 17}, …]; throws on anything else. */
export function parseDayparts(text) {
  const parts = String(text).split(",").map((s) => s.trim()).filter(Boolean);
  return parts.map((part) => {
    const match = /^([a-z][a-z0-9_]*)\s+(\d{1,2})\s*-\s*(\d{1,2})$/.exec(part);
    if (!match) throw new Error(part);
    return { key: match[1], start_hour: Number(match[2]), end_hour: Number(match[3]) };
  });
}

function channelDesign(channel, formsByChannel) {
  const form = h("select", { name: `form-${channel}` }, h("option", { value: "" }, t("campaigns.not_measured")),
    (formsByChannel[channel] || []).map(({ form: f, versionId }) =>
      h("option", { value: versionId }, `${f.name} v${f.published_version}`)));
  const dayparts = h("input", { name: `dayparts-${channel}`, value: "day 8-17, evening 17-21", size: 30 });
  const dayTypes = ["weekday", "saturday", "sunday"].map((d) =>
    h("input", { type: "checkbox", name: `daytype-${channel}`, value: d, checked: d === "weekday" }));
  const probes = h("input", { type: "number", name: `probes-${channel}`, min: 1, max: 50, value: "1" });
  const box = h("fieldset", { "data-channel": channel },
    h("legend", {}, t(`channel.${channel}`)),
    h("div", { class: "form-row" },
      field(t("campaigns.form"), form),
      field(t("campaigns.dayparts"), dayparts),
      h("span", { role: "group", "aria-label": t("campaigns.day_types") },
        dayTypes.map((box_, i) => h("label", { class: "inline" }, box_, t(`daytype.${["weekday", "saturday", "sunday"][i]}`)))),
      field(t("campaigns.probes"), probes)));
  const read = () => {
    if (!form.value) return null;
    let parts;
    try { parts = parseDayparts(dayparts.value); } catch (error) {
      throw Object.assign(new Error(t("campaigns.bad_dayparts", { part: error.message })), { local: true });
    }
    return { versionId: form.value, design: { dayparts: parts, day_types: dayTypes.filter((b) => b.checked).map((b) => b.value),
      probes_per_slot: Number(probes.value || 1) } };
  };
  return { box, read };
}

export async function render({ query }) {
  const [page, organisations, locations, brands, forms] = await Promise.all([
    ctx.api.get(apiPath("/campaigns", { organisation_id: query.organisation_id, q: query.q, ...paging(query) })),
    all("/organisations"), all("/locations"), all("/brands"), all("/forms"),
  ]);
  const brandName = Object.fromEntries(brands.map((b) => [b.id, b.name]));
  const published = forms.filter((f) => f.published_version);
  const versions = await Promise.all(published.map((f) => ctx.api.get(`/forms/${f.id}/versions/${f.published_version}`)));
  const formsByChannel = {};
  published.forEach((f, i) => (formsByChannel[f.channel] ||= []).push({ form: f, versionId: versions[i].id }));
  const orgName = Object.fromEntries(organisations.map((o) => [o.id, o.name]));

  const result = h("div");
  const name = h("input", { name: "name", required: true });
  const organisation = h("select", { name: "organisation_id" }, organisations.map((o) => h("option", { value: o.id }, o.name)));
  const rotation = h("input", { type: "number", name: "rotation_days", min: 0, max: 730, value: "90" });
  const locationBoxes = locations.map((l) => h("input", { type: "checkbox", name: "location", value: l.id }));
  const designs = CHANNELS.map((c) => channelDesign(c, formsByChannel));
  const create = h("button", { type: "submit" }, t("campaigns.create"));
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    try {
      const body = { organisation_id: organisation.value, name: name.value, rotation_days: Number(rotation.value || 0),
        location_ids: locationBoxes.filter((b) => b.checked).map((b) => b.value), forms: {}, slot_designs: {} };
      CHANNELS.forEach((channel, i) => {
        const chosen = designs[i].read();
        if (chosen) { body.forms[channel] = chosen.versionId; body.slot_designs[channel] = chosen.design; }
      });
      const created = await withProgress(create, t("campaigns.creating"), () => ctx.api.post("/campaigns", { json: body }));
      go(`/campaigns/${created.id}`);
    } catch (error) {
      mount(result, error.local ? h("div", { class: "alert", role: "alert" }, error.message) : errorBox(error));
    }
  } },
  h("h2", {}, t("campaigns.new")),
  h("div", { class: "form-row" }, field(t("field.name"), name), field(t("field.organisation"), organisation),
    field(t("campaigns.rotation_days"), rotation)),
  h("fieldset", {}, h("legend", {}, t("campaigns.locations")),
    h("div", { class: "cards" }, locations.map((l, i) => h("label", { class: "inline" }, locationBoxes[i],
      `${l.name} (${brandName[l.brand_id] || ""}, ${l.timezone})`)))),
  h("p", { class: "muted" }, t("campaigns.design_help")),
  designs.map((d) => d.box),
  create, result);

  return [
    heading(t("campaigns.title")),
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "organisation_id", label: t("field.organisation"), type: "select",
        options: [["", t("filters.any")], ...organisations.map((o) => [o.id, o.name])] },
    ], query),
    table([t("field.name"), t("field.organisation"), t("campaigns.channels"), { label: t("campaigns.locations"), num: true },
      t("field.created")],
    page.items.map((c) => ({ attrs: { "data-campaign": c.id }, cells: [
      h("a", { href: `#/campaigns/${c.id}` }, c.name), orgName[c.organisation_id] || "",
      Object.keys(c.forms).map((ch) => t(`channel.${ch}`)).join(", "), String(c.location_ids.length),
      formatTime(c.created_at, "UTC"),
    ] })), { empty: t("list.empty") }),
    pager(page),
    form,
  ];
}
