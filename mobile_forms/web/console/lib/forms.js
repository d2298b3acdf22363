// Form definitions in the console: questions in order with their labels, answers shown as text, a preview.

import { ctx, h } from "./core.js";

/** The label in the reader's language, else the form's default, else any, else the key. */
export function label(labels, definition, fallback = "") {
  if (!labels) return fallback;
  const lang = ctx.i18n?.lang || "en";
  return labels[lang] ?? labels[definition?.default_language] ?? Object.values(labels)[0] ?? fallback;
}

/**
 * Every question (not sections) in order: [{question, path: [section keys]}]. A repeat section is one
 * entry of type "repeat" (its answer is the list of instances) holding its questions in `items`.
 */
export function questions(definition) {
  const out = [];
  const walk = (items, path) => {
    for (const item of items || []) {
      if (item.type === "section" && item.repeat) {
        out.push({ question: { type: "repeat", key: item.key, label: item.label,
          items: questions({ sections: item.items }).map((q) => q.question) }, path });
      } else if (item.type === "section") walk(item.items, [...path, item.key]);
      else out.push({ question: item, path });
    }
  };
  walk(definition?.sections, []);
  return out;
}

/** An answer as a reader sees it: choices by label, yes/no as words, timer taps as local times. */
export function answerText(question, value, t, timeZone = "UTC") {
  if (value === undefined) return "";
  if (question?.type === "timer_sequence" && Array.isArray(value?.events)) {
    const clock = new Intl.DateTimeFormat(ctx.i18n?.lang || "en", { timeZone, hour: "2-digit", minute: "2-digit",
      second: "2-digit", hourCycle: "h23" });
    return value.events.map((e) => `${e.event} ${clock.format(new Date(e.at))}`).join(" → ");
  }
  if (value === null) return t("answer.na");
  if (question?.type === "repeat" && Array.isArray(value)) { // "1. Name: Ana; Age: 40 | 2. …"
    return value.map((instance, i) => `${i + 1}. ${(question.items || [])
      .filter((q) => q.type !== "note" && q.type !== "calculate" && instance && instance[q.key] !== undefined)
      .map((q) => `${label(q.label, null, q.key)}: ${answerText(q, instance[q.key], t, timeZone)}`).join("; ")}`)
      .join(" | ");
  }
  if (question?.type === "yes_no") return value ? t("answer.yes") : t("answer.no");
  const choice = (v) => label((question?.choices || []).find((c) => c.value === v)?.label, null, String(v));
  if (question?.type === "single_choice") return choice(value);
  if (question?.type === "multiple_choice" && Array.isArray(value)) return value.map(choice).join(", ");
  if (value && typeof value === "object" && value.attachment) return `📎 ${value.attachment.slice(0, 12)}…`;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** An attachment fetched with the user's token, shown as an image (photos) or a download link. */
export function attachment(sha256, question) {
  const holder = h("span", { class: "photos" }, "…");
  ctx.api.request("GET", `/attachments/${sha256}/meta`).then(async ({ data: meta }) => {
    const response = await fetch(`/attachments/${sha256}`, { headers: { Authorization: `Bearer ${ctx.session.token}` } });
    const url = URL.createObjectURL(await response.blob());
    holder.replaceChildren(String(meta.media_type || "").startsWith("image/")
      ? h("img", { src: url, alt: `${question} (${meta.media_type})` })
      : h("a", { href: url, download: sha256 }, `${meta.media_type} · ${sha256.slice(0, 12)}…`));
  }).catch(() => holder.replaceChildren(`📎 ${sha256.slice(0, 12)}…`));
  return holder;
}

/** The form as the shopper will see it, read-only: sections, labels, choices, required marks, conditions. */
export function preview(definition, t) {
  const render = (items) => (items || []).map((item) => {
    if (item.type === "section") {
      return h("fieldset", { "data-section": item.key },
        h("legend", {}, label(item.label, definition, item.key)),
        item.show_if ? h("p", { class: "muted" }, t("preview.shown_if")) : null,
        render(item.items));
    }
    const text = label(item.label, definition, item.key);
    let control;
    if (item.type === "note") return h("p", { "data-question": item.key }, text);
    if (item.type === "yes_no") control = [t("answer.yes"), t("answer.no")].map((word) => h("span", { class: "pill" }, `○ ${word}`));
    else if (item.type === "single_choice" || item.type === "multiple_choice") {
      const mark = item.type === "single_choice" ? "○" : "☐";
      control = (item.choices || []).map((c) => h("span", { class: "pill" }, `${mark} ${label(c.label, definition, c.value)}`));
    } else if (item.type === "rating" || item.type === "nps") {
      const [min, max] = item.type === "nps" ? [0, 10] : [item.min ?? 1, item.max ?? 5];
      control = h("span", { class: "pill" }, `${min} … ${max}`);
    } else control = h("span", { class: "pill" }, t(`qtype.${item.type}`));
    return h("div", { class: "card", "data-question": item.key, style: "margin: 6px 0" },
      h("strong", {}, text, item.required ? h("span", { "aria-label": t("preview.required") }, " *") : null),
      item.show_if ? h("span", { class: "muted" }, ` · ${t("preview.shown_if")}`) : null,
      h("div", {}, control));
  });
  return h("div", { class: "preview", lang: ctx.i18n?.lang }, h("h3", {}, label(definition.title, definition, "")),
    render(definition.sections));
}
