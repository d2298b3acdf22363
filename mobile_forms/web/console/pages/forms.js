// Form library: the list with filters and pages, and upload of an XLSForm with its problems by sheet and row.

import { ApiError } from "../../shared/api.js";
import {
  all, apiPath, ctx, errorBox, filterBar, field, formatTime, go, h, heading, mount, pager, paging, t, table, withProgress,
} from "../lib/core.js";

export const CHANNELS = ["visit", "call", "email", "chat"];

/** "survey!row 5" → ["survey", "5"]; "file" → ["file", ""]. */
export function sheetAndRow(fieldName) {
  const match = /^(.*)!row (\d+)$/.exec(fieldName);
  return match ? [match[1], match[2]] : [fieldName, ""];
}

export async function render({ query }) {
  const [page, organisations] = await Promise.all([
    ctx.api.get(apiPath("/forms", { q: query.q, channel: query.channel, ...paging(query) })),
    all("/organisations"),
  ]);
  const result = h("div");
  const file = h("input", { type: "file", name: "file", accept: ".xlsx", required: true });
  const name = h("input", { type: "text", name: "name", required: true });
  const channel = h("select", { name: "channel" }, CHANNELS.map((c) => h("option", { value: c }, t(`channel.${c}`))));
  const organisation = h("select", { name: "organisation_id" },
    h("option", { value: "" }, t("forms.shared")), organisations.map((o) => h("option", { value: o.id }, o.name)));
  const upload = h("button", { type: "submit" }, t("forms.upload"));
  const form = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("file", file.files[0]);
    body.append("name", name.value);
    body.append("channel", channel.value);
    if (organisation.value) body.append("organisation_id", organisation.value);
    try {
      const created = await withProgress(upload, t("forms.uploading"), () => ctx.api.post("/forms/import", { body }));
      // What the import kept aside (appearance, media, metadata rows…) is shown once on the form's page.
      const warnings = (created.warnings || []).map((w) => `${w.sheet} ${t("forms.row").toLowerCase()} ${w.row}`
        + `${w.column ? ` (${w.column})` : ""}: ${w.message}`);
      go(`/forms/${created.id}`, {}, warnings.length
        ? `${t("forms.imported_warnings", { count: warnings.length })} ${warnings.join("; ")}` : undefined);
    } catch (error) {
      if (error instanceof ApiError && error.code === "form.invalid_xlsform") {
        mount(result, h("div", { class: "alert", role: "alert", "data-code": error.code },
          h("strong", {}, error.message),
          table([t("forms.sheet"), { label: t("forms.row"), num: true }, t("forms.problem")],
            (error.problem.errors || []).map(({ field: where, reason }) => {
              const [sheet, row] = sheetAndRow(where);
              return { attrs: { "data-problem-row": row }, cells: [sheet, row, reason] };
            }))));
      } else mount(result, errorBox(error));
    }
  } },
  h("h2", {}, t("forms.upload_title")),
  h("div", { class: "form-row" }, field(t("forms.file"), file), field(t("field.name"), name),
    field(t("field.channel"), channel), field(t("field.organisation"), organisation), upload),
  result);

  return [
    heading(t("forms.title")),
    filterBar([
      { name: "q", label: t("filters.search"), type: "search" },
      { name: "channel", label: t("field.channel"), type: "select",
        options: [["", t("filters.any")], ...CHANNELS.map((c) => [c, t(`channel.${c}`)])] },
    ], query),
    table([t("field.name"), t("field.channel"), { label: t("forms.latest"), num: true },
      { label: t("forms.published"), num: true }, t("field.created")],
    page.items.map((f) => ({ attrs: { "data-form": f.id }, cells: [
      h("a", { href: `#/forms/${f.id}` }, f.name), t(`channel.${f.channel}`), String(f.latest_version),
      f.published_version ? String(f.published_version) : t("forms.draft_only"), formatTime(f.created_at, "UTC"),
    ] })), { empty: t("list.empty") }),
    pager(page),
    form,
  ];
}
