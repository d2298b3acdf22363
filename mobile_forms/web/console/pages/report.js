// One report: answers with photos, evidence flags and reasons, the score explained, the diff between
// revisions, comments; for coordinators approve / reject / return with comments on single questions.

import { ApiError } from "../../shared/api.js";
import {
  ctx, errorBox, field, formatNumber, formatTime, h, heading, locationById, mount, reloadWith, role, t, table, withProgress,
} from "../lib/core.js";
import { answerText, attachment, label, questions } from "../lib/forms.js";

const optional = (promise) => promise.catch((error) => {
  if (error instanceof ApiError && (error.status === 403 || error.status === 404)) return null;
  throw error;
});

export async function render({ params: [reportId] }) {
  const staff = role() !== "manager";
  const report = await ctx.api.get(`/reports/${reportId}`);
  const [loc, explanation, formVersion, revisions, comments, diff] = await Promise.all([
    locationById(report.location_id),
    optional(ctx.api.get(`/reports/${reportId}/score`)),
    staff ? optional(ctx.api.get(`/tasks/${report.task_id}/form`)) : null,
    staff ? ctx.api.get(`/reports/${reportId}/revisions?limit=200`) : null,
    staff ? ctx.api.get(`/reports/${reportId}/comments?limit=200`) : null,
    staff && report.revision > 1 ? ctx.api.get(`/reports/${reportId}/diff`) : null,
  ]);
  const definition = formVersion?.definition;
  const asked = definition ? questions(definition) : Object.keys(report.answers).map((key) => ({ question: { key }, path: [] }));
  const byKey = Object.fromEntries(asked.map(({ question }) => [question.key, question]));
  const questionLabel = (key) => label(byKey[key]?.label, definition, key);
  const zone = loc.timezone;
  const reviewable = staff && report.status === "submitted";
  const commentInputs = {};

  const answerRows = asked.filter(({ question }) => question.type !== "note").map(({ question }) => {
    const value = report.answers[question.key];
    const shown = value && typeof value === "object" && value.attachment
      ? attachment(value.attachment, questionLabel(question.key)) : answerText(question, value, t, loc.timezone);
    const cells = [questionLabel(question.key), shown];
    if (reviewable) {
      const input = h("textarea", { rows: 1, "aria-label": t("report.comment_on", { question: questionLabel(question.key) }),
        "data-comment-for": question.key });
      commentInputs[question.key] = input;
      cells.push(input);
    }
    return { attrs: { "data-answer": question.key }, cells };
  });

  const scoreItems = explanation?.result?.items || [];
  const actions = h("div");
  const general = h("textarea", { id: "general-comment", rows: 2 });
  const reason = h("input", { id: "reject-reason", type: "text" });
  const revisionQuery = `?revision=${report.revision}`;
  const act = (button, label_, call) => async () => {
    try {
      await withProgress(button, label_, call);
      reloadWith(t("report.done"));
    } catch (error) {
      mount(actions, errorBox(error));
    }
  };
  const approve = h("button", { type: "button" }, t("report.approve"));
  approve.onclick = act(approve, t("report.approve"), () => ctx.api.post(`/reports/${reportId}/approve${revisionQuery}`));
  const giveBack = h("button", { type: "button", class: "secondary" }, t("report.return"));
  giveBack.onclick = act(giveBack, t("report.return"), () => {
    const list = Object.entries(commentInputs).filter(([, input]) => input.value.trim())
      .map(([key, input]) => ({ question_key: key, text: input.value.trim() }));
    if (general.value.trim()) list.push({ text: general.value.trim() });
    return ctx.api.post(`/reports/${reportId}/return${revisionQuery}`, { json: { comments: list } });
  });
  const reject = h("button", { type: "button", class: "danger" }, t("report.reject"));
  reject.onclick = act(reject, t("report.reject"), () =>
    ctx.api.post(`/reports/${reportId}/reject${revisionQuery}`, { json: { reason: reason.value } }));

  return [
    heading(t("report.title", { location: loc.name })),
    h("p", {},
      h("span", { class: "pill", "data-status": report.status }, t(`status.${report.status}`)), " ",
      t("report.revision", { n: report.revision }), " · ",
      t("report.visit", { start: formatTime(report.started_at, zone, { withZone: false }), end: formatTime(report.ended_at, zone) }),
      " · ", t("report.submitted", { at: formatTime(report.submitted_at, zone) })),
    report.review_reason ? h("p", {}, h("strong", {}, t("report.review_reason")), " ", report.review_reason) : null,

    staff ? h("section", { "aria-labelledby": "flags-title" },
      h("h2", { id: "flags-title" }, t("report.flags")),
      report.flags.length ? h("ul", { "data-flags": "" }, report.flags.map((f) =>
        h("li", {}, h("span", { class: "flag" }, `⚑ ${f.code}`), " ", f.reason)))
        : h("p", { class: "muted" }, t("review.no_flags"))) : null,

    h("section", { "aria-labelledby": "answers-title" },
      h("h2", { id: "answers-title" }, t("report.answers")),
      table([t("report.question"), t("report.answer"), ...(reviewable ? [t("report.comment")] : [])], answerRows)),

    explanation ? h("section", { "aria-labelledby": "score-title" },
      h("h2", { id: "score-title" }, t("report.score_title")),
      h("p", { "data-score": "" }, t("report.score_line", {
        calculated: formatNumber(explanation.result.calculated), final: formatNumber(explanation.result.final),
      }), explanation.result.failed ? h("strong", {}, ` ${t("report.critical_failed")}`) : null),
      table([t("report.question"), t("report.section"), { label: t("report.earned"), num: true },
        { label: t("report.possible"), num: true }, { label: t("report.contribution"), num: true }, t("report.item_status")],
      scoreItems.map((item) => [questionLabel(item.key), item.section_path.join(" › "), formatNumber(item.earned, 2),
        formatNumber(item.possible, 2), formatNumber(item.contribution, 2),
        `${t(`item.${item.status}`)}${item.critical_failed ? ` · ${t("report.critical_failed")}` : ""}`]))) : null,

    diff ? h("section", { "aria-labelledby": "diff-title", "data-diff": "" },
      h("h2", { id: "diff-title" }, t("report.diff_title", { from: diff.from_revision, to: diff.to_revision })),
      table([t("report.question"), t("report.before"), t("report.after")],
        [...diff.changes, ...diff.time_changes.map((c) => ({ ...c, before: formatTime(c.before, zone), after: formatTime(c.after, zone),
          label: t(`report.${c.key}`) }))].map((change) => ({
          attrs: { "data-change": change.key },
          cells: [change.label || questionLabel(change.key),
            h("span", { class: change.change === "added" ? "" : "diff-removed" },
              change.change === "added" ? "—" : answerText(byKey[change.key], change.before, t, zone)),
            h("span", { class: change.change === "removed" ? "" : "diff-added" },
              change.change === "removed" ? "—" : answerText(byKey[change.key], change.after, t, zone))],
        })), { empty: t("report.no_changes") })) : null,

    comments?.items.length ? h("section", { "aria-labelledby": "comments-title" },
      h("h2", { id: "comments-title" }, t("report.comments")),
      table([t("field.revision"), t("report.question"), t("report.comment"), t("field.when")],
        comments.items.map((c) => [String(c.revision), c.question_key ? questionLabel(c.question_key) : t("report.general"),
          c.text, formatTime(c.created_at, zone)]))) : null,

    revisions && revisions.items.length > 1 ? h("details", {},
      h("summary", {}, t("report.revisions", { count: revisions.items.length })),
      table([t("field.revision"), t("field.submitted"), { label: t("field.score"), num: true }],
        revisions.items.map((r) => [String(r.number), formatTime(r.submitted_at, zone), formatNumber(r.score?.final)]))) : null,

    reviewable ? h("section", { "aria-labelledby": "decide-title", class: "card" },
      h("h2", { id: "decide-title" }, t("report.decide")),
      h("div", { class: "fld" }, h("label", { for: "general-comment" }, t("report.general_comment")), general),
      h("div", { class: "actions" }, approve, giveBack),
      h("div", { class: "form-row" }, field(t("report.reject_reason"), reason), reject),
      actions) : null,
  ];
}
