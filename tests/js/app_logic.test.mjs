// The phone app's logic outside the browser: tap-timing, photo sizes, the form model, task windows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { allowedTaps, derive, giveUpTap, tap, undo } from "../../mobile_forms/web/app/lib/timer.js";
import { exifOrientation, fitWithin, uprightSize } from "../../mobile_forms/web/app/lib/image.js";
import { answersToSend, checkAnswers, labelOf, metadataValues, visibility } from "../../mobile_forms/web/app/lib/form.js";
import { clock, isoWithOffset, windowTimes } from "../../mobile_forms/web/app/lib/time.js";

const at = (s) => new Date(Date.UTC(2026, 0, 5, 9, 0, 0) + s * 1000);
const build = (...taps) => taps.reduce((events, [name, s]) => tap(events, name, at(s)), []);

test("only taps that keep the call well-formed are offered", () => {
  assert.deepEqual([...allowedTaps([])], ["dialled"]);
  const dialled = build(["dialled", 0]);
  assert.deepEqual([...allowedTaps(dialled)].sort(), ["answered", "ended", "menu_left"]);
  const answered = build(["dialled", 0], ["answered", 12]);
  assert.deepEqual([...allowedTaps(answered)].sort(), ["ended", "hold_on", "transferred"]);
  const holding = tap(answered, "hold_on", at(20));
  assert.ok(allowedTaps(holding).has("hold_off") && !allowedTaps(holding).has("hold_on"));
  assert.equal(allowedTaps(tap(holding, "ended", at(30))).size, 0);
  assert.throws(() => tap(answered, "answered", at(13)));
});

test("times derive as on the server: answer, menu, hold (until ended), transfers", () => {
  const events = build(["dialled", 0], ["menu_left", 15], ["answered", 40], ["hold_on", 60], ["hold_off", 90],
    ["transferred", 95], ["hold_on", 100], ["ended", 130]);
  assert.deepEqual(derive(events, { giveUpS: 300 }), {
    answered: true, censored: false, time_to_answer_s: 40, time_to_answer_ring_s: 40, time_to_answer_menu_s: 25,
    menu_s: 15, hold_s: 60, transfers: 1, call_s: 130, talk_s: 90,
  });
  assert.equal(derive(events, { giveUpS: 300, clockStart: "menu_left" }).time_to_answer_s, 25);
  assert.equal(derive(events.slice(0, -1)), null); // not finished yet
});

test("undo takes back the last tap only", () => {
  const events = build(["dialled", 0], ["answered", 5], ["ended", 9]);
  assert.deepEqual(undo(events).map((e) => e.event), ["dialled", "answered"]);
  assert.deepEqual(undo([]), []);
});

test("no answer by the give-up time ends the call as not answered, censored at the give-up time", () => {
  const events = build(["dialled", 0]);
  assert.equal(giveUpTap(events, { giveUpS: 300 }, at(299).getTime()), null);
  const gaveUp = giveUpTap(events, { giveUpS: 300 }, at(412).getTime());
  assert.equal(gaveUp.at(-1).event, "gave_up");
  assert.equal(new Date(gaveUp.at(-1).at).getTime(), at(300).getTime()); // stamped at the give-up time
  const metrics = derive(gaveUp, { giveUpS: 300 });
  assert.equal(metrics.censored, true);
  assert.equal(metrics.answered, false);
  assert.equal(metrics.time_to_answer_s, 300);
  // On the menu clock the give-up time counts from leaving the menu.
  const menu = build(["dialled", 0], ["menu_left", 100]);
  assert.equal(giveUpTap(menu, { giveUpS: 300, clockStart: "menu_left" }, at(350).getTime()), null);
  assert.ok(giveUpTap(menu, { giveUpS: 300, clockStart: "menu_left" }, at(400).getTime()));
  assert.equal(giveUpTap(build(["dialled", 0], ["answered", 3]), { giveUpS: 300 }, at(999).getTime()), null);
});

