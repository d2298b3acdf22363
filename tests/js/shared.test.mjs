// The shared front-end modules: API errors by field, language choice and message catalogues.
import { test } from "node:test";
import { readFileSync, readdirSync } from "node:fs";
import assert from "node:assert/strict";
import { ApiError, NetworkError, createApi, problemsByQuestion } from "../../mobile_forms/web/shared/api.js";
import { appendInBatches } from "../../mobile_forms/web/shared/dom.js";
import { I18n, format, pickLanguage } from "../../mobile_forms/web/shared/i18n.js";

const I18N_DIR = new URL("../../mobile_forms/web/app/i18n/", import.meta.url);

function fakeFetch(status, body, { throws } = {}) {
  const calls = [];
  const impl = async (url, init) => {
    calls.push({ url, init });
    if (throws) throw throws;
    return { ok: status < 400, status, text: async () => (body === undefined ? "" : JSON.stringify(body)) };
  };
  return { impl, calls };
}

test("a problem+json answer becomes an ApiError with its reasons by field and by question", async () => {
  const problem = { code: "report.invalid", title: "Invalid", detail: "The report has 2 problem(s).",
    errors: [{ field: "answers.greeted", reason: "answer.required: …" }, { field: "ended_at", reason: "before start" }] };
  const { impl, calls } = fakeFetch(422, problem);
  const api = createApi({ getToken: () => "tok", fetchImpl: impl });
  await assert.rejects(api.post("/reports", { json: { a: 1 } }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "report.invalid");
    assert.deepEqual(problemsByQuestion(error.fields), { greeted: ["answer.required: …"], ended_at: ["before start"] });
    return true;
  });
  assert.equal(calls[0].init.headers.Authorization, "Bearer tok");
  assert.equal(calls[0].init.headers["Content-Type"], "application/json");
  assert.equal(calls[0].init.body, JSON.stringify({ a: 1 }));
});

test("no answer at all is a NetworkError, and a slow one times out as one", async () => {
  const api = createApi({ fetchImpl: fakeFetch(0, null, { throws: new TypeError("Failed to fetch") }).impl });
  await assert.rejects(api.get("/tasks"), (error) => error instanceof NetworkError && !error.timeout);
  const hanging = createApi({
    timeoutMs: 20,
    fetchImpl: (url, init) => new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new Error("aborted")))),
  });
  await assert.rejects(hanging.get("/tasks"), (error) => error instanceof NetworkError && error.timeout);
});

test("a token of null sends no Authorization header (logging in)", async () => {
  const { impl, calls } = fakeFetch(200, { access_token: "x" });
  await createApi({ getToken: () => "old", fetchImpl: impl }).post("/auth/login", { json: {}, token: null });
  assert.equal(calls[0].init.headers.Authorization, undefined);
});

test("the phone's language is matched by prefix, else English", () => {
  const have = ["en", "de", "nl", "cs", "el", "ja"];
  assert.equal(pickLanguage(["de-AT", "en"], have), "de");
  assert.equal(pickLanguage(["fr-FR", "nl-BE"], have), "nl");
  assert.equal(pickLanguage(["fr"], have), "en");
  assert.equal(pickLanguage(["JA-jp"], have), "ja");
});

test("t() fills placeholders, picks plural forms and falls back to English", () => {
  const i18n = new I18n({ en: { hi: "Hi {name}", "n.one": "{count} report", "n.other": "{count} reports", only: "en only" },
    cs: { hi: "Ahoj {name}", "n.one": "{count} hlášení", "n.few": "{count} hlášení (few)", "n.other": "{count} hlášení (other)" } }, "cs");
  assert.equal(i18n.t("hi", { name: "Eva" }), "Ahoj Eva");
  assert.equal(i18n.t("n", { count: 1 }), "1 hlášení");
  assert.equal(i18n.t("n", { count: 3 }), "3 hlášení (few)");
  assert.equal(i18n.t("n", { count: 7 }), "7 hlášení (other)");
  assert.equal(i18n.t("only"), "en only");
  assert.equal(i18n.t("missing.key"), "missing.key");
  assert.equal(format("{a} and {b}", { a: 1 }), "1 and {b}");
});
test("every language has every English text and the same placeholders", () => {
  const files = readdirSync(I18N_DIR).filter((f) => f.endsWith(".json"));
  assert.deepEqual(files.sort(), ["cs.json", "de.json", "el.json", "en.json", "ja.json", "nl.json"]);
  const en = JSON.parse(readFileSync(new URL("en.json", I18N_DIR), "utf8"));
  const holes = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");
  for (const file of files) {
    const catalogue = JSON.parse(readFileSync(new URL(file, I18N_DIR), "utf8"));
    for (const [key, text] of Object.entries(en)) {
      // A plural family may have other forms in another language (cs: one/few/many/other).
      const family = key.replace(/\.(one|other)$/, "");
      const present = key in catalogue || (family !== key && Object.keys(catalogue).some((k) => k.startsWith(`${family}.`)));
      assert.ok(present, `${file} lacks ${key}`);
      if (key in catalogue) assert.equal(holes(catalogue[key]), holes(text), `${file} ${key} placeholders`);
    }
    for (const key of Object.keys(catalogue)) {
      const family = key.replace(/\.(zero|one|two|few|many|other)$/, "");
      assert.ok(key in en || Object.keys(en).some((k) => k.startsWith(`${family}.`)), `${file} has unknown ${key}`);
    }
  }
});

/** A container as appendInBatches sees it: append, isConnected, aria attributes. */
function fakeList() {
  return {
    children: [], attributes: {}, isConnected: true, appends: 0,
    append(...nodes) { this.children.push(...nodes); this.appends += 1; },
    setAttribute(name, value) { this.attributes[name] = value; },
    removeAttribute(name) { delete this.attributes[name]; },
  };
}

test("a long list: the first screenful at once, the rest in later turns, all in order, busy until whole", async () => {
  const list = fakeList();
  const turns = [];
  const later = () => new Promise((resolve) => turns.push(resolve));
  const items = Array.from({ length: 25 }, (_, i) => i);
  const done = appendInBatches(list, items, (i) => `card ${i}`, { first: 8, batch: 10, later });
  assert.deepEqual(list.children, items.slice(0, 8).map((i) => `card ${i}`)); // drawn before anything else runs
  assert.equal(list.attributes["aria-busy"], "true");
  for (const count of [18, 25]) {
    await new Promise((resolve) => setImmediate(resolve));
    turns.shift()();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(list.children.length, count);
  }
  assert.equal(await done, 25);
  assert.deepEqual(list.children, items.map((i) => `card ${i}`));
  assert.equal(list.appends, 3);
  assert.equal("aria-busy" in list.attributes, false);
});

test("a short list is drawn whole at once; a list replaced meanwhile stops", async () => {
  const short = fakeList();
  assert.equal(await appendInBatches(short, [1, 2, 3], String, { first: 8 }), 3);
  assert.deepEqual(short.children, ["1", "2", "3"]);
  assert.equal("aria-busy" in short.attributes, false);
  assert.equal(await appendInBatches(fakeList(), [], String), 0);
  const replaced = fakeList();
  const built = [];
  const drawing = appendInBatches(replaced, Array.from({ length: 30 }, (_, i) => i), (i) => { built.push(i); return i; },
    { first: 5, batch: 5, later: async () => { replaced.isConnected = false; } });
  assert.equal(await drawing, 5);
  assert.deepEqual(built, [0, 1, 2, 3, 4]); // nothing built for a list no longer shown
});
