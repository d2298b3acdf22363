// The form model on the phone: walk a form version's definition, decide what is shown, check answers
// before submit. Same rules as the server (backend/forms/definition.py and answers.py), conditions by
// the shared evaluator, so the phone never sends what the server would refuse for these reasons.

import { evaluate, isAnswered, isNaAnswer, isTrue } from "../../shared/conditions.js";

// Types the shopper does not answer: a note is display only, a calculation is computed.
const UNANSWERED = new Set(["note", "calculate"]);

/** The label in `lang`, else the form's default language, else any. */
export function labelOf(labels, lang, defaultLanguage = "en") {
  if (!labels) return "";
  if (labels[lang]) return labels[lang];
  const base = String(lang).split("-")[0];
  if (labels[base]) return labels[base];
  if (labels[defaultLanguage]) return labels[defaultLanguage];
  return Object.values(labels)[0] || "";
}

/** Sections and questions in document order: {node, key, isQuestion, parents: [section keys], depth}. */
export function outline(definition) {
  const nodes = [];
  const walk = (items, parents) => {
    for (const node of items) {
      const isQuestion = node.type !== "section";
      nodes.push({ node, key: node.key, isQuestion, parents, depth: parents.length });
      if (!isQuestion) walk(node.items || [], [...parents, node.key]);
    }
  };
  walk(definition.sections, []);
  return nodes;
}

/** Show-ifs in document order over the answers of the questions shown so far (as the server does). */
export function visibility(definition, answers) {
  const shown = {};
  const visible = {};
  for (const { node, key, isQuestion, parents } of outline(definition)) {
    let isShown = parents.every((parent) => shown[parent] !== false);
    if (isShown && node.show_if) isShown = isTrue(node.show_if, visible);
    if (!(key in shown)) shown[key] = isShown;
    if (isShown && isQuestion && node.type === "calculate") {
      // A shown calculation's value (never a typed one) joins the answers, as on the server.
      const value = evaluate(node.calculation, visible);
      if (value !== undefined) visible[key] = value;
    } else if (isShown && isQuestion && Object.prototype.hasOwnProperty.call(answers, key)) {
      visible[key] = answers[key];
    }
  }
  return { shown, visible };
}

/** The answers to send: only shown questions (the server refuses an answer to a hidden one), no notes. */
export function answersToSend(definition, answers) {
  const { shown } = visibility(definition, answers);
  const out = {};
  for (const { node, key, isQuestion } of outline(definition)) {
    if (!isQuestion || UNANSWERED.has(node.type) || !shown[key]) continue;
    if (Object.prototype.hasOwnProperty.call(answers, key) && answers[key] !== null && answers[key] !== undefined) {
      out[key] = answers[key];
    }
  }
  return out;
}

function numberProblem(question, value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return { code: "form.number" };
  const integer = ["integer", "rating", "nps"].includes(question.type);
  if (integer && !Number.isInteger(value)) return { code: "form.integer" };
  let min = question.min;
  let max = question.max;
  if (question.type === "nps") [min, max] = [0, 10];
  if (question.type === "rating") [min, max] = [question.min ?? 1, question.max ?? 5];
  if (question.type === "duration" && min === undefined) min = 0;
  if (min !== undefined && min !== null && value < min) return { code: "form.below_min", params: { min } };
  if (max !== undefined && max !== null && value > max) return { code: "form.above_max", params: { max } };
  return null;
}

/**
 * Problems the phone can see before sending: {questionKey: [{code, params, text?}]}.
 * Required (only where shown), numeric ranges, text length, constraints (with the form's own message).
 */
export function checkAnswers(definition, answers, lang) {
  const { shown, visible } = visibility(definition, answers);
  const problems = {};
  const add = (key, problem) => (problems[key] ||= []).push(problem);
  for (const { node: q, key, isQuestion } of outline(definition)) {
    if (!isQuestion || UNANSWERED.has(q.type) || !shown[key]) continue;
    const has = Object.prototype.hasOwnProperty.call(answers, key);
    const value = answers[key];
    if (!has || !isAnswered(value)) {
      if (q.required) add(key, { code: "form.required" });
      continue;
    }
    if (isNaAnswer(value)) {
      if (!q.na_allowed) add(key, { code: "form.na_not_allowed" });
      continue;
    }
    if (["integer", "decimal", "duration", "rating", "nps"].includes(q.type)) {
      const problem = numberProblem(q, value);
      if (problem) {
        add(key, problem);
        continue;
      }
    }
    if (q.type === "text" && typeof value === "string" && value.length > (q.max_length ?? 2000)) {
      add(key, { code: "form.too_long", params: { max: q.max_length ?? 2000 } });
      continue;
    }
    if (q.constraint) {
      let ok = false;
      try {
        ok = isTrue(q.constraint, visible, value);
      } catch {
        ok = false;
      }
      if (!ok) {
        const text = labelOf(q.constraint_message, lang, definition.default_language);
        add(key, text ? { code: "form.constraint_text", text } : { code: "form.constraint" });
      }
    }
  }
  return problems;
}
