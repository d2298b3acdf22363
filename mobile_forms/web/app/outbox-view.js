// What is only on this phone: drafts and reports waiting to send, their state, send now, export to a file.

import { h, mount } from "../shared/dom.js";
import { app, onlyOnPhone, refreshStatus } from "./main.js";
import { attachmentsOf, reportPayload } from "./lib/outbox.js";

const t = (key, params) => app.i18n.t(key, params);

/** The task states the server knows decide "returned" / "approved" for a sent report. */
async function serverStates() {
  const cached = await app.store.get(`tasks:${app.session.user.id}`);
  return Object.fromEntries((cached?.data.items || []).map((task) => [task.id, task.status]));
}

export function stateOf(report, taskStatus) {
  if (report.state !== "sent") return report.state;
  if (taskStatus === "returned") return "returned";
  if (taskStatus === "approved") return "approved";
  return "sent";
}

async function blobToBase64(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

/** The unsent reports of this shopper with their attachments, as the coordinator's import takes them. */
export async function exportUnsent() {
  const mine = (await onlyOnPhone()).filter((r) => r.shopper_id === app.session.user.id && r.state === "waiting");
  const attachments = [];
  for (const sha of new Set(mine.flatMap((r) => attachmentsOf(r.answers)))) {
    const stored = await app.store.getBlob(sha);
    if (stored) attachments.push({ sha256: sha, media_type: stored.media_type, base64: await blobToBase64(stored.blob) });
  }
  return {
    format: "fieldscore.outbox", version: 1, exported_at: new Date().toISOString(),
    shopper_id: app.session.user.id, shopper_email: app.session.user.email,
    reports: mine.map(reportPayload), attachments,
  };
}

export async function outboxScreen(main) {
  document.title = `${t("nav.outbox")} · Fieldscore`;
  // This shopper's reports, receipts included (the list shows them); only the unsent ones of the others.
  const mine = (await app.store.reportsOf(app.session.user.id)).sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  const others = (await onlyOnPhone()).filter((r) => r.shopper_id !== app.session.user.id).length;
  const states = await serverStates();
  const unsent = mine.filter((r) => r.state === "draft" || r.state === "waiting");
  const waiting = mine.filter((r) => r.state === "waiting");
  const message = h("div", { "aria-live": "polite" });
  const exportButton = h("button", { type: "button", class: "secondary", disabled: !waiting.length, onclick: async () => {
    const data = await exportUnsent();
    const url = URL.createObjectURL(new Blob([JSON.stringify(data)], { type: "application/json" }));
    const link = h("a", { href: url, download: `fieldscore-unsent-${new Date().toISOString().slice(0, 10)}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    mount(message, h("div", { class: "notice ok", role: "status" }, t("outbox.exported", { count: data.reports.length })));
  } }, t("outbox.export"));
  mount(main,
    h("h2", {}, t("nav.outbox")),
    h("p", { "data-testid": "unsent-count" }, t("outbox.only_here", { count: unsent.length })),
    app.persisted ? null : h("div", { class: "notice warn" }, t("settings.not_persisted")),
    app.outbox.needsLogin ? h("div", { class: "notice warn", role: "alert" }, t("login.expired", { count: waiting.length }),
      " ", h("a", { href: "#/login" }, t("login.submit"))) : null,
    others ? h("p", { class: "meta" }, t("outbox.others", { count: others })) : null,
    message,
    h("div", { class: "row" },
      h("button", { type: "button", disabled: !waiting.length, onclick: async () => { await app.outbox.sync({ force: true }); await outboxScreen(main); } },
        t("outbox.send_now")),
      exportButton),
    mine.length ? h("ul", { class: "stack", style: "list-style:none;padding:0" }, mine.map((r) => {
      const state = stateOf(r, states[r.task_id]);
      return h("li", { class: "card", "data-report": r.id },
        h("h3", {}, h("a", { href: r.state === "sent" ? `#/task/${r.task_id}` : `#/report/${r.id}` }, r.task_label || r.task_id)),
        h("p", { class: "meta" }, h("span", { class: `badge ${state}`, "data-state": state }, t(`state.${state}`)),
          r.state === "waiting" && r.attempts ? ` · ${t("outbox.attempts", { count: r.attempts })}` : "",
          r.state === "waiting" && r.last_error ? ` · ${t("report.last_error", { error: r.last_error })}` : ""),
        h("p", { class: "meta" }, new Date(r.updated_at).toLocaleString(app.i18n.lang)));
    })) : h("p", {}, t("outbox.empty")));
  await refreshStatus();
  const rerender = () => {
    if (location.hash.startsWith("#/outbox")) outboxScreen(main);
    window.removeEventListener("outbox-change", rerender);
  };
  window.addEventListener("outbox-change", rerender);
}
