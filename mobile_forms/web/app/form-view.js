// Filling in a report: the task's form version rendered question by question, live show-ifs and
// constraints, autosave on every change, tap-timing, photos, files, GPS; submit puts it in the outbox.

import { h, mount, uid } from "../shared/dom.js";
import { app, findTask, formFor, refreshStatus } from "./main.js";
import {
  answersToSend, checkAnswers, defaultAnswers, labelOf, metadataValues, offeredChoices, outline, visibility,
} from "./lib/form.js";
import { fillReferences, textOf } from "../shared/conditions.js";
import { downscalePhoto, sha256Hex } from "./lib/image.js";
import { clock, isoWithOffset } from "./lib/time.js";
import { CALL_TAPS, allowedTaps, derive, giveUpTap, isFinished, tap, undo, waitSeconds } from "./lib/timer.js";

const t = (key, params) => app.i18n.t(key, params);
let ticker = null;

const starting = new Map();

/** A new draft for a task (its id made here, before the first save), or a returned report to fix. Two
 * starts of the same task at once (a double tap, a screen drawn twice) make one draft, not two. */
export async function startReport(_main, taskId, mode) {
  if (!starting.has(taskId)) starting.set(taskId, draftFor(taskId, mode).finally(() => starting.delete(taskId)));
  location.replace(`#/report/${await starting.get(taskId)}`);
}

async function draftFor(taskId, mode) {
  const shopper = app.session.user.id;
  const existing = await app.store.reportForTask(shopper, taskId);
  if (existing && existing.state !== "sent") return existing.id;
  const task = await findTask(taskId);
  const version = await formFor(task); // the form must be on the phone before a draft can be filled in offline
  const now = isoWithOffset();
  let record = {
    id: crypto.randomUUID(), shopper_id: shopper, task_id: task.id, form_version_id: task.form_version_id,
    task_label: task.location.name, state: "draft", answers: defaultAnswers(version.definition), started_at: now, ended_at: null,
    created_at: now, problems: {}, comments: [],
  };
  if (mode === "fix") {
    const found = await app.api.get(`/reports?task_id=${task.id}`);
    const report = found.items[0];
    const comments = await app.api.get(`/reports/${report.id}/comments?limit=200`);
    const latest = comments.items.filter((c) => c.revision === report.revision);
    record = {
      ...record, id: report.id, answers: report.answers, started_at: report.started_at, ended_at: report.ended_at,
      replaces_revision: report.revision, comments: (latest.length ? latest : comments.items)
        .map((c) => ({ question_key: c.question_key, text: c.text })),
    };
  }
  await app.store.putReport(record);
  return record.id;
}

function questionText(q, definition) {
  return filled(labelOf(q.label, app.i18n.lang, definition.default_language) || q.key);
}

// A text with ${name} references, filled now and again whenever an answer changes (applyVisibility).
function filled(text) {
  return text.includes("${") ? h("span", { "data-template": text }, text) : text;
}

function problemMessage(problem) {
  if (typeof problem === "string") {
    // A server reason: "answer.required: the question is shown and required" → our text for that code.
    const code = problem.split(":")[0];
    // A constraint's reason carries the form's own message for it.
    if (code === "answer.constraint") return problem.slice(code.length + 1).trim();
    return app.i18n.has(`server.${code}`) ? t(`server.${code}`) : problem;
  }
  if (problem.code === "form.constraint_text") return problem.text;
  return t(problem.code, problem.params || {});
}

