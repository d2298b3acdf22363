// One shopper: profile (capacity, languages, travel radius) to edit, workload and review record.

import {
  apiPath, ctx, errorBox, field, formatTime, h, heading, mount, notice, pager, t, table, withProgress,
} from "../lib/core.js";

const OPEN = ["assigned", "accepted", "returned"];
const RECORD = ["submitted", "approved", "rejected", "expired", "cancelled"];

export async function render({ params: [userId], query }) {
  const [user, profile] = await Promise.all([
    ctx.api.get(`/users/${userId}`), ctx.api.get(`/users/${userId}/shopper-profile`).catch(() => null),
  ]);
  // Totals per status come from the task list's own counts (limit 1 reads only the total).
  const count = (status) => ctx.api.get(apiPath("/tasks", { shopper_id: userId, status, limit: 1 })).then((p) => p.total);
  const statuses = [...OPEN, ...RECORD];
  const totals = Object.fromEntries((await Promise.all(statuses.map(count))).map((n, i) => [statuses[i], n]));
  const tasks = await ctx.api.get(apiPath("/tasks", { shopper_id: userId, limit: 20, offset: query.offset || 0 }));
  const reviewed = totals.approved + totals.rejected;

  const result = h("div");
  const languages = h("input", { value: (profile?.languages || []).join(", ") });
  const perDay = h("input", { type: "number", min: 0, max: 100, value: String(profile?.capacity_per_day ?? 3) });
  const perWeek = h("input", { type: "number", min: 0, max: 500, value: String(profile?.capacity_per_week ?? 10) });
  const radius = h("input", { type: "number", min: 0, max: 2000, value: String(profile?.travel_radius_km ?? 25) });
  const save = h("button", { type: "submit" }, t("action.save"));
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    const body = { ...(profile || {}), languages: languages.value.split(",").map((s) => s.trim()).filter(Boolean),
      capacity_per_day: Number(perDay.value), capacity_per_week: Number(perWeek.value), travel_radius_km: Number(radius.value) };
    delete body.user_id;
    try {
      await withProgress(save, t("action.save"), () => ctx.api.put(`/users/${userId}/shopper-profile`, { json: body }));
      mount(result, notice(t("action.saved")));
    } catch (error) { mount(result, errorBox(error)); }
  } },
  h("h2", {}, t("shopper.profile")),
  h("div", { class: "form-row" }, field(t("shoppers.languages"), languages), field(t("shoppers.capacity_day"), perDay),
    field(t("shoppers.capacity_week"), perWeek), field(t("shopper.radius"), radius), save),
  result);

  return [
    heading(user.name),
    h("p", {}, user.email, " · ", user.is_active ? t("field.active") : t("shopper.inactive")),
    form,
    h("h2", {}, t("shopper.workload")),
    table(OPEN.map((s) => ({ label: t(`taskstatus.${s}`), num: true })), [OPEN.map((s) => String(totals[s]))]),
    h("h2", {}, t("shopper.record")),
    table([...RECORD.map((s) => ({ label: t(`taskstatus.${s}`), num: true })), { label: t("shopper.approval_rate"), num: true }],
      [[...RECORD.map((s) => String(totals[s])), reviewed ? `${Math.round((100 * totals.approved) / reviewed)} %` : "–"]]),
    h("h2", {}, t("shopper.tasks")),
    table([t("field.location"), t("field.channel"), t("wave.window"), t("field.status")],
      tasks.items.map((task) => [task.location.name, t(`channel.${task.channel}`),
        formatTime(task.window_start, task.location.timezone), t(`taskstatus.${task.status}`)]), { empty: t("list.empty") }),
    pager(tasks),
  ];
}
