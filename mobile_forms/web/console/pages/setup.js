// Set-up: client organisations, brands (own or competitor for an organisation), locations with their
// time zones and opening hours (create, edit, import from CSV/XLSX). One tab at a time, kept in the URL.

import {
  all, apiPath, ctx, errorBox, field, filterBar, go, h, heading, mount, notice, pager, paging, reloadWith, role, t, table,
  withProgress,
} from "../lib/core.js";

const TABS = ["locations", "brands", "organisations"];
const reload = () => reloadWith(t("action.saved"));

/** "mon 09:00-17:00, sat 10:00-14:00" → [{day, opens, closes}]; throws naming the part it cannot read. */
export function parseOpeningHours(text) {
  return String(text).split(",").map((s) => s.trim()).filter(Boolean).map((part) => {
    const match = /^(mon|tue|wed|thu|fri|sat|sun)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})$/.exec(part);
    if (!match) throw new Error(part);
    return { day: match[1], opens: match[2], closes: match[3] };
  });
}

export function openingHoursText(intervals) {
  return (intervals || []).map((i) => `${i.day} ${i.opens}-${i.closes}`).join(", ");
}

async function organisationsTab(query) {
  const page = await ctx.api.get(apiPath("/organisations", { q: query.q, ...paging(query) }));
  const result = h("div");
  const name = h("input", { required: true });
  const create = h("button", { type: "submit" }, t("action.create"));
  return [
    filterBar([{ name: "q", label: t("filters.search"), type: "search" }], query),
    table([t("field.name"), t("field.created")], page.items.map((o) => [o.name, o.created_at.slice(0, 10)]), { empty: t("list.empty") }),
    pager(page),
    role() === "admin" ? h("form", { class: "card", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await withProgress(create, t("action.create"), () => ctx.api.post("/organisations", { json: { name: name.value } }));
        reload();
      } catch (error) { mount(result, errorBox(error)); }
    } }, h("h2", {}, t("setup.new_organisation")), h("div", { class: "form-row" }, field(t("field.name"), name), create), result) : null,
  ];
}

async function brandsTab(query) {
  const organisations = await all("/organisations");
  const organisationId = query.organisation_id || organisations[0]?.id || "";
  const [page, relations] = await Promise.all([
    ctx.api.get(apiPath("/brands", { q: query.q, ...paging(query) })),
    organisationId ? all(`/organisations/${organisationId}/brands`) : [],
  ]);
  const relationOf = Object.fromEntries(relations.map((r) => [r.brand_id, r.relation]));
  const result = h("div");
  const name = h("input", { required: true });
  const create = h("button", { type: "submit" }, t("action.create"));
  return [
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "organisation_id", label: t("setup.relation_for"), type: "select", options: organisations.map((o) => [o.id, o.name]) },
    ], { ...query, organisation_id: organisationId }),
    table([t("field.name"), t("field.relation")], page.items.map((b) => {
      const select = h("select", { "aria-label": t("setup.relation_of", { brand: b.name }) },
        h("option", { value: "" }, "–"),
        ["own", "competitor"].map((r) => h("option", { value: r, selected: relationOf[b.id] === r }, t(`relation.${r}`))));
      select.onchange = async () => {
        if (!select.value) return;
        try {
          await ctx.api.put(`/organisations/${organisationId}/brands/${b.id}`, { json: { relation: select.value } });
          mount(result, notice(t("action.saved")));
        } catch (error) { mount(result, errorBox(error)); }
      };
      return { attrs: { "data-brand": b.id }, cells: [b.name, select] };
    }), { empty: t("list.empty") }),
    pager(page),
    h("form", { class: "card", onsubmit: async (event) => {
      event.preventDefault();
      try {
        await withProgress(create, t("action.create"), () => ctx.api.post("/brands", { json: { name: name.value } }));
        reload();
      } catch (error) { mount(result, errorBox(error)); }
    } }, h("h2", {}, t("setup.new_brand")), h("div", { class: "form-row" }, field(t("field.name"), name), create)),
    result,
  ];
}

