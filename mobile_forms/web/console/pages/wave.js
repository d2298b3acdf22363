// One wave: generate its tasks, run auto-assignment (what could not be filled and why), the coverage
// grid (location × slot, symbols and numbers so no state is told by colour alone), and the assignment
// board (tasks with filters and pages, assign or reassign by hand, the refusing rule shown, cancel after a
// confirmation).

import {
  all, apiPath, ctx, errorBox, field, filterBar, formatTime, h, heading, mount, notice, pager, reloadWith, t, table,
  withProgress,
} from "../lib/core.js";

// Each state has its symbol, its word in the legend and the cell's label, and a tint from the Okabe–Ito
// palette (told apart by colour-blind readers; in greyscale the symbols still do it).
export const STATES = ["done", "due", "unanswered", "missing"];
export const SYMBOLS = { done: "✓", due: "◷", unanswered: "⊘", missing: "✗" };
// The API's rule (POST /tasks/{id}/cancel): a task with a report is decided by review instead.
export const CANCELLABLE = ["open", "assigned", "accepted"];

/** A coverage cell's state for its tint: the worst of its probes (missing, unanswered, due, done); "none" if none. */
export function cellState(cell) {
  if (!cell || !cell.planned) return "none";
  if (cell.missing) return "missing";
  if (cell.unanswered) return "unanswered";
  if (cell.due) return "due";
  return "done";
}

/** "✓1 ⊘1": each state present with its symbol and count (the tint alone never says it). */
export function cellText(cell) {
  return STATES.filter((k) => cell[k]).map((k) => `${SYMBOLS[k]}${cell[k]}`).join(" ");
}

function coverageCell(cell) {
  const state = cellState(cell);
  if (state === "none") return h("span", { class: "muted", title: t("coverage.none") }, "·");
  const text = t("coverage.cell", { done: cell.done, due: cell.due, missing: cell.missing,
    unanswered: cell.unanswered || 0, planned: cell.planned });
  // The words for screen readers; the symbols and counts for the eye.
  return h("span", { title: text, "data-state": state, class: `cell s-${state}` },
    h("span", { "aria-hidden": "true" }, cellText(cell)), h("span", { class: "sr-only" }, text));
}

/** "rotation: 2" (auto-assignment's reason with its count of shoppers) → "2 shoppers: worked this location …". */
export function reasonText(reason) {
  const [code, count] = reason.split(": ");
  const rule = ctx.i18n.has(`rule.${code}`) ? t(`rule.${code}`) : code;
  return count === undefined ? rule : t("wave.rule_count", { n: count, rule });
}