test("taps never go back in time, whatever the phone's clock does", () => {
  const events = build(["dialled", 10]);
  const next = tap(events, "answered", at(5));
  assert.ok(new Date(next[1].at) >= new Date(next[0].at));
});

test("photos are scaled down to a longest side of 2,000 px, never up", () => {
  assert.deepEqual(fitWithin(4000, 3000), { width: 2000, height: 1500, scaled: true });
  assert.deepEqual(fitWithin(3000, 4000), { width: 1500, height: 2000, scaled: true });
  assert.deepEqual(fitWithin(1200, 800), { width: 1200, height: 800, scaled: false });
  assert.deepEqual(fitWithin(4033, 3025), { width: 2000, height: 1500, scaled: true });
  assert.deepEqual(fitWithin(20000, 3), { width: 2000, height: 1, scaled: true });
  assert.deepEqual(uprightSize(3000, 1500, 6), { width: 1500, height: 3000 });
  assert.deepEqual(uprightSize(3000, 1500, 3), { width: 3000, height: 1500 });
});

test("the EXIF orientation is read from a JPEG's bytes (big- and little-endian), 1 without one", () => {
  const jpeg = (orientation, little) => {
    const u16 = (v) => (little ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff]);
    const u32 = (v) => (little ? [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24] : [v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
    const tiff = [...(little ? [0x49, 0x49] : [0x4d, 0x4d]), ...u16(42), ...u32(8), ...u16(1),
      ...u16(0x0112), ...u16(3), ...u32(1), ...u16(orientation), 0, 0, ...u32(0)];
    const payload = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
    const len = payload.length + 2;
    return new Uint8Array([0xff, 0xd8, 0xff, 0xe1, len >> 8, len & 0xff, ...payload, 0xff, 0xd9]).buffer;
  };
  assert.equal(exifOrientation(jpeg(6, false)), 6);
  assert.equal(exifOrientation(jpeg(8, true)), 8);
  assert.equal(exifOrientation(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]).buffer), 1);
  assert.equal(exifOrientation(new Uint8Array([1, 2, 3]).buffer), 1);
});

const form = {
  title: { en: "T", de: "T-de" }, default_language: "en",
  sections: [{ type: "section", key: "s", items: [
    { type: "yes_no", key: "greeted", required: true, label: { en: "Greeted?", de: "Begrüßt?" } },
    { type: "text", key: "words", required: true, show_if: { op: "eq", args: [{ op: "var", key: "greeted" }, true] } },
    { type: "integer", key: "staff", min: 0, max: 50, constraint: { op: "le", args: [{ op: "self" }, 20] },
      constraint_message: { en: "Too many" } },
    { type: "note", key: "n" },
    { type: "yes_no", key: "clean", na_allowed: true },
  ] }, { type: "section", key: "later", show_if: { op: "eq", args: [{ op: "var", key: "greeted" }, false] },
    items: [{ type: "rating", key: "mood", required: true }] }],
};

test("labels come in the shopper's language, else the form's first language", () => {
  assert.equal(labelOf({ en: "Greeted?", de: "Begrüßt?" }, "de", "en"), "Begrüßt?");
  assert.equal(labelOf({ en: "Greeted?", de: "Begrüßt?" }, "de-AT", "en"), "Begrüßt?");
  assert.equal(labelOf({ en: "Greeted?" }, "ja", "en"), "Greeted?");
  assert.equal(labelOf({ cs: "Pozdrav" }, "ja", "en"), "Pozdrav");
});

test("show-ifs decide what is asked; hidden answers are kept in the draft but never sent", () => {
  assert.equal(visibility(form, {}).shown.words, false);
  assert.equal(visibility(form, { greeted: true }).shown.words, true);
  assert.equal(visibility(form, { greeted: false }).shown.mood, true);
  const answers = { greeted: false, words: "left over", mood: 3, staff: 4 };
  assert.deepEqual(answersToSend(form, answers), { greeted: false, staff: 4, mood: 3 });
});

