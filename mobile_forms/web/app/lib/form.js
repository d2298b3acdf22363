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

/**
 * Sections and questions in document order: {node, key, isQuestion, parents: [section keys], depth,
 * repeat}. `repeat` is the key of the repeat section the node is answered in (per instance), or null.
 */
export function outline(definition) {
  const nodes = [];
  const walk = (items, parents, repeat) => {
    for (const node of items) {
      const isQuestion = node.type !== "section";
      nodes.push({ node, key: node.key, isQuestion, parents, depth: parents.length, repeat });
      if (!isQuestion) walk(node.items || [], [...parents, node.key], node.repeat ? node.key : repeat);
    }
  };
  walk(definition.sections, [], null);
  return nodes;
}

const has = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

// One pass of show-ifs and calculations over the nodes answered in `repeat` (null: outside repeats).
function decide(nodes, repeat, answers, shown, visible, onRepeat) {
  for (const { node, key, isQuestion, parents, repeat: inRepeat } of nodes) {
    if (inRepeat !== repeat) continue;
    let isShown = parents.every((parent) => shown[parent] !== false);
    if (isShown && node.show_if) isShown = isTrue(node.show_if, visible);
    if (!(key in shown)) shown[key] = isShown;
    if (isShown && isQuestion && node.type === "calculate") {
      // A shown calculation's value (never a typed one) joins the answers, as on the server.
      const value = evaluate(node.calculation, visible);
      if (value !== undefined) visible[key] = value;
    } else if (isShown && isQuestion && has(answers, key)) {
      visible[key] = answers[key];
    }
    if (isShown && !isQuestion && node.repeat && onRepeat) onRepeat(node, visible);
  }
}

/**
 * Which of a choice question's choices its choice_filter offers over `visible` (the answers shown so
 * far): one boolean per choice; of two choices sharing a value only the first offered one is shown.
 * Without a filter every choice is offered. Same rule as offered_choices in backend/forms/answers.py.
 */
export function offeredChoices(question, visible) {
  const seen = new Set();
  return (question.choices || []).map((choice) => {
    let offered = true;
    if (question.choice_filter) {
      try {
        offered = isTrue(question.choice_filter, { ...visible, __choice: { ...(choice.xlsform || {}), name: choice.value } });
      } catch {
        offered = false;
      }
    }
    if (!offered || seen.has(choice.value)) return false;
    seen.add(choice.value);
    return true;
  });
}

/** The answers a new report (repeat: null) or a new instance of repeat `repeat` starts with: each
 * question's `default` (XLSForm's default column), copied so that editing one never changes the form. */
export function defaultAnswers(definition, repeat = null) {
  const answers = {};
  for (const { node, key, isQuestion, repeat: inRepeat } of outline(definition)) {
    if (isQuestion && inRepeat === repeat && node.default !== undefined && node.default !== null) {
      answers[key] = Array.isArray(node.default) ? [...node.default] : node.default;
    }
  }
  return answers;
}

/** How many instances a repeat's repeat_count asks for over `visible` (null: no count; 0 when unanswered). */
export function repeatCount(section, visible) {
  if (!section.repeat_count) return null;
  let value;
  try {
    value = evaluate(section.repeat_count, visible);
  } catch {
    return 0;
  }
  return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : 0;
}

/**
 * Show-ifs in document order over the answers of the questions shown so far (as the server does).
 * `instances[repeatKey]` holds, per instance of a shown repeat, its own {shown, visible}: the answers
 * outside the repeat so far plus the instance's; `counts[repeatKey]` what its repeat_count asks for.
 */
export function visibility(definition, answers) {
  const nodes = outline(definition);
  const shown = {};
  const visible = {};
  const instances = {};
  const counts = {};
  decide(nodes, null, answers, shown, visible, (section, outside) => {
    const count = repeatCount(section, outside);
    if (count !== null) counts[section.key] = count;
    const given = Array.isArray(answers[section.key]) ? answers[section.key] : [];
    instances[section.key] = given.map((instance) => {
      const own = { [section.key]: true };
      const seen = { ...outside };
      decide(nodes, section.key, instance || {}, own, seen, null);
      delete own[section.key];
      return { shown: own, visible: seen };
    });
  });
  return { shown, visible, instances, counts };
}

// Metadata rows the phone can fill into labels (${start} …) from the report's own times; what a web app
// cannot read (device id, SIM serial, phone number, user name) fills in as nothing, as the import warns.
const META_TIMES = { start: "start", "start time": "start", end: "end", "end time": "end", today: "today" };

/** The values of the form's metadata rows (definition.xlsform_rows) by name, for ${name} in labels. */
export function metadataValues(definition, startedAt, now = new Date()) {
  const values = {};
  const pad = (n) => String(n).padStart(2, "0");
  for (const row of definition.xlsform_rows || []) {
    if (!row.name) continue;
    const time = META_TIMES[String(row.type).toLowerCase()];
    if (time === "start") values[row.name] = startedAt || "";
    else if (time === "end") values[row.name] = now.toISOString();
    else if (time === "today") values[row.name] = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
    else values[row.name] = "";
  }
  return values;
}

function shownAnswers(nodes, repeat, answers, shown) {
  const out = {};
  for (const { node, key, isQuestion, repeat: inRepeat } of nodes) {
    if (inRepeat !== repeat || !isQuestion || UNANSWERED.has(node.type) || !shown[key]) continue;
    if (has(answers, key) && answers[key] !== null && answers[key] !== undefined) out[key] = answers[key];
  }
  return out;
}

/**
 * The answers to send: only shown questions (the server refuses an answer to a hidden one), no notes;
 * a shown repeat as its list of instances (as many as its repeat_count asks for), each likewise.
 */
export function answersToSend(definition, answers) {
  const view = visibility(definition, answers);
  const nodes = outline(definition);
  const out = shownAnswers(nodes, null, answers, view.shown);
  for (const { node, key } of nodes) {
    if (!node.repeat || node.type !== "section" || !view.shown[key] || !Array.isArray(answers[key])) continue;
    let list = answers[key].map((instance, i) => shownAnswers(nodes, key, instance || {}, view.instances[key][i].shown));
    if (has(view.counts, key)) list = list.slice(0, view.counts[key]);
    while (has(view.counts, key) && list.length < view.counts[key]) list.push({});
    out[key] = list;
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
  const view = visibility(definition, answers);
  const nodes = outline(definition);
  const problems = {};
  checkScope(definition, nodes, null, answers, view, lang, "", problems);
  for (const [repeat, list] of Object.entries(view.instances)) {
    list.forEach((instanceView, i) => {
      checkScope(definition, nodes, repeat, answers[repeat][i] || {}, instanceView, lang, `${repeat}[${i}].`, problems);
    });
  }
  return problems;
}

// The problems of the questions answered in `repeat` (null: outside repeats), keyed `prefix + key`
// as the server keys them.
function checkScope(definition, nodes, repeat, answers, { shown, visible }, lang, prefix, problems) {
  const add = (key, problem) => (problems[prefix + key] ||= []).push(problem);
  for (const { node: q, key, isQuestion, repeat: inRepeat } of nodes) {
    if (inRepeat !== repeat || !isQuestion || UNANSWERED.has(q.type) || !shown[key]) continue;
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
}