export async function render({ params: [campaignId, waveId], query }) {
  const base = `/campaigns/${campaignId}/waves/${waveId}`;
  const [campaign, waves, shoppers] = await Promise.all([
    ctx.api.get(`/campaigns/${campaignId}`),
    all(`/campaigns/${campaignId}/waves`),
    all("/users", { role: "shopper", is_active: true }),
  ]);
  const wave = waves.find((w) => w.id === waveId);
  if (!wave) throw Object.assign(new Error("wave"), { status: 404 });
  const [coverage, tasks] = await Promise.all([
    ctx.api.get(apiPath(`${base}/coverage`, { limit: 50, offset: query.coffset || 0 })),
    ctx.api.get(apiPath("/tasks", { wave_id: waveId, status: query.status, channel: query.channel,
      limit: 25, offset: query.offset || 0 })),
  ]);
  const shopperName = Object.fromEntries(shoppers.map((s) => [s.id, s.name]));
  const result = h("div", { "data-result": "" });
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  let lastUnfilled = null;

  const generate = h("button", { type: "button" }, t("wave.generate"));
  generate.onclick = async () => {
    try {
      const done = await withProgress(generate, t("wave.generating"), () => ctx.api.post(`${base}/generate`));
      sessionStorage.setItem(`wave:${waveId}:result`, JSON.stringify({ kind: "generate", done }));
      reload();
    } catch (error) { mount(result, errorBox(error)); }
  };
  const autoAssign = h("button", { type: "button" }, t("wave.auto_assign"));
  autoAssign.onclick = async () => {
    try {
      const done = await withProgress(autoAssign, t("wave.assigning"), () => ctx.api.post(`${base}/auto-assign`));
      sessionStorage.setItem(`wave:${waveId}:result`, JSON.stringify({ kind: "assign", done }));
      reload();
    } catch (error) { mount(result, errorBox(error)); }
  };

  // The last action's outcome survives the re-render that shows its effect on the grid and the board.
  const kept = JSON.parse(sessionStorage.getItem(`wave:${waveId}:result`) || "null");
  if (kept?.kind === "generate") {
    mount(result, notice(t("wave.generated", { count: kept.done.created, existing: kept.done.existing })),
      kept.done.already_over ? notice(t("wave.already_over", { count: kept.done.already_over })) : null,
      kept.done.problems.length ? table([t("field.location"), t("field.channel"), t("coverage.slot"), t("wave.reason")],
        kept.done.problems.map((p) => [p.location_id, t(`channel.${p.channel}`), p.slot_key, p.reason])) : null);
  } else if (kept?.kind === "assign") {
    lastUnfilled = Object.fromEntries(kept.done.unfilled.map((u) => [u.task_id, u.reasons]));
    mount(result, notice(t("wave.assigned", { assigned: kept.done.assigned, considered: kept.done.considered,
      unfilled: kept.done.unfilled.length })));
  }

  const coverageRows = coverage.rows.map((row) => ({
    attrs: { "data-coverage": `${row.location_id}:${row.channel}` },
    cells: [row.location_name, t(`relation.${row.relation}`), t(`channel.${row.channel}`),
      ...coverage.slot_keys.map((key) => coverageCell(row.cells.find((c) => c.slot_key === key)))],
  }));

  const taskRows = tasks.items.map((task) => {
    const picker = h("select", { "aria-label": t("wave.assign_to", { location: task.location.name }) },
      h("option", { value: "" }, t("wave.pick_shopper")),
      shoppers.map((s) => h("option", { value: s.id, selected: s.id === task.shopper_id }, s.name)));
    const why = h("div");
    const assign = h("button", { type: "button", class: "secondary" }, task.shopper_id ? t("wave.reassign") : t("wave.assign"));
    assign.onclick = async () => {
      if (!picker.value) return;
      try {
        await withProgress(assign, t("wave.assign"), () => ctx.api.post(`/tasks/${task.id}/assign`, { json: { shopper_id: picker.value } }));
        sessionStorage.removeItem(`wave:${waveId}:result`);
        reload();
      } catch (error) {
        // The rule that refuses the shopper, in words (the API names it in errors[].reason).
        const rules = error.code === "task.not_assignable" ? Object.values(error.fields).flat() : [];
        mount(why, rules.length ? h("div", { class: "alert", role: "alert", "data-code": error.code }, error.message,
          h("ul", {}, rules.map((rule) => h("li", { "data-rule": rule }, reasonText(rule))))) : errorBox(error));
      }
    };
    const assignable = ["open", "assigned"].includes(task.status);
    const cancellable = CANCELLABLE.includes(task.status);
    // Cancelling asks first, inline: the reason (kept in the audit log) and a second, explicit button.
    const confirmBox = h("div", { class: "confirm", hidden: true, role: "group",
      "aria-label": t("wave.cancel_confirm", { location: task.location.name }) });
    const askCancel = h("button", { type: "button", class: "secondary", "aria-expanded": "false",
      "aria-label": t("wave.cancel_task", { location: task.location.name }) }, t("wave.cancel"));
    askCancel.onclick = () => {
      const reason = h("input", { type: "text", maxlength: 500 });
      const yes = h("button", { type: "button", class: "danger" }, t("wave.cancel_yes"));
      const keep = h("button", { type: "button", class: "secondary" }, t("wave.cancel_keep"));
      keep.onclick = () => { confirmBox.hidden = true; askCancel.setAttribute("aria-expanded", "false"); askCancel.focus(); };
      yes.onclick = async () => {
        try {
          await withProgress(yes, t("wave.cancelling"), () => ctx.api.post(`/tasks/${task.id}/cancel`,
            { json: reason.value.trim() ? { reason: reason.value.trim() } : {} }));
          sessionStorage.removeItem(`wave:${waveId}:result`);
          reloadWith(t("wave.cancelled", { location: task.location.name }));
        } catch (error) { mount(why, errorBox(error)); }
      };
      mount(confirmBox, h("p", {}, t("wave.cancel_confirm", { location: task.location.name })),
        field(t("wave.cancel_reason"), reason), h("span", { class: "actions" }, yes, keep));
      confirmBox.hidden = false;
      askCancel.setAttribute("aria-expanded", "true");
      reason.focus();
    };
    const unfilled = lastUnfilled?.[task.id];
    return { attrs: { "data-task": task.id }, cells: [
      task.location.name, t(`channel.${task.channel}`), task.slot_key || "",
      formatTime(task.window_start, task.location.timezone, { withZone: false }) + " – " + formatTime(task.window_end, task.location.timezone),
      h("span", { class: "pill" }, t(`taskstatus.${task.status}`)),
      task.shopper_id ? shopperName[task.shopper_id] || task.shopper_id : "–",
      h("div", {}, unfilled ? h("div", { class: "flag", "data-unfilled": "" }, `${t("wave.unfilled")}:`,
        h("ul", {}, unfilled.map((reason) => h("li", {}, reasonText(reason))))) : null,
        assignable || cancellable ? h("span", { class: "actions" }, assignable ? [picker, assign] : null,
          cancellable ? askCancel : null) : null, confirmBox, why),
    ] };
  });

  return [
    heading(t("wave.title", { wave: wave.name, campaign: campaign.name })),
    h("p", {}, t("wave.dates", { start: wave.starts_on, end: wave.ends_on }), " · ",
      h("a", { href: `#/campaigns/${campaignId}` }, t("wave.back"))),
    h("div", { class: "actions" }, generate, autoAssign),
    result,
    h("h2", {}, t("coverage.title")),
    h("ul", { class: "legend", "aria-label": t("coverage.legend") }, STATES.map((k) => h("li", { "data-legend": k },
      h("span", { class: `cell s-${k}`, "aria-hidden": "true" }, SYMBOLS[k]), " ", h("strong", {}, t(`coverage.${k}`)),
      " – ", t(`coverage.${k}_help`)))),
    table([t("field.location"), t("field.relation"), t("field.channel"), ...coverage.slot_keys],
      coverageRows, { className: "cov", empty: t("coverage.empty") }),
    pager({ total: coverage.total_rows, limit: coverage.limit, offset: coverage.offset }, "coffset"),
    h("h2", {}, t("wave.board")),
    filterBar([
      { name: "status", label: t("field.status"), type: "select", options: [["", t("filters.any")],
        ...["open", "assigned", "accepted", "submitted", "returned", "approved", "rejected", "expired", "cancelled"]
          .map((s) => [s, t(`taskstatus.${s}`)])] },
      { name: "channel", label: t("field.channel"), type: "select",
        options: [["", t("filters.any")], ...Object.keys(campaign.forms).map((c) => [c, t(`channel.${c}`)])] },
    ], query),
    table([t("field.location"), t("field.channel"), t("coverage.slot"), t("wave.window"), t("field.status"),
      t("wave.shopper"), t("wave.assignment")], taskRows, { empty: t("list.empty") }),
    pager(tasks),
  ];
}