test("required (only where shown), ranges, N/A and constraints are checked before sending", () => {
  assert.deepEqual(Object.keys(checkAnswers(form, {}, "en")), ["greeted"]);
  const problems = checkAnswers(form, { greeted: true, words: "  ", staff: 25, clean: { na: true } }, "en");
  assert.deepEqual(problems, { words: [{ code: "form.required" }], staff: [{ code: "form.constraint_text", text: "Too many" }] });
  assert.deepEqual(checkAnswers(form, { greeted: true, words: "hi", staff: 51 }, "en").staff, [{ code: "form.above_max", params: { max: 50 } }]);
  assert.deepEqual(checkAnswers(form, { greeted: true, words: "hi", staff: 2.5 }, "en").staff, [{ code: "form.integer" }]);
  assert.deepEqual(checkAnswers(form, { greeted: false }, "en"), { mood: [{ code: "form.required" }] });
});

test("a task's window reads in the location's zone and the phone's", () => {
  const task = { window_start: "2026-01-05T14:00:00Z", window_end: "2026-01-05T16:00:00Z", location: { timezone: "America/New_York" } };
  const times = windowTimes(task, "en-GB", "Europe/Prague");
  assert.match(times.local, /09:00.*11:00/);
  assert.match(times.phone, /15:00.*17:00/);
  assert.equal(windowTimes(task, "en-GB", "America/New_York").phone, null);
  assert.match(isoWithOffset(new Date()), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  assert.equal(clock(75), "1:15");
  assert.equal(clock(3725), "1:02:05");
});

test("a calculation is computed from the shown answers, drives show-ifs, and is never sent", () => {
  const definition = { title: { en: "F" }, sections: [{ type: "section", key: "s", items: [
    { type: "integer", key: "adults" }, { type: "integer", key: "kids" },
    { type: "calculate", key: "people", calculation: { op: "add", args: [{ op: "var", key: "adults" }, { op: "var", key: "kids" }] } },
    { type: "text", key: "why", required: true, show_if: { op: "gt", args: [{ op: "var", key: "people" }, 4] } },
  ] }] };
  const big = visibility(definition, { adults: 2, kids: 3, people: 1 });
  assert.equal(big.visible.people, 5); // the typed 1 is ignored
  assert.equal(big.shown.why, true);
  assert.deepEqual(Object.keys(checkAnswers(definition, { adults: 2, kids: 3 }, "en")), ["why"]);
  assert.equal(visibility(definition, { adults: 1, kids: 1 }).shown.why, false);
  assert.deepEqual(answersToSend(definition, { adults: 1, kids: 1, people: 2 }), { adults: 1, kids: 1 });
});

test("a prefetched answer is taken once, only for a GET with the same token", async () => {
  const { takePrefetched, withPrefetched } = await import("../../mobile_forms/web/app/lib/prefetch.js");
  const started = {
    "/tasks?limit=200": { token: "tok-a", response: Promise.resolve("tasks") },
    "/app/i18n/en.json": { token: null, response: Promise.resolve("texts") },
  };
  // Another shopper's token (a shared phone) or another method never gets it.
  assert.equal(takePrefetched("/tasks?limit=200", { token: "tok-b" }, started), null);
  assert.equal(takePrefetched("/tasks?limit=200", { method: "POST", token: "tok-a" }, started), null);
  assert.equal(takePrefetched("/app/i18n/en.json", { token: "tok-a" }, started), null);
  assert.equal(await takePrefetched("/tasks?limit=200", { token: "tok-a" }, started), "tasks");
  assert.equal(takePrefetched("/tasks?limit=200", { token: "tok-a" }, started), null, "a body reads once");
  assert.equal(takePrefetched("/anything", {}, undefined), null, "no inline script ran: nothing prefetched");

  const calls = [];
  const fetchImpl = withPrefetched(async (url, init) => { calls.push([url, init.method]); return "network"; }, started);
  assert.equal(await fetchImpl("/app/i18n/en.json"), "texts");
  assert.equal(await fetchImpl("/app/i18n/en.json"), "network");
  const headers = { Authorization: "Bearer tok-a" };
  assert.equal(await fetchImpl("/tasks?limit=200", { method: "GET", headers }), "network");
  assert.deepEqual(calls, [["/app/i18n/en.json", undefined], ["/tasks?limit=200", "GET"]]);
});

test("the inline script's read of the stored task list is taken once, and opens the store's own version", async () => {
  const { takeStored } = await import("../../mobile_forms/web/app/lib/prefetch.js");
  const { DB_VERSION } = await import("../../mobile_forms/web/app/lib/store.js");
  const started = { "kv:tasks:u1": Promise.resolve({ data: { items: [] } }) };
  assert.equal(takeStored("tasks:u2", started), null, "another shopper's list is not this one");
  assert.deepEqual(await takeStored("tasks:u1", started), { data: { items: [] } });
  assert.equal(takeStored("tasks:u1", started), null, "taken once: a later visit reads the store");
  assert.equal(takeStored("tasks:u1", undefined), null, "no inline script ran");
  // index.html opens the database before the modules load; a version of its own would block or fail.
  const { readFile } = await import("node:fs/promises");
  const html = await readFile(new URL("../../mobile_forms/web/app/index.html", import.meta.url), "utf8");
  assert.deepEqual([...html.matchAll(/indexedDB\.open\("fieldscore", (\d+)\)/g)].map((m) => Number(m[1])), [DB_VERSION]);
  assert.match(html, /onupgradeneeded = function \(\) \{ open\.transaction\.abort\(\); \}/, "it never creates the database");
});

test("a task window's phone zone is read once and still honoured when given", () => {
  const task = { window_start: "2026-01-05T09:00:00Z", window_end: "2026-01-05T10:00:00Z", location: { timezone: "Europe/Prague" } };
  const given = windowTimes(task, "en", "Asia/Tokyo");
  assert.equal(given.phoneZone, "Asia/Tokyo");
  assert.notEqual(given.phone, null);
  const phones = windowTimes(task, "en");
  assert.equal(phones.phoneZone, Intl.DateTimeFormat().resolvedOptions().timeZone);
});

test("a repeat is answered per instance: show-ifs, calculations and problems per instance, as the server keys them", () => {
  const definition = { title: { en: "F" }, sections: [{ type: "section", key: "s", items: [
    { type: "integer", key: "adults" },
    { type: "section", key: "people", repeat: true, items: [
      { type: "integer", key: "age", required: true },
      { type: "calculate", key: "months", calculation: { op: "mul", args: [{ op: "var", key: "age" }, 12] } },
      { type: "yes_no", key: "votes", required: true, show_if: { op: "ge", args: [{ op: "var", key: "age" }, 18] } },
      { type: "note", key: "n", label: { en: "${adults} adults" } },
    ] },
  ] }] };
  const answers = { adults: 2, people: [{ age: 30, votes: true }, { age: 10, votes: false }, {}] };
  const view = visibility(definition, answers);
  assert.equal(view.shown.people, true);
  assert.equal(view.shown.age, undefined); // answered per instance, not at the top
  assert.deepEqual(view.instances.people.map((i) => i.shown.votes), [true, false, false]);
  assert.equal(view.instances.people[0].visible.months, 360);
  assert.equal(view.instances.people[1].visible.adults, 2); // answers outside the repeat are visible inside
  assert.deepEqual(Object.keys(checkAnswers(definition, answers, "en")), ["people[2].age"]);
  assert.deepEqual(answersToSend(definition, answers), { adults: 2, people: [{ age: 30, votes: true }, { age: 10 }, {}] });
});

test("a repeat_count fixes how many instances are sent", () => {
  const definition = { title: { en: "F" }, sections: [{ type: "section", key: "s", items: [
    { type: "integer", key: "n" },
    { type: "section", key: "r", repeat: true, repeat_count: { op: "var", key: "n" }, items: [{ type: "text", key: "name" }] },
  ] }] };
  assert.deepEqual(visibility(definition, { n: 2 }).counts, { r: 2 });
  assert.deepEqual(answersToSend(definition, { n: 2, r: [{ name: "a" }, { name: "b" }, { name: "c" }] }).r, [{ name: "a" }, { name: "b" }]);
  assert.deepEqual(answersToSend(definition, { n: 2, r: [] }).r, [{}, {}]);
  assert.deepEqual(answersToSend(definition, { r: [{ name: "a" }] }).r, []); // unanswered count: none
});

test("metadata rows fill into labels: start, end and today from the report, device details blank", () => {
  const definition = { xlsform_rows: [{ type: "start", name: "began" }, { type: "today", name: "day" },
    { type: "deviceid", name: "dev" }, { type: "end", name: "finished" }] };
  const now = new Date(2026, 11, 3, 10, 0, 0);
  const values = metadataValues(definition, "2026-12-03T09:00:00+01:00", now);
  assert.equal(values.began, "2026-12-03T09:00:00+01:00");
  assert.equal(values.day, "2026-12-03");
  assert.equal(values.dev, "");
  assert.equal(values.finished, now.toISOString());
});

test("an acknowledge question is answered by true and checked like any other", () => {
  const definition = { title: { en: "F" }, sections: [{ type: "section", key: "s", items: [
    { type: "acknowledge", key: "ok", required: true }] }] };
  assert.deepEqual(Object.keys(checkAnswers(definition, {}, "en")), ["ok"]);
  assert.deepEqual(checkAnswers(definition, { ok: true }, "en"), {});
  assert.deepEqual(answersToSend(definition, { ok: true }), { ok: true });
});

test("a choice_filter offers the choices whose columns match the answers so far, a shared value once", async () => {
  const { offeredChoices } = await import("../../mobile_forms/web/app/lib/form.js");
  const county = { type: "single_choice", key: "county",
    choice_filter: { op: "eq", args: [{ op: "var", key: "state" }, { op: "choice", key: "cf" }] },
    choices: [{ value: "king", xlsform: { cf: "washington" } }, { value: "pierce", xlsform: { cf: "washington" } },
      { value: "king", xlsform: { cf: "texas" } }, { value: "cameron", xlsform: { cf: "texas" } }] };
  assert.deepEqual(offeredChoices(county, { state: "texas" }), [false, false, true, true]);
  assert.deepEqual(offeredChoices(county, { state: "washington" }), [true, true, false, false]);
  assert.deepEqual(offeredChoices(county, {}), [false, false, false, false]);
  const both = { ...county, choice_filter: { op: "lit", args: [true] } };
  assert.deepEqual(offeredChoices(both, {}), [true, true, false, true]); // "king" shown once
  assert.deepEqual(offeredChoices({ choices: [{ value: "a" }] }, {}), [true]);
});

test("a new report starts with the questions' defaults, a new repeat instance with its own", async () => {
  const { defaultAnswers } = await import("../../mobile_forms/web/app/lib/form.js");
  const definition = { sections: [{ type: "section", key: "s", items: [
    { type: "decimal", key: "price", default: 18.31 },
    { type: "multiple_choice", key: "m", default: ["a", "c"], choices: [{ value: "a" }, { value: "c" }] },
    { type: "text", key: "plain" },
    { type: "section", key: "r", repeat: true, items: [{ type: "yes_no", key: "ok", default: true }] },
  ] }] };
  const answers = defaultAnswers(definition);
  assert.deepEqual(answers, { price: 18.31, m: ["a", "c"] });
  answers.m.push("x");
  assert.deepEqual(definition.sections[0].items[1].default, ["a", "c"]); // a copy, not the form's own list
  assert.deepEqual(defaultAnswers(definition, "r"), { ok: true });
});