export async function reportScreen(main, reportId) {
  clearInterval(ticker);
  let record = await app.store.getReport(reportId);
  if (!record || record.shopper_id !== app.session.user.id) {
    mount(main, h("div", { class: "notice bad", role: "alert" }, t("report.not_found")));
    return;
  }
  const task = await findTask(record.task_id);
  const version = await formFor(task);
  const definition = version.definition;
  const answers = { ...record.answers };
  const editable = record.state === "draft";
  const wrappers = {};
  const problemSlots = {};
  let problems = record.problems || {};

  const save = async () => {
    record = { ...record, answers: { ...answers } };
    await app.store.putReport(record);
  };
  // An in-store stopwatch's first tap, kept with the draft until the wait is over.
  const stopwatchStart = (key) => record.stopwatches?.[key] ?? null;
  const keepStopwatchStart = (key, iso) => {
    const stopwatches = { ...(record.stopwatches || {}) };
    if (iso) stopwatches[key] = iso;
    else delete stopwatches[key];
    record = { ...record, stopwatches };
    save();
  };
  // `scope`: the repeat instance a question is answered in ({repeat, index, prefix}), or null.
  const answersIn = (scope) => (scope ? answers[scope.repeat][scope.index] : answers);
  const setterIn = (scope) => (key, value) => {
    const target = answersIn(scope);
    const full = scope ? scope.prefix + key : key;
    if (value === undefined || value === null || (typeof value === "number" && Number.isNaN(value))) delete target[key];
    else target[key] = value;
    if (problems[full]) {
      delete problems[full];
      showProblems();
    }
    applyVisibility();
    save();
  };
  const setAnswer = setterIn(null);
  const rendered = {}; // repeat key → instances drawn, to redraw when a repeat_count changes
  const filtered = new Map(); // element of a choice question with a choice_filter → {q, scope}
  const redraw = async () => {
    window.removeEventListener("outbox-change", onChange);
    await save();
    await reportScreen(main, record.id);
  };

  function applyVisibility() {
    const view = visibility(definition, answers);
    const shown = { ...view.shown };
    for (const [repeat, list] of Object.entries(view.instances)) {
      list.forEach((instance, i) => {
        for (const [key, isShown] of Object.entries(instance.shown)) shown[`${repeat}[${i}].${key}`] = isShown;
      });
    }
    for (const [key, el] of Object.entries(wrappers)) el.hidden = shown[key] === false;
    const meta = metadataValues(definition, record.started_at);
    const valuesAt = (el) => {
      const instance = el.closest("[data-instance]");
      if (!instance) return { ...meta, ...view.visible };
      const [repeat, i] = instance.dataset.instance.split("|");
      return { ...meta, ...(view.instances[repeat]?.[Number(i)]?.visible || {}) };
    };
    for (const el of main.querySelectorAll("[data-template]")) el.textContent = fillReferences(el.dataset.template, valuesAt(el));
    for (const el of main.querySelectorAll("[data-calc]")) el.textContent = textOf(valuesAt(el)[el.dataset.calc]) ?? "";
    // Cascading selects: offer only what each choice_filter lets through; drop an answer it no longer offers.
    for (const el of main.querySelectorAll("[data-filtered]")) {
      const { q, scope } = filtered.get(el);
      const offered = offeredChoices(q, valuesAt(el));
      el.querySelectorAll("label.choice").forEach((label, i) => { label.hidden = !offered[i]; });
      const allowed = new Set(q.choices.filter((_, i) => offered[i]).map((c) => c.value));
      const target = answersIn(scope);
      const value = target[q.key];
      const kept = Array.isArray(value) ? value.filter((v) => allowed.has(v)) : value;
      if (typeof value === "string" && !allowed.has(value)) {
        delete target[q.key];
        el.querySelectorAll("input").forEach((input) => { input.checked = false; });
        save();
      } else if (Array.isArray(value) && kept.length !== value.length) {
        target[q.key] = kept;
        save();
      }
    }
    if (Object.entries(view.counts).some(([repeat, count]) => repeat in rendered && rendered[repeat] !== count)) redraw();
  }

  function showProblems() {
    for (const [key, slot] of Object.entries(problemSlots)) {
      const list = problems[key] || [];
      mount(slot, list.map((p) => h("p", { class: "problem" }, problemMessage(p))));
      wrappers[key]?.classList.toggle("invalid", list.length > 0);
      const control = wrappers[key]?.querySelector("input, textarea, select");
      if (control) control.setAttribute("aria-invalid", list.length ? "true" : "false");
    }
    const general = Object.entries(problems).filter(([key]) => !(key in problemSlots));
    mount(generalSlot, general.length ? h("div", { class: "notice bad", role: "alert" },
      general.map(([key, list]) => h("p", {}, key === "_report" ? "" : `${key}: `, list.map(problemMessage).join("; ")))) : null);
  }

  const commentsFor = (key) => (record.comments || []).filter((c) => c.question_key === key);
  const generalSlot = h("div", {});

  function questionBlock(q, scope = null) {
    if (q.type === "calculate" && q.hidden) return null; // XLSForm's hidden: a value, never shown
    const key = q.key;
    const full = scope ? scope.prefix + key : key;
    const labelId = uid("q");
    const slot = h("div", { id: `${labelId}-problems`, "aria-live": "polite" });
    problemSlots[full] = slot;
    const hint = filled(labelOf(q.hint, app.i18n.lang, definition.default_language));
    const context = {
      q, key, labelId, describedBy: `${labelId}-problems`, value: answersIn(scope)[key], setAnswer: setterIn(scope),
      editable, definition, record, stopwatchStart, keepStopwatchStart,
    };
    // A coordinator comments on a question by its key: inside a repeat it shows in every instance.
    const comments = (scope ? commentsFor(key) : commentsFor(full)).map((c) => h("p", { class: "comment", "data-comment": key },
      h("strong", {}, t("report.coordinator_says")), " ", c.text));
    let widget;
    try {
      widget = renderWidget(context);
    } catch (error) {
      widget = h("p", { class: "problem" }, String(error));
    }
    if (q.choice_filter && widget) {
      widget.setAttribute("data-filtered", "");
      filtered.set(widget, { q, scope });
    }
    const required = q.required ? h("span", { "aria-hidden": "true" }, " *") : null;
    const naBox = q.na_allowed && q.type !== "note" ? naToggle(context) : null;
    const isGroup = ["yes_no", "single_choice", "multiple_choice", "rating", "nps"].includes(q.type);
    const block = isGroup
      ? h("fieldset", { class: "question field", "data-key": full, "aria-describedby": `${labelId}-problems` },
        h("legend", { id: labelId }, questionText(q, definition), required),
        hint ? h("p", { class: "hint" }, hint) : null, comments, widget, naBox, slot)
      : h("div", { class: "question field", "data-key": full },
        q.type === "note" || q.type === "calculate" ? h("p", { id: labelId }, questionText(q, definition))
          : h(q.type === "timer_sequence" || q.type === "gps" ? "h3" : "label",
            q.type === "timer_sequence" || q.type === "gps" ? { id: labelId } : { id: labelId, for: `${labelId}-input` },
            questionText(q, definition), required),
        hint ? h("p", { class: "hint" }, hint) : null, comments, widget, naBox, slot);
    wrappers[full] = block;
    return block;
  }

  function sectionBlock(section, scope = null) {
    if (section.repeat) return repeatBlock(section);
    const block = h("fieldset", { class: "section", "data-section": section.key },
      h("legend", {}, labelOf(section.label, app.i18n.lang, definition.default_language) || section.key),
      (section.items || []).map((item) => (item.type === "section" ? sectionBlock(item, scope) : questionBlock(item, scope))));
    wrappers[scope ? scope.prefix + section.key : section.key] = block;
    return block;
  }

  // A repeat: its questions once per instance; the shopper adds and removes instances, unless the
  // form's repeat_count says how many there are.
  function repeatBlock(section) {
    const title = labelOf(section.label, app.i18n.lang, definition.default_language) || section.key;
    if (!Array.isArray(answers[section.key])) answers[section.key] = [];
    const list = answers[section.key];
    const count = visibility(definition, answers).counts[section.key];
    const fixed = count !== undefined;
    if (fixed) {
      while (list.length < count) list.push(defaultAnswers(definition, section.key));
      list.length = count;
      rendered[section.key] = count;
    }
    const instances = list.map((_, index) => {
      const scope = { repeat: section.key, index, prefix: `${section.key}[${index}].` };
      return h("fieldset", { class: "instance", "data-instance": `${section.key}|${index}` },
        h("legend", {}, `${title} ${index + 1}`),
        (section.items || []).map((item) => (item.type === "section" ? sectionBlock(item, scope) : questionBlock(item, scope))),
        editable && !fixed ? h("button", { type: "button", class: "secondary",
          onclick: () => { list.splice(index, 1); redraw(); } }, t("form.remove_instance")) : null);
    });
    const block = h("fieldset", { class: "section repeat", "data-section": section.key }, h("legend", {}, title), instances,
      editable && !fixed ? h("button", { type: "button", class: "secondary",
        onclick: () => { list.push(defaultAnswers(definition, section.key)); redraw(); } }, t("form.add_instance")) : null);
    wrappers[section.key] = block;
    return block;
  }

  const general = (record.comments || []).filter((c) => !c.question_key);
  const stateLine = h("p", { class: "meta" }, h("span", { class: `badge ${record.state}`, "data-state": record.state },
    t(`state.${record.state}`)), record.replaces_revision ? ` · ${t("report.revision_fix", { n: record.replaces_revision })}` : "");
  const formEl = h("form", { novalidate: true, onsubmit: (e) => { e.preventDefault(); submit(); } },
    h("fieldset", { class: "plain", disabled: !editable, style: "border:none;padding:0;margin:0" },
      definition.sections.map((section) => sectionBlock(section))),
    editable ? h("div", { class: "actions" }, h("button", { type: "submit", class: "wide" }, t("report.submit"))) : null);

  const waitingInfo = record.state === "waiting" ? h("div", { class: "notice warn", role: "status" },
    t("report.waiting_info"), record.last_error ? ` (${t("report.last_error", { error: record.last_error })})` : "",
    " ", h("button", { type: "button", class: "secondary", onclick: () => app.outbox.sync({ force: true }) }, t("outbox.send_now"))) : null;
  const sentInfo = record.state === "sent" ? h("div", { class: "notice ok", role: "status" }, t("report.sent_info")) : null;

  document.title = `${task.location.name} · Fieldscore`;
  mount(main,
    h("h2", {}, labelOf(definition.title, app.i18n.lang, definition.default_language)),
    h("p", { class: "meta" }, task.location.name),
    stateLine, waitingInfo, sentInfo,
    general.map((c) => h("p", { class: "comment", "data-comment": "" }, h("strong", {}, t("report.coordinator_says")), " ", c.text)),
    generalSlot,
    formEl);
  applyVisibility();
  showProblems();

  async function submit() {
    const found = checkAnswers(definition, answers, app.i18n.lang);
    // A call timer must be finished (ended or gave up) before the report can go.
    for (const { node: q, key } of outline(definition)) {
      if (q.type === "timer_sequence" && answers[key] && !isFinished(answers[key].events || [])
          && visibility(definition, answers).shown[key]) {
        (found[key] ||= []).push({ code: "timer.not_finished" });
      }
    }
    problems = found;
    showProblems();
    const keys = Object.keys(found);
    if (keys.length) {
      mount(generalSlot, h("div", { class: "notice bad", role: "alert" }, t("report.problems", { count: keys.length })));
      // Wrappers are drawn in document order, repeat instances included (keys like "people[0].age").
      const first = Object.keys(wrappers).find((key) => found[key]) ?? keys[0];
      wrappers[first]?.scrollIntoView({ block: "center" });
      wrappers[first]?.querySelector("input, textarea, select, button")?.focus();
      return;
    }
    const endedAt = record.replaces_revision ? record.ended_at : isoWithOffset();
    const ready = { ...record, answers: answersToSend(definition, answers), ended_at: endedAt };
    clearInterval(ticker);
    await app.outbox.submit(ready);
    await refreshStatus();
    await reportScreen(main, record.id);
  }

  // The server answered the outbox (sent, or back to draft with problems): show it without a reload.
  const onChange = async () => {
    if (!location.hash.endsWith(record.id)) {
      window.removeEventListener("outbox-change", onChange);
      return;
    }
    const now = await app.store.getReport(record.id);
    if (now && now.state !== record.state) {
      window.removeEventListener("outbox-change", onChange);
      await reportScreen(main, record.id);
      if (now.state === "draft" && Object.keys(now.problems || {}).length) {
        const first = Object.keys(wrappers).find((key) => now.problems[key]);
        if (first) wrappers[first]?.scrollIntoView({ block: "center" });
      }
    }
  };
  window.addEventListener("outbox-change", onChange);
}

