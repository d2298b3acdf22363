// Users (admins only): the list with filters and pages, a new user, changing a user's role (and organisation),
// deactivation and reactivation.

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
  const editor = h("div");
  const roleSelect = (value) => h("select", {}, ROLES.map((r) => h("option", { value: r, selected: r === value }, t(`role.${r}`))));
  const organisationSelect = (value) => h("select", {}, h("option", { value: "" }, "–"),
    organisations.map((o) => h("option", { value: o.id, selected: o.id === value }, o.name)));
  // Editing a user: the role and, for a manager, the organisation (the API refuses one for the other roles).
  const edit = (u) => {
    const role = roleSelect(u.role);
    const organisation = organisationSelect(u.organisation_id || "");
    const save = h("button", { type: "submit" }, t("action.save"));
    const shown = () => { organisation.disabled = role.value !== "manager"; };
    role.onchange = shown;
    shown();
    mount(editor, h("form", { class: "card", "data-edit-user": u.id, onsubmit: async (event) => {
      event.preventDefault();
      const body = { role: role.value, organisation_id: role.value === "manager" ? organisation.value || null : null };
      try {
        await withProgress(save, t("action.save"), () => ctx.api.patch(`/users/${u.id}`, { json: body }));
        reload();
      } catch (error) { mount(result, errorBox(error)); }
    } }, h("h2", {}, t("users.edit_title", { name: u.name })),
    h("p", { class: "muted" }, t("users.role_note")),
    h("div", { class: "form-row" }, field(t("users.role"), role), field(t("field.organisation"), organisation), save)));
    role.focus();
  };
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
        const change = h("button", { type: "button", class: "secondary", onclick: () => edit(u) }, t("action.edit"));
        return { attrs: { "data-user": u.id }, cells: [u.name, u.email, t(`role.${u.role}`), orgName[u.organisation_id] || "–",
          u.is_active ? t("answer.yes") : t("answer.no"), [change, " ", u.id === ctx.session.user.id ? "" : toggle]] };
      }), { empty: t("list.empty") }),
    pager(page),
    editor,
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