function locationForm(brands, existing, result) {
  const v = existing || {};
  const inputs = {
    brand_id: h("select", {}, brands.map((b) => h("option", { value: b.id, selected: b.id === v.brand_id }, b.name))),
    name: h("input", { required: true, value: v.name || "" }),
    code: h("input", { value: v.code || "" }),
    region: h("input", { value: v.region || "" }),
    district: h("input", { value: v.district || "" }),
    address: h("input", { value: v.address || "", size: 40 }),
    timezone: h("input", { required: true, value: v.timezone || "Europe/Prague" }),
    phone: h("input", { value: v.phone || "" }),
    email: h("input", { type: "email", value: v.email || "" }),
    opening_hours: h("input", { value: openingHoursText(v.opening_hours), size: 40, placeholder: "mon 09:00-17:00, sat 10:00-14:00" }),
  };
  inputs.timezone.setAttribute("list", "timezones"); // `list` is read-only as a property
  const save = h("button", { type: "submit" }, existing ? t("action.save") : t("action.create"));
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return h("form", { class: "card", "data-location-form": existing ? existing.id : "new", onsubmit: async (event) => {
    event.preventDefault();
    let hours;
    try { hours = parseOpeningHours(inputs.opening_hours.value); } catch (error) {
      mount(result, h("div", { class: "alert", role: "alert" }, t("setup.bad_hours", { part: error.message })));
      return;
    }
    const body = { opening_hours: hours };
    for (const key of ["brand_id", "name", "region", "district", "address", "timezone"]) body[key] = inputs[key].value;
    for (const key of ["code", "phone", "email"]) body[key] = inputs[key].value || null;
    if (existing) delete body.brand_id;
    try {
      await withProgress(save, t("action.save"), () => (existing
        ? ctx.api.patch(`/locations/${existing.id}`, { json: body }) : ctx.api.post("/locations", { json: body })));
      go("/setup", { tab: "locations" }, t("action.saved"));
    } catch (error) { mount(result, errorBox(error)); }
  } },
  h("h2", {}, existing ? t("setup.edit_location", { name: existing.name }) : t("setup.new_location")),
  h("datalist", { id: "timezones" }, zones.map((z) => h("option", { value: z }))),
  h("div", { class: "form-row" }, existing ? null : field(t("field.brand"), inputs.brand_id), field(t("field.name"), inputs.name),
    field(t("setup.code"), inputs.code), field(t("field.region"), inputs.region), field(t("setup.district"), inputs.district),
    field(t("setup.address"), inputs.address), field(t("setup.timezone"), inputs.timezone), field(t("setup.phone"), inputs.phone),
    field(t("field.email"), inputs.email), field(t("setup.opening_hours"), inputs.opening_hours), save));
}

function importForm(result) {
  const file = h("input", { type: "file", accept: ".csv,.xlsx", required: true });
  const send = h("button", { type: "submit" }, t("setup.import"));
  return h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("file", file.files[0]);
    try {
      const done = await withProgress(send, t("setup.importing"), () => ctx.api.post("/locations/import", { body }));
      go("/setup", { tab: "locations" }, t("setup.imported", { created: done.created, updated: done.updated, unchanged: done.unchanged }));
    } catch (error) {
      const problems = error.problem?.errors || [];
      mount(result, problems.length ? h("div", { class: "alert", role: "alert", "data-code": error.code },
        h("strong", {}, error.message),
        table([t("forms.row"), t("setup.column"), t("forms.problem")], problems.map(({ field: where, reason }) => {
          const match = /^row (\d+)(?:\.(.*))?$/.exec(where) || [];
          return { attrs: { "data-problem-row": match[1] || "" }, cells: [match[1] || where, match[2] || "", reason] };
        }))) : errorBox(error));
    }
  } },
  h("h2", {}, t("setup.import_title")), h("p", { class: "muted" }, t("setup.import_help")),
  h("div", { class: "form-row" }, field(t("forms.file"), file), send));
}

async function locationsTab(query) {
  const brands = await all("/brands");
  const page = await ctx.api.get(apiPath("/locations", { q: query.q, brand_id: query.brand_id, ...paging(query) }));
  const brandName = Object.fromEntries(brands.map((b) => [b.id, b.name]));
  const result = h("div");
  const editing = query.edit ? await ctx.api.get(`/locations/${query.edit}`) : null;
  return [
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "brand_id", label: t("field.brand"), type: "select", options: [["", t("filters.any")], ...brands.map((b) => [b.id, b.name])] },
    ], query),
    table([t("field.name"), t("field.brand"), t("field.region"), t("setup.timezone"), t("setup.opening_hours"), ""],
      page.items.map((l) => ({ attrs: { "data-location": l.id }, cells: [l.name, brandName[l.brand_id] || "", l.region, l.timezone,
        openingHoursText(l.opening_hours) || "–",
        h("a", { href: `#/setup?tab=locations&edit=${l.id}`, "aria-label": t("setup.edit_location", { name: l.name }) }, t("action.edit"))] })),
      { empty: t("list.empty") }),
    pager(page),
    result,
    locationForm(brands, editing, result),
    importForm(result),
  ];
}

export async function render({ query }) {
  const tab = TABS.includes(query.tab) ? query.tab : "locations";
  const body = await { organisations: organisationsTab, brands: brandsTab, locations: locationsTab }[tab](query);
  return [
    heading(t("setup.title")),
    h("nav", { class: "actions", "aria-label": t("setup.tabs") }, TABS.map((name) =>
      h("a", { href: `#/setup?tab=${name}`, class: name === tab ? "button" : "button secondary",
        "aria-current": name === tab ? "page" : null }, t(`setup.${name}`)))),
    body,
  ];
}