// ---- widgets ---------------------------------------------------------------------------------------

function naToggle({ key, value, setAnswer, labelId }) {
  const id = `${labelId}-na`;
  return h("label", { class: "choice", for: id },
    h("input", { id, type: "checkbox", checked: value && value.na === true,
      onchange: (e) => setAnswer(key, e.target.checked ? { na: true } : undefined) }), t("form.na"));
}

function choiceList({ key, labelId, describedBy }, options, { multiple = false, scale = false, selected, onPick }) {
  const name = `${labelId}-choice`;
  return h("div", { class: `choices${scale ? " scale" : ""}`, role: multiple ? "group" : "radiogroup", "aria-labelledby": labelId },
    options.map(([value, text], index) => {
      const id = `${name}-${index}`;
      return h("label", { class: "choice", for: id },
        h("input", {
          id, type: multiple ? "checkbox" : "radio", name, value: String(index),
          checked: multiple ? (selected || []).includes(value) : selected === value,
          "aria-describedby": describedBy,
          onchange: (e) => onPick(value, e.target.checked),
        }), text);
    }));
}

function renderWidget(context) {
  const { q, key, value, setAnswer, labelId, describedBy, definition } = context;
  const lang = app.i18n.lang;
  const real = value && typeof value === "object" && value.na ? undefined : value;
  switch (q.type) {
    case "note":
      return null;
    case "calculate": // computed from the answers, shown read-only (filled in by applyVisibility)
      return h("output", { "data-calc": key, "aria-labelledby": labelId }, "");
    case "acknowledge": // XLSForm's acknowledge: ticked means true, unticked means no answer
      return h("label", { class: "choice", for: `${labelId}-input` },
        h("input", { id: `${labelId}-input`, type: "checkbox", checked: real === true, "aria-describedby": describedBy,
          onchange: (e) => setAnswer(key, e.target.checked ? true : undefined) }), t("form.ok"));
    case "yes_no":
      // The form's own yes/no labels when it has them in the shopper's language, else the app's.
      return choiceList(context, [[true, filled(q.yes_label?.[lang] || t("form.yes"))], [false, filled(q.no_label?.[lang] || t("form.no"))]],
        { selected: real, onPick: (v) => setAnswer(key, v) });
    case "single_choice":
      return choiceList(context, q.choices.map((c) => [c.value, filled(labelOf(c.label, lang, definition.default_language) || c.value)]),
        { selected: real, onPick: (v) => setAnswer(key, v) });
    case "multiple_choice":
      return choiceList(context, q.choices.map((c) => [c.value, filled(labelOf(c.label, lang, definition.default_language) || c.value)]), {
        multiple: true, selected: Array.isArray(real) ? real : [],
        onPick: (v, checked) => {
          const current = Array.isArray(context.value) ? context.value : [];
          const next = checked ? [...current.filter((x) => x !== v), v] : current.filter((x) => x !== v);
          // Keep the form's order of choices.
          const order = q.choices.map((c) => c.value);
          context.value = next.sort((a, b) => order.indexOf(a) - order.indexOf(b));
          setAnswer(key, context.value);
        },
      });
    case "rating":
    case "nps": {
      const [min, max] = q.type === "nps" ? [0, 10] : [q.min ?? 1, q.max ?? 5];
      const options = [];
      for (let n = min; n <= max; n += 1) options.push([n, String(n)]);
      return choiceList(context, options, { scale: true, selected: real, onPick: (v) => setAnswer(key, v) });
    }
    case "integer":
    case "decimal":
    case "duration": {
      const input = h("input", {
        id: `${labelId}-input`, type: "number", inputmode: q.type === "decimal" ? "decimal" : "numeric",
        step: q.type === "decimal" ? "any" : "1", value: typeof real === "number" ? String(real) : "",
        "aria-describedby": describedBy,
        oninput: (e) => setAnswer(key, e.target.value === "" ? undefined : Number(e.target.value)),
      });
      const stopwatch = q.type === "duration" && ["wait_s", "serve_s"].includes(q.metric) ? waitStopwatch(context, input) : null;
      return h("div", {}, input, stopwatch);
    }
    case "timestamp": {
      const toLocal = (iso) => {
        if (!iso) return "";
        const d = new Date(iso);
        const pad = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
      };
      const input = h("input", {
        id: `${labelId}-input`, type: "datetime-local", value: toLocal(real), "aria-describedby": describedBy,
        onchange: (e) => setAnswer(key, e.target.value ? isoWithOffset(new Date(e.target.value)) : undefined),
      });
      return h("div", { class: "row" }, input, h("button", {
        type: "button", class: "secondary",
        onclick: () => { const now = isoWithOffset(); input.value = toLocal(now); setAnswer(key, now); },
      }, t("form.now")));
    }
    case "text":
      if (q.barcode) { // a barcode is typed or pasted: one line, no autocorrect
        return h("input", { id: `${labelId}-input`, type: "text", autocomplete: "off", spellcheck: false,
          maxLength: q.max_length ?? 2000, value: typeof real === "string" ? real : "", "aria-describedby": describedBy,
          oninput: (e) => setAnswer(key, e.target.value === "" ? undefined : e.target.value) });
      }
      return h("textarea", { id: `${labelId}-input`, maxLength: q.max_length ?? 2000, value: typeof real === "string" ? real : "",
        "aria-describedby": describedBy, oninput: (e) => setAnswer(key, e.target.value === "" ? undefined : e.target.value) });
    case "timer_sequence":
      return callTimer(context);
    case "photo":
    case "file":
      return attachmentInput(context);
    case "gps":
      return gpsCheckIn(context);
    default:
      return h("p", { class: "problem" }, t("form.unsupported", { type: q.type }));
  }
}

