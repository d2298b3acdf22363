// Shoppers: the list (search, active or not, pages) with their languages and capacity at a glance.

import { apiPath, ctx, filterBar, h, heading, pager, paging, t, table } from "../lib/core.js";

export async function render({ query }) {
  const page = await ctx.api.get(apiPath("/users", { role: "shopper", q: query.q, is_active: query.is_active,
    ...paging(query) }));
  const profiles = await Promise.all(page.items.map((u) =>
    ctx.api.get(`/users/${u.id}/shopper-profile`).catch(() => null)));
  return [
    heading(t("shoppers.title")),
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "is_active", label: t("field.active"), type: "select",
        options: [["", t("filters.any")], ["true", t("answer.yes")], ["false", t("answer.no")]] },
    ], query),
    table([t("field.name"), t("field.email"), t("shoppers.languages"), { label: t("shoppers.capacity_day"), num: true },
      { label: t("shoppers.capacity_week"), num: true }, t("field.active")],
    page.items.map((u, i) => ({ attrs: { "data-shopper": u.id }, cells: [
      h("a", { href: `#/shoppers/${u.id}` }, u.name), u.email, (profiles[i]?.languages || []).join(", ") || "–",
      profiles[i] ? String(profiles[i].capacity_per_day) : "–", profiles[i] ? String(profiles[i].capacity_per_week) : "–",
      u.is_active ? t("answer.yes") : t("answer.no"),
    ] })), { empty: t("list.empty") }),
    pager(page),
  ];
}
