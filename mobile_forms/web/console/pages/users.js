// Users (admins only): the list with filters and pages, a new user, deactivation and reactivation.

import {
  all, apiPath, ctx, errorBox, field, filterBar, h, heading, mount, pager, paging, reloadWith, t, table, withProgress,
} from "../lib/core.js";

const ROLES = ["admin", "coordinator", "manager", "shopper"];

export async function render({ query }) {
  const [page, organisations] = await Promise.all([
    ctx.api.get(apiPath("/users", { q: query.q, role: query.role, is_active: query.is_active, ...paging(query) })),
    all("/organisations"),
  ]);
  const orgName = Object.fromEntries(organisations.map((o) => [o.id, o.name]));
  const result = h("div");
  const reload = () => reloadWith(t("action.saved"));
  const inputs = {
    email: h("input", { type: "email", required: true }), name: h("input", { required: true }),
    password: h("input", { type: "password", required: true, autocomplete: "new-password" }),
    role: h("select", {}, ROLES.map((r) => h("option", { value: r }, t(`role.${r}`)))),
    organisation_id: h("select", {}, h("option", { value: "" }, "–"), organisations.map((o) => h("option", { value: o.id }, o.name))),
  };
  const create = h("button", { type: "submit" }, t("action.create"));
  return [
    heading(t("users.title")),
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "role", label: t("users.role"), type: "select", options: [["", t("filters.any")], ...ROLES.map((r) => [r, t(`role.${r}`)])] },
      { name: "is_active", label: t("field.active"), type: "select",
        options: [["", t("filters.any")], ["true", t("answer.yes")], ["false", t("answer.no")]] },
    ], query),
    result,
    table([t("field.name"), t("field.email"), t("users.role"), t("field.organisation"), t("field.active"), ""],
      page.items.map((u) => {
        const toggle = h("button", { type: "button", class: u.is_active ? "danger" : "secondary" },
          u.is_active ? t("users.deactivate") : t("users.reactivate"));
        toggle.onclick = async () => {
          try {
            await withProgress(toggle, toggle.textContent, () => ctx.api.patch(`/users/${u.id}`, { json: { is_active: !u.is_active } }));
            reload();
          } catch (error) { mount(result, errorBox(error)); }
        };
        return { attrs: { "data-user": u.id }, cells: [u.name, u.email, t(`role.${u.role}`), orgName[u.organisation_id] || "–",
          u.is_active ? t("answer.yes") : t("answer.no"), u.id === ctx.session.user.id ? "" : toggle] };
      }), { empty: t("list.empty") }),
    pager(page),
    h("form", { class: "card", onsubmit: async (event) => {
      event.preventDefault();
      const body = Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value || null]));
      try {
        await withProgress(create, t("action.create"), () => ctx.api.post("/users", { json: body }));
        reload();
      } catch (error) { mount(result, errorBox(error)); }
    } }, h("h2", {}, t("users.new")),
    h("div", { class: "form-row" }, Object.entries(inputs).map(([k, input]) =>
      field(t(k === "role" ? "users.role" : k === "organisation_id" ? "field.organisation" : `field.${k}`), input)), create)),
  ];
}