function callTimer({ q, key, value, setAnswer, labelId, editable }) {
  const options = { giveUpS: q.give_up_s ?? 300, clockStart: q.clock_start ?? "ring" };
  let events = Array.isArray(value?.events) ? value.events : [];
  const clockEl = h("div", { class: "clock", role: "timer", "aria-live": "off", "aria-label": t("timer.clock") }, "0:00");
  const buttons = {};
  const list = h("ol", { class: "events" });
  const derivedEl = h("div", { "aria-live": "polite" });
  const undoButton = h("button", { type: "button", class: "secondary wide", onclick: () => { events = undo(events); commit(); } }, t("timer.undo"));
  for (const name of CALL_TAPS) {
    buttons[name] = h("button", { type: "button", class: name === "dialled" || name === "ended" ? "wide" : "",
      "data-tap": name, onclick: () => { events = tap(events, name); commit(); } }, t(`timer.${name}`));
  }
  function commit() {
    setAnswer(key, events.length ? { events } : undefined);
    paint();
  }
  function paint() {
    const allowed = allowedTaps(events);
    for (const [name, button] of Object.entries(buttons)) button.disabled = !editable || !allowed.has(name);
    undoButton.disabled = !editable || !events.length;
    mount(list, events.map((e) => h("li", {}, `${t(`timer.${e.event}`)} · ${new Date(e.at).toLocaleTimeString(app.i18n.lang)}`)));
    const metrics = derive(events, options);
    mount(derivedEl, metrics ? h("dl", { class: "derived", "data-derived": key },
      h("dt", {}, t("timer.time_to_answer")),
      h("dd", { "data-metric": "time_to_answer_s" }, metrics.censored
        ? t("timer.not_answered", { s: options.giveUpS }) : `${metrics.time_to_answer_s.toFixed(1)} s`),
      metrics.menu_s !== null ? [h("dt", {}, t("timer.menu_time")), h("dd", {}, `${metrics.menu_s.toFixed(1)} s`)] : null,
      h("dt", {}, t("timer.hold_time")), h("dd", {}, `${metrics.hold_s.toFixed(1)} s`),
      h("dt", {}, t("timer.transfers")), h("dd", {}, String(metrics.transfers)),
      h("dt", {}, t("timer.call_length")), h("dd", {}, `${metrics.call_s.toFixed(1)} s`)) : null);
    tick();
  }
  function tick() {
    if (!events.length) {
      clockEl.textContent = "0:00";
      return;
    }
    const start = new Date(events[0].at).getTime();
    const end = isFinished(events) ? new Date(events.at(-1).at).getTime() : Date.now();
    clockEl.textContent = clock((end - start) / 1000);
    const gaveUp = editable ? giveUpTap(events, options) : null;
    if (gaveUp) {
      events = gaveUp;
      commit();
    }
  }
  clearInterval(ticker);
  ticker = setInterval(() => {
    if (!document.body.contains(clockEl)) clearInterval(ticker);
    else if (!isFinished(events)) tick();
  }, 250);
  paint();
  return h("div", { class: "timer", "aria-labelledby": labelId, role: "group" },
    clockEl,
    h("p", { class: "hint" }, t("timer.give_up_hint", { s: options.giveUpS })),
    h("div", { class: "taps" }, CALL_TAPS.map((name) => buttons[name]), undoButton),
    list, derivedEl);
}

