// What every console page uses: the session's API and texts, URL state, lists with pages, times in zones.

import { ApiError } from "../../shared/api.js";
import { h, mount, uid } from "../../shared/dom.js";

/** Set by main.js at start: { api, i18n, session, go(path, query) }. */
export const ctx = { api: null, i18n: null, session: null, go: null, route: null };

export const t = (key, params) => ctx.i18n.t(key, params);

export function role() {
  return ctx.session?.user?.role;
}

// ---- routes: "#/path?query" -------------------------------------------------------------------------

/** "#/reports/12?status=x" → { path: "/reports/12", query: {status: "x"} } */
export function parseHash(hash) {
  const raw = (hash || "").replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/", query: Object.fromEntries(new URLSearchParams(search)) };
}

/** ("/reports", {status: "x", empty: ""}) → "#/reports?status=x"; empty values are left out. */
export function hashFor(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ""}`;
}

/** Change some of the current route's query (filters, page) and render again; `offset` resets unless given. */
export function setQuery(patch) {
  const { path, query } = ctx.route;
  const next = { ...query, ...patch };
  if (!("offset" in patch)) delete next.offset;
  window.location.hash = hashFor(path, next);
}

/** "/reports?x=1" for the API from a query object, leaving out empty values; a list repeats its key. */
export function apiPath(path, query = {}) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) value.forEach((item) => params.append(key, String(item)));
    else if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

// ---- times: always in the location's own zone, with the zone named ------------------------------------

export function formatTime(iso, timeZone, { withZone = true } = {}) {
  if (!iso) return "";
  const date = new Date(iso);
  const zone = timeZone || "UTC";
  const text = new Intl.DateTimeFormat(ctx.i18n?.lang || "en", {
    timeZone: zone, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(date);
  return withZone ? `${text} ${zone}` : text;
}

export function formatNumber(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return new Intl.NumberFormat(ctx.i18n?.lang || "en", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    .format(value);
}

// ---- building blocks ------------------------------------------------------------------------------------

export function heading(text) {
  return h("h1", { id: "page-title" }, text);
}

/** A problem from the API as an alert: its message and, by field, each reason. */
export function errorBox(error) {
  if (error instanceof ApiError) {
    const fields = Object.entries(error.fields);
    return h("div", { class: "alert", role: "alert", "data-code": error.code },
      h("strong", {}, error.message),
      fields.length ? h("ul", {}, fields.map(([field, reasons]) =>
        reasons.map((reason) => h("li", { "data-field": field }, `${field}: ${reason}`)))) : null);
  }
  return h("div", { class: "alert", role: "alert" }, t("error.network", { detail: String(error?.message || error) }));
}

export function notice(text) {
  return h("div", { class: "notice", role: "status" }, text);
}

/** Run a long action with the button disabled and its progress announced; returns the action's result. */
export async function withProgress(button, label, action) {
  const bar = document.getElementById("progress");
  const started = performance.now();
  if (button) button.disabled = true;
  mount(bar, h("span", { "data-progress": "running" }, `${label} …`));
  const tick = setInterval(() => {
    mount(bar, h("span", { "data-progress": "running" },
      `${label} … ${t("progress.seconds", { n: Math.round((performance.now() - started) / 1000) })}`));
  }, 1000);
  try {
    return await action();
  } finally {
    clearInterval(tick);
    mount(bar);
    if (button) button.disabled = false;
  }
}

/** A table: headers [{label, num}] or strings; rows of cells (text or nodes), optional caption. */
export function table(headers, rows, { caption, className, empty } = {}) {
  if (!rows.length && empty) return h("p", { class: "muted" }, empty);
  return h("table", { class: className || null },
    caption ? h("caption", { class: "muted" }, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((header) => {
      const { label, num } = typeof header === "string" ? { label: header } : header;
      return h("th", { scope: "col", class: num ? "num" : null }, label);
    }))),
    h("tbody", {}, rows.map((row) => h("tr", row.attrs || {}, (row.cells || row).map((cell, i) =>
      h("td", { class: headers[i]?.num ? "num" : null }, cell))))));
}

/** Previous / next for a Page {total, limit, offset}; moving changes `key` (offset) in the URL. */
export function pager(page, key = "offset") {
  const { total, limit, offset } = page;
  const last = Math.min(offset + limit, total);
  // Another list's offset on the same page stays where it is.
  const move = (to) => setQuery({ offset: ctx.route.query.offset, [key]: to || "" });
  return h("nav", { class: "pager", "aria-label": t("pager.label") },
    h("button", { class: "secondary", type: "button", disabled: offset <= 0,
      onclick: () => move(Math.max(0, offset - limit)) }, t("pager.previous")),
    h("span", { "data-pager": "" }, total ? t("pager.showing", { from: offset + 1, to: last, total }) : t("pager.none")),
    h("button", { class: "secondary", type: "button", disabled: last >= total,
      onclick: () => move(offset + limit) }, t("pager.next")));
}

/** The query's paging for the API (limit from the URL or `size`). */
export function paging(query, size = 25) {
  return { limit: query.limit || size, offset: query.offset || 0 };
}

/**
 * A filter bar kept in the URL: fields [{name, label, type: "text"|"select"|"date"|"number"|"checkbox",
 * options: [[value, label]]}]; submitting writes them to the URL (which renders the page again).
 */
export function filterBar(fields, query) {
  const inputs = {};
  const form = h("form", { class: "filters", role: "search", "aria-label": t("filters.label"),
    onsubmit: (event) => {
      event.preventDefault();
      const patch = {};
      for (const field of fields) {
        const input = inputs[field.name];
        patch[field.name] = field.type === "checkbox" ? (input.checked ? "true" : "") : input.value;
      }
      setQuery(patch);
    } },
  fields.map((field) => {
    const id = uid("f");
    let input;
    if (field.type === "select") {
      input = h("select", { id, name: field.name },
        field.options.map(([value, label]) => h("option", { value, selected: (query[field.name] || "") === value }, label)));
    } else if (field.type === "checkbox") {
      input = h("input", { id, name: field.name, type: "checkbox", checked: query[field.name] === "true" });
      inputs[field.name] = input;
      return h("label", { class: "inline", for: id }, input, field.label);
    } else {
      input = h("input", { id, name: field.name, type: field.type || "text", value: query[field.name] || "",
        min: field.min, max: field.max });
    }
    inputs[field.name] = input;
    return h("span", { class: "fld" }, h("label", { for: id }, field.label), input);
  }),
  h("button", { type: "submit" }, t("filters.apply")));
  return form;
}

/** A labelled form control: the label holds only its text, so the control's name is exactly that text. */
export function field(label, input) {
  const id = input.id || uid("in");
  input.id = id;
  return h("span", { class: "fld" }, h("label", { for: id }, label), input);
}

// ---- look-ups cached for the session (names of locations, their zones) --------------------------------

const cache = new Map();
export async function cached(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch((error) => { cache.delete(key); throw error; }));
  return cache.get(key);
}
export function forget(prefix) {
  for (const key of [...cache.keys()]) if (key.startsWith(prefix)) cache.delete(key);
}

/** Every page of a list (for pickers): bounded so a huge tenant cannot hang the page. */
export async function all(path, query = {}, max = 2000) {
  const items = [];
  for (let offset = 0; offset < max; offset += 200) {
    const page = await ctx.api.get(apiPath(path, { ...query, limit: 200, offset }));
    items.push(...page.items);
    if (items.length >= page.total || !page.items.length) break;
  }
  return items;
}

export async function locationById(id) {
  return cached(`location:${id}`, () => ctx.api.get(`/locations/${id}`));
}

/** Render the current page again, with `message` shown above it once (the outcome of what was just done). */
export function reloadWith(message) {
  ctx.flash = message;
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}

/** Open a route (with `message` shown once above it); the current route again renders it again. */
export function go(path, query, message) {
  const target = hashFor(path, query);
  if (message) ctx.flash = message;
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else window.location.hash = target;
}

export { h, mount };
