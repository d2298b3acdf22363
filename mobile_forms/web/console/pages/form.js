// One form: its versions, a preview as the shopper sees it, the draft to edit (its definition as JSON,
// checked by the server), publish, and export of any version as an XLSForm.

import {
  apiPath, ctx, errorBox, filterBar, formatTime, h, heading, mount, pager, reloadWith, t, table, withProgress,
} from "../lib/core.js";
import { preview } from "../lib/forms.js";

async function download(path, filename) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${ctx.session.token}` } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function render({ params: [formId], query }) {
  const form = await ctx.api.get(`/forms/${formId}`);
  const versions = await ctx.api.get(apiPath(`/forms/${formId}/versions`,
    { limit: 50, offset: query.offset || 0, status: query.status }));
  const shownNumber = Number(query.version || form.latest_version);
  const version = await ctx.api.get(`/forms/${formId}/versions/${shownNumber}`);
  const result = h("div");

  const publish = h("button", { type: "button" }, t("form.publish"));
  publish.onclick = async () => {
    try {
      const published = await withProgress(publish, t("form.publish"), () => ctx.api.post(`/forms/${formId}/publish`));
      reloadWith(t("form.published", { n: published.number }));
    } catch (error) { mount(result, errorBox(error)); }
  };
  const exportButton = h("button", { type: "button", class: "secondary" }, t("form.export"));
  exportButton.onclick = async () => {
    try {
      await withProgress(exportButton, t("form.export"), () =>
        download(`/forms/${formId}/versions/${version.number}/xlsform`, `${form.name}-v${version.number}.xlsx`));
    } catch (error) { mount(result, errorBox(error)); }
  };

  const editor = h("textarea", { id: "draft-json", rows: 18, spellcheck: false, style: "font-family: monospace" },
    JSON.stringify(version.definition, null, 2));
  const save = h("button", { type: "button" }, t("form.save_draft"));
  save.onclick = async () => {
    let definition;
    try { definition = JSON.parse(editor.value); } catch (error) {
      mount(result, h("div", { class: "alert", role: "alert" }, t("form.bad_json", { detail: error.message })));
      return;
    }
    try {
      const saved = await withProgress(save, t("form.save_draft"), () =>
        ctx.api.put(`/forms/${formId}/draft`, { json: { definition } }));
      reloadWith(t("form.saved", { n: saved.number }));
    } catch (error) { mount(result, errorBox(error)); }
  };

  return [
    heading(form.name),
    h("p", {}, t(`channel.${form.channel}`), " · ", t("form.versions_line", {
      latest: form.latest_version, published: form.published_version ?? "–" })),
    h("div", { class: "actions" },
      version.status === "draft" ? publish : null, exportButton),
    result,
    h("h2", {}, t("form.versions")),
    filterBar([{ name: "status", label: t("field.status"), type: "select", options: [
      ["", t("filters.any")], ["draft", t("formstatus.draft")], ["published", t("formstatus.published")]] }], query),
    table([{ label: t("field.version"), num: true }, t("field.status"), t("field.created"), t("forms.published")],
      versions.items.map((v) => ({ attrs: { "data-version": v.number }, cells: [
        h("a", { href: `#/forms/${formId}?version=${v.number}`, "aria-current": v.number === shownNumber ? "true" : null },
          String(v.number)),
        t(`formstatus.${v.status}`), formatTime(v.created_at, "UTC"), v.published_at ? formatTime(v.published_at, "UTC") : "–",
      ] }))),
    pager(versions),
    h("h2", {}, t("form.preview", { n: version.number })),
    h("div", { class: "card", "data-preview": "" }, preview(version.definition, t)),
    version.status === "draft" ? h("section", { class: "card" },
      h("h2", {}, t("form.edit_draft")),
      h("div", { class: "fld" }, h("label", { for: "draft-json" }, t("form.definition")), editor),
      h("div", { class: "actions" }, save)) : null,
  ];
}