function waitStopwatch({ q, key, setAnswer, editable, stopwatchStart, keepStopwatchStart }, input) {
  // entered → greeted (wait_s) or queued → served (serve_s); the seconds fill the question. The first tap
  // is kept with the draft, so closing the app while waiting loses nothing; either tap can be undone.
  const [startName, endName] = q.metric === "wait_s" ? ["entered", "greeted"] : ["queued", "served"];
  let started = stopwatchStart(key);
  let stopped = started && typeof input.value === "string" && input.value !== "";
  const clockEl = h("div", { class: "clock small", role: "timer", "aria-live": "off", "aria-label": t("wait.clock") }, "0:00");
  const status = h("span", { "aria-live": "polite" });
  const startButton = h("button", { type: "button", class: "secondary", "data-wait": startName, onclick: () => {
    started = isoWithOffset();
    stopped = false;
    keepStopwatchStart(key, started);
    paint();
  } }, t(`wait.${startName}`));
  const endButton = h("button", { type: "button", class: "secondary", "data-wait": endName, onclick: () => {
    const seconds = waitSeconds(started, isoWithOffset());
    input.value = String(seconds);
    setAnswer(key, seconds);
    stopped = true;
    paint();
  } }, t(`wait.${endName}`));
  const undoButton = h("button", { type: "button", class: "secondary", "data-wait": "undo", onclick: () => {
    if (stopped) {
      // The second tap was a mistake: the wait goes on from the first.
      input.value = "";
      setAnswer(key, undefined);
      stopped = false;
    } else {
      started = null;
      keepStopwatchStart(key, null);
    }
    paint();
  } }, t("timer.undo"));
  function tick() {
    if (!started) clockEl.textContent = "0:00";
    else if (!stopped) clockEl.textContent = clock((Date.now() - new Date(started).getTime()) / 1000);
  }
  function paint() {
    startButton.disabled = !editable || Boolean(started);
    endButton.disabled = !editable || !started || stopped;
    undoButton.disabled = !editable || !started;
    status.textContent = !started ? "" : stopped ? t("wait.done", { s: input.value }) : t("wait.running");
    if (stopped) clockEl.textContent = clock(Number(input.value));
    tick();
  }
  const ticking = setInterval(() => {
    if (!document.body.contains(clockEl)) clearInterval(ticking);
    else tick();
  }, 250);
  paint();
  return h("div", { class: "stopwatch", role: "group", "aria-label": t("wait.clock") },
    clockEl, h("div", { class: "row" }, startButton, endButton, undoButton), status);
}

function attachmentInput({ q, key, value, setAnswer, labelId, describedBy, record }) {
  const isPhoto = q.type === "photo";
  const preview = h("div", {});
  const status = h("p", { class: "meta", "aria-live": "polite" });
  const show = async (sha) => {
    if (!sha) return mount(preview);
    const stored = await app.store.getBlob(sha);
    if (stored && isPhoto) {
      mount(preview, h("img", { class: "thumb", src: URL.createObjectURL(stored.blob), alt: t("photo.preview") }));
    } else mount(preview, h("p", { class: "meta" }, t("file.attached", { size: stored ? Math.round(stored.blob.size / 1024) : "?" })));
    return undefined;
  };
  const input = h("input", {
    id: `${labelId}-input`, type: "file", accept: isPhoto ? "image/*" : q.accept === "audio" ? "audio/*" : q.accept === "video" ? "video/*" : null,
    capture: isPhoto ? "environment" : null, "aria-describedby": describedBy,
    onchange: async (e) => {
      const file = e.target.files?.[0];
      if (!file) return;
      status.textContent = t("photo.working");
      try {
        let blob = file;
        let type = file.type || "application/octet-stream";
        if (isPhoto) {
          const result = await downscalePhoto(file);
          blob = result.blob;
          type = "image/jpeg";
          status.textContent = t("photo.ready", { width: result.width, height: result.height, kb: Math.round(blob.size / 1024) });
        } else status.textContent = t("file.ready", { kb: Math.round(blob.size / 1024) });
        const sha = await sha256Hex(blob);
        await app.store.putBlob(sha, blob, type, record.shopper_id);
        setAnswer(key, { attachment: sha });
        await show(sha);
      } catch (error) {
        status.textContent = t("photo.failed", { error: String(error?.message || error) });
      }
    },
  });
  show(value?.attachment);
  return h("div", {}, input, status, preview);
}

function gpsCheckIn({ key, value, setAnswer, editable }) {
  const status = h("p", { class: "meta", "aria-live": "polite" },
    value?.lat !== undefined ? t("gps.done", { lat: value.lat.toFixed(5), lon: value.lon.toFixed(5), acc: Math.round(value.accuracy_m ?? 0) }) : "");
  const button = h("button", { type: "button", class: "secondary", disabled: !editable, onclick: () => {
    if (!navigator.geolocation) {
      status.textContent = t("gps.unavailable");
      return;
    }
    status.textContent = t("gps.locating");
    navigator.geolocation.getCurrentPosition((position) => {
      const answer = { lat: position.coords.latitude, lon: position.coords.longitude,
        accuracy_m: Math.round(position.coords.accuracy * 10) / 10 };
      setAnswer(key, answer);
      status.textContent = t("gps.done", { lat: answer.lat.toFixed(5), lon: answer.lon.toFixed(5), acc: Math.round(answer.accuracy_m) });
    }, (error) => {
      status.textContent = t("gps.failed", { error: error.message });
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  } }, t("gps.check_in"));
  return h("div", {}, button, status);
}

